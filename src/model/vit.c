/* vit.c - see vit.h. */
#include "model/vit.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layernorm.h"

#define LN_EPS 1e-5

static const char *const blk_names[FKE_TBLOCK_NPARAM] = {
    "ln_1.weight",          "ln_1.bias",           "attn.in_proj_weight", "attn.in_proj_bias",
    "attn.out_proj.weight", "attn.out_proj.bias",  "ln_2.weight",         "ln_2.bias",
    "mlp.c_fc.weight",      "mlp.c_fc.bias",       "mlp.c_proj.weight",   "mlp.c_proj.bias"};

static int add(fke_params *P, fke_err *e, const char *name, float lr, float decay, int ndim,
               int d0, int d1, int d2, int d3)
{
    char full[FKE_PARAM_NAME + 8]; /* too long a name is refused by fke_params_add */
    snprintf(full, sizeof full, "visual.%s", name);
    if (ndim == 1) return fke_params_add(P, e, full, lr, decay, 1, 1, d0);
    if (ndim == 2) return fke_params_add(P, e, full, lr, decay, 1, 2, d0, d1);
    return fke_params_add(P, e, full, lr, decay, 1, 4, d0, d1, d2, d3);
}

fke_status fke_vit_build(fke_vit *v, fke_params *P, fke_err *e, int S, int in_ch, int patch,
                         int E, int depth, int heads, int mlp, int D, float lr_mult)
{
    if (patch < 1 || S < patch || S % patch || in_ch < 1)
        return fke_fail(e, FKE_ERR_CONFIG, "vit: image size %d is not a multiple of patch %d",
                        S, patch);
    if (heads < 1 || E < heads || E % heads || mlp < 1 || D < 1)
        return fke_fail(e, FKE_ERR_CONFIG, "vit: width %d must be a multiple of heads %d "
                        "(mlp %d, out %d)", E, heads, mlp, D);
    if (depth < 1 || depth > FKE_VIT_MAXDEPTH)
        return fke_fail(e, FKE_ERR_CONFIG, "vit: depth %d is not in 1..%d", depth,
                        FKE_VIT_MAXDEPTH);
    memset(v, 0, sizeof *v);
    v->S = S, v->in_ch = in_ch, v->patch = patch, v->E = E, v->depth = depth;
    v->heads = heads, v->mlp = mlp, v->D = D;
    v->grid = S / patch;
    v->T = v->grid * v->grid + 1;
    /* weight decay on matrices only, as CLIP's training recipe */
    v->conv1 = add(P, e, "conv1.weight", lr_mult, 1, 4, E, in_ch, patch, patch);
    v->cls = add(P, e, "class_embedding", lr_mult, 0, 1, E, 0, 0, 0);
    v->pos = add(P, e, "positional_embedding", lr_mult, 0, 2, v->T, E, 0, 0);
    v->ln_pre[0] = add(P, e, "ln_pre.weight", lr_mult, 0, 1, E, 0, 0, 0);
    v->ln_pre[1] = add(P, e, "ln_pre.bias", lr_mult, 0, 1, E, 0, 0, 0);
    int shape[FKE_TBLOCK_NPARAM][2] = {{E, 0},   {E, 0},   {3 * E, E}, {3 * E, 0},
                                       {E, E},   {E, 0},   {E, 0},     {E, 0},
                                       {mlp, E}, {mlp, 0}, {E, mlp},   {E, 0}};
    for (int l = 0; l < depth; l++)
        for (int i = 0; i < FKE_TBLOCK_NPARAM; i++) {
            char name[FKE_PARAM_NAME];
            snprintf(name, sizeof name, "transformer.resblocks.%d.%s", l, blk_names[i]);
            int mat = shape[i][1] != 0;
            v->blk[l][i] = add(P, e, name, lr_mult, mat ? 1 : 0, mat ? 2 : 1, shape[i][0],
                               shape[i][1], 0, 0);
            if (v->blk[l][i] < 0) return FKE_ERR_ARG;
        }
    v->ln_post[0] = add(P, e, "ln_post.weight", lr_mult, 0, 1, E, 0, 0, 0);
    v->ln_post[1] = add(P, e, "ln_post.bias", lr_mult, 0, 1, E, 0, 0, 0);
    v->proj = add(P, e, "proj", lr_mult, 1, 2, E, D, 0, 0);
    if (v->conv1 < 0 || v->cls < 0 || v->pos < 0 || v->ln_pre[0] < 0 || v->ln_pre[1] < 0 ||
        v->ln_post[0] < 0 || v->ln_post[1] < 0 || v->proj < 0)
        return FKE_ERR_ARG;
    return FKE_OK;
}

