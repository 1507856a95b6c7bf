/* test_cnn.c - the CNN operations in the float build: conv2d against a naive
 * direct convolution (forward and backward), images in groups against one
 * image a call (fp32 and bf16), thread-count independence and bit-for-bit
 * repeats, the arena workspace, batch-norm's running statistics,
 * pooling, dropout, concat/slice, and errors on bad shapes. */
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/gemm_bf16.h"
#include "nn/pool.h"
#include "nn/tensor_ops.h"
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static fke_tensor mk(fke_arena *a, int ndim, int d0, int d1, int d2, int d3)
{
    fke_tensor t;
    fke_err e;
    fke_status s = ndim == 4 ? fke_arena_tensor(a, &e, &t, 4, d0, d1, d2, d3)
                 : ndim == 2 ? fke_arena_tensor(a, &e, &t, 2, d0, d1)
                             : fke_arena_tensor(a, &e, &t, 1, d0);
    if (s != FKE_OK) {
        printf("test_cnn: %s\n", e.msg);
        exit(1);
    }
    return t;
}

static int same_bits(const fke_tensor *a, const fke_tensor *b)
{
    return memcmp(a->data, b->data, fke_numel(a) * sizeof(fke_real)) == 0;
}

/* Direct convolution and its gradients in double, accumulated per element. */
static void naive_conv(const fke_tensor *x, const fke_tensor *W, const fke_tensor *b, int s,
                       int p, const fke_tensor *dy, fke_tensor *y, fke_tensor *dx,
                       fke_tensor *dW, fke_tensor *db)
{
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], Wd = x->shape[3];
    int O = W->shape[0], kh = W->shape[2], kw = W->shape[3];
    int Ho = y->shape[2], Wo = y->shape[3];
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    size_t yi = (((size_t)n * O + o) * Ho + oh) * Wo + ow;
                    double acc = b->data[o], g = dy->data[yi];
                    db->data[o] += (fke_real)g;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int ih = oh * s - p + i, iw = ow * s - p + j;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                size_t xi = (((size_t)n * C + c) * H + ih) * Wd + iw;
                                size_t wi = (((size_t)o * C + c) * kh + i) * kw + j;
                                acc += (double)x->data[xi] * W->data[wi];
                                dx->data[xi] += (fke_real)(g * W->data[wi]);
                                dW->data[wi] += (fke_real)(g * x->data[xi]);
                            }
                    y->data[yi] = (fke_real)acc;
                }
}

static void test_conv_vs_naive(fke_arena *a, fke_rng *r, int N, int C, int H, int W, int O,
                               int kh, int kw, int s, int p)
{
    size_t mark = a->used;
    fke_err e;
    fke_conv2d_opt o = {.stride = s, .pad = p};
    int Ho = fke_conv2d_out_size(H, kh, s, p), Wo = fke_conv2d_out_size(W, kw, s, p);
    fke_tensor x = mk(a, 4, N, C, H, W), w = mk(a, 4, O, C, kh, kw), b = mk(a, 1, O, 0, 0, 0);
    fke_tensor y = mk(a, 4, N, O, Ho, Wo), dy = mk(a, 4, N, O, Ho, Wo);
    fke_tensor yr = mk(a, 4, N, O, Ho, Wo);
    fke_tensor dx = mk(a, 4, N, C, H, W), dW = mk(a, 4, O, C, kh, kw), db = mk(a, 1, O, 0, 0, 0);
    fke_tensor dxr = mk(a, 4, N, C, H, W), dWr = mk(a, 4, O, C, kh, kw),
               dbr = mk(a, 1, O, 0, 0, 0);
    fke_test_fill(r, &x, -1, 1), fke_test_fill(r, &w, -1, 1);
    fke_test_fill(r, &b, -1, 1), fke_test_fill(r, &dy, -1, 1);
    /* backward adds: start every gradient from the same non-zero values */
    fke_test_fill(r, &dx, -1, 1), fke_test_fill(r, &dW, -1, 1), fke_test_fill(r, &db, -1, 1);
    memcpy(dxr.data, dx.data, fke_numel(&dx) * sizeof(fke_real));
    memcpy(dWr.data, dW.data, fke_numel(&dW) * sizeof(fke_real));
    memcpy(dbr.data, db.data, fke_numel(&db) * sizeof(fke_real));
    naive_conv(&x, &w, &b, s, p, &dy, &yr, &dxr, &dWr, &dbr);
    size_t before = a->used;
    fke_status st = fke_conv2d_forward(&e, &x, &w, &b, o, &y, a);
    FKE_CHECK(st == FKE_OK, "forward: %s", e.msg);
    st = fke_conv2d_backward(&e, &x, &w, &dy, o, &dx, &dW, &db, a);
    FKE_CHECK(st == FKE_OK, "backward: %s", e.msg);
    FKE_CHECK(a->used == before, "workspace not given back (%zu -> %zu)", before, a->used);
    double ey = fke_test_normerr(&y, &yr), ex = fke_test_normerr(&dx, &dxr);
    double ew = fke_test_normerr(&dW, &dWr), eb = fke_test_normerr(&db, &dbr);
    printf("  conv %dx%dx%dx%d -> %d k%dx%d s%d p%d: rel err y %.1e dx %.1e dW %.1e db %.1e\n",
           N, C, H, W, O, kh, kw, s, p, ey, ex, ew, eb);
    FKE_CHECK(ey < 1e-5 && ex < 1e-5 && ew < 1e-5 && eb < 1e-5, "conv differs from naive");
    a->used = mark;
}

