/* model.h - the FashionKE network of docs/model.md (and, for task "classify", the
 * CNN trunk with a linear classifier). The wiring is in model.c; this is how
 * training, evaluation and extraction call it:
 *
 *   fke_model m;
 *   fke_model_init(&m, &cfg, e);             parameter table + initial weights
 *   fke_model_plan(&m, e);                    sizes the step arena (dry run)
 *   per step: fke_model_forward(&m, batch, 1, e);
 *             fke_model_loss(&m, batch, &loss, e);
 *             fke_params_zero_grad(&m.P); fke_model_backward(&m, batch, e);
 *   prediction: fke_model_forward(&m, batch, 0, e) then read m.out.
 *
 * Outputs (valid until the next forward): occasion logits (B, n_occ); for the
 * valid garments in (post, slot) order, category logits (Nv, n_cat) and per
 * attribute k logits (Nv, n_val[k]); gidx[v] = post * G + slot.
 *
 * Task "multilabel" (model/multilabel.h, DeepFashion) goes through the same
 * fke_model_forward / _loss / _backward, which hand it to its own wiring:
 * outputs category logits (Nv, n_cat) and attribute logits ml (Nv, n_ml).
 *
 * Task "clip" (model/clip.h) goes through them too: the model holds an
 * fke_clip over its own P, and fke_model_forward / _loss / _backward / _plan
 * hand it the batch; its outputs are the clip's (m->clip->img_u, txt_u,
 * logits). So fke train, checkpoints, resume and fke_model_load serve it
 * unchanged. After each optimiser step call fke_model_after_update (the
 * clip's temperature clamp; nothing for the other tasks). */
#ifndef FKE_MODEL_H
#define FKE_MODEL_H
#include "model/clip.h"
#include "model/cnn.h"
#include "core/config.h"
#include "core/fke.h"
#include "data/loader.h"
#include "nn/params.h"

#define FKE_N_TASKS (1 + 1 + FKE_MAX_ATTR) /* occasion, category, attributes */

typedef struct {
    int B, Nv;
    fke_tensor occ;                   /* (B, n_occ) logits */
    fke_tensor cat;                   /* (Nv, n_cat) logits */
    fke_tensor att[FKE_MAX_ATTR];     /* (Nv, n_val[k]) logits */
    fke_tensor ml;                    /* (Nv, n_ml) task multilabel: attribute logits */
    int32_t *gidx;                    /* (Nv) post * G + slot */
    double task_loss[FKE_N_TASKS];    /* last loss per task (NaN if no valid label) */
} fke_model_out;

typedef struct fke_model_acts fke_model_acts;
typedef struct fke_multilabel_acts fke_multilabel_acts; /* multilabel.c */

/* Parts of a step whose wall time fke_model_* accumulate into m->time[]
 * (forward and backward together; the optimiser update is timed by the
 * caller). */
typedef enum {
    FKE_PART_CNN, FKE_PART_RNN1, FKE_PART_TEXT, FKE_PART_HEADS, FKE_PART_LOSS, FKE_PART_UPDATE,
    FKE_PART_COUNT
} fke_part;
extern const char *const fke_part_names[FKE_PART_COUNT]; /* the step's saved activations (model.c) */

typedef struct {
    fke_config cfg;
    fke_params P;
    fke_cnn cnn;                      /* shared by whole images and crops */
    /* parameter indices (into P); -1 where the ablation removes the part */
    int W0;                           /* (H, F) when F != H */
    int rnn1[2][4], rnn2[2][4];       /* [dir][W_ih, W_hh, b_ih, b_hh] */
    int emb, tconv_w[4], tconv_b[4], tfc_w, tfc_b;
    int occ_w[3], occ_b[3];
    int wcat_w, wcat_b, cath_w[2], cath_b[2];
    int wk_w[FKE_MAX_ATTR], wk_b[FKE_MAX_ATTR];
    int atth_w[FKE_MAX_ATTR][2], atth_b[FKE_MAX_ATTR][2];
    int theta[1 + FKE_MAX_ATTR];      /* category, then each attribute */
    int cls_w, cls_b;                 /* task classify: linear (n_cls, F) */
    int norm;                         /* task classify: (2) input mean, std of the training
                                         set (a buffer, saved with the weights) */
    int mcat_w, mcat_b, mattr_w, mattr_b; /* task multilabel: linears (n_cat, F), (n_ml, F) */
    int pos_w;                        /* task multilabel: (n_ml) BCE positive weights (a buffer) */
    fke_multilabel_acts *mla;         /* task multilabel: the step's activations */
    fke_clip *clip;                   /* task clip: the dual encoder, over P */
    fke_rng rng;                      /* dropout */
    fke_arena arena;                  /* activations of one step */
    fke_model_acts *acts;
    fke_model_out out;
    int planning;                     /* dry run of fke_model_plan: the loss may be non-finite */
    double time[FKE_PART_COUNT];      /* seconds spent per part (accumulated) */
    size_t mem[FKE_PART_COUNT];       /* bytes of the step arena each part holds after the
                                         last forward (+ loss + backward): its activations,
                                         tapes and gradients; transient workspace excluded */
    size_t mem_cnn_backward;          /* the CNN backward's own peak in the last step: its
                                         gradients and workspace, all given back when it ends
                                         (cnn.h, "Memory"); task fke */
    /* NULL, or the sum over the processes of data-parallel training: the
     * loss's label counts are then the global batch's (fke_model_loss);
     * borrowed, set by the caller after fke_model_plan */
    const fke_reducer *reduce;
} fke_model;

fke_status fke_model_init(fke_model *m, const fke_config *cfg, fke_err *e);
void fke_model_free(fke_model *m);
/* Sizes the arena by a dry run on a full batch (every garment slot filled). */
fke_status fke_model_plan(fke_model *m, fke_err *e);
/* Θ_t = log(T_t + eps) for the category (t = 0) and each attribute (t = 1..A);
 * T is row-major n x n. */
fke_status fke_model_set_transition(fke_model *m, int t, const float *T, fke_err *e);
/* Current T_t = row_softmax(Θ_t) into out (n x n). */
void fke_model_get_transition(const fke_model *m, int t, float *out);

fke_status fke_model_forward(fke_model *m, const fke_batch *b, int train, fke_err *e);
/* docs/model.md loss on the last forward; also prepares the logits' gradients.
 * With m->reduce set, *loss and out.task_loss are this rank's shares of the
 * global batch's loss (the ranks' shares sum to it). */
fke_status fke_model_loss(fke_model *m, const fke_batch *b, double *loss, fke_err *e);
/* Adds d loss / d parameters into m->P.g (zero it first). */
fke_status fke_model_backward(fke_model *m, const fke_batch *b, fke_err *e);

/* What the task does after each optimiser step (task clip: CLIP's clamp of
 * the temperature). */
void fke_model_after_update(fke_model *m);

/* Task "classify": images (N, C, H, W) already padded/normalised, labels (N). */
fke_status fke_classifier_forward(fke_model *m, const fke_tensor *x, int train, fke_err *e);
fke_status fke_classifier_loss(fke_model *m, const int32_t *labels, double *loss, fke_err *e);
fke_status fke_classifier_backward(fke_model *m, fke_err *e);
#endif
