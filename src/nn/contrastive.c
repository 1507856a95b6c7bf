/* contrastive.c - see contrastive.h. */
#include "nn/contrastive.h"

#include <cblas.h>
#include <math.h>

#define NORM_EPS 1e-12

fke_status fke_l2norm_forward(fke_err *e, const fke_tensor *x, fke_tensor *norm,
                              fke_tensor *y)
{
    FKE_EXPECT(e, "l2norm", "x", x, -1, -1);
    FKE_EXPECT(e, "l2norm", "norm", norm, x->shape[0]);
    FKE_TRY(fke_expect_like(e, "l2norm", "y", y, x));
    int N = x->shape[0], D = x->shape[1];
    for (int n = 0; n < N; n++) {
        const fke_real *a = x->data + (size_t)n * D;
        double s = 0;
        for (int d = 0; d < D; d++) s += (double)a[d] * a[d];
        double r = sqrt(s);
        norm->data[n] = (fke_real)r;
        double inv = 1.0 / (r > NORM_EPS ? r : NORM_EPS);
        for (int d = 0; d < D; d++) y->data[(size_t)n * D + d] = (fke_real)(a[d] * inv);
    }
    return FKE_OK;
}

fke_status fke_l2norm_backward(fke_err *e, const fke_tensor *y, const fke_tensor *norm,
                               const fke_tensor *dy, fke_tensor *dx)
{
    const char *op = "l2norm backward";
    FKE_EXPECT(e, op, "y", y, -1, -1);
    FKE_EXPECT(e, op, "norm", norm, y->shape[0]);
    FKE_TRY(fke_expect_like(e, op, "dy", dy, y));
    FKE_TRY(fke_expect_like(e, op, "dx", dx, y));
    int N = y->shape[0], D = y->shape[1];
    for (int n = 0; n < N; n++) {
        const fke_real *u = y->data + (size_t)n * D, *g = dy->data + (size_t)n * D;
        double r = norm->data[n], dot = 0;
        if (!(r > NORM_EPS)) { /* the clamped branch: y = x / eps, a plain scaling */
            for (int d = 0; d < D; d++) dx->data[(size_t)n * D + d] += (fke_real)(g[d] / NORM_EPS);
            continue;
        }
        for (int d = 0; d < D; d++) dot += (double)u[d] * g[d];
        for (int d = 0; d < D; d++)
            dx->data[(size_t)n * D + d] += (fke_real)((g[d] - u[d] * dot) / r);
    }
    return FKE_OK;
}

static fke_status sim_check(fke_err *e, const char *op, const fke_tensor *a,
                            const fke_tensor *b, const fke_tensor *t, const char *lname,
                            const fke_tensor *logits)
{
    FKE_EXPECT(e, op, "a", a, -1, -1);
    FKE_EXPECT(e, op, "b", b, -1, a->shape[1]);
    FKE_EXPECT(e, op, "logit_scale", t, 1);
    FKE_EXPECT(e, op, lname, logits, a->shape[0], b->shape[0]);
    return FKE_OK;
}

fke_status fke_similarity_forward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                                  const fke_tensor *t, fke_tensor *logits)
{
    FKE_TRY(sim_check(e, "similarity", a, b, t, "logits", logits));
    int N = a->shape[0], M = b->shape[0], D = a->shape[1];
    double s = exp((double)t->data[0]);
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, D, (fke_real)s, a->data, D,
             b->data, D, 0, logits->data, M);
    return FKE_OK;
}

fke_status fke_similarity_backward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                                   const fke_tensor *t, const fke_tensor *logits,
                                   const fke_tensor *dlogits, fke_tensor *da, fke_tensor *db,
                                   fke_tensor *dt)
{
    const char *op = "similarity backward";
    FKE_TRY(sim_check(e, op, a, b, t, "logits", logits));
    FKE_TRY(fke_expect_like(e, op, "dlogits", dlogits, logits));
    int N = a->shape[0], M = b->shape[0], D = a->shape[1];
    fke_real s = (fke_real)exp((double)t->data[0]);
    if (da) {
        FKE_TRY(fke_expect_like(e, op, "da", da, a));
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, M, s, dlogits->data, M,
                 b->data, D, 1, da->data, D);
    }
    if (db) {
        FKE_TRY(fke_expect_like(e, op, "db", db, b));
        FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, M, D, N, s, dlogits->data, M,
                 a->data, D, 1, db->data, D);
    }
    if (dt) {
        FKE_EXPECT(e, op, "dlogit_scale", dt, 1);
        double acc = 0;
        size_t n = (size_t)N * M;
        for (size_t i = 0; i < n; i++) acc += (double)dlogits->data[i] * logits->data[i];
        dt->data[0] += (fke_real)acc;
    }
    return FKE_OK;
}

