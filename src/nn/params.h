/* params.h - a model's parameters as flat blocks (values, gradients and the
 * optimiser's state), described by one table of {name, shape, offset,
 * lr_mult, decay}. The same table drives initialisation, per-group learning
 * rates, checkpoint names and the update loop (optim.h).
 *
 * Use: fke_params_init; fke_params_add for each tensor (returns its index);
 * fke_params_finalize allocates the blocks (zeroed); then fke_params_value /
 * fke_params_grad give tensor views by index. */
#ifndef FKE_PARAMS_H
#define FKE_PARAMS_H
#include "core/fke.h"

#define FKE_PARAM_NAME 64

typedef struct {
    char name[FKE_PARAM_NAME]; /* e.g. "cnn.conv1.weight" (PyTorch-like names) */
    int ndim;
    int shape[FKE_MAXDIM];
    size_t offset, numel;      /* into the flat blocks */
    float lr_mult;             /* 1, 0.5 for the CNN, 0.001 for Θ */
    float decay;               /* weight-decay multiplier: 1, or 0 (e.g. for Θ) */
    int trainable;             /* 0 for buffers such as batch-norm running stats */
} fke_param_info;

typedef struct {
    int n, cap;
    fke_param_info *info;
    size_t total;              /* elements in each block */
    fke_real *w;               /* (total) values */
    fke_real *g;               /* (total) gradients */
    fke_real *m, *v;           /* (total) optimiser state: momentum / Adam moments */
    long step;                 /* optimiser steps taken */
} fke_params;

void fke_params_init(fke_params *p);
/* Adds a tensor; returns its index (>= 0) or -1 (e filled: duplicate name,
 * bad shape, already finalized). */
int fke_params_add(fke_params *p, fke_err *e, const char *name, float lr_mult, float decay,
                   int trainable, int ndim, ...);
fke_status fke_params_finalize(fke_params *p, fke_err *e);
void fke_params_free(fke_params *p);
fke_tensor fke_params_value(const fke_params *p, int idx);
fke_tensor fke_params_grad(const fke_params *p, int idx);
int fke_params_find(const fke_params *p, const char *name); /* -1 if absent */
void fke_params_zero_grad(fke_params *p);

/* The pieces of initialisation every model shares (model.c, multilabel.c,
 * clip.c), so that each draws its numbers the same way. */
/* A linear layer "NAME.weight" (out, in) and, when bias, "NAME.bias" (out)
 * into *b_idx (-1 without; b_idx may be NULL then). Returns the weight's
 * index, or -1 (e filled). */
int fke_params_add_linear(fke_params *p, fke_err *e, const char *name, int in, int out, int bias,
                          int *b_idx);
/* Tensor idx filled with U(-bound, bound) draws in order; idx < 0: nothing. */
void fke_params_fill_uniform(fke_params *p, int idx, double bound, fke_rng *r);
/* PyTorch's nn.Linear default: weight (out, in) and bias (b < 0: none) from
 * U(+-1/sqrt(in)), the weight's draws first. */
void fke_params_init_linear(fke_params *p, int w, int b, fke_rng *r);
#endif
