/* gru.h - one direction of one GRU layer, exactly PyTorch's nn.GRU
 * (batch_first, bias=True) over a padded batch, as with pack_padded_sequence.
 * Same conventions as lstm.h (lengths, direction, masking, caching, +=
 * gradients), with the parameter struct fke_rnn_params and the cache head
 * fke_rnn_cache from there.
 *
 * Gates, in PyTorch's order r, z, n (rows of W_ih / W_hh in blocks of H):
 *   r = sig(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sig(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 *
 * How to call it (nothing is allocated inside forward or backward):
 *   fke_gru_cache k;
 *   fke_gru_cache_alloc(&arena, e, N, T, H, &k);            once per step
 *   fke_gru_forward(e, &P, &x, len, reverse, h0, &k, &y, &hT);
 *   fke_gru_backward(e, &P, &x, &k, &dy, &dhT, &dx, &dh0, &dP); */
#ifndef FKE_GRU_H
#define FKE_GRU_H
#include "core/fke.h"
#include "nn/lstm.h" /* fke_rnn_params, fke_rnn_cache and the shared helpers */

/* What the forward saves for the backward, plus the backward's workspace. */
typedef struct {
    fke_rnn_cache seq; /* sizes, lengths, direction; first member */
    fke_tensor gates;  /* (N, T, 3H) activated r, z, n */
    fke_tensor hn;     /* (N, T, H) W_hn h + b_hn at step t */
    fke_tensor hin;    /* (N, T, H) state h entering step t */
    fke_tensor hg;     /* (N, 3H) recurrent pre-activations of one step */
    fke_tensor h;      /* (N, H) running state (forward), dh (backward) */
    fke_tensor dtmp;   /* (N, H) recurrent gradient of one step */
    fke_tensor dxg;    /* (N, T, 3H) gradient of the input pre-activations */
    fke_tensor dhg;    /* (N, T, 3H) gradient of the recurrent pre-activations */
} fke_gru_cache;

/* Allocates k's tensors from the arena (FKE_ERR_NOMEM when it is full). */
fke_status fke_gru_cache_alloc(fke_arena *a, fke_err *e, int N, int T, int H,
                               fke_gru_cache *k);

/* P: W_ih (3H, I), W_hh (3H, H), b_ih (3H), b_hh (3H); x (N, T, I);
 * len (N) or NULL (all T); h0 (N, H) or NULL (zeros);
 * y (N, T, H), hT (N, H) overwritten, each may be NULL. */
fke_status fke_gru_forward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                           const int *len, int reverse, const fke_tensor *h0,
                           fke_gru_cache *k, fke_tensor *y, fke_tensor *hT);
/* dy (N, T, H), dhT (N, H): each may be NULL (zero).
 * dx (N, T, I) +=, dh0 (N, H) +=, each may be NULL;
 * dP (same shapes as P) +=, may be NULL (input gradients only). */
fke_status fke_gru_backward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                            fke_gru_cache *k, const fke_tensor *dy, const fke_tensor *dhT,
                            fke_tensor *dx, fke_tensor *dh0, fke_rnn_params *dP);
#endif
