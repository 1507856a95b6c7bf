/* gc_linear.c - gradient check of the linear layer (odd sizes). */
#include "gradcheck/gradcheck.h"
#include "nn/linear.h"

typedef struct {
    fke_tensor x, W, b, y, r, dx, dW, db;
} lin_ctx;

static fke_status lin_forward(fke_gc *g, void *p)
{
    lin_ctx *c = p;
    return fke_linear_forward(&g->err, &c->x, &c->W, &c->b, &c->y);
}

static fke_status lin_backward(fke_gc *g, void *p)
{
    lin_ctx *c = p;
    return fke_linear_backward(&g->err, &c->x, &c->W, &c->r, &c->dx, &c->dW, &c->db);
}

static int gc_linear(fke_gc *g)
{
    lin_ctx c;
    int N = 3, in = 7, out = 5;
    fke_gc_output(g, &c.y, &c.r, 2, N, out);
    fke_gc_input(g, "x", &c.x, &c.dx, -1, 1, 2, N, in);
    fke_gc_input(g, "W", &c.W, &c.dW, -1, 1, 2, out, in);
    fke_gc_input(g, "b", &c.b, &c.db, -1, 1, 1, out);
    return fke_gc_check(g, "linear", lin_forward, lin_backward, &c);
}

const fke_gc_case fke_gc_linear_cases[] = {{"linear", gc_linear}, {0, 0}};
