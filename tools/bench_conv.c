/* bench_conv.c - per-layer timing of the 3x3 stride 1 pad 1 convolutions,
 * Winograd F(2x2, 3x3) against im2col + GEMM (nn/conv2d.h, algo), forward
 * and backward (dx and dW), at fke-small's layers (20 whole images of 64x64
 * and 100 crops of 32x32), ResNet-18's at 224 px (20 images) and a sweep of
 * small channel counts that sets FKE_CONV_WINOGRAD_MIN_C / _MIN_O.
 *
 *   make build/bench_conv && nice build/bench_conv [--threads N] [--reps R]
 *
 * fke itself runs OpenBLAS's kernels for this CPU (cli/main.c); this tool
 * runs what OpenBLAS chose and says so in its first line, so start it with
 * OPENBLAS_CORETYPE set to the core that line names to time what fke runs.
 *
 * The two algorithms alternate call by call; each time is the median of R
 * (default 9). Prints one row per shape: ms of im2col and Winograd, forward
 * and forward + backward, and the speed-up of forward + backward. */
#include "core/cpu.h"
#include "nn/conv2d.h"

#include <cblas.h>
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

typedef struct {
    const char *name;
    int N, C, H, O;
} shape;

static const shape SHAPES[] = {
    {"small conv1 whole", 20, 3, 64, 32},    {"small conv1 crops", 100, 3, 32, 32},
    {"small conv2 whole", 20, 32, 32, 64},   {"small conv2 crops", 100, 32, 16, 64},
    {"small conv3 whole", 20, 64, 16, 128},  {"small conv3 crops", 100, 64, 8, 128},
    {"brief 32x32 32->64", 100, 32, 32, 64}, {"resnet 56x56", 20, 64, 56, 64},
    {"resnet 28x28", 20, 128, 28, 128},      {"resnet 14x14", 20, 256, 14, 256},
    {"resnet 7x7", 20, 512, 7, 512},          {"sweep C8 O32", 100, 8, 16, 32},
    {"sweep C8 O64", 100, 8, 16, 64},        {"sweep C16 O16", 100, 16, 16, 16},
    {"sweep C16 O32", 100, 16, 16, 32},      {"sweep C16 O64", 100, 16, 16, 64},
    {"sweep C32 O8", 100, 32, 16, 8},        {"sweep C32 O16", 100, 32, 16, 16},
};

int main(int argc, char **argv)
{
    int threads = 1, reps = 9;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_conv [--threads N] [--reps R]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 99) reps = 9;
    fke_set_threads(threads);
    fke_arena a;
    fke_err e;
    if (fke_arena_init(&a, (size_t)1 << 30, &e) != FKE_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    fke_rng r;
    fke_rng_seed(&r, 1);
    char blas[256];
    fke_cpu_describe(blas, sizeof blas);
    printf("%s\n%d thread(s), median of %d; ms: im2col fwd, fwd+bwd | Winograd fwd, fwd+bwd | "
           "speed-up fwd+bwd\n", blas, threads, reps);
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++) {
        const shape *h = &SHAPES[s];
        fke_tensor x, w, y, dy, dx, dW;
        fke_status st = fke_arena_tensor(&a, &e, &x, 4, h->N, h->C, h->H, h->H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &w, 4, h->O, h->C, 3, 3);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &y, 4, h->N, h->O, h->H, h->H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &dy, 4, h->N, h->O, h->H, h->H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &dx, 4, h->N, h->C, h->H, h->H);
        if (st == FKE_OK) st = fke_arena_tensor(&a, &e, &dW, 4, h->O, h->C, 3, 3);
        if (st != FKE_OK) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        fke_tensor *fill[3] = {&x, &w, &dy};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < fke_numel(fill[k]); i++)
                fill[k]->data[i] = (fke_real)(2 * fke_rng_uniform(&r) - 1);
        double t[2][2][99]; /* [algo][fwd, bwd][rep] */
        for (int rep = -1; rep < reps; rep++) /* rep -1: warm-up */
            for (int al = 0; al < 2; al++) {
                fke_conv2d_opt o = {.stride = 1, .pad = 1,
                                    .algo = al ? FKE_CONV_WINOGRAD : FKE_CONV_IM2COL};
                double t0 = now();
                st = fke_conv2d_forward(&e, &x, &w, NULL, o, &y, &a);
                double t1 = now();
                if (st == FKE_OK) st = fke_conv2d_backward(&e, &x, &w, &dy, o, &dx, &dW, NULL, &a);
                double t2 = now();
                if (st != FKE_OK) {
                    fprintf(stderr, "%s\n", e.msg);
                    return 1;
                }
                if (rep >= 0) t[al][0][rep] = t1 - t0, t[al][1][rep] = t2 - t1;
            }
        double m[2][2];
        for (int al = 0; al < 2; al++)
            for (int k = 0; k < 2; k++) {
                qsort(t[al][k], (size_t)reps, sizeof(double), cmp);
                m[al][k] = 1e3 * t[al][k][reps / 2];
            }
        printf("%-20s N%-3d %3d->%-3d %2dx%-2d | %7.2f %7.2f | %7.2f %7.2f | %.2fx\n", h->name,
               h->N, h->C, h->O, h->H, h->H, m[0][0], m[0][0] + m[0][1], m[1][0],
               m[1][0] + m[1][1], (m[0][0] + m[0][1]) / (m[1][0] + m[1][1]));
        fflush(stdout);
        a.used = 0;
    }
    fke_arena_free(&a);
    return 0;
}
