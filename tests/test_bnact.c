/* test_bnact.c - batch norm with its fused epilogue (ReLU, 2x2 max-pool;
 * fke_batchnorm_act_*) in the float build, against the chain of the reference
 * kernels it replaces (fke_batchnorm_*, fke_relu_*, fke_maxpool2d_*):
 *  - the forward gives the same bits (output, mean, inv_std, running stats),
 *  - the backward agrees within 1e-6 (dx, dgamma, dbeta),
 * for every act (none, 2x2/2, 3x3/2 pad 1, 3x3/1 pad 1) at training and eval,
 * on shapes whose widths exercise the SSE2 loop, its scalar tail and the
 * general pool (odd sides), with ties and negative values;
 * then the fke-small and a narrow ResNet-18 trunk (both take the fused
 * paths) at 1 and 2 threads:
 * within 1e-6, and a repeat at 2 threads bit for bit; the one-pass batch
 * statistics (fke_batchnorm_moments) against two passes in double, on data
 * whose mean is 10^4 times its spread; and the errors. */
#include "model/cnn.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/pool.h"
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

static fke_arena A;

static fke_tensor mk(int ndim, int d0, int d1, int d2, int d3)
{
    fke_tensor t;
    fke_err e;
    fke_status s = ndim == 4 ? fke_arena_tensor(&A, &e, &t, 4, d0, d1, d2, d3)
                             : fke_arena_tensor(&A, &e, &t, 1, d0);
    if (s != FKE_OK) {
        printf("test_bnact: %s\n", e.msg);
        exit(1);
    }
    return t;
}

static fke_tensor copy(const fke_tensor *t)
{
    fke_tensor c = mk(t->ndim, t->shape[0], t->ndim > 1 ? t->shape[1] : 0,
                      t->ndim > 2 ? t->shape[2] : 0, t->ndim > 3 ? t->shape[3] : 0);
    memcpy(c.data, t->data, fke_numel(t) * sizeof(fke_real));
    return c;
}

static double relerr(const fke_tensor *a, const fke_tensor *b)
{
    double d = 0, m = 1e-30;
    for (size_t i = 0; i < fke_numel(a); i++) {
        double x = fabs((double)a->data[i] - b->data[i]);
        if (x > d) d = x;
        if (fabs(b->data[i]) > m) m = fabs(b->data[i]);
    }
    return d / m;
}

static int same(const fke_tensor *a, const fke_tensor *b)
{
    return memcmp(a->data, b->data, fke_numel(a) * sizeof(fke_real)) == 0;
}

