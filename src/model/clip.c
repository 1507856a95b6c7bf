/* clip.c - see clip.h. Dimension legend: B posts, C channels, S image side,
 * F CNN features, L caption tokens, D word embedding, Co filters per TextCNN
 * bank, K joint embedding. */
#include "model/clip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/contrastive.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/textcnn.h"

#define LOGIT_SCALE0 2.6592600369327779 /* log(1 / 0.07) */
#define LOGIT_SCALE_MAX 4.6051701859880914 /* log 100 */

static fke_tensor W(const fke_clip *m, int i) { return fke_params_value(&m->P, i); }
static fke_tensor dW(const fke_clip *m, int i) { return fke_params_grad(&m->P, i); }

static void uniform(fke_params *P, int idx, double bound, fke_rng *r)
{
    fke_tensor t = fke_params_value(P, idx);
    for (size_t i = 0; i < fke_numel(&t); i++)
        t.data[i] = (fke_real)(bound * (2 * fke_rng_uniform(r) - 1));
}

fke_status fke_clip_init(fke_clip *m, const fke_config *cfg, fke_err *e)
{
    memset(m, 0, sizeof *m);
    FKE_TRY(fke_config_validate(cfg, e));
    if (cfg->task != FKE_TASK_CLIP)
        return fke_fail(e, FKE_ERR_CONFIG, "clip: config task is not \"clip\"");
    m->cfg = *cfg;
    const fke_config *c = &m->cfg;
    fke_params *P = &m->P;
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
    } else {
        FKE_TRY(fke_cnn_build(&m->cnn, P, e, c->cnn, c->in_ch, c->chans, (float)c->lr_cnn_mult,
                              1));
        FKE_TRY(fke_cnn_set_precision(&m->cnn, c->precision, e));
        if ((m->img_proj = fke_params_add(P, e, "img_proj.weight", 1, 1, 1, 2, K, c->F)) < 0)
            return FKE_ERR_ARG;
    }
    m->emb = fke_params_add(P, e, "text.emb.weight", 1, 1, 1, 2, c->V, c->D);
    for (int k = 0; k < FKE_CLIP_NW; k++) {
        char n[FKE_PARAM_NAME];
        snprintf(n, sizeof n, "text.convs.%d.weight", k);
        m->tconv_w[k] = fke_params_add(P, e, n, 1, 1, 1, 3, c->Co, c->D, k + 2);
        snprintf(n, sizeof n, "text.convs.%d.bias", k);
        m->tconv_b[k] = fke_params_add(P, e, n, 1, 1, 1, 1, c->Co);
        if (m->tconv_w[k] < 0 || m->tconv_b[k] < 0) return FKE_ERR_ARG;
    }
    m->txt_proj = fke_params_add(P, e, "text_proj.weight", 1, 1, 1, 2, K, FKE_CLIP_NW * c->Co);
    m->logit_scale = fke_params_add(P, e, "logit_scale", 1, 0, 1, 1, 1);
    if (m->emb < 0 || m->txt_proj < 0 || m->logit_scale < 0) return FKE_ERR_ARG;
    FKE_TRY(fke_params_finalize(P, e));
    fke_rng r;
    fke_rng_seed(&r, c->seed);
    if (m->vit_on) {
        fke_vit_init_weights(&m->vit, P, &r);
    } else {
        fke_cnn_init_weights(&m->cnn, P, &r);
        uniform(P, m->img_proj, 1.0 / sqrt((double)c->F), &r);
    }
    fke_tensor t = W(m, m->emb);
    for (size_t i = 0; i < fke_numel(&t); i++) t.data[i] = (fke_real)fke_rng_normal(&r);
    for (int k = 0; k < FKE_CLIP_NW; k++) {
        double bound = 1.0 / sqrt((double)c->D * (k + 2));
        uniform(P, m->tconv_w[k], bound, &r);
        uniform(P, m->tconv_b[k], bound, &r);
    }
    uniform(P, m->txt_proj, 1.0 / sqrt((double)FKE_CLIP_NW * c->Co), &r);
    W(m, m->logit_scale).data[0] = (fke_real)LOGIT_SCALE0;
    return FKE_OK;
}

void fke_clip_free(fke_clip *m)
{
    fke_params_free(&m->P);
    fke_arena_free(&m->arena);
    memset(m, 0, sizeof *m);
}

static fke_status T2(fke_clip *m, fke_err *e, fke_tensor *t, int a, int b)
{
    return fke_arena_tensor(&m->arena, e, t, 2, a, b);
}

