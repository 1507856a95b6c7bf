/* gather.c - see gather.h. */
#include "nn/gather.h"

#include <stdio.h>
#include <string.h>

/* t read as rows of its last dimension: *w values per row, *R rows; with a
 * step, t is (R, T, w) and *T its number of steps (1 without a step). */
static fke_status rows_of(fke_err *e, const char *op, const char *name, const fke_tensor *t,
                          int step, int *R, int *T, int *w)
{
    FKE_TRY(fke_expect_any(e, op, name, t));
    *w = t->shape[t->ndim - 1];
    if (step < 0) {
        *R = (int)(fke_numel(t) / (size_t)*w);
        *T = 1;
        return FKE_OK;
    }
    FKE_EXPECT(e, op, name, t, -1, -1, -1);
    if (step >= t->shape[1])
        return fke_fail(e, FKE_ERR_ARG, "%s: step %d of %s, which has %d steps", op, step, name,
                        t->shape[1]);
    *R = t->shape[0];
    *T = t->shape[1];
    return FKE_OK;
}

/* Every index addresses one of the R rows of name (N rows without an index). */
static fke_status check_idx(fke_err *e, const char *op, const char *name, const int32_t *idx,
                            int N, int R)
{
    if (!idx) {
        if (R != N)
            return fke_fail(e, FKE_ERR_SHAPE, "%s: %s has %d rows, expected %d (no index given)",
                            op, name, R, N);
        return FKE_OK;
    }
    for (int r = 0; r < N; r++)
        if (idx[r] < 0 || idx[r] >= R)
            return fke_fail(e, FKE_ERR_ARG, "%s: idx[%d] = %d is outside the %d rows of %s", op,
                            r, (int)idx[r], R, name);
    return FKE_OK;
}

/* Offset of the row that packed row r reads: src(r), at the step if any. */
static size_t row_at(const fke_tensor *x, const int32_t *idx, int step, int r)
{
    size_t src = (size_t)(idx ? idx[r] : r), w = (size_t)x->shape[x->ndim - 1];
    if (step >= 0) src = src * (size_t)x->shape[1] + (size_t)step;
    return src * w;
}

/* ---- gather ------------------------------------------------------------- */
/* Checks the inputs against y (N, ...); ylabel names y in messages. */
static fke_status check_gather(fke_err *e, const char *op, int n, const fke_tensor *const *xs,
                               const int32_t *idx, int step, const char *ylabel,
                               const fke_tensor *y)
{
    if (n < 1 || !xs)
        return fke_fail(e, FKE_ERR_ARG, "%s: %d inputs (need at least 1)", op, n);
    FKE_TRY(fke_expect_any(e, op, ylabel, y));
    int N = y->shape[0];
    size_t total = 0;
    for (int j = 0; j < n; j++) {
        char name[32];
        int R = 0, T = 1, w = 0;
        snprintf(name, sizeof name, "input %d", j);
        FKE_TRY(rows_of(e, op, name, xs[j], step, &R, &T, &w));
        FKE_TRY(check_idx(e, op, name, idx, N, R));
        total += (size_t)w;
    }
    if (total * (size_t)N != fke_numel(y)) {
        char got[96];
        return fke_fail(e, FKE_ERR_SHAPE, "%s: %s has shape %s, the inputs give rows of %zu",
                        op, ylabel, fke_shape_str(y, got, sizeof got), total);
    }
    return FKE_OK;
}

fke_status fke_gather_forward(fke_err *e, int n, const fke_tensor *const *xs,
                              const int32_t *idx, int step, fke_tensor *y)
{
    FKE_TRY(check_gather(e, "gather", n, xs, idx, step, "y", y));
    int N = y->shape[0];
    fke_real *dst = y->data;
    for (int r = 0; r < N; r++)
        for (int j = 0; j < n; j++) {
            int w = xs[j]->shape[xs[j]->ndim - 1];
            memcpy(dst, xs[j]->data + row_at(xs[j], idx, step, r), (size_t)w * sizeof *dst);
            dst += w;
        }
    return FKE_OK;
}

fke_status fke_gather_backward(fke_err *e, const fke_tensor *dy, int n,
                               const fke_tensor *const *xs, const int32_t *idx, int step,
                               fke_tensor *const *dxs)
{
    const char *op = "gather backward";
    FKE_TRY(check_gather(e, op, n, xs, idx, step, "dy", dy));
    FKE_TRY(fke_expect_grads_like(e, op, n, dxs, xs));
    int N = dy->shape[0];
    const fke_real *src = dy->data;
    for (int r = 0; r < N; r++)
        for (int j = 0; j < n; j++) {
            int w = xs[j]->shape[xs[j]->ndim - 1];
            if (dxs[j]) { /* a row gathered twice gets both gradients */
                fke_real *g = dxs[j]->data + row_at(xs[j], idx, step, r);
                for (int k = 0; k < w; k++) g[k] += src[k];
            }
            src += w;
        }
    return FKE_OK;
}

/* ---- scatter ------------------------------------------------------------ */
static fke_status check_scatter(fke_err *e, const char *op, const fke_tensor *x,
                                const int32_t *idx, const char *ylabel, const fke_tensor *y)
{
    int R = 0, T = 1, w = 0;
    FKE_TRY(fke_expect_any(e, op, "x", x));
    FKE_TRY(rows_of(e, op, ylabel, y, FKE_NO_STEP, &R, &T, &w));
    int N = x->shape[0];
    if (fke_numel(x) != (size_t)N * (size_t)w) {
        char got[96];
        return fke_fail(e, FKE_ERR_SHAPE, "%s: x has shape %s, expected rows of %d (as %s)", op,
                        fke_shape_str(x, got, sizeof got), w, ylabel);
    }
    return check_idx(e, op, ylabel, idx, N, R);
}

fke_status fke_scatter_forward(fke_err *e, const fke_tensor *x, const int32_t *idx,
                               fke_tensor *y)
{
    FKE_TRY(check_scatter(e, "scatter", x, idx, "y", y));
    int N = x->shape[0], w = y->shape[y->ndim - 1];
    for (int r = 0; r < N; r++)
        memcpy(y->data + row_at(y, idx, FKE_NO_STEP, r), x->data + (size_t)r * w,
               (size_t)w * sizeof(fke_real));
    return FKE_OK;
}

fke_status fke_scatter_backward(fke_err *e, const fke_tensor *dy, const fke_tensor *x,
                                const int32_t *idx, fke_tensor *dx)
{
    const char *op = "scatter backward";
    FKE_TRY(check_scatter(e, op, x, idx, "dy", dy));
    if (!dx) return FKE_OK;
    FKE_TRY(fke_expect_like(e, op, "dx", dx, x));
    int N = x->shape[0], w = dy->shape[dy->ndim - 1];
    for (int r = 0; r < N; r++) {
        const fke_real *src = dy->data + row_at(dy, idx, FKE_NO_STEP, r);
        fke_real *g = dx->data + (size_t)r * w;
        for (int k = 0; k < w; k++) g[k] += src[k];
    }
    return FKE_OK;
}
