/* multilabel.h - the wiring of task "multilabel" (DeepFashion's Category and
 * Attribute benchmark): the CNN trunk (fke-small's or ResNet-18) on each
 * garment crop feeds a category softmax head and an n_ml-way sigmoid head.
 *
 *   crop (Nv, C, s, s) --CNN--> f (Nv, F) --+-- cat_fc  --> cat logits (Nv, n_cat)  softmax CE
 *                                           +-- attr_fc --> ml logits  (Nv, n_ml)   masked BCE
 *
 *   loss = mean CE over the garments with a category label
 *        + mean BCE over the known attribute labels (nn/bce.h), the
 *          positives of attribute k weighted by pos_weight[k] (a buffer,
 *          "attr.pos_weight", all 1 unless fke_multilabel_pos_weight sets it)
 *
 * The attribute labels are the batch's ml (B, n_ml), those of each post's
 * first garment (a DeepFashion post has one); the whole image is not used.
 * fke_model_init / _forward / _loss / _backward / _plan call these when the
 * config's task is multilabel; nothing else needs to. */
#ifndef FKE_MULTILABEL_H
#define FKE_MULTILABEL_H
#include "model/model.h"

/* Parameters (after the CNN's, before finalize) and initial values (after). */
fke_status fke_multilabel_add_params(fke_model *m, fke_err *e);
void fke_multilabel_init_weights(fke_model *m, fke_rng *r);
fke_status fke_multilabel_forward(fke_model *m, const fke_batch *b, int train, fke_err *e);
fke_status fke_multilabel_loss(fke_model *m, const fke_batch *b, double *loss, fke_err *e);
fke_status fke_multilabel_backward(fke_model *m, const fke_batch *b, fke_err *e);
/* One step on a full batch of zeros, to size the arena. */
fke_status fke_multilabel_plan_step(fke_model *m, fke_err *e);
/* pos_weight[k] = min(cap, negatives_k / positives_k), at least 1 (cap when
 * attribute k has no positive), over the known labels of d's extra
 * "ml_labels"; all 1 when cap is 0 (config pos_weight). */
fke_status fke_multilabel_pos_weight(fke_model *m, const fke_dataset *d, double cap, fke_err *e);
#endif
