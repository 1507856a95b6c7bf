/* lstm.h - one direction of one LSTM layer, exactly PyTorch's nn.LSTM
 * (batch_first, bias=True) over a padded batch, as with pack_padded_sequence.
 * A bidirectional layer is two calls (reverse = 0 and 1) whose outputs the
 * caller concatenates. The parameter struct, the head of the cache and the
 * helpers at the end are shared with gru.h.
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

#include <math.h>
#include <stddef.h>

/* The weights of one direction of a recurrent layer in PyTorch's layout
 * (weight_ih_l0 etc.); G = 4 for the LSTM, 3 for the GRU. The gradients of a
 * layer are another fke_rnn_params of the same shapes. */
typedef struct {
    fke_tensor W_ih; /* (G*H, I) */
    fke_tensor W_hh; /* (G*H, H) */
    fke_tensor b_ih; /* (G*H) */
    fke_tensor b_hh; /* (G*H) */
} fke_rnn_params;

/* The first member of every recurrent cache: the sizes it was allocated for
 * and what the forward records for the backward. */
typedef struct {
    int N, T, H;
    int reverse; /* direction of the last forward */
    int *len;    /* (N) copy of the lengths */
} fke_rnn_cache;

/* What the forward saves for the backward, plus the backward's workspace. */
typedef struct {
    fke_rnn_cache seq; /* sizes, lengths, direction; first member */
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
/* One activation in fke_real's precision (expf, tanhf; exp, tanh when
 * double); the cells' steps use the array forms of vmath.h. */
#ifdef FKE_DOUBLE
static inline fke_real fke_rnn_tanh(fke_real v) { return tanh(v); }
static inline fke_real fke_rnn_sigm(fke_real v) { return 1 / (1 + exp(-v)); }
#else
static inline fke_real fke_rnn_tanh(fke_real v) { return tanhf(v); }
static inline fke_real fke_rnn_sigm(fke_real v) { return 1 / (1 + expf(-v)); }
#endif

/* One tensor of a cache struct, in the table that allocates and checks it:
 * at byte offset off, of shape (N, T, w*H) when per_step, else (N, w*H). */
typedef struct {
    const char *name; /* "cache.gates", for messages */
    size_t off;       /* offsetof(fke_lstm_cache, gates) */
    int w, per_step;
} fke_rnn_slot;

/* A cell kind: its gate count, its cache struct and that struct's tensors. */
typedef struct {
    const char *name; /* "lstm", for messages */
    int G;            /* gates: W_ih is (G*H, I) */
    size_t size;      /* sizeof(fke_lstm_cache) */
    const fke_rnn_slot *slots; /* in arena order */
    int nslots;
} fke_rnn_cell;

/* Fills cache (a cell->size struct whose first member is an fke_rnn_cache):
 * zeroes it, records N, T, H and allocates len and then each slot's tensor,
 * in that order (FKE_ERR_ARG unless all are positive, FKE_ERR_NOMEM when the
 * arena is full). The slots are not zeroed: a cell's forward and backward
 * write every element of a slot before they read it. */
fke_status fke_rnn_cache_alloc(fke_arena *a, fke_err *e, const fke_rnn_cell *cell, int N,
                               int T, int H, void *cache);
/* The checks a forward and a backward start with: P for cell->G gates, x
 * (N, T, I) against it, and cache (may be NULL: an error) allocated for
 * N, T, H; sets *N, *T, *In, *H. */
fke_status fke_rnn_check(fke_err *e, const char *op, const fke_rnn_cell *cell,
                         const fke_rnn_params *P, const fke_tensor *x, const void *cache,
                         int *N, int *T, int *In, int *H);
/* Records what a forward runs over for its backward: the direction, and len
 * (or T for all rows when NULL) copied into c->len, checking 1 <= len <= T. */
fke_status fke_rnn_record(fke_err *e, const char *op, const int *len, int reverse,
                          fke_rnn_cache *c);
/* Checks the gradient buffers of a backward before anything is added:
 * dx (N, T, I) and dP (shapes of P), either may be NULL. */
fke_status fke_rnn_check_grads(fke_err *e, const char *op, const fke_rnn_params *P,
                               const fke_tensor *x, const fke_tensor *dx,
                               const fke_rnn_params *dP);
/* dst (n) = src, or zeros when src is NULL: an initial state or gradient. */
void fke_rnn_copy_or_zero(fke_real *dst, const fke_tensor *src, size_t n);
/* gates (N*T, G*H) = b_ih (+ b_hh when add_bhh) + x (N*T, I) W_ih^T: the
 * input part of every step's pre-activations, in one GEMM. */
void fke_rnn_input_gates(const fke_rnn_params *P, const fke_tensor *x, int add_bhh,
                         fke_tensor *gates);
/* The row chunks (tensor_ops.h, fke_thread_chunks: fixed by N and the
 * thread count, the same at 1 and 2) a recurrence over N rows is split into,
 * one thread running every step of a chunk. */
int fke_rnn_chunks(int N);
/* Step t of a backward, through W_hh, for rows r0 <= n < r1: dtmp (n, H) =
 * dg[n, t] (G*H) W_hh (G*H, H), dg being (N, T, G*H), then for the rows
 * active at step t dh (n, H) = dtmp, or += dtmp when add (dh already holds a
 * direct path). */
void fke_rnn_step_dh(const fke_rnn_params *P, const fke_rnn_cache *c, int t, int r0, int r1,
                     const fke_tensor *dg, fke_tensor *dtmp, int add, fke_tensor *dh);
/* The gradients that do not depend on the step order, from all steps at once
 * (one GEMM each): dg (N, T, G*H) is the gradient of the input part of the
 * gate pre-activations, dgh (N, T, G*H) of the recurrent part, hin (N, T, H)
 * the state entering each step. Adds into dx and dP (either may be NULL;
 * shapes already checked by fke_rnn_check_grads). */
void fke_rnn_weight_grads(const fke_rnn_params *P, const fke_tensor *x,
                          const fke_tensor *hin, const fke_tensor *dg,
                          const fke_tensor *dgh, fke_tensor *dx, fke_rnn_params *dP);
#endif
