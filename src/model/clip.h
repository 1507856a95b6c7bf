/* clip.h - task "clip": a contrastive image-caption dual encoder (CLIP) on
 * posts, trained from their captions alone (docs/clip.md).
 *
 *   image tower  the CNN trunk of key cnn on the whole image, then a linear
 *                projection without bias (F -> K); or (image_tower vit)
 *                the ViT of model/vit.h, whose own proj gives K; with
 *                img_bn, a BatchNorm1d over the batch (img_bn.*) after it
 *   text tower   the TextCNN of the FashionKE model (embedding V x D, banks
 *                of widths 2..5 with Co filters, max over time), then a
 *                linear projection without bias (4 Co -> K)
 *   head         both embeddings L2-normalised, logits = exp(t) img txt^T
 *                with a learned t (CLIP's logit_scale, starting at
 *                log(1/0.07), clamped to log 100 by fke_clip_clamp), and the
 *                symmetric InfoNCE loss (nn/contrastive.h)
 * K is key embed_dim. Parameter names: cnn.* (model/cnn.h) or visual.*
 * (CLIP's), text.emb.weight, text.convs.<k>.{weight,bias} (as the FashionKE
 * model's), img_proj.weight, text_proj.weight, logit_scale.
 *
 *   fke_clip m;
 *   fke_clip_init(&m, &cfg, NULL, e);    parameter table (its own, or the
 *                                        caller's P) + initial weights
 *   fke_clip_plan(&m, e);                sizes the step arena (dry run)
 *   per step: fke_clip_forward(&m, batch, 1, e);
 *             fke_clip_loss(&m, &loss, acc, e);
 *             fke_params_zero_grad(&m.P); fke_clip_backward(&m, e);
 *             optimiser step; fke_clip_clamp(&m);
 *   embeddings: fke_clip_forward(&m, batch, 0, e), then m.img_u / m.txt_u
 *   (B, K), unit rows, valid until the next forward; or one tower alone,
 *   fke_clip_embed_images / fke_clip_embed_texts.
 * The rows of a batch never mix (no batch norm in eval mode, per-row
 * GEMMs): a text's embedding is the same alone or beside others, up to
 * the BLAS's rounding; fke tag embeds each tag alone so it is bitwise. */
#ifndef FKE_CLIP_H
#define FKE_CLIP_H
#include "core/config.h"
#include "core/fke.h"
#include "data/loader.h"
#include "model/cnn.h"
#include "model/vit.h"
#include "nn/params.h"

#define FKE_CLIP_NW 4 /* TextCNN widths 2, 3, 4, 5 */

typedef struct {
    fke_config cfg;
    fke_params *P;                    /* &own, or the caller's (fke_model's) */
    fke_params own;
    fke_cnn cnn;
    fke_vit vit;
    int vit_on;
    int img_proj, emb, tconv_w[FKE_CLIP_NW], tconv_b[FKE_CLIP_NW], txt_proj, logit_scale;
    int img_bn[4];                    /* img_bn: weight, bias, running mean, running var (K); -1 without */
    fke_arena arena;
    /* the last forward (B posts) */
    int B;
    const int32_t *tokens;            /* (B, L) the batch's */
    fke_tensor img_x;                 /* (B, C, S, S) view of the batch's pixels */
    fke_cnn_tape ctape;
    fke_vit_tape vtape;
    fke_tensor feat;                  /* (B, F) CNN features */
    fke_tensor img_e, img_u, img_n;   /* (B, K), (B, K) unit, (B) norms */
    fke_tensor img_b, bn_mean, bn_istd; /* img_bn: (B, K) normalised, (K), (K) */
    int bn_train;                     /* the batch norm's mode in the last forward */
    fke_tensor temb;                  /* (B, L, D) */
    fke_tensor tconv;                 /* (B, 4 Co) */
    int32_t *targ;                    /* (B, 4 Co) */
    fke_tensor txt_e, txt_u, txt_n;   /* (B, K), (B, K), (B) */
    fke_tensor logits;                /* (B, B) image i x text j */
    /* clip_crops: R = B + Nv instances, the whole images then the valid crops */
    int Nv;
    int32_t *gidx;                    /* (Nv) post * G + slot of each valid crop */
    int32_t *owner;                   /* (R) the post of each instance */
    int32_t *arg;                     /* (B, B) the instance each logit took */
    fke_tensor crop_x;                /* (Nv, C, s, s) */
    fke_cnn_tape ctape_crop;
    fke_tensor crop_feat;             /* (Nv, F) */
    fke_tensor inst_e, inst_u, inst_n; /* (R, K), (R, K) unit, (R); img_u views the first B */
    fke_tensor crop_u;                /* (Nv, K) view of inst_u */
    fke_tensor inst_logits;           /* (R, B) */
} fke_clip;

