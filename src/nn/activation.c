/* activation.c - see activation.h. */
#include "nn/activation.h"

#include <math.h>
#include <string.h>

/* Elementwise loops go parallel only when there is enough work to pay for it. */
#define PAR_MIN 32768



fke_status fke_relu_forward(fke_err *e, const fke_tensor *x, fke_tensor *y)
{
    FKE_TRY(fke_expect_any(e, "relu", "x", x));
    FKE_TRY(fke_expect_like(e, "relu", "y", y, x));
    const fke_real *a = x->data;
    fke_real *b = y->data;
    long n = (long)fke_numel(x);
    /* vectorised select, not a branch (random signs mispredict half the time) */
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) b[i] = a[i] > 0 ? a[i] : 0;
    return FKE_OK;
}

fke_status fke_relu_backward(fke_err *e, const fke_tensor *y, const fke_tensor *dy,
                             fke_tensor *dx)
{
    FKE_TRY(fke_expect_any(e, "relu backward", "y", y));
    FKE_TRY(fke_expect_like(e, "relu backward", "dy", dy, y));
    FKE_TRY(fke_expect_like(e, "relu backward", "dx", dx, y));
    const fke_real *a = y->data, *d = dy->data;
    fke_real *g = dx->data;
    long n = (long)fke_numel(y);
    /* g += mask * d rather than a conditional store, which cannot be
     * vectorised and mispredicts on random signs */
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) {
        fke_real v = d[i]; /* loaded unconditionally, so the select vectorises */
        g[i] += a[i] > 0 ? v : 0;
    }
    return FKE_OK;
}

fke_status fke_dropout_forward(fke_err *e, const fke_tensor *x, double p, int train,
                               fke_rng *rng, fke_tensor *mask, fke_tensor *y)
{
    const char *op = "dropout";
    FKE_TRY(fke_expect_any(e, op, "x", x));
    FKE_TRY(fke_expect_like(e, op, "y", y, x));
    if (!(p >= 0 && p < 1))
        return fke_fail(e, FKE_ERR_ARG, "dropout: p = %g (need 0 <= p < 1)", p);
    size_t n = fke_numel(x);
    if (!train) {
        if (mask) {
            FKE_TRY(fke_expect_like(e, op, "mask", mask, x));
            for (size_t i = 0; i < n; i++) mask->data[i] = 1;
        }
        if (y->data != x->data) memcpy(y->data, x->data, n * sizeof(fke_real));
        return FKE_OK;
    }
    FKE_TRY(fke_expect_like(e, op, "mask", mask, x));
    if (p > 0 && !rng) return fke_fail(e, FKE_ERR_ARG, "dropout: training needs an rng");
    fke_real scale = (fke_real)(1.0 / (1.0 - p));
    const fke_real *xd = x->data;
    fke_real *md = mask->data, *yd = y->data;
    if (!(p > 0)) { /* no draw */
        for (size_t i = 0; i < n; i++) md[i] = scale, yd[i] = xd[i] * scale;
        return FKE_OK;
    }
    /* serial: the mask is a function of the rng state and the element order
     * only, one fke_rng_uniform per element, drawn inline on a local copy of
     * the state. The element is dropped when fke_rng_unit(u) = (u >> 11)
     * 2^-53 < p, that is when the integer u >> 11 < thr = ceil(p 2^53)
     * (exact: p 2^53 only shifts p's exponent); the mask is then selected by
     * a sign mask, not a branch, which at p = 0.5 mispredicted one element in
     * two (~6 ns an element, 4x the rest). */
    const int64_t thr = (int64_t)ceil(p * 0x1.0p53);
    fke_rng st = *rng;
    for (size_t i = 0; i < n; i++) {
        int64_t drop = ((int64_t)(fke_rng_next(st.s) >> 11) - thr) >> 63; /* -1, 0 */
        fke_real m = scale * (fke_real)(drop + 1);
        md[i] = m;
        yd[i] = xd[i] * m;
    }
    *rng = st;
    return FKE_OK;
}

fke_status fke_dropout_backward(fke_err *e, const fke_tensor *mask, const fke_tensor *dy,
                                fke_tensor *dx)
{
    const char *op = "dropout backward";
    FKE_TRY(fke_expect_any(e, op, "mask", mask));
    FKE_TRY(fke_expect_like(e, op, "dy", dy, mask));
    FKE_TRY(fke_expect_like(e, op, "dx", dx, mask));
    const fke_real *m = mask->data, *d = dy->data;
    fke_real *g = dx->data;
    long n = (long)fke_numel(mask);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) g[i] += d[i] * m[i];
    return FKE_OK;
}

/* The smooth activations below go through one pair of drivers: y = f(x),
 * and dx += dy f'(x), each value computed in double. */
typedef double (*unary_fn)(double);

static fke_status unary_forward(fke_err *e, const char *op, unary_fn f, const fke_tensor *x,
                                fke_tensor *y)
{
    FKE_TRY(fke_expect_any(e, op, "x", x));
    FKE_TRY(fke_expect_like(e, op, "y", y, x));
    const fke_real *a = x->data;
    fke_real *b = y->data;
    long n = (long)fke_numel(x);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) b[i] = (fke_real)f(a[i]);
    return FKE_OK;
}

static fke_status unary_backward(fke_err *e, const char *op, unary_fn df, const fke_tensor *x,
                                 const fke_tensor *dy, fke_tensor *dx)
{
    FKE_TRY(fke_expect_any(e, op, "x", x));
    FKE_TRY(fke_expect_like(e, op, "dy", dy, x));
    FKE_TRY(fke_expect_like(e, op, "dx", dx, x));
    const fke_real *a = x->data, *d = dy->data;
    fke_real *g = dx->data;
    long n = (long)fke_numel(x);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) g[i] += (fke_real)(d[i] * df(a[i]));
    return FKE_OK;
}

static double gelu(double v) { return 0.5 * v * (1.0 + erf(v * M_SQRT1_2)); }

/* Phi(x) + x phi(x), phi the standard normal density */
static double gelu_d(double v)
{
    return 0.5 * (1.0 + erf(v * M_SQRT1_2)) + v * exp(-0.5 * v * v) * 0.3989422804014327;
}

/* QuickGELU, x * sigmoid(1.702 x) (OpenAI CLIP's clip/model.py); the
 * constant is CLIP's, not a fit chosen here. */
#define QGELU_A 1.702

static double quick_gelu(double v) { return v / (1.0 + exp(-QGELU_A * v)); }

/* s + a x s (1 - s), s = sigmoid(a x) */
static double quick_gelu_d(double v)
{
    double s = 1.0 / (1.0 + exp(-QGELU_A * v));
    return s + QGELU_A * v * s * (1.0 - s);
}

fke_status fke_gelu_forward(fke_err *e, const fke_tensor *x, fke_tensor *y)
{
    return unary_forward(e, "gelu", gelu, x, y);
}

fke_status fke_gelu_backward(fke_err *e, const fke_tensor *x, const fke_tensor *dy,
                             fke_tensor *dx)
{
    return unary_backward(e, "gelu backward", gelu_d, x, dy, dx);
}

fke_status fke_quick_gelu_forward(fke_err *e, const fke_tensor *x, fke_tensor *y)
{
    return unary_forward(e, "quick_gelu", quick_gelu, x, y);
}

fke_status fke_quick_gelu_backward(fke_err *e, const fke_tensor *x, const fke_tensor *dy,
                                   fke_tensor *dx)
{
    return unary_backward(e, "quick_gelu backward", quick_gelu_d, x, dy, dx);
}
