/* gradcheck.c - the finite-difference checker (see gradcheck.h). */
#include "gradcheck/gradcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static fke_tensor tensor_va(fke_gc *g, int ndim, va_list ap)
{
    fke_tensor t;
    memset(&t, 0, sizeof t);
    t.ndim = ndim;
    for (int i = 0; i < ndim && i < FKE_MAXDIM; i++) t.shape[i] = va_arg(ap, int);
    t.data = fke_arena_alloc(&g->arena, &g->err, fke_numel(&t) * sizeof(fke_real));
    return t;
}

fke_tensor fke_gc_zeros_like(fke_gc *g, const fke_tensor *like)
{
    fke_tensor t = *like;
    t.data = fke_arena_alloc(&g->arena, &g->err, fke_numel(&t) * sizeof(fke_real));
    return t;
}

fke_tensor fke_gc_tensor(fke_gc *g, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    fke_tensor t = tensor_va(g, ndim, ap);
    va_end(ap);
    return t;
}

void fke_gc_fill_uniform(fke_gc *g, fke_tensor *t, double lo, double hi)
{
    size_t n = fke_numel(t);
    for (size_t i = 0; i < n; i++) t->data[i] = lo + (hi - lo) * fke_rng_uniform(&g->rng);
}

fke_tensor fke_gc_uniform_like(fke_gc *g, const fke_tensor *like, double lo, double hi)
{
    fke_tensor t = fke_gc_zeros_like(g, like);
    if (t.data) fke_gc_fill_uniform(g, &t, lo, hi);
    return t;
}

void fke_gc_var(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx)
{
    if (g->nvar >= FKE_GC_MAXVAR) {
        g->overflow = 1;
        return;
    }
    g->var[g->nvar].name = name;
    g->var[g->nvar].x = x;
    g->var[g->nvar].dx = dx;
    g->nvar++;
}

static void input_va(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx, int ndim,
                     va_list ap)
{
    *x = tensor_va(g, ndim, ap);
    *dx = fke_gc_zeros_like(g, x);
    fke_gc_var(g, name, x, dx);
}

void fke_gc_input(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx, double lo,
                  double hi, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    input_va(g, name, x, dx, ndim, ap);
    va_end(ap);
    if (x->data) fke_gc_fill_uniform(g, x, lo, hi);
}

void fke_gc_input_zero(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx, int ndim,
                       ...)
{
    va_list ap;
    va_start(ap, ndim);
    input_va(g, name, x, dx, ndim, ap);
    va_end(ap);
}

void fke_gc_output(fke_gc *g, fke_tensor *y, fke_tensor *r, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    *y = tensor_va(g, ndim, ap);
    va_end(ap);
    *r = fke_gc_uniform_like(g, y, -1, 1);
    if (g->nout >= FKE_GC_MAXOUT) {
        g->overflow = 1;
        return;
    }
    g->out[g->nout].y = y;
    g->out[g->nout].r = r;
    g->nout++;
}

double fke_gc_dot(const fke_tensor *y, const fke_tensor *r)
{
    double s = 0;
    size_t n = fke_numel(y);
    for (size_t i = 0; i < n; i++) s += (double)y->data[i] * (double)r->data[i];
    return s;
}

int fke_gc_run(fke_gc *g, const char *name, fke_gc_loss_fn loss, fke_gc_grad_fn grad,
               void *ctx)
{
    double worst = 0;
    const char *worst_var = "-";
    int ok = 1;
    for (int v = 0; v < g->nvar; v++) {
        if (!g->var[v].x || !g->var[v].x->data || !g->var[v].dx || !g->var[v].dx->data) {
            ok = 0;
            snprintf(g->err.msg, sizeof g->err.msg, "variable %s not allocated",
                     g->var[v].name);
        }
    }
    for (int k = 0; k < g->nout; k++) {
        if (!g->out[k].y->data || !g->out[k].r->data) {
            ok = 0;
            snprintf(g->err.msg, sizeof g->err.msg, "output %d not allocated", k);
        }
    }
    if (g->overflow) {
        ok = 0;
        snprintf(g->err.msg, sizeof g->err.msg, "more than %d variables or %d outputs",
                 FKE_GC_MAXVAR, FKE_GC_MAXOUT);
    }
    if (ok) {
        for (int v = 0; v < g->nvar; v++)
            memset(g->var[v].dx->data, 0, fke_numel(g->var[v].dx) * sizeof(fke_real));
        ok = grad(g, ctx) == FKE_OK;
    }
    if (ok && g->sabotage && strcmp(g->sabotage, name) == 0 && g->nvar > 0)
        g->var[0].dx->data[0] += 1e-3 + 1e-3 * fabs(g->var[0].dx->data[0]);
    for (int v = 0; ok && v < g->nvar; v++) {
        fke_tensor *x = g->var[v].x, *dx = g->var[v].dx;
        size_t n = fke_numel(x);
        double maxdiff = 0, maxnum = 0;
        for (size_t i = 0; ok && i < n; i++) {
            fke_real keep = x->data[i];
            double lp, lm;
            x->data[i] = keep + g->eps;
            ok = loss(g, ctx, &lp) == FKE_OK;
            x->data[i] = keep - g->eps;
            if (ok) ok = loss(g, ctx, &lm) == FKE_OK;
            x->data[i] = keep;
            double num = (lp - lm) / (2 * g->eps), ana = dx->data[i];
            if (!isfinite(ana) || !isfinite(num)) maxdiff = INFINITY;
            if (fabs(ana - num) > maxdiff) maxdiff = fabs(ana - num);
            if (fabs(num) > maxnum) maxnum = fabs(num);
        }
        double rel = maxdiff / (maxnum > 1e-8 ? maxnum : 1e-8);
        if (g->verbose)
            printf("    %-14s %-10s n=%-6zu max|num|=%.3e rel=%.3e\n", name, g->var[v].name,
                   n, maxnum, rel);
        if (!(rel <= worst)) {
            worst = rel;
            worst_var = g->var[v].name;
        }
    }
    int pass = ok && worst <= FKE_GC_TOL;
    if (!ok)
        printf("%-22s %12s  FAIL  (%s)\n", name, "error", g->err.msg);
    else
        printf("%-22s %12.3e  %s  (worst: %s)\n", name, worst, pass ? "pass" : "FAIL",
               worst_var);
    fflush(stdout);
    g->nvar = g->nout = g->overflow = 0;
    return pass;
}

/* fke_gc_check's callbacks for fke_gc_run: the op's two and their context */
typedef struct {
    fke_gc_op_fn forward, backward;
    void *ctx;
} op_ctx;

static fke_status op_loss(fke_gc *g, void *p, double *L)
{
    op_ctx *o = p;
    FKE_TRY(o->forward(g, o->ctx));
    *L = 0;
    for (int k = 0; k < g->nout; k++) *L += fke_gc_dot(g->out[k].y, g->out[k].r);
    return FKE_OK;
}

static fke_status op_grad(fke_gc *g, void *p)
{
    op_ctx *o = p;
    FKE_TRY(o->forward(g, o->ctx));
    return o->backward(g, o->ctx);
}

int fke_gc_check(fke_gc *g, const char *name, fke_gc_op_fn forward, fke_gc_op_fn backward,
                 void *ctx)
{
    op_ctx o = {forward, backward, ctx};
    return fke_gc_run(g, name, op_loss, op_grad, &o) ? 0 : 1;
}
