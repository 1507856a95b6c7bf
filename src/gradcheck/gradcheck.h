/* gradcheck.h - checks every operation's backward against central finite
 * differences. Built only with -DFKE_DOUBLE (fke_real = double), so the
 * comparison is made in double precision on the very kernels training uses.
 *
 * A case (one per operation) makes its tensors in the case's arena and
 * registers what is checked:
 *   fke_gc_input(g, "x", &c.x, &c.dx, lo, hi, ndim, dims...)
 *                     an input (or parameter) x and its gradient dx, x drawn
 *                     uniform in [lo, hi); fke_gc_input_zero leaves x at zero
 *                     for cases that draw it themselves (off kinks, no ties);
 *   fke_gc_output(g, &c.y, &c.r, ndim, dims...)
 *                     an output y and its loss weight r, uniform in [-1, 1);
 * then calls fke_gc_check(g, name, forward, backward, &c) with two callbacks
 * over its own context: forward computes the outputs; backward adds into each
 * registered dx the gradient for dy_k = r_k (the checker zeroes dx first).
 * The loss is L = sum_k <r_k, y_k>. Every call draws from g->rng at once, so
 * the order of the calls fixes the inputs of a seed.
 *
 * Underneath, fke_gc_run(g, name, loss, grad, ctx) takes the loss itself:
 *   loss(g, ctx, &L)  runs the forward pass and returns L;
 *   grad(g, ctx)      adds dL/dx into the gradients registered with fke_gc_var.
 * (gc_loss.c uses it: a loss is a scalar, weighted by one random number.)
 *
 * The error reported is, over all registered variables, the largest
 *   max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, 1e-8)
 * (normwise relative error per variable), which must be <= 1e-6. */
#ifndef FKE_GRADCHECK_H
#define FKE_GRADCHECK_H

#include "core/fke.h"

#define FKE_GC_MAXVAR 32
#define FKE_GC_MAXOUT 8
#define FKE_GC_TOL 1e-6

typedef struct fke_gc fke_gc;
typedef fke_status (*fke_gc_loss_fn)(fke_gc *g, void *ctx, double *loss);
typedef fke_status (*fke_gc_grad_fn)(fke_gc *g, void *ctx);
/* forward or backward of the operation under test (fke_gc_check) */
typedef fke_status (*fke_gc_op_fn)(fke_gc *g, void *ctx);

struct fke_gc {
    fke_rng rng;
    fke_err err;
    fke_arena arena;  /* the case's tensors; reset between cases */
    double eps;       /* finite-difference step */
    int nvar, nout;
    struct {
        const char *name;
        fke_tensor *x, *dx;
    } var[FKE_GC_MAXVAR];
    struct {
        fke_tensor *y, *r;
    } out[FKE_GC_MAXOUT];
    int overflow;         /* more than FKE_GC_MAXVAR/MAXOUT registered: the run fails */
    const char *sabotage; /* op whose analytic gradient is perturbed (tests the checker) */
    int verbose;
};

/* A zeroed tensor from the case's arena (NULL data on failure, err set). */
fke_tensor fke_gc_tensor(fke_gc *g, int ndim, ...);
/* A zeroed tensor of the shape of `like`. */
fke_tensor fke_gc_zeros_like(fke_gc *g, const fke_tensor *like);
/* A tensor of the shape of `like`, uniform in [lo, hi). */
fke_tensor fke_gc_uniform_like(fke_gc *g, const fke_tensor *like, double lo, double hi);
void fke_gc_fill_uniform(fke_gc *g, fke_tensor *t, double lo, double hi);
/* Registers x (value) and dx (gradient, same shape) to be checked. */
void fke_gc_var(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx);
/* Makes x and dx of shape (dims...), fills x uniform in [lo, hi) and
 * registers the pair (fke_gc_var). */
void fke_gc_input(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx, double lo,
                  double hi, int ndim, ...);
/* The same with x left at zero, for the case to fill. */
void fke_gc_input_zero(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx, int ndim,
                       ...);
/* Makes y of shape (dims...) and its weight r, uniform in [-1, 1), and adds
 * <r, y> to the loss of fke_gc_check. */
void fke_gc_output(fke_gc *g, fke_tensor *y, fke_tensor *r, int ndim, ...);
/* sum_i y_i * r_i */
double fke_gc_dot(const fke_tensor *y, const fke_tensor *r);

/* Runs the check for one operation; prints "name  max-rel-err  PASS|FAIL".
 * Returns 1 on pass, 0 on failure (including an error from the op). Forgets
 * the registered variables and outputs. */
int fke_gc_run(fke_gc *g, const char *name, fke_gc_loss_fn loss, fke_gc_grad_fn grad,
               void *ctx);
/* fke_gc_run with L = sum_k <r_k, y_k> over the registered outputs after
 * forward(g, ctx), and the gradient from forward then backward(g, ctx).
 * Returns the number of failures (0 or 1), as a case does. */
int fke_gc_check(fke_gc *g, const char *name, fke_gc_op_fn forward, fke_gc_op_fn backward,
                 void *ctx);

/* One registered case: sets up its tensors in g and calls fke_gc_check or
 * fke_gc_run (possibly several times, e.g. for variants); returns failures. */
typedef struct {
    const char *name;
    int (*run)(fke_gc *g);
} fke_gc_case;

#endif
