/* gradcheck.h - checks every operation's backward against central finite
 * differences. Built only with -DFKE_DOUBLE (fke_real = double), so the
 * comparison is made in double precision on the very kernels training uses.
 *
 * A case (one per operation) registers its inputs and parameters with
 * fke_gc_var, then hands two callbacks to fke_gc_run:
 *   loss(g, ctx, &L)  runs the forward pass and returns L = sum_k <r_k, y_k>,
 *                     the outputs y_k weighted by fixed random tensors r_k;
 *   grad(g, ctx)      runs forward and backward with dy_k = r_k, adding the
 *                     gradients into the buffers registered with fke_gc_var
 *                     (the checker zeroes them first).
 * The error reported is, over all registered variables, the largest
 *   max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, 1e-8)
 * (normwise relative error per variable), which must be <= 1e-6. */
#ifndef FKE_GRADCHECK_H
#define FKE_GRADCHECK_H

#include "core/fke.h"

#define FKE_GC_MAXVAR 32
#define FKE_GC_TOL 1e-6

typedef struct fke_gc fke_gc;
typedef fke_status (*fke_gc_loss_fn)(fke_gc *g, void *ctx, double *loss);
typedef fke_status (*fke_gc_grad_fn)(fke_gc *g, void *ctx);

struct fke_gc {
    fke_rng rng;
    fke_err err;
    fke_arena arena;  /* the case's tensors; reset between cases */
    double eps;       /* finite-difference step */
    int nvar;
    struct {
        const char *name;
        fke_tensor *x, *dx;
    } var[FKE_GC_MAXVAR];
    const char *sabotage; /* op whose analytic gradient is perturbed (tests the checker) */
    int verbose;
};

/* A zeroed tensor from the case's arena (NULL data on failure, err set). */
fke_tensor fke_gc_tensor(fke_gc *g, int ndim, ...);
/* A tensor of the shape of `like`, uniform in [lo, hi). */
fke_tensor fke_gc_uniform_like(fke_gc *g, const fke_tensor *like, double lo, double hi);
void fke_gc_fill_uniform(fke_gc *g, fke_tensor *t, double lo, double hi);
/* Registers x (value) and dx (gradient, same shape) to be checked. */
void fke_gc_var(fke_gc *g, const char *name, fke_tensor *x, fke_tensor *dx);
/* sum_i y_i * r_i */
double fke_gc_dot(const fke_tensor *y, const fke_tensor *r);

/* Runs the check for one operation; prints "name  max-rel-err  PASS|FAIL".
 * Returns 1 on pass, 0 on failure (including an error from the op). */
int fke_gc_run(fke_gc *g, const char *name, fke_gc_loss_fn loss, fke_gc_grad_fn grad,
               void *ctx);

/* One registered case: sets up its tensors in g and calls fke_gc_run
 * (possibly several times, e.g. for variants); returns failures. */
typedef struct {
    const char *name;
    int (*run)(fke_gc *g);
} fke_gc_case;

#endif