/* The fke-small middle layer at 1 and 2 threads: within 1e-6, and bit for
 * bit on a repeat at the same thread count. */
static void test_threads(fke_arena *a, fke_rng *r)
{
    size_t mark = a->used;
    fke_err e;
    int N = 7, C = 32, H = 16, W = 16, O = 64;
    fke_conv2d_opt o = {.stride = 1, .pad = 1};
    fke_tensor x = mk(a, 4, N, C, H, W), w = mk(a, 4, O, C, 3, 3), dy = mk(a, 4, N, O, H, W);
    fke_tensor y[3], dx[3], dW[3];
    fke_test_fill(r, &x, -1, 1), fke_test_fill(r, &w, -1, 1), fke_test_fill(r, &dy, -1, 1);
    int threads[3] = {1, 2, 2};
    for (int k = 0; k < 3; k++) {
        y[k] = mk(a, 4, N, O, H, W), dx[k] = mk(a, 4, N, C, H, W), dW[k] = mk(a, 4, O, C, 3, 3);
        fke_test_set_threads(threads[k]);
        FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, o, &y[k], a) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_conv2d_backward(&e, &x, &w, &dy, o, &dx[k], &dW[k], NULL, a) == FKE_OK,
                  "%s", e.msg);
    }
    fke_test_set_threads(2);
    FKE_CHECK(fke_test_normerr(&y[1], &y[0]) < 1e-6, "y 1 vs 2 threads: %.2e",
              fke_test_normerr(&y[1], &y[0]));
    FKE_CHECK(fke_test_normerr(&dx[1], &dx[0]) < 1e-6, "dx 1 vs 2 threads: %.2e",
              fke_test_normerr(&dx[1], &dx[0]));
    FKE_CHECK(fke_test_normerr(&dW[1], &dW[0]) < 1e-6, "dW 1 vs 2 threads: %.2e",
              fke_test_normerr(&dW[1], &dW[0]));
    FKE_CHECK(same_bits(&y[1], &y[2]) && same_bits(&dx[1], &dx[2]) && same_bits(&dW[1], &dW[2]),
              "a repeat at 2 threads is not bit for bit");
    a->used = mark;
}

/* Images in groups (conv2d.c, "plan") against the same convolution one image
 * a call (a group of one: no scatter, no gather), dW summed over the images
 * in order: within 1e-5 at 1 and 2 threads, 1 vs 2 threads within 1e-6 (y and
 * dx the same bits: the groups do not depend on the threads), and a repeat
 * at 2 threads bit for bit. The shapes are chosen so that groups form
 * (the workspace exceeds one image's): N not a multiple of the group, N
 * smaller than one group, a 1x1 stride 1 (grouped, so im2col is a copy), and
 * groups of one and of two images in the same plan. */
