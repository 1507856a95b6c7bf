/* test_bf16.c - the bf16 GEMM (nn/gemm_bf16.c) against a reference in double
 * on the same bf16-rounded operands (the kernel's only other rounding is its
 * float sums: within 1e-5), and against float sgemm (bf16's 8-bit mantissa:
 * within 2e-2), for both layouts of B, beta 0 and 1, and shapes with row,
 * column and odd-K tails; a repeat is bit for bit. On a CPU without
 * AVX512-BF16 it checks only that the kernel says so. */
#include "nn/gemm_bf16.h"
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fke.h"
#include "nn/conv2d.h"
#include <omp.h>

static double rel(const float *a, const double *ref, size_t n)
{
    double d = 0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - ref[i]));
        m = fmax(m, fabs(ref[i]));
    }
    return d / m;
}

static void one(fke_rng *r, int M, int N, int K, int bt, float beta)
{
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C = malloc(sizeof(float) * M * N), *C0 = malloc(sizeof(float) * M * N);
    float *C2 = malloc(sizeof(float) * M * N), *S = malloc(sizeof(float) * M * N);
    double *R = malloc(sizeof(double) * M * N);
    uint16_t *a16 = malloc(sizeof(uint16_t) * M * fke_bf16_ld(K));
    void *pack = aligned_alloc(64, (fke_bf16_pack_bytes(K, N) + 63) / 64 * 64);
    for (int i = 0; i < M * K; i++) A[i] = (float)(2 * fke_rng_uniform(r) - 1);
    for (int i = 0; i < K * N; i++) B[i] = (float)(2 * fke_rng_uniform(r) - 1);
    for (int i = 0; i < M * N; i++) C0[i] = (float)(2 * fke_rng_uniform(r) - 1);
    /* B's storage: (K, N), or (N, K) for bt */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = beta ? C0[i * N + j] : 0;
            for (int k = 0; k < K; k++) {
                float b = bt ? B[j * K + k] : B[k * N + j];
                s += (double)fke_bf16_round(A[i * K + k]) * fke_bf16_round(b);
            }
            R[i * N + j] = s;
        }
    memcpy(S, C0, sizeof(float) * M * N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans, M, N, K, 1, A, K, B,
                bt ? K : N, beta, S, N);
    fke_bf16_from_float(A, M, K, K, 0, a16);
    memcpy(C, C0, sizeof(float) * M * N);
    fke_bf16_gemm(M, N, K, a16, fke_bf16_ld(K), B, bt ? K : N, bt, beta, C, N, pack);
    memcpy(C2, C0, sizeof(float) * M * N);
    fke_bf16_gemm(M, N, K, a16, fke_bf16_ld(K), B, bt ? K : N, bt, beta, C2, N, pack);
    double sd = 0, sm = 1e-30;
    for (int i = 0; i < M * N; i++) sd = fmax(sd, fabs(C[i] - S[i])), sm = fmax(sm, fabs(S[i]));
    double eb = rel(C, R, (size_t)M * N), es = sd / sm;
    printf("  bf16 gemm %dx%dx%d %s beta %g: vs bf16 reference %.1e, vs sgemm %.1e\n", M, N, K,
           bt ? "B^T" : "B", beta, eb, es);
    FKE_CHECK(eb < 1e-5, "%dx%dx%d bt %d: %.2e from the bf16 reference", M, N, K, bt, eb);
    FKE_CHECK(es < 2e-2 && es > 1e-5, "%dx%dx%d bt %d: %.2e from sgemm (bf16 would be ~3e-3)",
              M, N, K, bt, es);
    FKE_CHECK(!memcmp(C, C2, sizeof(float) * M * N), "a repeat is not bit for bit");
    free(A), free(B), free(C), free(C0), free(C2), free(S), free(R), free(a16), free(pack);
}

static double relf(const fke_tensor *a, const fke_tensor *b)
{
    double d = 0, m = 1e-30;
    for (size_t i = 0; i < fke_numel(a); i++) {
        d = fmax(d, fabs((double)a->data[i] - b->data[i]));
        m = fmax(m, fabs(b->data[i]));
    }
    return d / m;
}

/* conv2d with bf16 operands: near the float conv, the same at 1 and 2
 * threads within 1e-6, a repeat bit for bit. */
