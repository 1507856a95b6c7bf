/* layernorm.h - layer normalisation over the last dimension, PyTorch's
 * nn.LayerNorm(C, eps) with elementwise affine:
 *
 *   y[n, c] = (x[n, c] - mean_n) * rstd_n * gamma[c] + beta[c],
 *   rstd_n = 1 / sqrt(var_n + eps), var_n the biased variance of row n.
 *
 * The forward saves mean and rstd per row (the caller's buffers) for the
 * backward, which adds (+=) into dx, dgamma, dbeta; any of them may be NULL.
 * Row statistics are summed in double.
 *
 *   fke_layernorm_forward(e, &x, &gamma, &beta, 1e-5, &mean, &rstd, &y);
 *   fke_layernorm_backward(e, &x, &gamma, &mean, &rstd, &dy, &dx, &dgamma, &dbeta); */
#ifndef FKE_LAYERNORM_H
#define FKE_LAYERNORM_H
#include "core/fke.h"

/* x (N, C), gamma (C), beta (C), mean (N), rstd (N) written, y (N, C) overwritten
 * (y may not be x) */
fke_status fke_layernorm_forward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                 const fke_tensor *beta, double eps, fke_tensor *mean,
                                 fke_tensor *rstd, fke_tensor *y);
/* dy (N, C); dx (N, C), dgamma (C), dbeta (C) += their gradients */
fke_status fke_layernorm_backward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                  const fke_tensor *mean, const fke_tensor *rstd,
                                  const fke_tensor *dy, fke_tensor *dx, fke_tensor *dgamma,
                                  fke_tensor *dbeta);
#endif
