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


/* ---- conv2d ------------------------------------------------------------ */
typedef struct {
    fke_conv2d_opt o;
    fke_tensor x, W, b, y, r, dx, dW, db;
} conv_ctx;

static fke_status conv_loss(fke_gc *g, void *p, double *L)
{
    conv_ctx *c = p;
    FKE_TRY(fke_conv2d_forward(&g->err, &c->x, &c->W, &c->b, c->o, &c->y, &g->arena));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status conv_grad(fke_gc *g, void *p)
{
    conv_ctx *c = p;
    FKE_TRY(fke_conv2d_forward(&g->err, &c->x, &c->W, &c->b, c->o, &c->y, &g->arena));
    return fke_conv2d_backward(&g->err, &c->x, &c->W, &c->r, c->o, &c->dx, &c->dW, &c->db,
                               &g->arena);
}

static int conv_case(fke_gc *g, const char *name, int N, int C, int H, int W, int O, int kh,
                     int kw, int stride, int pad)
{
    conv_ctx c;
    c.o.stride = stride;
    c.o.pad = pad;
    int Ho = fke_conv2d_out_size(H, kh, stride, pad), Wo = fke_conv2d_out_size(W, kw, stride, pad);
    c.x = fke_gc_tensor(g, 4, N, C, H, W);
    c.W = fke_gc_tensor(g, 4, O, C, kh, kw);
    c.b = fke_gc_tensor(g, 1, O);
    c.y = fke_gc_tensor(g, 4, N, O, Ho, Wo);
    c.dx = fke_gc_tensor(g, 4, N, C, H, W);
    c.dW = fke_gc_tensor(g, 4, O, C, kh, kw);
    c.db = fke_gc_tensor(g, 1, O);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    fke_gc_fill_uniform(g, &c.W, -1, 1);
    fke_gc_fill_uniform(g, &c.b, -1, 1);
    fke_gc_var(g, "x", &c.x, &c.dx);
    fke_gc_var(g, "W", &c.W, &c.dW);
    fke_gc_var(g, "b", &c.b, &c.db);
    return fke_gc_run(g, name, conv_loss, conv_grad, &c) ? 0 : 1;
}

/* stride 2, pad 1, 3x3: the last input column falls out of the floor */
static int gc_conv2d(fke_gc *g) { return conv_case(g, "conv2d", 2, 3, 7, 6, 4, 3, 3, 2, 1); }
/* stride 1, pad 1, a 3x2 kernel */
static int gc_conv2d_s1(fke_gc *g) { return conv_case(g, "conv2d_s1", 3, 2, 5, 6, 3, 3, 2, 1, 1); }
/* 1x1 stride 1 pad 0: the path without im2col */
static int gc_conv2d_1x1(fke_gc *g) { return conv_case(g, "conv2d_1x1", 3, 3, 4, 5, 4, 1, 1, 1, 0); }

/* ---- batchnorm --------------------------------------------------------- */
typedef struct {
    int train;
    fke_tensor x, gamma, beta, rmean, rvar, mean, istd, y, r, dx, dgamma, dbeta;
} bn_ctx;

static fke_status bn_loss(fke_gc *g, void *p, double *L)
{
    bn_ctx *c = p;
    FKE_TRY(fke_batchnorm_forward(&g->err, &c->x, &c->gamma, &c->beta, &c->rmean, &c->rvar,
                                  c->train, &c->mean, &c->istd, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status bn_grad(fke_gc *g, void *p)
{
    bn_ctx *c = p;
    FKE_TRY(bn_loss(g, p, &(double){0}));
    return fke_batchnorm_backward(&g->err, &c->x, &c->gamma, &c->mean, &c->istd, &c->r,
                                  c->train, &c->dx, &c->dgamma, &c->dbeta);
}

static int bn_case(fke_gc *g, const char *name, int train)
{
    bn_ctx c;
    int N = 3, C = 4, H = 3, W = 2;
    c.train = train;
    c.x = fke_gc_tensor(g, 4, N, C, H, W);
    c.dx = fke_gc_tensor(g, 4, N, C, H, W);
    c.y = fke_gc_tensor(g, 4, N, C, H, W);
    c.gamma = fke_gc_tensor(g, 1, C);
    c.beta = fke_gc_tensor(g, 1, C);
    c.dgamma = fke_gc_tensor(g, 1, C);
    c.dbeta = fke_gc_tensor(g, 1, C);
    c.rmean = fke_gc_tensor(g, 1, C);
    c.rvar = fke_gc_tensor(g, 1, C);
    c.mean = fke_gc_tensor(g, 1, C);
    c.istd = fke_gc_tensor(g, 1, C);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -2, 2);
    fke_gc_fill_uniform(g, &c.gamma, 0.5, 1.5);
    fke_gc_fill_uniform(g, &c.beta, -1, 1);
    fke_gc_fill_uniform(g, &c.rmean, -0.5, 0.5);
    fke_gc_fill_uniform(g, &c.rvar, 0.5, 1.5);
    fke_gc_var(g, "x", &c.x, &c.dx);
    fke_gc_var(g, "gamma", &c.gamma, &c.dgamma);
    fke_gc_var(g, "beta", &c.beta, &c.dbeta);
    return fke_gc_run(g, name, bn_loss, bn_grad, &c) ? 0 : 1;
}

static int gc_batchnorm_train(fke_gc *g) { return bn_case(g, "batchnorm_train", 1); }
static int gc_batchnorm_eval(fke_gc *g) { return bn_case(g, "batchnorm_eval", 0); }

/* ---- relu -------------------------------------------------------------- */
typedef struct {
    fke_tensor x, y, r, dx;
} un_ctx;

static fke_status relu_loss(fke_gc *g, void *p, double *L)
{
    un_ctx *c = p;
    FKE_TRY(fke_relu_forward(&g->err, &c->x, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status relu_grad(fke_gc *g, void *p)
{
    un_ctx *c = p;
    FKE_TRY(fke_relu_forward(&g->err, &c->x, &c->y));
    return fke_relu_backward(&g->err, &c->y, &c->r, &c->dx);
}

static int gc_relu(fke_gc *g)
{
    un_ctx c;
    c.x = fke_gc_tensor(g, 3, 3, 5, 7);
    c.y = fke_gc_tensor(g, 3, 3, 5, 7);
    c.dx = fke_gc_tensor(g, 3, 3, 5, 7);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    /* |x| >= 0.05: no input within a step of the kink */
    for (size_t i = 0; c.x.data && i < fke_numel(&c.x); i++)
        c.x.data[i] = c.x.data[i] < 0 ? c.x.data[i] - 0.05 : c.x.data[i] + 0.05;
    fke_gc_var(g, "x", &c.x, &c.dx);
    return fke_gc_run(g, "relu", relu_loss, relu_grad, &c) ? 0 : 1;
}

/* ---- dropout ----------------------------------------------------------- */
typedef struct {
    fke_rng seed; /* every forward draws the same mask from a copy of this */
    fke_tensor x, mask, y, r, dx;
} drop_ctx;

static fke_status drop_fwd(fke_gc *g, drop_ctx *c)
{
    fke_rng rng = c->seed;
    return fke_dropout_forward(&g->err, &c->x, 0.3, 1, &rng, &c->mask, &c->y);
}

static fke_status drop_loss(fke_gc *g, void *p, double *L)
{
    drop_ctx *c = p;
    FKE_TRY(drop_fwd(g, c));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status drop_grad(fke_gc *g, void *p)
{
    drop_ctx *c = p;
    FKE_TRY(drop_fwd(g, c));
    return fke_dropout_backward(&g->err, &c->mask, &c->r, &c->dx);
}

static int gc_dropout(fke_gc *g)
{
    drop_ctx c;
    c.seed = g->rng;
    fke_rng_u64(&g->rng);
    c.x = fke_gc_tensor(g, 2, 5, 9);
    c.mask = fke_gc_tensor(g, 2, 5, 9);
    c.y = fke_gc_tensor(g, 2, 5, 9);
    c.dx = fke_gc_tensor(g, 2, 5, 9);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    fke_gc_var(g, "x", &c.x, &c.dx);
    return fke_gc_run(g, "dropout", drop_loss, drop_grad, &c) ? 0 : 1;
}

/* ---- maxpool2d --------------------------------------------------------- */
typedef struct {
    int k, s;
    int32_t *argmax; /* (N, C, Ho, Wo) */
    fke_tensor x, y, r, dx;
} mp_ctx;

static fke_status mp_loss(fke_gc *g, void *p, double *L)
{
    mp_ctx *c = p;
    FKE_TRY(fke_maxpool2d_forward(&g->err, &c->x, c->k, c->s, &c->y, c->argmax));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status mp_grad(fke_gc *g, void *p)
{
    mp_ctx *c = p;
    FKE_TRY(fke_maxpool2d_forward(&g->err, &c->x, c->k, c->s, &c->y, c->argmax));
    return fke_maxpool2d_backward(&g->err, &c->r, c->argmax, &c->dx);
}

static int gc_maxpool2d(fke_gc *g)
{
    mp_ctx c;
    int N = 2, C = 3, H = 7, W = 6;
    c.k = 3, c.s = 2; /* overlapping windows: an input can win twice */
    int Ho = fke_maxpool2d_out_size(H, c.k, c.s), Wo = fke_maxpool2d_out_size(W, c.k, c.s);
    c.x = fke_gc_tensor(g, 4, N, C, H, W);
    c.dx = fke_gc_tensor(g, 4, N, C, H, W);
    c.y = fke_gc_tensor(g, 4, N, C, Ho, Wo);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    c.argmax = fke_arena_alloc(&g->arena, &g->err, (size_t)N * C * Ho * Wo * sizeof(int32_t));
    /* distinct values 0.01 apart, shuffled: no ties within a step */
    size_t n = fke_numel(&c.x);
    for (size_t i = 0; c.x.data && i < n; i++) c.x.data[i] = 0.01 * (double)i - 1;
    for (size_t i = n; c.x.data && i > 1; i--) {
        size_t j = fke_rng_below(&g->rng, (uint32_t)i);
        fke_real t = c.x.data[i - 1];
        c.x.data[i - 1] = c.x.data[j], c.x.data[j] = t;
    }
    fke_gc_var(g, "x", &c.x, &c.dx);
    return fke_gc_run(g, "maxpool2d", mp_loss, mp_grad, &c) ? 0 : 1;
}

/* ---- global average pool ----------------------------------------------- */
static fke_status gap_loss(fke_gc *g, void *p, double *L)
{
    un_ctx *c = p;
    FKE_TRY(fke_avgpool_global_forward(&g->err, &c->x, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status gap_grad(fke_gc *g, void *p)
{
    un_ctx *c = p;
    FKE_TRY(fke_avgpool_global_forward(&g->err, &c->x, &c->y));
    return fke_avgpool_global_backward(&g->err, &c->r, &c->dx);
}

static int gc_avgpool_global(fke_gc *g)
{
    un_ctx c;
    c.x = fke_gc_tensor(g, 4, 2, 3, 4, 5);
    c.dx = fke_gc_tensor(g, 4, 2, 3, 4, 5);
    c.y = fke_gc_tensor(g, 2, 2, 3);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    fke_gc_var(g, "x", &c.x, &c.dx);
    return fke_gc_run(g, "avgpool_global", gap_loss, gap_grad, &c) ? 0 : 1;
}

/* ---- add --------------------------------------------------------------- */
typedef struct {
    fke_tensor a, b, y, r, da, db;
} add_ctx;

static fke_status add_loss(fke_gc *g, void *p, double *L)
{
    add_ctx *c = p;
    FKE_TRY(fke_add_forward(&g->err, &c->a, &c->b, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status add_grad(fke_gc *g, void *p)
{
    add_ctx *c = p;
    FKE_TRY(fke_add_forward(&g->err, &c->a, &c->b, &c->y));
    return fke_add_backward(&g->err, &c->r, &c->da, &c->db);
}

static int gc_add(fke_gc *g)
{
    add_ctx c;
    c.a = fke_gc_tensor(g, 4, 2, 3, 3, 5);
    c.b = fke_gc_tensor(g, 4, 2, 3, 3, 5);
    c.y = fke_gc_tensor(g, 4, 2, 3, 3, 5);
    c.da = fke_gc_tensor(g, 4, 2, 3, 3, 5);
    c.db = fke_gc_tensor(g, 4, 2, 3, 3, 5);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.a, -1, 1);
    fke_gc_fill_uniform(g, &c.b, -1, 1);
    fke_gc_var(g, "a", &c.a, &c.da);
    fke_gc_var(g, "b", &c.b, &c.db);
    return fke_gc_run(g, "add", add_loss, add_grad, &c) ? 0 : 1;
}

/* ---- concat ------------------------------------------------------------ */
typedef struct {
    fke_tensor x[3], dx[3], y, r;
} cat_ctx;

static fke_status cat_loss(fke_gc *g, void *p, double *L)
{
    cat_ctx *c = p;
    const fke_tensor *xs[] = {&c->x[0], &c->x[1], &c->x[2]};
    FKE_TRY(fke_concat_forward(&g->err, 3, xs, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status cat_grad(fke_gc *g, void *p)
{
    cat_ctx *c = p;
    const fke_tensor *xs[] = {&c->x[0], &c->x[1], &c->x[2]};
    fke_tensor *dxs[] = {&c->dx[0], &c->dx[1], &c->dx[2]};
    FKE_TRY(fke_concat_forward(&g->err, 3, xs, &c->y));
    return fke_concat_backward(&g->err, &c->r, 3, xs, dxs);
}

static int gc_concat(fke_gc *g)
{
    cat_ctx c;
    static const char *names[] = {"x0", "x1", "x2"};
    int N = 3, D[3] = {2, 4, 1};
    for (int i = 0; i < 3; i++) {
        c.x[i] = fke_gc_tensor(g, 2, N, D[i]);
        c.dx[i] = fke_gc_tensor(g, 2, N, D[i]);
        fke_gc_fill_uniform(g, &c.x[i], -1, 1);
    }
    c.y = fke_gc_tensor(g, 2, N, D[0] + D[1] + D[2]);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    for (int i = 0; i < 3; i++) fke_gc_var(g, names[i], &c.x[i], &c.dx[i]);
    return fke_gc_run(g, "concat", cat_loss, cat_grad, &c) ? 0 : 1;
}

/* ---- slice ------------------------------------------------------------- */
static fke_status slice_loss(fke_gc *g, void *p, double *L)
{
    un_ctx *c = p;
    FKE_TRY(fke_slice_forward(&g->err, &c->x, 2, 5, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status slice_grad(fke_gc *g, void *p)
{
    un_ctx *c = p;
    FKE_TRY(fke_slice_forward(&g->err, &c->x, 2, 5, &c->y));
    return fke_slice_backward(&g->err, &c->r, 2, &c->dx);
}

static int gc_slice(fke_gc *g)
{
    un_ctx c;
    c.x = fke_gc_tensor(g, 2, 3, 7);
    c.dx = fke_gc_tensor(g, 2, 3, 7);
    c.y = fke_gc_tensor(g, 2, 3, 3);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    fke_gc_var(g, "x", &c.x, &c.dx);
    return fke_gc_run(g, "slice", slice_loss, slice_grad, &c) ? 0 : 1;
}

const fke_gc_case fke_gc_cnn_cases[] = {
    {"conv2d", gc_conv2d},
    {"conv2d_s1", gc_conv2d_s1},
    {"conv2d_1x1", gc_conv2d_1x1},
    {"batchnorm_train", gc_batchnorm_train},
    {"batchnorm_eval", gc_batchnorm_eval},
    {"relu", gc_relu},
    {"dropout", gc_dropout},
    {"maxpool2d", gc_maxpool2d},
    {"avgpool_global", gc_avgpool_global},
    {"add", gc_add},
    {"concat", gc_concat},
    {"slice", gc_slice},
    {0, 0},
};
