/* clip.c - see clip.h. Dimension legend: B posts, C channels, S image side,
 * F CNN features, L caption tokens, D word embedding, Co filters per TextCNN
 * bank, K joint embedding. */
#include "model/clip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/batchnorm.h"
#include "nn/contrastive.h"
#include "nn/embedding.h"
#include "nn/gather.h"
#include "nn/linear.h"
#include "nn/textcnn.h"

#define LOGIT_SCALE0 2.6592600369327779 /* log(1 / 0.07) */
#define LOGIT_SCALE_MAX 4.6051701859880914 /* log 100 */

static fke_tensor W(const fke_clip *m, int i) { return fke_params_value(m->P, i); }
static fke_tensor dW(const fke_clip *m, int i) { return fke_params_grad(m->P, i); }

fke_status fke_clip_init(fke_clip *m, const fke_config *cfg, fke_params *P, fke_err *e)
{
    memset(m, 0, sizeof *m);
    FKE_TRY(fke_config_validate(cfg, e));
    if (cfg->task != FKE_TASK_CLIP)
        return fke_fail(e, FKE_ERR_CONFIG, "clip: config task is not \"clip\"");
    m->cfg = *cfg;
    const fke_config *c = &m->cfg;
    m->P = P ? P : &m->own;
    P = m->P;
    fke_params_init(P);
    int K = c->embed_dim;
    m->vit_on = c->image_tower == FKE_TOWER_VIT;
    m->img_proj = -1;
    if (m->vit_on) {
        if (c->precision != FKE_PREC_FP32)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"precision\": bf16 is for the CNN's "
                            "convolutions; image_tower vit has none (use precision fp32)");
        FKE_TRY(fke_vit_build(&m->vit, P, e, c->img, c->in_ch, c->vit_patch, c->vit_width,
                              c->vit_depth, c->vit_heads, 4 * c->vit_width, K,
                              (float)c->lr_cnn_mult));
        m->vit.mean_pool = c->vit_pool == FKE_VIT_POOL_MEAN;
        m->vit.quick_gelu = c->vit_act == FKE_VIT_ACT_QUICK_GELU;
    } else {
        FKE_TRY(fke_cnn_build(&m->cnn, P, e, c->cnn, c->in_ch, c->chans, (float)c->lr_cnn_mult,
                              c->clip_crops ? 2 : 1));
        FKE_TRY(fke_cnn_set_precision(&m->cnn, c->precision, e));
        if ((m->img_proj = fke_params_add_linear(P, e, "img_proj", c->F, K, 0, NULL)) < 0)
            return FKE_ERR_ARG;
    }
    m->img_bn[0] = m->img_bn[1] = m->img_bn[2] = m->img_bn[3] = -1;
    static const char *const bn_fields[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; c->img_bn && i < 4; i++) {
        char n[FKE_PARAM_NAME];
        snprintf(n, sizeof n, "img_bn.%s", bn_fields[i]);
        if ((m->img_bn[i] = fke_params_add(P, e, n, 1, 0, i < 2, 1, K)) < 0) return FKE_ERR_ARG;
    }
    FKE_TRY(fke_textcnn_add_params(P, e, c->V, c->D, c->Co, FKE_CLIP_NW, &m->emb, m->tconv_w,
                                   m->tconv_b));
    m->txt_proj = fke_params_add_linear(P, e, "text_proj", FKE_CLIP_NW * c->Co, K, 0, NULL);
    m->logit_scale = fke_params_add(P, e, "logit_scale", 1, 0, 1, 1, 1);
    if (m->txt_proj < 0 || m->logit_scale < 0) return FKE_ERR_ARG;
    FKE_TRY(fke_params_finalize(P, e));
    fke_rng r;
    fke_rng_seed(&r, c->seed);
    if (m->vit_on) {
        fke_vit_init_weights(&m->vit, P, &r);
    } else {
        fke_cnn_init_weights(&m->cnn, P, &r);
        fke_params_init_linear(P, m->img_proj, -1, &r);
    }
    fke_textcnn_init_params(P, m->emb, FKE_CLIP_NW, m->tconv_w, m->tconv_b, &r);
    fke_params_init_linear(P, m->txt_proj, -1, &r);
    W(m, m->logit_scale).data[0] = (fke_real)LOGIT_SCALE0;
    for (int i = 0; c->img_bn && i < K; i++) /* PyTorch's BatchNorm1d start */
        W(m, m->img_bn[0]).data[i] = 1, W(m, m->img_bn[3]).data[i] = 1;
    return FKE_OK;
}