/* log-sum-exp of row i (by = 0) or column i (by = 1) of the (N, N) matrix z */
static double lse_line(const fke_real *z, int N, int i, int by)
{
    double mx = -INFINITY, s = 0;
    for (int k = 0; k < N; k++) {
        double v = by ? z[(size_t)k * N + i] : z[(size_t)i * N + k];
        if (v > mx) mx = v;
    }
    for (int k = 0; k < N; k++) s += exp((by ? z[(size_t)k * N + i] : z[(size_t)i * N + k]) - mx);
    return mx + log(s);
}

static fke_status nce_check(fke_err *e, const char *op, const fke_tensor *logits)
{
    FKE_EXPECT(e, op, "logits", logits, -1, -1);
    if (logits->shape[0] != logits->shape[1])
        return fke_fail(e, FKE_ERR_SHAPE, "%s: logits (%d, %d) must be square (pairs on the "
                        "diagonal)", op, logits->shape[0], logits->shape[1]);
    return FKE_OK;
}

fke_status fke_infonce_forward(fke_err *e, const fke_tensor *logits, double *loss,
                               double *acc)
{
    FKE_TRY(nce_check(e, "infonce", logits));
    int N = logits->shape[0];
    const fke_real *z = logits->data;
    double s = 0;
    int hit[2] = {0, 0};
    for (int i = 0; i < N; i++) {
        double zii = z[(size_t)i * N + i];
        s += 2 * zii - lse_line(z, N, i, 0) - lse_line(z, N, i, 1);
        int best[2] = {1, 1};
        for (int k = 0; k < N; k++) {
            if (k == i) continue;
            if (z[(size_t)i * N + k] >= zii) best[0] = 0;
            if (z[(size_t)k * N + i] >= zii) best[1] = 0;
        }
        hit[0] += best[0];
        hit[1] += best[1];
    }
    *loss = -0.5 * s / N;
    if (acc) {
        acc[0] = (double)hit[0] / N;
        acc[1] = (double)hit[1] / N;
    }
    if (!isfinite(*loss)) return fke_fail(e, FKE_ERR_NUMERIC, "infonce: loss is %g", *loss);
    return FKE_OK;
}

fke_status fke_infonce_backward(fke_err *e, const fke_tensor *logits, double scale,
                                fke_tensor *dlogits)
{
    FKE_TRY(nce_check(e, "infonce backward", logits));
    FKE_TRY(fke_expect_like(e, "infonce backward", "dlogits", dlogits, logits));
    int N = logits->shape[0];
    const fke_real *z = logits->data;
    double c = scale * 0.5 / N;
    for (int i = 0; i < N; i++) {
        double lr = lse_line(z, N, i, 0);
        for (int k = 0; k < N; k++)
            dlogits->data[(size_t)i * N + k] +=
                (fke_real)(c * (exp(z[(size_t)i * N + k] - lr) - (i == k)));
    }
    for (int j = 0; j < N; j++) {
        double lc = lse_line(z, N, j, 1);
        for (int k = 0; k < N; k++)
            dlogits->data[(size_t)k * N + j] +=
                (fke_real)(c * (exp(z[(size_t)k * N + j] - lc) - (k == j)));
    }
    return FKE_OK;
}

fke_status fke_milmax_forward(fke_err *e, const fke_tensor *x, const int32_t *owner,
                              fke_tensor *out, int32_t *arg)
{
    FKE_EXPECT(e, "milmax", "x", x, -1, -1);
    FKE_EXPECT(e, "milmax", "out", out, -1, x->shape[1]);
    int R = x->shape[0], M = x->shape[1], N = out->shape[0];
    for (size_t i = 0; i < (size_t)N * M; i++) arg[i] = -1;
    for (int r = 0; r < R; r++) {
        int n = owner[r];
        if (n < -1 || n >= N)
            return fke_fail(e, FKE_ERR_ARG, "milmax: row %d belongs to %d, outside -1..%d", r, n,
                            N - 1);
        if (n < 0) continue;
        const fke_real *xr = x->data + (size_t)r * M;
        fke_real *o = out->data + (size_t)n * M;
        int32_t *a = arg + (size_t)n * M;
        for (int m = 0; m < M; m++)
            if (a[m] < 0 || xr[m] > o[m]) o[m] = xr[m], a[m] = r;
    }
    for (int n = 0; n < N; n++)
        if (arg[(size_t)n * M] < 0 && M > 0)
            return fke_fail(e, FKE_ERR_ARG, "milmax: output row %d has no instance", n);
    return FKE_OK;
}

fke_status fke_milmax_backward(fke_err *e, const int32_t *arg, const fke_tensor *dout,
                               fke_tensor *dx)
{
    FKE_EXPECT(e, "milmax backward", "dout", dout, -1, -1);
    FKE_EXPECT(e, "milmax backward", "dx", dx, -1, dout->shape[1]);
    int N = dout->shape[0], M = dout->shape[1], R = dx->shape[0];
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            int r = arg[(size_t)n * M + m];
            if (r < 0 || r >= R)
                return fke_fail(e, FKE_ERR_ARG, "milmax backward: row %d of %d", r, R);
            dx->data[(size_t)r * M + m] += dout->data[(size_t)n * M + m];
        }
    return FKE_OK;
}
