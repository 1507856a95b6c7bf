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

static fke_status ga_forward(fke_gc *g, void *p)
{
    ga_ctx *c = p;
    const fke_tensor *xs[NX] = {&c->x[0], &c->x[1]};
    return fke_gather_forward(&g->err, c->n, xs, c->idx, c->step, &c->y);
}

static fke_status ga_backward(fke_gc *g, void *p)
{
    ga_ctx *c = p;
    const fke_tensor *xs[NX] = {&c->x[0], &c->x[1]};
    fke_tensor *dxs[NX] = {&c->dx[0], &c->dx[1]};
    for (int twice = 0; twice < 2; twice++)
        FKE_TRY(fke_gather_backward(&g->err, &c->rhalf, c->n, xs, c->idx, c->step, dxs));
    return FKE_OK;
}

/* half of r (exact in binary, so the two halves add up to r) */
static fke_tensor halve(fke_gc *g, const fke_tensor *r)
{
    fke_tensor h = fke_gc_zeros_like(g, r);
    for (size_t i = 0; r->data && h.data && i < fke_numel(r); i++) h.data[i] = r->data[i] / 2;
    return h;
}

/* y (7, 5) = [x0 ; x1] at rows 4, 0, 9, 4, 7, 2, 4 of x0 (2, 5, 3) and
 * x1 (10, 2): row 4 read three times, rows 1, 3, 5, 6, 8 never */
static int gc_gather(fke_gc *g)
{
    static const int32_t idx[] = {4, 0, 9, 4, 7, 2, 4};
    ga_ctx c = {.n = 2, .step = FKE_NO_STEP, .idx = idx};
    fke_gc_input(g, "x0", &c.x[0], &c.dx[0], -1, 1, 3, 2, 5, 3);
    fke_gc_input(g, "x1", &c.x[1], &c.dx[1], -1, 1, 2, 10, 2);
    fke_gc_output(g, &c.y, &c.r, 2, 7, 5);
    c.rhalf = halve(g, &c.r);
    return fke_gc_check(g, "gather", ga_forward, ga_backward, &c);
}

/* y (3, 2, 3) = [x0 ; x1] at step 2 of sequences 3, 1, 3 of x0 (4, 3, 2)
 * and x1 (4, 3, 4): the steps 0 and 1 and sequences 0 and 2 are never read */
static int gc_gather_step(fke_gc *g)
{
    static const int32_t idx[] = {3, 1, 3};
    ga_ctx c = {.n = 2, .step = 2, .idx = idx};
    fke_gc_input(g, "x0", &c.x[0], &c.dx[0], -1, 1, 3, 4, 3, 2);
    fke_gc_input(g, "x1", &c.x[1], &c.dx[1], -1, 1, 3, 4, 3, 4);
    fke_gc_output(g, &c.y, &c.r, 3, 3, 2, 3);
    c.rhalf = halve(g, &c.r);
    return fke_gc_check(g, "gather_step", ga_forward, ga_backward, &c);
}

/* ---- scatter ------------------------------------------------------------ */
typedef struct {
    const int32_t *idx;
    fke_tensor x, dx, y, r, rhalf;
} sc_ctx;

static fke_status sc_forward(fke_gc *g, void *p)
{
    sc_ctx *c = p;
    return fke_scatter_forward(&g->err, &c->x, c->idx, &c->y);
}

static fke_status sc_backward(fke_gc *g, void *p)
{
    sc_ctx *c = p;
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
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 2, 5, 3);
    fke_gc_output(g, &c.y, &c.r, 3, 3, 4, 3);
    c.rhalf = halve(g, &c.r);
    return fke_gc_check(g, "scatter", sc_forward, sc_backward, &c);
}

const fke_gc_case fke_gc_gather_cases[] = {
    {"gather", gc_gather},
    {"gather_step", gc_gather_step},
    {"scatter", gc_scatter},
    {0, 0},
};
