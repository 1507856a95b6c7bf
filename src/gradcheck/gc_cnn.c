/* gc_cnn.c - gradient checks of the CNN operations: conv2d (strided, stride 1
 * with a non-square kernel, 1x1), batch-norm (training and eval), ReLU,
 * dropout, max-pool, global average pool, residual add, concat and slice.
 * Sizes are odd and small; inputs are kept off kinks (ReLU away from 0,
 * max-pool without ties). */
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "gradcheck/gradcheck.h"
#include "nn/pool.h"
#include "nn/tensor_ops.h"

#include <string.h>


/* ---- conv2d ------------------------------------------------------------ */
typedef struct {
    fke_conv2d_opt o;
    int bias;
    fke_tensor x, W, b, y, r, dx, dW, db;
} conv_ctx;

static fke_status conv_forward(fke_gc *g, void *p)
{
    conv_ctx *c = p;
    return fke_conv2d_forward(&g->err, &c->x, &c->W, c->bias ? &c->b : NULL, c->o, &c->y,
                              &g->arena);
}

static fke_status conv_backward(fke_gc *g, void *p)
{
    conv_ctx *c = p;
    return fke_conv2d_backward(&g->err, &c->x, &c->W, &c->r, c->o, &c->dx, &c->dW,
                               c->bias ? &c->db : NULL, &g->arena);
}

/* o: stride, pad and algo; bias 0: none */
static int conv_run(fke_gc *g, const char *name, int N, int C, int H, int W, int O, int kh,
                    int kw, fke_conv2d_opt o, int bias)
{
    conv_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.bias = bias;
    int Ho = fke_conv2d_out_size(H, kh, o.stride, o.pad);
    int Wo = fke_conv2d_out_size(W, kw, o.stride, o.pad);
    fke_gc_output(g, &c.y, &c.r, 4, N, O, Ho, Wo);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 4, N, C, H, W);
    fke_gc_input(g, "W", &c.W, &c.dW, -1, 1, 4, O, C, kh, kw);
    if (bias) fke_gc_input(g, "b", &c.b, &c.db, -1, 1, 1, O);
    return fke_gc_check(g, name, conv_forward, conv_backward, &c);
}

static int conv_case(fke_gc *g, const char *name, int N, int C, int H, int W, int O, int kh,
                     int kw, int stride, int pad)
{
    return conv_run(g, name, N, C, H, W, O, kh, kw, (fke_conv2d_opt){.stride = stride, .pad = pad},
                    1);
}

/* 3x3 stride 1 pad 1 forced to Winograd F(2x2, 3x3) (nn/winograd.h) */
static int wino_case(fke_gc *g, const char *name, int N, int C, int H, int W, int O, int bias)
{
    fke_conv2d_opt o = {.stride = 1, .pad = 1, .algo = FKE_CONV_WINOGRAD};
    return conv_run(g, name, N, C, H, W, O, 3, 3, o, bias);
}

/* stride 2, pad 1, 3x3: the last input column falls out of the floor */
static int gc_conv2d(fke_gc *g) { return conv_case(g, "conv2d", 2, 3, 7, 6, 4, 3, 3, 2, 1); }
/* stride 1, pad 1, a 3x2 kernel */
static int gc_conv2d_s1(fke_gc *g) { return conv_case(g, "conv2d_s1", 3, 2, 5, 6, 3, 3, 2, 1, 1); }
/* 1x1 stride 1 pad 0, 3 images in one group (conv2d.c, "plan"): im2col a copy */
static int gc_conv2d_1x1(fke_gc *g) { return conv_case(g, "conv2d_1x1", 3, 3, 4, 5, 4, 1, 1, 1, 0); }
/* the same for one image: the path without im2col */
static int gc_conv2d_1x1_one(fke_gc *g)
{
    return conv_case(g, "conv2d_1x1_one", 1, 3, 4, 5, 4, 1, 1, 1, 0);
}
/* 5 images of 5x4 outputs in one group: im2col side by side, the scatter of y
 * and the gather of dy */
static int gc_conv2d_group(fke_gc *g)
{
    return conv_case(g, "conv2d_group", 5, 2, 5, 4, 3, 3, 3, 1, 1);
}

/* Winograd: a 5x7 output (the last row and column of tiles overhang), 3x3
 * and 1x1 (one tile, mostly pad), with and without bias */