static void test_groups(fke_arena *a, fke_rng *r, int N, int C, int H, int W, int O, int k,
                        int s, int p, int bf16)
{
    size_t mark = a->used;
    fke_err e;
    /* bf16: im2col's groups (its own rule below); bf16 Winograd is
     * tests/test_winograd.c's */
    fke_conv2d_opt o = {.stride = s, .pad = p, .bf16 = bf16,
                        .algo = bf16 ? FKE_CONV_IM2COL : FKE_CONV_AUTO};
    int Ho = fke_conv2d_out_size(H, k, s, p), Wo = fke_conv2d_out_size(W, k, s, p);
    size_t xsz = (size_t)C * H * W, ysz = (size_t)O * Ho * Wo;
    fke_tensor x = mk(a, 4, N, C, H, W), w = mk(a, 4, O, C, k, k), b = mk(a, 1, O, 0, 0, 0);
    fke_tensor dy = mk(a, 4, N, O, Ho, Wo);
    fke_test_fill(r, &x, -1, 1), fke_test_fill(r, &w, -1, 1);
    fke_test_fill(r, &b, -1, 1), fke_test_fill(r, &dy, -1, 1);
    /* the reference, one image a call at 1 thread; gradients start at 0 */
    fke_tensor yr = mk(a, 4, N, O, Ho, Wo), dxr = mk(a, 4, N, C, H, W),
               dWr = mk(a, 4, O, C, k, k), dbr = mk(a, 1, O, 0, 0, 0);
    fke_test_set_threads(1);
    for (int n = 0; n < N; n++) {
        fke_tensor xn = fke_tensor_view(x.data + n * xsz, 4, 1, C, H, W);
        fke_tensor yn = fke_tensor_view(yr.data + n * ysz, 4, 1, O, Ho, Wo);
        fke_tensor dyn = fke_tensor_view(dy.data + n * ysz, 4, 1, O, Ho, Wo);
        fke_tensor dxn = fke_tensor_view(dxr.data + n * xsz, 4, 1, C, H, W);
        FKE_CHECK(fke_conv2d_forward(&e, &xn, &w, &b, o, &yn, a) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_conv2d_backward(&e, &xn, &w, &dyn, o, &dxn, &dWr, &dbr, a) == FKE_OK,
                  "%s", e.msg);
    }
    fke_tensor x1 = fke_tensor_view(x.data, 4, 1, C, H, W);
    int grouped = !bf16 || (Ho * Wo) % FKE_BF16_TILE_N; /* bf16: only with a partial tile */
    FKE_CHECK((fke_conv2d_workspace_bytes(&x, &w, o, 0) >
               fke_conv2d_workspace_bytes(&x1, &w, o, 0)) == grouped,
              "%d images of %dx%d%s: grouped %d, expected %d", N, Ho, Wo, bf16 ? " bf16" : "",
              !grouped, grouped);
    fke_tensor y[3], dx[3], dW[3], db[3];
    int threads[3] = {1, 2, 2};
    for (int t = 0; t < 3; t++) {
        y[t] = mk(a, 4, N, O, Ho, Wo), dx[t] = mk(a, 4, N, C, H, W);
        dW[t] = mk(a, 4, O, C, k, k), db[t] = mk(a, 1, O, 0, 0, 0);
        fke_test_set_threads(threads[t]);
        FKE_CHECK(fke_conv2d_forward(&e, &x, &w, &b, o, &y[t], a) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_conv2d_backward(&e, &x, &w, &dy, o, &dx[t], &dW[t], &db[t], a) == FKE_OK,
                  "%s", e.msg);
    }
    fke_test_set_threads(2);
    double ey = 0, ex = 0, ew = 0, eb = 0;
    for (int t = 0; t < 2; t++) {
        ey = fmax(ey, fke_test_normerr(&y[t], &yr)), ex = fmax(ex, fke_test_normerr(&dx[t], &dxr));
        ew = fmax(ew, fke_test_normerr(&dW[t], &dWr));
        eb = fmax(eb, fke_test_normerr(&db[t], &dbr));
    }
    printf("  groups %dx%dx%dx%d -> %d k%d s%d p%d%s vs one image a call: y %.1e dx %.1e "
           "dW %.1e db %.1e\n", N, C, H, W, O, k, s, p, bf16 ? " bf16" : "", ey, ex, ew, eb);
    FKE_CHECK(ey < 1e-5 && ex < 1e-5 && ew < 1e-5 && eb < 1e-5,
              "grouped conv differs from one image a call");
    double t12 = fmax(fmax(fke_test_normerr(&y[1], &y[0]), fke_test_normerr(&dx[1], &dx[0])),
                      fke_test_normerr(&dW[1], &dW[0]));
    FKE_CHECK(t12 < 1e-6, "grouped conv, 1 vs 2 threads: %.2e", t12);
    FKE_CHECK(same_bits(&y[0], &y[1]) && same_bits(&dx[0], &dx[1]),
              "grouped conv: y or dx changed with the thread count (the groups must not)");
    FKE_CHECK(same_bits(&y[1], &y[2]) && same_bits(&dx[1], &dx[2]) &&
              same_bits(&dW[1], &dW[2]), "grouped conv: a repeat at 2 threads is not bit for bit");
    a->used = mark;
}

