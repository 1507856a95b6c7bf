/* attention.h - multi-head scaled dot-product self-attention over packed
 * projections, the core of PyTorch's nn.MultiheadAttention (no mask, no
 * dropout). The input and output projections are linear layers (linear.h)
 * around it: qkv = x W_in^T + b_in, out = y W_out^T + b_out.
 *
 * qkv (B, T, 3E) holds q, k, v side by side, in in_proj_weight's row order
 * (q = columns 0..E-1, k = E..2E-1, v = 2E..3E-1); head h uses the
 * columns h*dh .. h*dh+dh-1 of each, dh = E / H. For each b, h:
 *
 *   att[b, h] = softmax_rows(q_h k_h^T / sqrt(dh))      (T, T)
 *   y[b, :, h*dh..] = att[b, h] v_h                      (T, dh)
 *
 * The forward saves att (the caller's buffer) for the backward, which adds
 * (+=) into dqkv and allocates nothing. Heads run in parallel; every output
 * element is summed in a fixed order.
 *
 *   fke_attention_forward(e, &qkv, H, &att, &y);
 *   fke_attention_backward(e, &qkv, H, &att, &dy, &dqkv); */
#ifndef FKE_ATTENTION_H
#define FKE_ATTENTION_H
#include "core/fke.h"

/* qkv (B, T, 3E), E divisible by H; att (B, H, T, T) and y (B, T, E) overwritten */
fke_status fke_attention_forward(fke_err *e, const fke_tensor *qkv, int H, fke_tensor *att,
                                 fke_tensor *y);
/* att: the forward's; dy (B, T, E); dqkv (B, T, 3E) += the gradient */
fke_status fke_attention_backward(fke_err *e, const fke_tensor *qkv, int H,
                                  const fke_tensor *att, const fke_tensor *dy,
                                  fke_tensor *dqkv);
#endif
