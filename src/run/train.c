/* train.c - see train.h. */
#include "run/train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/dist.h"
#include "core/file.h"
#include "data/split.h"
#include "run/eval.h"
#include "data/loader.h"
#include "model/model_io.h"
#include "model/multilabel.h"
#include "nn/optim.h"
#include "data/tmatrix.h"
#include "run/extract.h"

typedef struct {
    fke_config cfg;
    fke_model m;
    int cls; /* task classify */
    fke_dataset train, val, test;
    fke_imageset itrain, ival, itest;
    int has_val, has_test, have_loader;
    int held_out;   /* posts (images) of the training file held out for validation (val_split) */
    long best_step; /* the step of best.h5 (0: none yet) */
    fke_loader ld;
    fke_imageloader ild;
    long per_epoch;
    FILE *metrics;
    char dir[512];
    fke_ckpt_names names; /* what the checkpoints say the model was trained on (borrowed from train) */
    int lock; /* the run folder's lock (fke_lock_dir), 0 before it is taken */
    /* data-parallel training (o->dist active with more than one rank) */
    const fke_dist *dist;
    int dp;          /* 1: this is one of dist->size > 1 ranks */
    int writer;      /* 1: this rank writes the run folder (rank 0, or a single process) */
    fke_reducer red; /* sums over the ranks (the loss's counts, sync_bn) */
    double t_comm;   /* seconds in the step's allreduces since the last progress line */
    double t_step;   /* seconds in steps since the last progress line */
} run;

/* Progress and header lines are cut at spaces to fit 80 columns, never
 * inside a word (fke_fputs_wrapped); continuation lines indented. */
#define COLS 79

static void say(const fke_train_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const fke_train_opts *o, const char *fmt, ...)
{
    if (!o->progress) return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fke_fputs_wrapped(o->progress, buf, COLS, 4);
    fflush(o->progress);
}

/* What the terminal's evaluation line shows while it runs (a bar run). */
typedef struct {
    const fke_train_opts *o;
    char what[64];   /* "at step 400", "of best.h5" */
    const char *phase;
} eval_line;

static void eval_progress(void *ctx, long done, long total)
{
    eval_line *l = ctx;
    if (!l->o->progress || !l->o->bar) return;
    char line[160];
    snprintf(line, sizeof line, "  evaluating %s: %s %ld/%ld", l->what, l->phase, done, total);
    fprintf(l->o->progress, "\r%-*.*s", COLS, COLS, line);
    fflush(l->o->progress);
}

/* ---- data ------------------------------------------------------------------ */
/* Loads one split from path, as an image set (task classify) or a dataset,
 * and checks it against the config. */
static fke_status load_split(run *r, const char *path, fke_imageset *images, fke_dataset *posts,
                             fke_err *e)
{
    if (r->cls) {
        FKE_TRY(fke_imageset_load(images, path, e));
        return fke_check_imageset(&r->cfg, images, e);
    }
    FKE_TRY(fke_dataset_load(posts, path, e));
    return fke_check_dataset(&r->cfg, posts, e);
}

/* Whether any post has a caption token or an occasion label. */
static int has_text_or_occ(const fke_dataset *t)
{
    for (long i = 0; i < (long)t->N * t->L; i++)
        if (t->tokens[i]) return 1;
    for (int i = 0; i < t->N; i++)
        if (t->occ[i] >= 0) return 1;
    return 0;
}

/* The label space and input sizes that the config leaves unset, from the
 * training set (fke_config_from_data: a key the config gives must agree),
 * then the cross-field checks again on the final sizes. */
static fke_status sizes_from_data(run *r, const fke_train_opts *o, fke_err *e)
{
    fke_config *c = &r->cfg;
    fke_config_data d;
    fke_config_data_none(&d);
    if (r->cls) {
        const fke_imageset *s = &r->itrain;
        d.n_cat = s->n_cls;
        d.in_ch = s->C;
        if (s->H == s->W) d.img = s->H + 2 * c->pad; /* else fke_check_imageset says why */
    } else {
        const fke_dataset *t = &r->train;
        d.n_occ = t->n_occ, d.n_cat = t->n_cat, d.n_attr = t->A, d.V = t->V;
        for (int k = 0; k < t->A && k < FKE_MAX_ATTR; k++) d.n_val[k] = t->n_val[k];
        d.G = t->G, d.img = t->img, d.crop = t->crop, d.L = t->L, d.in_ch = t->C;
        if (t->word_vectors && c->word_vectors) d.D = t->wv_dim;
        d.text = has_text_or_occ(t) ? -1 : 0;
        if (c->task == FKE_TASK_MULTILABEL) /* no occasion, caption or categorical attributes */
            d.n_ml = t->n_ml, d.n_occ = d.V = d.L = -1, d.n_attr = 0;
    }
    char taken[512];
    FKE_TRY(fke_config_from_data(c, &d, c->train_data, taken, sizeof taken, e));
    if (fke_config_validate(c, e) != FKE_OK) {
        char msg[FKE_ERRLEN];
        snprintf(msg, sizeof msg, "%s", e->msg);
        return fke_fail(e, FKE_ERR_CONFIG, "%s: with the sizes taken from this training data "
                        "(%s): %s", c->train_data, taken, msg);
    }
    if (taken[0]) say(o, "from the training data: %s%s\n", taken, "");
    return FKE_OK;
}

/* The training file's path and hash (its fingerprint, model/checkpoint.h);
 * a file that cannot be read again leaves the hash "" (it was just loaded). */
static void fingerprint(fke_ckpt_names *n, const char *path)
{
    fke_err e;
    snprintf(n->data_file, sizeof n->data_file, "%s", path);
    if (fke_file_hash(path, n->data_hash, sizeof n->data_hash, NULL, &e) != FKE_OK)
        n->data_hash[0] = 0;
}

/* What the checkpoints record of the training set: its names and the
 * input preprocessing (model/checkpoint.h, /names); pointers borrowed. */
