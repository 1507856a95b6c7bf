/* tensor_ops.h - the glue of a network: residual add, concatenation of 2-D
 * tensors along dim 1, and a column slice of a 2-D tensor, each with its
 * backward (which adds (+=) into the gradients given; NULL ones are skipped).
 *
 *   fke_add_forward(e, &a, &b, &y);                 y = a + b (any shape, equal)
 *   fke_add_backward(e, &dy, &da, &db);             da += dy, db += dy
 *
 *   const fke_tensor *parts[] = {&h_fwd, &h_bwd, &f_img};
 *   fke_concat_forward(e, 3, parts, &s);            (N, a), (N, b), (N, c) -> (N, a+b+c)
 *   fke_tensor *dparts[] = {&dh_fwd, NULL, &df_img};
 *   fke_concat_backward(e, &ds, 3, parts, dparts);  dparts[i] += its columns of ds
 *
 *   fke_slice_forward(e, &x, from, to, &y);         y (N, to-from) = x[:, from:to]
 *   fke_slice_backward(e, &dy, from, &dx);          dx[:, from:from+cols(dy)] += dy */
#ifndef FKE_TENSOR_OPS_H
#define FKE_TENSOR_OPS_H
#include "core/fke.h"

/* a, b, y: any shape, equal; y may be a or b */
fke_status fke_add_forward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                           fke_tensor *y);
/* dy, da, db: the same shape; da or db may be NULL */
fke_status fke_add_backward(fke_err *e, const fke_tensor *dy, fke_tensor *da, fke_tensor *db);

/* xs[i] (N, D_i), i < n; y (N, sum D_i) */
fke_status fke_concat_forward(fke_err *e, int n, const fke_tensor *const *xs, fke_tensor *y);
/* dy (N, sum D_i); xs the forward's inputs (only their shapes are read);
 * dxs[i] (N, D_i), or NULL where that gradient is not needed */
fke_status fke_concat_backward(fke_err *e, const fke_tensor *dy, int n,
                               const fke_tensor *const *xs, fke_tensor *const *dxs);

/* x (N, D); 0 <= from < to <= D; y (N, to - from) */
fke_status fke_slice_forward(fke_err *e, const fke_tensor *x, int from, int to, fke_tensor *y);
/* dy (N, k); dx (N, D) with from + k <= D */
fke_status fke_slice_backward(fke_err *e, const fke_tensor *dy, int from, fke_tensor *dx);
#endif