fke_status fke_clip_forward(fke_clip *m, const fke_batch *b, int train, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int B = b->B, K = c->embed_dim, NC = FKE_CLIP_NW * c->Co;
    if (B < 1 || b->img != c->img || b->L != c->L)
        return fke_fail(e, FKE_ERR_SHAPE, "clip: batch of %d posts, img %d, L %d; the model "
                        "has img %d, L %d", B, b->img, b->L, c->img, c->L);
    fke_arena_reset(&m->arena);
    m->B = B;
    m->tokens = b->tokens;
    /* the image tower */
    m->img_x = fke_tensor_view(b->img_x, 4, B, c->in_ch, c->img, c->img);
    FKE_TRY(T2(m, e, &m->img_e, B, K));
    if (m->vit_on) {
        FKE_TRY(fke_vit_forward(&m->vit, &m->P, &m->arena, e, &m->img_x, &m->vtape, &m->img_e));
    } else {
        FKE_TRY(T2(m, e, &m->feat, B, c->F));
        FKE_TRY(fke_cnn_forward(&m->cnn, &m->P, &m->arena, e, &m->img_x, train, 0, &m->ctape,
                                &m->feat));
        fke_tensor Wp = W(m, m->img_proj);
        FKE_TRY(fke_linear_forward(e, &m->feat, &Wp, NULL, &m->img_e));
    }
    FKE_TRY(T2(m, e, &m->img_u, B, K));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->img_n, 1, B));
    FKE_TRY(fke_l2norm_forward(e, &m->img_e, &m->img_n, &m->img_u));
    /* the text tower */
    fke_tensor tab = W(m, m->emb), Wc[FKE_CLIP_NW], bc[FKE_CLIP_NW];
    for (int k = 0; k < FKE_CLIP_NW; k++) Wc[k] = W(m, m->tconv_w[k]), bc[k] = W(m, m->tconv_b[k]);
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->temb, 3, B, c->L, c->D));
    FKE_TRY(fke_embedding_forward(e, b->tokens, B, c->L, &tab, &m->temb));
    FKE_TRY(T2(m, e, &m->tconv, B, NC));
    m->targ = fke_arena_alloc(&m->arena, e, sizeof(int32_t) * (size_t)B * NC);
    if (!m->targ) return FKE_ERR_NOMEM;
    FKE_TRY(fke_textcnn_forward(e, &m->temb, FKE_CLIP_NW, Wc, bc, &m->tconv, m->targ));
    FKE_TRY(T2(m, e, &m->txt_e, B, K));
    fke_tensor Wt = W(m, m->txt_proj);
    FKE_TRY(fke_linear_forward(e, &m->tconv, &Wt, NULL, &m->txt_e));
    FKE_TRY(T2(m, e, &m->txt_u, B, K));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &m->txt_n, 1, B));
    FKE_TRY(fke_l2norm_forward(e, &m->txt_e, &m->txt_n, &m->txt_u));
    /* the head */
    FKE_TRY(T2(m, e, &m->logits, B, B));
    fke_tensor ls = W(m, m->logit_scale);
    return fke_similarity_forward(e, &m->img_u, &m->txt_u, &ls, &m->logits);
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
    FKE_TRY(T2(m, e, &dlog, B, B));
    FKE_TRY(fke_infonce_backward(e, &m->logits, 1.0, &dlog));
    FKE_TRY(T2(m, e, &diu, B, K));
    FKE_TRY(T2(m, e, &dtu, B, K));
    fke_tensor ls = W(m, m->logit_scale), dls = dW(m, m->logit_scale);
    FKE_TRY(fke_similarity_backward(e, &m->img_u, &m->txt_u, &ls, &m->logits, &dlog, &diu, &dtu,
                                    &dls));
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
    FKE_TRY(T2(m, e, &die, B, K));
    FKE_TRY(fke_l2norm_backward(e, &m->img_u, &m->img_n, &diu, &die));
    if (m->vit_on) return fke_vit_backward(&m->vit, &m->P, e, &m->vtape, &die);
    fke_tensor dfeat, Wp = W(m, m->img_proj), dWp = dW(m, m->img_proj);
    FKE_TRY(T2(m, e, &dfeat, B, c->F));
    FKE_TRY(fke_linear_backward(e, &m->feat, &Wp, &die, &dfeat, &dWp, NULL));
    return fke_cnn_backward(&m->cnn, &m->P, &m->arena, e, &m->ctape, &dfeat, NULL);
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
    fke_real *saved = st == FKE_OK ? malloc(m->P.total * sizeof(fke_real)) : NULL;
    if (st == FKE_OK && !saved) st = fke_fail(e, FKE_ERR_NOMEM, "clip: out of memory");
    if (st == FKE_OK) {
        memcpy(saved, m->P.w, m->P.total * sizeof(fke_real)); /* bn running stats move */
        double l;
        st = fke_clip_forward(m, &bt, 1, e);
        if (st == FKE_OK) st = fke_clip_loss(m, &l, NULL, e);
        if (st == FKE_OK) st = fke_clip_backward(m, e);
        memcpy(m->P.w, saved, m->P.total * sizeof(fke_real));
        fke_params_zero_grad(&m->P);
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
