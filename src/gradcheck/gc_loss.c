/* gc_loss.c - gradient checks of the losses: softmax cross-entropy and the
 * forward-corrected cross-entropy of the transition layer (gradients to the
 * logits and to Θ), each with missing labels and a row subset; the masked
 * multi-label binary cross-entropy with and without positive weights. The loss is
 * a scalar, checked as L = loss * r for a random r. */
#include "gradcheck/gradcheck.h"
#include "nn/bce.h"
#include "nn/loss.h"
#include "nn/transition.h"

typedef struct {
    fke_tensor z, dz, th, dth;
    int32_t *labels;
    uint8_t *sel;
    double r;
} loss_ctx;

static fke_status xent_loss(fke_gc *g, void *p, double *L)
{
    loss_ctx *c = p;
    double l;
    FKE_TRY(fke_softmax_xent_forward(&g->err, &c->z, c->labels, c->sel, &l, NULL));
    *L = l * c->r;
    return FKE_OK;
}

static fke_status xent_grad(fke_gc *g, void *p)
{
    loss_ctx *c = p;
    return fke_softmax_xent_backward(&g->err, &c->z, c->labels, c->sel, c->r, &c->dz);
}

static fke_status fx_loss(fke_gc *g, void *p, double *L)
{
    loss_ctx *c = p;
    double l;
    FKE_TRY(fke_transition_forward(&g->err, &c->z, &c->th, c->labels, c->sel, &l, NULL));
    *L = l * c->r;
    return FKE_OK;
}

static fke_status fx_grad(fke_gc *g, void *p)
{
    loss_ctx *c = p;
    return fke_transition_backward(&g->err, &c->z, &c->th, c->labels, c->sel, c->r, &c->dz,
                                   &c->dth);
}

/* N = 7 rows of n classes: rows 1 and 4 have missing labels, row 5 is left
 * out by sel; logits spread over [-3, 3] (registered here), theta over
 * [-2, 2] (registered by the case that uses it) */
static void setup(fke_gc *g, loss_ctx *c, int N, int n)
{
    c->labels = fke_arena_alloc(&g->arena, &g->err, sizeof(int32_t) * N);
    c->sel = fke_arena_alloc(&g->arena, &g->err, (size_t)N);
    fke_gc_input(g, "logits", &c->z, &c->dz, -3, 3, 2, N, n);
    c->th = fke_gc_tensor(g, 2, n, n);
    c->dth = fke_gc_zeros_like(g, &c->th);
    if (c->th.data) fke_gc_fill_uniform(g, &c->th, -2, 2);
    for (int i = 0; c->labels && c->sel && i < N; i++) {
        c->labels[i] = (i == 1 || i == 4) ? -1 : (int32_t)fke_rng_below(&g->rng, n);
        c->sel[i] = i != 5;
    }
    c->r = 0.5 + fke_rng_uniform(&g->rng);
}

static int gc_softmax_xent(fke_gc *g)
{
    loss_ctx c;
    setup(g, &c, 7, 5);
    return fke_gc_run(g, "softmax_xent", xent_loss, xent_grad, &c) ? 0 : 1;
}

static int gc_forward_xent(fke_gc *g)
{
    loss_ctx c;
    setup(g, &c, 7, 5);
    fke_gc_var(g, "theta", &c.th, &c.dth);
    return fke_gc_run(g, "forward_xent", fx_loss, fx_grad, &c) ? 0 : 1;
}

/* ---- multi-label BCE: N = 6 rows of M = 5 outputs, about a quarter of the
 * labels unknown (-1), the rest 0 / 1; logits over [-4, 4]; pos_weight over
 * [0.5, 4) or none */
typedef struct {
    fke_tensor z, dz;
    int32_t *y;
    fke_real *pw;
    double r;
} bce_ctx;

static fke_status bce_loss(fke_gc *g, void *p, double *L)
{
    bce_ctx *c = p;
    double l;
    FKE_TRY(fke_bce_forward(&g->err, &c->z, c->y, c->pw, &l, NULL));
    *L = l * c->r;
    return FKE_OK;
}

static fke_status bce_grad(fke_gc *g, void *p)
{
    bce_ctx *c = p;
    return fke_bce_backward(&g->err, &c->z, c->y, c->pw, c->r, &c->dz);
}

static int bce_case(fke_gc *g, const char *name, int weighted)
{
    enum { N = 6, M = 5 };
    bce_ctx c = {0};
    c.y = fke_arena_alloc(&g->arena, &g->err, sizeof(int32_t) * N * M);
    fke_gc_input(g, "logits", &c.z, &c.dz, -4, 4, 2, N, M);
    fke_tensor pw = fke_gc_tensor(g, 1, M);
    if (!c.y || !pw.data) return 1;
    fke_gc_fill_uniform(g, &pw, 0.5, 4);
    c.pw = weighted ? pw.data : NULL;
    for (int i = 0; i < N * M; i++)
        c.y[i] = fke_rng_uniform(&g->rng) < 0.25 ? -1 : (int32_t)fke_rng_below(&g->rng, 2);
    c.r = 0.5 + fke_rng_uniform(&g->rng);
    return fke_gc_run(g, name, bce_loss, bce_grad, &c) ? 0 : 1;
}

static int gc_bce(fke_gc *g) { return bce_case(g, "bce", 0); }
static int gc_bce_weighted(fke_gc *g) { return bce_case(g, "bce_pos_weight", 1); }

const fke_gc_case fke_gc_loss_cases[] = {{"softmax_xent", gc_softmax_xent},
                                         {"forward_xent", gc_forward_xent},
                                         {"bce", gc_bce},
                                         {"bce_pos_weight", gc_bce_weighted},
                                         {0, 0}};