static void names_from_data(run *r)
{
    fke_ckpt_names *n = &r->names;
    memset(n, 0, sizeof *n);
    n->img = r->cfg.img;
    n->pad = r->cfg.pad;
    fingerprint(n, r->cfg.train_data);
    if (r->cls) {
        const fke_imageset *s = &r->itrain;
        n->n_cat = s->n_cls, n->cat = s->class_names;
        float mean, std;
        fke_imageset_stats(s, &mean, &std);
        n->pixel_mean = mean, n->pixel_std = std;
        n->data_posts = s->N + (r->held_out > 0 ? r->ival.N : 0); /* the file's, held-out included */
        return;
    }
    const fke_dataset *t = &r->train;
    n->crop = r->cfg.crop;
    n->pixel_mean = FKE_PIXEL_MEAN, n->pixel_std = FKE_PIXEL_STD;
    n->n_occ = t->n_occ, n->occ = t->occ_names;
    n->n_cat = t->n_cat, n->cat = t->cat_names;
    n->A = t->A, n->attr = t->attr_names;
    for (int k = 0; k < t->A && k < FKE_MAX_ATTR; k++)
        n->n_val[k] = t->n_val[k], n->val[k] = t->val_names ? t->val_names[k] : NULL;
    n->V = t->V, n->vocab = t->vocab;
    snprintf(n->tokenizer, sizeof n->tokenizer, "fke-text-1");
    snprintf(n->crop_rule, sizeof n->crop_rule, "%s",
             fke_crop_mode_name(fke_extract_default_crop(&r->cfg)));
    /* the training file's counts (its fingerprint), the held-out split included */
    const fke_dataset *parts[2] = {t, r->held_out > 0 ? &r->val : NULL};
    for (int k = 0; k < 2 && parts[k]; k++) {
        n->data_posts += parts[k]->N;
        for (int i = 0; i < parts[k]->N; i++) {
            n->data_garments += parts[k]->n_garments[i];
            n->data_clean += parts[k]->clean[i] != 0;
        }
    }
}

static fke_status load_data(run *r, const fke_train_opts *o, fke_err *e)
{
    const fke_config *c = &r->cfg;
    if (!c->train_data[0])
        return fke_fail(e, FKE_ERR_CONFIG, "config: key \"train_data\" is empty: nothing to train on");
    if (r->cls) FKE_TRY(fke_imageset_load(&r->itrain, c->train_data, e));
    else FKE_TRY(fke_dataset_load(&r->train, c->train_data, e));
    FKE_TRY(sizes_from_data(r, o, e));
    if (r->cls) FKE_TRY(fke_check_imageset(c, &r->itrain, e));
    else FKE_TRY(fke_check_dataset(c, &r->train, e));
    if (!c->val_data[0] && c->val_split > 0) { /* data/split.h's rule */
        if (r->cls) FKE_TRY(fke_imageset_holdout(&r->itrain, c->val_split, &r->ival, &r->held_out, e));
        else FKE_TRY(fke_dataset_holdout(&r->train, c->val_split, &r->val, &r->held_out, e));
        r->has_val = r->held_out > 0;
        char n[64];
        snprintf(n, sizeof n, "%d %s", r->held_out,
                 r->cls ? "images" : "posts");
        if (r->has_val)
            say(o, "validation: %s of the training file held out (val_split, fixed seed; "
                   "data/split.h), trained on the rest%s\n", n, "");
    }
    names_from_data(r);
    if (c->val_data[0] && (r->has_val = 1))
        FKE_TRY(load_split(r, c->val_data, &r->ival, &r->val, e));
    if ((r->has_test = c->test_data[0] != 0))
        FKE_TRY(load_split(r, c->test_data, &r->itest, &r->test, e));
    return FKE_OK;
}

static fke_status make_loader(run *r, fke_err *e)
{
    const fke_config *c = &r->cfg;
    if (r->cls) {
        float mean, std;
        fke_imageset_stats(&r->itrain, &mean, &std);
        fke_tensor norm = fke_params_value(&r->m.P, r->m.norm);
        norm.data[0] = mean;
        norm.data[1] = std;
        FKE_TRY(fke_imageloader_init(&r->ild, &r->itrain, c->batch, 1, c->pad, mean, std, c->seed, e));
        r->per_epoch = (r->itrain.N + c->batch - 1) / c->batch;
    } else {
        int has_clean = 0, has_machine = 0;
        for (int i = 0; i < r->train.N; i++) {
            has_clean |= r->train.clean[i] != 0;
            has_machine |= r->train.clean[i] == 0;
        }
        FKE_TRY(fke_loader_init(&r->ld, &r->train, c->batch, 1, has_clean && has_machine, c->seed, e));
        r->per_epoch = fke_loader_batches_per_epoch(&r->ld);
    }
    r->have_loader = 1;
    return FKE_OK;
}

/* Initial transition matrices: a file (config t_init), or the smoothed
 * confusion counts of garments with both a clean and a machine label, or the
 * identity when there are none. */
static fke_status init_transitions(run *r, const fke_train_opts *o, fke_err *e)
{
    const fke_config *c = &r->cfg;
    if (c->task == FKE_TASK_MULTILABEL) /* no transition layer; the BCE's positive weights */
        return fke_multilabel_pos_weight(&r->m, &r->train, c->pos_weight, e);
    if (c->correction != FKE_CORR_FORWARD || r->m.theta[0] < 0) return FKE_OK; /* none to set */
    fke_tmatrices tm;
    if (c->t_init[0]) {
        FKE_TRY(fke_tmatrix_load(&tm, c->t_init, c, e));
        say(o, "initial T from %s%s\n", c->t_init, "");
    } else {
        long used = 0;
        FKE_TRY(fke_tmatrix_from_overlap(&tm, &r->train, 1.0, &used, e));
        char n[32];
        snprintf(n, sizeof n, "%ld", used);
        say(o, used ? "initial T from %s garments with clean and machine labels%s\n"
                    : "no garment has both a clean and a machine label: T starts at the "
                      "identity%s%s (fke noise estimate gives anchor-point estimates)\n",
            used ? n : "", "");
    }
    fke_status st = FKE_OK;
    for (int t = 0; st == FKE_OK && t < tm.ntask; t++)
        st = fke_model_set_transition(&r->m, t, tm.T[t], e);
    fke_tmatrix_free(&tm);
    return st;
}

/* ---- one step ------------------------------------------------------------- */
static fke_status update(fke_params *P, fke_opt_kind kind, const fke_optim *opt, fke_err *e)
{
    switch (kind) {
    case FKE_OPT_SGD: return fke_optim_sgd_step(P, opt, e);
    case FKE_OPT_ADAM: return fke_optim_adam_step(P, opt, e);
    }
    return fke_fail(e, FKE_ERR_ARG, "train: optimizer %d is not a known kind", (int)kind);
}

/* Data-parallel: the gradients summed over the ranks (each rank's are its
 * share of the global batch's, fke_model_loss), with this rank's loss share,
 * posts and stop request, so that every rank takes the same update and stops
 * at the same step. */
static fke_status allreduce_step(run *r, double *loss, int *posts, int *stop, fke_err *e)
{
    double t0 = omp_get_wtime();
    fke_params *P = &r->m.P;
    FKE_TRY(fke_dist_sum_float(r->dist, P->g, P->total, e));
    double v[3] = {*loss, (double)*posts, (double)*stop};
    FKE_TRY(fke_dist_sum_double(r->dist, v, 3, e));
    *loss = v[0];
    *posts = (int)v[1];
    *stop = v[2] > 0;
    r->t_comm += omp_get_wtime() - t0;
    return FKE_OK;
}

