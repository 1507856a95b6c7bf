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
#include <string.h>
#if !defined(FKE_DOUBLE) && defined(__SSE2__)
#include <emmintrin.h>
#define BN_SSE2 1 /* float build on x86-64: the pooled loops in SSE2 */
#endif

static fke_status check_c(fke_err *e, const char *op, const char *name,
                          const fke_tensor *t, int C)
{
    FKE_EXPECT(e, op, name, t, C);
    return FKE_OK;
}

/* The running statistics of channel c moved towards mean mu and the sum of
 * squares ss over M values (unbiased variance). */
static void update_running(fke_tensor *running_mean, fke_tensor *running_var, int c, double mu,
                           double ss, double M)
{
    double m = FKE_BN_MOMENTUM;
    running_mean->data[c] = (fke_real)((1 - m) * running_mean->data[c] + m * mu);
    running_var->data[c] = (fke_real)((1 - m) * running_var->data[c] + m * ss / (M - 1));
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define BN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BN_CLONES
#endif

/* One pass (batchnorm.h). Each plane's values are shifted by its first, K:
 * s = sum (x - K) and q = sum (x - K)^2 in double over BN_ACC interleaved
 * accumulators (the order is the code's, so every target clone and vector
 * width gives the same bits; -std=c11 contracts no multiply-add); the
 * plane's mean K + s/m and squares about it q - s^2/m are then merged into
 * the channel's in plane order by Chan, Golub and LeVeque's update. The
 * shift keeps s/m of the order of the spread rather than of the mean, which
 * is what E[x^2] - E[x]^2 loses all its digits to. */
#define BN_ACC 8
#define BN_FAST_MAXC 1024 /* the most channels the memory-order loops keep sums for */
BN_CLONES static void plane_moments(const fke_real *p, size_t HW, double *mp_out,
                                    double *qp_out)
{
    size_t m8 = HW / BN_ACC * BN_ACC;
    double K = p[0], sa[BN_ACC] = {0}, qa[BN_ACC] = {0};
    for (size_t i = 0; i < m8; i += BN_ACC)
        for (int j = 0; j < BN_ACC; j++) {
            double d = p[i + j] - K;
            sa[j] += d;
            qa[j] += d * d;
        }
    for (size_t i = m8; i < HW; i++) {
        double d = p[i] - K;
        sa[i - m8] += d;
        qa[i - m8] += d * d;
    }
    double s = 0, q = 0;
    for (int j = 0; j < BN_ACC; j++) s += sa[j], q += qa[j];
    double m = (double)HW;
    *mp_out = K + s / m;
    *qp_out = q - s * (s / m);
}

/* Chan et al.'s merge of a plane's mean mp and squares qp over m values into
 * a channel's mean *mu and squares *m2 over cnt values. */
static inline void merge_moments(double *mu, double *m2, double cnt, double m, double mp,
                                 double qp)
{
    double delta = mp - *mu, tot = cnt + m;
    *mu += delta * (m / tot);
    *m2 += qp + delta * delta * (cnt * m / tot);
}

void fke_batchnorm_moments(const fke_tensor *x, int c, double *mean, double *ss)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double mu = 0, m2 = 0;
    for (int n = 0; n < N && HW; n++) {
        double mp, qp;
        plane_moments(x->data + ((size_t)n * C + c) * HW, HW, &mp, &qp);
        merge_moments(&mu, &m2, (double)n * (double)HW, (double)HW, mp, qp);
    }
    *mean = mu;
    *ss = m2;
}

/* The mean and 1 / sqrt(var + eps) of channel c of x (N, C, H, W): the batch's
 * (one pass in double, running statistics updated) or the running ones. */
static void channel_stats(const fke_tensor *x, int c, int train, fke_tensor *running_mean,
                          fke_tensor *running_var, double *mu_out, double *is_out)
{
    size_t M = (size_t)x->shape[0] * x->shape[2] * x->shape[3];
    double mu, var;
    if (train) {
        double ss;
        fke_batchnorm_moments(x, c, &mu, &ss);
        var = ss / (double)M;
        update_running(running_mean, running_var, c, mu, ss, (double)M);
    } else {
        mu = running_mean->data[c];
        var = running_var->data[c];
    }
    *mu_out = mu;
    *is_out = 1.0 / sqrt(var + FKE_BN_EPS);
}

/* sync_bn: the statistics of every channel over all processes' values, the
 * running statistics updated with the global count. One pass over x
 * (fke_batchnorm_moments) and two sums: of the counts and the count-weighted
 * means, then of each process's squares about the global mean (its own
 * squares plus its count times its mean's distance squared, Chan et al.'s
 * merge). When this process holds every value (one process), the global
 * mean is its own, so the result is the local op's bit for bit. mu, is hold
 * C values. Collective. */
static fke_status sync_stats(fke_err *e, const char *op, const fke_tensor *x,
                             fke_tensor *running_mean, fke_tensor *running_var,
                             const fke_reducer *sync, double *mu, double *is)
{
    int C = x->shape[1];
    size_t M = (size_t)x->shape[0] * x->shape[2] * x->shape[3];
    if (C > FKE_BN_SYNC_MAXC)
        return fke_fail(e, FKE_ERR_SHAPE, "%s (sync_bn): %d channels, at most %d", op, C,
                        FKE_BN_SYNC_MAXC);
    double buf[FKE_BN_SYNC_MAXC + 1];
    /* mu, is: this process's mean and squares about it, until the merge */
#pragma omp parallel for schedule(static) if (M * C > 32768)
    for (int c = 0; c < C; c++) fke_batchnorm_moments(x, c, &mu[c], &is[c]);
    for (int c = 0; c < C; c++) buf[c] = mu[c] * (double)M;
    buf[C] = (double)M;
    FKE_TRY(sync->sum(sync->ctx, buf, C + 1, e));
    double Mg = buf[C];
    if (Mg < 2)
        return fke_fail(e, FKE_ERR_SHAPE, "%s (sync_bn): training needs more than one value per "
                        "channel over all processes, there are %.0f", op, Mg);
    for (int c = 0; c < C; c++) {
        double g = Mg == (double)M ? mu[c] : buf[c] / Mg, d = mu[c] - g;
        buf[c] = is[c] + (double)M * d * d;
        mu[c] = g;
    }
    FKE_TRY(sync->sum(sync->ctx, buf, C, e));
    for (int c = 0; c < C; c++) {
        update_running(running_mean, running_var, c, mu[c], buf[c], Mg);
        is[c] = 1.0 / sqrt(buf[c] / Mg + FKE_BN_EPS);
    }
    return FKE_OK;
}