static int gc_conv2d_wino_5x7(fke_gc *g)
{
    return wino_case(g, "conv2d_wino_5x7", 2, 3, 5, 7, 4, 1);
}
static int gc_conv2d_wino_3x3(fke_gc *g)
{
    return wino_case(g, "conv2d_wino_3x3", 3, 2, 3, 3, 3, 0);
}
static int gc_conv2d_wino_1x1(fke_gc *g)
{
    return wino_case(g, "conv2d_wino_1x1", 2, 3, 1, 1, 2, 1);
}
/* 5 images of 8 x 9 tiles: 2 groups (of 2 and 3 images, 144 and 216 tiles) */
static int gc_conv2d_wino_groups(fke_gc *g)
{
    return wino_case(g, "conv2d_wino_groups", 5, 2, 16, 17, 3, 0);
}
/* 2 images of 17 x 17 tiles (289 > 256): a group each, in 2 chunks that
 * split a row of tiles */
static int gc_conv2d_wino_chunks(fke_gc *g)
{
    return wino_case(g, "conv2d_wino_chunks", 2, 1, 33, 34, 2, 1);
}

/* ---- batchnorm --------------------------------------------------------- */
typedef struct {
    int train;
    fke_tensor x, gamma, beta, rmean, rvar, mean, istd, y, r, dx, dgamma, dbeta;
} bn_ctx;

static fke_status bn_forward(fke_gc *g, void *p)
{
    bn_ctx *c = p;
    return fke_batchnorm_forward(&g->err, &c->x, &c->gamma, &c->beta, &c->rmean, &c->rvar,
                                 c->train, &c->mean, &c->istd, &c->y);
}

static fke_status bn_backward(fke_gc *g, void *p)
{
    bn_ctx *c = p;
    return fke_batchnorm_backward(&g->err, &c->x, &c->gamma, &c->mean, &c->istd, &c->r,
                                  c->train, &c->dx, &c->dgamma, &c->dbeta);
}

static int bn_case(fke_gc *g, const char *name, int train)
{
    bn_ctx c;
    int N = 3, C = 4, H = 3, W = 2;
    c.train = train;
    fke_gc_output(g, &c.y, &c.r, 4, N, C, H, W);
    fke_gc_input(g, "x", &c.x, &c.dx, -2, 2, 4, N, C, H, W);
    fke_gc_input(g, "gamma", &c.gamma, &c.dgamma, 0.5, 1.5, 1, C);
    fke_gc_input(g, "beta", &c.beta, &c.dbeta, -1, 1, 1, C);
    c.rmean = fke_gc_uniform_like(g, &c.beta, -0.5, 0.5);
    c.rvar = fke_gc_uniform_like(g, &c.beta, 0.5, 1.5);
    c.mean = fke_gc_tensor(g, 1, C);
    c.istd = fke_gc_tensor(g, 1, C);
    return fke_gc_check(g, name, bn_forward, bn_backward, &c);
}

static int gc_batchnorm_train(fke_gc *g) { return bn_case(g, "batchnorm_train", 1); }
static int gc_batchnorm_eval(fke_gc *g) { return bn_case(g, "batchnorm_eval", 0); }

/* ---- batch norm + ReLU (+ 2x2 max-pool), fused -------------------------- */
typedef struct {
    int train;
    fke_bn_act act;
    fke_tensor x, gamma, beta, rmean, rvar, mean, istd, y, r, dx, dgamma, dbeta;
    uint8_t *idx;
} bna_ctx;

static fke_status bna_forward(fke_gc *g, void *p)
{
    bna_ctx *c = p;
    return fke_batchnorm_act_forward(&g->err, &c->x, &c->gamma, &c->beta, &c->rmean, &c->rvar,
                                     c->train, c->act, &c->mean, &c->istd, &c->y, c->idx);
}

/* dx is overwritten by the op; the checker's contract is +=, so add it in */
static fke_status bna_backward(fke_gc *g, void *p)
{
    bna_ctx *c = p;
    fke_tensor d = fke_gc_tensor(g, 4, c->x.shape[0], c->x.shape[1], c->x.shape[2],
                                 c->x.shape[3]);
    if (!d.data) return FKE_ERR_NOMEM;
    FKE_TRY(fke_batchnorm_act_backward(&g->err, &c->x, &c->gamma, &c->mean, &c->istd, c->act,
                                       &c->y, c->idx, &c->r, c->train, &d, &c->dgamma,
                                       &c->dbeta));
    for (size_t i = 0; i < fke_numel(&d); i++) c->dx.data[i] += d.data[i];
    return FKE_OK;
}

