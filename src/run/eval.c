/* eval.c - see eval.h. */
#include "run/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "data/loader.h"

#define NEED(cond, field, got, want)                                                    \
    do {                                                                                \
        if (!(cond))                                                                    \
            return fke_fail(e, FKE_ERR_SHAPE,                                           \
                            "%s: field %s is %d but the model's config has %d", path,   \
                            field, (int)(got), (int)(want));                            \
    } while (0)

fke_status fke_check_dataset(const fke_config *c, const fke_dataset *d, fke_err *e)
{
    const char *path = d->path[0] ? d->path : "dataset";
    if (c->task == FKE_TASK_CLASSIFY)
        return fke_fail(e, FKE_ERR_CONFIG, "%s: a post dataset, but the config's task is classify",
                        path);
    if (c->task == FKE_TASK_MULTILABEL) {
        if (d->n_ml < 1)
            return fke_fail(e, FKE_ERR_CONFIG, "%s: task multilabel needs multi-label attributes "
                            "(/names/multilabel, e.g. fke data import deepfashion); this dataset "
                            "has none", path);
        NEED(d->G == c->G, "G (garments per post)", d->G, c->G);
        NEED(d->crop == c->crop, "crop (crop side)", d->crop, c->crop);
        NEED(d->C == c->in_ch, "C (channels)", d->C, c->in_ch);
        NEED(d->n_cat == c->n_cat, "n_cat (categories)", d->n_cat, c->n_cat);
        NEED(d->n_ml == c->n_ml, "n_ml (multi-label attributes, /names/multilabel)", d->n_ml, c->n_ml);
        return FKE_OK;
    }
    NEED(d->G == c->G, "G (garments per post)", d->G, c->G);
    NEED(d->A == c->n_attr, "A (attributes)", d->A, c->n_attr);
    NEED(d->L == c->L, "L (caption tokens)", d->L, c->L);
    NEED(d->img == c->img, "img (image side)", d->img, c->img);
    NEED(d->crop == c->crop, "crop (crop side)", d->crop, c->crop);
    NEED(d->C == c->in_ch, "C (channels)", d->C, c->in_ch);
    NEED(d->n_occ == c->n_occ, "n_occ (occasions)", d->n_occ, c->n_occ);
    NEED(d->n_cat == c->n_cat, "n_cat (categories)", d->n_cat, c->n_cat);
    for (int k = 0; k < d->A; k++) {
        char f[32];
        snprintf(f, sizeof f, "n_val[%d]", k);
        NEED(d->n_val[k] == c->n_val[k], f, d->n_val[k], c->n_val[k]);
    }
    if (d->V > c->V)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "%s: field V (vocabulary) is %d but the model's config has only %d", path,
                        d->V, c->V);
    return FKE_OK;
}

fke_status fke_check_imageset(const fke_config *c, const fke_imageset *s, fke_err *e)
{
    const char *path = s->path[0] ? s->path : "dataset";
    if (c->task != FKE_TASK_CLASSIFY)
        return fke_fail(e, FKE_ERR_CONFIG, "%s: an image dataset, but the config's task is fke", path);
    NEED(s->C == c->in_ch, "C (channels; config in_ch)", s->C, c->in_ch);
    NEED(s->H + 2 * c->pad == c->img, "H + 2 pad (image side)", s->H + 2 * c->pad, c->img);
    NEED(s->W + 2 * c->pad == c->img, "W + 2 pad (image side)", s->W + 2 * c->pad, c->img);
    NEED(s->n_cls == c->n_cat, "n_cls (classes; config n_cat)", s->n_cls, c->n_cat);
    return FKE_OK;
}

static int argmax(const fke_real *z, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (z[i] > z[best]) best = i;
    return best;
}

static fke_status init_result(fke_eval_result *r, const fke_config *c, fke_err *e)
{
    memset(r, 0, sizeof *r);
    r->n_attr = c->task == FKE_TASK_FKE ? c->n_attr : 0;
    if (c->task == FKE_TASK_FKE) FKE_TRY(fke_confusion_init(&r->occ, c->n_occ, e));
    FKE_TRY(fke_confusion_init(&r->cat, c->n_cat, e));
    for (int k = 0; k < r->n_attr; k++) FKE_TRY(fke_confusion_init(&r->att[k], c->n_val[k], e));
    return FKE_OK;
}

