/* batchnorm.c - see batchnorm.h.
 *
 * The per-channel sums are in double, vectorised (omp simd reductions: a
 * fixed order set at compile time, the same at every thread count).
 *
 * Training backward, per channel with xhat = (x - mean) * inv_std over M values:
 *   dbeta  = sum dy,  dgamma = sum dy * xhat
 *   dx     = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma)
 * Eval backward: dx = gamma * inv_std * dy. */
#include "nn/batchnorm.h"

#include <math.h>

static fke_status check_c(fke_err *e, const char *op, const char *name,
                          const fke_tensor *t, int C)
{
    FKE_EXPECT(e, op, name, t, C);
    return FKE_OK;
}

/* The per-channel sums of the forward, in double, in a fixed order. */
static double chan_sum(const fke_tensor *x, int c)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double s = 0;
    for (int n = 0; n < N; n++) {
        const fke_real *p = x->data + ((size_t)n * C + c) * HW;
#pragma omp simd reduction(+ : s)
        for (size_t i = 0; i < HW; i++) s += p[i];
    }
    return s;
}

static double chan_ss(const fke_tensor *x, int c, double mu)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double ss = 0;
    for (int n = 0; n < N; n++) {
        const fke_real *p = x->data + ((size_t)n * C + c) * HW;
#pragma omp simd reduction(+ : ss)
        for (size_t i = 0; i < HW; i++) {
            double d = p[i] - mu;
            ss += d * d;
        }
    }
    return ss;
}

/* Channel c of y from its statistics (train: the running ones updated from
 * mu and the sum of squares ss over M values). */
static void chan_apply(const fke_tensor *x, const fke_tensor *gamma, const fke_tensor *beta,
                       fke_tensor *running_mean, fke_tensor *running_var, int train, int c,
                       double mu, double ss, double M, fke_tensor *mean, fke_tensor *inv_std,
                       fke_tensor *y)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double var;
    if (train) {
        var = ss / M;
        double m = FKE_BN_MOMENTUM;
        running_mean->data[c] = (fke_real)((1 - m) * running_mean->data[c] + m * mu);
        running_var->data[c] = (fke_real)((1 - m) * running_var->data[c] + m * ss / (M - 1));
    } else {
        mu = running_mean->data[c];
        var = running_var->data[c];
    }
    double is = 1.0 / sqrt(var + FKE_BN_EPS);
    mean->data[c] = (fke_real)mu;
    inv_std->data[c] = (fke_real)is;
    /* y = x * a + bias, the affine map folded per channel */
    fke_real a = (fke_real)(gamma->data[c] * is);
    fke_real bias = (fke_real)(beta->data[c] - mu * gamma->data[c] * is);
    for (int n = 0; n < N; n++) {
        const fke_real *p = x->data + ((size_t)n * C + c) * HW;
        fke_real *q = y->data + ((size_t)n * C + c) * HW;
#pragma omp simd
        for (size_t i = 0; i < HW; i++) q[i] = p[i] * a + bias;
    }
}

fke_status fke_batchnorm_forward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                 const fke_tensor *beta, fke_tensor *running_mean,
                                 fke_tensor *running_var, int train, fke_tensor *mean,
                                 fke_tensor *inv_std, fke_tensor *y)
{
    return fke_batchnorm_forward_sync(e, x, gamma, beta, running_mean, running_var, train, mean,
                                      inv_std, y, NULL);
}

