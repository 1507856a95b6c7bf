/* train.c - see train.h. */
#include "run/train.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "run/eval.h"
#include "data/loader.h"
#include "model/model_io.h"
#include "nn/optim.h"
#include "data/tmatrix.h"

typedef struct {
    fke_config cfg;
    fke_model m;
    int cls; /* task classify */
    fke_dataset train, val, test;
    fke_imageset itrain, ival, itest;
    int has_val, has_test, have_loader;
    fke_loader ld;
    fke_imageloader ild;
    long per_epoch;
    FILE *metrics;
    char dir[512];
    fke_ckpt_names names; /* what the checkpoints say the model was trained on (borrowed from train) */
    int lock; /* the run folder's lock (fke_lock_dir), 0 before it is taken */
} run;

static void say(const fke_train_opts *o, const char *fmt, const char *a, const char *b)
{
    if (!o->progress) return;
    if (o->bar) fputc('\n', o->progress);
    fprintf(o->progress, fmt, a, b);
    fflush(o->progress);
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

/* What the checkpoints record of the training set: its names and the
 * input preprocessing (model/checkpoint.h, /names); pointers borrowed. */
static void names_from_data(run *r)
{
    fke_ckpt_names *n = &r->names;
    memset(n, 0, sizeof *n);
    n->img = r->cfg.img;
    n->pad = r->cfg.pad;
    if (r->cls) {
        const fke_imageset *s = &r->itrain;
        n->n_cat = s->n_cls, n->cat = s->class_names;
        float mean, std;
        fke_imageset_stats(s, &mean, &std);
        n->pixel_mean = mean, n->pixel_std = std;
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
    names_from_data(r);
    if ((r->has_val = c->val_data[0] != 0))
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
    if (c->correction != FKE_CORR_FORWARD || (r->cls && r->m.theta[0] < 0)) return FKE_OK;
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

static fke_status step(run *r, const fke_optim *opt, double *loss, int *posts, fke_err *e)
{
    fke_model *m = &r->m;
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
    FKE_TRY(fke_optim_check_finite(&m->P, e));
    double t0 = omp_get_wtime();
    fke_status st = update(&m->P, r->cfg.optimizer, opt, e);
    m->time[FKE_PART_UPDATE] += omp_get_wtime() - t0;
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
static fke_status recalibrate(run *r, fke_err *e)
{
    int n = r->cfg.bn_recalibrate;
    if (n <= 0) return FKE_OK;
    fke_model *m = &r->m;
    double dh = m->cfg.dropout_head, dt = m->cfg.dropout_text;
    m->cfg.dropout_head = m->cfg.dropout_text = 0;
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
        }
        if (ok) fke_imageloader_free(&ld);
    } else {
        fke_loader ld;
        st = fke_loader_init(&ld, &r->train, r->cfg.batch, 1, 0, r->cfg.seed + 1, e);
        int ok = st == FKE_OK;
        for (int i = 0; st == FKE_OK && i < n; i++) {
            fke_batch *b;
            if ((st = fke_loader_next(&ld, &b, e)) == FKE_OK) st = fke_model_forward(m, b, 1, e);
        }
        if (ok) fke_loader_free(&ld);
    }
    m->cfg.dropout_head = dh;
    m->cfg.dropout_text = dt;
    return st;
}

static void put_result(FILE *f, const char *name, const fke_eval_result *res)
{
    if (res->occ.cm)
        fprintf(f, ", \"%s\": {\"occ_acc\": %.6f, \"occ_f1\": %.6f, \"cat_acc\": %.6f, \"cat_f1\": %.6f, "
                   "\"att_acc\": %.6f, \"att_f1\": %.6f, \"score\": %.6f",
                name, res->occ_acc, res->occ_f1, res->cat_acc, res->cat_f1, res->att_acc, res->att_f1,
                fke_eval_score(res));
    else
        fprintf(f, ", \"%s\": {\"acc\": %.6f, \"f1\": %.6f, \"score\": %.6f", name, res->cat_acc,
                res->cat_f1, fke_eval_score(res));
    if (res->has_T) {
        fprintf(f, ", \"T_mae\": [");
        for (int t = 0; t <= res->n_attr; t++) fprintf(f, "%s%.5f", t ? ", " : "", res->T_mae[t]);
        fprintf(f, "]");
    }
    fprintf(f, "}");
}

static fke_status evaluate(run *r, int which, fke_eval_result *res, fke_err *e)
{
    if (r->cls) return fke_evaluate_images(&r->m, which ? &r->itest : &r->ival, res, e);
    return fke_evaluate(&r->m, which ? &r->test : &r->val, res, e);
}

static void describe(char *buf, size_t n, const char *name, const fke_eval_result *res)
{
    if (res->occ.cm)
        snprintf(buf, n, "%s: occasion %.3f  category %.3f  attributes %.3f", name, res->occ_acc,
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
    fke_unlock_dir(r->lock);
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
        return FKE_OK;
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

/* The run folder, its config.json (every key, defaults included) and
 * metrics.jsonl (appended to on a resume). */
static fke_status open_outputs(run *r, const fke_train_opts *o, fke_err *e)
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
    r->metrics = fopen(path, o->resume ? "a" : "w");
    if (!r->metrics) return fke_fail(e, FKE_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    return FKE_OK;
}

/* What the progress lines report: the run's start, and the steps since the
 * last line. */
typedef struct {
    double t_start; /* wall time at the first step */
    long s_first;   /* the step the run starts from (> 0 on a resume) */
    double t_log;   /* wall time of the last line (or of the end of an evaluation) */
    double loss_sum;
    long steps, posts;
} tally;

/* After step s of total: a metrics.jsonl line and a progress line with the
 * mean loss and the speed since the last one, which then start again. */
static void log_progress(run *r, const fke_train_opts *o, tally *p, long s, long total,
                         int epoch, double lr)
{
    double now = omp_get_wtime();
    double rate = p->posts / (now - p->t_log + 1e-12);
    double left = (now - p->t_start) / (s - p->s_first) * (total - s);
    double loss = p->loss_sum / p->steps;
    const char *unit = r->cls ? "images" : "posts";
    fprintf(r->metrics,
            "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"lr\": %.6g, "
            "\"posts_per_s\": %.2f, \"seconds\": %.2f}\n",
            s, (double)s / r->per_epoch, loss, lr, rate, now - p->t_start);
    fflush(r->metrics);
    if (o->progress) {
        char eta[32];
        fmt_time(eta, sizeof eta, left);
        if (o->bar) {
            int w = 24, fill = (int)(w * (double)s / total);
            char bar[32];
            for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '-';
            bar[w] = 0;
            fprintf(o->progress, "\r  epoch %d/%ld [%s] %3d%%  step %ld/%ld  loss %.4f  %.1f %s/s  ETA %s   ",
                    epoch + 1, (total + r->per_epoch - 1) / r->per_epoch, bar,
                    (int)(100.0 * s / total), s, total, loss, rate, unit, eta);
        } else {
            fprintf(o->progress, "  step %ld/%ld  epoch %d  loss %.4f  lr %.3g  %.1f %s/s  ETA %s\n",
                    s, total, epoch + 1, loss, lr, rate, unit, eta);
        }
        fflush(o->progress);
    }
    p->t_log = now;
    p->posts = 0;
    p->loss_sum = 0;
    p->steps = 0;
}

/* After step s: batch-norm recalibration, the validation and test scores
 * (metrics.jsonl and a progress line), best.h5 when the validation score
 * improves on meta->best, and last.h5. */
static fke_status eval_and_checkpoint(run *r, const fke_train_opts *o, long s, int epoch,
                                      fke_ckpt_meta *meta, fke_train_result *out, fke_err *e)
{
    fke_status st = recalibrate(r, e);
    if (st == FKE_OK) st = check_weights(r, e);
    if (st != FKE_OK) return stopped(r, s, epoch, st, e);
    fprintf(r->metrics, "{\"eval_step\": %ld, \"epoch\": %.4f", s, (double)s / r->per_epoch);
    double score = NAN;
    char line[2][256] = {"", ""};
    for (int which = 0; which < 2; which++) {
        if (!(which ? r->has_test : r->has_val)) continue;
        fke_eval_result res;
        FKE_TRY(evaluate(r, which, &res, e));
        put_result(r->metrics, which ? "test" : "val", &res);
        describe(line[which], sizeof line[which], which ? "test" : "val", &res);
        if (which) out->test_score = fke_eval_score(&res);
        else score = fke_eval_score(&res);
        fke_eval_result_free(&res);
    }
    fprintf(r->metrics, "}\n");
    fflush(r->metrics);
    if (o->progress && (line[0][0] || line[1][0])) {
        fprintf(o->progress, "%s  eval at step %ld: %s%s%s\n", o->bar ? "\n" : "", s, line[0],
                line[0][0] && line[1][0] ? "   " : "", line[1]);
        fflush(o->progress);
    }
    meta->step = s;
    meta->epoch = (int)(s / r->per_epoch);
    meta->pos = s;
    memcpy(meta->rng, r->m.rng.s, sizeof meta->rng);
    char path[600];
    if (r->has_val && score > meta->best) {
        meta->best = score;
        snprintf(path, sizeof path, "%s/best.h5", r->dir);
        FKE_TRY(fke_model_save(&r->m, path, meta, e));
    }
    snprintf(path, sizeof path, "%s/last.h5", r->dir);
    return fke_model_save(&r->m, path, meta, e);
}

static fke_status train_run(run *r, const fke_train_opts *o, fke_train_result *out, fke_err *e)
{
    const fke_config *c = &r->cfg;
    fke_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.best = -1;
    snprintf(r->dir, sizeof r->dir, "%s", o->resume ? o->resume : c->out_dir);
    FKE_TRY(fke_lock_dir(r->dir, &r->lock, e));
    r->cls = c->task == FKE_TASK_CLASSIFY;
    fke_set_threads(c->threads);
    FKE_TRY(load_data(r, o, e));
    FKE_TRY(init_model(r, o, &meta, e));
    meta.names = &r->names; /* a resume's load cleared it */
    FKE_TRY(fke_model_plan(&r->m, e));
    FKE_TRY(make_loader(r, e));
    long total = c->steps > 0 ? c->steps : (long)c->epochs * r->per_epoch;
    long s = meta.step;
    if (s > total) return fke_fail(e, FKE_ERR_CONFIG, "%s/last.h5 is at step %ld, past this run's %ld steps (--set steps=N or epochs=N to go on)", r->dir, s, total);
    if (s > 0) FKE_TRY(skip_batches(r, s, e));
    FKE_TRY(open_outputs(r, o, e));
    if (o->progress) {
        fprintf(o->progress,
                "training %s (%s, %s) on %s: %ld steps of %d %s, %ld per epoch, %d threads%s\n",
                c->out_dir, c->preset, r->cls ? "classify" : "fke", c->train_data, total, c->batch,
                r->cls ? "images" : "posts", r->per_epoch, omp_get_max_threads(),
                s ? " (resumed)" : "");
        fflush(o->progress);
    }

    tally p = {.t_start = omp_get_wtime(), .s_first = s};
    p.t_log = p.t_start;
    double loss = NAN;
    int eval_every = c->eval_every > 0 ? c->eval_every : (int)r->per_epoch;
    while (s < total) {
        int epoch = (int)(s / r->per_epoch), posts = 0;
        fke_optim opt = {.lr = fke_optim_lr(c->lr, c->lr_gamma, c->lr_step_epochs, epoch),
                         .momentum = c->momentum,
                         .weight_decay = c->weight_decay,
                         .beta1 = c->adam_b1,
                         .beta2 = c->adam_b2,
                         .eps = c->adam_eps};
        fke_status st = step(r, &opt, &loss, &posts, e);
        if (st != FKE_OK) return stopped(r, s + 1, epoch, st, e);
        s++;
        p.loss_sum += loss;
        p.steps++;
        p.posts += posts;
        if (s % c->log_every == 0 || s == total) log_progress(r, o, &p, s, total, epoch, opt.lr);
        if (s % eval_every == 0 || s == total) {
            FKE_TRY(eval_and_checkpoint(r, o, s, epoch, &meta, out, e));
            p.t_log = omp_get_wtime(); /* the rate counts training only */
        }
    }
    out->steps = s;
    out->final_loss = loss;
    out->seconds = omp_get_wtime() - p.t_start;
    out->best_score = meta.best;
    if (o->progress) {
        char t[32];
        fmt_time(t, sizeof t, out->seconds);
        if (o->bar) fputc('\n', o->progress);
        fprintf(o->progress, "done: %ld steps in %s; checkpoints in %s/ (last.h5%s), metrics in %s/metrics.jsonl\n",
                s, t, r->dir, r->has_val ? ", best.h5" : "", r->dir);
    }
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
