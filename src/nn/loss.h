/* loss.h - softmax cross-entropy with missing labels, and softmax itself.
 *
 * A row i of logits (N, C) takes part when labels[i] >= 0 (a negative label
 * is missing) and, if sel is given, sel[i] != 0 (a row subset, e.g. the
 * clean garments of a batch). The forward returns the MEAN loss over those
 * rows and their count (loss 0 when there are none); the backward adds
 *
 *   dlogits[i] += scale / count * (softmax(logits[i]) - onehot(labels[i]))
 *
 * so a caller builds "mean clean + beta * mean noisy", averaged over tasks,
 * by its choice of scale (the backward recomputes the softmax; nothing is
 * saved between the calls). A label >= C is an FKE_ERR_ARG. Sums are taken
 * in double through log-sum-exp, so large logits do not overflow. */
#ifndef FKE_LOSS_H
#define FKE_LOSS_H
#include "core/fke.h"

/* logits (N, C); labels (N) int32; sel (N) or NULL; *loss mean, *count rows
 * used (count may be NULL) */
fke_status fke_softmax_xent_forward(fke_err *e, const fke_tensor *logits,
                                    const int32_t *labels, const uint8_t *sel, double *loss,
                                    int *count);
/* dlogits (N, C) += scale/count * (p - onehot) on the rows used */
fke_status fke_softmax_xent_backward(fke_err *e, const fke_tensor *logits,
                                     const int32_t *labels, const uint8_t *sel, double scale,
                                     fke_tensor *dlogits);
/* probs (N, C) = row-wise softmax(logits); probs may be logits (in place) */
fke_status fke_softmax_forward(fke_err *e, const fke_tensor *logits, fke_tensor *probs);
/* log-sum-exp of n values (shared with transition.c) */
double fke_logsumexp(const fke_real *z, int n);
/* The checks every classification loss shares: logits (N, C), labels (N)
 * in -1..C-1 (negative = missing), sel (N) or NULL; *count = the rows with
 * a label that sel keeps. */
fke_status fke_loss_rows(fke_err *e, const char *op, const fke_tensor *logits,
                         const int32_t *labels, const uint8_t *sel, int *count);
/* The mean of a summed loss s over cnt rows into *loss (0 without rows) and
 * cnt into *count (each may be NULL); FKE_ERR_NUMERIC when s is not finite. */
fke_status fke_loss_mean(fke_err *e, const char *op, double s, int cnt, double *loss,
                         int *count);
#endif
