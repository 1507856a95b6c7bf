/* gradcheck.c - the finite-difference checker (see gradcheck.h). */
#include "gradcheck/gradcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

fke_tensor fke_gc_tensor(fke_gc *g, int ndim, ...)
{
    fke_tensor t;
    memset(&t, 0, sizeof t);
    t.ndim = ndim;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim && i < FKE_MAXDIM; i++) t.shape[i] = va_arg(ap, int);
    va_end(ap);
    t.data = fke_arena_alloc(&g->arena, &g->err, fke_numel(&t) * sizeof(fke_real));
    return t;
}

void fke_gc_fill_uniform(fke_gc *g, fke_tensor *t, double lo, double hi)
{
    size_t n = fke_numel(t);
    for (size_t i = 0; i < n; i++) t->data[i] = lo + (hi - lo) * fke_rng_uniform(&g->rng);
}

fke_tensor fke_gc_uniform_like(fke_gc *g, const fke_tensor *like, double lo, double hi)
{
    fke_tensor t = *like;
    t.data = fke_arena_alloc(&g->arena, &g->err, fke_numel(&t) * sizeof(fke_real));
    if (t.data) fke_gc_fill_uniform(g, &t, lo, hi);
    return t;
}

void fke_gc_var(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx)
{
    if (g->nvar >= FKE_GC_MAXVAR) return;
    g->var[g->nvar].name = name;
    g->var[g->nvar].x = x;
    g->var[g->nvar].dx = dx;
    g->nvar++;
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
    g->nvar = 0;
    return pass;
}