void fke_clip_free(fke_clip *m)
{
    if (m->P == &m->own) fke_params_free(&m->own);
    fke_arena_free(&m->arena);
    memset(m, 0, sizeof *m);
}

static fke_status T2(fke_clip *m, fke_err *e, fke_tensor *t, int a, int b)
{
    return fke_arena_tensor(&m->arena, e, t, 2, a, b);
}

/* x (B, C, S, S) -> m->img_u (B, K) unit rows (and the tape of the backward) */
static fke_status image_fwd(fke_clip *m, const fke_tensor *x, int train, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int B = x->shape[0], K = c->embed_dim;
    m->img_x = *x;
    FKE_TRY(T2(m, e, &m->img_e, B, K));
    if (m->vit_on) {
        FKE_TRY(fke_vit_forward(&m->vit, m->P, &m->arena, e, &m->img_x, &m->vtape, &m->img_e));
    } else {
        FKE_TRY(T2(m, e, &m->feat, B, c->F));
        FKE_TRY(fke_cnn_forward(&m->cnn, m->P, &m->arena, e, &m->img_x, train, 0, &m->ctape,
                                &m->feat));
        fke_tensor Wp = W(m, m->img_proj);
        FKE_TRY(fke_linear_forward(e, &m->feat, &Wp, NULL, &m->img_e));
    }
    const fke_tensor *pre = &m->img_e;
    if (c->img_bn) { /* (B, K) as (B, K, 1, 1) */
        fke_tensor x4 = fke_tensor_view(m->img_e.data, 4, B, K, 1, 1), y4;
        FKE_TRY(fke_arena_tensor(&m->arena, e, &y4, 4, B, K, 1, 1));
        FKE_TRY(fke_arena_tensor(&m->arena, e, &m->bn_mean, 1, K));
        FKE_TRY(fke_arena_tensor(&m->arena, e, &m->bn_istd, 1, K));
        fke_tensor g = W(m, m->img_bn[0]), b = W(m, m->img_bn[1]), rm = W(m, m->img_bn[2]),
                   rv = W(m, m->img_bn[3]);
        m->bn_train = train && B > 1; /* one picture alone: the running statistics */
        FKE_TRY(fke_batchnorm_forward(e, &x4, &g, &b, &rm, &rv, m->bn_train, &m->bn_mean,
                                      &m->bn_istd, &y4));
        m->img_b = fke_tensor_view(y4.data, 2, B, K);
        pre = &m->img_b;
    }
    FKE_TRY(T2(m, e, &m->img_u, B, K));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->img_n, 1, B));
    return fke_l2norm_forward(e, pre, &m->img_n, &m->img_u);
}

/* clip_crops: the whole images and the valid crops of b -> m->inst_u
 * (B + Nv, K) unit rows, img_u and crop_u its views, owner and gidx */