static void test_conv_errors(fke_arena *a)
{
    size_t mark = a->used;
    fke_err e;
    fke_conv2d_opt o = {.stride = 1, .pad = 1};
    fke_tensor x = mk(a, 4, 2, 3, 8, 8), w = mk(a, 4, 4, 3, 3, 3), y = mk(a, 4, 2, 4, 8, 8);
    fke_tensor wbad = mk(a, 4, 4, 5, 3, 3), ybad = mk(a, 4, 2, 4, 7, 8);
    e.msg[0] = 0;
    FKE_CHECK(fke_conv2d_forward(&e, &x, &wbad, NULL, o, &y, a) == FKE_ERR_SHAPE, "bad weight");
    FKE_CHECK(strstr(e.msg, "conv2d") && strstr(e.msg, "(4, 5, 3, 3)"), "message: %s", e.msg);
    FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, o, &ybad, a) == FKE_ERR_SHAPE, "bad y");
    FKE_CHECK(strstr(e.msg, "y has shape (2, 4, 7, 8), expected (2, 4, 8, 8)"), "message: %s",
              e.msg);
    FKE_CHECK(fke_conv2d_forward(&e, NULL, &w, NULL, o, &y, a) == FKE_ERR_ARG, "null x");
    fke_conv2d_opt o0 = {.stride = 0, .pad = 1};
    FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, o0, &y, a) == FKE_ERR_ARG, "stride 0");
    FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, o, &y, NULL) == FKE_ERR_ARG, "no workspace");
    /* an arena without room for the workspace: an error, and nothing written */
    fke_arena small;
    fke_arena_init(&small, 64, &e);
    FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, o, &y, &small) == FKE_ERR_NOMEM,
              "tiny arena accepted");
    FKE_CHECK(strstr(e.msg, "conv2d: workspace"), "message: %s", e.msg);
    fke_arena_free(&small);
    FKE_CHECK(fke_conv2d_workspace_bytes(&x, &w, o, 1) >= fke_conv2d_workspace_bytes(&x, &w, o, 0),
              "workspace sizes");
    a->used = mark;
}

static void test_batchnorm(fke_arena *a, fke_rng *r)
{
    size_t mark = a->used;
    fke_err e;
    int N = 4, C = 3, H = 5, W = 2, M = N * H * W;
    fke_tensor x = mk(a, 4, N, C, H, W), y = mk(a, 4, N, C, H, W);
    fke_tensor g = mk(a, 1, C, 0, 0, 0), b = mk(a, 1, C, 0, 0, 0), rm = mk(a, 1, C, 0, 0, 0),
               rv = mk(a, 1, C, 0, 0, 0), mu = mk(a, 1, C, 0, 0, 0), is = mk(a, 1, C, 0, 0, 0);
    fke_test_fill(r, &x, -1, 1);
    for (int c = 0; c < C; c++) g.data[c] = 1, b.data[c] = 0, rm.data[c] = 0, rv.data[c] = 1;
    FKE_CHECK(fke_batchnorm_forward(&e, &x, &g, &b, &rm, &rv, 1, &mu, &is, &y) == FKE_OK, "%s",
              e.msg);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H * W; i++) s += x.data[(n * C + c) * H * W + i];
        double m = s / M;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H * W; i++) {
                double d = x.data[(n * C + c) * H * W + i] - m;
                ss += d * d;
            }
        FKE_CHECK(fabs(rm.data[c] - 0.1 * m) < 1e-6, "running mean %g vs %g", rm.data[c], 0.1 * m);
        FKE_CHECK(fabs(rv.data[c] - (0.9 + 0.1 * ss / (M - 1))) < 1e-6,
                  "running var %g (unbiased) vs %g", rv.data[c], 0.9 + 0.1 * ss / (M - 1));
        FKE_CHECK(fabs(is.data[c] - 1 / sqrt(ss / M + 1e-5)) < 1e-5, "inv_std (biased var)");
        double ys = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H * W; i++) ys += y.data[(n * C + c) * H * W + i];
        FKE_CHECK(fabs(ys / M) < 1e-5, "normalised mean %g", ys / M);
    }
    /* eval uses the running statistics and leaves them alone */
    float rm0 = rm.data[0], rv0 = rv.data[0];
    FKE_CHECK(fke_batchnorm_forward(&e, &x, &g, &b, &rm, &rv, 0, &mu, &is, &y) == FKE_OK, "%s",
              e.msg);
    FKE_CHECK(rm.data[0] == rm0 && rv.data[0] == rv0, "eval changed running stats");
    FKE_CHECK(fabs(y.data[0] - (x.data[0] - rm0) / sqrt(rv0 + 1e-5)) < 1e-5, "eval output");
    fke_tensor bad = mk(a, 1, C + 1, 0, 0, 0);
    FKE_CHECK(fke_batchnorm_forward(&e, &x, &bad, &b, &rm, &rv, 1, &mu, &is, &y) == FKE_ERR_SHAPE,
              "bad gamma accepted");
    FKE_CHECK(strstr(e.msg, "batchnorm: gamma has shape (4), expected (3)"), "message: %s", e.msg);
    a->used = mark;
}

