/* pool.c - see pool.h. */
#include "nn/pool.h"

#define PAR_MIN 32768

int fke_maxpool2d_out_size(int in, int k, int s)
{
    if (k < 1 || s < 1 || in < k) return 0;
    return (in - k) / s + 1;
}

fke_status fke_maxpool2d_forward(fke_err *e, const fke_tensor *x, int k, int s,
                                 fke_tensor *y, int32_t *argmax)
{
    const char *op = "maxpool2d";
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    if (k < 1 || s < 1)
        return fke_fail(e, FKE_ERR_ARG, "maxpool2d: kernel %d and stride %d (need >= 1)", k, s);
    int Ho = fke_maxpool2d_out_size(H, k, s), Wo = fke_maxpool2d_out_size(W, k, s);
    if (Ho < 1 || Wo < 1)
        return fke_fail(e, FKE_ERR_SHAPE, "maxpool2d: kernel %d does not fit x (%d, %d, %d, %d)",
                        k, N, C, H, W);
    FKE_EXPECT(e, op, "y", y, N, C, Ho, Wo);
    if (!argmax) return fke_fail(e, FKE_ERR_ARG, "maxpool2d: argmax buffer is NULL");
    long planes = (long)N * C;
    size_t in_sz = (size_t)H * W, out_sz = (size_t)Ho * Wo;
#pragma omp parallel for schedule(static) if (planes * (long)in_sz > PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        const fke_real *xp = x->data + pl * in_sz; /* (H, W) */
        fke_real *yp = y->data + pl * out_sz;      /* (Ho, Wo) */
        int32_t *ap = argmax + pl * out_sz;        /* (Ho, Wo) */
        if (k == 2 && s == 2) { /* fke-small's pool: the four candidates unrolled */
            for (int oh = 0; oh < Ho; oh++) {
                const fke_real *r0 = xp + (size_t)2 * oh * W, *r1 = r0 + W;
                int base = 2 * oh * W;
                for (int ow = 0; ow < Wo; ow++) {
                    fke_real a = r0[2 * ow], b = r0[2 * ow + 1];
                    fke_real c = r1[2 * ow], d = r1[2 * ow + 1];
                    int i0 = base + 2 * ow, ib = b > a;
                    fke_real m = ib ? b : a;
                    int best = i0 + ib;
                    int ic = c > m;
                    m = ic ? c : m;
                    best = ic ? i0 + W : best;
                    int id = d > m;
                    m = id ? d : m;
                    best = id ? i0 + W + 1 : best;
                    yp[oh * Wo + ow] = m;
                    ap[oh * Wo + ow] = best;
                }
            }
            continue;
        }
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                int h0 = oh * s, w0 = ow * s, best = h0 * W + w0;
                fke_real m = xp[best];
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int idx = (h0 + i) * W + w0 + j;
                        fke_real v = xp[idx];
                        int gt = v > m; /* selects, not a branch: random data mispredicts */
                        m = gt ? v : m;
                        best = gt ? idx : best;
                    }
                yp[oh * Wo + ow] = m;
                ap[oh * Wo + ow] = best;
            }
    }
    return FKE_OK;
}

fke_status fke_maxpool2d_backward(fke_err *e, const fke_tensor *dy, const int32_t *argmax,
                                  fke_tensor *dx)
{
    const char *op = "maxpool2d backward";
    FKE_EXPECT(e, op, "dy", dy, -1, -1, -1, -1);
    FKE_EXPECT(e, op, "dx", dx, dy->shape[0], dy->shape[1], -1, -1);
    if (!argmax) return fke_fail(e, FKE_ERR_ARG, "maxpool2d backward: argmax buffer is NULL");
    long planes = (long)dy->shape[0] * dy->shape[1];
    size_t in_sz = (size_t)dx->shape[2] * dx->shape[3];
    size_t out_sz = (size_t)dy->shape[2] * dy->shape[3];
    if (out_sz > in_sz)
        return fke_fail(e, FKE_ERR_SHAPE, "maxpool2d backward: dy planes (%d, %d) larger than "
                        "dx planes (%d, %d)", dy->shape[2], dy->shape[3], dx->shape[2],
                        dx->shape[3]);
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (planes * (long)in_sz > PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        const fke_real *d = dy->data + pl * out_sz;
        const int32_t *ap = argmax + pl * out_sz;
        fke_real *g = dx->data + pl * in_sz;
        for (size_t i = 0; i < out_sz; i++) {
            if (ap[i] < 0 || (size_t)ap[i] >= in_sz) {
                bad = 1;
                continue;
            }
            g[ap[i]] += d[i];
        }
    }
    if (bad)
        return fke_fail(e, FKE_ERR_ARG, "maxpool2d backward: argmax holds an index outside the "
                        "(%d, %d) plane (not from the matching forward?)", dx->shape[2],
                        dx->shape[3]);
    return FKE_OK;
}

fke_status fke_avgpool_global_forward(fke_err *e, const fke_tensor *x, fke_tensor *y)
{
    const char *op = "avgpool_global";
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    FKE_EXPECT(e, op, "y", y, x->shape[0], x->shape[1]);
    long planes = (long)x->shape[0] * x->shape[1];
    size_t sz = (size_t)x->shape[2] * x->shape[3];
#pragma omp parallel for schedule(static) if (planes * (long)sz > PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        const fke_real *p = x->data + pl * sz;
        double s = 0;
        for (size_t i = 0; i < sz; i++) s += p[i];
        y->data[pl] = (fke_real)(s / (double)sz);
    }
    return FKE_OK;
}

fke_status fke_avgpool_global_backward(fke_err *e, const fke_tensor *dy, fke_tensor *dx)
{
    const char *op = "avgpool_global backward";
    FKE_EXPECT(e, op, "dy", dy, -1, -1);
    FKE_EXPECT(e, op, "dx", dx, dy->shape[0], dy->shape[1], -1, -1);
    long planes = (long)dx->shape[0] * dx->shape[1];
    size_t sz = (size_t)dx->shape[2] * dx->shape[3];
#pragma omp parallel for schedule(static) if (planes * (long)sz > PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        fke_real v = (fke_real)(dy->data[pl] / (double)sz), *g = dx->data + pl * sz;
        for (size_t i = 0; i < sz; i++) g[i] += v;
    }
    return FKE_OK;
}
