/* vit.h - a Vision Transformer image tower, OpenAI CLIP's VisionTransformer
 * with exact GELU, or QuickGELU as OpenAI's weights (nn/transformer.h):
 *
 *   patches  (B*P, 3*p*p)   the S x S image cut into P = (S/p)^2 patches of
 *                           p x p, row by row, each flattened (c, ky, kx)
 *   emb      (B*P, E)       = patches conv1^T (a p x p stride-p convolution
 *                           without bias, as one GEMM)
 *   x0       (B, T, E)      [class_embedding; emb] + positional_embedding,
 *                           T = P + 1
 *   x        (B, T, E)      ln_pre, then `depth` pre-norm blocks
 *   cls      (B, E)         ln_post(x[:, 0]); or, with mean pooling,
 *                           ln_post(mean over t = 1..P of x[:, t])
 *   out      (B, D)         = cls proj, proj (E, D) as in CLIP (x @ proj)
 *
 * Parameters carry CLIP's state_dict names under "visual." (visual.conv1.weight
 * (E, 3, p, p), visual.class_embedding (E), visual.positional_embedding (T, E),
 * visual.ln_pre.*, visual.transformer.resblocks.<l>.{ln_1, attn.in_proj_weight,
 * attn.in_proj_bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}.*,
 * visual.ln_post.*, visual.proj (E, D)), so a CLIP checkpoint's visual
 * weights load by name (tools/torch_to_fke.py, docs/clip.md).
 *
 *   fke_vit_build(&v, &P, e, S, in_ch, patch, E, depth, heads, mlp, D, lr_mult);
 *   v.mean_pool = 1;                                           optional (vit_pool mean)
 *   v.quick_gelu = 1;                                          optional (vit_act quick_gelu)
 *   fke_vit_init_weights(&v, &P, &rng);                        after finalize
 *   fke_vit_forward(&v, &P, &arena, e, &x, &tape, &out);       x (B, in_ch, S, S)
 *   fke_vit_backward(&v, &P, e, &tape, &dout);                 adds into P.g
 * The tape's tensors come from the step arena; there is no gradient to the
 * image. */
#ifndef FKE_VIT_H
#define FKE_VIT_H
#include "core/fke.h"
#include "nn/params.h"
#include "nn/transformer.h"

#define FKE_VIT_MAXDEPTH 24

typedef struct {
    int S, in_ch, patch, E, depth, heads, mlp, D;
    int grid, T;                      /* S / patch, grid^2 + 1 */
    int mean_pool;                    /* 0: the class token (CLIP); 1: the patch tokens' mean */
    int quick_gelu;                   /* 0: exact GELU; 1: QuickGELU (OpenAI CLIP's weights) */
    int conv1, cls, pos, ln_pre[2], ln_post[2], proj;
    int blk[FKE_VIT_MAXDEPTH][FKE_TBLOCK_NPARAM]; /* in fke_tblock_params order */
} fke_vit;

typedef struct {
    int B;
    fke_tensor patches;               /* (B*P, in_ch*p*p) */
    fke_tensor x0;                    /* (B*T, E) ln_pre's input */
    fke_tensor mean_pre, rstd_pre;    /* (B*T) */
    fke_tensor xs[FKE_VIT_MAXDEPTH + 1]; /* (B, T, E) each block's input; xs[depth] the last output */
    fke_tblock_cache blk[FKE_VIT_MAXDEPTH];
    fke_tensor cls, mean_post, rstd_post, cls_n; /* (B, E), (B), (B), (B, E) */
    /* the backward's workspace */
    fke_tensor dcls, dcls_n;          /* (B, E) */
    fke_tensor dxa, dxb;              /* (B, T, E) the stream's gradient, two buffers */
} fke_vit_tape;

/* Adds the tower's tensors to P. S must be a multiple of patch; E of heads. */
fke_status fke_vit_build(fke_vit *v, fke_params *P, fke_err *e, int S, int in_ch, int patch,
                         int E, int depth, int heads, int mlp, int D, float lr_mult);
/* CLIP's initialisation: embeddings and proj N(0, E^-1/2), attention and MLP
 * weights N(0, std) by CLIP's rule, the convolution U(+-1/sqrt(fan_in)),
 * LayerNorm weight 1 and bias 0, biases 0. */
void fke_vit_init_weights(const fke_vit *v, fke_params *P, fke_rng *rng);
/* x (B, in_ch, S, S) -> out (B, D) overwritten */
fke_status fke_vit_forward(const fke_vit *v, fke_params *P, fke_arena *a, fke_err *e,
                           const fke_tensor *x, fke_vit_tape *t, fke_tensor *out);
/* dout (B, D); adds every parameter gradient into P->g */
fke_status fke_vit_backward(const fke_vit *v, fke_params *P, fke_err *e, fke_vit_tape *t,
                            const fke_tensor *dout);
#endif
