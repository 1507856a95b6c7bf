/* contrastive.h - the pieces of a CLIP-style contrastive head: L2
 * normalisation of embeddings, the similarity matrix with a learned
 * temperature, and the symmetric InfoNCE loss.
 *
 * L2 normalisation (PyTorch's F.normalize(x, dim=1), eps 1e-12):
 *   y[n] = x[n] / max(|x[n]|, 1e-12); the forward saves the norms (N).
 *   backward: dx[n] += (dy[n] - y[n] (y[n] . dy[n])) / |x[n]|
 *
 * Similarity with temperature, CLIP's logits_per_image:
 *   logits (N, M) = exp(t) * a (N, D) b (M, D)^T, t = logit_scale (1), a log;
 *   backward: da += exp(t) dlogits b, db += exp(t) dlogits^T a,
 *             dt += sum(dlogits * logits).
 *
 * Symmetric InfoNCE over a square logits matrix (N, N) whose positives are
 * the diagonal (pair i is image i and text i):
 *   loss = 0.5 * (mean_i CE(logits[i, :], i) + mean_j CE(logits[:, j], j)),
 *   dlogits += scale * 0.5 / N * (softmax_rows - I + softmax_cols - I).
 * Log-sum-exps are taken in double. The forward may also return the row and
 * column accuracies (argmax on the diagonal; ties count as wrong).
 *
 *   fke_l2norm_forward(e, &x, &norm, &y);  fke_l2norm_backward(e, &y, &norm, &dy, &dx);
 *   fke_similarity_forward(e, &a, &b, &t, &logits);
 *   fke_similarity_backward(e, &a, &b, &t, &logits, &dlogits, &da, &db, &dt);
 *   fke_infonce_forward(e, &logits, &loss, &acc);
 *   fke_infonce_backward(e, &logits, scale, &dlogits);
 *
 * Multiple-instance max (task clip with clip_crops: a post is its whole
 * image and its garment crops, and a caption describes some of them):
 *   out[n, m] = max over the rows r with owner[r] == n of x[r, m],
 *   x (R, M) the instances' logits, out (N, M), arg (N, M) the row taken
 *   (the first on ties); backward: dx[arg[n, m], m] += dout[n, m].
 *   fke_milmax_forward(e, &x, owner, &out, arg);
 *   fke_milmax_backward(e, arg, &dout, &dx);
 * Every backward adds (+=); its gradient outputs other than the first may be NULL. */
#ifndef FKE_CONTRASTIVE_H
#define FKE_CONTRASTIVE_H
#include "core/fke.h"

/* x (N, D); norm (N) and y (N, D) overwritten; y may not be x */
fke_status fke_l2norm_forward(fke_err *e, const fke_tensor *x, fke_tensor *norm,
                              fke_tensor *y);
/* y, norm: the forward's; dy (N, D); dx (N, D) += */
fke_status fke_l2norm_backward(fke_err *e, const fke_tensor *y, const fke_tensor *norm,
                               const fke_tensor *dy, fke_tensor *dx);

/* a (N, D), b (M, D), t (1); logits (N, M) overwritten */
fke_status fke_similarity_forward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                                  const fke_tensor *t, fke_tensor *logits);
/* logits: the forward's; dlogits (N, M); da, db, dt += (each may be NULL) */
fke_status fke_similarity_backward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                                   const fke_tensor *t, const fke_tensor *logits,
                                   const fke_tensor *dlogits, fke_tensor *da, fke_tensor *db,
                                   fke_tensor *dt);

/* logits (N, N); *loss the symmetric mean; acc[0] image->text, acc[1]
 * text->image top-1 accuracy (acc may be NULL); FKE_ERR_NUMERIC if not finite */
fke_status fke_infonce_forward(fke_err *e, const fke_tensor *logits, double *loss,
                               double *acc);
/* dlogits (N, N) += scale * dloss/dlogits */
fke_status fke_infonce_backward(fke_err *e, const fke_tensor *logits, double scale,
                                fke_tensor *dlogits);

/* x (R, M); owner (R) in -1..N-1 (-1: skipped), every n owning a row;
 * out (N, M) overwritten; arg (N * M) the rows taken */
fke_status fke_milmax_forward(fke_err *e, const fke_tensor *x, const int32_t *owner,
                              fke_tensor *out, int32_t *arg);
/* arg: the forward's; dout (N, M); dx (R, M) += */
fke_status fke_milmax_backward(fke_err *e, const int32_t *arg, const fke_tensor *dout,
                               fke_tensor *dx);
#endif