static void test_pool_dropout_glue(fke_arena *a, fke_rng *r)
{
    size_t mark = a->used;
    fke_err e;
    /* maxpool 2x2 stride 2 over a 1x1x4x5 ramp: the last column is dropped */
    fke_tensor x = mk(a, 4, 1, 1, 4, 5), y = mk(a, 4, 1, 1, 2, 2), dx = mk(a, 4, 1, 1, 4, 5);
    for (int i = 0; i < 20; i++) x.data[i] = (fke_real)((i * 7) % 20);
    int32_t am[4];
    FKE_CHECK(fke_maxpool2d_forward(&e, &x, 2, 2, &y, am) == FKE_OK, "%s", e.msg);
    for (int oh = 0; oh < 2; oh++)
        for (int ow = 0; ow < 2; ow++) {
            float m = -1;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    if (x.data[(2 * oh + i) * 5 + 2 * ow + j] > m) m = x.data[(2 * oh + i) * 5 + 2 * ow + j];
            FKE_CHECK(y.data[oh * 2 + ow] == m && x.data[am[oh * 2 + ow]] == m, "maxpool value");
        }
    fke_tensor dy = mk(a, 4, 1, 1, 2, 2);
    for (int i = 0; i < 4; i++) dy.data[i] = 1;
    FKE_CHECK(fke_maxpool2d_backward(&e, &dy, am, &dx) == FKE_OK, "%s", e.msg);
    double s = 0;
    for (int i = 0; i < 20; i++) s += dx.data[i];
    FKE_CHECK(s == 4, "maxpool backward routes each dy once");
    /* the 2x2 stride-2 fast path against a naive scan on random values with
     * ties (values on a coarse grid): the first maximum in row-major order wins */
    {
        int N = 3, C = 4, H = 9, W = 7, Ho = 4, Wo = 3;
        fke_tensor xr = mk(a, 4, N, C, H, W), yr = mk(a, 4, N, C, Ho, Wo);
        int32_t amr[3 * 4 * 4 * 3];
        for (size_t i = 0; i < fke_numel(&xr); i++)
            xr.data[i] = (fke_real)(fke_rng_below(r, 5)) - 2;
        FKE_CHECK(fke_maxpool2d_forward(&e, &xr, 2, 2, &yr, amr) == FKE_OK, "%s", e.msg);
        int bad = 0;
        for (int pl = 0; pl < N * C; pl++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    const fke_real *xp = xr.data + (size_t)pl * H * W;
                    int best = 2 * oh * W + 2 * ow;
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++) {
                            int idx = (2 * oh + i) * W + 2 * ow + j;
                            if (xp[idx] > xp[best]) best = idx;
                        }
                    int o = (pl * Ho + oh) * Wo + ow;
                    bad += yr.data[o] != xp[best] || amr[o] != best;
                }
        FKE_CHECK(bad == 0, "maxpool 2x2: %d outputs differ from the naive scan", bad);
    }
    fke_tensor ybad = mk(a, 4, 1, 1, 2, 3);
    FKE_CHECK(fke_maxpool2d_forward(&e, &x, 2, 2, &ybad, am) == FKE_ERR_SHAPE, "maxpool bad y");

    /* dropout: about p of the elements dropped, the rest scaled; eval is identity */
    fke_tensor d = mk(a, 2, 100, 100, 0, 0), m = mk(a, 2, 100, 100, 0, 0), dy2 = mk(a, 2, 100, 100, 0, 0);
    fke_test_fill(r, &d, -1, 1);
    FKE_CHECK(fke_dropout_forward(&e, &d, 0.4, 1, r, &m, &dy2) == FKE_OK, "%s", e.msg);
    int zeros = 0, ok = 1;
    for (int i = 0; i < 10000; i++) {
        if (m.data[i] == 0) zeros++;
        else ok &= fabsf(m.data[i] - 1 / 0.6f) < 1e-6f && dy2.data[i] == d.data[i] * m.data[i];
    }
    FKE_CHECK(zeros > 3700 && zeros < 4300 && ok, "dropout dropped %d of 10000", zeros);
    FKE_CHECK(fke_dropout_forward(&e, &d, 0.4, 0, r, NULL, &dy2) == FKE_OK, "%s", e.msg);
    FKE_CHECK(same_bits(&d, &dy2), "eval dropout is not the identity");
    FKE_CHECK(fke_dropout_forward(&e, &d, 1.0, 1, r, &m, &dy2) == FKE_ERR_ARG, "p = 1 accepted");

    /* concat then slice gives the parts back */
    fke_tensor p0 = mk(a, 2, 3, 2, 0, 0), p1 = mk(a, 2, 3, 5, 0, 0), cat = mk(a, 2, 3, 7, 0, 0);
    fke_tensor back = mk(a, 2, 3, 5, 0, 0);
    fke_test_fill(r, &p0, -1, 1), fke_test_fill(r, &p1, -1, 1);
    const fke_tensor *parts[] = {&p0, &p1};
    FKE_CHECK(fke_concat_forward(&e, 2, parts, &cat) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_slice_forward(&e, &cat, 2, 7, &back) == FKE_OK, "%s", e.msg);
    FKE_CHECK(same_bits(&back, &p1), "slice of concat");
    fke_tensor cbad = mk(a, 2, 3, 6, 0, 0);
    FKE_CHECK(fke_concat_forward(&e, 2, parts, &cbad) == FKE_ERR_SHAPE, "concat bad y");
    FKE_CHECK(strstr(e.msg, "concat: y has shape (3, 6), the inputs give (3, 7)"), "message: %s",
              e.msg);
    FKE_CHECK(fke_slice_forward(&e, &cat, 5, 8, &back) == FKE_ERR_ARG, "slice out of range");
    FKE_CHECK(fke_add_forward(&e, &p0, &p1, &p1) == FKE_ERR_SHAPE, "add of different shapes");
    a->used = mark;
}