static void finish(fke_eval_result *r)
{
    if (r->occ.cm) {
        r->occ_acc = fke_confusion_accuracy(&r->occ);
        r->occ_f1 = fke_confusion_macro_f1(&r->occ);
    }
    r->cat_acc = fke_confusion_accuracy(&r->cat);
    r->cat_f1 = fke_confusion_macro_f1(&r->cat);
    for (int k = 0; k < r->n_attr; k++) {
        r->att_acc_k[k] = fke_confusion_accuracy(&r->att[k]);
        r->att_f1_k[k] = fke_confusion_macro_f1(&r->att[k]);
        r->att_acc += r->att_acc_k[k] / r->n_attr;
        r->att_f1 += r->att_f1_k[k] / r->n_attr;
    }
    int counted = 0;
    for (int k = 0; r->has_appl && k < r->n_attr; k++) {
        r->att_acc_appl_k[k] = fke_confusion_accuracy(&r->att_appl[k]);
        r->att_f1_appl_k[k] = fke_confusion_macro_f1(&r->att_appl[k]);
        if (!fke_confusion_total(&r->att_appl[k])) continue;
        r->att_acc_appl += r->att_acc_appl_k[k];
        r->att_f1_appl += r->att_f1_appl_k[k];
        counted++;
    }
    if (counted) r->att_acc_appl /= counted, r->att_f1_appl /= counted;
}

/* The truth of garment slot dg (= post * G + g) of post: its true category
 * (attribute k) where the data keeps one, else a clean post's label, else
 * unknown (-1). */
static int cat_truth(const fke_dataset *d, int post, size_t dg)
{
    if (d->cat_true && d->cat_true[dg] >= 0) return d->cat_true[dg];
    return d->clean[post] ? d->cat[dg] : -1;
}

static int attr_truth(const fke_dataset *d, int post, size_t da)
{
    if (d->attr_true && d->attr_true[da] >= 0) return d->attr_true[da];
    return d->clean[post] ? d->attr[da] : -1;
}

/* What task multilabel (DeepFashion) counts besides the category confusion:
 * top-k hits and the attribute recall over the post's first garment. */
typedef struct {
    fke_recall rec;
    long hit[3], n;
    float *sc; /* (max(n_cat, M)) one garment's scores */
    int M;
} ml_tally;

static const int ml_ks[3] = {1, 3, 5};

static fke_status ml_init(ml_tally *t, const fke_config *c, const fke_dataset *d,
                          fke_eval_result *r, fke_err *e)
{
    memset(t, 0, sizeof *t);
    const fke_extra *ty = fke_dataset_extra(d, "ml_type");
    int nt = d->n_ml_types < FKE_EVAL_ML_TYPES ? d->n_ml_types : FKE_EVAL_ML_TYPES;
    t->M = c->n_ml;
    r->has_ml = 1;
    r->n_ml_types = nt;
    for (int q = 0; q < nt; q++)
        snprintf(r->ml_type_names[q], sizeof r->ml_type_names[q], "%s", d->ml_type_names[q]);
    FKE_TRY(fke_recall_init(&t->rec, t->M, ty->v, e));
    if (!(t->sc = malloc((size_t)(c->n_cat > t->M ? c->n_cat : t->M) * sizeof *t->sc))) {
        fke_recall_free(&t->rec);
        return fke_fail(e, FKE_ERR_NOMEM, "eval: out of memory");
    }
    return FKE_OK;
}

/* garment v of the forward (post row i of b, slot g) with its true category */
static void ml_add(ml_tally *t, const fke_model *m, const fke_batch *b, int v, int i, int g,
                   int truth)
{
    int n_cat = m->cfg.n_cat;
    const fke_real *z = m->out.cat.data + (size_t)v * n_cat;
    for (int j = 0; j < n_cat; j++) t->sc[j] = (float)z[j];
    if (truth >= 0) {
        int rank = fke_rank_of(t->sc, n_cat, truth);
        for (int q = 0; q < 3; q++) t->hit[q] += rank < ml_ks[q];
        t->n++;
    }
    if (g == 0) {
        const fke_real *za = m->out.ml.data + (size_t)v * t->M;
        for (int j = 0; j < t->M; j++) t->sc[j] = (float)za[j];
        fke_recall_add(&t->rec, t->sc, b->ml + (size_t)i * t->M);
    }
}

static void ml_finish(ml_tally *t, const fke_dataset *d, fke_eval_result *r)
{
    const fke_extra *ty = fke_dataset_extra(d, "ml_type");
    int nt = r->n_ml_types;
    for (int q = 0; q < 3; q++) r->cat_top[q] = t->n ? (double)t->hit[q] / t->n : 0;
    for (int j = 0; j < FKE_RECALL_NK; j++)
        for (int q = -1; q < nt; q++) {
            r->ml_recall[j][1 + q] = fke_recall_pooled(&t->rec, j, q);
            r->ml_recall_attr[j][1 + q] = fke_recall_per_attr(&t->rec, j, q);
        }
    for (int a = 0; a < t->M; a++) {
        r->ml_positives[0] += t->rec.pos[a];
        if (ty->v[a] < nt) r->ml_positives[1 + ty->v[a]] += t->rec.pos[a];
    }
}

