/* noise_estimate.c - see noise_estimate.h. */
#include "run/noise_estimate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/eval.h"
#include "nn/loss.h"
#include "run/metrics.h"
#include "model/model_io.h"

/* ---- machine labels -------------------------------------------------------- */
int fke_noise_machine_label(const fke_dataset *d, long i, int g, int t)
{
    size_t s = (size_t)i * d->G + g;
    int m, y;
    if (t == 0) {
        m = d->cat_machine[s];
        y = d->cat[s];
    } else {
        m = d->attr_machine[s * d->A + t - 1];
        y = d->attr[s * d->A + t - 1];
    }
    if (m >= 0) return m;
    return d->clean[i] ? -1 : y;
}

static int has_machine_label(const fke_dataset *d, long i, int g)
{
    for (int t = 0; t <= d->A; t++)
        if (fke_noise_machine_label(d, i, g, t) >= 0) return 1;
    return 0;
}

long fke_noise_machine_garments(const fke_dataset *d)
{
    long n = 0;
    for (long i = 0; i < d->N; i++)
        for (int g = 0; g < d->n_garments[i]; g++) n += has_machine_label(d, i, g);
    return n;
}

/* ---- per-garment probabilities ---------------------------------------------- */
void fke_garment_probs_free(fke_garment_probs *gp)
{
    free(gp->p);
    free(gp->have);
    memset(gp, 0, sizeof *gp);
}

/* softmax of the (Nv, n) logits into gp's rows of the batch's garments */
static fke_status keep_task(fke_garment_probs *gp, const fke_model *m, const fke_batch *b,
                            const uint8_t *garment, const fke_tensor *logits, int t,
                            fke_real *buf, fke_err *e)
{
    int Nv = m->out.Nv, n = gp->n[t], G = gp->G;
    fke_tensor probs = fke_tensor_view(buf, 2, Nv, n);
    FKE_TRY(fke_softmax_forward(e, logits, &probs));
    for (int v = 0; v < Nv; v++) {
        int gi = m->out.gidx[v];
        size_t s = (size_t)b->index[gi / G] * G + gi % G;
        if (garment && !garment[s]) continue;
        float *row = gp->p + s * gp->W + gp->off[t];
        for (int j = 0; j < n; j++) row[j] = (float)buf[(size_t)v * n + j];
        gp->have[s] = 1;
    }
    return FKE_OK;
}

fke_status fke_garment_probs_compute(fke_model *m, const fke_dataset *d, const uint8_t *posts,
                                     const uint8_t *garment, fke_garment_probs *gp, fke_err *e)
{
    const fke_config *c = &m->cfg;
    memset(gp, 0, sizeof *gp);
    FKE_TRY(fke_check_dataset(c, d, e));
    gp->N = d->N, gp->G = d->G, gp->ntask = 1 + d->A;
    int maxn = 0;
    for (int t = 0; t < gp->ntask; t++) {
        gp->n[t] = t ? d->n_val[t - 1] : d->n_cat;
        gp->off[t] = gp->W;
        gp->W += gp->n[t];
        if (gp->n[t] > maxn) maxn = gp->n[t];
    }
    size_t NG = (size_t)d->N * d->G;
    gp->p = calloc(NG * gp->W + 1, sizeof(float));
    gp->have = calloc(NG + 1, 1);
    fke_real *buf = malloc((size_t)c->batch * c->G * maxn * sizeof(fke_real) + 1);
    if (!gp->p || !gp->have || !buf) {
        free(buf);
        fke_garment_probs_free(gp);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the model's probabilities", d->path);
    }
    fke_loader ld;
    fke_status st = fke_loader_init(&ld, d, c->batch, 0, 0, 0, e);
    if (st != FKE_OK) {
        free(buf);
        fke_garment_probs_free(gp);
        return st;
    }
    for (;;) {
        fke_batch *b;
        st = fke_loader_next(&ld, &b, e);
        if (st != FKE_OK || !b) break;
        int want = 0;
        for (int i = 0; i < b->B; i++) {
            int post = b->index[i];
            if (b->n_garments[i] <= 0 || (posts && !posts[post])) continue;
            for (int g = 0; g < b->n_garments[i]; g++)
                want |= !garment || garment[(size_t)post * d->G + g];
        }
        if (!want) continue;
        if ((st = fke_model_forward(m, b, 0, e)) != FKE_OK) break;
        /* posts not selected: their rows are computed and dropped */
        st = keep_task(gp, m, b, garment, &m->out.cat, 0, buf, e);
        for (int k = 0; st == FKE_OK && k < d->A; k++)
            st = keep_task(gp, m, b, garment, &m->out.att[k], k + 1, buf, e);
        if (st != FKE_OK) break;
        if (posts)
            for (int i = 0; i < b->B; i++)
                if (!posts[b->index[i]])
                    memset(gp->have + (size_t)b->index[i] * d->G, 0, (size_t)d->G);
    }
    fke_loader_free(&ld);
    free(buf);
    if (st != FKE_OK) {
        fke_garment_probs_free(gp);
        return st;
    }
    for (size_t s = 0; s < NG; s++) gp->count += gp->have[s];
    return FKE_OK;
}