/* x distinct values 0.05 apart, shuffled, and beta = 0.013 off the grid: no
 * pool ties and no ReLU input within a step of 0 */
static int bna_case(fke_gc *g, const char *name, int train, int relu, int pool, int stride,
                    int pad)
{
    bna_ctx c = {.train = train, .act = {.relu = relu, .pool = pool, .stride = stride, .pad = pad}};
    int N = 2, C = 3, H = 4, W = 6;
    int Ho = pool ? fke_maxpool2d_out_size(H + 2 * pad, pool, stride) : H;
    int Wo = pool ? fke_maxpool2d_out_size(W + 2 * pad, pool, stride) : W;
    fke_gc_output(g, &c.y, &c.r, 4, N, C, Ho, Wo);
    fke_gc_input_zero(g, "x", &c.x, &c.dx, 4, N, C, H, W);
    fke_gc_input(g, "gamma", &c.gamma, &c.dgamma, 0.5, 1.5, 1, C);
    fke_gc_input(g, "beta", &c.beta, &c.dbeta, -0.2, 0.2, 1, C);
    c.rmean = fke_gc_uniform_like(g, &c.beta, -0.5, 0.5);
    c.rvar = fke_gc_uniform_like(g, &c.beta, 0.5, 1.5);
    c.mean = fke_gc_tensor(g, 1, C);
    c.istd = fke_gc_tensor(g, 1, C);
    c.idx = fke_arena_alloc(&g->arena, &g->err, (size_t)N * C * Ho * Wo);
    size_t n = fke_numel(&c.x);
    for (size_t i = 0; c.x.data && i < n; i++) c.x.data[i] = 0.05 * (double)i - 0.05 * n / 2 + 0.013;
    for (size_t i = n; c.x.data && i > 1; i--) {
        size_t j = fke_rng_below(&g->rng, (uint32_t)i);
        fke_real t = c.x.data[i - 1];
        c.x.data[i - 1] = c.x.data[j], c.x.data[j] = t;
    }
    return fke_gc_check(g, name, bna_forward, bna_backward, &c);
}

static int gc_bn_relu_pool(fke_gc *g) { return bna_case(g, "bn_relu_pool", 1, 1, 2, 2, 0); }
static int gc_bn_relu_pool_eval(fke_gc *g)
{
    return bna_case(g, "bn_relu_pool_eval", 0, 1, 2, 2, 0);
}
static int gc_bn_pool(fke_gc *g) { return bna_case(g, "bn_pool", 1, 0, 2, 2, 0); }
/* ResNet-18's stem pool, and an overlapping one where windows share their choice */
static int gc_bn_relu_pool3(fke_gc *g) { return bna_case(g, "bn_relu_pool3", 1, 1, 3, 2, 1); }
static int gc_bn_pool3s1(fke_gc *g) { return bna_case(g, "bn_pool3s1", 1, 0, 3, 1, 1); }
static int gc_bn_relu(fke_gc *g) { return bna_case(g, "bn_relu", 1, 1, 0, 0, 0); }
static int gc_bn_act_none(fke_gc *g) { return bna_case(g, "bn_act_none", 1, 0, 0, 0, 0); }

/* ---- one-input operations: relu, dropout, maxpool2d, avgpool_global, slice
 * One context for the five, and one switch each for forward and backward, so
 * that the ops read side by side; each case below is its shapes and how it
 * keeps x off the op's kinks. */
typedef enum { UN_RELU, UN_DROPOUT, UN_MAXPOOL, UN_AVGPOOL, UN_SLICE } un_op;

typedef struct {
    un_op op;
    fke_tensor x, dx, y, r;
    fke_rng seed;    /* dropout: every forward draws the same mask from a copy of this */
    fke_tensor mask; /* dropout: shaped as x */
    int k, s;        /* maxpool: window and stride */
    int32_t *argmax; /* maxpool: (N, C, Ho, Wo) */
} un_ctx;