static void normal(fke_params *P, int idx, double sd, fke_rng *rng)
{
    fke_tensor t = fke_params_value(P, idx);
    for (size_t k = 0; k < fke_numel(&t); k++) t.data[k] = (fke_real)(sd * fke_rng_normal(rng));
}

static void constant(fke_params *P, int idx, double c)
{
    fke_tensor t = fke_params_value(P, idx);
    for (size_t k = 0; k < fke_numel(&t); k++) t.data[k] = (fke_real)c;
}

void fke_vit_init_weights(const fke_vit *v, fke_params *P, fke_rng *rng)
{
    double scale = 1.0 / sqrt((double)v->E);
    double attn_sd = scale, proj_sd = scale / sqrt(2.0 * v->depth);
    double fc_sd = 1.0 / sqrt(2.0 * v->E);
    fke_tensor w = fke_params_value(P, v->conv1);
    double bound = 1.0 / sqrt((double)v->in_ch * v->patch * v->patch);
    for (size_t k = 0; k < fke_numel(&w); k++)
        w.data[k] = (fke_real)(bound * (2 * fke_rng_uniform(rng) - 1));
    normal(P, v->cls, scale, rng);
    normal(P, v->pos, scale, rng);
    constant(P, v->ln_pre[0], 1);
    constant(P, v->ln_pre[1], 0);
    for (int l = 0; l < v->depth; l++) {
        const int *b = v->blk[l];
        constant(P, b[0], 1), constant(P, b[1], 0), constant(P, b[6], 1), constant(P, b[7], 0);
        normal(P, b[2], attn_sd, rng), constant(P, b[3], 0);
        normal(P, b[4], proj_sd, rng), constant(P, b[5], 0);
        normal(P, b[8], fc_sd, rng), constant(P, b[9], 0);
        normal(P, b[10], proj_sd, rng), constant(P, b[11], 0);
    }
    constant(P, v->ln_post[0], 1);
    constant(P, v->ln_post[1], 0);
    normal(P, v->proj, scale, rng);
}

/* block l's parameters (value = 1) or gradients (value = 0) as tensor views */
static fke_tblock_params block(const fke_vit *v, const fke_params *P, int l, int value)
{
    fke_tblock_params bp;
    fke_tensor *t = fke_tblock_param_list(&bp);
    for (int i = 0; i < FKE_TBLOCK_NPARAM; i++)
        t[i] = value ? fke_params_value(P, v->blk[l][i]) : fke_params_grad(P, v->blk[l][i]);
    return bp;
}