static void conv(fke_rng *r, int N, int C, int H, int O, int k, int s, int pad)
{
    fke_err e;
    fke_arena a;
    fke_arena_init(&a, 64u << 20, &e);
    int Ho = fke_conv2d_out_size(H, k, s, pad);
    fke_tensor x, w, dy, y[4], dx[4], dW[4];
    fke_arena_tensor(&a, &e, &x, 4, N, C, H, H);
    fke_arena_tensor(&a, &e, &w, 4, O, C, k, k);
    fke_arena_tensor(&a, &e, &dy, 4, N, O, Ho, Ho);
    for (size_t i = 0; i < fke_numel(&x); i++) x.data[i] = (float)(2 * fke_rng_uniform(r) - 1);
    for (size_t i = 0; i < fke_numel(&w); i++) w.data[i] = (float)(2 * fke_rng_uniform(r) - 1);
    for (size_t i = 0; i < fke_numel(&dy); i++) dy.data[i] = (float)(2 * fke_rng_uniform(r) - 1);
    int thr[4] = {1, 1, 2, 2}, bf[4] = {0, 1, 1, 1};
    for (int t = 0; t < 4; t++) {
        fke_conv2d_opt o = {.stride = s, .pad = pad, .bf16 = bf[t]};
        fke_arena_tensor(&a, &e, &y[t], 4, N, O, Ho, Ho);
        fke_arena_tensor(&a, &e, &dx[t], 4, N, C, H, H);
        fke_arena_tensor(&a, &e, &dW[t], 4, O, C, k, k);
        omp_set_num_threads(thr[t]);
        FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, o, &y[t], &a) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_conv2d_backward(&e, &x, &w, &dy, o, &dx[t], &dW[t], NULL, &a) == FKE_OK,
                  "%s", e.msg);
    }
    double ey = relf(&y[1], &y[0]), ex = relf(&dx[1], &dx[0]), ew = relf(&dW[1], &dW[0]);
    printf("  conv %dx%dx%d -> %d k%d s%d p%d bf16 vs float: y %.1e dx %.1e dW %.1e\n", N, C, H,
           O, k, s, pad, ey, ex, ew);
    FKE_CHECK(ey < 2e-2 && ex < 2e-2 && ew < 2e-2, "bf16 conv far from float");
    FKE_CHECK(relf(&y[2], &y[1]) < 1e-6 && relf(&dx[2], &dx[1]) < 1e-6 &&
              relf(&dW[2], &dW[1]) < 1e-6, "bf16 conv: 1 vs 2 threads");
    FKE_CHECK(!memcmp(y[2].data, y[3].data, fke_numel(&y[2]) * 4) &&
              !memcmp(dx[2].data, dx[3].data, fke_numel(&dx[2]) * 4) &&
              !memcmp(dW[2].data, dW[3].data, fke_numel(&dW[2]) * 4),
              "bf16 conv: a repeat at 2 threads is not bit for bit");
    omp_set_num_threads(2);
    fke_arena_free(&a);
}

int main(void)
{
    openblas_set_num_threads(1);
    if (!fke_bf16_available()) {
        printf("  this CPU has no AVX512-BF16: the kernel is not run\n");
        FKE_CHECK(!fke_bf16_available(), "availability is not stable");
        return fke_test_summary("bf16");
    }
    fke_rng r;
    fke_rng_seed(&r, 1616);
    FKE_CHECK(fke_bf16_round(1.0f + 1.0f / 256) == 1.0f, "tie rounds to even (down)");
    FKE_CHECK(fke_bf16_round(1.0f + 3.0f / 256) == 1.0f + 4.0f / 256, "tie rounds to even (up)");
    int shapes[][3] = {{8, 32, 16}, {13, 45, 27}, {64, 256, 288}, {5, 7, 3}, {32, 100, 577}};
    for (int s = 0; s < 5; s++)
        for (int bt = 0; bt < 2; bt++)
            one(&r, shapes[s][0], shapes[s][1], shapes[s][2], bt, (float)(s & 1));
    conv(&r, 5, 8, 12, 16, 3, 1, 1);
    conv(&r, 3, 6, 9, 10, 3, 2, 1);
    conv(&r, 4, 12, 6, 8, 1, 1, 0);
    return fke_test_summary("bf16");
}