fke_status fke_batchnorm_forward_sync(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                      const fke_tensor *beta, fke_tensor *running_mean,
                                      fke_tensor *running_var, int train, fke_tensor *mean,
                                      fke_tensor *inv_std, fke_tensor *y,
                                      const fke_reducer *sync)
{
    const char *op = "batchnorm";
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    FKE_EXPECT(e, op, "y", y, N, C, x->shape[2], x->shape[3]);
    FKE_TRY(check_c(e, op, "gamma", gamma, C));
    FKE_TRY(check_c(e, op, "beta", beta, C));
    FKE_TRY(check_c(e, op, "running_mean", running_mean, C));
    FKE_TRY(check_c(e, op, "running_var", running_var, C));
    FKE_TRY(check_c(e, op, "mean", mean, C));
    FKE_TRY(check_c(e, op, "inv_std", inv_std, C));
    if (sync && !train) sync = NULL;
    if (sync) {
        if (C > FKE_BN_SYNC_MAXC)
            return fke_fail(e, FKE_ERR_SHAPE, "batchnorm (sync_bn): %d channels, at most %d", C,
                            FKE_BN_SYNC_MAXC);
        /* pass 1: sums and counts over every process, then the global mean */
        double buf[FKE_BN_SYNC_MAXC + 1];
#pragma omp parallel for schedule(static) if (M * C > 32768)
        for (int c = 0; c < C; c++) buf[c] = chan_sum(x, c);
        buf[C] = (double)M;
        FKE_TRY(sync->sum(sync->ctx, buf, C + 1, e));
        double Mg = buf[C];
        if (Mg < 2)
            return fke_fail(e, FKE_ERR_SHAPE, "batchnorm (sync_bn): training needs more than one "
                            "value per channel over all processes, there are %.0f", Mg);
        double mu[FKE_BN_SYNC_MAXC];
        for (int c = 0; c < C; c++) mu[c] = buf[c] / Mg;
        /* pass 2: squares about the global mean */
#pragma omp parallel for schedule(static) if (M * C > 32768)
        for (int c = 0; c < C; c++) buf[c] = chan_ss(x, c, mu[c]);
        FKE_TRY(sync->sum(sync->ctx, buf, C, e));
#pragma omp parallel for schedule(static) if (M * C > 32768)
        for (int c = 0; c < C; c++)
            chan_apply(x, gamma, beta, running_mean, running_var, 1, c, mu[c], buf[c], Mg, mean,
                       inv_std, y);
        return FKE_OK;
    }
    if (train && M < 2)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "batchnorm: training needs more than one value per channel, x is "
                        "(%d, %d, %d, %d)", N, C, x->shape[2], x->shape[3]);

#pragma omp parallel for schedule(static) if (M * C > 32768)
    for (int c = 0; c < C; c++) {
        double mu = 0, ss = 0;
        if (train) {
            mu = chan_sum(x, c) / (double)M;
            ss = chan_ss(x, c, mu);
        }
        chan_apply(x, gamma, beta, running_mean, running_var, train, c, mu, ss, (double)M, mean,
                   inv_std, y);
    }
    return FKE_OK;
}

/* The backward's per-channel sums: of dy, and of dy * xhat. */
static void chan_dsums(const fke_tensor *x, const fke_tensor *dy, int c, double mu, double is,
                       double *sdy_out, double *sdyx_out)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double sdy = 0, sdyx = 0;
    for (int n = 0; n < N; n++) {
        const fke_real *p = x->data + ((size_t)n * C + c) * HW;
        const fke_real *d = dy->data + ((size_t)n * C + c) * HW;
        double a = 0, b = 0; /* two loops: gcc vectorises one reduction per loop */
#pragma omp simd reduction(+ : a)
        for (size_t i = 0; i < HW; i++) a += d[i];
#pragma omp simd reduction(+ : b)
        for (size_t i = 0; i < HW; i++) b += d[i] * ((p[i] - mu) * is);
        sdy += a;
        sdyx += b;
    }
    *sdy_out = sdy;
    *sdyx_out = sdyx;
}

