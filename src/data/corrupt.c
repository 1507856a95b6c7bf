/* corrupt.c - see corrupt.h. */
#include "data/corrupt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fke_noise_kind_names[FKE_NOISE_KINDS] = {"symmetric", "pairflip"};

int fke_noise_kind_parse(const char *name)
{
    for (int k = 0; k < FKE_NOISE_KINDS; k++)
        if (name && !strcmp(name, fke_noise_kind_names[k])) return k;
    return -1;
}

/* The rate at which the true class stops being the most likely label. */
static double max_rate(fke_noise_kind kind, int n)
{
    switch (kind) {
    case FKE_NOISE_SYMMETRIC: return (double)(n - 1) / n;
    case FKE_NOISE_PAIRFLIP: return 0.5;
    case FKE_NOISE_KINDS: break;
    }
    return 0; /* not a kind: fke_corrupt_matrix rejects it first */
}

/* T[i][j], i != j: spread over the other classes, or all to the next one. */
static double off_diagonal(fke_noise_kind kind, double rate, int n, int i, int j)
{
    switch (kind) {
    case FKE_NOISE_SYMMETRIC: return rate / (n - 1);
    case FKE_NOISE_PAIRFLIP: return j == (i + 1) % n ? rate : 0;
    case FKE_NOISE_KINDS: break;
    }
    return 0;
}

fke_status fke_corrupt_matrix(fke_noise_kind kind, double rate, int n, float *T, fke_err *e)
{
    if (kind < 0 || kind >= FKE_NOISE_KINDS)
        return fke_fail(e, FKE_ERR_ARG, "label noise: unknown kind %d (allowed: symmetric, "
                        "pairflip)", (int)kind);
    if (n < 2) return fke_fail(e, FKE_ERR_ARG, "label noise: %d classes, need at least 2", n);
    double hi = max_rate(kind, n);
    if (!(rate >= 0 && rate < hi))
        return fke_fail(e, FKE_ERR_ARG,
                        "label noise: rate %g is outside [0, %g) for %s noise on %d classes (at "
                        "%g or more the true class is no longer the most likely label)",
                        rate, hi, fke_noise_kind_names[kind], n, hi);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = i == j ? 1 - rate : off_diagonal(kind, rate, n, i, j);
            T[i * n + j] = (float)v;
        }
    return FKE_OK;
}

fke_status fke_corrupt_labels(const fke_imageset *in, fke_noise_kind kind, double rate,
                                  uint64_t seed, long limit, fke_imageset *out, fke_err *e)
{
    memset(out, 0, sizeof *out);
    int n = in->n_cls;
    if (in->labels_true)
        return fke_fail(e, FKE_ERR_ARG,
                        "%s: the labels are already corrupted (%s); corrupt the clean set",
                        in->path, in->noise[0] ? in->noise : "field /labels_true is present");
    float *T = malloc((size_t)(n > 1 ? n : 2) * (n > 1 ? n : 2) * sizeof(float));
    if (!T) return fke_fail(e, FKE_ERR_NOMEM, "label noise: out of memory");
    fke_status st = fke_corrupt_matrix(kind, rate, n, T, e);
    if (st != FKE_OK) {
        free(T);
        return st;
    }
    long N = limit > 0 && limit < in->N ? limit : in->N;
    size_t img = (size_t)in->C * in->H * in->W;
    out->N = (int)N, out->C = in->C, out->H = in->H, out->W = in->W, out->n_cls = n;
    out->images = malloc((size_t)N * img + 1);
    out->labels = malloc((size_t)N * sizeof(int32_t) + 1);
    out->labels_true = malloc((size_t)N * sizeof(int32_t) + 1);
    out->class_names = fke_strings_dup((const char *const *)in->class_names, n);
    out->T_true = T;
    if (!out->images || !out->labels || !out->labels_true || !out->class_names) {
        fke_imageset_free(out);
        return fke_fail(e, FKE_ERR_NOMEM, "label noise: out of memory for %ld images", N);
    }
    memcpy(out->images, in->images, (size_t)N * img);
    fke_rng r;
    fke_rng_seed(&r, seed);
    for (long i = 0; i < N; i++) {
        int y = in->labels[i];
        out->labels_true[i] = y;
        double u = fke_rng_uniform(&r), c = 0;
        int z = n - 1; /* the last class with mass, if rounding leaves u above the sum */
        while (z > 0 && T[y * n + z] == 0) z--;
        for (int j = 0; j < n; j++) {
            c += T[y * n + j];
            if (u < c && T[y * n + j] > 0) {
                z = j;
                break;
            }
        }
        out->labels[i] = z;
    }
    snprintf(out->noise, sizeof out->noise, "kind=%s rate=%g seed=%llu images=%ld source=%.150s",
             fke_noise_kind_names[kind], rate, (unsigned long long)seed, N, in->path);
    snprintf(out->path, sizeof out->path, "%s", in->path);
    return FKE_OK;
}

double fke_corrupt_empirical(const fke_imageset *s, float *out)
{
    int n = s->n_cls;
    if (!s->labels_true) return -1;
    long *cnt = calloc((size_t)n * n, sizeof(long)), changed = 0;
    if (!cnt) return -1;
    for (int i = 0; i < s->N; i++) {
        cnt[s->labels_true[i] * n + s->labels[i]]++;
        changed += s->labels_true[i] != s->labels[i];
    }
    for (int a = 0; a < n; a++) {
        long row = 0;
        for (int b = 0; b < n; b++) row += cnt[a * n + b];
        for (int b = 0; b < n; b++) out[a * n + b] = row ? (float)cnt[a * n + b] / row : 0.f;
    }
    free(cnt);
    return s->N ? (double)changed / s->N : 0;
}

fke_status fke_corrupt_tmatrix(const fke_imageset *s, fke_tmatrices *tm, fke_err *e)
{
    memset(tm, 0, sizeof *tm);
    if (!s->T_true)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: no field /T_true (not a corrupted image set)",
                        s->path);
    int n = s->n_cls;
    tm->ntask = 1;
    tm->n[0] = n;
    tm->T[0] = malloc((size_t)n * n * sizeof(float));
    if (!tm->T[0]) {
        tm->ntask = 0;
        return fke_fail(e, FKE_ERR_NOMEM, "out of memory");
    }
    memcpy(tm->T[0], s->T_true, (size_t)n * n * sizeof(float));
    return FKE_OK;
}