/* One act at one train flag, N x C x H x W; pool k (0 none), stride ps, pad pp. */
static void check_one(fke_rng *r, int train, int relu, int pool, int ps, int pp, int N, int C,
                      int H, int W)
{
    size_t mark = A.used;
    fke_err e;
    int Ho = pool ? fke_maxpool2d_out_size(H + 2 * pp, pool, ps) : H;
    int Wo = pool ? fke_maxpool2d_out_size(W + 2 * pp, pool, ps) : W;
    fke_tensor x = mk(4, N, C, H, W), g = mk(1, C, 0, 0, 0), b = mk(1, C, 0, 0, 0);
    fke_tensor rm = mk(1, C, 0, 0, 0), rv = mk(1, C, 0, 0, 0);
    fke_test_fill(r, &x, -2, 2), fke_test_fill(r, &g, 0.5, 1.5), fke_test_fill(r, &b, -0.5, 0.5);
    fke_test_fill(r, &rm, -0.3, 0.3), fke_test_fill(r, &rv, 0.5, 1.5);
    /* ties: every 7th value repeats its left neighbour */
    for (size_t i = 1; i < fke_numel(&x); i += 7) x.data[i] = x.data[i - 1];
    fke_tensor rm2 = copy(&rm), rv2 = copy(&rv);
    fke_tensor mean = mk(1, C, 0, 0, 0), istd = mk(1, C, 0, 0, 0);
    fke_tensor mean2 = mk(1, C, 0, 0, 0), istd2 = mk(1, C, 0, 0, 0);
    fke_tensor y = mk(4, N, C, Ho, Wo), dy = mk(4, N, C, Ho, Wo);
    fke_test_fill(r, &dy, -1, 1);
    uint8_t *idx = fke_arena_alloc(&A, &e, (size_t)N * C * Ho * Wo + 1);
    fke_bn_act act = {.relu = relu, .pool = pool, .stride = ps, .pad = pp};
    FKE_CHECK(fke_batchnorm_act_forward(&e, &x, &g, &b, &rm, &rv, train, act, &mean, &istd, &y,
                                        idx) == FKE_OK, "%s", e.msg);
    fke_tensor dx = mk(4, N, C, H, W), dg = mk(1, C, 0, 0, 0), db = mk(1, C, 0, 0, 0);
    fke_test_fill(r, &dx, 5, 6); /* overwritten, whatever it held */
    fke_test_fill(r, &dg, -1, 1), fke_test_fill(r, &db, -1, 1);
    fke_tensor dg2 = copy(&dg), db2 = copy(&db);
    FKE_CHECK(fke_batchnorm_act_backward(&e, &x, &g, &mean, &istd, act, &y, idx, &dy, train, &dx,
                                         &dg, &db) == FKE_OK, "%s", e.msg);

    /* the chain of reference kernels */
    fke_tensor z = mk(4, N, C, H, W), yr = mk(4, N, C, Ho, Wo);
    FKE_CHECK(fke_batchnorm_forward(&e, &x, &g, &b, &rm2, &rv2, train, &mean2, &istd2, &z) ==
              FKE_OK, "%s", e.msg);
    if (relu) fke_relu_forward(&e, &z, &z);
    int32_t *am = fke_arena_alloc(&A, &e, (size_t)N * C * Ho * Wo * sizeof(int32_t) + 4);
    int Hp = H + 2 * pp, Wp = W + 2 * pp; /* padded with a stand-in for -inf */
    fke_tensor zp = mk(4, N, C, Hp, Wp), dzp = mk(4, N, C, Hp, Wp);
    for (size_t i = 0; i < fke_numel(&zp); i++) zp.data[i] = -1e30f;
    for (int pl = 0; pl < N * C; pl++)
        for (int h = 0; h < H; h++)
            memcpy(zp.data + ((size_t)pl * Hp + h + pp) * Wp + pp, z.data + ((size_t)pl * H + h) * W,
                   W * sizeof(fke_real));
    if (pool) fke_maxpool2d_forward(&e, &zp, pool, ps, &yr, am);
    else memcpy(yr.data, z.data, fke_numel(&z) * sizeof(fke_real));
    fke_tensor dz = mk(4, N, C, H, W), dbn = mk(4, N, C, H, W), dxr = mk(4, N, C, H, W);
    if (pool) {
        fke_maxpool2d_backward(&e, &dy, am, &dzp);
        for (int pl = 0; pl < N * C; pl++)
            for (int h = 0; h < H; h++)
                memcpy(dz.data + ((size_t)pl * H + h) * W,
                       dzp.data + ((size_t)pl * Hp + h + pp) * Wp + pp, W * sizeof(fke_real));
    } else {
        memcpy(dz.data, dy.data, fke_numel(&dy) * sizeof(fke_real));
    }
    if (relu) fke_relu_backward(&e, &z, &dz, &dbn);
    else memcpy(dbn.data, dz.data, fke_numel(&dz) * sizeof(fke_real));
    FKE_CHECK(fke_batchnorm_backward(&e, &x, &g, &mean2, &istd2, &dbn, train, &dxr, &dg2, &db2) ==
              FKE_OK, "%s", e.msg);

    FKE_CHECK(same(&y, &yr) && same(&mean, &mean2) && same(&istd, &istd2) && same(&rm, &rm2) &&
              same(&rv, &rv2), "forward train %d relu %d pool %d/%d/%d (%d,%d,%d,%d): not the same "
              "bits (y rel err %.2e)", train, relu, pool, ps, pp, N, C, H, W, relerr(&y, &yr));
    double ex = relerr(&dx, &dxr), eg = relerr(&dg, &dg2), eb = relerr(&db, &db2);
    FKE_CHECK(ex < 1e-6 && eg < 1e-6 && eb < 1e-6, "backward train %d relu %d pool %d/%d/%d "
              "(%d,%d,%d,%d): dx %.2e dgamma %.2e dbeta %.2e", train, relu, pool, ps, pp, N, C, H,
              W, ex, eg, eb);
    A.used = mark;
}

