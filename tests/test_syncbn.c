/* test_syncbn.c - synchronised batch norm (nn/batchnorm.h,
 * fke_batchnorm_forward_sync / _backward_sync, config sync_bn) without MPI.
 *
 * A "mirror" reducer doubles every sum: it is what two processes holding the
 * same batch x would get. Sync batch norm on x with it must then equal the
 * plain (gradient-checked) batch norm on the batch [x ; x] of twice the
 * size: the output, the running statistics (whose unbiased variance uses
 * the global count), dx, and dgamma/dbeta, of which each process holds its
 * own half. A reducer standing for another process with a different batch
 * must give the forward of the union of the two batches. An identity
 * reducer (one process) must give the plain op bit for bit; eval mode must
 * not call the reducer at all; a failing reducer is an error, not a silent
 * local result. tests/test_mpi.sh checks the whole model
 * across two real processes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/batchnorm.h"
#include "test.h"

typedef struct {
    double factor; /* 2: mirror, 1: identity */
    int calls, fail;
} fake;

static fke_status fake_sum(void *ctx, double *buf, int n, fke_err *e)
{
    fake *f = ctx;
    f->calls++;
    if (f->fail) return fke_fail(e, FKE_ERR_IO, "fake reducer: link down");
    for (int i = 0; i < n; i++) buf[i] *= f->factor;
    return FKE_OK;
}

/* The other process of two, holding xb (N, C, H, W) with other values (and
 * another mean) than this one's: the first sum adds its count-weighted
 * means and its count, the second its squares about the global mean that
 * the first sum gives (two passes in double over xb). What sync batch norm
 * merges must then be the statistics of [x ; xb]. */
typedef struct {
    const fke_tensor *xb;
    double gmean[8]; /* the global means after the first sum */
    int calls;
} shard;

static fke_status shard_sum(void *ctx, double *buf, int n, fke_err *e)
{
    (void)e;
    shard *s = ctx;
    const fke_tensor *xb = s->xb;
    int N = xb->shape[0], C = xb->shape[1];
    size_t HW = (size_t)xb->shape[2] * xb->shape[3];
    s->calls++;
    for (int c = 0; c < C && c < n; c++) {
        double sum = 0;
        for (int i = 0; i < N; i++)
            for (size_t j = 0; j < HW; j++) {
                double v = xb->data[((size_t)i * C + c) * HW + j];
                sum += s->calls == 1 ? v : (v - s->gmean[c]) * (v - s->gmean[c]);
            }
        buf[c] += sum;
    }
    if (s->calls == 1) {
        buf[C] += (double)N * HW;
        for (int c = 0; c < C; c++) s->gmean[c] = buf[c] / buf[C];
    }
    return FKE_OK;
}

static fke_tensor mk(int ndim, int a, int b, int c, int d)
{
    size_t n = (size_t)a * (ndim > 1 ? b : 1) * (ndim > 2 ? c : 1) * (ndim > 3 ? d : 1);
    fke_real *p = calloc(n, sizeof *p);
    return ndim == 1 ? fke_tensor_view(p, 1, a) : fke_tensor_view(p, 4, a, b, c, d);
}

static double maxrel(const fke_real *a, const fke_real *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > d) d = fabs(a[i] - b[i]);
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / (m > 0 ? m : 1);
}