static fke_status images_mil_fwd(fke_clip *m, const fke_batch *b, int train, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int B = b->B, G = c->G, K = c->embed_dim, C = c->in_ch, s = c->crop, S = c->img;
    if (b->G != G || b->crop != s)
        return fke_fail(e, FKE_ERR_SHAPE, "clip: batch of G %d, crop %d; the model has G %d, "
                        "crop %d", b->G, b->crop, G, s);
    int Nv = 0;
    for (int i = 0; i < B; i++) {
        int g = b->n_garments[i];
        if (g < 0 || g > G)
            return fke_fail(e, FKE_ERR_ARG, "clip: post %d has %d garments (0..%d allowed)", i, g, G);
        Nv += g;
    }
    int R = B + Nv;
    m->Nv = Nv;
    m->gidx = fke_arena_alloc(&m->arena, e, sizeof(int32_t) * (size_t)(Nv > 0 ? Nv : 1));
    m->owner = fke_arena_alloc(&m->arena, e, sizeof(int32_t) * (size_t)R);
    if (!m->gidx || !m->owner) return FKE_ERR_NOMEM;
    for (int i = 0; i < B; i++) m->owner[i] = i;
    for (int i = 0, v = 0; i < B; i++)
        for (int g = 0; g < b->n_garments[i]; g++, v++) m->gidx[v] = i * G + g, m->owner[B + v] = i;
    FKE_TRY(T2(m, e, &m->inst_e, R, K));
    fke_tensor Wp = W(m, m->img_proj);
    m->img_x = fke_tensor_view(b->img_x, 4, B, C, S, S);
    FKE_TRY(T2(m, e, &m->feat, B, c->F));
    FKE_TRY(fke_cnn_forward(&m->cnn, m->P, &m->arena, e, &m->img_x, train, 0, &m->ctape, &m->feat));
    fke_tensor ew = fke_tensor_view(m->inst_e.data, 2, B, K);
    FKE_TRY(fke_linear_forward(e, &m->feat, &Wp, NULL, &ew));
    if (Nv > 0) {
        FKE_TRY(fke_arena_tensor(&m->arena, e, &m->crop_x, 4, Nv, C, s, s));
        fke_tensor cx = fke_tensor_view(b->crop_x, 3, B, G, C * s * s);
        const fke_tensor *src[] = {&cx};
        FKE_TRY(fke_gather_forward(e, 1, src, m->gidx, FKE_NO_STEP, &m->crop_x));
        FKE_TRY(T2(m, e, &m->crop_feat, Nv, c->F));
        FKE_TRY(fke_cnn_forward(&m->cnn, m->P, &m->arena, e, &m->crop_x, train, 1, &m->ctape_crop,
                                &m->crop_feat));
        fke_tensor ec = fke_tensor_view(m->inst_e.data + (size_t)B * K, 2, Nv, K);
        FKE_TRY(fke_linear_forward(e, &m->crop_feat, &Wp, NULL, &ec));
    }
    FKE_TRY(T2(m, e, &m->inst_u, R, K));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->inst_n, 1, R));
    FKE_TRY(fke_l2norm_forward(e, &m->inst_e, &m->inst_n, &m->inst_u));
    m->img_e = fke_tensor_view(m->inst_e.data, 2, B, K);
    m->img_u = fke_tensor_view(m->inst_u.data, 2, B, K);
    m->crop_u = fke_tensor_view(m->inst_u.data + (size_t)B * K, 2, Nv > 0 ? Nv : 1, K);
    return FKE_OK;
}

/* tokens (B, L) -> m->txt_u (B, K) unit rows */
static fke_status text_fwd(fke_clip *m, const int32_t *tokens, int B, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int K = c->embed_dim, NC = FKE_CLIP_NW * c->Co;
    m->tokens = tokens;
    fke_tensor tab = W(m, m->emb), Wc[FKE_CLIP_NW], bc[FKE_CLIP_NW];
    for (int k = 0; k < FKE_CLIP_NW; k++) Wc[k] = W(m, m->tconv_w[k]), bc[k] = W(m, m->tconv_b[k]);
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->temb, 3, B, c->L, c->D));
    FKE_TRY(fke_embedding_forward(e, tokens, B, c->L, &tab, &m->temb));
    FKE_TRY(T2(m, e, &m->tconv, B, NC));
    m->targ = fke_arena_alloc(&m->arena, e, sizeof(int32_t) * (size_t)B * NC);
    if (!m->targ) return FKE_ERR_NOMEM;
    FKE_TRY(fke_textcnn_forward(e, &m->temb, FKE_CLIP_NW, Wc, bc, &m->tconv, m->targ, &m->arena));
    FKE_TRY(T2(m, e, &m->txt_e, B, K));
    fke_tensor Wt = W(m, m->txt_proj);
    FKE_TRY(fke_linear_forward(e, &m->tconv, &Wt, NULL, &m->txt_e));
    FKE_TRY(T2(m, e, &m->txt_u, B, K));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->txt_n, 1, B));
    return fke_l2norm_forward(e, &m->txt_e, &m->txt_n, &m->txt_u);
}