static fke_status un_forward(fke_gc *g, void *p)
{
    un_ctx *c = p;
    fke_rng rng = c->seed;
    switch (c->op) {
    case UN_RELU: return fke_relu_forward(&g->err, &c->x, &c->y);
    case UN_DROPOUT: return fke_dropout_forward(&g->err, &c->x, 0.3, 1, &rng, &c->mask, &c->y);
    case UN_MAXPOOL: return fke_maxpool2d_forward(&g->err, &c->x, c->k, c->s, &c->y, c->argmax);
    case UN_AVGPOOL: return fke_avgpool_global_forward(&g->err, &c->x, &c->y);
    case UN_SLICE: return fke_slice_forward(&g->err, &c->x, 2, 5, &c->y);
    }
    return fke_fail(&g->err, FKE_ERR_ARG, "gradcheck: one-input op %d is not known", (int)c->op);
}

static fke_status un_backward(fke_gc *g, void *p)
{
    un_ctx *c = p;
    switch (c->op) {
    case UN_RELU: return fke_relu_backward(&g->err, &c->y, &c->r, &c->dx);
    case UN_DROPOUT: return fke_dropout_backward(&g->err, &c->mask, &c->r, &c->dx);
    case UN_MAXPOOL: return fke_maxpool2d_backward(&g->err, &c->r, c->argmax, &c->dx);
    case UN_AVGPOOL: return fke_avgpool_global_backward(&g->err, &c->r, &c->dx);
    case UN_SLICE: return fke_slice_backward(&g->err, &c->r, 2, &c->dx);
    }
    return fke_fail(&g->err, FKE_ERR_ARG, "gradcheck: one-input op %d is not known", (int)c->op);
}

static int gc_relu(fke_gc *g)
{
    un_ctx c = {.op = UN_RELU};
    fke_gc_output(g, &c.y, &c.r, 3, 3, 5, 7);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 3, 3, 5, 7);
    /* |x| >= 0.05: no input within a step of the kink */
    for (size_t i = 0; c.x.data && i < fke_numel(&c.x); i++)
        c.x.data[i] = c.x.data[i] < 0 ? c.x.data[i] - 0.05 : c.x.data[i] + 0.05;
    return fke_gc_check(g, "relu", un_forward, un_backward, &c);
}

static int gc_dropout(fke_gc *g)
{
    un_ctx c = {.op = UN_DROPOUT, .seed = g->rng};
    fke_rng_u64(&g->rng);
    fke_gc_output(g, &c.y, &c.r, 2, 5, 9);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 2, 5, 9);
    c.mask = fke_gc_tensor(g, 2, 5, 9);
    return fke_gc_check(g, "dropout", un_forward, un_backward, &c);
}

static int gc_maxpool2d(fke_gc *g)
{
    un_ctx c = {.op = UN_MAXPOOL, .k = 3, .s = 2}; /* overlapping windows: an input can win twice */
    int N = 2, C = 3, H = 7, W = 6;
    int Ho = fke_maxpool2d_out_size(H, c.k, c.s), Wo = fke_maxpool2d_out_size(W, c.k, c.s);
    fke_gc_output(g, &c.y, &c.r, 4, N, C, Ho, Wo);
    fke_gc_input_zero(g, "x", &c.x, &c.dx, 4, N, C, H, W);
    c.argmax = fke_arena_alloc(&g->arena, &g->err, (size_t)N * C * Ho * Wo * sizeof(int32_t));
    /* distinct values 0.01 apart, shuffled: no ties within a step */
    size_t n = fke_numel(&c.x);
    for (size_t i = 0; c.x.data && i < n; i++) c.x.data[i] = 0.01 * (double)i - 1;
    for (size_t i = n; c.x.data && i > 1; i--) {
        size_t j = fke_rng_below(&g->rng, (uint32_t)i);
        fke_real t = c.x.data[i - 1];
        c.x.data[i - 1] = c.x.data[j], c.x.data[j] = t;
    }
    return fke_gc_check(g, "maxpool2d", un_forward, un_backward, &c);
}

/* y (2, 3) = the means of x (2, 3, 4, 5) over H and W */
static int gc_avgpool_global(fke_gc *g)
{
    un_ctx c = {.op = UN_AVGPOOL};
    fke_gc_output(g, &c.y, &c.r, 2, 2, 3);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 4, 2, 3, 4, 5);
    return fke_gc_check(g, "avgpool_global", un_forward, un_backward, &c);
}

