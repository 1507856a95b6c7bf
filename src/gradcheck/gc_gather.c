/* gc_gather.c - gradient checks of gather (an index with repeats and rows
 * never read; a sequence step) and scatter (rows of y never written). Each
 * backward runs twice with half of r, so an op that overwrote its gradient
 * (=) instead of adding into it (+=) would show half the gradient and fail. */
#include "gradcheck/gradcheck.h"
#include "nn/gather.h"

#define NX 2

typedef struct {
    int n, step;
    const int32_t *idx;
    fke_tensor x[NX], dx[NX], y, r, rhalf;
} ga_ctx;

static fke_status ga_loss(fke_gc *g, void *p, double *L)
{
    ga_ctx *c = p;
    const fke_tensor *xs[NX] = {&c->x[0], &c->x[1]};
    FKE_TRY(fke_gather_forward(&g->err, c->n, xs, c->idx, c->step, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status ga_grad(fke_gc *g, void *p)
{
    ga_ctx *c = p;
    const fke_tensor *xs[NX] = {&c->x[0], &c->x[1]};
    fke_tensor *dxs[NX] = {&c->dx[0], &c->dx[1]};
    FKE_TRY(fke_gather_forward(&g->err, c->n, xs, c->idx, c->step, &c->y));
    for (int twice = 0; twice < 2; twice++)
        FKE_TRY(fke_gather_backward(&g->err, &c->rhalf, c->n, xs, c->idx, c->step, dxs));
    return FKE_OK;
}

static fke_tensor zeros_like(fke_gc *g, const fke_tensor *like)
{
    fke_tensor t = *like;
    t.data = fke_arena_alloc(&g->arena, &g->err, fke_numel(like) * sizeof(fke_real));
    return t;
}

/* r and its half (exact in binary, so the two halves add up to r) */
static void weights(fke_gc *g, const fke_tensor *y, fke_tensor *r, fke_tensor *rhalf)
{
    *r = fke_gc_uniform_like(g, y, -1, 1);
    *rhalf = zeros_like(g, y);
    if (!r->data || !rhalf->data) return;
    for (size_t i = 0; i < fke_numel(y); i++) rhalf->data[i] = r->data[i] / 2;
}

static int run_gather(fke_gc *g, const char *name, ga_ctx *c)
{
    static const char *names[NX] = {"x0", "x1"};
    for (int j = 0; j < c->n; j++) {
        c->dx[j] = zeros_like(g, &c->x[j]);
        fke_gc_fill_uniform(g, &c->x[j], -1, 1);
        fke_gc_var(g, names[j], &c->x[j], &c->dx[j]);
    }
    weights(g, &c->y, &c->r, &c->rhalf);
    return fke_gc_run(g, name, ga_loss, ga_grad, c) ? 0 : 1;
}

/* y (7, 5) = [x0 ; x1] at rows 4, 0, 9, 4, 7, 2, 4 of x0 (2, 5, 3) and
 * x1 (10, 2): row 4 read three times, rows 1, 3, 5, 6, 8 never */
static int gc_gather(fke_gc *g)
{
    static const int32_t idx[] = {4, 0, 9, 4, 7, 2, 4};
    ga_ctx c = {.n = 2, .step = FKE_NO_STEP, .idx = idx};
    c.x[0] = fke_gc_tensor(g, 3, 2, 5, 3);
    c.x[1] = fke_gc_tensor(g, 2, 10, 2);
    c.y = fke_gc_tensor(g, 2, 7, 5);
    return run_gather(g, "gather", &c);
}

/* y (3, 2, 3) = [x0 ; x1] at step 2 of sequences 3, 1, 3 of x0 (4, 3, 2)
 * and x1 (4, 3, 4): the steps 0 and 1 and sequences 0 and 2 are never read */
static int gc_gather_step(fke_gc *g)
{
    static const int32_t idx[] = {3, 1, 3};
    ga_ctx c = {.n = 2, .step = 2, .idx = idx};
    c.x[0] = fke_gc_tensor(g, 3, 4, 3, 2);
    c.x[1] = fke_gc_tensor(g, 3, 4, 3, 4);
    c.y = fke_gc_tensor(g, 3, 3, 2, 3);
    return run_gather(g, "gather_step", &c);
}

/* ---- scatter ------------------------------------------------------------ */
typedef struct {
    const int32_t *idx;
    fke_tensor x, dx, y, r, rhalf;
} sc_ctx;

static fke_status sc_loss(fke_gc *g, void *p, double *L)
{
    sc_ctx *c = p;
    FKE_TRY(fke_scatter_forward(&g->err, &c->x, c->idx, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status sc_grad(fke_gc *g, void *p)
{
    sc_ctx *c = p;
    FKE_TRY(fke_scatter_forward(&g->err, &c->x, c->idx, &c->y));
    for (int twice = 0; twice < 2; twice++)
        FKE_TRY(fke_scatter_backward(&g->err, &c->rhalf, &c->x, c->idx, &c->dx));
    return FKE_OK;
}

/* x (5, 3) into slots 0, 1, 2 of post 0 and slots 0, 3 of post 2 of
 * y (3, 4, 3) (B = 3, G = 4), as the garments of a batch */
static int gc_scatter(fke_gc *g)
{
    static const int32_t idx[] = {0, 1, 2, 8, 11};
    sc_ctx c = {.idx = idx};
    c.x = fke_gc_tensor(g, 2, 5, 3);
    c.dx = fke_gc_tensor(g, 2, 5, 3);
    c.y = fke_gc_tensor(g, 3, 3, 4, 3);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    weights(g, &c.y, &c.r, &c.rhalf);
    fke_gc_var(g, "x", &c.x, &c.dx);
    return fke_gc_run(g, "scatter", sc_loss, sc_grad, &c) ? 0 : 1;
}

const fke_gc_case fke_gc_gather_cases[] = {
    {"gather", gc_gather},
    {"gather_step", gc_gather_step},
    {"scatter", gc_scatter},
    {0, 0},
};
