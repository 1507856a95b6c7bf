/* gather.h - moving rows between the layouts of the network: the padded
 * (B, G, ...) garment slots of a batch, the packed (Nv, ...) rows of its
 * valid garments, and the steps of a sequence (N, T, ...). The operations
 * only copy, so they change no value and no order of summation; each
 * backward adds (+=) into the gradients given and skips the NULL ones.
 *
 * The indexed side (gather's inputs, scatter's output) is read as rows of its
 * last dimension w: (R, w), R the product of the other dimensions, so row
 * post * G + slot of f_g (B, G, F) is that slot's garment (model.h's gidx).
 * The packed side (gather's output, scatter's input) is (N, ...): N rows, one
 * per index, each the rest of the tensor's dimensions.
 *
 *   gather   y[r] = [x_0[src(r)] ; x_1[src(r)] ; ... ; x_{n-1}[src(r)]]
 *            src(r) = idx[r], or r when idx is NULL. With a step t >= 0 the
 *            inputs are sequences (R, T, w_j) and the row is step t of
 *            sequence src(r) (docs/model.md's u_k,i, the Bi-LSTM-2 output at k).
 *   scatter  y[idx[r]] = x[r]; the other rows of y keep their values (zeros
 *            from the arena), and idx must not repeat a row.
 *
 * How to call it (c = both directions of Bi-LSTM-1 at the valid garments):
 *   const fke_tensor *dirs[] = {&y_fwd, &y_bwd};                  (B, G, H) each
 *   fke_gather_forward(e, 2, dirs, gidx, FKE_NO_STEP, &c);        c (Nv, 2H)
 *   fke_tensor *ddirs[] = {&dy_fwd, &dy_bwd};
 *   fke_gather_backward(e, &dc, 2, dirs, gidx, FKE_NO_STEP, ddirs);
 *
 *   fke_scatter_forward(e, &f_v, gidx, &f_g);                     (Nv, F) -> (B, G, F)
 *   fke_scatter_backward(e, &df_g, &f_v, gidx, &df_v);            df_v += df_g[gidx]
 *
 * An index outside the rows it addresses is an FKE_ERR_ARG naming it. */
#ifndef FKE_GATHER_H
#define FKE_GATHER_H
#include "core/fke.h"

#define FKE_NO_STEP (-1) /* gather's step: the inputs are plain rows */

/* xs[j] (R_j, w_j) read as rows of its last dimension, or with step >= 0
 * (R_j, T_j, w_j) and 0 <= step < T_j, j < n; idx (N) in 0..R_j-1, or NULL
 * (then R_j = N); y (N, ...) with sum_j w_j values per row, overwritten */
fke_status fke_gather_forward(fke_err *e, int n, const fke_tensor *const *xs,
                              const int32_t *idx, int step, fke_tensor *y);
/* dy like y; xs, idx, step the forward's (only the shapes of xs are read);
 * dxs[j] like xs[j], or NULL where that gradient is not needed:
 * dxs[j][src(r)] += the w_j columns of dy[r] that came from xs[j] */
fke_status fke_gather_backward(fke_err *e, const fke_tensor *dy, int n,
                               const fke_tensor *const *xs, const int32_t *idx, int step,
                               fke_tensor *const *dxs);

/* x (N, ...) with w values per row; y (R, w) read as rows of its last
 * dimension w; idx (N) distinct rows in 0..R-1, or NULL (then R = N) */
fke_status fke_scatter_forward(fke_err *e, const fke_tensor *x, const int32_t *idx,
                               fke_tensor *y);
/* dy like y; x, idx the forward's (x's shape only); dx like x, or NULL:
 * dx[r] += dy[idx[r]] */
fke_status fke_scatter_backward(fke_err *e, const fke_tensor *dy, const fke_tensor *x,
                                const int32_t *idx, fke_tensor *dx);
#endif