/* Data-parallel, batch norm per rank: every rank's running statistics (the
 * buffers) replaced by their mean over the ranks, so all ranks keep the
 * same model. With sync_bn they are already the same. */
static fke_status average_buffers(run *r, fke_err *e)
{
    if (r->cfg.sync_bn) return FKE_OK;
    double t0 = omp_get_wtime();
    fke_params *P = &r->m.P;
    for (int i = 0; i < P->n; i++) {
        const fke_param_info *in = &P->info[i];
        if (in->trainable) continue;
        fke_real *w = P->w + in->offset;
        FKE_TRY(fke_dist_sum_float(r->dist, w, in->numel, e));
        for (size_t k = 0; k < in->numel; k++) w[k] /= (fke_real)r->dist->size;
    }
    r->t_comm += omp_get_wtime() - t0;
    return FKE_OK;
}

/* dist_check: every rank's parameters, buffers and optimiser state agree to
 * the bit after step s, or the run stops. */
static fke_status check_ranks(run *r, long s, fke_err *e)
{
    const fke_params *P = &r->m.P;
    size_t n = P->total * sizeof(fke_real);
    uint64_t h = fke_dist_hash(P->w, n, 0);
    if (P->m) h = fke_dist_hash(P->m, n, h);
    if (P->v) h = fke_dist_hash(P->v, n, h);
    int same;
    FKE_TRY(fke_dist_same(r->dist, h, &same, e));
    if (!same)
        return fke_fail(e, FKE_ERR_NUMERIC, "dist_check: after step %ld the %d ranks do not hold "
                        "the same parameters (rank %d's checksum %016llx differs from another's)",
                        s, r->dist->size, r->dist->rank, (unsigned long long)h);
    return FKE_OK;
}

/* Test hook of dist_check (tests/test_mpi.sh): FKE_DIST_SABOTAGE=S makes
 * rank 1 nudge one weight after step S, which the check must catch. */
static void sabotage(run *r, long s)
{
    const char *v = getenv("FKE_DIST_SABOTAGE");
    if (v && r->dist->rank == 1 && atol(v) == s) r->m.P.w[0] += 1e-3f;
}

/* A step of the training (s: the step about to be taken, from 0). stop: in,
 * this rank's stop request; out, whether any rank asked (data-parallel). */
static fke_status step(run *r, long s, const fke_optim *opt, double *loss, int *posts, int *stop,
                       fke_err *e)
{
    fke_model *m = &r->m;
    double t_start = omp_get_wtime();
    if (r->dp) /* dropout: a stream per step and rank, so a resume needs no per-rank state */
        fke_rng_seed(&m->rng, (r->cfg.seed ^ 0x5eed5eedULL) * 1000003ULL +
                                  (uint64_t)s * 4099ULL + (uint64_t)r->dist->rank + 1);
    if (r->cls) {
        fke_imagebatch *b;
        FKE_TRY(fke_imageloader_next(&r->ild, &b, e));
        fke_tensor x = fke_tensor_view(b->x, 4, b->B, b->C, b->H, b->W);
        FKE_TRY(fke_classifier_forward(m, &x, 1, e));
        FKE_TRY(fke_classifier_loss(m, b->y, loss, e));
        fke_params_zero_grad(&m->P);
        FKE_TRY(fke_classifier_backward(m, e));
        *posts = b->B;
    } else {
        fke_batch *b;
        FKE_TRY(fke_loader_next(&r->ld, &b, e));
        FKE_TRY(fke_model_forward(m, b, 1, e));
        FKE_TRY(fke_model_loss(m, b, loss, e));
        fke_params_zero_grad(&m->P);
        FKE_TRY(fke_model_backward(m, b, e));
        *posts = b->B;
    }
    if (r->dp) FKE_TRY(allreduce_step(r, loss, posts, stop, e));
    FKE_TRY(fke_optim_check_finite(&m->P, e));
    double t0 = omp_get_wtime();
    fke_status st = update(&m->P, r->cfg.optimizer, opt, e);
    fke_model_after_update(m);
    m->time[FKE_PART_UPDATE] += omp_get_wtime() - t0;
    if (st == FKE_OK && r->dp) {
        st = average_buffers(r, e);
        sabotage(r, s + 1);
        if (st == FKE_OK && r->cfg.dist_check) st = check_ranks(r, s + 1, e);
    }
    r->t_step += omp_get_wtime() - t_start;
    return st;
}

static fke_status skip_batches(run *r, long n, fke_err *e)
{
    if (!r->cls) return fke_loader_skip(&r->ld, n, e);
    for (long i = 0; i < n; i++) {
        fke_imagebatch *b;
        FKE_TRY(fke_imageloader_next(&r->ild, &b, e));
    }
    return FKE_OK;
}

/* ---- evaluation ----------------------------------------------------------- */
/* Re-estimates the batch-norm running statistics at the current weights
 * ("precise BN"): forward passes in training mode over training batches,
 * dropout off, weights and the training random state untouched. The running
 * averages of training lag behind weights that move quickly: on
 * FashionKE-synth they cost up to 40 points of occasion accuracy. */
static fke_status recalibrate(run *r, eval_line *l, fke_err *e)
{
    int n = r->cfg.bn_recalibrate;
    if (n <= 0) return FKE_OK;
    fke_model *m = &r->m;
    double dh = m->cfg.dropout_head, dt = m->cfg.dropout_text;
    m->cfg.dropout_head = m->cfg.dropout_text = 0;
    /* data-parallel: every rank passes its shard of the same batches, with
     * the statistics of the whole batch (sync batch norm, whatever sync_bn
     * says), so every rank ends with the same buffers, the single-process
     * ones to float rounding */
    const fke_reducer *sync = m->cnn.sync;
    if (r->dp) m->cnn.sync = &r->red;
    fke_status st = FKE_OK;
    if (r->cls) {
        fke_imageloader ld;
        fke_tensor norm = fke_params_value(&m->P, m->norm);
        st = fke_imageloader_init(&ld, &r->itrain, r->cfg.batch, 1, r->cfg.pad, norm.data[0],
                                  norm.data[1], r->cfg.seed + 1, e);
        int ok = st == FKE_OK; /* a failed init frees its own buffers */
        for (int i = 0; st == FKE_OK && i < n; i++) {
            fke_imagebatch *b;
            if ((st = fke_imageloader_next(&ld, &b, e)) != FKE_OK) break;
            fke_tensor x = fke_tensor_view(b->x, 4, b->B, b->C, b->H, b->W);
            st = fke_classifier_forward(m, &x, 1, e);
            if (l) eval_progress(l, i + 1, n);
        }
        if (ok) fke_imageloader_free(&ld);
    } else {
        fke_loader ld;
        st = fke_loader_init(&ld, &r->train, r->cfg.batch, 1, 0, r->cfg.seed + 1, e);
        int ok = st == FKE_OK;
        if (ok && r->dp) st = fke_loader_shard(&ld, r->dist->rank, r->dist->size, e);
        for (int i = 0; st == FKE_OK && i < n; i++) {
            fke_batch *b;
            if ((st = fke_loader_next(&ld, &b, e)) == FKE_OK) st = fke_model_forward(m, b, 1, e);
            if (l) eval_progress(l, i + 1, n);
        }
        if (ok) fke_loader_free(&ld);
    }
    m->cfg.dropout_head = dh;
    m->cfg.dropout_text = dt;
    m->cnn.sync = sync;
    return st;
}