fke_status fke_clip_forward(fke_clip *m, const fke_batch *b, int train, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int B = b->B;
    if (B < 1 || b->img != c->img || b->L != c->L)
        return fke_fail(e, FKE_ERR_SHAPE, "clip: batch of %d posts, img %d, L %d; the model "
                        "has img %d, L %d", B, b->img, b->L, c->img, c->L);
    fke_arena_reset(&m->arena);
    m->B = B;
    fke_tensor x = fke_tensor_view(b->img_x, 4, B, c->in_ch, c->img, c->img);
    if (c->clip_crops) FKE_TRY(images_mil_fwd(m, b, train, e));
    else FKE_TRY(image_fwd(m, &x, train, e));
    FKE_TRY(text_fwd(m, b->tokens, B, e));
    FKE_TRY(T2(m, e, &m->logits, B, B));
    fke_tensor ls = W(m, m->logit_scale);
    if (!c->clip_crops) return fke_similarity_forward(e, &m->img_u, &m->txt_u, &ls, &m->logits);
    FKE_TRY(T2(m, e, &m->inst_logits, B + m->Nv, B));
    FKE_TRY(fke_similarity_forward(e, &m->inst_u, &m->txt_u, &ls, &m->inst_logits));
    m->arg = fke_arena_alloc(&m->arena, e, sizeof(int32_t) * (size_t)B * B);
    if (!m->arg) return FKE_ERR_NOMEM;
    return fke_milmax_forward(e, &m->inst_logits, m->owner, &m->logits, m->arg);
}

fke_status fke_clip_embed_images(fke_clip *m, const fke_real *x, int B, fke_real *out,
                                 fke_err *e)
{
    const fke_config *c = &m->cfg;
    if (B < 1) return fke_fail(e, FKE_ERR_ARG, "clip: %d images to embed", B);
    fke_arena_reset(&m->arena);
    fke_tensor xt = fke_tensor_view((fke_real *)x, 4, B, c->in_ch, c->img, c->img);
    FKE_TRY(image_fwd(m, &xt, 0, e));
    memcpy(out, m->img_u.data, sizeof(fke_real) * (size_t)B * c->embed_dim);
    return FKE_OK;
}

fke_status fke_clip_embed_crops(fke_clip *m, const fke_real *x, int B, fke_real *out,
                                fke_err *e)
{
    const fke_config *c = &m->cfg;
    if (!c->clip_crops)
        return fke_fail(e, FKE_ERR_ARG, "clip: the model was trained without clip_crops; embed "
                        "crops stretched to the image side instead");
    if (B < 1) return fke_fail(e, FKE_ERR_ARG, "clip: %d crops to embed", B);
    int K = c->embed_dim;
    fke_arena_reset(&m->arena);
    fke_tensor xt = fke_tensor_view((fke_real *)x, 4, B, c->in_ch, c->crop, c->crop), f, pe, n, u;
    FKE_TRY(T2(m, e, &f, B, c->F));
    FKE_TRY(fke_cnn_forward(&m->cnn, m->P, &m->arena, e, &xt, 0, 1, &m->ctape_crop, &f));
    FKE_TRY(T2(m, e, &pe, B, K));
    fke_tensor Wp = W(m, m->img_proj);
    FKE_TRY(fke_linear_forward(e, &f, &Wp, NULL, &pe));
    FKE_TRY(T2(m, e, &u, B, K));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &n, 1, B));
    FKE_TRY(fke_l2norm_forward(e, &pe, &n, &u));
    memcpy(out, u.data, sizeof(fke_real) * (size_t)B * K);
    return FKE_OK;
}

