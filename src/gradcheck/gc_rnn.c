/* gc_rnn.c - gradient checks of the recurrent layers (lstm.c, gru.c): each
 * cell in each direction, odd sizes, variable lengths with padded steps,
 * given initial states, and a loss over y, hT (and cT). */
#include "gradcheck/gradcheck.h"
#include "nn/gru.h"
#include "nn/lstm.h"

typedef struct {
    int lstm, reverse;
    int len[3];
    fke_rnn_params P, dP;
    fke_tensor x, dx, h0, dh0, c0, dc0;
    fke_tensor y, hT, cT, ry, rh, rc; /* outputs and their loss weights */
    fke_lstm_cache kl;
    fke_gru_cache kg;
} rnn_ctx;

static fke_status rnn_fwd(fke_gc *g, rnn_ctx *c)
{
    if (c->lstm)
        return fke_lstm_forward(&g->err, &c->P, &c->x, c->len, c->reverse, &c->h0, &c->c0,
                                &c->kl, &c->y, &c->hT, &c->cT);
    return fke_gru_forward(&g->err, &c->P, &c->x, c->len, c->reverse, &c->h0, &c->kg,
                           &c->y, &c->hT);
}

static fke_status rnn_loss(fke_gc *g, void *p, double *L)
{
    rnn_ctx *c = p;
    FKE_TRY(rnn_fwd(g, c));
    *L = fke_gc_dot(&c->y, &c->ry) + fke_gc_dot(&c->hT, &c->rh);
    if (c->lstm) *L += fke_gc_dot(&c->cT, &c->rc);
    return FKE_OK;
}

static fke_status rnn_grad(fke_gc *g, void *p)
{
    rnn_ctx *c = p;
    FKE_TRY(rnn_fwd(g, c));
    if (c->lstm)
        return fke_lstm_backward(&g->err, &c->P, &c->x, &c->kl, &c->ry, &c->rh, &c->rc,
                                 &c->dx, &c->dh0, &c->dc0, &c->dP);
    return fke_gru_backward(&g->err, &c->P, &c->x, &c->kg, &c->ry, &c->rh, &c->dx, &c->dh0,
                            &c->dP);
}

static int gc_rnn(fke_gc *g, const char *name, int lstm, int reverse)
{
    rnn_ctx c = {.lstm = lstm, .reverse = reverse, .len = {4, 2, 1}};
    int N = 3, T = 4, I = 5, H = 3, G = (lstm ? 4 : 3) * H;
    c.P.W_ih = fke_gc_tensor(g, 2, G, I);
    c.P.W_hh = fke_gc_tensor(g, 2, G, H);
    c.P.b_ih = fke_gc_tensor(g, 1, G);
    c.P.b_hh = fke_gc_tensor(g, 1, G);
    c.dP.W_ih = fke_gc_tensor(g, 2, G, I);
    c.dP.W_hh = fke_gc_tensor(g, 2, G, H);
    c.dP.b_ih = fke_gc_tensor(g, 1, G);
    c.dP.b_hh = fke_gc_tensor(g, 1, G);
    c.x = fke_gc_tensor(g, 3, N, T, I);
    c.dx = fke_gc_tensor(g, 3, N, T, I);
    c.h0 = fke_gc_tensor(g, 2, N, H);
    c.dh0 = fke_gc_tensor(g, 2, N, H);
    c.c0 = fke_gc_tensor(g, 2, N, H);
    c.dc0 = fke_gc_tensor(g, 2, N, H);
    c.y = fke_gc_tensor(g, 3, N, T, H);
    c.hT = fke_gc_tensor(g, 2, N, H);
    c.cT = fke_gc_tensor(g, 2, N, H);
    c.ry = fke_gc_uniform_like(g, &c.y, -1, 1);
    c.rh = fke_gc_uniform_like(g, &c.hT, -1, 1);
    c.rc = fke_gc_uniform_like(g, &c.cT, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1); /* padded steps too: their gradient must be 0 */
    fke_gc_fill_uniform(g, &c.P.W_ih, -0.6, 0.6);
    fke_gc_fill_uniform(g, &c.P.W_hh, -0.6, 0.6);
    fke_gc_fill_uniform(g, &c.P.b_ih, -0.5, 0.5);
    fke_gc_fill_uniform(g, &c.P.b_hh, -0.5, 0.5);
    fke_gc_fill_uniform(g, &c.h0, -0.8, 0.8);
    fke_gc_fill_uniform(g, &c.c0, -0.8, 0.8);
    fke_status s = lstm ? fke_lstm_cache_alloc(&g->arena, &g->err, N, T, H, &c.kl)
                        : fke_gru_cache_alloc(&g->arena, &g->err, N, T, H, &c.kg);
    if (s != FKE_OK) c.x.data = NULL; /* reported by fke_gc_run as not allocated */
    fke_gc_var(g, "x", &c.x, &c.dx);
    fke_gc_var(g, "h0", &c.h0, &c.dh0);
    if (lstm) fke_gc_var(g, "c0", &c.c0, &c.dc0);
    fke_gc_var(g, "W_ih", &c.P.W_ih, &c.dP.W_ih);
    fke_gc_var(g, "W_hh", &c.P.W_hh, &c.dP.W_hh);
    fke_gc_var(g, "b_ih", &c.P.b_ih, &c.dP.b_ih);
    fke_gc_var(g, "b_hh", &c.P.b_hh, &c.dP.b_hh);
    return fke_gc_run(g, name, rnn_loss, rnn_grad, &c) ? 0 : 1;
}

static int gc_lstm_fwd(fke_gc *g) { return gc_rnn(g, "lstm_fwd", 1, 0); }
static int gc_lstm_rev(fke_gc *g) { return gc_rnn(g, "lstm_rev", 1, 1); }
static int gc_gru_fwd(fke_gc *g) { return gc_rnn(g, "gru_fwd", 0, 0); }
static int gc_gru_rev(fke_gc *g) { return gc_rnn(g, "gru_rev", 0, 1); }

const fke_gc_case fke_gc_rnn_cases[] = {{"lstm_fwd", gc_lstm_fwd},
                                        {"lstm_rev", gc_lstm_rev},
                                        {"gru_fwd", gc_gru_fwd},
                                        {"gru_rev", gc_gru_rev},
                                        {0, 0}};