/* Channel c's statistics (the global ones gmu, gis when given, else
 * channel_stats) into mean and inv_std, and the affine map y = x * a + bias
 * they fold into with gamma and beta. */
static void channel_fold(const fke_tensor *x, int c, int train, const double *gmu,
                         const double *gis, const fke_tensor *gamma, const fke_tensor *beta,
                         fke_tensor *running_mean, fke_tensor *running_var, fke_tensor *mean,
                         fke_tensor *inv_std, fke_real *a, fke_real *bias)
{
    double mu, is;
    if (gmu)
        mu = gmu[c], is = gis[c];
    else
        channel_stats(x, c, train, running_mean, running_var, &mu, &is);
    mean->data[c] = (fke_real)mu;
    inv_std->data[c] = (fke_real)is;
    *a = (fke_real)(gamma->data[c] * is);
    *bias = (fke_real)(beta->data[c] - mu * gamma->data[c] * is);
}

/* The checks shared by both forwards; y is checked by the caller. */
static fke_status check_forward(fke_err *e, const char *op, const fke_tensor *x,
                                const fke_tensor *gamma, const fke_tensor *beta,
                                const fke_tensor *running_mean, const fke_tensor *running_var,
                                int train, const fke_tensor *mean, const fke_tensor *inv_std)
{
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    int N = x->shape[0], C = x->shape[1];
    size_t M = (size_t)N * x->shape[2] * x->shape[3];
    FKE_TRY(check_c(e, op, "gamma", gamma, C));
    FKE_TRY(check_c(e, op, "beta", beta, C));
    FKE_TRY(check_c(e, op, "running_mean", running_mean, C));
    FKE_TRY(check_c(e, op, "running_var", running_var, C));
    FKE_TRY(check_c(e, op, "mean", mean, C));
    FKE_TRY(check_c(e, op, "inv_std", inv_std, C));
    if (train && M < 2)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "%s: training needs more than one value per channel, x is "
                        "(%d, %d, %d, %d)", op, N, C, x->shape[2], x->shape[3]);
    return FKE_OK;
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
    FKE_TRY(check_forward(e, op, x, gamma, beta, running_mean, running_var, train, mean, inv_std));
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    FKE_EXPECT(e, op, "y", y, N, C, x->shape[2], x->shape[3]);
    int gs = sync && train; /* global statistics */
    double smu[FKE_BN_SYNC_MAXC], sis[FKE_BN_SYNC_MAXC];
    if (gs) FKE_TRY(sync_stats(e, op, x, running_mean, running_var, sync, smu, sis));

#pragma omp parallel for schedule(static) if (M * C > 32768)
    for (int c = 0; c < C; c++) {
        fke_real a, bias; /* y = x * a + bias, the affine map folded per channel */
        channel_fold(x, c, train, gs ? smu : NULL, sis, gamma, beta, running_mean, running_var,
                     mean, inv_std, &a, &bias);
        for (int n = 0; n < N; n++) {
            const fke_real *p = x->data + ((size_t)n * C + c) * HW;
            fke_real *q = y->data + ((size_t)n * C + c) * HW;
#pragma omp simd
            for (size_t i = 0; i < HW; i++) q[i] = p[i] * a + bias;
        }
    }
    return FKE_OK;
}

/* dx = kk * dy + c0 + c1 * x for one channel: the training terms folded, from
 * sdy = sum dy and sdyx = sum dy * xhat over its M values. */