double fke_clip_post_score(const fke_real *img, const fke_real *crop, int ng,
                           const fke_real *txt, int K)
{
    double best = -INFINITY;
    for (int g = -1; g < (crop ? ng : 0); g++) {
        const fke_real *a = g < 0 ? img : crop + (size_t)g * K;
        double d = 0;
        for (int q = 0; q < K; q++) d += (double)a[q] * txt[q];
        if (d > best) best = d;
    }
    return best;
}

fke_status fke_clip_embed_texts(fke_clip *m, const int32_t *tokens, int B, fke_real *out,
                                fke_err *e)
{
    const fke_config *c = &m->cfg;
    if (B < 1) return fke_fail(e, FKE_ERR_ARG, "clip: %d texts to embed", B);
    for (long i = 0; i < (long)B * c->L; i++)
        if (tokens[i] < 0 || tokens[i] >= c->V)
            return fke_fail(e, FKE_ERR_ARG, "clip: token %ld is %d, outside the vocabulary "
                            "0..%d", i, tokens[i], c->V - 1);
    fke_arena_reset(&m->arena);
    FKE_TRY(text_fwd(m, tokens, B, e));
    memcpy(out, m->txt_u.data, sizeof(fke_real) * (size_t)B * c->embed_dim);
    return FKE_OK;
}

double fke_clip_temperature(const fke_clip *m)
{
    return exp((double)W(m, m->logit_scale).data[0]);
}

fke_status fke_clip_loss(fke_clip *m, double *loss, double *acc, fke_err *e)
{
    return fke_infonce_forward(e, &m->logits, loss, acc);
}

