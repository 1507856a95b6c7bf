/* transition.h - the label-transition (weak-label) layer of docs/model.md.
 *
 * A noisy task keeps Θ (n, n); T = row_softmax(Θ) is row-stochastic,
 * T[i][j] = P(machine label j | true label i). On a machine-labelled row the
 * loss is the forward-corrected cross-entropy
 *
 *   L_i = -log( (softmax(z_i) T)[y_i] ) = -logsumexp_j( log_softmax(z_i)_j + log T[j, y_i] )
 *
 * computed in log space as written (stable for large logits and tiny T
 * entries). Rows are selected as in loss.h (label >= 0 and sel[i] != 0 when
 * sel is given); the forward returns the MEAN over those rows and their
 * count; the backward adds scale/count times the gradient into dlogits and
 * dtheta (either may be NULL):
 *
 *   pi_j = softmax_j(log_softmax(z)_j + log T[j, y])   (posterior of the true label)
 *   dz_k    += scale/count * (softmax(z)_k - pi_k)
 *   dΘ[j,m] += scale/count * pi_j * (T[j,m] - [m == y])
 *
 * Nothing is saved between forward and backward; no scratch memory is used.
 * fke_transition_init sets Θ = log(T_est + eps); fke_transition_matrix
 * gives T (used for metrics, never for prediction). */
#ifndef FKE_TRANSITION_H
#define FKE_TRANSITION_H
#include "core/fke.h"

/* T_est (n, n) entries >= 0 (rows need not be normalised: the row softmax
 * does it); eps > 0; theta (n, n) overwritten with log(T_est + eps) */
fke_status fke_transition_init(fke_err *e, const fke_tensor *T_est, double eps,
                               fke_tensor *theta);
/* theta (n, n) -> T (n, n) = row_softmax(theta); T may be theta (in place) */
fke_status fke_transition_matrix(fke_err *e, const fke_tensor *theta, fke_tensor *T);
/* logits (N, n); theta (n, n); labels (N) int32 (< 0 missing); sel (N) or NULL */
fke_status fke_transition_forward(fke_err *e, const fke_tensor *logits,
                                  const fke_tensor *theta, const int32_t *labels,
                                  const uint8_t *sel, double *loss, int *count);
/* dlogits (N, n) +=, dtheta (n, n) += (each may be NULL) */
fke_status fke_transition_backward(fke_err *e, const fke_tensor *logits,
                                   const fke_tensor *theta, const int32_t *labels,
                                   const uint8_t *sel, double scale, fke_tensor *dlogits,
                                   fke_tensor *dtheta);
#endif
