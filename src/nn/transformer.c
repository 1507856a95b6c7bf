/* transformer.c - see transformer.h. */
#include "nn/transformer.h"

#include <string.h>

#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/layernorm.h"
#include "nn/linear.h"

#define LN_EPS 1e-5

fke_tensor *fke_tblock_param_list(fke_tblock_params *P)
{
    return &P->ln1_w; /* the struct is FKE_TBLOCK_NPARAM tensors in a row */
}

fke_status fke_tblock_cache_alloc(fke_arena *a, fke_err *e, int B, int T, int E, int H, int M,
                                  fke_tblock_cache *k)
{
    if (B < 1 || T < 1 || H < 1 || E < H || E % H || M < 1)
        return fke_fail(e, FKE_ERR_ARG, "transformer block: B %d, T %d, E %d, H %d, M %d "
                        "(E must be a multiple of H)", B, T, E, H, M);
    memset(k, 0, sizeof *k);
    k->B = B, k->T = T, k->E = E, k->H = H, k->M = M;
    int N = B * T;
    fke_tensor *rows[] = {&k->mean1, &k->rstd1, &k->mean2, &k->rstd2};
    for (int i = 0; i < 4; i++) FKE_TRY(fke_arena_tensor(a, e, rows[i], 1, N));
    fke_tensor *ne[] = {&k->h1, &k->h2, &k->ctx, &k->x1, &k->dh, &k->dctx, &k->dx1};
    for (int i = 0; i < 7; i++) FKE_TRY(fke_arena_tensor(a, e, ne[i], 2, N, E));
    FKE_TRY(fke_arena_tensor(a, e, &k->qkv, 2, N, 3 * E));
    FKE_TRY(fke_arena_tensor(a, e, &k->dqkv, 2, N, 3 * E));
    FKE_TRY(fke_arena_tensor(a, e, &k->att, 4, B, H, T, T));
    fke_tensor *nm[] = {&k->u, &k->gu, &k->du, &k->dgu};
    for (int i = 0; i < 4; i++) FKE_TRY(fke_arena_tensor(a, e, nm[i], 2, N, M));
    return FKE_OK;
}

static void zero(fke_tensor *t)
{
    memset(t->data, 0, fke_numel(t) * sizeof(fke_real));
}

static fke_status check(fke_err *e, const char *op, const fke_tensor *x,
                        const fke_tblock_cache *k, const char *yname, const fke_tensor *y)
{
    FKE_EXPECT(e, op, "x", x, k->B, k->T, k->E);
    FKE_EXPECT(e, op, yname, y, k->B, k->T, k->E);
    return FKE_OK;
}

fke_status fke_tblock_forward(fke_err *e, const fke_tblock_params *P, const fke_tensor *x,
                              fke_tblock_cache *k, fke_tensor *y)
{
    FKE_TRY(check(e, "transformer block", x, k, "y", y));
    int B = k->B, T = k->T, E = k->E, N = B * T;
    fke_tensor x2 = fke_tensor_view(x->data, 2, N, E), y2 = fke_tensor_view(y->data, 2, N, E);
    fke_tensor qkv3 = fke_tensor_view(k->qkv.data, 3, B, T, 3 * E);
    fke_tensor ctx3 = fke_tensor_view(k->ctx.data, 3, B, T, E);
    /* x1 = x + out(attention(in(ln_1(x)))) */
    FKE_TRY(fke_layernorm_forward(e, &x2, &P->ln1_w, &P->ln1_b, LN_EPS, &k->mean1, &k->rstd1,
                                  &k->h1));
    FKE_TRY(fke_linear_forward(e, &k->h1, &P->in_w, &P->in_b, &k->qkv));
    FKE_TRY(fke_attention_forward(e, &qkv3, k->H, &k->att, &ctx3));
    FKE_TRY(fke_linear_forward(e, &k->ctx, &P->out_w, &P->out_b, &k->x1));
    for (size_t i = 0; i < (size_t)N * E; i++) k->x1.data[i] += x->data[i];
    /* y = x1 + proj(gelu(fc(ln_2(x1)))) */
    FKE_TRY(fke_layernorm_forward(e, &k->x1, &P->ln2_w, &P->ln2_b, LN_EPS, &k->mean2, &k->rstd2,
                                  &k->h2));
    FKE_TRY(fke_linear_forward(e, &k->h2, &P->fc_w, &P->fc_b, &k->u));
    FKE_TRY(k->quick_gelu ? fke_quick_gelu_forward(e, &k->u, &k->gu)
                          : fke_gelu_forward(e, &k->u, &k->gu));
    FKE_TRY(fke_linear_forward(e, &k->gu, &P->proj_w, &P->proj_b, &y2));
    for (size_t i = 0; i < (size_t)N * E; i++) y->data[i] += k->x1.data[i];
    return FKE_OK;
}

