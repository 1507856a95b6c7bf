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

size_t fke_csv_cell_str(char *out, size_t n, const char *s)
{
    size_t w = 0;
    int quote = strpbrk(s, ",\"\r\n") != NULL;
#define PUT(ch) (w + 1 < n ? (void)(out[w++] = (ch)) : (void)0)
    if (quote) PUT('"');
    for (; *s; s++) {
        if (*s == '"') PUT('"');
        PUT(*s);
    }
    if (quote) PUT('"');
#undef PUT
    if (n) out[w] = 0;
    return w;
}

void fke_csv_cell(FILE *f, const char *s)
{
    size_t n = 2 * strlen(s) + 3;
    char small[512], *b = n <= sizeof small ? small : malloc(n);
    if (!b) { /* no memory: the cell unquoted rather than nothing */
        fputs(s, f);
        return;
    }
    fke_csv_cell_str(b, n, s);
    fputs(b, f);
    if (b != small) free(b);
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
        if (names) fke_csv_cell(f, names[j]);
        else fprintf(f, "%d", j);
    }
    fprintf(f, "\n");
    for (int i = 0; i < c->n; i++) {
        if (names) fke_csv_cell(f, names[i]);
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

fke_status fke_confusion_write_prf_csv(const fke_confusion *c, char *const *names,
                                       const char *path, fke_err *e)
{
    int n = c->n;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the table", path);
    fprintf(f, "class,precision,recall,f1,support\n");
    double sp = 0, sr = 0, sf = 0;
    int counted = 0;
    long long total = 0, right = 0;
    for (int i = 0; i < n; i++) {
        long long tp = c->cm[(size_t)i * n + i], row = 0, col = 0;
        for (int j = 0; j < n; j++) row += c->cm[(size_t)i * n + j], col += c->cm[(size_t)j * n + i];
        double p = col ? (double)tp / col : 0, rc = row ? (double)tp / row : 0;
        double f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
        if (row || col) sp += p, sr += rc, sf += f1, counted++;
        total += row, right += tp;
        char idx[16], cut[151]; /* the first 150 bytes of the name */
        snprintf(idx, sizeof idx, "%d", i);
        snprintf(cut, sizeof cut, "%s", names && names[i] ? names[i] : idx);
        fke_csv_cell(f, cut);
        fprintf(f, ",%.6f,%.6f,%.6f,%lld\n", p, rc, f1, row);
    }
    fprintf(f, "macro average,%.6f,%.6f,%.6f,%lld\n", counted ? sp / counted : 0,
            counted ? sr / counted : 0, counted ? sf / counted : 0, total);
    fprintf(f, "accuracy,,,%.6f,%lld\n", total ? (double)right / total : 0, total);
    int bad = ferror(f);
    fclose(f);
    fke_status st = bad ? fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the table", path)
                        : fke_write_file(path, buf, "table", e);
    free(buf);
    return st;
}

int fke_rank_of(const float *scores, int n, int truth)
{
    int r = 0;
    float s = scores[truth];
    for (int j = 0; j < n; j++) r += scores[j] > s || (scores[j] == s && j < truth);
    return r;
}

const int fke_recall_k[FKE_RECALL_NK] = {3, 5};

fke_status fke_recall_init(fke_recall *r, int M, const int32_t *type, fke_err *e)
{
    memset(r, 0, sizeof *r);
    r->M = M;
    r->type = calloc((size_t)M, sizeof *r->type);
    r->pos = calloc((size_t)M, sizeof *r->pos);
    r->hit = calloc((size_t)M * FKE_RECALL_NK, sizeof *r->hit);
    r->hit_t = calloc((size_t)M * FKE_RECALL_NK, sizeof *r->hit_t);
    if (!r->type || !r->pos || !r->hit || !r->hit_t) {
        fke_recall_free(r);
        return fke_fail(e, FKE_ERR_NOMEM, "metrics: no memory for recall over %d attributes", M);
    }
    if (type) memcpy(r->type, type, (size_t)M * sizeof *type);
    return FKE_OK;
}

void fke_recall_free(fke_recall *r)
{
    free(r->type);
    free(r->pos);
    free(r->hit);
    free(r->hit_t);
    memset(r, 0, sizeof *r);
}

void fke_recall_add(fke_recall *r, const float *scores, const int32_t *labels)
{
    int M = r->M, kmax = fke_recall_k[FKE_RECALL_NK - 1];
    r->n++;
    for (int a = 0; a < M; a++) {
        if (labels[a] != 1) continue;
        r->pos[a]++;
        int rank = 0, rank_t = 0; /* fke_rank_of among all, and among a's type */
        for (int j = 0; j < M && rank_t < kmax; j++) {
            int above = scores[j] > scores[a] || (scores[j] == scores[a] && j < a);
            rank += above;
            rank_t += above && r->type[j] == r->type[a];
        }
        for (int q = 0; q < FKE_RECALL_NK; q++) {
            r->hit[(size_t)q * M + a] += rank < fke_recall_k[q];
            r->hit_t[(size_t)q * M + a] += rank_t < fke_recall_k[q];
        }
    }
}

double fke_recall_pooled(const fke_recall *r, int j, int t)
{
    const long long *hit = t < 0 ? r->hit : r->hit_t;
    long long h = 0, p = 0;
    for (int a = 0; a < r->M; a++)
        if (t < 0 || r->type[a] == t) h += hit[(size_t)j * r->M + a], p += r->pos[a];
    return p ? (double)h / (double)p : NAN;
}

double fke_recall_per_attr(const fke_recall *r, int j, int t)
{
    const long long *hit = t < 0 ? r->hit : r->hit_t;
    double s = 0;
    int n = 0;
    for (int a = 0; a < r->M; a++)
        if ((t < 0 || r->type[a] == t) && r->pos[a] > 0) {
            s += (double)hit[(size_t)j * r->M + a] / (double)r->pos[a];
            n++;
        }
    return n ? s / n : NAN;
}
