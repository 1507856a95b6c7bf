/* activation.h - elementwise layers of any shape: ReLU, GELU, QuickGELU and
 * (inverted) dropout.
 *
 * ReLU: y = max(x, 0). The backward needs only the sign, so it takes either
 * the forward's output or its input (the same mask, as x > 0 <=> y > 0); the
 * forward may run in place (y == x).
 *
 *   fke_relu_forward(e, &x, &y);
 *   fke_relu_backward(e, &y, &dy, &dx);             dx += dy where y > 0
 *
 * Dropout with probability p (PyTorch's nn.Dropout): in training each element
 * is kept with probability 1 - p and scaled by 1 / (1 - p); the forward writes
 * the per-element factor (0 or 1 / (1 - p)) into the caller's mask, drawn from
 * the caller's rng in element order, and the backward multiplies by that very
 * mask. In eval the layer is the identity (the mask, if given, is set to 1).
 *
 *   fke_dropout_forward(e, &x, p, train, &rng, &mask, &y);
 *   fke_dropout_backward(e, &mask, &dy, &dx);       dx += dy * mask
 *
 * GELU in its exact form, without the tanh approximation (PyTorch's
 * nn.GELU() default and what CLIP's transformers use):
 *   y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),  dy/dx = Phi(x) + x phi(x).
 * The backward takes the forward's input x.
 *
 *   fke_gelu_forward(e, &x, &y);
 *   fke_gelu_backward(e, &x, &dy, &dx);            dx += dy * gelu'(x)
 *
 * QuickGELU, the sigmoid approximation OpenAI's CLIP models were trained with
 * (the QuickGELU module of clip/model.py; config key vit_act quick_gelu):
 *   y = x * s,  s = sigmoid(1.702 x),  dy/dx = s + 1.702 x s (1 - s).
 * The backward takes the forward's input x.
 *
 *   fke_quick_gelu_forward(e, &x, &y);
 *   fke_quick_gelu_backward(e, &x, &dy, &dx);      dx += dy * quick_gelu'(x)
 *
 * Every tensor of a call has the shape of x; backward adds (+=) into dx. */
#ifndef FKE_ACTIVATION_H
#define FKE_ACTIVATION_H
#include "core/fke.h"

/* x, y: any shape, equal; y may be x */
fke_status fke_relu_forward(fke_err *e, const fke_tensor *x, fke_tensor *y);
/* y: the forward's output (or input); dy, dx: its shape */
fke_status fke_relu_backward(fke_err *e, const fke_tensor *y, const fke_tensor *dy,
                             fke_tensor *dx);

/* x, y: any shape, equal; y may be x only when the backward gets x elsewhere */
fke_status fke_gelu_forward(fke_err *e, const fke_tensor *x, fke_tensor *y);
/* x: the forward's input; dy, dx: its shape */
fke_status fke_gelu_backward(fke_err *e, const fke_tensor *x, const fke_tensor *dy,
                             fke_tensor *dx);

/* x, y: any shape, equal; y may be x only when the backward gets x elsewhere */
fke_status fke_quick_gelu_forward(fke_err *e, const fke_tensor *x, fke_tensor *y);
/* x: the forward's input; dy, dx: its shape */
fke_status fke_quick_gelu_backward(fke_err *e, const fke_tensor *x, const fke_tensor *dy,
                                   fke_tensor *dx);

/* x, mask, y: any shape, equal; 0 <= p < 1; rng used only when train and p > 0;
 * mask may be NULL in eval; y may be x */
fke_status fke_dropout_forward(fke_err *e, const fke_tensor *x, double p, int train,
                               fke_rng *rng, fke_tensor *mask, fke_tensor *y);
/* mask, dy, dx: the shape of the forward's x */
fke_status fke_dropout_backward(fke_err *e, const fke_tensor *mask, const fke_tensor *dy,
                                fke_tensor *dx);
#endif