int main(void)
{
    openblas_set_num_threads(1); /* OpenMP owns the cores */
    fke_arena a;
    fke_err e;
    if (fke_arena_init(&a, (size_t)64 << 20, &e) != FKE_OK) {
        printf("%s\n", e.msg);
        return 1;
    }
    fke_rng r;
    fke_rng_seed(&r, 42);
    test_conv_vs_naive(&a, &r, 3, 3, 9, 8, 5, 3, 3, 1, 1);
    test_conv_vs_naive(&a, &r, 4, 4, 9, 10, 6, 3, 3, 2, 1);
    test_conv_vs_naive(&a, &r, 2, 5, 11, 11, 4, 7, 7, 2, 3);
    test_conv_vs_naive(&a, &r, 3, 6, 5, 7, 8, 1, 1, 1, 0);
    test_conv_vs_naive(&a, &r, 3, 6, 8, 7, 8, 1, 1, 2, 0);
    test_conv_vs_naive(&a, &r, 1, 2, 6, 5, 3, 2, 3, 1, 2);
    test_threads(&a, &r);
    for (int bf = 0; bf <= fke_bf16_available(); bf++) {
        test_groups(&a, &r, 37, 16, 8, 8, 24, 3, 1, 1, bf); /* 8x8: 12 groups of 3 or 4 (10 rounded up to a multiple of 4) */
        test_groups(&a, &r, 5, 8, 13, 13, 16, 3, 2, 1, bf); /* 7x7: 5 images, under a group */
        test_groups(&a, &r, 7, 12, 6, 6, 10, 1, 1, 0, bf);  /* 1x1 stride 1 */
        /* 14x14: groups of at most 2, so 3 images are a group of one (the
         * per-image path in a grouped plan) and one of two */
        test_groups(&a, &r, 3, 8, 14, 14, 8, 3, 1, 1, bf);
        test_groups(&a, &r, 3, 8, 14, 14, 8, 1, 1, 0, bf); /* the same, 1x1: x_0 its own col */
    }
    test_conv_errors(&a);
    test_batchnorm(&a, &r);
    test_pool_dropout_glue(&a, &r);
    fke_arena_free(&a);
    return fke_test_summary("cnn");
}