static void fold_dx(double gamma, double mu, double is, double sdy, double sdyx, double M,
                    int train, fke_real *kk, fke_real *c0, fke_real *c1)
{
    double k = gamma * is, b0 = 0, b1 = 0;
    if (train) {
        double u = sdy / M, v = sdyx / M; /* dx = k (dy - u - xhat v) */
        b1 = -k * v * is;
        b0 = -k * u + k * v * is * mu;
    }
    *kk = (fke_real)k, *c0 = (fke_real)b0, *c1 = (fke_real)b1;
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

/* dx of channel c (added) from the sums sdy, sdyx over M values */
static void chan_dx(const fke_tensor *x, const fke_tensor *gamma, const fke_tensor *dy, int train,
                    int c, double mu, double is, double sdy, double sdyx, double M, fke_tensor *dx)
{
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    fke_real kk, c0, c1;
    fold_dx(gamma->data[c], mu, is, sdy, sdyx, M, train, &kk, &c0, &c1);
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
    if (sync && train) {
        if (C > FKE_BN_SYNC_MAXC)
            return fke_fail(e, FKE_ERR_SHAPE, "%s (sync_bn): %d channels, at most %d", op, C,
                            FKE_BN_SYNC_MAXC);
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

/* ---- batch norm + ReLU (+ 2x2 max-pool) in one pass ----------------------- */

/* The window offset of pool code j (0..3: row-major in the 2x2 window). */
static inline size_t win_off(int j, int W) { return (size_t)(j >> 1) * W + (j & 1); }

/* One output row of the 2x2 pool: x rows r0 = x, r1 = x + W (2 Wo values
 * each) through y = relu?(x a + bias), their maximum into y (Wo) and its
 * position into idx (Wo). Comparisons as fke_maxpool2d_forward: the first of
 * equal maxima; max(v, 0) as fke_relu_forward (0 for NaN and -0). */
static void pool_row_forward(const fke_real *r0, int W, int Wo, fke_real a, fke_real bias,
                             int relu, fke_real *y, uint8_t *idx)
{
    const fke_real *r1 = r0 + W;
    int ow = 0;
#ifdef BN_SSE2
    const __m128 A = _mm_set1_ps(a), Bv = _mm_set1_ps(bias), Z = _mm_setzero_ps();
    const __m128i one = _mm_set1_epi32(1), two = _mm_set1_epi32(2), three = _mm_set1_epi32(3);
    for (; ow + 4 <= Wo; ow += 4) {
        __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), a1 = _mm_loadu_ps(r0 + 2 * ow + 4);
        __m128 b0 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
        __m128 v0 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)); /* even columns */
        __m128 v1 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)); /* odd */
        __m128 v2 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));
        __m128 v3 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
        v0 = _mm_add_ps(_mm_mul_ps(v0, A), Bv), v1 = _mm_add_ps(_mm_mul_ps(v1, A), Bv);
        v2 = _mm_add_ps(_mm_mul_ps(v2, A), Bv), v3 = _mm_add_ps(_mm_mul_ps(v3, A), Bv);
        if (relu) {
            v0 = _mm_max_ps(v0, Z), v1 = _mm_max_ps(v1, Z);
            v2 = _mm_max_ps(v2, Z), v3 = _mm_max_ps(v3, Z);
        }
        __m128 g = _mm_cmpgt_ps(v1, v0);
        __m128 m = _mm_or_ps(_mm_and_ps(g, v1), _mm_andnot_ps(g, v0));
        __m128i j = _mm_and_si128(_mm_castps_si128(g), one);
        g = _mm_cmpgt_ps(v2, m);
        m = _mm_or_ps(_mm_and_ps(g, v2), _mm_andnot_ps(g, m));
        j = _mm_or_si128(_mm_and_si128(_mm_castps_si128(g), two),
                         _mm_andnot_si128(_mm_castps_si128(g), j));
        g = _mm_cmpgt_ps(v3, m);
        m = _mm_or_ps(_mm_and_ps(g, v3), _mm_andnot_ps(g, m));
        j = _mm_or_si128(_mm_and_si128(_mm_castps_si128(g), three),
                         _mm_andnot_si128(_mm_castps_si128(g), j));
        _mm_storeu_ps(y + ow, m);
        __m128i j8 = _mm_packus_epi16(_mm_packs_epi32(j, j), _mm_setzero_si128());
        int w4 = _mm_cvtsi128_si32(j8);
        memcpy(idx + ow, &w4, 4);
    }
#endif
    for (; ow < Wo; ow++) {
        fke_real v[4] = {r0[2 * ow] * a + bias, r0[2 * ow + 1] * a + bias,
                         r1[2 * ow] * a + bias, r1[2 * ow + 1] * a + bias};
        int j = 0;
        for (int k = 0; k < 4; k++) {
            if (relu) v[k] = v[k] > 0 ? v[k] : 0;
            if (k && v[k] > v[j]) j = k;
        }
        y[ow] = v[j];
        idx[ow] = (uint8_t)j;
    }
}

#ifdef BN_SSE2
/* Four outputs of the 2x2 pool's backward: dy, masked by y > 0 under a
 * ReLU, and their four codes as 32-bit lanes in *codes. */
static inline __m128 pool_grad4(const fke_real *dy, const fke_real *y, const uint8_t *idx,
                                int relu, __m128i *codes)
{
    __m128 g = _mm_loadu_ps(dy);
    if (relu) g = _mm_and_ps(_mm_cmpgt_ps(_mm_loadu_ps(y), _mm_setzero_ps()), g);
    int w4;
    memcpy(&w4, idx, 4);
    __m128i z = _mm_setzero_si128();
    *codes = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w4), z), z);
    return g;
}
#endif

/* The gradient at the two x rows under one output row of the 2x2 pool:
 * q (rows q, q + W) = kk * g + c0 + c1 * x, where g is dy at the pool's
 * choice (masked by y > 0 under a ReLU) and 0 elsewhere. */
static void pool_row_backward(const fke_real *r0, int W, int Wo, const fke_real *dy,
                              const fke_real *y, const uint8_t *idx, int relu, fke_real kk,
                              fke_real c0, fke_real c1, fke_real *q0)
{
    const fke_real *r1 = r0 + W;
    fke_real *q1 = q0 + W;
    int ow = 0;
#ifdef BN_SSE2
    const __m128 K = _mm_set1_ps(kk), C0 = _mm_set1_ps(c0), C1 = _mm_set1_ps(c1);
    for (; ow + 4 <= Wo; ow += 4) {
        __m128i j;
        __m128 g = pool_grad4(dy + ow, y + ow, idx + ow, relu, &j);
        __m128 g0 = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(0))), g);
        __m128 g1 = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(1))), g);
        __m128 g2 = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(2))), g);
        __m128 g3 = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(3))), g);
        __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), a1 = _mm_loadu_ps(r0 + 2 * ow + 4);
        __m128 b0 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
        /* g0..g3 to the interleaved order of the x rows */
        __m128 e0 = _mm_unpacklo_ps(g0, g1), e1 = _mm_unpackhi_ps(g0, g1);
        __m128 f0 = _mm_unpacklo_ps(g2, g3), f1 = _mm_unpackhi_ps(g2, g3);
#define BN_Q(gv, xv) _mm_add_ps(_mm_add_ps(_mm_mul_ps(K, gv), C0), _mm_mul_ps(C1, xv))
        _mm_storeu_ps(q0 + 2 * ow, BN_Q(e0, a0));
        _mm_storeu_ps(q0 + 2 * ow + 4, BN_Q(e1, a1));
        _mm_storeu_ps(q1 + 2 * ow, BN_Q(f0, b0));
        _mm_storeu_ps(q1 + 2 * ow + 4, BN_Q(f1, b1));
#undef BN_Q
    }
