/* params.c - see params.h. The tensors lie back to back in the blocks in the
 * order they were added (offset = sum of the earlier numel), as in llm.c's
 * ParameterTensors; the blocks are 64-byte aligned. */
#include "nn/params.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fke_params_init(fke_params *p) { memset(p, 0, sizeof *p); }

int fke_params_add(fke_params *p, fke_err *e, const char *name, float lr_mult, float decay,
                   int trainable, int ndim, ...)
{
    if (!name || !name[0]) {
        fke_fail(e, FKE_ERR_ARG, "params: empty parameter name");
        return -1;
    }
    if (p->w) {
        fke_fail(e, FKE_ERR_ARG, "params: cannot add %s: the table is already finalized", name);
        return -1;
    }
    if (strlen(name) >= FKE_PARAM_NAME) {
        fke_fail(e, FKE_ERR_ARG, "params: name %s is longer than %d characters", name,
                 FKE_PARAM_NAME - 1);
        return -1;
    }
    if (fke_params_find(p, name) >= 0) {
        fke_fail(e, FKE_ERR_ARG, "params: duplicate parameter name %s", name);
        return -1;
    }
    if (ndim < 1 || ndim > FKE_MAXDIM) {
        fke_fail(e, FKE_ERR_SHAPE, "params: %s has %d dimensions (1..%d allowed)", name, ndim,
                 FKE_MAXDIM);
        return -1;
    }
    fke_param_info in;
    memset(&in, 0, sizeof in);
    strcpy(in.name, name);
    in.ndim = ndim;
    in.numel = 1;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) in.shape[i] = va_arg(ap, int);
    va_end(ap);
    for (int i = 0; i < ndim; i++) {
        if (in.shape[i] <= 0) {
            fke_fail(e, FKE_ERR_SHAPE, "params: %s has dimension %d of size %d", name, i,
                     in.shape[i]);
            return -1;
        }
        in.numel *= (size_t)in.shape[i];
    }
    in.offset = p->total;
    in.lr_mult = lr_mult;
    in.decay = decay;
    in.trainable = trainable;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        fke_param_info *ni = realloc(p->info, (size_t)cap * sizeof *ni);
        if (!ni) {
            fke_fail(e, FKE_ERR_NOMEM, "params: cannot grow the table to %d entries", cap);
            return -1;
        }
        p->info = ni;
        p->cap = cap;
    }
    p->info[p->n] = in;
    p->total += in.numel;
    return p->n++;
}

static fke_real *block(size_t n)
{
    size_t bytes = (n * sizeof(fke_real) + 63) & ~(size_t)63;
    fke_real *b = aligned_alloc(64, bytes ? bytes : 64);
    if (b) memset(b, 0, bytes);
    return b;
}

fke_status fke_params_finalize(fke_params *p, fke_err *e)
{
    if (p->w) return fke_fail(e, FKE_ERR_ARG, "params: finalized twice");
    if (p->n == 0) return fke_fail(e, FKE_ERR_ARG, "params: no parameters to finalize");
    p->w = block(p->total);
    p->g = block(p->total);
    p->m = block(p->total);
    p->v = block(p->total);
    if (!p->w || !p->g || !p->m || !p->v) {
        size_t mb = 4 * p->total * sizeof(fke_real) >> 20;
        free(p->w), free(p->g), free(p->m), free(p->v);
        p->w = p->g = p->m = p->v = NULL;
        return fke_fail(e, FKE_ERR_NOMEM,
                        "params: cannot allocate %zu parameters (%zu MiB for the 4 blocks)",
                        p->total, mb);
    }
    p->step = 0;
    return FKE_OK;
}

void fke_params_free(fke_params *p)
{
    free(p->info);
    free(p->w), free(p->g), free(p->m), free(p->v);
    fke_params_init(p);
}

static fke_tensor view(const fke_params *p, fke_real *base, int idx)
{
    fke_tensor t;
    memset(&t, 0, sizeof t);
    if (!base || idx < 0 || idx >= p->n) return t; /* data NULL: FKE_EXPECT reports it */
    const fke_param_info *in = &p->info[idx];
    t.data = base + in->offset;
    t.ndim = in->ndim;
    memcpy(t.shape, in->shape, sizeof t.shape);
    return t;
}

fke_tensor fke_params_value(const fke_params *p, int idx) { return view(p, p->w, idx); }
fke_tensor fke_params_grad(const fke_params *p, int idx) { return view(p, p->g, idx); }

int fke_params_find(const fke_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->info[i].name, name) == 0) return i;
    return -1;
}

void fke_params_zero_grad(fke_params *p)
{
    if (!p->g) return;
    /* in as many pieces as threads (a memset of megabytes is not bound by
     * one core's bandwidth alone) */
    size_t n = p->total, piece = 65536;
#pragma omp parallel for schedule(static) if (n > 2 * piece)
    for (size_t k = 0; k < n; k += piece)
        memset(p->g + k, 0, (n - k < piece ? n - k : piece) * sizeof(fke_real));
}

int fke_params_add_linear(fke_params *p, fke_err *e, const char *name, int in, int out, int bias,
                          int *b_idx)
{
    char n[FKE_PARAM_NAME];
    snprintf(n, sizeof n, "%s.weight", name);
    int w = fke_params_add(p, e, n, 1, 1, 1, 2, out, in);
    if (bias) {
        snprintf(n, sizeof n, "%s.bias", name);
        *b_idx = fke_params_add(p, e, n, 1, 1, 1, 1, out);
        if (*b_idx < 0) return -1;
    } else if (b_idx) {
        *b_idx = -1;
    }
    return w;
}

void fke_params_fill_uniform(fke_params *p, int idx, double bound, fke_rng *r)
{
    if (idx < 0) return;
    fke_tensor t = fke_params_value(p, idx);
    size_t n = fke_numel(&t);
    for (size_t i = 0; i < n; i++) t.data[i] = (fke_real)(bound * (2 * fke_rng_uniform(r) - 1));
}

void fke_params_init_linear(fke_params *p, int w, int b, fke_rng *r)
{
    fke_tensor t = fke_params_value(p, w);
    double bound = 1.0 / sqrt((double)t.shape[1]);
    fke_params_fill_uniform(p, w, bound, r);
    fke_params_fill_uniform(p, b, bound, r);
}