int main(void)
{
    enum { N = 3, C = 5, H = 4, W = 3 };
    size_t half = (size_t)N * C * H * W;
    fke_err e = {{0}};
    fke_rng r;
    fke_rng_seed(&r, 7);
    /* x (N, C, H, W) and the doubled batch x2 = [x ; x] (2N, C, H, W) */
    fke_tensor x = mk(4, N, C, H, W), x2 = mk(4, 2 * N, C, H, W);
    fke_tensor dy = mk(4, N, C, H, W), dy2 = mk(4, 2 * N, C, H, W);
    for (size_t i = 0; i < half; i++) {
        x.data[i] = (fke_real)(3 * fke_rng_uniform(&r) - 1 + 0.3 * (i % 7));
        dy.data[i] = (fke_real)(2 * fke_rng_uniform(&r) - 1);
    }
    memcpy(x2.data, x.data, half * sizeof(fke_real));
    memcpy(x2.data + half, x.data, half * sizeof(fke_real));
    memcpy(dy2.data, dy.data, half * sizeof(fke_real));
    memcpy(dy2.data + half, dy.data, half * sizeof(fke_real));
    fke_tensor g = mk(1, C, 0, 0, 0), b = mk(1, C, 0, 0, 0);
    for (int c = 0; c < C; c++) g.data[c] = (fke_real)(0.5 + 0.2 * c), b.data[c] = (fke_real)(0.1 * c);
    /* [0]: sync on x, [1]: plain on x2, [2]: sync with the identity, [3]: plain on x */
    fke_tensor rm[4], rv[4], mu[4], is[4], dg[4], db[4];
    for (int k = 0; k < 4; k++) {
        rm[k] = mk(1, C, 0, 0, 0), rv[k] = mk(1, C, 0, 0, 0), mu[k] = mk(1, C, 0, 0, 0);
        is[k] = mk(1, C, 0, 0, 0), dg[k] = mk(1, C, 0, 0, 0), db[k] = mk(1, C, 0, 0, 0);
        for (int c = 0; c < C; c++) rm[k].data[c] = (fke_real)(0.2 * c), rv[k].data[c] = 1;
    }
    fke_tensor y = mk(4, N, C, H, W), y2 = mk(4, 2 * N, C, H, W), yi = mk(4, N, C, H, W),
               yp = mk(4, N, C, H, W);
    fke_tensor dx = mk(4, N, C, H, W), dx2 = mk(4, 2 * N, C, H, W), dxi = mk(4, N, C, H, W),
               dxp = mk(4, N, C, H, W);
    fake mirror = {2, 0, 0}, ident = {1, 0, 0};
    fke_reducer rmir = {fake_sum, &mirror}, rid = {fake_sum, &ident};

    /* forward in training */
    FKE_CHECK(fke_batchnorm_forward_sync(&e, &x, &g, &b, &rm[0], &rv[0], 1, &mu[0], &is[0], &y,
                                         &rmir) == FKE_OK, "%s", e.msg);
    FKE_CHECK(mirror.calls == 2, "the forward sums twice (means, then squares), not %d", mirror.calls);
    FKE_CHECK(fke_batchnorm_forward(&e, &x2, &g, &b, &rm[1], &rv[1], 1, &mu[1], &is[1], &y2) ==
              FKE_OK, "%s", e.msg);
    double ey = maxrel(y.data, y2.data, half), eyb = maxrel(y.data, y2.data + half, half);
    FKE_CHECK(ey < 1e-6 && eyb < 1e-6, "y: %g, %g against the doubled batch", ey, eyb);
    double erm = maxrel(rm[0].data, rm[1].data, C), erv = maxrel(rv[0].data, rv[1].data, C);
    FKE_CHECK(erm < 1e-6 && erv < 1e-6, "running mean %g, var %g (the global count's unbiased "
              "variance)", erm, erv);
    /* the local op would give another running variance: the check can tell */
    FKE_CHECK(fke_batchnorm_forward(&e, &x, &g, &b, &rm[3], &rv[3], 1, &mu[3], &is[3], &yp) ==
              FKE_OK, "%s", e.msg);
    FKE_CHECK(maxrel(rv[3].data, rv[1].data, C) > 1e-4, "the local running variance equals the "
              "global one (test cannot fail)");

    /* backward in training */
    FKE_CHECK(fke_batchnorm_backward_sync(&e, &x, &g, &mu[0], &is[0], &dy, 1, &dx, &dg[0], &db[0],
                                          &rmir) == FKE_OK, "%s", e.msg);
    FKE_CHECK(mirror.calls == 3, "the backward sums once, calls %d", mirror.calls);
    FKE_CHECK(fke_batchnorm_backward(&e, &x2, &g, &mu[1], &is[1], &dy2, 1, &dx2, &dg[1], &db[1]) ==
              FKE_OK, "%s", e.msg);
    double edx = maxrel(dx.data, dx2.data, half);
    FKE_CHECK(edx < 1e-5, "dx: %g against the doubled batch", edx);
    for (int c = 0; c < C; c++) { /* each process holds its half of dgamma, dbeta */
        FKE_CHECK(fabs(2 * dg[0].data[c] - dg[1].data[c]) <= 1e-5 * (1 + fabs(dg[1].data[c])),
                  "dgamma[%d]: 2 x %g, doubled batch %g", c, dg[0].data[c], dg[1].data[c]);
        FKE_CHECK(fabs(2 * db[0].data[c] - db[1].data[c]) <= 1e-5 * (1 + fabs(db[1].data[c])),
                  "dbeta[%d]: 2 x %g, doubled batch %g", c, db[0].data[c], db[1].data[c]);
    }
    /* the local backward's dx differs from the global one */
    FKE_CHECK(fke_batchnorm_backward(&e, &x, &g, &mu[3], &is[3], &dy, 1, &dxp, NULL, NULL) == FKE_OK,
              "%s", e.msg);

    /* one process: the identity reducer gives the plain op, bit for bit */
    FKE_CHECK(fke_batchnorm_forward_sync(&e, &x, &g, &b, &rm[2], &rv[2], 1, &mu[2], &is[2], &yi,
                                         &rid) == FKE_OK, "%s", e.msg);
    FKE_CHECK(!memcmp(yi.data, yp.data, half * sizeof(fke_real)) &&
              !memcmp(rv[2].data, rv[3].data, C * sizeof(fke_real)) &&
              !memcmp(rm[2].data, rm[3].data, C * sizeof(fke_real)), "identity reducer: y or the "
              "running statistics differ from the plain op");
    FKE_CHECK(fke_batchnorm_backward_sync(&e, &x, &g, &mu[2], &is[2], &dy, 1, &dxi, NULL, NULL,
                                          &rid) == FKE_OK, "%s", e.msg);
    FKE_CHECK(!memcmp(dxi.data, dxp.data, half * sizeof(fke_real)), "identity reducer: dx differs");

    /* eval mode: the running statistics, no sum */
    int before = mirror.calls;
    FKE_CHECK(fke_batchnorm_forward_sync(&e, &x, &g, &b, &rm[0], &rv[0], 0, &mu[0], &is[0], &y,
                                         &rmir) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_batchnorm_backward_sync(&e, &x, &g, &mu[0], &is[0], &dy, 0, &dx, NULL, NULL,
                                          &rmir) == FKE_OK, "%s", e.msg);
    FKE_CHECK(mirror.calls == before, "eval mode called the reducer");

    /* a reducer that fails: an error with its message, not a local result */
    fake down = {1, 0, 1};
    fke_reducer rdown = {fake_sum, &down};
    FKE_CHECK(fke_batchnorm_forward_sync(&e, &x, &g, &b, &rm[2], &rv[2], 1, &mu[2], &is[2], &yi,
                                         &rdown) == FKE_ERR_IO && strstr(e.msg, "link down"),
              "failing reducer: %s", e.msg);
    FKE_CHECK(fke_batchnorm_backward_sync(&e, &x, &g, &mu[2], &is[2], &dy, 1, &dxi, NULL, NULL,
                                          &rdown) == FKE_ERR_IO, "failing reducer in the backward");

    /* two processes whose batches differ (xb: another mean and spread): the
     * merge's squares about the global mean, which the mirror cannot tell */
    fke_tensor xb = mk(4, N, C, H, W), xab = mk(4, 2 * N, C, H, W), ys = mk(4, N, C, H, W),
               yab = mk(4, 2 * N, C, H, W);
    for (size_t i = 0; i < half; i++) xb.data[i] = (fke_real)(4 + 2 * x.data[(i * 7) % half]);
    memcpy(xab.data, x.data, half * sizeof(fke_real));
    memcpy(xab.data + half, xb.data, half * sizeof(fke_real));
    shard other = {&xb, {0}, 0};
    fke_reducer rsh = {shard_sum, &other};
    FKE_CHECK(fke_batchnorm_forward_sync(&e, &x, &g, &b, &rm[2], &rv[2], 1, &mu[2], &is[2], &ys,
                                         &rsh) == FKE_OK && other.calls == 2, "%s", e.msg);
    FKE_CHECK(fke_batchnorm_forward(&e, &xab, &g, &b, &rm[3], &rv[3], 1, &mu[3], &is[3], &yab) ==
              FKE_OK, "%s", e.msg);
    double esy = maxrel(ys.data, yab.data, half), esm = maxrel(mu[2].data, mu[3].data, C),
           esi = maxrel(is[2].data, is[3].data, C), esv = maxrel(rv[2].data, rv[3].data, C);
    FKE_CHECK(esy < 1e-6 && esm < 1e-6 && esi < 1e-6 && esv < 1e-6, "two different shards "
              "against their union: y %g, mean %g, inv_std %g, running var %g", esy, esm, esi,
              esv);
    free(xb.data), free(xab.data), free(ys.data), free(yab.data);

    fke_tensor *all[] = {&x, &x2, &dy, &dy2, &g, &b, &y, &y2, &yi, &yp, &dx, &dx2, &dxi, &dxp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
    for (int k = 0; k < 4; k++) {
        free(rm[k].data), free(rv[k].data), free(mu[k].data);
        free(is[k].data), free(dg[k].data), free(db[k].data);
    }
    return fke_test_summary("syncbn");
}