#endif
    for (; ow < Wo; ow++) {
        fke_real v = dy[ow], g = relu ? (y[ow] > 0 ? v : 0) : v;
        int j = idx[ow];
        q0[2 * ow] = kk * (j == 0 ? g : 0) + c0 + c1 * r0[2 * ow];
        q0[2 * ow + 1] = kk * (j == 1 ? g : 0) + c0 + c1 * r0[2 * ow + 1];
        q1[2 * ow] = kk * (j == 2 ? g : 0) + c0 + c1 * r1[2 * ow];
        q1[2 * ow + 1] = kk * (j == 3 ? g : 0) + c0 + c1 * r1[2 * ow + 1];
    }
}

/* The backward's sums over one output row of the 2x2 pool: s0 += g, s1 +=
 * g * xhat at the pool's choice, g = dy (masked by y > 0 under a ReLU), over
 * the x rows r0, r0 + W under it; codes ir already checked (< 4). The x value
 * chosen is picked out of the window by the code in SSE2 (the rows are read
 * whole, as the forward reads them), the sums in double over two lanes of
 * four outputs each. */
static void pool_row_sums(const fke_real *r0, int W, int Wo, const fke_real *dy,
                          const fke_real *y, const uint8_t *ir, int relu, double mu, double is,
                          double *s0_out, double *s1_out)
{
    double s0 = 0, s1 = 0;
    int ow = 0;
#ifdef BN_SSE2
    const fke_real *r1 = r0 + W;
    const __m128d MU = _mm_set1_pd(mu), IS = _mm_set1_pd(is);
    __m128d a0 = _mm_setzero_pd(), a1 = a0, b0 = a0, b1 = a0; /* s0, s1: low, high pairs */
    for (; ow + 4 <= Wo; ow += 4) {
        __m128i j;
        __m128 g = pool_grad4(dy + ow, y + ow, ir + ow, relu, &j);
        __m128 p0 = _mm_loadu_ps(r0 + 2 * ow), p1 = _mm_loadu_ps(r0 + 2 * ow + 4);
        __m128 q0 = _mm_loadu_ps(r1 + 2 * ow), q1 = _mm_loadu_ps(r1 + 2 * ow + 4);
        __m128 v0 = _mm_shuffle_ps(p0, p1, _MM_SHUFFLE(2, 0, 2, 0)); /* code 0 */
        __m128 v1 = _mm_shuffle_ps(p0, p1, _MM_SHUFFLE(3, 1, 3, 1)); /* 1 */
        __m128 v2 = _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(2, 0, 2, 0)); /* 2 */
        __m128 v3 = _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(3, 1, 3, 1)); /* 3 */
        __m128 m1 = _mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(1)));
        __m128 m2 = _mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(2)));
        __m128 m3 = _mm_castsi128_ps(_mm_cmpeq_epi32(j, _mm_set1_epi32(3)));
        __m128 xs = _mm_or_ps(_mm_and_ps(m1, v1), _mm_andnot_ps(m1, v0));
        xs = _mm_or_ps(_mm_and_ps(m2, v2), _mm_andnot_ps(m2, xs));
        xs = _mm_or_ps(_mm_and_ps(m3, v3), _mm_andnot_ps(m3, xs));
        __m128d glo = _mm_cvtps_pd(g), ghi = _mm_cvtps_pd(_mm_movehl_ps(g, g));
        __m128d xlo = _mm_mul_pd(_mm_sub_pd(_mm_cvtps_pd(xs), MU), IS);
        __m128d xhi = _mm_mul_pd(_mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(xs, xs)), MU), IS);
        a0 = _mm_add_pd(a0, glo), a1 = _mm_add_pd(a1, ghi);
        b0 = _mm_add_pd(b0, _mm_mul_pd(glo, xlo)), b1 = _mm_add_pd(b1, _mm_mul_pd(ghi, xhi));
    }
    double t[4];
    _mm_storeu_pd(t, _mm_add_pd(a0, a1));
    _mm_storeu_pd(t + 2, _mm_add_pd(b0, b1));
    s0 = t[0] + t[1], s1 = t[2] + t[3];
#endif
    for (; ow < Wo; ow++) {
        fke_real v = dy[ow], g = relu && !(y[ow] > 0) ? 0 : v;
        double xv = r0[2 * ow + win_off(ir[ow], W)];
        s0 += g;
        s1 += g * ((xv - mu) * is);
    }
    *s0_out += s0;
    *s1_out += s1;
}

/* The pool of act: 0 none, 2 the 2x2 stride-2 fast path (even x), 1 any
 * other window (k x k, stride, padding excluded as -inf, as PyTorch's);
 * *Ho, *Wo the output side. */
static fke_status pool_geom(fke_err *e, const char *op, fke_bn_act act, int H, int W,
                            const void *idx, int *mode, int *Ho, int *Wo)
{
    int k = act.pool, s = act.stride ? act.stride : act.pool, p = act.pad;
    *mode = 0, *Ho = H, *Wo = W;
    if (!k) return FKE_OK;
    if (k < 1 || k > 15 || s < 1 || p < 0 || 2 * p > k)
        return fke_fail(e, FKE_ERR_ARG, "%s: pool %d stride %d pad %d (need a window of 1..15, "
                        "stride >= 1, 0 <= pad <= window / 2)", op, k, s, p);
    if (!idx) return fke_fail(e, FKE_ERR_ARG, "%s: a pool needs its index buffer", op);
    *Ho = (H + 2 * p - k) / s + 1, *Wo = (W + 2 * p - k) / s + 1;
    if (H + 2 * p < k || W + 2 * p < k)
        return fke_fail(e, FKE_ERR_SHAPE, "%s: pool %d does not fit a %dx%d plane", op, k, H, W);
    *mode = k == 2 && s == 2 && p == 0 && H % 2 == 0 && W % 2 == 0 ? 2 : 1;
    return FKE_OK;
}

