/* linear.h - fully connected layer y = x W^T + b through OpenBLAS.
 * W has PyTorch's layout (out, in), so weights convert without transposing.
 * Backward adds into dx, dW, db; any of them may be NULL (not needed). */
#ifndef FKE_LINEAR_H
#define FKE_LINEAR_H
#include "core/fke.h"

/* x (N, in), W (out, in), b (out) or NULL, y (N, out) overwritten */
fke_status fke_linear_forward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                              const fke_tensor *b, fke_tensor *y);
/* dy (N, out); dx (N, in) += dy W; dW += dy^T x; db += sum_n dy */
fke_status fke_linear_backward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                               const fke_tensor *dy, fke_tensor *dx, fke_tensor *dW,
                               fke_tensor *db);
#endif