fke_status fke_image_probs_compute(fke_model *m, const fke_imageset *s, fke_garment_probs *gp,
                                   fke_err *e)
{
    const fke_config *c = &m->cfg;
    memset(gp, 0, sizeof *gp);
    FKE_TRY(fke_check_imageset(c, s, e));
    int n = s->n_cls;
    gp->N = s->N, gp->G = 1, gp->ntask = 1, gp->n[0] = n, gp->W = n;
    gp->p = malloc((size_t)s->N * n * sizeof(float) + 1);
    gp->have = calloc((size_t)s->N + 1, 1);
    fke_real *buf = malloc((size_t)c->batch * n * sizeof(fke_real));
    if (!gp->p || !gp->have || !buf) {
        free(buf);
        fke_garment_probs_free(gp);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the model's probabilities", s->path);
    }
    /* normalised with the training set's statistics, kept with the model */
    fke_tensor norm = fke_params_value(&m->P, m->norm);
    float mean = norm.data[0], std = norm.data[1];
    if (!(std > 0)) fke_imageset_stats(s, &mean, &std);
    fke_imageloader ld;
    fke_status st = fke_imageloader_init(&ld, s, c->batch, 0, c->pad, mean, std, 0, e);
    if (st != FKE_OK) {
        free(buf);
        fke_garment_probs_free(gp);
        return st;
    }
    for (;;) {
        fke_imagebatch *b;
        if ((st = fke_imageloader_next(&ld, &b, e)) != FKE_OK || !b) break;
        fke_tensor x = fke_tensor_view(b->x, 4, b->B, b->C, b->H, b->W);
        if ((st = fke_classifier_forward(m, &x, 0, e)) != FKE_OK) break;
        fke_tensor probs = fke_tensor_view(buf, 2, b->B, n);
        if ((st = fke_softmax_forward(e, &m->out.occ, &probs)) != FKE_OK) break;
        for (int i = 0; i < b->B; i++) {
            float *row = gp->p + (size_t)b->index[i] * n;
            for (int j = 0; j < n; j++) row[j] = (float)buf[(size_t)i * n + j];
            gp->have[b->index[i]] = 1;
        }
    }
    fke_imageloader_free(&ld);
    free(buf);
    if (st != FKE_OK) {
        fke_garment_probs_free(gp);
        return st;
    }
    for (long i = 0; i < s->N; i++) gp->count += gp->have[i];
    return FKE_OK;
}

/* ---- anchor points -------------------------------------------------------- */
fke_status fke_noise_anchors(const fke_garment_probs *gp, double q, fke_tmatrices *tm,
                             long *anchor, fke_err *e)
{
    memset(tm, 0, sizeof *tm);
    if (!(q >= 0 && q <= 1))
        return fke_fail(e, FKE_ERR_ARG, "anchor points: the quantile must be in [0, 1], not %g", q);
    if (gp->count <= 0)
        return fke_fail(e, FKE_ERR_ARG, "anchor points: no garment to choose anchors from");
    size_t NG = (size_t)gp->N * gp->G;
    fke_scored *it = malloc((size_t)gp->count * sizeof *it);
    if (!it) return fke_fail(e, FKE_ERR_NOMEM, "anchor points: out of memory");
    tm->ntask = gp->ntask;
    for (int t = 0; t < gp->ntask; t++) {
        int n = gp->n[t];
        tm->n[t] = n;
        tm->T[t] = calloc((size_t)n * n, sizeof(float));
        if (!tm->T[t]) {
            free(it);
            fke_tmatrix_free(tm);
            return fke_fail(e, FKE_ERR_NOMEM, "anchor points: out of memory");
        }
        for (int i = 0; i < n; i++) {
            long cnt = 0;
            for (size_t s = 0; s < NG; s++)
                if (gp->have[s]) it[cnt++] = (fke_scored){gp->p[s * gp->W + gp->off[t] + i], (long)s};
            fke_scored_sort(it, (size_t)cnt, 0);
            long k = (long)ceil(q * (double)(cnt - 1) - 1e-9);
            if (k < 0) k = 0;
            if (k > cnt - 1) k = cnt - 1;
            long s = it[k].id;
            if (anchor && i < FKE_NOISE_MAXCLS) anchor[t * FKE_NOISE_MAXCLS + i] = s;
            const float *p = gp->p + (size_t)s * gp->W + gp->off[t];
            double sum = 0;
            for (int j = 0; j < n; j++) sum += p[j];
            for (int j = 0; j < n; j++) tm->T[t][i * n + j] = (float)(p[j] / sum);
        }
    }
    free(it);
    return FKE_OK;
}