/* One plane without a pool: y = relu?(x a + bias), the loop both
 * fke_batchnorm_act_forward and fke_batchnorm_act_apply run, so a rebuilt
 * output has the bits of the stored one. */
static void affine_plane(const fke_real *xp, size_t HW, fke_real a, fke_real bias, int relu,
                         fke_real *yp)
{
    if (relu) {
#pragma omp simd
        for (size_t i = 0; i < HW; i++) {
            fke_real v = xp[i] * a + bias;
            yp[i] = v > 0 ? v : 0;
        }
    } else {
#pragma omp simd
        for (size_t i = 0; i < HW; i++) yp[i] = xp[i] * a + bias;
    }
}

/* Any window, one plane: y (Ho, Wo) and its codes i * k + j. */
static void pool_plane_forward(const fke_real *xp, int H, int W, fke_bn_act act, int Ho, int Wo,
                               fke_real a, fke_real bias, fke_real *yp, uint8_t *ip)
{
    int k = act.pool, s = act.stride ? act.stride : act.pool, p = act.pad;
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) {
            fke_real m = 0;
            int code = -1;
            for (int i = 0; i < k; i++) {
                int ih = oh * s - p + i;
                if (ih < 0 || ih >= H) continue;
                for (int j = 0; j < k; j++) {
                    int iw = ow * s - p + j;
                    if (iw < 0 || iw >= W) continue;
                    fke_real v = xp[(size_t)ih * W + iw] * a + bias;
                    if (act.relu) v = v > 0 ? v : 0;
                    if (code < 0 || v > m) m = v, code = i * k + j;
                }
            }
            yp[(size_t)oh * Wo + ow] = m;
            ip[(size_t)oh * Wo + ow] = (uint8_t)code;
        }
}

/* Any window, one plane: the gradient each x position gets from the pool
 * (summed over the windows that chose it) into q (H, W). 1 on a bad code. */
static int pool_plane_scatter(int H, int W, fke_bn_act act, int Ho, int Wo, const fke_real *dy,
                              const fke_real *yp, const uint8_t *ip, fke_real *q)
{
    int k = act.pool, s = act.stride ? act.stride : act.pool, p = act.pad, bad = 0;
    memset(q, 0, (size_t)H * W * sizeof *q);
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) {
            size_t o = (size_t)oh * Wo + ow;
            int code = ip[o], ih = oh * s - p + code / k, iw = ow * s - p + code % k;
            if (code >= k * k || ih < 0 || ih >= H || iw < 0 || iw >= W) {
                bad = 1;
                continue;
            }
            fke_real v = dy[o];
            q[(size_t)ih * W + iw] += act.relu && !(yp[o] > 0) ? 0 : v;
        }
    return bad;
}

/* What the fused forward needs of its call, plane by plane. */
typedef struct {
    const fke_tensor *x;
    fke_tensor *y;
    uint8_t *idx;
    fke_bn_act act;
    int N, C, H, W, Ho, Wo, mode;
} act_fwd;

/* Plane (n, c): y = pool?(relu?(x a + bias)), the pool's codes into idx. */
static void act_plane_forward(const act_fwd *kf, int n, int c, fke_real a, fke_real bias)
{
    int H = kf->H, W = kf->W, Ho = kf->Ho, Wo = kf->Wo, relu = kf->act.relu;
    size_t pl = (size_t)n * kf->C + c, HW = (size_t)H * W, OHW = (size_t)Ho * Wo;
    const fke_real *xp = kf->x->data + pl * HW; /* (H, W) */
    fke_real *yp = kf->y->data + pl * OHW;       /* (Ho, Wo) */
    if (!kf->mode) {
        affine_plane(xp, HW, a, bias, relu, yp);
        return;
    }
    uint8_t *ip = kf->idx + pl * OHW;
    if (kf->mode == 1) {
        pool_plane_forward(xp, H, W, kf->act, Ho, Wo, a, bias, yp, ip);
        return;
    }
    for (int oh = 0; oh < Ho; oh++)
        pool_row_forward(xp + (size_t)2 * oh * W, W, Wo, a, bias, relu, yp + (size_t)oh * Wo,
                         ip + (size_t)oh * Wo);
}

/* The local forward (no sync_bn) in memory order: the planes of image 0,
 * then of image 1, ..., each thread keeping the same channels throughout
 * (static schedules of C iterations in one parallel region give the same
 * thread the same c, so the loops need no barrier). Each plane's moments
 * are merged into its channel's in image order, the arithmetic of
 * fke_batchnorm_moments, so the results are those of the channel-by-channel
 * loop bit for bit; x is read twice, front to back, rather than a short
 * plane per image far apart (C * H * W values) for each channel (the crops'
 * backward sums took 3-4x as long so, tools/bench_bn.c). C <= BN_FAST_MAXC. */
static void act_forward_planes(const act_fwd *kf, int train, const fke_tensor *gamma,
                               const fke_tensor *beta, fke_tensor *running_mean,
                               fke_tensor *running_var, fke_tensor *mean, fke_tensor *inv_std,
                               fke_tensor *fold)
{
    const fke_tensor *x = kf->x;
    int N = kf->N, C = kf->C;
    size_t HW = (size_t)kf->H * kf->W, M = (size_t)N * HW;
    double cmu[BN_FAST_MAXC], cm2[BN_FAST_MAXC];
    fke_real fa[BN_FAST_MAXC], fb[BN_FAST_MAXC];
#pragma omp parallel if (M * C > 32768)
    {
        for (int n = 0; train && HW && n < N; n++) {
#pragma omp for schedule(static) nowait
            for (int c = 0; c < C; c++) {
                double mp, qp;
                if (!n) cmu[c] = 0, cm2[c] = 0;
                plane_moments(x->data + ((size_t)n * C + c) * HW, HW, &mp, &qp);
                merge_moments(&cmu[c], &cm2[c], (double)n * (double)HW, (double)HW, mp, qp);
            }
        }
#pragma omp for schedule(static) nowait
        for (int c = 0; c < C; c++) {
            double mu, var;
            if (train) {
                mu = HW ? cmu[c] : 0;
                double ss = HW ? cm2[c] : 0;
                var = ss / (double)M;
                update_running(running_mean, running_var, c, mu, ss, (double)M);
            } else {
                mu = running_mean->data[c];
                var = running_var->data[c];
            }
            double is = 1.0 / sqrt(var + FKE_BN_EPS);
            mean->data[c] = (fke_real)mu;
            inv_std->data[c] = (fke_real)is;
            fa[c] = (fke_real)(gamma->data[c] * is);
            fb[c] = (fke_real)(beta->data[c] - mu * gamma->data[c] * is);
            if (fold) fold->data[c] = fa[c], fold->data[C + c] = fb[c];
        }
        for (int n = 0; n < N; n++) {
#pragma omp for schedule(static) nowait
            for (int c = 0; c < C; c++) act_plane_forward(kf, n, c, fa[c], fb[c]);
        }
    }
}