/* The fke-small trunk (fused conv+bn+relu+pool steps), forward and backward. */
static void trunk_run(const fke_cnn *c, fke_params *P, const fke_tensor *x, fke_tensor *feat,
                      fke_tensor *grads, int train)
{
    fke_err e;
    size_t mark = A.used;
    fke_cnn_tape t;
    fke_params_zero_grad(P);
    FKE_CHECK(fke_cnn_forward(c, P, &A, &e, x, train, 0, &t, feat) == FKE_OK, "%s", e.msg);
    fke_tensor df = mk(4, feat->shape[0], feat->shape[1], 1, 1);
    df.ndim = 2;
    for (size_t i = 0; i < fke_numel(&df); i++) df.data[i] = (fke_real)(0.01 * (i % 17) - 0.08);
    FKE_CHECK(fke_cnn_backward(c, P, &A, &e, &t, &df, NULL) == FKE_OK, "%s", e.msg);
    memcpy(grads->data, P->g, fke_numel(grads) * sizeof(fke_real));
    A.used = mark;
}

static void test_trunk_threads(fke_rng *r, fke_cnn_kind kind)
{
    fke_err e;
    fke_cnn c;
    fke_params P;
    fke_params_init(&P);
    int chans[3] = {8, 16, 32}; /* ResNet-18: width 8, features 64 */
    FKE_CHECK(fke_cnn_build(&c, &P, &e, kind, 3, chans, 1, 1) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_params_finalize(&P, &e) == FKE_OK, "%s", e.msg);
    fke_cnn_init_weights(&c, &P, r);
    int N = 6, S = 32;
    fke_tensor x = mk(4, N, 3, S, S);
    fke_test_fill(r, &x, -1, 1);
    fke_tensor feat[3], gr[3];
    int threads[3] = {1, 2, 2};
    fke_real *saved = malloc(P.total * sizeof(fke_real));
    memcpy(saved, P.w, P.total * sizeof(fke_real)); /* running stats move each forward */
    for (int k = 0; k < 3; k++) {
        feat[k] = mk(4, N, c.out_dim, 1, 1);
        feat[k].ndim = 2;
        gr[k] = mk(1, (int)P.total, 0, 0, 0);
        omp_set_num_threads(threads[k]);
        memcpy(P.w, saved, P.total * sizeof(fke_real));
        trunk_run(&c, &P, &x, &feat[k], &gr[k], 1);
    }
    omp_set_num_threads(2);
    double ef = relerr(&feat[1], &feat[0]), eg = relerr(&gr[1], &gr[0]);
    printf("  trunk %s 1 vs 2 threads: feat %.2e grads %.2e\n", kind ? "resnet18" : "small", ef, eg);
    FKE_CHECK(ef < 1e-6 && eg < 1e-6, "trunk 1 vs 2 threads: feat %.2e grads %.2e", ef, eg);
    FKE_CHECK(same(&feat[1], &feat[2]) && same(&gr[1], &gr[2]),
              "trunk: a repeat at 2 threads is not bit for bit");
    double gmax = 0;
    for (size_t i = 0; i < P.total; i++) gmax = fmax(gmax, fabs(gr[0].data[i]));
    FKE_CHECK(gmax > 1e-4, "trunk gradients are all ~0 (%.2e)", gmax);
    free(saved);
    fke_params_free(&P);
}

static void test_errors(void)
{
    size_t mark = A.used;
    fke_err e;
    fke_tensor x = mk(4, 2, 3, 5, 4), g = mk(1, 3, 0, 0, 0), m = mk(1, 3, 0, 0, 0);
    fke_tensor y = mk(4, 2, 3, 2, 2);
    uint8_t idx[64] = {0};
    fke_bn_act act = {.relu = 1, .pool = 16};
    FKE_CHECK(fke_batchnorm_act_forward(&e, &x, &g, &g, &m, &m, 1, act, &m, &m, &y, idx) ==
              FKE_ERR_ARG && strstr(e.msg, "pool 16"), "pool 16 accepted: %s", e.msg);
    act.pool = 3, act.pad = 2;
    FKE_CHECK(fke_batchnorm_act_forward(&e, &x, &g, &g, &m, &m, 1, act, &m, &m, &y, idx) ==
              FKE_ERR_ARG && strstr(e.msg, "pad 2"), "pad 2 of a 3-window accepted: %s", e.msg);
    act.pad = 0;
    FKE_CHECK(fke_batchnorm_act_forward(&e, &x, &g, &g, &m, &m, 1, act, &m, &m, &y, NULL) ==
              FKE_ERR_ARG && strstr(e.msg, "index"), "no index buffer accepted: %s", e.msg);
    fke_tensor x2 = mk(4, 2, 3, 4, 4), dx = mk(4, 2, 3, 4, 4);
    act.pool = 2;
    memset(idx, 9, sizeof idx);
    FKE_CHECK(fke_batchnorm_act_backward(&e, &x2, &g, &m, &m, act, &y, idx, &y, 1, &dx, NULL,
                                         NULL) == FKE_ERR_ARG && strstr(e.msg, "outside the window"),
              "a bad pool code accepted: %s", e.msg);
    A.used = mark;
}