/* dx of channel c from the sums sdy, sdyx over M values */
static void chan_dx(const fke_tensor *x, const fke_tensor *gamma, const fke_tensor *dy, int train,
                    int c, double mu, double is, double sdy, double sdyx, double M, fke_tensor *dx)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double k = gamma->data[c] * is;
    /* dx = k * dy + b0 + b1 * x, the training terms folded per channel */
    double b0 = 0, b1 = 0;
    if (train) {
        double u = sdy / M, v = sdyx / M; /* dx = k (dy - u - xhat v) */
        b1 = -k * v * is;
        b0 = -k * u + k * v * is * mu;
    }
    fke_real kk = (fke_real)k, c0 = (fke_real)b0, c1 = (fke_real)b1;
    for (int n = 0; n < N; n++) {
        const fke_real *p = x->data + ((size_t)n * C + c) * HW;
        const fke_real *d = dy->data + ((size_t)n * C + c) * HW;
        fke_real *q = dx->data + ((size_t)n * C + c) * HW;
#pragma omp simd
        for (size_t i = 0; i < HW; i++) q[i] += kk * d[i] + c0 + c1 * p[i];
    }
}

fke_status fke_batchnorm_backward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                  const fke_tensor *mean, const fke_tensor *inv_std,
                                  const fke_tensor *dy, int train, fke_tensor *dx,
                                  fke_tensor *dgamma, fke_tensor *dbeta)
{
    return fke_batchnorm_backward_sync(e, x, gamma, mean, inv_std, dy, train, dx, dgamma, dbeta,
                                       NULL);
}

fke_status fke_batchnorm_backward_sync(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                       const fke_tensor *mean, const fke_tensor *inv_std,
                                       const fke_tensor *dy, int train, fke_tensor *dx,
                                       fke_tensor *dgamma, fke_tensor *dbeta,
                                       const fke_reducer *sync)
{
    const char *op = "batchnorm backward";
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    FKE_EXPECT(e, op, "dy", dy, N, C, x->shape[2], x->shape[3]);
    if (dx) FKE_EXPECT(e, op, "dx", dx, N, C, x->shape[2], x->shape[3]);
    FKE_TRY(check_c(e, op, "gamma", gamma, C));
    FKE_TRY(check_c(e, op, "mean", mean, C));
    FKE_TRY(check_c(e, op, "inv_std", inv_std, C));
    if (dgamma) FKE_TRY(check_c(e, op, "dgamma", dgamma, C));
    if (dbeta) FKE_TRY(check_c(e, op, "dbeta", dbeta, C));
    if (sync && !train) sync = NULL;
    if (sync) {
        if (C > FKE_BN_SYNC_MAXC)
            return fke_fail(e, FKE_ERR_SHAPE, "batchnorm backward (sync_bn): %d channels, at "
                            "most %d", C, FKE_BN_SYNC_MAXC);
        double buf[2 * FKE_BN_SYNC_MAXC + 1];
#pragma omp parallel for schedule(static) if (M * C > 32768)
        for (int c = 0; c < C; c++) {
            chan_dsums(x, dy, c, mean->data[c], inv_std->data[c], &buf[c], &buf[C + c]);
            /* this process's share of dgamma, dbeta: the gradient sum adds the rest */
            if (dbeta) dbeta->data[c] += (fke_real)buf[c];
            if (dgamma) dgamma->data[c] += (fke_real)buf[C + c];
        }
        if (!dx) return FKE_OK; /* the same on every process: the same layer */
        buf[2 * C] = (double)M;
        FKE_TRY(sync->sum(sync->ctx, buf, 2 * C + 1, e));
#pragma omp parallel for schedule(static) if (M * C > 32768)
        for (int c = 0; c < C; c++)
            chan_dx(x, gamma, dy, 1, c, mean->data[c], inv_std->data[c], buf[c], buf[C + c],
                    buf[2 * C], dx);
        return FKE_OK;
    }

#pragma omp parallel for schedule(static) if (M * C > 32768)
    for (int c = 0; c < C; c++) {
        double mu = mean->data[c], is = inv_std->data[c];
        double sdy, sdyx;
        chan_dsums(x, dy, c, mu, is, &sdy, &sdyx);
        if (dbeta) dbeta->data[c] += (fke_real)sdy;
        if (dgamma) dgamma->data[c] += (fke_real)sdyx;
        if (!dx) continue;
        chan_dx(x, gamma, dy, train, c, mu, is, sdy, sdyx, (double)M, dx);
    }
    return FKE_OK;
}
