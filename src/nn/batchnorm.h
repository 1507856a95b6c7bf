/* batchnorm.h - 2-D batch normalisation over NCHW tensors, exactly PyTorch's
 * nn.BatchNorm2d (affine, track_running_stats, eps 1e-5, momentum 0.1).
 *
 * Per channel c, over the M = N*H*W values of that channel:
 *   training: mean, var = batch mean and biased variance,
 *             running_mean = 0.9 running_mean + 0.1 mean,
 *             running_var  = 0.9 running_var  + 0.1 var * M / (M - 1)  (unbiased)
 *   eval:     mean, var = running_mean, running_var (not changed)
 *   y = gamma * (x - mean) / sqrt(var + eps) + beta
 *
 * The forward writes the mean and inv_std = 1 / sqrt(var + eps) it used into
 * caller-owned (C) buffers; the backward reads them back, together with x, so
 * nothing else needs to be kept. Pass the same `train` flag to both: in
 * training the gradient flows through the batch statistics, in eval mode the
 * statistics are constants.
 *
 *   fke_batchnorm_forward(e, &x, &gamma, &beta, &rmean, &rvar, train, &mean, &istd, &y);
 *   fke_batchnorm_backward(e, &x, &gamma, &mean, &istd, &dy, train, &dx, &dgamma, &dbeta);
 *
 * Backward adds (+=) into dx, dgamma, dbeta; any of them may be NULL.
 * Channels run in parallel (OpenMP); each channel's sums are taken in double
 * in a fixed order, so results do not depend on the thread count. The batch
 * statistics take one pass over x (fke_batchnorm_moments). */
#ifndef FKE_BATCHNORM_H
#define FKE_BATCHNORM_H
#include "core/fke.h"

#define FKE_BN_EPS 1e-5
#define FKE_BN_MOMENTUM 0.1

/* x (N, C, H, W); gamma, beta (C); running_mean, running_var (C), updated when
 * train; mean, inv_std (C) written; y (N, C, H, W) overwritten (may be x). */
fke_status fke_batchnorm_forward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                 const fke_tensor *beta, fke_tensor *running_mean,
                                 fke_tensor *running_var, int train, fke_tensor *mean,
                                 fke_tensor *inv_std, fke_tensor *y);

/* Synchronised batch norm (config sync_bn, data-parallel training): the
 * same op over the union of every process's batch. With sync non-NULL and
 * train set, the mean and variance are those of all M_total = sum of the
 * processes' N*H*W values per channel (one pass over x, as the local op's,
 * then sync->sum of the count-weighted means and of the squares about the
 * global mean, merged exactly: batchnorm.c; one process gives the local op
 * bit for bit), the running statistics use M_total, and the backward's
 * per-channel sums of dy and dy * xhat are summed before dx is formed.
 * dgamma and dbeta receive this process's share only: the gradient sum
 * across processes completes them. sync NULL, or train 0: exactly the
 * functions above. At most FKE_BN_SYNC_MAXC channels. Every process must
 * call these in the same order (the sums are collective). */
#define FKE_BN_SYNC_MAXC 4096
fke_status fke_batchnorm_forward_sync(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                      const fke_tensor *beta, fke_tensor *running_mean,
                                      fke_tensor *running_var, int train, fke_tensor *mean,
                                      fke_tensor *inv_std, fke_tensor *y,
                                      const fke_reducer *sync);
fke_status fke_batchnorm_backward_sync(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                       const fke_tensor *mean, const fke_tensor *inv_std,
                                       const fke_tensor *dy, int train, fke_tensor *dx,
                                       fke_tensor *dgamma, fke_tensor *dbeta,
                                       const fke_reducer *sync);

/* The batch mean of channel c of x (N, C, H, W) and the sum of squares
 * about it, in double, in one pass over the values (each plane shifted by
 * its first value, planes merged exactly: batchnorm.c), as accurate as the
 * two passes (sum, then squares about the mean) on data whose mean is far
 * larger than its spread. Every training forward's statistics. */
void fke_batchnorm_moments(const fke_tensor *x, int c, double *mean, double *ss);

/* x, dy, dx (N, C, H, W); gamma, mean, inv_std, dgamma, dbeta (C).
 * x must be the forward's input (not overwritten by an in-place forward). */
fke_status fke_batchnorm_backward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                  const fke_tensor *mean, const fke_tensor *inv_std,
                                  const fke_tensor *dy, int train, fke_tensor *dx,
                                  fke_tensor *dgamma, fke_tensor *dbeta);