fke_status fke_clip_backward(fke_clip *m, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int B = m->B, K = c->embed_dim, NC = FKE_CLIP_NW * c->Co;
    fke_tensor dlog, diu, dtu, die, dte, dtc, demb;
    int R = c->clip_crops ? B + m->Nv : B;
    FKE_TRY(T2(m, e, &dlog, B, B));
    FKE_TRY(fke_infonce_backward(e, &m->logits, 1.0, &dlog));
    FKE_TRY(T2(m, e, &diu, R, K));
    FKE_TRY(T2(m, e, &dtu, B, K));
    fke_tensor ls = W(m, m->logit_scale), dls = dW(m, m->logit_scale);
    if (c->clip_crops) { /* the post logits' gradient to the instances they took */
        fke_tensor dinst;
        FKE_TRY(T2(m, e, &dinst, R, B));
        FKE_TRY(fke_milmax_backward(e, m->arg, &dlog, &dinst));
        FKE_TRY(fke_similarity_backward(e, &m->inst_u, &m->txt_u, &ls, &m->inst_logits, &dinst,
                                        &diu, &dtu, &dls));
    } else {
        FKE_TRY(fke_similarity_backward(e, &m->img_u, &m->txt_u, &ls, &m->logits, &dlog, &diu,
                                        &dtu, &dls));
    }
    /* the text tower, in reverse */
    FKE_TRY(T2(m, e, &dte, B, K));
    FKE_TRY(fke_l2norm_backward(e, &m->txt_u, &m->txt_n, &dtu, &dte));
    FKE_TRY(T2(m, e, &dtc, B, NC));
    fke_tensor Wt = W(m, m->txt_proj), dWt = dW(m, m->txt_proj);
    FKE_TRY(fke_linear_backward(e, &m->tconv, &Wt, &dte, &dtc, &dWt, NULL));
    fke_tensor Wc[FKE_CLIP_NW], dWc[FKE_CLIP_NW], dbc[FKE_CLIP_NW];
    for (int k = 0; k < FKE_CLIP_NW; k++) {
        Wc[k] = W(m, m->tconv_w[k]);
        dWc[k] = dW(m, m->tconv_w[k]);
        dbc[k] = dW(m, m->tconv_b[k]);
    }
    FKE_TRY(fke_arena_tensor(&m->arena, e, &demb, 3, B, c->L, c->D));
    FKE_TRY(fke_textcnn_backward(e, &m->temb, FKE_CLIP_NW, Wc, &m->tconv, m->targ, &dtc, &demb,
                                 dWc, dbc));
    fke_tensor dtab = dW(m, m->emb);
    FKE_TRY(fke_embedding_backward(e, m->tokens, B, c->L, &demb, &dtab));
    /* the image tower, in reverse */
    if (c->clip_crops) { /* every instance: the projection, the crops' CNN, the images' */
        FKE_TRY(T2(m, e, &die, R, K));
        FKE_TRY(fke_l2norm_backward(e, &m->inst_u, &m->inst_n, &diu, &die));
        fke_tensor Wp = W(m, m->img_proj), dWp = dW(m, m->img_proj), dfeat;
        if (m->Nv > 0) {
            fke_tensor dc = fke_tensor_view(die.data + (size_t)B * K, 2, m->Nv, K), dcf;
            FKE_TRY(T2(m, e, &dcf, m->Nv, c->F));
            FKE_TRY(fke_linear_backward(e, &m->crop_feat, &Wp, &dc, &dcf, &dWp, NULL));
            FKE_TRY(fke_cnn_backward(&m->cnn, m->P, &m->arena, e, &m->ctape_crop, &dcf, NULL));
        }
        fke_tensor dw = fke_tensor_view(die.data, 2, B, K);
        FKE_TRY(T2(m, e, &dfeat, B, c->F));
        FKE_TRY(fke_linear_backward(e, &m->feat, &Wp, &dw, &dfeat, &dWp, NULL));
        return fke_cnn_backward(&m->cnn, m->P, &m->arena, e, &m->ctape, &dfeat, NULL);
    }
    FKE_TRY(T2(m, e, &die, B, K));
    FKE_TRY(fke_l2norm_backward(e, &m->img_u, &m->img_n, &diu, &die));
    if (c->img_bn) { /* die is the gradient of the batch norm's output */
        fke_tensor dy4 = fke_tensor_view(die.data, 4, B, K, 1, 1), dx4;
        fke_tensor x4 = fke_tensor_view(m->img_e.data, 4, B, K, 1, 1);
        FKE_TRY(fke_arena_tensor(&m->arena, e, &dx4, 4, B, K, 1, 1));
        memset(dx4.data, 0, sizeof(fke_real) * (size_t)B * K);
        fke_tensor g = W(m, m->img_bn[0]), dg = dW(m, m->img_bn[0]), db = dW(m, m->img_bn[1]);
        FKE_TRY(fke_batchnorm_backward(e, &x4, &g, &m->bn_mean, &m->bn_istd, &dy4, m->bn_train,
                                       &dx4, &dg, &db));
        die = fke_tensor_view(dx4.data, 2, B, K);
    }
    if (m->vit_on) return fke_vit_backward(&m->vit, m->P, e, &m->vtape, &die);
    fke_tensor dfeat, Wp = W(m, m->img_proj), dWp = dW(m, m->img_proj);
    FKE_TRY(T2(m, e, &dfeat, B, c->F));
    FKE_TRY(fke_linear_backward(e, &m->feat, &Wp, &die, &dfeat, &dWp, NULL));
    return fke_cnn_backward(&m->cnn, m->P, &m->arena, e, &m->ctape, &dfeat, NULL);
}

void fke_clip_clamp(fke_clip *m)
{
    fke_real *t = W(m, m->logit_scale).data;
    if (*t > LOGIT_SCALE_MAX) *t = (fke_real)LOGIT_SCALE_MAX;
}

