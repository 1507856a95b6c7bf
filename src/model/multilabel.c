/* multilabel.c - the wiring of task "multilabel" (multilabel.h): forward,
 * loss and backward in reverse order.
 *
 * Dimensions:
 *   B posts, G garment slots, Nv valid garments in (post, slot) order
 *   C channels, s crop side, F image feature, n_cat categories, n_ml attributes */
#include "model/multilabel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/bce.h"
#include "nn/gather.h"
#include "nn/linear.h"
#include "nn/loss.h"

struct fke_multilabel_acts {
    int Nv;
    fke_tensor crops;      /* (Nv, C, s, s) */
    fke_cnn_tape tape;
    fke_tensor f;          /* (Nv, F) */
    int32_t *ycat;         /* (Nv) */
    int32_t *yml;          /* (Nv, n_ml) */
    fke_tensor dcat, dml;  /* (Nv, n_cat), (Nv, n_ml) */
};

static fke_tensor W(const fke_model *m, int i) { return fke_params_value(&m->P, i); }
static fke_tensor dW(const fke_model *m, int i) { return fke_params_grad(&m->P, i); }

static fke_status linear_fwd(fke_model *m, fke_err *e, int w, int b, const fke_tensor *x,
                             fke_tensor *y)
{
    fke_tensor Wt = W(m, w), bt = W(m, b);
    FKE_TRY(fke_arena_tensor(&m->arena, e, y, 2, x->shape[0], Wt.shape[0]));
    return fke_linear_forward(e, x, &Wt, &bt, y);
}

static fke_status linear_bwd(fke_model *m, fke_err *e, int w, int b, const fke_tensor *x,
                             const fke_tensor *dy, fke_tensor *dx)
{
    fke_tensor Wt = W(m, w), dWt = dW(m, w), dbt = dW(m, b);
    return fke_linear_backward(e, x, &Wt, dy, dx, &dWt, &dbt);
}

static fke_status zeros_like(fke_model *m, fke_err *e, const fke_tensor *like, fke_tensor *t)
{
    *t = *like;
    t->data = fke_arena_alloc(&m->arena, e, fke_numel(like) * sizeof(fke_real));
    return t->data ? FKE_OK : FKE_ERR_NOMEM;
}

fke_status fke_multilabel_add_params(fke_model *m, fke_err *e)
{
    const fke_config *c = &m->cfg;
    m->mla = calloc(1, sizeof *m->mla);
    if (!m->mla) return fke_fail(e, FKE_ERR_NOMEM, "model: out of memory");
    m->mcat_w = fke_params_add_linear(&m->P, e, "cat_fc", c->F, c->n_cat, 1, &m->mcat_b);
    m->mattr_w = fke_params_add_linear(&m->P, e, "attr_fc", c->F, c->n_ml, 1, &m->mattr_b);
    m->pos_w = fke_params_add(&m->P, e, "attr.pos_weight", 0, 0, 0, 1, c->n_ml);
    return m->mcat_w < 0 || m->mattr_w < 0 || m->pos_w < 0 ? FKE_ERR_ARG : FKE_OK;
}

void fke_multilabel_init_weights(fke_model *m, fke_rng *r)
{
    fke_params_init_linear(&m->P, m->mcat_w, m->mcat_b, r);
    fke_params_init_linear(&m->P, m->mattr_w, m->mattr_b, r);
    fke_tensor pw = W(m, m->pos_w);
    for (size_t i = 0; i < fke_numel(&pw); i++) pw.data[i] = 1;
}

fke_status fke_multilabel_pos_weight(fke_model *m, const fke_dataset *d, double cap, fke_err *e)
{
    int M = m->cfg.n_ml;
    const fke_extra *y = fke_dataset_extra(d, "ml_labels");
    if (!y || y->ndim != 2 || y->dims[1] != M)
        return fke_fail(e, FKE_ERR_SHAPE, "%s: no multi-label block of %d attributes (extra "
                        "ml_labels) for task multilabel", d->path[0] ? d->path : "dataset", M);
    fke_tensor pw = W(m, m->pos_w);
    for (int k = 0; k < M; k++) {
        long pos = 0, neg = 0;
        for (int i = 0; i < y->dims[0]; i++) {
            int v = y->v[(size_t)i * M + k];
            pos += v == 1, neg += v == 0;
        }
        double w = cap <= 0 ? 1 : pos ? (double)neg / pos : cap;
        if (cap > 0 && w > cap) w = cap;
        pw.data[k] = (fke_real)(w < 1 ? 1 : w);
    }
    return FKE_OK;
}