int fke_noise_mae(const fke_dataset *d, const fke_tmatrices *tm, double *mae, double *mean)
{
    if (!d->T_true || tm->ntask != 1 + d->A) return 0;
    double sum = 0;
    for (int t = 0; t < tm->ntask; t++) {
        mae[t] = fke_matrix_mae(tm->T[t], d->T_true + fke_dataset_T_offset(d, t), tm->n[t]);
        sum += mae[t];
    }
    *mean = sum / tm->ntask;
    return 1;
}

/* ---- the command ------------------------------------------------------------- */
void fke_noise_defaults(fke_noise_opts *o)
{
    memset(o, 0, sizeof *o);
    o->alpha = FKE_NOISE_ALPHA;
    o->quantile = FKE_NOISE_QUANTILE;
}

void fke_noise_report_free(fke_noise_report *r)
{
    fke_tmatrix_free(&r->tm);
    for (int t = 0; t < 1 + FKE_MAX_ATTR; t++) free(r->names[t]);
    memset(r, 0, sizeof *r);
}

/* Fails early, before minutes of model work, when OUT cannot be written. */
static fke_status check_writable(const char *out, fke_err *e)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) return fke_fail(e, FKE_ERR_IO, "%s: cannot write the matrices (%s)", out, strerror(errno));
    fclose(f);
    unlink(tmp);
    return FKE_OK;
}

static fke_status estimate_anchors(const fke_noise_opts *o, const fke_dataset *d,
                                   fke_noise_report *r, fke_err *e)
{
    fke_model m;
    fke_status st = fke_model_load(&m, o->model, 0, NULL, e);
    if (st != FKE_OK) return st;
    fke_err why = {""};
    if ((st = fke_check_dataset(&m.cfg, d, &why)) != FKE_OK) {
        fke_model_free(&m);
        return fke_fail(e, st, "%s does not fit the data: %s", o->model, why.msg);
    }
    size_t NG = (size_t)d->N * d->G;
    uint8_t *sel = calloc(NG + 1, 1), *posts = calloc((size_t)d->N + 1, 1);
    if (!sel || !posts) {
        free(sel), free(posts);
        fke_model_free(&m);
        return fke_fail(e, FKE_ERR_NOMEM, "noise estimate: out of memory");
    }
    for (long i = 0; i < d->N; i++)
        for (int g = 0; g < d->n_garments[i]; g++)
            if (has_machine_label(d, i, g)) sel[(size_t)i * d->G + g] = posts[i] = 1;
    fke_garment_probs gp;
    st = fke_garment_probs_compute(&m, d, posts, sel, &gp, e);
    fke_model_free(&m);
    free(sel), free(posts);
    if (st != FKE_OK) return st;
    r->garments = gp.count;
    st = fke_noise_anchors(&gp, o->quantile, &r->tm, NULL, e);
    fke_garment_probs_free(&gp);
    return st;
}

