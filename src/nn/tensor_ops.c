/* tensor_ops.c - see tensor_ops.h. */
#include "nn/tensor_ops.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

#define PAR_MIN 32768
#define GEMM_PAR_MIN (1L << 20) /* multiply-adds below which a GEMM stays in one piece */

/* ---- fixed row chunks ----------------------------------------------------- */
int fke_row_chunks(int rows, int min_rows)
{
    int n = min_rows > 0 ? rows / min_rows : rows;
    if (n > FKE_MAX_CHUNKS) n = FKE_MAX_CHUNKS;
    if (n > 1) n &= ~1;
    return n < 1 ? 1 : n;
}

int fke_thread_chunks(int rows, int min_rows)
{
    int n = fke_row_chunks(rows, min_rows), t = fke_max_threads();
    if (t < 2) t = 2; /* 1 thread splits as 2 do: the same bits */
    return n > t ? t : n;
}

void fke_chunk_rows(int rows, int n, int c, int *r0, int *r1)
{
    int q = rows / n, r = rows % n; /* the first r chunks get one row more */
    *r0 = c * q + (c < r ? c : r);
    *r1 = *r0 + q + (c < r);
}

void fke_gemm_rows(int ta, int tb, int M, int N, int K, fke_real alpha, const fke_real *A,
                   int lda, const fke_real *B, int ldb, fke_real beta, fke_real *C, int ldc,
                   const fke_real *b1, const fke_real *b2)
{
    if (M <= 0 || N <= 0) return;
    int nc = (long)M * N * K < GEMM_PAR_MIN ? 1 : fke_thread_chunks(M, 16);
    const enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans,
                               TB = tb ? CblasTrans : CblasNoTrans;
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int c = 0; c < nc; c++) {
        int r0, r1;
        fke_chunk_rows(M, nc, c, &r0, &r1);
        for (int r = r0; b1 && r < r1; r++) {
            fke_real *Cr = C + (size_t)r * ldc;
            if (b2)
                for (int j = 0; j < N; j++) Cr[j] = b1[j] + b2[j];
            else memcpy(Cr, b1, N * sizeof(fke_real));
        }
        /* row r of op(A): row r of A, or column r when transposed */
        const fke_real *Ar = A + (ta ? (size_t)r0 : (size_t)r0 * lda);
        FKE_GEMM(CblasRowMajor, TA, TB, r1 - r0, N, K, alpha, Ar, lda, B, ldb, beta,
                 C + (size_t)r0 * ldc, ldc);
    }
}


/* ---- residual add ------------------------------------------------------ */
fke_status fke_add_forward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                           fke_tensor *y)
{
    FKE_TRY(fke_expect_any(e, "add", "a", a));
    FKE_TRY(fke_expect_like(e, "add", "b", b, a));
    FKE_TRY(fke_expect_like(e, "add", "y", y, a));
    const fke_real *p = a->data, *q = b->data;
    fke_real *r = y->data;
    long n = (long)fke_numel(a);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) r[i] = p[i] + q[i];
    return FKE_OK;
}

fke_status fke_add_backward(fke_err *e, const fke_tensor *dy, fke_tensor *da, fke_tensor *db)
{
    FKE_TRY(fke_expect_any(e, "add backward", "dy", dy));
    if (da) FKE_TRY(fke_expect_like(e, "add backward", "da", da, dy));
    if (db) FKE_TRY(fke_expect_like(e, "add backward", "db", db, dy));
    long n = (long)fke_numel(dy);
    const fke_real *d = dy->data;
    for (int k = 0; k < 2; k++) {
        fke_tensor *g = k ? db : da;
        if (!g) continue;
        fke_real *r = g->data;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (long i = 0; i < n; i++) r[i] += d[i];
    }
    return FKE_OK;
}

