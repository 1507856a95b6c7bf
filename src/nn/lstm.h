/* lstm.h - one direction of one LSTM layer, exactly PyTorch's nn.LSTM
 * (batch_first, bias=True) over a padded batch, as with pack_padded_sequence.
 * A bidirectional layer is two calls (reverse = 0 and 1) whose outputs the
 * caller concatenates. The parameter struct is shared with gru.h.
 *
 * Gates, in PyTorch's order i, f, g, o (rows of W_ih / W_hh in blocks of H):
 *   i = sig(W_ii x + b_ii + W_hi h + b_hi)     f = sig(W_if x + ... )
 *   g = tanh(W_ig x + ... )                     o = sig(W_io x + ... )
 *   c' = f * c + i * g                          h' = o * tanh(c')
 *
 * Variable lengths: row n has len[n] valid steps 0..len[n]-1 (1 <= len <= T).
 * The forward direction runs t = 0..len-1, the reverse one t = len-1..0;
 * padded steps take no part in the recurrence, y is zero there, and hT/cT are
 * the state after the row's last processed step (PyTorch's h_n / c_n for a
 * packed sequence). Padded steps of x must hold finite numbers (they are
 * multiplied by zero gradients in the one-GEMM weight update).
 *
 * How to call it (nothing is allocated inside forward or backward):
 *   fke_lstm_cache k;
 *   fke_lstm_cache_alloc(&arena, e, N, T, H, &k);           once per step
 *   fke_lstm_forward(e, &P, &x, len, reverse, h0, c0, &k, &y, &hT, &cT);
 *   fke_lstm_backward(e, &P, &x, &k, &dy, &dhT, &dcT, &dx, &dh0, &dc0, &dP);
 * Backward reuses the lengths and direction the forward recorded in the cache,
 * does not modify the forward's saved values (it may run twice) and adds (+=)
 * into every gradient. */
#ifndef FKE_LSTM_H
#define FKE_LSTM_H
#include "core/fke.h"

/* The weights of one direction of a recurrent layer in PyTorch's layout
 * (weight_ih_l0 etc.); G = 4 for the LSTM, 3 for the GRU. The gradients of a
 * layer are another fke_rnn_params of the same shapes. */
typedef struct {
    fke_tensor W_ih; /* (G*H, I) */
    fke_tensor W_hh; /* (G*H, H) */
    fke_tensor b_ih; /* (G*H) */
    fke_tensor b_hh; /* (G*H) */
} fke_rnn_params;

/* What the forward saves for the backward, plus the backward's workspace. */
typedef struct {
    int N, T, H, reverse;
    int *len;          /* (N) copy of the lengths */
    fke_tensor gates;  /* (N, T, 4H) activated i, f, g, o */
    fke_tensor hin;    /* (N, T, H) state h entering step t */
    fke_tensor cin;    /* (N, T, H) state c entering step t */
    fke_tensor tc;     /* (N, T, H) tanh(c') after step t */
    fke_tensor h, c;   /* (N, H) running state (forward), dh/dc (backward) */
    fke_tensor dtmp;   /* (N, H) recurrent gradient of one step */
    fke_tensor dgates; /* (N, T, 4H) gradient of the gate pre-activations */
} fke_lstm_cache;

/* Allocates k's tensors from the arena (FKE_ERR_NOMEM when it is full). */
fke_status fke_lstm_cache_alloc(fke_arena *a, fke_err *e, int N, int T, int H,
                                fke_lstm_cache *k);

/* P: W_ih (4H, I), W_hh (4H, H), b_ih (4H), b_hh (4H); x (N, T, I);
 * len (N) or NULL (all T); h0, c0 (N, H) or NULL (zeros);
 * y (N, T, H), hT, cT (N, H) overwritten, each may be NULL. */
fke_status fke_lstm_forward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                            const int *len, int reverse, const fke_tensor *h0,
                            const fke_tensor *c0, fke_lstm_cache *k, fke_tensor *y,
                            fke_tensor *hT, fke_tensor *cT);
/* dy (N, T, H), dhT, dcT (N, H): each may be NULL (zero).
 * dx (N, T, I) +=, dh0, dc0 (N, H) +=, each may be NULL;
 * dP (same shapes as P) += , may be NULL (input gradients only). */
fke_status fke_lstm_backward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                             fke_lstm_cache *k, const fke_tensor *dy, const fke_tensor *dhT,
                             const fke_tensor *dcT, fke_tensor *dx, fke_tensor *dh0,
                             fke_tensor *dc0, fke_rnn_params *dP);

/* ---- shared with gru.c -------------------------------------------------- */
/* Checks P for G gates and x (N, T, I) against it; sets *N, *T, *In, *H. */
fke_status fke_rnn_check(fke_err *e, const char *op, int G, const fke_rnn_params *P,
                         const fke_tensor *x, int *N, int *T, int *In, int *H);
/* Copies len (or T for all rows when NULL) into dst, checking 1 <= len <= T. */
fke_status fke_rnn_lengths(fke_err *e, const char *op, const int *len, int N, int T,
                           int *dst);
/* Checks the gradient buffers of a backward before anything is added:
 * dx (N, T, I) and dP (shapes of P), either may be NULL. */
fke_status fke_rnn_check_grads(fke_err *e, const char *op, const fke_rnn_params *P,
                               const fke_tensor *x, const fke_tensor *dx,
                               const fke_rnn_params *dP);
/* The gradients that do not depend on the step order, from all steps at once
 * (one GEMM each): dg (N, T, G*H) is the gradient of the input part of the
 * gate pre-activations, dgh (N, T, G*H) of the recurrent part, hin (N, T, H)
 * the state entering each step. Adds into dx and dP (either may be NULL;
 * shapes already checked by fke_rnn_check_grads). */
void fke_rnn_weight_grads(const fke_rnn_params *P, const fke_tensor *x,
                          const fke_tensor *hin, const fke_tensor *dg,
                          const fke_tensor *dgh, fke_tensor *dx, fke_rnn_params *dP);
#endif
