/* optim.c - see optim.h. Element-wise updates, threaded over elements (each
 * element's update is independent, so the result does not depend on the
 * thread count); norms are summed serially in a fixed order. */
#include "nn/optim.h"

#include <math.h>

static fke_status ready(const fke_params *p, const fke_optim *o, const char *op, fke_err *e)
{
    if (!p || !o) return fke_fail(e, FKE_ERR_ARG, "%s: null argument", op);
    if (!p->w || !p->g || !p->m || !p->v)
        return fke_fail(e, FKE_ERR_ARG, "%s: the parameter table is not finalized", op);
    if (!(o->lr >= 0) || !isfinite(o->lr))
        return fke_fail(e, FKE_ERR_ARG, "%s: learning rate %g (expected >= 0)", op, o->lr);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return fke_fail(e, FKE_ERR_ARG, "%s: weight decay %g (expected >= 0)", op,
                        o->weight_decay);
    return FKE_OK;
}

fke_status fke_optim_sgd_step(fke_params *p, const fke_optim *o, fke_err *e)
{
    FKE_TRY(ready(p, o, "sgd", e));
    if (!(o->momentum >= 0 && o->momentum < 1))
        return fke_fail(e, FKE_ERR_ARG, "sgd: momentum %g (expected 0 <= momentum < 1)",
                        o->momentum);
    const int first = p->step == 0;
    const fke_real mom = (fke_real)o->momentum;
    /* one parallel region for the whole table, every tensor split over the
     * threads with no barrier between tensors (each element's update stands
     * alone): most of fke-small's ~100 tensors are too small for a region of
     * their own, and were updated by one thread */
#pragma omp parallel if (p->total > 65536)
    for (int i = 0; i < p->n; i++) {
        const fke_param_info *in = &p->info[i];
        if (!in->trainable) continue;
        const fke_real lr = (fke_real)(o->lr * in->lr_mult);
        const fke_real wd = (fke_real)(o->weight_decay * in->decay);
        fke_real *w = p->w + in->offset, *buf = p->m + in->offset;
        const fke_real *g = p->g + in->offset;
        const long n = (long)in->numel;
        if (mom == 0) {
#pragma omp for schedule(static) nowait
            for (long k = 0; k < n; k++) w[k] -= lr * (g[k] + wd * w[k]);
        } else if (first) {
#pragma omp for schedule(static) nowait
            for (long k = 0; k < n; k++) {
                fke_real d = g[k] + wd * w[k];
                buf[k] = d;
                w[k] -= lr * d;
            }
        } else {
#pragma omp for schedule(static) nowait
            for (long k = 0; k < n; k++) {
                fke_real d = mom * buf[k] + (g[k] + wd * w[k]);
                buf[k] = d;
                w[k] -= lr * d;
            }
        }
    }
    p->step++;
    return FKE_OK;
}

fke_status fke_optim_adam_step(fke_params *p, const fke_optim *o, fke_err *e)
{
    FKE_TRY(ready(p, o, "adam", e));
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        return fke_fail(e, FKE_ERR_ARG, "adam: betas (%g, %g) (expected each in [0, 1))",
                        o->beta1, o->beta2);
    if (!(o->eps > 0))
        return fke_fail(e, FKE_ERR_ARG, "adam: eps %g (expected > 0)", o->eps);
    double t = (double)(p->step + 1);
    double bc1 = 1 - pow(o->beta1, t), bc2_sqrt = sqrt(1 - pow(o->beta2, t));
    fke_real b1 = (fke_real)o->beta1, b2 = (fke_real)o->beta2, eps = (fke_real)o->eps;
    fke_real rb2 = (fke_real)bc2_sqrt;
#pragma omp parallel if (p->total > 65536) /* one region, as sgd's */
    for (int i = 0; i < p->n; i++) {
        const fke_param_info *in = &p->info[i];
        if (!in->trainable) continue;
        fke_real step_size = (fke_real)(o->lr * in->lr_mult / bc1);
        fke_real wd = (fke_real)(o->weight_decay * in->decay);
        fke_real *w = p->w + in->offset, *m = p->m + in->offset, *v = p->v + in->offset;
        const fke_real *g = p->g + in->offset;
        long n = (long)in->numel;
#pragma omp for schedule(static) nowait
        for (long k = 0; k < n; k++) {
            fke_real d = g[k] + wd * w[k];
            m[k] = b1 * m[k] + (1 - b1) * d;
            v[k] = b2 * v[k] + (1 - b2) * d * d;
            w[k] -= step_size * m[k] / (sqrt(v[k]) / rb2 + eps);
        }
    }
    p->step++;
    return FKE_OK;
}

double fke_optim_lr(double base, double gamma, int step_epochs, int epoch)
{
    if (step_epochs <= 0 || epoch < step_epochs) return base;
    double lr = base;
    for (int k = epoch / step_epochs; k > 0; k--) lr *= gamma;
    return lr;
}

fke_status fke_optim_check_finite(const fke_params *p, fke_err *e)
{
    if (!p || !p->g) return fke_fail(e, FKE_ERR_ARG, "check_finite: no gradient block");
    /* first whether any element is NaN or infinite (then g - g is NaN), in
     * one vectorised pass over the block; the walk below names the first */
    const fke_real *gall = p->g;
    const long total = (long)p->total;
    int bad = 0;
#pragma omp parallel for simd schedule(static) reduction(| : bad) if (total > 65536)
    for (long k = 0; k < total; k++) bad |= !(gall[k] - gall[k] == 0);
    if (!bad) return FKE_OK;
    for (int i = 0; i < p->n; i++) {
        const fke_param_info *in = &p->info[i];
        const fke_real *g = p->g + in->offset;
        for (size_t k = 0; k < in->numel; k++)
            if (!isfinite(g[k]))
                return fke_fail(e, FKE_ERR_NUMERIC,
                                "the gradient of %s is %g at element %zu (training diverged; "
                                "try a smaller learning rate)",
                                in->name, (double)g[k], k);
    }
    return FKE_OK;
}

double fke_optim_clip_grad(fke_params *p, double max_norm)
{
    double s = 0;
    for (int i = 0; i < p->n; i++) {
        const fke_param_info *in = &p->info[i];
        if (!in->trainable) continue;
        const fke_real *g = p->g + in->offset;
        for (size_t k = 0; k < in->numel; k++) s += (double)g[k] * g[k];
    }
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        fke_real c = (fke_real)(max_norm / (norm + 1e-6));
        for (int i = 0; i < p->n; i++) {
            const fke_param_info *in = &p->info[i];
            if (!in->trainable) continue;
            fke_real *g = p->g + in->offset;
            for (size_t k = 0; k < in->numel; k++) g[k] *= c;
        }
    }
    return norm;
}
