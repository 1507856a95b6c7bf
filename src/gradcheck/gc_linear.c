/* gc_linear.c - gradient check of the linear layer (odd sizes). */
#include "gradcheck/gradcheck.h"
#include "nn/linear.h"

typedef struct {
    fke_tensor x, W, b, y, r, dx, dW, db, dy;
} lin_ctx;

static fke_status lin_loss(fke_gc *g, void *p, double *L)
{
    lin_ctx *c = p;
    FKE_TRY(fke_linear_forward(&g->err, &c->x, &c->W, &c->b, &c->y));
    *L = fke_gc_dot(&c->y, &c->r);
    return FKE_OK;
}

static fke_status lin_grad(fke_gc *g, void *p)
{
    lin_ctx *c = p;
    FKE_TRY(fke_linear_forward(&g->err, &c->x, &c->W, &c->b, &c->y));
    return fke_linear_backward(&g->err, &c->x, &c->W, &c->r, &c->dx, &c->dW, &c->db);
}

static int gc_linear(fke_gc *g)
{
    lin_ctx c;
    int N = 3, in = 7, out = 5;
    c.x = fke_gc_tensor(g, 2, N, in);
    c.W = fke_gc_tensor(g, 2, out, in);
    c.b = fke_gc_tensor(g, 1, out);
    c.y = fke_gc_tensor(g, 2, N, out);
    c.dx = fke_gc_tensor(g, 2, N, in);
    c.dW = fke_gc_tensor(g, 2, out, in);
    c.db = fke_gc_tensor(g, 1, out);
    c.r = fke_gc_uniform_like(g, &c.y, -1, 1);
    fke_gc_fill_uniform(g, &c.x, -1, 1);
    fke_gc_fill_uniform(g, &c.W, -1, 1);
    fke_gc_fill_uniform(g, &c.b, -1, 1);
    fke_gc_var(g, "x", &c.x, &c.dx);
    fke_gc_var(g, "W", &c.W, &c.dW);
    fke_gc_var(g, "b", &c.b, &c.db);
    return fke_gc_run(g, "linear", lin_loss, lin_grad, &c) ? 0 : 1;
}

const fke_gc_case fke_gc_linear_cases[] = {{"linear", gc_linear}, {0, 0}};