static void ml_free(ml_tally *t)
{
    fke_recall_free(&t->rec);
    free(t->sc);
}

/* Data-parallel evaluation: counts summed over the ranks (exact in double
 * below 2^53). */
static fke_status sum_counts(const fke_dist *dist, long long *v, size_t n, fke_err *e)
{
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf) return fke_fail(e, FKE_ERR_NOMEM, "eval: out of memory");
    for (size_t i = 0; i < n; i++) buf[i] = (double)v[i];
    fke_status st = fke_dist_sum_double(dist, buf, n, e);
    for (size_t i = 0; st == FKE_OK && i < n; i++) v[i] = (long long)buf[i];
    free(buf);
    return st;
}

static fke_status sum_confusion(const fke_dist *dist, fke_confusion *c, fke_err *e)
{
    return c->cm ? sum_counts(dist, c->cm, (size_t)c->n * c->n, e) : FKE_OK;
}

fke_status fke_evaluate(fke_model *m, const fke_dataset *d, fke_eval_result *r, fke_err *e)
{
    return fke_evaluate_run(m, d, NULL, NULL, r, e);
}

fke_status fke_evaluate_run(fke_model *m, const fke_dataset *d, const fke_eval_watch *w,
                            const fke_dist *dist, fke_eval_result *r, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int shard = dist && dist->active && dist->size > 1;
    if (shard && c->task == FKE_TASK_MULTILABEL)
        return fke_fail(e, FKE_ERR_CONFIG, "eval: task multilabel is not evaluated across "
                        "processes yet (run it in one process)");
    FKE_TRY(fke_check_dataset(c, d, e));
    if (c->task == FKE_TASK_CLIP) {
        memset(r, 0, sizeof *r);
        r->has_clip = 1;
        r->posts = d->N;
        return fke_clip_eval_posts(m->clip, d, r->clip_recall, e);
    }
    FKE_TRY(init_result(r, c, e));
    int ml = c->task == FKE_TASK_MULTILABEL;
    const int32_t *appl = NULL; /* NULL or (n_cat, A) */
    if (!ml) FKE_TRY(fke_loader_applicable(d, &appl, e));
    r->has_appl = appl != NULL;
    for (int k = 0; appl && k < r->n_attr; k++)
        FKE_TRY(fke_confusion_init(&r->att_appl[k], c->n_val[k], e));
    ml_tally t;
    if (ml) FKE_TRY(ml_init(&t, c, d, r, e));
    fke_loader ld;
    fke_status st = fke_loader_init(&ld, d, c->batch, 0, 0, 0, e);
    if (st == FKE_OK && shard && (st = fke_loader_shard(&ld, dist->rank, dist->size, e)) != FKE_OK)
        fke_loader_free(&ld);
    if (st != FKE_OK) {
        if (ml) ml_free(&t);
        return st;
    }
    int G = d->G, A = ml ? 0 : d->A;
    long seen = 0;
    for (;;) {
        fke_batch *b;
        st = fke_loader_next(&ld, &b, e);
        if (st != FKE_OK || !b) break;
        seen += shard ? (long)b->B * dist->size : b->B; /* the global batch's posts */
        int has_garment = 0;
        for (int i = 0; i < b->B; i++) has_garment |= b->n_garments[i] > 0;
        if (has_garment) {
            if ((st = fke_model_forward(m, b, 0, e)) != FKE_OK) break;
            for (int i = 0; !ml && i < b->B; i++)
                fke_confusion_add(&r->occ, b->occ[i],
                                  argmax(m->out.occ.data + (size_t)i * c->n_occ, c->n_occ));
            r->posts += b->B;
            for (int v = 0; v < m->out.Nv; v++) {
                int gi = m->out.gidx[v], post = b->index[gi / G], g = gi % G;
                size_t dg = (size_t)post * G + g;
                int truth = cat_truth(d, post, dg);
                int pcat = argmax(m->out.cat.data + (size_t)v * c->n_cat, c->n_cat);
                fke_confusion_add(&r->cat, truth, pcat);
                if (ml) ml_add(&t, m, b, v, gi / G, g, truth);
                for (int k = 0; k < A; k++) {
                    size_t da = dg * A + k;
                    int tk = attr_truth(d, post, da);
                    int pk = argmax(m->out.att[k].data + (size_t)v * c->n_val[k], c->n_val[k]);
                    fke_confusion_add(&r->att[k], tk, pk);
                    if (appl && appl[(size_t)pcat * A + k]) fke_confusion_add(&r->att_appl[k], tk, pk);
                }
                r->garments++;
            }
        }
        if (w && w->fn) w->fn(w->ctx, seen < d->N ? seen : d->N, d->N);
    }
    fke_loader_free(&ld);
    if (st == FKE_OK && shard) { /* every rank evaluated its shard of each batch: the counts of all */
        st = sum_confusion(dist, &r->occ, e);
        if (st == FKE_OK) st = sum_confusion(dist, &r->cat, e);
        for (int k = 0; st == FKE_OK && k < r->n_attr; k++) {
            st = sum_confusion(dist, &r->att[k], e);
            if (st == FKE_OK) st = sum_confusion(dist, &r->att_appl[k], e);
        }
        long long n[2] = {r->posts, r->garments};
        if (st == FKE_OK) st = sum_counts(dist, n, 2, e);
        r->posts = (long)n[0], r->garments = (long)n[1];
    }
    if (st == FKE_OK) finish(r);
    if (ml) {
        if (st == FKE_OK) ml_finish(&t, d, r);
        ml_free(&t);
        return st;
    }
    if (st != FKE_OK) return st;
    if (d->T_true && c->task == FKE_TASK_FKE) {
        r->has_T = 1;
        for (int q = 0; q <= A; q++) {
            int n = fke_dataset_T_side(d, q);
            float *T = malloc((size_t)n * n * sizeof(float));
            if (!T) return fke_fail(e, FKE_ERR_NOMEM, "eval: out of memory");
            fke_model_get_transition(m, q, T);
            r->T_mae[q] = fke_matrix_mae(T, d->T_true + fke_dataset_T_offset(d, q), n);
            free(T);
        }
    }
    return FKE_OK;
}

