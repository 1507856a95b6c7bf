/* bench_bn.c - the passes of the fused batch norm + ReLU + 2x2 max-pool
 * (nn/batchnorm.h) at fke-small's shapes, each against a memory bound.
 *
 *   make build/bench_bn && nice build/bench_bn [--threads N] [--reps R]
 *
 * Per shape, ms (median of R, default 15): the forward's statistics alone
 * (fke_batchnorm_moments channel by channel, as the forward ran them before
 * it went through x in memory order), the whole training forward (statistics
 * + normalise + ReLU + pool), the backward's sums (the backward with dx
 * NULL) and the rest of the backward (apply: the whole backward less the
 * sums). Each is followed by its bound,
 * the bytes it must move (x read, y, idx, dy read, dx written) over the
 * memcpy rate measured on a buffer the size of x in the same run. */
#include "nn/batchnorm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    return 1e3 * t[n / 2];
}

typedef struct {
    const char *name;
    int N, C, H;
} shape;

static const shape SHAPES[] = {
    {"bn1 whole", 20, 32, 64},  {"bn1 crops", 100, 32, 32}, {"bn2 whole", 20, 64, 32},
    {"bn2 crops", 100, 64, 16}, {"bn3 whole", 20, 128, 16}, {"bn3 crops", 100, 128, 8},
};

int main(int argc, char **argv)
{
    int threads = 1, reps = 15;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_bn [--threads N] [--reps R]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 99) reps = 15;
    fke_set_threads(threads);
    fke_arena a;
    fke_err e;
    if (fke_arena_init(&a, (size_t)1 << 30, &e) != FKE_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    fke_rng r;
    fke_rng_seed(&r, 1);
    printf("%d thread(s), median of %d; ms (bound from memcpy rate in brackets)\n"
           "%-10s %-15s %6s | %-15s %-15s | %-15s %-15s | %s\n", threads, reps, "shape",
           "(N,C,H)", "GB/s", "stats (by chan)", "fwd (all)", "bwd sums", "bwd apply", "fwd+bwd");
    double tot[5] = {0};
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++) {
        const shape *h = &SHAPES[s];
        int N = h->N, C = h->C, H = h->H, Ho = H / 2;
        fke_tensor x, y, dy, dx, dx2, g, b, rm, rv, mean, istd, dg, db;
        fke_status st = fke_arena_tensor(&a, &e, &x, 4, N, C, H, H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &dx, 4, N, C, H, H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &dx2, 4, N, C, H, H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &y, 4, N, C, Ho, Ho);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &dy, 4, N, C, Ho, Ho);
        fke_tensor *cs[] = {&g, &b, &rm, &rv, &mean, &istd, &dg, &db};
        for (int k = 0; k < 8 && st == FKE_OK; k++) st = fke_arena_tensor(&a, &e, cs[k], 1, C);
        uint8_t *idx = st == FKE_OK ? fke_arena_alloc_raw(&a, &e, (size_t)N * C * Ho * Ho) : 0;
        if (st != FKE_OK || !idx) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        for (size_t i = 0; i < fke_numel(&x); i++)
            x.data[i] = (fke_real)(2 * fke_rng_uniform(&r) - 1), dx2.data[i] = 0;
        for (size_t i = 0; i < fke_numel(&dy); i++)
            dy.data[i] = (fke_real)(2 * fke_rng_uniform(&r) - 1);
        for (int c = 0; c < C; c++)
            g.data[c] = 1, b.data[c] = (fke_real)0.1, rm.data[c] = 0, rv.data[c] = 1;
        fke_bn_act act = {.relu = 1, .pool = 2};
        double t[5][99];
        for (int rep = -1; rep < reps; rep++) {
            double t0 = now();
            memcpy(dx2.data, x.data, fke_numel(&x) * sizeof(fke_real));
            double t1 = now();
            double mu = 0, ss = 0, sink = 0;
#pragma omp parallel for schedule(static) reduction(+ : sink)
            for (int c = 0; c < C; c++) {
                fke_batchnorm_moments(&x, c, &mu, &ss);
                sink += mu + ss;
            }
            double t2 = now();
            st = fke_batchnorm_act_forward(&e, &x, &g, &b, &rm, &rv, 1, act, &mean, &istd, &y,
                                           idx);
            double t3 = now();
            if (st == FKE_OK)
                st = fke_batchnorm_act_backward(&e, &x, &g, &mean, &istd, act, &y, idx, &dy, 1,
                                                NULL, &dg, &db);
            double t4 = now();
            if (st == FKE_OK)
                st = fke_batchnorm_act_backward(&e, &x, &g, &mean, &istd, act, &y, idx, &dy, 1,
                                                &dx, &dg, &db);
            double t5 = now();
            if (st != FKE_OK) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
            if (sink == 12345.678) printf(" ");
            if (rep < 0) continue;
            t[0][rep] = t1 - t0, t[1][rep] = t2 - t1, t[2][rep] = t3 - t2;
            t[3][rep] = t4 - t3, t[4][rep] = (t5 - t4) - (t4 - t3);
        }
        double m[5];
        for (int k = 0; k < 5; k++) m[k] = median(t[k], reps);
        double X = (double)fke_numel(&x) * sizeof(fke_real), Y = X / 4, I = X / 16;
        double gbs = 2 * X / (m[0] * 1e-3) * 1e-9;     /* memcpy: read + write */
        double bnd[4] = {X, 2 * X + Y + I, X + 2 * Y + I, X + 2 * Y + I + X};
        printf("%-10s (%3d,%3d,%2d) %6.1f", h->name, N, C, H, gbs);
        for (int k = 0; k < 4; k++) {
            double bms = bnd[k] / (gbs * 1e9) * 1e3;
            printf(" | %6.3f [%6.3f]", m[k + 1], bms);
            tot[k] += m[k + 1];
        }
        printf(" | %6.3f\n", m[2] + m[3] + m[4]);
        tot[4] += m[2] + m[3] + m[4];
        fflush(stdout);
        a.used = 0;
    }
    printf("%-33s", "all six");
    for (int k = 0; k < 4; k++) printf(" | %6.3f         ", tot[k]);
    printf(" | %6.3f\n", tot[4]);
    fke_arena_free(&a);
    return 0;
}