fke_status fke_vit_forward(const fke_vit *v, fke_params *P, fke_arena *a, fke_err *e,
                           const fke_tensor *x, fke_vit_tape *t, fke_tensor *out)
{
    FKE_EXPECT(e, "vit", "x", x, -1, v->in_ch, v->S, v->S);
    int B = x->shape[0], E = v->E, T = v->T, p = v->patch, G = v->grid, NP = G * G;
    int K = v->in_ch * p * p;
    FKE_EXPECT(e, "vit", "out", out, B, v->D);
    memset(t, 0, sizeof *t);
    t->B = B;
    FKE_TRY(fke_arena_tensor(a, e, &t->patches, 2, B * NP, K));
    FKE_TRY(fke_arena_tensor(a, e, &t->x0, 2, B * T, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->mean_pre, 1, B * T));
    FKE_TRY(fke_arena_tensor(a, e, &t->rstd_pre, 1, B * T));
    for (int l = 0; l <= v->depth; l++) FKE_TRY(fke_arena_tensor(a, e, &t->xs[l], 3, B, T, E));
    for (int l = 0; l < v->depth; l++)
    {
        FKE_TRY(fke_tblock_cache_alloc(a, e, B, T, E, v->heads, v->mlp, &t->blk[l]));
        t->blk[l].quick_gelu = v->quick_gelu;
    }
    FKE_TRY(fke_arena_tensor(a, e, &t->cls, 2, B, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->cls_n, 2, B, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->mean_post, 1, B));
    FKE_TRY(fke_arena_tensor(a, e, &t->dcls, 2, B, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->dcls_n, 2, B, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->dxa, 3, B, T, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->dxb, 3, B, T, E));
    FKE_TRY(fke_arena_tensor(a, e, &t->rstd_post, 1, B));
    /* patches, in the order of a stride-p convolution's output pixels */
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < G; gy++)
            for (int gx = 0; gx < G; gx++) {
                fke_real *row = t->patches.data + ((size_t)b * NP + gy * G + gx) * K;
                for (int c = 0; c < v->in_ch; c++)
                    for (int ky = 0; ky < p; ky++)
                        memcpy(row + (c * p + ky) * p,
                               x->data + (((size_t)b * v->in_ch + c) * v->S + gy * p + ky) * v->S +
                                   gx * p,
                               (size_t)p * sizeof(fke_real));
            }
    /* embeddings into rows 1..P of each post, the class token in row 0 */
    fke_tensor W = fke_params_value(P, v->conv1);
    fke_tensor cls = fke_params_value(P, v->cls), pos = fke_params_value(P, v->pos);
    for (int b = 0; b < B; b++)
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, NP, E, K, 1,
                 t->patches.data + (size_t)b * NP * K, K, W.data, K, 0,
                 t->x0.data + ((size_t)b * T + 1) * E, E);
    for (int b = 0; b < B; b++) {
        fke_real *xb = t->x0.data + (size_t)b * T * E;
        memcpy(xb, cls.data, (size_t)E * sizeof(fke_real));
        for (size_t i = 0; i < (size_t)T * E; i++) xb[i] += pos.data[i];
    }
    fke_tensor lnw = fke_params_value(P, v->ln_pre[0]), lnb = fke_params_value(P, v->ln_pre[1]);
    fke_tensor xs0 = fke_tensor_view(t->xs[0].data, 2, B * T, E);
    FKE_TRY(fke_layernorm_forward(e, &t->x0, &lnw, &lnb, LN_EPS, &t->mean_pre, &t->rstd_pre,
                                  &xs0));
    for (int l = 0; l < v->depth; l++) {
        fke_tblock_params bp = block(v, P, l, 1);
        FKE_TRY(fke_tblock_forward(e, &bp, &t->xs[l], &t->blk[l], &t->xs[l + 1]));
    }
    for (int b = 0; b < B; b++) {
        const fke_real *xb = t->xs[v->depth].data + (size_t)b * T * E;
        fke_real *cb = t->cls.data + (size_t)b * E;
        if (!v->mean_pool) {
            memcpy(cb, xb, (size_t)E * sizeof(fke_real));
            continue;
        }
        for (int i = 0; i < E; i++) { /* the patch tokens' mean, in token order */
            double sum = 0;
            for (int k = 1; k < T; k++) sum += xb[(size_t)k * E + i];
            cb[i] = (fke_real)(sum / (T - 1));
        }
    }
    lnw = fke_params_value(P, v->ln_post[0]), lnb = fke_params_value(P, v->ln_post[1]);
    FKE_TRY(fke_layernorm_forward(e, &t->cls, &lnw, &lnb, LN_EPS, &t->mean_post, &t->rstd_post,
                                  &t->cls_n));
    fke_tensor proj = fke_params_value(P, v->proj);
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, v->D, E, 1, t->cls_n.data, E,
             proj.data, v->D, 0, out->data, v->D);
    return FKE_OK;
}

