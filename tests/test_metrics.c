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
    /* the one CSV cell rule (RFC 4180), as every CSV writer uses it */
    char cell[64];
    const char *in[4] = {"plain", "a,b", "say \"hi\"", "two\nlines"};
    const char *quoted[4] = {"plain", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"two\nlines\""};
    for (int k = 0; k < 4; k++) {
        size_t n = fke_csv_cell_str(cell, sizeof cell, in[k]);
        FKE_CHECK(!strcmp(cell, quoted[k]) && n == strlen(quoted[k]), "CSV cell of '%s': '%s'", in[k], cell);
    }
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
    /* per-class precision, recall, F1: class 0 p 1/2 r 1/2; class 1 p 2/3 r 1 */
    const char *prf = fke_test_path("prf.csv");
    FKE_CHECK(fke_confusion_write_prf_csv(&c, names, prf, &e) == FKE_OK, "prf: %s", e.msg);
    f = fopen(prf, "r");
    char l0[128] = "", l1[128] = "", l2[128] = "";
    FKE_CHECK(f && fgets(l0, sizeof l0, f) && fgets(l1, sizeof l1, f) && fgets(l2, sizeof l2, f) &&
                  !strcmp(l0, "class,precision,recall,f1,support\n") &&
                  !strcmp(l1, "a,0.500000,0.500000,0.500000,2\n") &&
                  !strcmp(l2, "b,0.666667,1.000000,0.800000,2\n"),
              "prf rows '%s' '%s' '%s'", l0, l1, l2);
    /* class c p 1 r 1/2; the macro average over the 3 classes, then the accuracy */
    char l3[128] = "", l4[128] = "", l5[128] = "";
    FKE_CHECK(f && fgets(l3, sizeof l3, f) && fgets(l4, sizeof l4, f) && fgets(l5, sizeof l5, f) &&
                  !strcmp(l3, "c,1.000000,0.500000,0.666667,2\n") &&
                  !strcmp(l4, "macro average,0.722222,0.666667,0.655556,6\n") &&
                  !strcmp(l5, "accuracy,,,0.666667,6\n"),
              "prf rows '%s' '%s' '%s'", l3, l4, l5);
    if (f) fclose(f);
    fke_confusion_free(&c);

    /* top-k rank with ties: equal scores rank by ascending index */
    float sc[4] = {0.1f, 0.5f, 0.5f, 0.2f};
    FKE_CHECK(fke_rank_of(sc, 4, 1) == 0 && fke_rank_of(sc, 4, 2) == 1 && fke_rank_of(sc, 4, 3) == 2 &&
                  fke_rank_of(sc, 4, 0) == 3,
              "ranks %d %d %d %d", fke_rank_of(sc, 4, 0), fke_rank_of(sc, 4, 1), fke_rank_of(sc, 4, 2),
              fke_rank_of(sc, 4, 3));
    /* recall@3/@5 over 6 attributes of types 0 0 0 0 1 1 (type 2 has none).
     * Image 1, all ranks 0, (2, 3, 5 tied at 0.8), 4, 1: positives 0 (rank
     * 0), 1 (5), 3 (2), 5 (3), attribute 2 unknown; within type 0 the ranks
     * are 0, 3, -, 2, within type 1 attribute 5 is first. Image 2: all scores
     * equal, so rank = index: positives 4 (rank 4; 0 in its type) and 5
     * (rank 5; 1 in its type). */
    fke_recall rc;
    int32_t type[6] = {0, 0, 0, 0, 1, 1};
    FKE_CHECK(fke_recall_init(&rc, 6, type, &e) == FKE_OK, "recall init");
    float s1[6] = {0.9f, 0.1f, 0.8f, 0.8f, 0.2f, 0.8f}, s2[6] = {0};
    int32_t y1[6] = {1, 1, -1, 1, 0, 1}, y2[6] = {0, 0, 0, 0, 1, 1};
    fke_recall_add(&rc, s1, y1);
    fke_recall_add(&rc, s2, y2);
    struct { int j, t; double pooled, per; } want[] = {
        {0, -1, 2.0 / 6, 2.0 / 5}, {1, -1, 4.0 / 6, 3.5 / 5}, {0, 0, 2.0 / 3, 2.0 / 3}, {1, 0, 1, 1},
        {0, 1, 1, 1},              {1, 1, 1, 1}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double a = fke_recall_pooled(&rc, want[i].j, want[i].t);
        double b = fke_recall_per_attr(&rc, want[i].j, want[i].t);
        FKE_CHECK(fabs(a - want[i].pooled) < 1e-12 && fabs(b - want[i].per) < 1e-12,
                  "recall@%d type %d: pooled %g (want %g), per attribute %g (want %g)",
                  fke_recall_k[want[i].j], want[i].t, a, want[i].pooled, b, want[i].per);
    }
    FKE_CHECK(isnan(fke_recall_pooled(&rc, 0, 2)) && isnan(fke_recall_per_attr(&rc, 1, 2)),
              "a type without positives gives NaN");
    fke_recall_free(&rc);
    return fke_test_finish("metrics");
}