/* An image set: anchor points of a classify model over all its images. */
static fke_status estimate_images(const fke_noise_opts *o, fke_noise_report *r, fke_err *e)
{
    if (!o->model)
        return fke_fail(e, FKE_ERR_ARG,
                        "%s: an image set carries one label per image, so there is no "
                        "clean/machine overlap to count; give --model CKPT, a classify model "
                        "trained with plain cross-entropy on these labels, for the anchor-point "
                        "estimate",
                        o->data);
    fke_imageset s;
    FKE_TRY(fke_imageset_load(&s, o->data, e));
    fke_model m;
    fke_status st = fke_model_load(&m, o->model, 0, NULL, e);
    if (st != FKE_OK) {
        fke_imageset_free(&s);
        return st;
    }
    fke_err why = {""};
    fke_garment_probs gp;
    memset(&gp, 0, sizeof gp);
    if (fke_check_imageset(&m.cfg, &s, &why) != FKE_OK)
        st = fke_fail(e, FKE_ERR_SHAPE, "%s does not fit the data: %s", o->model, why.msg);
    else
        st = fke_image_probs_compute(&m, &s, &gp, e);
    fke_model_free(&m);
    r->method = FKE_NOISE_ANCHORS;
    r->garments = gp.count;
    if (st == FKE_OK) st = fke_noise_anchors(&gp, o->quantile, &r->tm, NULL, e);
    fke_garment_probs_free(&gp);
    if (st == FKE_OK && !(r->names[0] = strdup("class")))
        st = fke_fail(e, FKE_ERR_NOMEM, "noise estimate: out of memory");
    if (st == FKE_OK && s.T_true) {
        r->has_true = 1;
        r->mae[0] = r->mae_mean = fke_matrix_mae(r->tm.T[0], s.T_true, s.n_cls);
    }
    if (st == FKE_OK && o->out) st = fke_tmatrix_save(&r->tm, o->out, r->names, e);
    fke_imageset_free(&s);
    if (st != FKE_OK) fke_noise_report_free(r);
    return st;
}

fke_status fke_noise_estimate(const fke_noise_opts *o, fke_noise_report *r, fke_err *e)
{
    memset(r, 0, sizeof *r);
    if (!o->data) return fke_fail(e, FKE_ERR_ARG, "noise estimate: no dataset given");
    if (!(o->alpha >= 0) || !isfinite(o->alpha))
        return fke_fail(e, FKE_ERR_ARG, "noise estimate: alpha must be a number >= 0, not %g",
                        o->alpha);
    if (!(o->quantile >= 0 && o->quantile <= 1))
        return fke_fail(e, FKE_ERR_ARG, "noise estimate: the quantile must be in [0, 1], not %g",
                        o->quantile);
    if (o->model && access(o->model, R_OK) != 0)
        return fke_fail(e, FKE_ERR_IO, "%s: cannot read the checkpoint (%s)", o->model,
                        strerror(errno));
    if (o->out) FKE_TRY(check_writable(o->out, e));
    if (fke_file_is_imageset(o->data)) return estimate_images(o, r, e);
    fke_dataset d;
    FKE_TRY(fke_dataset_load(&d, o->data, e));
    fke_status st = FKE_OK;
    long machine = fke_noise_machine_garments(&d);
    if (machine == 0) {
        st = fke_fail(e, FKE_ERR_FORMAT,
                      "%s: no machine labels at all (labels/category_machine and "
                      "labels/attribute_machine are empty and every post is clean): there is "
                      "no noise to estimate",
                      o->data);
    } else if (!o->model) {
        r->method = FKE_NOISE_OVERLAP;
        st = fke_tmatrix_from_overlap(&r->tm, &d, o->alpha, &r->garments, e);
        if (st == FKE_OK && r->garments == 0) {
            fke_tmatrix_free(&r->tm);
            st = fke_fail(e, FKE_ERR_FORMAT,
                          "%s: no garment carries both a clean (true) and a machine label "
                          "(labels/category_true with labels/category_machine), so the overlap "
                          "estimate is impossible; give --model CKPT, a model trained on the "
                          "machine labels alone, for the anchor-point estimate",
                          o->data);
        }
    } else {
        r->method = FKE_NOISE_ANCHORS;
        st = estimate_anchors(o, &d, r, e);
    }
    for (int t = 0; st == FKE_OK && t <= d.A; t++) {
        const char *nm = t == 0 ? "category" : d.attr_names ? d.attr_names[t - 1] : NULL;
        char buf[32];
        if (!nm) snprintf(buf, sizeof buf, "attribute%d", t - 1), nm = buf;
        if (!(r->names[t] = strdup(nm))) st = fke_fail(e, FKE_ERR_NOMEM, "noise estimate: out of memory");
    }
    if (st == FKE_OK) r->has_true = fke_noise_mae(&d, &r->tm, r->mae, &r->mae_mean);
    if (st == FKE_OK && o->out) st = fke_tmatrix_save(&r->tm, o->out, r->names, e);
    fke_dataset_free(&d);
    if (st != FKE_OK) fke_noise_report_free(r);
    return st;
}
