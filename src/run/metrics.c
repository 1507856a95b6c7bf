/* metrics.c - see metrics.h. */
#include "run/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

fke_status fke_confusion_init(fke_confusion *c, int n, fke_err *e)
{
    c->n = n;
    c->cm = calloc((size_t)n * n, sizeof *c->cm);
    if (!c->cm) return fke_fail(e, FKE_ERR_NOMEM, "metrics: cannot allocate a %dx%d matrix", n, n);
    return FKE_OK;
}

void fke_confusion_free(fke_confusion *c)
{
    free(c->cm);
    c->cm = NULL;
}

void fke_confusion_add(fke_confusion *c, int truth, int pred)
{
    if (truth < 0 || truth >= c->n || pred < 0 || pred >= c->n) return;
    c->cm[(size_t)truth * c->n + pred]++;
}

long long fke_confusion_total(const fke_confusion *c)
{
    long long t = 0;
    for (int i = 0; i < c->n * c->n; i++) t += c->cm[i];
    return t;
}

double fke_confusion_accuracy(const fke_confusion *c)
{
    long long t = fke_confusion_total(c), ok = 0;
    for (int i = 0; i < c->n; i++) ok += c->cm[(size_t)i * c->n + i];
    return t ? (double)ok / (double)t : 0.0;
}

double fke_confusion_macro_f1(const fke_confusion *c)
{
    double sum = 0;
    int classes = 0;
    for (int k = 0; k < c->n; k++) {
        long long tp = c->cm[(size_t)k * c->n + k], row = 0, col = 0;
        for (int j = 0; j < c->n; j++) {
            row += c->cm[(size_t)k * c->n + j];
            col += c->cm[(size_t)j * c->n + k];
        }
        if (row == 0 && col == 0) continue;
        classes++;
        if (tp > 0) sum += 2.0 * (double)tp / (double)(row + col);
    }
    return classes ? sum / classes : 0.0;
}

/* A CSV cell: quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void csv_cell(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

fke_status fke_confusion_write_csv(const fke_confusion *c, char *const *names,
                                   const char *path, fke_err *e)
{
    fke_atomic a; /* a failed write leaves no partial CSV */
    FKE_TRY(fke_atomic_open(&a, path, e));
    FILE *f = a.f;
    fprintf(f, "true\\pred");
    for (int j = 0; j < c->n; j++) {
        fputc(',', f);
        if (names) csv_cell(f, names[j]);
        else fprintf(f, "%d", j);
    }
    fprintf(f, "\n");
    for (int i = 0; i < c->n; i++) {
        if (names) csv_cell(f, names[i]);
        else fprintf(f, "%d", i);
        for (int j = 0; j < c->n; j++) fprintf(f, ",%lld", c->cm[(size_t)i * c->n + j]);
        fprintf(f, "\n");
    }
    return fke_atomic_commit(&a, "confusion matrix", e);
}

double fke_matrix_mae(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n * n; i++) s += fabs((double)a[i] - (double)b[i]);
    return n ? s / ((double)n * n) : 0.0;
}