fke_status fke_multilabel_forward(fke_model *m, const fke_batch *b, int train, fke_err *e)
{
    const fke_config *c = &m->cfg;
    fke_multilabel_acts *a = m->mla;
    if (b->G != c->G || b->crop != c->crop || b->n_ml != c->n_ml || !b->ml)
        return fke_fail(e, FKE_ERR_SHAPE, "model: batch has G=%d crop=%d n_ml=%d, the model was "
                        "built for G=%d crop=%d n_ml=%d (task multilabel needs the data's "
                        "multi-label attributes)", b->G, b->crop, b->n_ml, c->G, c->crop, c->n_ml);
    fke_arena_reset(&m->arena);
    int B = b->B, G = c->G, C = c->in_ch, s = c->crop, Nv = 0;
    for (int i = 0; i < B; i++) {
        if (b->n_garments[i] < 0 || b->n_garments[i] > G)
            return fke_fail(e, FKE_ERR_ARG, "model: post %d has %d garments (0..%d allowed)", i,
                            b->n_garments[i], G);
        Nv += b->n_garments[i];
    }
    if (Nv == 0) return fke_fail(e, FKE_ERR_ARG, "model: the batch has no garment at all");
    memset(a, 0, sizeof *a);
    a->Nv = m->out.Nv = Nv;
    m->out.B = B;
    m->out.gidx = fke_arena_alloc(&m->arena, e, (size_t)Nv * sizeof(int32_t));
    if (!m->out.gidx) return FKE_ERR_NOMEM;
    for (int i = 0, v = 0; i < B; i++)
        for (int g = 0; g < b->n_garments[i]; g++) m->out.gidx[v++] = i * G + g;
    /* the valid crops, through the trunk */
    FKE_TRY(fke_arena_tensor(&m->arena, e, &a->crops, 4, Nv, C, s, s));
    fke_tensor crop_x = fke_tensor_view((fke_real *)b->crop_x, 3, B, G, C * s * s);
    const fke_tensor *src[] = {&crop_x};
    FKE_TRY(fke_gather_forward(e, 1, src, m->out.gidx, FKE_NO_STEP, &a->crops));
    FKE_TRY(fke_arena_tensor(&m->arena, e, &a->f, 2, Nv, c->F));
    FKE_TRY(fke_cnn_forward(&m->cnn, &m->P, &m->arena, e, &a->crops, train, 0, &a->tape, &a->f));
    /* the two heads */
    FKE_TRY(linear_fwd(m, e, m->mcat_w, m->mcat_b, &a->f, &m->out.cat));
    return linear_fwd(m, e, m->mattr_w, m->mattr_b, &a->f, &m->out.ml);
}

fke_status fke_multilabel_loss(fke_model *m, const fke_batch *b, double *loss, fke_err *e)
{
    fke_multilabel_acts *a = m->mla;
    int Nv = a->Nv, G = m->cfg.G, M = m->cfg.n_ml;
    a->ycat = fke_arena_alloc(&m->arena, e, (size_t)Nv * sizeof(int32_t));
    a->yml = fke_arena_alloc(&m->arena, e, (size_t)Nv * M * sizeof(int32_t));
    if (!a->ycat || !a->yml) return FKE_ERR_NOMEM;
    for (int v = 0; v < Nv; v++) { /* the post's attribute labels go with its first garment */
        int i = m->out.gidx[v] / G, g = m->out.gidx[v] % G;
        a->ycat[v] = b->cat[m->out.gidx[v]];
        if (g == 0) memcpy(a->yml + (size_t)v * M, b->ml + (size_t)i * M, M * sizeof(int32_t));
        else for (int k = 0; k < M; k++) a->yml[(size_t)v * M + k] = -1;
    }
    fke_tensor pw = W(m, m->pos_w);
    double lc = 0, la = 0;
    int nc = 0;
    long na = 0;
    fke_status st = fke_softmax_xent_forward(e, &m->out.cat, a->ycat, NULL, &lc, &nc);
    if (st == FKE_OK) st = fke_bce_forward(e, &m->out.ml, a->yml, pw.data, &la, &na);
    if (st != FKE_OK && !(st == FKE_ERR_NUMERIC && m->planning)) return st;
    for (int t = 0; t < FKE_N_TASKS; t++) m->out.task_loss[t] = NAN;
    m->out.task_loss[1] = nc ? lc : NAN;
    m->out.task_loss[2] = na ? la : NAN;
    *loss = lc + la;
    if (!isfinite(*loss) && !m->planning)
        return fke_fail(e, FKE_ERR_NUMERIC, "model: the loss is %g (diverged?)", *loss);
    FKE_TRY(zeros_like(m, e, &m->out.cat, &a->dcat));
    FKE_TRY(zeros_like(m, e, &m->out.ml, &a->dml));
    FKE_TRY(fke_softmax_xent_backward(e, &m->out.cat, a->ycat, NULL, 1.0, &a->dcat));
    return fke_bce_backward(e, &m->out.ml, a->yml, pw.data, 1.0, &a->dml);
}

fke_status fke_multilabel_backward(fke_model *m, const fke_batch *b, fke_err *e)
{
    (void)b;
    fke_multilabel_acts *a = m->mla;
    fke_tensor df;
    FKE_TRY(zeros_like(m, e, &a->f, &df));
    FKE_TRY(linear_bwd(m, e, m->mattr_w, m->mattr_b, &a->f, &a->dml, &df));
    FKE_TRY(linear_bwd(m, e, m->mcat_w, m->mcat_b, &a->f, &a->dcat, &df));
    return fke_cnn_backward(&m->cnn, &m->P, &m->arena, e, &a->tape, &df, NULL);
}

fke_status fke_multilabel_plan_step(fke_model *m, fke_err *e)
{
    const fke_config *c = &m->cfg;
    fke_batch bt;
    FKE_TRY(fke_batch_alloc(&bt, c->batch, c->G, 0, c->L, c->in_ch, c->img, c->crop, e));
    bt.n_ml = c->n_ml;
    bt.ml = calloc((size_t)c->batch * c->n_ml, sizeof(int32_t));
    fke_status st = bt.ml ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < c->batch; i++) bt.n_garments[i] = c->G;
    double l;
    if (st == FKE_OK) st = fke_multilabel_forward(m, &bt, 1, e);
    if (st == FKE_OK) st = fke_multilabel_loss(m, &bt, &l, e);
    if (st == FKE_OK) st = fke_multilabel_backward(m, &bt, e);
    fke_batch_free(&bt);
    return st;
}