/* The validation score that picks best.h5 (config select). */
static double selected(const fke_eval_result *res, fke_select_kind k)
{
    int posts = res->occ.cm != NULL;
    if (res->has_clip) return fke_eval_score(res); /* mean recall; config.c allows mean_acc only */
    switch (k) {
    case FKE_SEL_MEAN_ACC: return fke_eval_score(res);
    case FKE_SEL_MEAN_F1:
        if (!posts) return res->cat_f1;
        return res->n_attr ? (res->occ_f1 + res->cat_f1 + res->att_f1) / 3
                           : (res->occ_f1 + res->cat_f1) / 2;
    case FKE_SEL_OCC_ACC: return res->occ_acc;
    case FKE_SEL_CAT_ACC: return res->cat_acc;
    case FKE_SEL_ATT_ACC: return res->att_acc;
    }
    return NAN;
}

/* score: the config's select criterion */
static void put_result(FILE *f, const char *name, const fke_eval_result *res, double score)
{
    if (res->has_clip) { /* task clip: retrieval recall@1/5/10 both ways */
        fprintf(f, ", \"%s\": {\"posts\": %ld", name, res->posts);
        for (int d = 0; d < 2; d++)
            for (int k = 0; k < FKE_CLIP_NK; k++)
                fprintf(f, ", \"%s_r%d\": %.6f", d ? "t2i" : "i2t", fke_clip_recall_k[k],
                        res->clip_recall[d][k]);
        fprintf(f, ", \"score\": %.6f}", score);
        return;
    }
    if (res->occ.cm)
        fprintf(f, ", \"%s\": {\"occ_acc\": %.6f, \"occ_f1\": %.6f, \"cat_acc\": %.6f, \"cat_f1\": %.6f, "
                   "\"att_acc\": %.6f, \"att_f1\": %.6f, \"score\": %.6f",
                name, res->occ_acc, res->occ_f1, res->cat_acc, res->cat_f1, res->att_acc, res->att_f1,
                score);
    else
        fprintf(f, ", \"%s\": {\"acc\": %.6f, \"f1\": %.6f, \"score\": %.6f", name, res->cat_acc,
                res->cat_f1, score);
    if (res->has_ml) /* task multilabel: the benchmark's headline numbers */
        fprintf(f, ", \"cat_top3\": %.6f, \"cat_top5\": %.6f, \"recall3\": %.6f, \"recall5\": %.6f",
                res->cat_top[1], res->cat_top[2], res->ml_recall[0][0], res->ml_recall[1][0]);
    if (res->has_T) {
        fprintf(f, ", \"T_mae\": [");
        for (int t = 0; t <= res->n_attr; t++) fprintf(f, "%s%.5f", t ? ", " : "", res->T_mae[t]);
        fprintf(f, "]");
    }
    fprintf(f, "}");
}

static fke_status evaluate(run *r, int which, eval_line *l, fke_eval_result *res, fke_err *e)
{
    if (l) l->phase = which ? "test" : "val";
    if (r->cls) return fke_evaluate_images(&r->m, which ? &r->itest : &r->ival, res, e);
    fke_eval_watch w = {eval_progress, l};
    return fke_evaluate_run(&r->m, which ? &r->test : &r->val, l ? &w : NULL,
                            r->dp ? r->dist : NULL, res, e);
}

static void describe(char *buf, size_t n, const char *name, const fke_eval_result *res)
{
    if (res->has_clip) {
        const double(*R)[FKE_CLIP_NK] = res->clip_recall;
        snprintf(buf, n, "%s: recall@1/5/10 image->text %.3f/%.3f/%.3f text->image %.3f/%.3f/%.3f",
                 name, R[0][0], R[0][1], R[0][2], R[1][0], R[1][1], R[1][2]);
        return;
    }
    if (res->occ.cm)
        snprintf(buf, n, "%s: occasion %.3f category %.3f attributes %.3f", name, res->occ_acc,
                 res->cat_acc, res->att_acc);
    else
        snprintf(buf, n, "%s: accuracy %.4f  macro-F1 %.4f", name, res->cat_acc, res->cat_f1);
}

/* Never write a checkpoint of a diverged model. */
static fke_status check_weights(run *r, fke_err *e)
{
    const fke_params *P = &r->m.P;
    for (int i = 0; i < P->n; i++)
        for (size_t k = 0; k < P->info[i].numel; k++)
            if (!isfinite(P->w[P->info[i].offset + k]))
                return fke_fail(e, FKE_ERR_NUMERIC, "%s[%zu] is %g (the model diverged)",
                                P->info[i].name, k, (double)P->w[P->info[i].offset + k]);
    return FKE_OK;
}

/* The message of a run stopped by an error at step s. */
static fke_status stopped(run *r, long s, int epoch, fke_status st, fke_err *e)
{
    char msg[FKE_ERRLEN], last[600];
    snprintf(msg, sizeof msg, "%s", e->msg);
    snprintf(last, sizeof last, "%s/last.h5", r->dir);
    int have = access(last, R_OK) == 0;
    return fke_fail(e, st, "training stopped at step %ld (epoch %d): %s; %s%s", s, epoch + 1, msg,
                    have ? "the last good checkpoint is " : "no checkpoint was written",
                    have ? last : "");
}

static void free_run(run *r)
{
    if (r->writer) fke_unlock_dir(r->lock);
    if (r->have_loader) {
        if (r->cls) fke_imageloader_free(&r->ild);
        else fke_loader_free(&r->ld);
    }
    fke_model_free(&r->m);
    if (r->cls) {
        fke_imageset_free(&r->itrain);
        if (r->has_val) fke_imageset_free(&r->ival);
        if (r->has_test) fke_imageset_free(&r->itest);
    } else {
        fke_dataset_free(&r->train);
        if (r->has_val) fke_dataset_free(&r->val);
        if (r->has_test) fke_dataset_free(&r->test);
    }
    if (r->metrics) fclose(r->metrics);
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e7) snprintf(buf, n, "?");
    else if (s >= 3600) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s >= 60) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, n, "%ds", (int)s);
}

