/* layernorm.c - see layernorm.h. */
#include "nn/layernorm.h"

#include <math.h>

static fke_status check(fke_err *e, const char *op, const fke_tensor *x,
                        const fke_tensor *gamma, const fke_tensor *mean,
                        const fke_tensor *rstd)
{
    FKE_EXPECT(e, op, "x", x, -1, -1);
    FKE_EXPECT(e, op, "gamma", gamma, x->shape[1]);
    FKE_EXPECT(e, op, "mean", mean, x->shape[0]);
    FKE_EXPECT(e, op, "rstd", rstd, x->shape[0]);
    return FKE_OK;
}

fke_status fke_layernorm_forward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                 const fke_tensor *beta, double eps, fke_tensor *mean,
                                 fke_tensor *rstd, fke_tensor *y)
{
    FKE_TRY(check(e, "layernorm", x, gamma, mean, rstd));
    FKE_EXPECT(e, "layernorm", "beta", beta, x->shape[1]);
    FKE_TRY(fke_expect_like(e, "layernorm", "y", y, x));
    if (!(eps > 0)) return fke_fail(e, FKE_ERR_ARG, "layernorm: eps %g must be > 0", eps);
    int N = x->shape[0], C = x->shape[1];
#pragma omp parallel for schedule(static) if (N * C > 32768)
    for (int n = 0; n < N; n++) {
        const fke_real *a = x->data + (size_t)n * C;
        fke_real *b = y->data + (size_t)n * C;
        double s = 0, ss = 0;
        for (int c = 0; c < C; c++) s += a[c];
        double mu = s / C;
        for (int c = 0; c < C; c++) ss += (a[c] - mu) * (a[c] - mu);
        double r = 1.0 / sqrt(ss / C + eps);
        mean->data[n] = (fke_real)mu;
        rstd->data[n] = (fke_real)r;
        for (int c = 0; c < C; c++)
            b[c] = (fke_real)((a[c] - mu) * r * gamma->data[c] + beta->data[c]);
    }
    return FKE_OK;
}

fke_status fke_layernorm_backward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                  const fke_tensor *mean, const fke_tensor *rstd,
                                  const fke_tensor *dy, fke_tensor *dx, fke_tensor *dgamma,
                                  fke_tensor *dbeta)
{
    const char *op = "layernorm backward";
    FKE_TRY(check(e, op, x, gamma, mean, rstd));
    FKE_TRY(fke_expect_like(e, op, "dy", dy, x));
    if (dx) FKE_TRY(fke_expect_like(e, op, "dx", dx, x));
    if (dgamma) FKE_EXPECT(e, op, "dgamma", dgamma, x->shape[1]);
    if (dbeta) FKE_EXPECT(e, op, "dbeta", dbeta, x->shape[1]);
    int N = x->shape[0], C = x->shape[1];
    const fke_real *g = gamma->data;
    /* parameter gradients: rows in order, so the sums are the same every run */
    for (int n = 0; n < N && (dgamma || dbeta); n++) {
        const fke_real *a = x->data + (size_t)n * C, *d = dy->data + (size_t)n * C;
        double mu = mean->data[n], r = rstd->data[n];
        for (int c = 0; c < C; c++) {
            if (dgamma) dgamma->data[c] += (fke_real)(d[c] * (a[c] - mu) * r);
            if (dbeta) dbeta->data[c] += d[c];
        }
    }
    if (!dx) return FKE_OK;
    /* dx = rstd * (g dy - mean(g dy) - xhat * mean(g dy xhat)) */
#pragma omp parallel for schedule(static) if (N * C > 32768)
    for (int n = 0; n < N; n++) {
        const fke_real *a = x->data + (size_t)n * C, *d = dy->data + (size_t)n * C;
        fke_real *o = dx->data + (size_t)n * C;
        double mu = mean->data[n], r = rstd->data[n], s1 = 0, s2 = 0;
        for (int c = 0; c < C; c++) {
            double gd = (double)g[c] * d[c];
            s1 += gd;
            s2 += gd * (a[c] - mu) * r;
        }
        s1 /= C;
        s2 /= C;
        for (int c = 0; c < C; c++)
            o[c] += (fke_real)(r * ((double)g[c] * d[c] - s1 - (a[c] - mu) * r * s2));
    }
    return FKE_OK;
}
