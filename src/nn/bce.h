/* bce.h - binary cross-entropy with logits for multi-label outputs (e.g.
 * DeepFashion's 1,000 attributes), masked where a label is unknown, with an
 * optional positive weight per output.
 *
 * labels (N, M): 1 positive, 0 negative, -1 unknown (left out). Over the
 * known entries, with s(z) = log(1 + e^z) and pw_k = pos_weight[k] (1 when
 * pos_weight is NULL),
 *
 *   loss = 1/count * sum_{i,k known} [ pw_k y_ik s(-z_ik) + (1 - y_ik) s(z_ik) ]
 *
 * (PyTorch's binary_cross_entropy_with_logits(z, y, pos_weight=pw,
 * reduction='none') times the mask, summed, divided by the mask's sum). The
 * backward adds
 *
 *   dlogits_ik += scale / count * [ pw_k y_ik (sigmoid(z_ik) - 1) + (1 - y_ik) sigmoid(z_ik) ]
 *
 * on the known entries, so a caller weights this loss against others by
 * scale. s is computed as max(z, 0) + log1p(e^-|z|): large logits do not
 * overflow. A label outside -1..1 or a pos_weight that is not a finite
 * number >= 0 is FKE_ERR_ARG naming the entry. */
#ifndef FKE_BCE_H
#define FKE_BCE_H
#include "core/fke.h"

/* logits (N, M); labels (N, M) int32; pos_weight (M) or NULL; *loss the
 * mean over the known entries (0 when there are none), *count their number
 * (count may be NULL) */
fke_status fke_bce_forward(fke_err *e, const fke_tensor *logits, const int32_t *labels,
                           const fke_real *pos_weight, double *loss, long *count);
/* dlogits (N, M) += scale/count * dloss/dlogits on the known entries */
fke_status fke_bce_backward(fke_err *e, const fke_tensor *logits, const int32_t *labels,
                            const fke_real *pos_weight, double scale, fke_tensor *dlogits);
#endif