fke_status fke_clip_plan(fke_clip *m, fke_err *e)
{
    const fke_config *c = &m->cfg;
    size_t big = (size_t)16 << 30;
    fke_arena_free(&m->arena);
    while (fke_arena_init(&m->arena, big, NULL) != FKE_OK) { /* lazily committed */
        big /= 2;
        if (big < ((size_t)256 << 20))
            return fke_fail(e, FKE_ERR_NOMEM, "clip: cannot reserve memory for the step arena");
    }
    fke_batch bt;
    fke_status st = fke_batch_alloc(&bt, c->batch, c->G, c->n_attr, c->L, c->in_ch, c->img,
                                    c->crop, e);
    fke_real *saved = st == FKE_OK ? malloc(m->P->total * sizeof(fke_real)) : NULL;
    if (st == FKE_OK && !saved) st = fke_fail(e, FKE_ERR_NOMEM, "clip: out of memory");
    if (st == FKE_OK) {
        memcpy(saved, m->P->w, m->P->total * sizeof(fke_real)); /* bn running stats move */
        for (int i = 0; i < bt.B; i++) bt.n_garments[i] = c->G; /* the most crops a batch has */
        double l;
        st = fke_clip_forward(m, &bt, 1, e);
        if (st == FKE_OK) st = fke_clip_loss(m, &l, NULL, e);
        if (st == FKE_OK) st = fke_clip_backward(m, e);
        memcpy(m->P->w, saved, m->P->total * sizeof(fke_real));
        fke_params_zero_grad(m->P);
    }
    free(saved);
    fke_batch_free(&bt);
    size_t need = m->arena.peak + m->arena.peak / 8 + ((size_t)1 << 20);
    fke_arena_free(&m->arena);
    if (st != FKE_OK) return st;
    return fke_arena_init(&m->arena, need, e);
}

fke_status fke_clip_recall(const fke_real *a, const fke_real *b, int N, int K, int k,
                           double *recall, fke_err *e)
{
    if (N < 1 || K < 1 || k < 1)
        return fke_fail(e, FKE_ERR_ARG, "clip recall: N %d, K %d, k %d must be >= 1", N, K, k);
    fke_scored *s = malloc(sizeof *s * (size_t)N);
    if (!s) return fke_fail(e, FKE_ERR_NOMEM, "clip recall: out of memory");
    int hit = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            double d = 0;
            for (int q = 0; q < K; q++) d += (double)a[(size_t)i * K + q] * b[(size_t)j * K + q];
            s[j].score = d;
            s[j].id = j;
        }
        fke_scored_sort(s, (size_t)N, 1);
        for (int r = 0; r < k && r < N; r++) hit += s[r].id == i;
    }
    free(s);
    *recall = (double)hit / N;
    return FKE_OK;
}

fke_status fke_clip_embed_posts(fke_clip *m, const fke_dataset *d, fke_real *img, fke_real *txt,
                                fke_err *e)
{
    return fke_clip_embed_posts_crops(m, d, img, NULL, txt, e);
}

fke_status fke_clip_embed_posts_crops(fke_clip *m, const fke_dataset *d, fke_real *img,
                                      fke_real *crop, fke_real *txt, fke_err *e)
{
    const fke_config *c = &m->cfg;
    if (crop && !c->clip_crops)
        return fke_fail(e, FKE_ERR_ARG, "clip: crop embeddings asked of a model without clip_crops");
    if (crop) memset(crop, 0, sizeof(fke_real) * (size_t)d->N * c->G * c->embed_dim);
    int K = c->embed_dim;
    fke_loader ld;
    FKE_TRY(fke_loader_init(&ld, d, c->batch, 0, 0, 0, e));
    fke_status st = FKE_OK;
    long n = 0;
    for (;;) {
        fke_batch *b;
        if ((st = fke_loader_next(&ld, &b, e)) != FKE_OK || !b) break;
        if ((st = fke_clip_forward(m, b, 0, e)) != FKE_OK) break;
        for (int i = 0; i < b->B; i++) {
            size_t row = (size_t)b->index[i] * K;
            if (img) memcpy(img + row, m->img_u.data + (size_t)i * K, sizeof(fke_real) * K);
            if (txt) memcpy(txt + row, m->txt_u.data + (size_t)i * K, sizeof(fke_real) * K);
        }
        for (int v = 0; crop && v < m->Nv; v++) {
            int i = m->gidx[v] / c->G, g = m->gidx[v] % c->G;
            memcpy(crop + ((size_t)b->index[i] * c->G + g) * K, m->crop_u.data + (size_t)v * K,
                   sizeof(fke_real) * K);
        }
        n += b->B;
    }
    fke_loader_free(&ld);
    if (st == FKE_OK && n != d->N)
        st = fke_fail(e, FKE_ERR_ARG, "clip: embedded %ld of the %d posts of %s", n, d->N,
                      d->path[0] ? d->path : "the dataset");
    return st;
}

