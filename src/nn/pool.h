/* pool.h - pooling over NCHW tensors.
 *
 * Max pooling (PyTorch's nn.MaxPool2d(k, s), no padding, floor mode):
 *   y (N, C, Ho, Wo), Ho = (H - k) / s + 1 (fke_maxpool2d_out_size), Wo likewise.
 * The forward records, per output element, the index h * W + w of the winning
 * input inside its (H, W) plane (the first maximum on ties) in a caller-owned
 * int32 buffer of N*C*Ho*Wo entries; the backward routes dy there.
 *
 *   fke_maxpool2d_forward(e, &x, k, s, &y, argmax);
 *   fke_maxpool2d_backward(e, &dy, argmax, &dx);     dx (N, C, H, W) +=
 *
 * Global average pooling: (N, C, H, W) -> (N, C), the mean of each plane.
 *
 *   fke_avgpool_global_forward(e, &x, &y);
 *   fke_avgpool_global_backward(e, &dy, &dx);        dx += dy / (H W)
 *
 * Backward adds (+=) into dx. Planes run in parallel (OpenMP). */
#ifndef FKE_POOL_H
#define FKE_POOL_H
#include "core/fke.h"

/* Output length along one axis (<= 0 when the window does not fit). */
int fke_maxpool2d_out_size(int in, int k, int s);

/* x (N, C, H, W); k, s >= 1; y (N, C, Ho, Wo); argmax (N*C*Ho*Wo) written */
fke_status fke_maxpool2d_forward(fke_err *e, const fke_tensor *x, int k, int s,
                                 fke_tensor *y, int32_t *argmax);
/* dy (N, C, Ho, Wo); argmax from the forward; dx (N, C, H, W) */
fke_status fke_maxpool2d_backward(fke_err *e, const fke_tensor *dy, const int32_t *argmax,
                                  fke_tensor *dx);

/* x (N, C, H, W); y (N, C) */
fke_status fke_avgpool_global_forward(fke_err *e, const fke_tensor *x, fke_tensor *y);
/* dy (N, C); dx (N, C, H, W) */
fke_status fke_avgpool_global_backward(fke_err *e, const fke_tensor *dy, fke_tensor *dx);
#endif