fke_status fke_evaluate_images(fke_model *m, const fke_imageset *s, fke_eval_result *r,
                               fke_err *e)
{
    const fke_config *c = &m->cfg;
    FKE_TRY(fke_check_imageset(c, s, e));
    FKE_TRY(init_result(r, c, e));
    float mean, std;
    fke_imageset_stats(s, &mean, &std);
    fke_tensor norm = fke_params_value(&m->P, m->norm);
    if (norm.data && norm.data[1] > 0) { /* the training set's statistics, kept with the model */
        mean = norm.data[0];
        std = norm.data[1];
    }
    fke_imageloader ld;
    FKE_TRY(fke_imageloader_init(&ld, s, c->batch, 0, c->pad, mean, std, 0, e));
    fke_status st = FKE_OK;
    for (;;) {
        fke_imagebatch *b;
        st = fke_imageloader_next(&ld, &b, e);
        if (st != FKE_OK || !b) break;
        fke_tensor x = fke_tensor_view(b->x, 4, b->B, b->C, b->H, b->W);
        if ((st = fke_classifier_forward(m, &x, 0, e)) != FKE_OK) break;
        for (int i = 0; i < b->B; i++) /* truth: the true labels of a corrupted set */
            fke_confusion_add(&r->cat, s->labels_true ? s->labels_true[b->index[i]] : b->y[i],
                              argmax(m->out.occ.data + (size_t)i * c->n_cat, c->n_cat));
        r->posts += b->B;
    }
    fke_imageloader_free(&ld);
    if (st != FKE_OK) return st;
    finish(r);
    if (s->T_true && m->theta[0] >= 0) { /* the learned T against the set's true one */
        int n = c->n_cat;
        float *T = malloc((size_t)n * n * sizeof(float));
        if (!T) return fke_fail(e, FKE_ERR_NOMEM, "eval: out of memory");
        fke_model_get_transition(m, 0, T);
        r->has_T = 1;
        r->T_mae[0] = fke_matrix_mae(T, s->T_true, n);
        free(T);
    }
    return FKE_OK;
}

void fke_eval_result_free(fke_eval_result *r)
{
    fke_confusion_free(&r->occ);
    fke_confusion_free(&r->cat);
    for (int k = 0; k < FKE_MAX_ATTR; k++) {
        fke_confusion_free(&r->att[k]);
        fke_confusion_free(&r->att_appl[k]);
    }
}

int fke_eval_has_occ(const fke_eval_result *r)
{
    return r->occ.cm && fke_confusion_total(&r->occ) > 0;
}

double fke_eval_score(const fke_eval_result *r)
{
    if (r->has_clip) {
        double sum = 0;
        for (int k = 0; k < FKE_CLIP_NK; k++) sum += r->clip_recall[0][k] + r->clip_recall[1][k];
        return sum / (2 * FKE_CLIP_NK);
    }
    if (r->has_ml) return (r->cat_top[1] + (isnan(r->ml_recall[0][0]) ? 0 : r->ml_recall[0][0])) / 2;
    double sum = r->cat_acc;
    int n = 1;
    if (fke_eval_has_occ(r)) sum += r->occ_acc, n++;
    if (r->n_attr) sum += r->att_acc, n++;
    return sum / n;
}