/* ---- batch norm with its epilogue fused: + ReLU, + 2x2 stride-2 max-pool ----
 * The conv step of a CNN without the passes and buffers between the three:
 *   y = maxpool2(relu(batchnorm(x)))   (each part as act says)
 computed in one pass after the statistics, with the same float arithmetic
 * as fke_batchnorm_forward, fke_relu_forward and fke_maxpool2d_forward (the
 * same bits). The pool's choice is kept as a code i * k + j per output in idx
 * (uint8, (N, C, Ho, Wo): the position in its window, the first of equal
 * maxima), a sixteenth of the int32 argmax of the pre-pool activation, which
 * is not stored at all. The 2x2 stride-2 pool of an even x (fke-small) has
 * SSE2 loops; any other window (ResNet-18's 3x3 stride 2 pad 1) a plain one,
 * and its backward routes the gradient through dx itself, so no buffer of
 * the pre-pool size is needed in either direction.
 *
 * Backward: dx = the gradient at x through all three, from x, y (the
 * forward's output: y > 0 is the ReLU's mask at the pool's choice), idx and
 * dy. dx is OVERWRITTEN (=), not added into: it is the conv output's
 * gradient, which nothing else adds into, and skipping its zeroing is a pass
 * saved. Without a pool dx may be dy (in place: the CNN's backward writes
 * the conv's gradient over the one it came from). dgamma, dbeta are added
 * into (+=); any of dx, dgamma, dbeta may be NULL. y may be NULL when act is
 * {relu 0, pool 0}.
 *
 * Without a pool, y need not be kept: the forward's fold (2, C) holds the
 * per-channel a, bias of y = relu?(x a + bias), and fke_batchnorm_act_apply
 * rebuilds y from x and the fold with the forward's own loop, the same bits.
 * The CNN trunk does so for the ReLU'd input of a conv (cnn.c, "memory").
 *
 *   fke_bn_act act = {.relu = 1, .pool = 2};
 *   fke_batchnorm_act_forward(e, &x, &gamma, &beta, &rm, &rv, train, act, &mean, &istd, &y, idx);
 *   fke_batchnorm_act_backward(e, &x, &gamma, &mean, &istd, act, &y, idx, &dy, train, &dx,
 *                              &dgamma, &dbeta);
 *   fke_batchnorm_act_apply(e, &x, &fold, act.relu, &y);   y again, from x (no pool) */
typedef struct {
    int relu;   /* 1: ReLU after the batch norm */
    int pool;   /* 0, or the max-pool's window k (k x k, up to 15) */
    int stride; /* the pool's stride; 0 = k */
    int pad;    /* the pool's padding (<= k / 2), excluded from the max (-inf) */
} fke_bn_act;

/* x (N, C, H, W); y (N, C, Ho, Wo), Ho = (H + 2 pad - k) / stride + 1 when
 * pooled, else H; idx (N, C, Ho, Wo) when pooled, else unused (may be NULL).
 * The rest as fke_batchnorm_forward. */
fke_status fke_batchnorm_act_forward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                     const fke_tensor *beta, fke_tensor *running_mean,
                                     fke_tensor *running_var, int train, fke_bn_act act,
                                     fke_tensor *mean, fke_tensor *inv_std, fke_tensor *y,
                                     uint8_t *idx);

/* x, dx (N, C, H, W); y, dy (N, C, Ho, Wo); dx overwritten (required when the
 * pool is not the 2x2 stride-2 one). */
fke_status fke_batchnorm_act_backward(fke_err *e, const fke_tensor *x, const fke_tensor *gamma,
                                      const fke_tensor *mean, const fke_tensor *inv_std,
                                      fke_bn_act act, const fke_tensor *y, const uint8_t *idx,
                                      const fke_tensor *dy, int train, fke_tensor *dx,
                                      fke_tensor *dgamma, fke_tensor *dbeta);

/* The fused op over the union of every process's batch (sync_bn), as
 * fke_batchnorm_forward_sync and fke_batchnorm_backward_sync are the plain
 * one's; sync NULL, or train 0: exactly the two functions above. fold (2,
 * C), or NULL: the a (row 0) and bias (row 1) of each channel's
 * y = relu?(x a + bias), written for fke_batchnorm_act_apply. */
fke_status fke_batchnorm_act_forward_sync(fke_err *e, const fke_tensor *x,
                                          const fke_tensor *gamma, const fke_tensor *beta,
                                          fke_tensor *running_mean, fke_tensor *running_var,
                                          int train, fke_bn_act act, fke_tensor *mean,
                                          fke_tensor *inv_std, fke_tensor *y, uint8_t *idx,
                                          fke_tensor *fold, const fke_reducer *sync);

/* x, y (N, C, H, W), fold (2, C) from the forward over this x without a
 * pool: y = relu?(x a + bias) per channel, the bits that forward wrote. */
fke_status fke_batchnorm_act_apply(fke_err *e, const fke_tensor *x, const fke_tensor *fold,
                                   int relu, fke_tensor *y);
fke_status fke_batchnorm_act_backward_sync(fke_err *e, const fke_tensor *x,
                                           const fke_tensor *gamma, const fke_tensor *mean,
                                           const fke_tensor *inv_std, fke_bn_act act,
                                           const fke_tensor *y, const uint8_t *idx,
                                           const fke_tensor *dy, int train, fke_tensor *dx,
                                           fke_tensor *dgamma, fke_tensor *dbeta,
                                           const fke_reducer *sync);
#endif
