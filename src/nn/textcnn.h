/* textcnn.h - the caption convolutions of TextCNN (Kim 2014; docs/model.md): for
 * each filter bank k (one per width w_k, 2..5 in docs/model.md) a 1-D convolution
 * over the tokens with Co filters, ReLU, and max over time; the banks'
 * outputs are concatenated in bank order, so
 *
 *   y[n, k*Co + c] = max_t relu(b_k[c] + sum_{d,j} W_k[c, d, j] x[n, t + j, d])
 *
 * over the valid positions t = 0..L-w_k. W_k has PyTorch's Conv1d layout
 * (Co, D, w) with the input read as (N, D, L): weights convert as they are,
 * and the result equals torch.cat([F.relu(conv_k(x.transpose(1, 2)))
 * .max(dim=2)[0] for k], 1). All banks are done in one call; the width of
 * bank k is W[k].shape[2]. A caption shorter than a filter (L < w) is an
 * FKE_ERR_SHAPE error.
 *
 * The forward saves, per output, the position t of the maximum (the first
 * on ties) in arg, which the backward needs with y. It runs as one GEMM over
 * all banks, with (D + N L) sum_k w_k Co values of scratch taken from the top
 * of the arena ws and given back before it returns (ws->used restored,
 * ws->peak keeps the high-water mark, so a dry run sizes the arena).
 * Backward adds into dx, dW[k], db[k]; dx, dW and db may each be NULL (not
 * needed). */
#ifndef FKE_TEXTCNN_H
#define FKE_TEXTCNN_H
#include "core/fke.h"
#include "nn/params.h"

#define FKE_TEXTCNN_MAXW 8 /* filter banks at most */

/* x (N, L, D); W[nw] each (Co, D, w_k); b[nw] each (Co);
 * y (N, nw*Co) overwritten; arg (N, nw*Co) int32 overwritten; ws the
 * workspace arena */
fke_status fke_textcnn_forward(fke_err *e, const fke_tensor *x, int nw, const fke_tensor *W,
                               const fke_tensor *b, fke_tensor *y, int32_t *arg, fke_arena *ws);
/* y, arg from the forward; dy (N, nw*Co);
 * dx (N, L, D) +=, dW[k] (Co, D, w_k) +=, db[k] (Co) += */
fke_status fke_textcnn_backward(fke_err *e, const fke_tensor *x, int nw, const fke_tensor *W,
                                const fke_tensor *y, const int32_t *arg,
                                const fke_tensor *dy, fke_tensor *dx, fke_tensor *dW,
                                fke_tensor *db);

/* The caption tower's parameters, shared by the FashionKE model and task
 * clip: "text.emb.weight" (V, D) into *emb and, for bank k of width k + 2,
 * "text.convs.<k>.weight" (Co, D, k + 2) and ".bias" (Co) into w[k], b[k]. */
fke_status fke_textcnn_add_params(fke_params *P, fke_err *e, int V, int D, int Co, int nw,
                                  int *emb, int *w, int *b);
/* Their initial values, as PyTorch's: the embedding N(0, 1), each bank's
 * weight and bias U(+-1/sqrt(D w_k)), drawn in that order. */
void fke_textcnn_init_params(fke_params *P, int emb, int nw, const int *w, const int *b,
                             fke_rng *r);
#endif