fke_status fke_batchnorm_act_forward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                     const fke_tensor *beta, fke_tensor *running_mean,
                                     fke_tensor *running_var, int train, fke_bn_act act,
                                     fke_tensor *mean, fke_tensor *inv_std, fke_tensor *y,
                                     uint8_t *idx)
{
    return fke_batchnorm_act_forward_sync(e, x, gamma, beta, running_mean, running_var, train, act,
                                          mean, inv_std, y, idx, NULL, NULL);
}

fke_status fke_batchnorm_act_forward_sync(fke_err *e, const fke_tensor *x,
                                          const fke_tensor *gamma, const fke_tensor *beta,
                                          fke_tensor *running_mean, fke_tensor *running_var,
                                          int train, fke_bn_act act, fke_tensor *mean,
                                          fke_tensor *inv_std, fke_tensor *y, uint8_t *idx,
                                          fke_tensor *fold, const fke_reducer *sync)
{
    const char *op = "batchnorm_act";
    FKE_TRY(check_forward(e, op, x, gamma, beta, running_mean, running_var, train, mean, inv_std));
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int mode, Ho, Wo;
    FKE_TRY(pool_geom(e, op, act, H, W, idx, &mode, &Ho, &Wo));
    FKE_EXPECT(e, op, "y", y, N, C, Ho, Wo);
    if (fold) FKE_EXPECT(e, op, "fold", fold, 2, C);
    size_t M = (size_t)N * H * W;
    int gs = sync && train; /* global statistics */
    double smu[FKE_BN_SYNC_MAXC], sis[FKE_BN_SYNC_MAXC];
    if (gs) FKE_TRY(sync_stats(e, op, x, running_mean, running_var, sync, smu, sis));

    act_fwd kf = {.x = x, .y = y, .idx = idx, .act = act, .N = N, .C = C, .H = H, .W = W,
                  .Ho = Ho, .Wo = Wo, .mode = mode};
    if (!gs && C <= BN_FAST_MAXC) {
        act_forward_planes(&kf, train, gamma, beta, running_mean, running_var, mean, inv_std,
                           fold);
        return FKE_OK;
    }
#pragma omp parallel for schedule(static) if (M * C > 32768)
    for (int c = 0; c < C; c++) {
        /* the same float arithmetic as fke_batchnorm_forward, fke_relu_forward
         * and fke_maxpool2d_forward, so the results are the same bits */
        fke_real a, bias;
        channel_fold(x, c, train, gs ? smu : NULL, sis, gamma, beta, running_mean, running_var,
                     mean, inv_std, &a, &bias);
        if (fold) fold->data[c] = a, fold->data[C + c] = bias;
        for (int n = 0; n < N; n++) act_plane_forward(&kf, n, c, a, bias);
    }
    return FKE_OK;
}

fke_status fke_batchnorm_act_apply(fke_err *e, const fke_tensor *x, const fke_tensor *fold,
                                   int relu, fke_tensor *y)
{
    const char *op = "batchnorm_act apply";
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    int N = x->shape[0], C = x->shape[1];
    FKE_EXPECT(e, op, "fold", fold, 2, C);
    FKE_EXPECT(e, op, "y", y, N, C, x->shape[2], x->shape[3]);
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
#pragma omp parallel for schedule(static) if (M * C > 32768)
    for (int c = 0; c < C; c++)
        for (int n = 0; n < N; n++) {
            size_t pl = ((size_t)n * C + c) * HW;
            affine_plane(x->data + pl, HW, fold->data[c], fold->data[C + c], relu, y->data + pl);
        }
    return FKE_OK;
}

/* What the fused backward needs of its call, shared by its two phases. */
typedef struct {
    const fke_tensor *x, *dy, *y;
    const uint8_t *idx;
    fke_tensor *dx;
    int N, C, H, W, Ho, Wo, mode, relu;
    fke_bn_act act;
    size_t HW, OHW;
} act_call;

/* Phase 1, plane (n, c): s0 = sum of the gradient reaching the batch norm's
 * output, s1 = its sum times xhat (for the 3x3 pools it is scattered into
 * dx first); returns 1 when the pool index is bad. */
