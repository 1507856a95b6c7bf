/* optim.h - optimiser updates over the flat parameter blocks of params.h,
 * matching PyTorch (torch.optim.SGD and torch.optim.Adam, defaults
 * dampening = 0, nesterov = False, amsgrad = False).
 *
 * The parameter table is the parameter-group list: tensor i uses the
 * learning rate o->lr * info[i].lr_mult and the weight decay
 * o->weight_decay * info[i].decay; entries with trainable == 0 (batch-norm
 * running statistics) are left alone. Both steps read p->g, update p->w and
 * the state p->m (momentum buffer / Adam first moment), p->v (Adam second
 * moment), and count p->step; the gradients are not modified.
 *
 *   SGD  (step s = p->step, 0-based):  d = g + wd*w
 *        buf = d if s == 0 else momentum*buf + d     (buf untouched if momentum == 0)
 *        w -= lr * buf                               (w -= lr * d if momentum == 0)
 *   Adam (t = p->step + 1):            d = g + wd*w
 *        m = b1*m + (1-b1)*d;  v = b2*v + (1-b2)*d^2
 *        w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *
 * A training step: backward; fke_optim_check_finite (stop on NaN/Inf);
 * optionally fke_optim_clip_grad; fke_optim_sgd_step or _adam_step with
 * o.lr = fke_optim_lr(base, gamma, step_epochs, epoch).
 *
 * This file uses only the fields of fke_params (no params.c functions), so it
 * also builds into the double-precision gradcheck binary. */
#ifndef FKE_OPTIM_H
#define FKE_OPTIM_H
#include "core/fke.h"
#include "nn/params.h"

typedef struct {
    double lr;            /* this step's base learning rate (after the schedule) */
    double momentum;      /* SGD, in [0, 1); 0 = no momentum buffer */
    double weight_decay;  /* L2 coefficient, times each tensor's decay multiplier */
    double beta1, beta2;  /* Adam, in [0, 1) (0.9, 0.999) */
    double eps;           /* Adam, > 0 (1e-8) */
} fke_optim;

fke_status fke_optim_sgd_step(fke_params *p, const fke_optim *o, fke_err *e);
fke_status fke_optim_adam_step(fke_params *p, const fke_optim *o, fke_err *e);
/* Step schedule: base * gamma^floor(epoch / step_epochs); base when step_epochs <= 0. */
double fke_optim_lr(double base, double gamma, int step_epochs, int epoch);
/* FKE_ERR_NUMERIC naming the first tensor and element of p->g that is NaN or
 * infinite; FKE_OK otherwise. */
fke_status fke_optim_check_finite(const fke_params *p, fke_err *e);
/* As torch.nn.utils.clip_grad_norm_ over the trainable tensors: if the global
 * L2 norm of the gradients exceeds max_norm (> 0), scales them by
 * max_norm / (norm + 1e-6). Returns the norm before clipping. */
double fke_optim_clip_grad(fke_params *p, double max_norm);
#endif