/* fke_batchnorm_moments against two passes in double (the sum, then the
 * squares about the mean), within 1e-12 relative, on values 100 +- 0.01:
 * channel 0 plain, channel 1 with each plane's mean elsewhere (the merge),
 * channel 2 with a first value far out (the shift). E[x^2] - E[x]^2, even
 * in double, is off by about 1e-8 here: checked, so the data can tell. */
static void test_moments(fke_rng *r, int N, int H, int W)
{
    size_t mark = A.used;
    int C = 3;
    fke_tensor x = mk(4, N, C, H, W);
    size_t HW = (size_t)H * W, M = (size_t)N * HW;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < HW; i++)
                x.data[((size_t)n * C + c) * HW + i] =
                    (fke_real)(100 + (c == 1 ? 0.5 * n : 0) + 0.01 * fke_rng_normal(r));
    x.data[2 * HW] = 100.5f; /* channel 2's first value: 50 spreads out */
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0, sq = 0, mu, got;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) s += x.data[((size_t)n * C + c) * HW + i];
        double ref = s / (double)M;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) {
                double v = x.data[((size_t)n * C + c) * HW + i];
                ss += (v - ref) * (v - ref);
                sq += v * v;
            }
        fke_batchnorm_moments(&x, c, &mu, &got);
        double naive = sq - s * s / (double)M;
        FKE_CHECK(fabs(mu - ref) <= 1e-12 * fabs(ref) && fabs(got - ss) <= 1e-12 * ss,
                  "(%d, %d, %d, %d) channel %d: mean %.17g (two passes %.17g), squares %.17g "
                  "(%.17g)", N, C, H, W, c, mu, ref, got, ss);
        FKE_CHECK(fabs(naive - ss) > 1e-12 * ss, "channel %d: E[x^2] - E[x]^2 passes too (%g)", c,
                  fabs(naive - ss) / ss);
    }
    A.used = mark;
}

int main(void)
{
    openblas_set_num_threads(1);
    fke_err e;
    if (fke_arena_init(&A, 64u << 20, &e)) {
        printf("test_bnact: %s\n", e.msg);
        return 1;
    }
    fke_rng r;
    fke_rng_seed(&r, 16);
    /* widths 8 (SSE2 loop only), 14 (loop + tail of 3), 6 (tail only) */
    int shapes[][4] = {{3, 5, 8, 8}, {2, 4, 6, 14}, {4, 3, 10, 6}, {2, 3, 7, 9}};
    /* pools: none; 2x2/2 (the SSE2 path on even x, the general one on odd);
     * ResNet's 3x3/2 pad 1; 3x3/1 pad 1 (an x chosen by several windows) */
    int pools[][3] = {{0, 0, 0}, {2, 2, 0}, {3, 2, 1}, {3, 1, 1}};
    for (int s = 0; s < 4; s++)
        for (int train = 0; train < 2; train++)
            for (int relu = 0; relu < 2; relu++)
                for (int q = 0; q < 4; q++)
                    check_one(&r, train, relu, pools[q][0], pools[q][1], pools[q][2], shapes[s][0],
                              shapes[s][1], shapes[s][2], shapes[s][3]);
    test_moments(&r, 20, 32, 32); /* fke-small's first conv output */
    test_moments(&r, 3, 5, 7);    /* planes of 35: the accumulators' tail */
    test_trunk_threads(&r, FKE_CNN_SMALL);
    test_trunk_threads(&r, FKE_CNN_RESNET18);
    test_errors();
    fke_arena_free(&A);
    return fke_test_summary("bnact");
}