/* y (3, 3) = x (3, 7)[:, 2:5] */
static int gc_slice(fke_gc *g)
{
    un_ctx c = {.op = UN_SLICE};
    fke_gc_output(g, &c.y, &c.r, 2, 3, 3);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 2, 3, 7);
    return fke_gc_check(g, "slice", un_forward, un_backward, &c);
}

/* ---- add --------------------------------------------------------------- */
typedef struct {
    fke_tensor a, b, y, r, da, db;
} add_ctx;

static fke_status add_forward(fke_gc *g, void *p)
{
    add_ctx *c = p;
    return fke_add_forward(&g->err, &c->a, &c->b, &c->y);
}

static fke_status add_backward(fke_gc *g, void *p)
{
    add_ctx *c = p;
    return fke_add_backward(&g->err, &c->r, &c->da, &c->db);
}

static int gc_add(fke_gc *g)
{
    add_ctx c;
    fke_gc_output(g, &c.y, &c.r, 4, 2, 3, 3, 5);
    fke_gc_input(g, "a", &c.a, &c.da, -1, 1, 4, 2, 3, 3, 5);
    fke_gc_input(g, "b", &c.b, &c.db, -1, 1, 4, 2, 3, 3, 5);
    return fke_gc_check(g, "add", add_forward, add_backward, &c);
}

/* ---- concat ------------------------------------------------------------ */
typedef struct {
    fke_tensor x[3], dx[3], y, r;
} cat_ctx;

static fke_status cat_forward(fke_gc *g, void *p)
{
    cat_ctx *c = p;
    const fke_tensor *xs[] = {&c->x[0], &c->x[1], &c->x[2]};
    return fke_concat_forward(&g->err, 3, xs, &c->y);
}

static fke_status cat_backward(fke_gc *g, void *p)
{
    cat_ctx *c = p;
    const fke_tensor *xs[] = {&c->x[0], &c->x[1], &c->x[2]};
    fke_tensor *dxs[] = {&c->dx[0], &c->dx[1], &c->dx[2]};
    return fke_concat_backward(&g->err, &c->r, 3, xs, dxs);
}

static int gc_concat(fke_gc *g)
{
    cat_ctx c;
    static const char *names[] = {"x0", "x1", "x2"};
    int N = 3, D[3] = {2, 4, 1};
    for (int i = 0; i < 3; i++) fke_gc_input(g, names[i], &c.x[i], &c.dx[i], -1, 1, 2, N, D[i]);
    fke_gc_output(g, &c.y, &c.r, 2, N, D[0] + D[1] + D[2]);
    return fke_gc_check(g, "concat", cat_forward, cat_backward, &c);
}

const fke_gc_case fke_gc_cnn_cases[] = {
    {"conv2d", gc_conv2d},
    {"conv2d_s1", gc_conv2d_s1},
    {"conv2d_1x1", gc_conv2d_1x1},
    {"conv2d_1x1_one", gc_conv2d_1x1_one},
    {"conv2d_group", gc_conv2d_group},
    {"conv2d_wino_5x7", gc_conv2d_wino_5x7},
    {"conv2d_wino_3x3", gc_conv2d_wino_3x3},
    {"conv2d_wino_1x1", gc_conv2d_wino_1x1},
    {"conv2d_wino_groups", gc_conv2d_wino_groups},
    {"conv2d_wino_chunks", gc_conv2d_wino_chunks},
    {"batchnorm_train", gc_batchnorm_train},
    {"batchnorm_eval", gc_batchnorm_eval},
    {"bn_relu_pool", gc_bn_relu_pool},
    {"bn_relu_pool_eval", gc_bn_relu_pool_eval},
    {"bn_pool", gc_bn_pool},
    {"bn_relu_pool3", gc_bn_relu_pool3},
    {"bn_pool3s1", gc_bn_pool3s1},
    {"bn_relu", gc_bn_relu},
    {"bn_act_none", gc_bn_act_none},
    {"relu", gc_relu},
    {"dropout", gc_dropout},
    {"maxpool2d", gc_maxpool2d},
    {"avgpool_global", gc_avgpool_global},
    {"add", gc_add},
    {"concat", gc_concat},
    {"slice", gc_slice},
    {0, 0},
};