fke_status fke_vit_backward(const fke_vit *v, fke_params *P, fke_err *e, fke_vit_tape *t,
                            const fke_tensor *dout)
{
    int B = t->B, E = v->E, T = v->T, D = v->D, p = v->patch, NP = v->grid * v->grid;
    int K = v->in_ch * p * p;
    FKE_EXPECT(e, "vit backward", "dout", dout, B, D);
    size_t BTE = (size_t)B * T * E;
    /* out = cls_n proj: dproj += cls_n^T dout, dcls_n = dout proj^T */
    fke_tensor proj = fke_params_value(P, v->proj), dproj = fke_params_grad(P, v->proj);
    FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, E, D, B, 1, t->cls_n.data, E, dout->data,
             D, 1, dproj.data, D);
    memset(t->dcls_n.data, 0, (size_t)B * E * sizeof(fke_real));
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, E, D, 1, dout->data, D, proj.data, D, 0,
             t->dcls_n.data, E);
    /* ln_post, then the class token's row of the last stream */
    memset(t->dcls.data, 0, (size_t)B * E * sizeof(fke_real));
    fke_tensor lnw = fke_params_value(P, v->ln_post[0]);
    fke_tensor dlnw = fke_params_grad(P, v->ln_post[0]), dlnb = fke_params_grad(P, v->ln_post[1]);
    FKE_TRY(fke_layernorm_backward(e, &t->cls, &lnw, &t->mean_post, &t->rstd_post, &t->dcls_n,
                                   &t->dcls, &dlnw, &dlnb));
    fke_tensor *cur = &t->dxa, *nxt = &t->dxb;
    memset(cur->data, 0, BTE * sizeof(fke_real));
    for (int b = 0; b < B; b++) {
        fke_real *gb = cur->data + (size_t)b * T * E;
        const fke_real *db = t->dcls.data + (size_t)b * E;
        if (!v->mean_pool) {
            memcpy(gb, db, (size_t)E * sizeof(fke_real));
            continue;
        }
        for (int k = 1; k < T; k++)
            for (int i = 0; i < E; i++) gb[(size_t)k * E + i] = db[i] / (fke_real)(T - 1);
    }
    /* the blocks in reverse, the gradient passed between two buffers */
    for (int l = v->depth - 1; l >= 0; l--) {
        fke_tblock_params bp = block(v, P, l, 1), dbp = block(v, P, l, 0);
        memset(nxt->data, 0, BTE * sizeof(fke_real));
        FKE_TRY(fke_tblock_backward(e, &bp, &t->xs[l], &t->blk[l], cur, nxt, &dbp));
        fke_tensor *sw = cur;
        cur = nxt;
        nxt = sw;
    }
    /* ln_pre: its input gradient into nxt, as (B*T, E) */
    fke_tensor dxs0 = fke_tensor_view(cur->data, 2, B * T, E);
    fke_tensor dx0 = fke_tensor_view(nxt->data, 2, B * T, E);
    memset(dx0.data, 0, BTE * sizeof(fke_real));
    lnw = fke_params_value(P, v->ln_pre[0]);
    dlnw = fke_params_grad(P, v->ln_pre[0]), dlnb = fke_params_grad(P, v->ln_pre[1]);
    FKE_TRY(fke_layernorm_backward(e, &t->x0, &lnw, &t->mean_pre, &t->rstd_pre, &dxs0, &dx0,
                                   &dlnw, &dlnb));
    /* x0 = [cls; emb] + pos */
    fke_tensor dcls = fke_params_grad(P, v->cls), dpos = fke_params_grad(P, v->pos);
    fke_tensor dW = fke_params_grad(P, v->conv1);
    for (int b = 0; b < B; b++) {
        const fke_real *g = dx0.data + (size_t)b * T * E;
        for (size_t i = 0; i < (size_t)T * E; i++) dpos.data[i] += g[i];
        for (int i = 0; i < E; i++) dcls.data[i] += g[i];
        /* dW += demb^T patches */
        FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, E, K, NP, 1, g + E, E,
                 t->patches.data + (size_t)b * NP * K, K, 1, dW.data, K);
    }
    return FKE_OK;
}