static int act_plane_sums(const act_call *kc, int n, int c, double mu, double is, double *s0_out,
                          double *s1_out)
{
    const fke_tensor *x = kc->x, *dy = kc->dy, *y = kc->y;
    fke_tensor *dx = kc->dx;
    const uint8_t *idx = kc->idx;
    int C = kc->C, H = kc->H, W = kc->W, Ho = kc->Ho, Wo = kc->Wo, mode = kc->mode;
    int relu = kc->relu, bad = 0;
    fke_bn_act act = kc->act;
    size_t HW = kc->HW, OHW = kc->OHW;
    size_t pl = (size_t)n * C + c;
    const fke_real *xp = x->data + pl * HW, *d = dy->data + pl * OHW;
    const fke_real *yp = y ? y->data + pl * OHW : NULL;
    double s0 = 0, s1 = 0; /* over the values that receive a gradient */
    if (mode == 1) { /* scatter into dx, then sum over it */
        fke_real *q = dx->data + pl * HW;
        bad |= pool_plane_scatter(H, W, act, Ho, Wo, d, yp, idx + pl * OHW, q);
#pragma omp simd reduction(+ : s0, s1)
        for (size_t i = 0; i < HW; i++) {
            s0 += q[i];
            s1 += q[i] * ((xp[i] - mu) * is);
        }
    } else if (!mode && relu) {
#pragma omp simd reduction(+ : s0, s1)
        for (size_t i = 0; i < HW; i++) {
            fke_real v = d[i], g = yp[i] > 0 ? v : 0;
            s0 += g;
            s1 += g * ((xp[i] - mu) * is);
        }
    } else if (!mode) {
#pragma omp simd reduction(+ : s0, s1)
        for (size_t i = 0; i < HW; i++) {
            s0 += d[i];
            s1 += d[i] * ((xp[i] - mu) * is);
        }
    } else {
        /* the pool's choice: x at it, and the gradient it gets */
        const uint8_t *ip = idx + pl * OHW;
        for (int oh = 0; oh < Ho; oh++) {
            const fke_real *xr = xp + (size_t)2 * oh * W;
            const fke_real *dr = d + (size_t)oh * Wo, *yr = yp + (size_t)oh * Wo;
            const uint8_t *ir = ip + (size_t)oh * Wo;
            int over = 0;
            for (int ow = 0; ow < Wo; ow++) over |= ir[ow];
            if (over > 3) {
                bad = 1;
                continue;
            }
            pool_row_sums(xr, W, Wo, dr, yr, ir, relu, mu, is, &s0, &s1);
        }
    }
    *s0_out = s0;
    *s1_out = s1;
    return bad;
}

/* Phase 1, channel c: its sums sdy, sdyx over every image, in image order. */
static int act_sums(const act_call *kc, int c, double mu, double is, double *sdy_out,
                    double *sdyx_out)
{
    double sdy = 0, sdyx = 0;
    int bad = 0;
    for (int n = 0; n < kc->N; n++) {
        double s0, s1;
        bad |= act_plane_sums(kc, n, c, mu, is, &s0, &s1);
        sdy += s0;
        sdyx += s1;
    }
    *sdy_out = sdy;
    *sdyx_out = sdyx;
    return bad;
}

/* Phase 2, plane (n, c): dx = kk * g + c0 + c1 * x, g the gradient reaching
 * the batch norm's output. */
static void act_plane_dx(const act_call *kc, int n, int c, fke_real kk, fke_real c0, fke_real c1)
{
    const fke_tensor *x = kc->x, *dy = kc->dy, *y = kc->y;
    fke_tensor *dx = kc->dx;
    const uint8_t *idx = kc->idx;
    int C = kc->C, W = kc->W, Ho = kc->Ho, Wo = kc->Wo, mode = kc->mode;
    int relu = kc->relu;
    size_t HW = kc->HW, OHW = kc->OHW;
    size_t pl = (size_t)n * C + c;
    const fke_real *xp = x->data + pl * HW, *d = dy->data + pl * OHW;
    const fke_real *yp = y ? y->data + pl * OHW : NULL;
    fke_real *q = dx->data + pl * HW;
    if (mode == 1) { /* q holds the routed gradient */
#pragma omp simd
        for (size_t i = 0; i < HW; i++) q[i] = kk * q[i] + c0 + c1 * xp[i];
        return;
    }
    if (!mode && relu) {
#pragma omp simd
        for (size_t i = 0; i < HW; i++) {
            fke_real v = d[i]; /* loaded unconditionally: the select vectorises */
            q[i] = kk * (yp[i] > 0 ? v : 0) + c0 + c1 * xp[i];
        }
        return;
    }
    if (!mode) {
#pragma omp simd
        for (size_t i = 0; i < HW; i++) q[i] = kk * d[i] + c0 + c1 * xp[i];
        return;
    }
    const uint8_t *ip = idx + pl * OHW;
    for (int oh = 0; oh < Ho; oh++)
        pool_row_backward(xp + (size_t)2 * oh * W, W, Wo, d + (size_t)oh * Wo,
                          yp + (size_t)oh * Wo, ip + (size_t)oh * Wo, relu, kk, c0, c1,
                          q + (size_t)2 * oh * W);
}

/* Phase 2, channel c, every image. */
static void act_dx(const act_call *kc, int c, fke_real kk, fke_real c0, fke_real c1)
{
    for (int n = 0; n < kc->N; n++) act_plane_dx(kc, n, c, kk, c0, c1);
}

/* The local backward (no sync_bn) in memory order, as act_forward_planes:
 * each plane's sums added into its channel's in image order (the bits of
 * act_sums), then dgamma, dbeta and the folded dx terms per channel, then
 * dx plane by plane; returns 1 when the pool index is bad. C <=
 * BN_FAST_MAXC. */
static int act_backward_planes(const act_call *kc, const fke_tensor *gamma,
                               const fke_tensor *mean, const fke_tensor *inv_std, int train,
                               fke_tensor *dgamma, fke_tensor *dbeta)
{
    int N = kc->N, C = kc->C, bad = 0;
    size_t M = (size_t)N * kc->HW;
    double sdy[BN_FAST_MAXC], sdyx[BN_FAST_MAXC];
    fke_real k0[BN_FAST_MAXC], k1[BN_FAST_MAXC], k2[BN_FAST_MAXC];
#pragma omp parallel reduction(| : bad) if (M * C > 32768)
    {
        for (int n = 0; n < N; n++) {
#pragma omp for schedule(static) nowait
            for (int c = 0; c < C; c++) {
                double s0, s1;
                if (!n) sdy[c] = 0, sdyx[c] = 0;
                bad |= act_plane_sums(kc, n, c, mean->data[c], inv_std->data[c], &s0, &s1);
                sdy[c] += s0;
                sdyx[c] += s1;
            }
        }
#pragma omp for schedule(static) nowait
        for (int c = 0; c < C; c++) {
            if (dbeta) dbeta->data[c] += (fke_real)sdy[c];
            if (dgamma) dgamma->data[c] += (fke_real)sdyx[c];
            fold_dx(gamma->data[c], mean->data[c], inv_std->data[c], sdy[c], sdyx[c], (double)M,
                    train, &k0[c], &k1[c], &k2[c]);
        }
        for (int n = 0; kc->dx && n < N; n++) {
#pragma omp for schedule(static) nowait
            for (int c = 0; c < C; c++) act_plane_dx(kc, n, c, k0[c], k1[c], k2[c]);
        }
    }
    return bad;
}

