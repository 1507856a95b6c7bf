/* attention.c - see attention.h. */
#include "nn/attention.h"

#include <math.h>

static fke_status check(fke_err *e, const char *op, const fke_tensor *qkv, int H,
                        const fke_tensor *att, const char *yname, const fke_tensor *y)
{
    FKE_EXPECT(e, op, "qkv", qkv, -1, -1, -1);
    int B = qkv->shape[0], T = qkv->shape[1], E3 = qkv->shape[2];
    if (H < 1 || E3 % (3 * H) != 0)
        return fke_fail(e, FKE_ERR_SHAPE, "%s: qkv width %d is not 3 * E with E divisible "
                        "by %d heads", op, E3, H);
    FKE_EXPECT(e, op, "att", att, B, H, T, T);
    FKE_EXPECT(e, op, yname, y, B, T, E3 / 3);
    return FKE_OK;
}

fke_status fke_attention_forward(fke_err *e, const fke_tensor *qkv, int H, fke_tensor *att,
                                 fke_tensor *y)
{
    FKE_TRY(check(e, "attention", qkv, H, att, "y", y));
    int B = qkv->shape[0], T = qkv->shape[1], E = qkv->shape[2] / 3, dh = E / H;
    double scale = 1.0 / sqrt((double)dh);
#pragma omp parallel for collapse(2) schedule(static) if (B * H * T * T * dh > 65536)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const fke_real *base = qkv->data + (size_t)b * T * 3 * E;
            fke_real *A = att->data + ((size_t)b * H + h) * T * T;
            for (int t = 0; t < T; t++) {
                const fke_real *q = base + (size_t)t * 3 * E + h * dh;
                fke_real *row = A + (size_t)t * T;
                double mx = -INFINITY;
                for (int s = 0; s < T; s++) {
                    const fke_real *k = base + (size_t)s * 3 * E + E + h * dh;
                    double d = 0;
                    for (int j = 0; j < dh; j++) d += (double)q[j] * k[j];
                    row[s] = (fke_real)(d * scale);
                    if (row[s] > mx) mx = row[s];
                }
                double z = 0;
                for (int s = 0; s < T; s++) z += exp(row[s] - mx);
                for (int s = 0; s < T; s++) row[s] = (fke_real)(exp(row[s] - mx) / z);
                fke_real *o = y->data + ((size_t)b * T + t) * E + h * dh;
                for (int j = 0; j < dh; j++) {
                    double acc = 0;
                    for (int s = 0; s < T; s++)
                        acc += (double)row[s] * base[(size_t)s * 3 * E + 2 * E + h * dh + j];
                    o[j] = (fke_real)acc;
                }
            }
        }
    return FKE_OK;
}

/* dp[t, s] = dy_t . v_s, the gradient of the probability att[t, s] */
static double dprob(const fke_real *dyt, const fke_real *v, int dh)
{
    double d = 0;
    for (int j = 0; j < dh; j++) d += (double)dyt[j] * v[j];
    return d;
}

fke_status fke_attention_backward(fke_err *e, const fke_tensor *qkv, int H,
                                  const fke_tensor *att, const fke_tensor *dy,
                                  fke_tensor *dqkv)
{
    const char *op = "attention backward";
    FKE_TRY(check(e, op, qkv, H, att, "dy", dy));
    FKE_TRY(fke_expect_like(e, op, "dqkv", dqkv, qkv));
    int B = qkv->shape[0], T = qkv->shape[1], E = qkv->shape[2] / 3, dh = E / H;
    double scale = 1.0 / sqrt((double)dh);
    /* each (b, h) writes only its own rows and columns of dqkv */
#pragma omp parallel for collapse(2) schedule(static) if (B * H * T * T * dh > 65536)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const fke_real *base = qkv->data + (size_t)b * T * 3 * E;
            fke_real *dbase = dqkv->data + (size_t)b * T * 3 * E;
            const fke_real *A = att->data + ((size_t)b * H + h) * T * T;
            const fke_real *dyb = dy->data + (size_t)b * T * E + h * dh;
            for (int t = 0; t < T; t++) {
                const fke_real *row = A + (size_t)t * T, *dyt = dyb + (size_t)t * E;
                const fke_real *q = base + (size_t)t * 3 * E + h * dh;
                fke_real *dq = dbase + (size_t)t * 3 * E + h * dh;
                /* softmax backward: ds = p * (dp - sum_s p dp) */
                double pdp = 0;
                for (int s = 0; s < T; s++)
                    pdp += row[s] * dprob(dyt, base + (size_t)s * 3 * E + 2 * E + h * dh, dh);
                for (int s = 0; s < T; s++) {
                    const fke_real *ks = base + (size_t)s * 3 * E + E + h * dh;
                    const fke_real *vs = ks + E;
                    fke_real *dk = dbase + (size_t)s * 3 * E + E + h * dh, *dv = dk + E;
                    double ds = row[s] * (dprob(dyt, vs, dh) - pdp) * scale;
                    for (int j = 0; j < dh; j++) {
                        dq[j] += (fke_real)(ds * ks[j]);
                        dk[j] += (fke_real)(ds * q[j]);
                        dv[j] += (fke_real)(row[s] * dyt[j]);
                    }
                }
            }
        }
    return FKE_OK;
}