/* P NULL: the model owns its table (m->own); else the caller's, initialised
 * here and freed by the caller (fke_model for task clip). */
fke_status fke_clip_init(fke_clip *m, const fke_config *cfg, fke_params *P, fke_err *e);
void fke_clip_free(fke_clip *m);
fke_status fke_clip_plan(fke_clip *m, fke_err *e);
/* Images and captions of b into unit embeddings and the logits; train: the
 * CNN's batch norm in training mode. */
fke_status fke_clip_forward(fke_clip *m, const fke_batch *b, int train, fke_err *e);
/* The symmetric InfoNCE loss of the last forward; acc (2) or NULL: top-1
 * image->text and text->image accuracy within the batch. */
fke_status fke_clip_loss(fke_clip *m, double *loss, double *acc, fke_err *e);
/* Adds d loss / d parameters into m->P.g. */
fke_status fke_clip_backward(fke_clip *m, fke_err *e);
/* Eval mode, one tower: images x (B, C, S, S) normalised as the loader
 * does, or tokens (B, L), to unit embeddings out (B, K). */
fke_status fke_clip_embed_images(fke_clip *m, const fke_real *x, int B, fke_real *out,
                                 fke_err *e);
fke_status fke_clip_embed_texts(fke_clip *m, const int32_t *tokens, int B, fke_real *out,
                                fke_err *e);
/* Eval mode, clip_crops: garment crops x (B, C, s, s) at the config's crop
 * side, normalised as the loader does, to unit embeddings out (B, K). */
fke_status fke_clip_embed_crops(fke_clip *m, const fke_real *x, int B, fke_real *out,
                                fke_err *e);
/* The score of a post for a text: the cosine of its whole image img (K)
 * and txt (K), or with crop (ng, K) the highest of it and its crops'. */
double fke_clip_post_score(const fke_real *img, const fke_real *crop, int ng,
                           const fke_real *txt, int K);
/* exp(logit_scale): the learned inverse temperature of the logits */
double fke_clip_temperature(const fke_clip *m);
/* CLIP's clamp of the temperature: logit_scale <= log 100. */
void fke_clip_clamp(fke_clip *m);
/* Retrieval recall@k of N matched pairs, unit rows a (N, K) and b (N, K):
 * the share of rows i of a whose b_i is among the k highest a_i . b_j (ties
 * by fke_scored_sort's order). a image, b text: image->text; swapped:
 * text->image. */
fke_status fke_clip_recall(const fke_real *a, const fke_real *b, int N, int K, int k,
                           double *recall, fke_err *e);
/* Every post of d, in order, to unit embeddings img (N, K) and txt (N, K)
 * (either may be NULL), eval mode, batches of the config's size. */
fke_status fke_clip_embed_posts(fke_clip *m, const fke_dataset *d, fke_real *img, fke_real *txt,
                                fke_err *e);
/* The same with crop (N, G, K) or NULL: with clip_crops, each garment's crop
 * embedding in its slot (padding slots zero). */
fke_status fke_clip_embed_posts_crops(fke_clip *m, const fke_dataset *d, fke_real *img,
                                      fke_real *crop, fke_real *txt, fke_err *e);
/* Retrieval over d's posts, each image (with clip_crops: its whole image and
 * crops, fke_clip_post_score) against its own caption among all of them: recall[0][k] image->text, recall[1][k] text->image at
 * fke_clip_recall_k[k] = 1, 5, 10 (chance k / N). */
#define FKE_CLIP_NK 3
extern const int fke_clip_recall_k[FKE_CLIP_NK];
fke_status fke_clip_eval_posts(fke_clip *m, const fke_dataset *d, double recall[2][FKE_CLIP_NK],
                               fke_err *e);
#endif