fke_status fke_batchnorm_act_backward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                      const fke_tensor *mean, const fke_tensor *inv_std,
                                      fke_bn_act act, const fke_tensor *y, const uint8_t *idx,
                                      const fke_tensor *dy, int train, fke_tensor *dx,
                                      fke_tensor *dgamma, fke_tensor *dbeta)
{
    return fke_batchnorm_act_backward_sync(e, x, gamma, mean, inv_std, act, y, idx, dy, train, dx,
                                           dgamma, dbeta, NULL);
}

fke_status fke_batchnorm_act_backward_sync(fke_err *e, const fke_tensor *x,
                                           const fke_tensor *gamma, const fke_tensor *mean,
                                           const fke_tensor *inv_std, fke_bn_act act,
                                           const fke_tensor *y, const uint8_t *idx,
                                           const fke_tensor *dy, int train, fke_tensor *dx,
                                           fke_tensor *dgamma, fke_tensor *dbeta,
                                           const fke_reducer *sync)
{
    const char *op = "batchnorm_act backward";
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int mode, Ho, Wo;
    FKE_TRY(pool_geom(e, op, act, H, W, idx, &mode, &Ho, &Wo));
    if (mode == 1 && !dx)
        return fke_fail(e, FKE_ERR_ARG, "%s: a pool other than 2x2 stride 2 needs dx", op);
    /* in place: each channel's dy is read before its dx is written, not so
     * when the pool routes the gradient through dx */
    if (mode && dx && dx->data == dy->data)
        return fke_fail(e, FKE_ERR_ARG, "%s: dx may be dy only without a pool", op);
    FKE_EXPECT(e, op, "dy", dy, N, C, Ho, Wo);
    if (act.relu || mode) FKE_EXPECT(e, op, "y", y, N, C, Ho, Wo);
    if (dx) FKE_EXPECT(e, op, "dx", dx, N, C, H, W);
    FKE_TRY(check_c(e, op, "gamma", gamma, C));
    FKE_TRY(check_c(e, op, "mean", mean, C));
    FKE_TRY(check_c(e, op, "inv_std", inv_std, C));
    if (dgamma) FKE_TRY(check_c(e, op, "dgamma", dgamma, C));
    if (dbeta) FKE_TRY(check_c(e, op, "dbeta", dbeta, C));
    size_t HW = (size_t)H * W, OHW = (size_t)Ho * Wo, M = (size_t)N * HW;
    int relu = act.relu;
    int bad = 0;

    act_call kc = {.x = x, .dy = dy, .y = y, .idx = idx, .dx = dx, .N = N, .C = C, .H = H,
                   .W = W, .Ho = Ho, .Wo = Wo, .mode = mode, .relu = relu, .act = act, .HW = HW,
                   .OHW = OHW};
    if (sync && train) { /* sync_bn: dx from the sums over every process */
        if (C > FKE_BN_SYNC_MAXC)
            return fke_fail(e, FKE_ERR_SHAPE, "%s (sync_bn): %d channels, at most %d", op, C,
                            FKE_BN_SYNC_MAXC);
        double buf[2 * FKE_BN_SYNC_MAXC + 1];
#pragma omp parallel for schedule(static) reduction(| : bad) if (M * C > 32768)
        for (int c = 0; c < C; c++) {
            bad |= act_sums(&kc, c, mean->data[c], inv_std->data[c], &buf[c], &buf[C + c]);
            /* this process's share of dgamma, dbeta: the gradient sum adds the rest */
            if (dbeta) dbeta->data[c] += (fke_real)buf[c];
            if (dgamma) dgamma->data[c] += (fke_real)buf[C + c];
        }
        if (dx) { /* the same on every process: the same layer */
            buf[2 * C] = (double)M;
            FKE_TRY(sync->sum(sync->ctx, buf, 2 * C + 1, e));
#pragma omp parallel for schedule(static) if (M * C > 32768)
            for (int c = 0; c < C; c++) {
                fke_real kk, c0, c1;
                fold_dx(gamma->data[c], mean->data[c], inv_std->data[c], buf[c], buf[C + c],
                        buf[2 * C], 1, &kk, &c0, &c1);
                act_dx(&kc, c, kk, c0, c1);
            }
        }
    } else if (C <= BN_FAST_MAXC) {
        bad = act_backward_planes(&kc, gamma, mean, inv_std, train, dgamma, dbeta);
    } else {
#pragma omp parallel for schedule(static) reduction(| : bad) if (M * C > 32768)
        for (int c = 0; c < C; c++) {
            double mu = mean->data[c], is = inv_std->data[c], sdy, sdyx;
            bad |= act_sums(&kc, c, mu, is, &sdy, &sdyx);
            if (dbeta) dbeta->data[c] += (fke_real)sdy;
            if (dgamma) dgamma->data[c] += (fke_real)sdyx;
            if (!dx) continue;
            fke_real kk, c0, c1;
            fold_dx(gamma->data[c], mu, is, sdy, sdyx, (double)M, train, &kk, &c0, &c1);
            act_dx(&kc, c, kk, c0, c1);
        }
    }
    if (bad)
        return fke_fail(e, FKE_ERR_ARG, "%s: the pool index holds a code outside the window "
                        "(not from the matching forward?)", op);
    return FKE_OK;
}