/* ---- the run --------------------------------------------------------------- */
/* The model of a fresh run (initial weights, maybe from init_from, and
 * initial transitions), or of a resumed one: the weights, optimiser state
 * and run state of RUN/last.h5. The config the caller gives for a resume
 * (the checkpoint's, maybe with overrides) must build the same model, which
 * the shape checks enforce. */
static fke_status init_model(run *r, const fke_train_opts *o, fke_ckpt_meta *meta, fke_err *e)
{
    const fke_config *c = &r->cfg;
    FKE_TRY(fke_model_init(&r->m, c, e));
    if (o->resume) {
        char path[600];
        snprintf(path, sizeof path, "%s/last.h5", r->dir);
        FKE_TRY(fke_checkpoint_load(path, &r->m.P, 1, meta, e));
        free(meta->config_json);
        meta->config_json = NULL;
        memcpy(r->m.rng.s, meta->rng, sizeof meta->rng);
        int n = r->dist ? r->dist->size : 1;
        if (meta->world != n) /* the shards, per-rank batch norm and dropout depend on N */
            return fke_fail(e, FKE_ERR_CONFIG, "%s was written by a run of %d process%s; resume "
                            "it with the same number (%s%d), not %d: the split of each global "
                            "batch, per-rank batch norm and the dropout streams depend on it",
                            path, meta->world, meta->world == 1 ? "" : "es",
                            meta->world == 1 ? "fke train without mpirun, or mpirun -np " :
                            "mpirun -np ", meta->world, n);
        return FKE_OK;
    }
    const fke_dataset *t = &r->train;
    if (!r->cls && c->text && c->word_vectors && t->word_vectors) {
        /* the data's word vectors start the embedding (D is their width:
         * sizes_from_data took it or checked it); rows past the data's V
         * keep their random start */
        fke_tensor emb = fke_params_value(&r->m.P, r->m.emb);
        for (long i = 0; i < (long)t->V * t->wv_dim; i++) emb.data[i] = t->word_vectors[i];
        char k[64];
        snprintf(k, sizeof k, "%d x %d", t->V, t->wv_dim);
        say(o, "word embedding: starts from the %s word vectors of %s\n", k, c->train_data);
    }
    if (c->init_from[0]) {
        int n = 0;
        FKE_TRY(fke_checkpoint_load_partial(c->init_from, &r->m.P, &n, e));
        char k[64];
        snprintf(k, sizeof k, "%d of %d", n, r->m.P.n);
        say(o, "initial weights: %s tensors from %s\n", k, c->init_from);
    }
    return init_transitions(r, o, e);
}

/* The files that make a folder a run folder (train.h). */
static const char *const run_files[] = {"config.json", "metrics.jsonl", "last.h5", "best.h5", NULL};

/* A fresh run's folder: refused when it holds a run, unless o->force, which
 * removes the old checkpoints (metrics.jsonl and config.json are rewritten). */
static fke_status check_folder(run *r, const fke_train_opts *o, fke_err *e)
{
    char path[600], found[128] = "";
    for (int i = 0; run_files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", r->dir, run_files[i]);
        if (access(path, F_OK) != 0) continue;
        if (o->force) {
            if (i >= 2 && unlink(path) != 0)
                return fke_fail(e, FKE_ERR_IO, "%s: cannot remove (%s)", path, strerror(errno));
            continue;
        }
        size_t n = strlen(found);
        snprintf(found + n, sizeof found - n, "%s%s", n ? ", " : "", run_files[i]);
    }
    if (!found[0]) return FKE_OK;
    return fke_fail(e, FKE_ERR_IO,
                    "%s already holds a run (%s); nothing was changed. Continue it with "
                    "`fke train --resume %s`, replace it with --force, or train into another "
                    "folder (--set out_dir=DIR)",
                    r->dir, found, r->dir);
}

/* The step a metrics.jsonl line belongs to ("step" or "eval_step"), or -1
 * for a line that is not a whole JSON object with one (a line cut by a
 * crash, the final test line); an evaluation line's best_step goes to
 * *best. */
static long line_step(const char *line, size_t n, long *best)
{
    cJSON *j = cJSON_ParseWithLength(line, n);
    if (!j) return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "step");
    if (!cJSON_IsNumber(v)) v = cJSON_GetObjectItemCaseSensitive(j, "eval_step");
    long s = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "best_step");
    if (cJSON_IsNumber(b)) *best = (long)b->valuedouble;
    cJSON_Delete(j);
    return s;
}

/* A resume's metrics.jsonl: only the lines of steps 1..s stay (rewritten
 * atomically); *dropped counts the others, *best_step is the last kept
 * evaluation's best step. */
static fke_status trim_metrics(const char *path, long s, long *dropped, long *best_step,
                               fke_err *e)
{
    *dropped = 0;
    if (access(path, F_OK) != 0) return FKE_OK;
    char *buf;
    size_t len;
    FKE_TRY(fke_read_file(path, 0, &buf, &len, e));
    size_t w = 0;
    for (size_t a = 0; a < len;) {
        size_t b = a;
        while (b < len && buf[b] != '\n') b++;
        long best = -1, ls = line_step(buf + a, b - a, &best);
        size_t next = b < len ? b + 1 : b;
        if (ls >= 0 && ls <= s) {
            if (best >= 0) *best_step = best;
            memmove(buf + w, buf + a, b - a);
            w += b - a;
            buf[w++] = '\n';
        } else if (b > a) {
            (*dropped)++;
        }
        a = next;
    }
    buf[w] = 0;
    fke_status st = *dropped ? fke_write_file(path, buf, "metrics", e) : FKE_OK;
    free(buf);
    return st;
}

/* The run folder, its config.json (every key, defaults included) and
 * metrics.jsonl (on a resume: cut back to the resumed step, then appended
 * to). */
