/* transformer.h - one pre-norm transformer block, CLIP's
 * ResidualAttentionBlock (with exact GELU, or QuickGELU as OpenAI's released
 * CLIP weights were trained with, activation.h):
 *
 *   x1 = x  + out(attention(in(ln_1(x))))          attention.h, linear.h
 *   y  = x1 + proj(gelu(fc(ln_2(x1))))             layernorm.h, activation.h
 *
 * over B sequences of T tokens of width E, H heads, MLP width M. The
 * parameters carry PyTorch's names and layouts (attn.in_proj_weight (3E, E),
 * attn.out_proj.weight (E, E), mlp.c_fc.weight (M, E), mlp.c_proj.weight
 * (E, M), ln_1/ln_2 weight and bias (E)); LayerNorm eps is 1e-5.
 *
 * How to call it (nothing is allocated inside forward or backward):
 *   fke_tblock_cache k;
 *   fke_tblock_cache_alloc(&arena, e, B, T, E, H, M, &k);     once per step
 *   k.quick_gelu = 1;                                 optional: QuickGELU in the MLP
 *   fke_tblock_forward(e, &P, &x, &k, &y);
 *   fke_tblock_backward(e, &P, &x, &k, &dy, &dx, &dP);
 * The backward adds (+=) into dx and every tensor of dP (the same struct of
 * gradients) and leaves the forward's saved values as they were. */
#ifndef FKE_TRANSFORMER_H
#define FKE_TRANSFORMER_H
#include "core/fke.h"

typedef struct {
    fke_tensor ln1_w, ln1_b;   /* (E) */
    fke_tensor in_w, in_b;     /* (3E, E), (3E) */
    fke_tensor out_w, out_b;   /* (E, E), (E) */
    fke_tensor ln2_w, ln2_b;   /* (E) */
    fke_tensor fc_w, fc_b;     /* (M, E), (M) */
    fke_tensor proj_w, proj_b; /* (E, M), (E) */
} fke_tblock_params;
#define FKE_TBLOCK_NPARAM 12 /* tensors in fke_tblock_params, in its order */

typedef struct {
    int B, T, E, H, M;
    int quick_gelu;                        /* 0 (alloc's): exact GELU; 1: QuickGELU */
    fke_tensor mean1, rstd1, mean2, rstd2; /* (B*T) */
    fke_tensor h1, h2;                     /* (B*T, E) ln_1(x), ln_2(x1) */
    fke_tensor qkv;                        /* (B*T, 3E) */
    fke_tensor att;                        /* (B, H, T, T) */
    fke_tensor ctx;                        /* (B*T, E) attention output */
    fke_tensor x1;                         /* (B*T, E) after the first residual */
    fke_tensor u, gu;                      /* (B*T, M) fc output, its (Quick)GELU */
    /* the backward's workspace */
    fke_tensor dh, dctx, dx1;              /* (B*T, E) */
    fke_tensor dqkv;                       /* (B*T, 3E) */
    fke_tensor du, dgu;                    /* (B*T, M) */
} fke_tblock_cache;

/* The parameter tensors as an array in struct order (FKE_TBLOCK_NPARAM). */
fke_tensor *fke_tblock_param_list(fke_tblock_params *P);
/* Allocates k's tensors from the arena (FKE_ERR_NOMEM when it is full). */
fke_status fke_tblock_cache_alloc(fke_arena *a, fke_err *e, int B, int T, int E, int H, int M,
                                  fke_tblock_cache *k);
/* x (B, T, E), y (B, T, E) overwritten (y may not be x) */
fke_status fke_tblock_forward(fke_err *e, const fke_tblock_params *P, const fke_tensor *x,
                              fke_tblock_cache *k, fke_tensor *y);
/* dy (B, T, E); dx (B, T, E) += ; dP += */
fke_status fke_tblock_backward(fke_err *e, const fke_tblock_params *P, const fke_tensor *x,
                               fke_tblock_cache *k, const fke_tensor *dy, fke_tensor *dx,
                               fke_tblock_params *dP);
#endif