fke_status fke_tblock_backward(fke_err *e, const fke_tblock_params *P, const fke_tensor *x,
                               fke_tblock_cache *k, const fke_tensor *dy, fke_tensor *dx,
                               fke_tblock_params *dP)
{
    FKE_TRY(check(e, "transformer block backward", x, k, "dy", dy));
    FKE_EXPECT(e, "transformer block backward", "dx", dx, k->B, k->T, k->E);
    int B = k->B, T = k->T, E = k->E, N = B * T;
    size_t NE = (size_t)N * E;
    fke_tensor x2 = fke_tensor_view(x->data, 2, N, E), dy2 = fke_tensor_view(dy->data, 2, N, E);
    fke_tensor dx2 = fke_tensor_view(dx->data, 2, N, E);
    fke_tensor qkv3 = fke_tensor_view(k->qkv.data, 3, B, T, 3 * E);
    fke_tensor dqkv3 = fke_tensor_view(k->dqkv.data, 3, B, T, 3 * E);
    fke_tensor dctx3 = fke_tensor_view(k->dctx.data, 3, B, T, E);
    /* the MLP branch, in reverse; dx1 = dy (residual) + its gradient */
    memcpy(k->dx1.data, dy->data, NE * sizeof(fke_real));
    zero(&k->dgu);
    FKE_TRY(fke_linear_backward(e, &k->gu, &P->proj_w, &dy2, &k->dgu, &dP->proj_w, &dP->proj_b));
    zero(&k->du);
    FKE_TRY(k->quick_gelu ? fke_quick_gelu_backward(e, &k->u, &k->dgu, &k->du)
                          : fke_gelu_backward(e, &k->u, &k->dgu, &k->du));
    zero(&k->dh);
    FKE_TRY(fke_linear_backward(e, &k->h2, &P->fc_w, &k->du, &k->dh, &dP->fc_w, &dP->fc_b));
    FKE_TRY(fke_layernorm_backward(e, &k->x1, &P->ln2_w, &k->mean2, &k->rstd2, &k->dh, &k->dx1,
                                   &dP->ln2_w, &dP->ln2_b));
    /* the attention branch; dx += dx1 (residual) + its gradient */
    for (size_t i = 0; i < NE; i++) dx->data[i] += k->dx1.data[i];
    zero(&k->dctx);
    FKE_TRY(fke_linear_backward(e, &k->ctx, &P->out_w, &k->dx1, &k->dctx, &dP->out_w,
                                &dP->out_b));
    zero(&k->dqkv);
    FKE_TRY(fke_attention_backward(e, &qkv3, k->H, &k->att, &dctx3, &dqkv3));
    zero(&k->dh);
    FKE_TRY(fke_linear_backward(e, &k->h1, &P->in_w, &k->dqkv, &k->dh, &dP->in_w, &dP->in_b));
    return fke_layernorm_backward(e, &x2, &P->ln1_w, &k->mean1, &k->rstd1, &k->dh, &dx2,
                                  &dP->ln1_w, &dP->ln1_b);
}