static fke_status open_outputs(run *r, const fke_train_opts *o, long s, fke_train_result *out,
                               fke_err *e)
{
    char path[600];
    FKE_TRY(fke_mkdir_p(r->dir, e));
    char *json = fke_config_to_json(&r->cfg);
    if (!json) return fke_fail(e, FKE_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/config.json", r->dir);
    fke_status st = fke_write_file(path, json, "config", e);
    free(json);
    FKE_TRY(st);
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
    if (o->resume) FKE_TRY(trim_metrics(path, s, &out->metrics_dropped, &r->best_step, e));
    r->metrics = fopen(path, o->resume ? "a" : "w");
    if (!r->metrics) return fke_fail(e, FKE_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    return FKE_OK;
}

/* ---- the ETA ------------------------------------------------------------------- */
/* multiples of a in (s, total] */
static long multiples(long a, long s, long total) { return a > 0 ? total / a - s / a : 0; }

static long gcd(long a, long b) { return b ? gcd(b, a % b) : a; }

long fke_eta_evals(const fke_eta *t, long s, long total, long *with_test)
{
    if (with_test) *with_test = 0;
    if (s >= total) return 0;
    long ee = t->eval_every > 0 ? t->eval_every : total, te = t->test_every > 0 ? t->test_every : 0;
    long n = multiples(ee, s, total), nt = multiples(te, s, total);
    if (te) n += nt - multiples(ee / gcd(ee, te) * te, s, total); /* at both: one evaluation */
    int at_end = total % ee != 0 && (!te || total % te != 0); /* the last step always evaluates */
    if (with_test) *with_test = nt + (te && total % te != 0);
    return n + at_end;
}

double fke_eta_left(const fke_eta *t, long s, long total)
{
    if (t->train_steps < 1 || t->train_s < 0) return NAN;
    double step = t->train_s / t->train_steps;
    double per_post = t->eval_posts > 0 ? t->eval_s / t->eval_posts : step / (t->batch > 0 ? t->batch : 1) / 3;
    long with_test, n = fke_eta_evals(t, s, total, &with_test);
    double posts = (double)n * t->eval_posts_each + (double)with_test * t->test_posts + t->test_posts;
    return step * (total > s ? total - s : 0) + posts * per_post;
}

/* What the progress lines report: the run's start, the steps since the
 * last line, and what the ETA needs. */
typedef struct {
    double t_start; /* wall time at the first step */
    long s_first;   /* the step the run starts from (> 0 on a resume) */
    double t_log;   /* wall time of the last line (or of the end of an evaluation) */
    double loss_sum;
    long steps, posts;
    fke_eta eta;
} tally;

/* After step s of total: a metrics.jsonl line and a progress line with the
 * mean loss and the speed since the last one, which then start again. */
static void log_progress(run *r, const fke_train_opts *o, tally *p, long s, long total,
                         int epoch, double lr)
{
    double now = omp_get_wtime();
    double rate = p->posts / (now - p->t_log + 1e-12);
    p->eta.train_s = now - p->t_start - p->eta.eval_s;
    p->eta.train_steps = s - p->s_first;
    double left = fke_eta_left(&p->eta, s, total);
    double loss = p->loss_sum / p->steps;
    const char *unit = r->cls ? "images" : "posts";
    if (r->metrics) {
        fprintf(r->metrics,
                "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"lr\": %.6g, "
                "\"posts_per_s\": %.2f, \"seconds\": %.2f",
                s, (double)s / r->per_epoch, loss, lr, rate, now - p->t_start);
        if (r->dp) /* the step's time, and the part of it in the allreduces, of rank 0 */
            fprintf(r->metrics, ", \"ranks\": %d, \"step_s\": %.4f, \"allreduce_share\": %.4f",
                    r->dist->size, r->t_step / p->steps, r->t_step > 0 ? r->t_comm / r->t_step : 0);
        fprintf(r->metrics, "}\n");
        fflush(r->metrics);
    }
    r->t_comm = r->t_step = 0;
    if (o->progress) {
        char eta[32];
        fmt_time(eta, sizeof eta, left);
        if (o->bar) {
            /* one line under 80 columns, so a terminal never wraps it: the
             * bar gives up its width to long numbers */
            char text[160], line[400], bar[32];
            snprintf(text, sizeof text, "%3d%% %ld/%ld loss %.4f %.0f %s/s ETA %s",
                     (int)(100.0 * s / total), s, total, loss, rate, r->cls ? "img" : "posts", eta);
            char ep[48];
            snprintf(ep, sizeof ep, "ep %d/%ld ", epoch + 1, (total + r->per_epoch - 1) / r->per_epoch);
            int w = COLS - (int)strlen(ep) - 3 - (int)strlen(text);
            w = w > 12 ? 12 : w;
            if (w >= 4) {
                int fill = (int)(w * (double)s / total);
                for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '-';
                bar[w] = 0;
                snprintf(line, sizeof line, "%s[%s] %s", ep, bar, text);
            } else {
                snprintf(line, sizeof line, "%s%s", (int)(strlen(ep) + strlen(text)) <= COLS ? ep : "", text);
            }
            fprintf(o->progress, "\r%-*.*s", COLS, COLS, line);
        } else {
            say(o, "  step %ld/%ld  epoch %d  loss %.4f  lr %.3g  %.1f %s/s  ETA %s\n", s, total,
                epoch + 1, loss, lr, rate, unit, eta);
        }
        fflush(o->progress);
    }
    p->t_log = now;
    p->posts = 0;
    p->loss_sum = 0;
    p->steps = 0;
}

/* RUN/name (last.h5, best.h5): the model and the run state after step s. */
static fke_status save_state(run *r, long s, fke_ckpt_meta *meta, const char *name, fke_err *e)
{
    meta->step = s;
    meta->epoch = (int)(s / r->per_epoch);
    meta->pos = s;
    meta->world = r->dist ? r->dist->size : 1;
    memcpy(meta->rng, r->m.rng.s, sizeof meta->rng);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    return fke_model_save(&r->m, path, meta, e);
}

/* After step s: batch-norm recalibration, the validation score (and the
 * test score when test_every asks for it at s) in metrics.jsonl and a
 * progress line, best.h5 when the validation score improves on meta->best
 * (without validation data: every time), and last.h5. The progress: an
 * "evaluating" line before it starts, redrawn with each phase's progress
 * on a terminal, and a line with the time of each phase at its end; the
 * time and posts go to the ETA (p->eta). */
static fke_status eval_and_checkpoint(run *r, const fke_train_opts *o, long s, int epoch,
                                      int with_test, fke_ckpt_meta *meta, tally *p,
                                      fke_train_result *out, fke_err *e)
{
    double t0 = omp_get_wtime();
    const char *unit = r->cls ? "images" : "posts";
    long nval = r->has_val ? (r->cls ? r->ival.N : r->val.N) : 0;
    long ntest = r->has_test && with_test ? (r->cls ? r->itest.N : r->test.N) : 0;
    if (o->progress) { /* evaluation takes a while: say so before it starts */
        char what[160] = "";
        size_t n = 0;
        if (nval) n += (size_t)snprintf(what + n, sizeof what - n, ", val %ld %s", nval, unit);
        if (ntest) snprintf(what + n, sizeof what - n, ", test %ld %s", ntest, unit);
        if (o->bar) fputc('\n', o->progress);
        say(o, "  evaluating at step %ld: batch-norm (%d batches)%s ...\n", s,
            r->cfg.bn_recalibrate, what);
    }
    eval_line l = {.o = o, .phase = "batch-norm"};
    snprintf(l.what, sizeof l.what, "at step %ld", s);
    double t_phase[3] = {0, 0, 0}; /* batch-norm, val, test */
    fke_status st = recalibrate(r, &l, e);
    if (st == FKE_OK) st = check_weights(r, e);
    if (st != FKE_OK) return stopped(r, s, epoch, st, e);
    t_phase[0] = omp_get_wtime() - t0;
    double score = NAN;
    char line[2][256] = {"", ""};
    fke_eval_result res[2];
    int done[2] = {0, 0};
    for (int which = 0; which < 2; which++) {
        if (!(which ? ntest : r->has_val)) continue;
        double t1 = omp_get_wtime();
        FKE_TRY(evaluate(r, which, &l, &res[which], e));
        t_phase[1 + which] = omp_get_wtime() - t1;
        done[which] = 1;
        describe(line[which], sizeof line[which], which ? "test" : "val", &res[which]);
        if (which) out->test_score = selected(&res[which], r->cfg.select);
        else score = selected(&res[which], r->cfg.select);
    }
    int better = !r->has_val || score > meta->best;
    if (better) r->best_step = s;
    if (r->metrics) {
        fprintf(r->metrics, "{\"eval_step\": %ld, \"epoch\": %.4f", s, (double)s / r->per_epoch);
        for (int which = 0; which < 2; which++)
            if (done[which])
                put_result(r->metrics, which ? "test" : "val", &res[which],
                           selected(&res[which], r->cfg.select));
        fprintf(r->metrics, ", \"best_step\": %ld}\n", r->best_step);
        fflush(r->metrics);
    }
    for (int which = 0; which < 2; which++)
        if (done[which]) fke_eval_result_free(&res[which]);
    if (better) {
        if (r->has_val) meta->best = score;
        if (r->writer) FKE_TRY(save_state(r, s, meta, "best.h5", e));
    }
    st = r->writer ? save_state(r, s, meta, "last.h5", e) : FKE_OK;
    double t = omp_get_wtime() - t0;
    p->eta.eval_s += t;
    p->eta.eval_posts += (long)r->cfg.bn_recalibrate * r->cfg.batch + nval + ntest;
    if (o->progress) {
        char ph[160];
        size_t n = (size_t)snprintf(ph, sizeof ph, "batch-norm %.1f s", t_phase[0]);
        if (done[0]) n += (size_t)snprintf(ph + n, sizeof ph - n, ", val %.1f s", t_phase[1]);
        if (done[1]) snprintf(ph + n, sizeof ph - n, ", test %.1f s", t_phase[2]);
        if (o->bar) fprintf(o->progress, "\r%*s\r", COLS, ""); /* the redrawn line, cleared */
        say(o, "  evaluated in %.1f s (%s, saving %.1f s)\n", t, ph,
            t - t_phase[0] - t_phase[1] - t_phase[2]);
        for (int which = 0; which < 2; which++) /* a line each: under 80 columns */
            if (line[which][0])
                say(o, "  eval at step %ld: %s%s\n", s, line[which], !which && better ? " (best)" : "");
    }
    return st;
}

/* The end of a run: the test set, once, on best.h5 (metrics.jsonl line
 * "final_test"), and the progress lines saying which step was best. */
static fke_status final_test(run *r, const fke_train_opts *o, fke_ckpt_meta *meta,
                             fke_train_result *out, fke_err *e)
{
    char path[600], line[256] = "";
    out->best_step = r->best_step;
    if (o->progress) {
        if (r->has_val)
            say(o, "best: step %ld, validation %s %.4f (%s/best.h5)\n", r->best_step,
                r->cfg.task == FKE_TASK_CLIP ? "mean recall" : fke_config_select_name(r->cfg.select),
                meta->best, r->dir);
        else
            say(o, "no validation data (val_data \"\", val_split 0): best.h5 is the last "
                "evaluated model, step %ld\n", r->best_step);
    }
    if (!r->has_test) return FKE_OK;
    snprintf(path, sizeof path, "%s/best.h5", r->dir);
    /* data-parallel: rank 0 reads it and sends the weights, so the other
     * ranks need no view of the run folder (another machine) */
    if (r->writer) FKE_TRY(fke_checkpoint_load(path, &r->m.P, 0, NULL, e));
    if (r->dp)
        FKE_TRY(fke_dist_bcast(r->dist, r->m.P.w, r->m.P.total * sizeof(fke_real), 0, e));
    say(o, "  evaluating best.h5 (step %ld) on the test set, %d %s ...\n", r->best_step,
        r->cls ? r->itest.N : r->test.N, r->cls ? "images" : "posts");
    eval_line l = {.o = o};
    snprintf(l.what, sizeof l.what, "best.h5");
    fke_eval_result res;
    FKE_TRY(evaluate(r, 1, &l, &res, e));
    if (o->progress && o->bar) fprintf(o->progress, "\r%*s\r", COLS, "");
    double score = selected(&res, r->cfg.select);
    out->test_score = score;
    if (r->metrics) {
        fprintf(r->metrics, "{\"final_test\": \"best.h5\", \"best_step\": %ld", r->best_step);
        put_result(r->metrics, "test", &res, score);
        fprintf(r->metrics, "}\n");
        fflush(r->metrics);
    }
    describe(line, sizeof line, "test", &res);
    fke_eval_result_free(&res);
    say(o, "%s of best.h5 (step %ld), the test set's only evaluation%s\n", line, r->best_step,
        r->cfg.test_every ? " besides test_every's" : "");
    return FKE_OK;
}

static fke_status train_run(run *r, const fke_train_opts *o, fke_train_result *out, fke_err *e)
{
    const fke_config *c = &r->cfg;
    fke_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.best = -1;
    snprintf(r->dir, sizeof r->dir, "%s", o->resume ? o->resume : c->out_dir);
    snprintf(out->dir, sizeof out->dir, "%s", r->dir);
    r->dist = o->dist;
    r->dp = o->dist && o->dist->active && o->dist->size > 1;
    r->writer = !o->dist || o->dist->rank == 0;
    r->cls = c->task == FKE_TASK_CLASSIFY;
    if (r->dp && c->task != FKE_TASK_FKE)
        return fke_fail(e, FKE_ERR_CONFIG, "config: task %s is not trained across processes yet "
                        "(data-parallel training is task fke's); run it without mpirun",
                        fke_config_task_name(c->task));
    if (r->writer) { /* rank 0 alone owns the run folder */
        FKE_TRY(fke_lock_dir(r->dir, &r->lock, e));
        if (!o->resume) FKE_TRY(check_folder(r, o, e)); /* before the data: refuse at once */
    }
    /* threads 0 under mpirun: the machine's cores shared by its ranks */
    int nth = c->threads;
    if (nth <= 0 && r->dp) {
        nth = omp_get_num_procs() / (o->dist->local_size > 0 ? o->dist->local_size : 1);
        if (nth < 1) nth = 1;
    }
    fke_set_threads(nth);
    FKE_TRY(load_data(r, o, e));
    FKE_TRY(init_model(r, o, &meta, e));
    meta.names = &r->names; /* a resume's load cleared it */
    if (r->dp) { /* the arena for this rank's shard of a batch, not the whole batch */
        int B = r->m.cfg.batch;
        r->m.cfg.batch = (B + r->dist->size - 1) / r->dist->size;
        fke_status st = fke_model_plan(&r->m, e);
        r->m.cfg.batch = B;
        FKE_TRY(st);
    } else {
        FKE_TRY(fke_model_plan(&r->m, e));
    }
    FKE_TRY(make_loader(r, e));
    if (r->dp) { /* after the plan: its dry run is local */
        r->red = fke_dist_reducer((fke_dist *)r->dist);
        r->m.reduce = &r->red;
        if (c->sync_bn) r->m.cnn.sync = &r->red;
        FKE_TRY(fke_loader_shard(&r->ld, r->dist->rank, r->dist->size, e));
    }
    long total = c->steps > 0 ? c->steps : (long)c->epochs * r->per_epoch;
    long s = meta.step;
    if (s > total) return fke_fail(e, FKE_ERR_CONFIG, "%s/last.h5 is at step %ld, past this run's %ld steps (--set steps=N or epochs=N to go on)", r->dir, s, total);
    if (s > 0) FKE_TRY(skip_batches(r, s, e));
    out->resumed_from = s;
    if (r->writer) FKE_TRY(open_outputs(r, o, s, out, e));
    if (o->progress) {
        say(o, "training %s (%s, %s) on %s: %ld steps of %d %s, %ld per epoch, %d threads\n",
            r->dir, c->preset, fke_config_task_name(c->task), c->train_data, total, c->batch,
            r->cls ? "images" : "posts", r->per_epoch, omp_get_max_threads());
        char blas[256];
        fke_cpu_describe(blas, sizeof blas);
        say(o, "  %s\n", blas);
        if (!r->m.clip || !r->m.clip->vit_on) {
            fke_cnn_describe(r->m.clip ? &r->m.clip->cnn : &r->m.cnn, blas, sizeof blas);
            say(o, "  %s\n", blas);
        }
        if (r->dp)
            say(o, "  data-parallel: %d processes (%d on this machine), %d posts of each global "
                "batch per process, batch norm %s\n", r->dist->size, r->dist->local_size,
                (c->batch + r->dist->size - 1) / r->dist->size,
                c->sync_bn ? "over the global batch (sync_bn)" : "per process");
        if (o->resume)
            say(o, "resumed from %s/last.h5 at step %ld of %ld (epoch %ld, %ld batches into it); "
                "metrics.jsonl kept to step %ld (%ld later lines dropped)\n",
                r->dir, s, total, s / r->per_epoch + 1, s % r->per_epoch, s, out->metrics_dropped);
    }

    int eval_every = c->eval_every > 0 ? c->eval_every : (int)r->per_epoch;
    tally p = {.t_start = omp_get_wtime(), .s_first = s};
    p.t_log = p.t_start;
    p.eta = (fke_eta){.batch = c->batch, .eval_every = eval_every, .test_every = c->test_every,
                      .eval_posts_each = (long)c->bn_recalibrate * c->batch +
                                         (r->has_val ? (r->cls ? r->ival.N : r->val.N) : 0),
                      .test_posts = r->has_test ? (r->cls ? r->itest.N : r->test.N) : 0};
    double loss = NAN;
    int stop_all = 0; /* data-parallel: some rank asked to stop in the last step */
    while (s < total) {
        int stop_now = o->stop && *o->stop;
        if (r->dp ? stop_all : stop_now) break;
        int epoch = (int)(s / r->per_epoch), posts = 0;
        fke_optim opt = {.lr = fke_optim_lr(c->lr, c->lr_gamma, c->lr_step_epochs, epoch),
                         .momentum = c->momentum,
                         .weight_decay = c->weight_decay,
                         .beta1 = c->adam_b1,
                         .beta2 = c->adam_b2,
                         .eps = c->adam_eps};
        fke_status st = step(r, s, &opt, &loss, &posts, &stop_now, e);
        if (st != FKE_OK) return stopped(r, s + 1, epoch, st, e);
        stop_all = stop_now; /* the ranks agreed on it in the step's allreduce */
        s++;
        p.loss_sum += loss;
        p.steps++;
        p.posts += posts;
        if (s % c->log_every == 0 || s == total) log_progress(r, o, &p, s, total, epoch, opt.lr);
        int test_now = c->test_every > 0 && (s % c->test_every == 0 || s == total);
        if (s % eval_every == 0 || s == total || test_now) {
            FKE_TRY(eval_and_checkpoint(r, o, s, epoch, test_now, &meta, &p, out, e));
            p.t_log = omp_get_wtime(); /* the rate counts training only */
        }
    }
    out->steps = s;
    out->final_loss = loss;
    if (s < total) { /* stopped: last.h5 at this step, unless nothing was done */
        out->interrupted = 1;
        if (s > meta.step) {
            FKE_TRY(check_weights(r, e));
            if (r->writer) FKE_TRY(save_state(r, s, &meta, "last.h5", e));
            out->wrote_last = 1;
        } else {
            char last[600];
            snprintf(last, sizeof last, "%s/last.h5", r->dir);
            out->wrote_last = access(last, R_OK) == 0;
        }
        out->seconds = omp_get_wtime() - p.t_start;
        out->best_score = meta.best;
        out->best_step = r->best_step;
        if (o->progress && o->bar) fputc('\n', o->progress);
        return FKE_OK;
    }
    out->seconds = omp_get_wtime() - p.t_start;
    out->best_score = meta.best;
    if (o->progress) {
        char t[32];
        fmt_time(t, sizeof t, out->seconds);
        if (o->bar) fputc('\n', o->progress);
        say(o, "done: %ld steps in %s; checkpoints in %s/ (last.h5, best.h5), metrics in "
            "%s/metrics.jsonl\n", s, t, r->dir, r->dir);
    }
    FKE_TRY(final_test(r, o, &meta, out, e));
    return FKE_OK;
}

fke_status fke_train(const fke_config *cfg, const fke_train_opts *o, fke_train_result *res,
                     fke_err *e)
{
    run *r = calloc(1, sizeof *r);
    if (!r) return fke_fail(e, FKE_ERR_NOMEM, "out of memory");
    memset(res, 0, sizeof *res);
    res->test_score = NAN;
    r->cfg = *cfg;
    fke_status st = fke_config_validate(&r->cfg, e);
    if (st == FKE_OK) st = train_run(r, o, res, e);
    free_run(r);
    free(r);
    return st;
}
