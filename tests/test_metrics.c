/* test_metrics.c - accuracy, macro-F1 and CSV output against values worked
 * out by hand (scikit-learn gives the same on these labels). */
#include "run/metrics.h"
#include "fixtures.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (!fke_test_tmpdir("metrics")) return 1;
    fke_err e;
    fke_confusion c;
    FKE_CHECK(fke_confusion_init(&c, 3, &e) == FKE_OK, "init");
    /* y_true 0 0 1 1 2 2 ; y_pred 0 1 1 1 2 0 */
    int t[] = {0, 0, 1, 1, 2, 2}, p[] = {0, 1, 1, 1, 2, 0};
    for (int i = 0; i < 6; i++) fke_confusion_add(&c, t[i], p[i]);
    fke_confusion_add(&c, -1, 2); /* missing label: ignored */
    FKE_CHECK(fke_confusion_total(&c) == 6, "total %lld", fke_confusion_total(&c));
    FKE_CHECK(fabs(fke_confusion_accuracy(&c) - 4.0 / 6) < 1e-12, "acc");
    /* F1: class0 p=1/2 r=1/2 -> .5 ; class1 p=2/3 r=1 -> .8 ; class2 p=1 r=1/2 -> 2/3 */
    double f1 = (0.5 + 0.8 + 2.0 / 3) / 3;
    FKE_CHECK(fabs(fke_confusion_macro_f1(&c) - f1) < 1e-12, "f1 %g vs %g",
              fke_confusion_macro_f1(&c), f1);
    char *names[] = {"a", "b", "c"};
    const char *csv = fke_test_path("cm.csv");
    FKE_CHECK(fke_confusion_write_csv(&c, names, csv, &e) == FKE_OK, "csv");
    FILE *f = fopen(csv, "r");
    char line[128] = "";
    FKE_CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "true\\pred,a,b,c\n") == 0,
              "header '%s'", line);
    FKE_CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "a,1,1,0\n") == 0, "row '%s'", line);
    if (f) fclose(f);
    FKE_CHECK(fke_confusion_write_csv(&c, names, "/nonexistent/x.csv", &e) == FKE_ERR_IO &&
                  strstr(e.msg, "/nonexistent/x.csv"),
              "unwritable path named: %s", e.msg);
    float a[4] = {1, 0, 0, 1}, b[4] = {0.9f, 0.1f, 0.2f, 0.8f};
    FKE_CHECK(fabs(fke_matrix_mae(a, b, 2) - 0.15) < 1e-6, "mae");
    fke_confusion_free(&c);
    return fke_test_finish("metrics");
}