/* ---- concatenation along dim 1 ----------------------------------------- */
/* Checks the parts against y (N, sum D_i); ylabel names y in messages. */
static fke_status check_concat(fke_err *e, const char *op, int n, const fke_tensor *const *xs,
                               const char *ylabel, const fke_tensor *y)
{
    if (n < 1 || !xs)
        return fke_fail(e, FKE_ERR_ARG, "%s: %d inputs (need at least 1)", op, n);
    FKE_EXPECT(e, op, ylabel, y, -1, -1);
    int total = 0;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "input %d", i);
        FKE_EXPECT(e, op, name, xs[i], y->shape[0], -1);
        total += xs[i]->shape[1];
    }
    if (total != y->shape[1]) {
        char got[96];
        return fke_fail(e, FKE_ERR_SHAPE, "%s: %s has shape %s, the inputs give (%d, %d)", op,
                        ylabel, fke_shape_str(y, got, sizeof got), y->shape[0], total);
    }
    return FKE_OK;
}

fke_status fke_concat_forward(fke_err *e, int n, const fke_tensor *const *xs, fke_tensor *y)
{
    FKE_TRY(check_concat(e, "concat", n, xs, "y", y));
    int N = y->shape[0], Dy = y->shape[1];
    for (int r = 0; r < N; r++) {
        fke_real *dst = y->data + (size_t)r * Dy;
        for (int i = 0; i < n; i++) {
            int D = xs[i]->shape[1];
            memcpy(dst, xs[i]->data + (size_t)r * D, (size_t)D * sizeof *dst);
            dst += D;
        }
    }
    return FKE_OK;
}

fke_status fke_concat_backward(fke_err *e, const fke_tensor *dy, int n,
                               const fke_tensor *const *xs, fke_tensor *const *dxs)
{
    const char *op = "concat backward";
    FKE_TRY(check_concat(e, op, n, xs, "dy", dy));
    FKE_TRY(fke_expect_grads_like(e, op, n, dxs, xs));
    int N = dy->shape[0], Dy = dy->shape[1];
    for (int r = 0; r < N; r++) {
        const fke_real *src = dy->data + (size_t)r * Dy;
        for (int i = 0; i < n; i++) {
            int D = xs[i]->shape[1];
            if (dxs[i]) {
                fke_real *g = dxs[i]->data + (size_t)r * D;
                for (int j = 0; j < D; j++) g[j] += src[j];
            }
            src += D;
        }
    }
    return FKE_OK;
}

/* ---- column slice ------------------------------------------------------ */
fke_status fke_slice_forward(fke_err *e, const fke_tensor *x, int from, int to, fke_tensor *y)
{
    FKE_EXPECT(e, "slice", "x", x, -1, -1);
    int N = x->shape[0], D = x->shape[1];
    if (from < 0 || to <= from || to > D)
        return fke_fail(e, FKE_ERR_ARG, "slice: columns [%d, %d) of x (%d, %d)", from, to, N, D);
    FKE_EXPECT(e, "slice", "y", y, N, to - from);
    int k = to - from;
    for (int r = 0; r < N; r++)
        memcpy(y->data + (size_t)r * k, x->data + (size_t)r * D + from, (size_t)k * sizeof(fke_real));
    return FKE_OK;
}

fke_status fke_slice_backward(fke_err *e, const fke_tensor *dy, int from, fke_tensor *dx)
{
    FKE_EXPECT(e, "slice backward", "dy", dy, -1, -1);
    FKE_EXPECT(e, "slice backward", "dx", dx, dy->shape[0], -1);
    int N = dy->shape[0], k = dy->shape[1], D = dx->shape[1];
    if (from < 0 || from + k > D)
        return fke_fail(e, FKE_ERR_ARG, "slice backward: columns [%d, %d) of dx (%d, %d)", from,
                        from + k, N, D);
    for (int r = 0; r < N; r++) {
        const fke_real *d = dy->data + (size_t)r * k;
        fke_real *g = dx->data + (size_t)r * D + from;
        for (int j = 0; j < k; j++) g[j] += d[j];
    }
    return FKE_OK;
}
