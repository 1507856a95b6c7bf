/* gc_rnn.c - gradient checks of the recurrent layers (lstm.c, gru.c): each
 * cell in each direction, odd sizes, variable lengths with padded steps,
 * given initial states, and a loss over y, hT (and cT); and each cell from a
 * zero initial state with no initial-state gradient (h0, c0, dh0, dc0 NULL:
 * the first step's recurrent GEMM and the last backward one are skipped). */
#include "gradcheck/gradcheck.h"
#include "nn/gru.h"
#include "nn/lstm.h"

typedef struct {
    int lstm, reverse, zero_state;
    int len[3];
    fke_rnn_params P, dP;
    fke_tensor x, dx, h0, dh0, c0, dc0;
    fke_tensor y, hT, cT, ry, rh, rc; /* outputs and their loss weights */
    fke_lstm_cache kl;
    fke_gru_cache kg;
} rnn_ctx;

static fke_status rnn_forward(fke_gc *g, void *p)
{
    rnn_ctx *c = p;
    const fke_tensor *h0 = c->zero_state ? NULL : &c->h0, *c0 = c->zero_state ? NULL : &c->c0;
    if (c->lstm)
        return fke_lstm_forward(&g->err, &c->P, &c->x, c->len, c->reverse, h0, c0, &c->kl,
                                &c->y, &c->hT, &c->cT);
    return fke_gru_forward(&g->err, &c->P, &c->x, c->len, c->reverse, h0, &c->kg, &c->y,
                           &c->hT);
}

static fke_status rnn_backward(fke_gc *g, void *p)
{
    rnn_ctx *c = p;
    fke_tensor *dh0 = c->zero_state ? NULL : &c->dh0, *dc0 = c->zero_state ? NULL : &c->dc0;
    if (c->lstm)
        return fke_lstm_backward(&g->err, &c->P, &c->x, &c->kl, &c->ry, &c->rh, &c->rc,
                                 &c->dx, dh0, dc0, &c->dP);
    return fke_gru_backward(&g->err, &c->P, &c->x, &c->kg, &c->ry, &c->rh, &c->dx, dh0,
                            &c->dP);
}

static int gc_rnn(fke_gc *g, const char *name, int lstm, int reverse, int zero_state)
{
    rnn_ctx c = {.lstm = lstm, .reverse = reverse, .zero_state = zero_state, .len = {4, 2, 1}};
    int N = 3, T = 4, I = 5, H = 3, G = (lstm ? 4 : 3) * H;
    fke_gc_output(g, &c.y, &c.ry, 3, N, T, H);
    fke_gc_output(g, &c.hT, &c.rh, 2, N, H);
    fke_gc_output(g, &c.cT, &c.rc, 2, N, H); /* the GRU leaves cT at 0: it adds 0 to the loss */
    /* x on the padded steps too: their gradient must be 0 */
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 3, N, T, I);
    fke_gc_input(g, "W_ih", &c.P.W_ih, &c.dP.W_ih, -0.6, 0.6, 2, G, I);
    fke_gc_input(g, "W_hh", &c.P.W_hh, &c.dP.W_hh, -0.6, 0.6, 2, G, H);
    fke_gc_input(g, "b_ih", &c.P.b_ih, &c.dP.b_ih, -0.5, 0.5, 1, G);
    fke_gc_input(g, "b_hh", &c.P.b_hh, &c.dP.b_hh, -0.5, 0.5, 1, G);
    if (!zero_state) {
        fke_gc_input(g, "h0", &c.h0, &c.dh0, -0.8, 0.8, 2, N, H);
        if (lstm) fke_gc_input(g, "c0", &c.c0, &c.dc0, -0.8, 0.8, 2, N, H);
    }
    fke_status s = lstm ? fke_lstm_cache_alloc(&g->arena, &g->err, N, T, H, &c.kl)
                        : fke_gru_cache_alloc(&g->arena, &g->err, N, T, H, &c.kg);
    if (s != FKE_OK) c.x.data = NULL; /* reported by fke_gc_check as not allocated */
    return fke_gc_check(g, name, rnn_forward, rnn_backward, &c);
}

static int gc_lstm_fwd(fke_gc *g) { return gc_rnn(g, "lstm_fwd", 1, 0, 0); }
static int gc_lstm_rev(fke_gc *g) { return gc_rnn(g, "lstm_rev", 1, 1, 0); }
static int gc_gru_fwd(fke_gc *g) { return gc_rnn(g, "gru_fwd", 0, 0, 0); }
static int gc_gru_rev(fke_gc *g) { return gc_rnn(g, "gru_rev", 0, 1, 0); }
static int gc_lstm_fwd0(fke_gc *g) { return gc_rnn(g, "lstm_fwd_h0zero", 1, 0, 1); }
static int gc_lstm_rev0(fke_gc *g) { return gc_rnn(g, "lstm_rev_h0zero", 1, 1, 1); }
static int gc_gru_fwd0(fke_gc *g) { return gc_rnn(g, "gru_fwd_h0zero", 0, 0, 1); }
static int gc_gru_rev0(fke_gc *g) { return gc_rnn(g, "gru_rev_h0zero", 0, 1, 1); }

const fke_gc_case fke_gc_rnn_cases[] = {{"lstm_fwd", gc_lstm_fwd},
                                        {"lstm_rev", gc_lstm_rev},
                                        {"gru_fwd", gc_gru_fwd},
                                        {"gru_rev", gc_gru_rev},
                                        {"lstm_fwd_h0zero", gc_lstm_fwd0},
                                        {"lstm_rev_h0zero", gc_lstm_rev0},
                                        {"gru_fwd_h0zero", gc_gru_fwd0},
                                        {"gru_rev_h0zero", gc_gru_rev0},
                                        {0, 0}};