const int fke_clip_recall_k[FKE_CLIP_NK] = {1, 5, 10};

/* clip_crops: recall by the post score (whole image or a crop, the higher) */
static fke_status recall_mil(fke_clip *m, const fke_dataset *d, fke_real *img, fke_real *txt,
                             double recall[2][FKE_CLIP_NK], fke_err *e)
{
    int K = m->cfg.embed_dim, N = d->N, G = m->cfg.G;
    fke_real *crop = malloc(sizeof(fke_real) * (size_t)N * G * K);
    fke_scored *sc = malloc(sizeof *sc * (size_t)N);
    fke_status st = crop && sc ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "clip: out of memory");
    if (st == FKE_OK) st = fke_clip_embed_posts_crops(m, d, img, crop, txt, e);
    for (int dir = 0; st == FKE_OK && dir < 2; dir++) {
        int hit[FKE_CLIP_NK] = {0};
        for (int i = 0; i < N; i++) { /* dir 0: post i x every caption j; 1: caption i x post j */
            for (int j = 0; j < N; j++) {
                int p = dir ? j : i, t = dir ? i : j;
                sc[j].score = fke_clip_post_score(img + (size_t)p * K, crop + (size_t)p * G * K,
                                                  d->n_garments[p], txt + (size_t)t * K, K);
                sc[j].id = j;
            }
            fke_scored_sort(sc, (size_t)N, 1);
            for (int k = 0; k < FKE_CLIP_NK; k++)
                for (int r = 0; r < fke_clip_recall_k[k] && r < N; r++) hit[k] += sc[r].id == i;
        }
        for (int k = 0; k < FKE_CLIP_NK; k++) recall[dir][k] = (double)hit[k] / N;
    }
    free(crop);
    free(sc);
    return st;
}

fke_status fke_clip_eval_posts(fke_clip *m, const fke_dataset *d, double recall[2][FKE_CLIP_NK],
                               fke_err *e)
{
    int K = m->cfg.embed_dim, N = d->N;
    if (N < 1) return fke_fail(e, FKE_ERR_ARG, "clip: %s has no posts", d->path);
    fke_real *img = malloc(sizeof(fke_real) * (size_t)N * K);
    fke_real *txt = malloc(sizeof(fke_real) * (size_t)N * K);
    fke_status st = img && txt ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "clip: out of memory");
    if (st == FKE_OK && m->cfg.clip_crops) {
        st = recall_mil(m, d, img, txt, recall, e);
        free(img);
        free(txt);
        return st;
    }
    if (st == FKE_OK) st = fke_clip_embed_posts(m, d, img, txt, e);
    for (int k = 0; st == FKE_OK && k < FKE_CLIP_NK; k++) {
        st = fke_clip_recall(img, txt, N, K, fke_clip_recall_k[k], &recall[0][k], e);
        if (st == FKE_OK) st = fke_clip_recall(txt, img, N, K, fke_clip_recall_k[k], &recall[1][k], e);
    }
    free(img);
    free(txt);
    return st;
}
