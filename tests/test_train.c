/* test_train.c - training end to end on a small FashionKE-synth set:
 *   - the loss falls and held-out accuracy beats a stated bar;
 *   - resume is exact: 2k steps in one run equal k steps + --resume to 2k
 *     (one thread, same seed), bit for bit, optimiser state included;
 *   - a diverging run (huge learning rate) stops with a NaN/Inf message
 *     and leaves the last good checkpoint loadable;
 *   - a dataset whose label counts do not match the config, a truncated
 *     checkpoint and a checkpoint of another config are refused with the
 *     file and field named;
 *   - task classify takes its classes, channels and image side from the
 *     image set when the config leaves them unset, and its checkpoints keep
 *     the class names and the pixel statistics (/names). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/checkpoint.h"
#include "run/eval.h"
#include "data/fmnist.h"
#include "model/model_io.h"
#include "data/synth.h"
#include "test.h"
#include "test_fmnist.h"
#include "run/train.h"

static void base_config(fke_config *c, const char *out)
{
    fke_config_defaults(c);
    snprintf(c->train_data, sizeof c->train_data, "%s", fke_test_path("train.h5"));
    snprintf(c->out_dir, sizeof c->out_dir, "%s", out);
    c->threads = 1;
    c->log_every = 5;
    c->seed = 7;
}

/* Reads a checkpoint's parameter and momentum blocks (of the model of c). */
static int read_blocks(const fke_config *c, const char *path, fke_real **w, fke_real **m)
{
    fke_model mo;
    fke_err e = {{0}};
    fke_ckpt_meta meta;
    if (fke_model_init(&mo, c, &e) != FKE_OK ||
        fke_checkpoint_load(path, &mo.P, 1, &meta, &e) != FKE_OK) {
        printf("  %s: %s\n", path, e.msg);
        return -1;
    }
    free(meta.config_json);
    size_t n = mo.P.total * sizeof(fke_real);
    *w = malloc(n);
    *m = malloc(n);
    memcpy(*w, mo.P.w, n);
    memcpy(*m, mo.P.m, n);
    int total = (int)mo.P.total;
    fke_model_free(&mo);
    return total;
}

static void test_learning(void)
{
    fke_config c;
    base_config(&c, fke_test_path("learn"));
    snprintf(c.test_data, sizeof c.test_data, "%s", fke_test_path("test.h5"));
    c.epochs = 4;
    c.lr = 0.05;
    c.lr_step_epochs = 0;
    c.threads = 0;
    c.eval_every = 1000000; /* evaluate at the end only */
    fke_train_opts o = {.progress = NULL};
    fke_train_result r;
    fke_err e = {{0}};
    fke_status st = fke_train(&c, &o, &r, &e);
    FKE_CHECK(st == FKE_OK, "train: %s", e.msg);
    /* the loss falls: first vs last logged mean loss */
    double first = NAN, last = NAN;
    fke_test_losses(fke_test_path("learn"), &first, &last);
    FKE_CHECK(last < first - 0.15, "loss fell from %.4f to %.4f", first, last);
    /* held-out accuracy (test posts use only Fashion-MNIST test images) */
    fke_model m;
    fke_dataset d;
    fke_eval_result res;
    memset(&res, 0, sizeof res);
    st = fke_model_load(&m, fke_test_path("learn/last.h5"), 0, NULL, &e);
    FKE_CHECK(st == FKE_OK, "load: %s", e.msg);
    if (st == FKE_OK && fke_dataset_load(&d, fke_test_path("test.h5"), &e) == FKE_OK) {
        st = fke_evaluate(&m, &d, &res, &e);
        FKE_CHECK(st == FKE_OK, "eval: %s", e.msg);
        printf("  held-out after %ld steps: occasion %.3f category %.3f attributes %.3f "
               "(loss %.3f -> %.3f, %.0f s)\n",
               r.steps, res.occ_acc, res.cat_acc, res.att_acc, first, last, r.seconds);
        /* chance: occasion 0.10, category 0.10, attributes ~0.30 */
        FKE_CHECK(res.cat_acc > 0.45, "category accuracy %.3f > 0.45", res.cat_acc);
        FKE_CHECK(res.att_acc > 0.40, "attribute accuracy %.3f > 0.40", res.att_acc);
        FKE_CHECK(res.occ_acc > 0.15, "occasion accuracy %.3f > 0.15", res.occ_acc);
        fke_eval_result_free(&res);
        fke_dataset_free(&d);
    }
    if (st == FKE_OK) fke_model_free(&m);
}

static void test_resume(void)
{
    fke_config c;
    base_config(&c, fke_test_path("full"));
    c.steps = 16;
    c.eval_every = 8;
    fke_train_opts o = {.progress = NULL};
    fke_train_result r;
    fke_err e = {{0}};
    FKE_CHECK(fke_train(&c, &o, &r, &e) == FKE_OK, "full run: %s", e.msg);
    base_config(&c, fke_test_path("half"));
    c.steps = 8;
    c.eval_every = 8;
    FKE_CHECK(fke_train(&c, &o, &r, &e) == FKE_OK, "half run: %s", e.msg);
    c.steps = 16; /* --resume RUN --set steps=16 */
    o.resume = fke_test_path("half");
    FKE_CHECK(fke_train(&c, &o, &r, &e) == FKE_OK, "resumed run: %s", e.msg);
    FKE_CHECK(r.steps == 16, "resumed run ended at step %ld", r.steps);
    fke_real *w1, *m1, *w2, *m2;
    int n1 = read_blocks(&c, fke_test_path("full/last.h5"), &w1, &m1);
    int n2 = read_blocks(&c, fke_test_path("half/last.h5"), &w2, &m2);
    FKE_CHECK(n1 > 0 && n1 == n2, "checkpoints readable");
    if (n1 > 0 && n1 == n2) {
        int same_w = memcmp(w1, w2, (size_t)n1 * sizeof(fke_real)) == 0;
        int same_m = memcmp(m1, m2, (size_t)n1 * sizeof(fke_real)) == 0;
        double maxd = 0;
        for (int i = 0; i < n1; i++) maxd = fmax(maxd, fabs((double)w1[i] - w2[i]));
        FKE_CHECK(same_w, "resumed weights differ (max |diff| %g)", maxd);
        FKE_CHECK(same_m, "resumed momentum differs");
        printf("  resume: %d parameters, weights %s, momentum %s\n", n1,
               same_w ? "identical" : "DIFFERENT", same_m ? "identical" : "DIFFERENT");
        free(w1), free(m1), free(w2), free(m2);
    }
}

static void test_nan(void)
{
    fke_config c;
    base_config(&c, fke_test_path("nan"));
    c.steps = 40;
    c.eval_every = 1;
    c.lr = 1e4;
    fke_train_opts o = {.progress = NULL};
    fke_train_result r;
    fke_err e = {{0}};
    fke_status st = fke_train(&c, &o, &r, &e);
    FKE_CHECK(st == FKE_ERR_NUMERIC, "diverging run returned %d: %s", st, e.msg);
    FKE_CHECK(strstr(e.msg, "training stopped at step") && strstr(e.msg, "checkpoint"),
              "message names the step and the checkpoint: %s", e.msg);
    printf("  diverging run: %s\n", e.msg);
    fke_model m;
    int have = access(fke_test_path("nan/last.h5"), F_OK) == 0;
    FKE_CHECK(have == (strstr(e.msg, "the last good checkpoint is") != NULL),
              "the message says whether a checkpoint exists: %s", e.msg);
    st = have ? fke_model_load(&m, fke_test_path("nan/last.h5"), 0, NULL, &e) : FKE_ERR_IO;
    FKE_CHECK(!have || st == FKE_OK, "last good checkpoint loads: %s", e.msg);
    if (st == FKE_OK) {
        int finite = 1;
        for (size_t i = 0; i < m.P.total; i++) finite &= isfinite(m.P.w[i]) != 0;
        FKE_CHECK(finite, "the kept checkpoint holds only finite weights");
        fke_model_free(&m);
    }
}

static void test_refusals(void)
{
    fke_err e = {{0}};
    fke_config c;
    base_config(&c, fke_test_path("bad"));
    c.steps = 2;
    c.n_cat = 12; /* the data has 10 categories */
    fke_train_opts o = {.progress = NULL};
    fke_train_result r;
    fke_status st = fke_train(&c, &o, &r, &e);
    FKE_CHECK(st != FKE_OK && strstr(e.msg, "train.h5") && strstr(e.msg, "\"n_cat\" = 12") &&
                  strstr(e.msg, "n_cat = 10"),
              "label-count mismatch refused naming file, key, config and data values: %s", e.msg);
    FKE_CHECK(access(fke_test_path("bad/last.h5"), F_OK) != 0,
              "no checkpoint written for a refused run");
    /* the same through --set, and through a key that only the data fixes */
    const char *sets[][3] = {{"n_val=8,4,3", "\"n_val\" = [8, 4, 3]", "n_val = [8, 4, 3, 3]"},
                             {"L=12", "\"L\" = 12", "L = 16"},
                             {"V=100", "\"V\" = 100", "V = 2000"}};
    for (int i = 0; i < 3; i++) {
        base_config(&c, fke_test_path("bad"));
        c.steps = 2;
        FKE_CHECK(fke_config_set(&c, sets[i][0], &e) == FKE_OK, "--set %s: %s", sets[i][0], e.msg);
        st = fke_train(&c, &o, &r, &e);
        FKE_CHECK(st == FKE_ERR_CONFIG && strstr(e.msg, "train.h5") && strstr(e.msg, sets[i][1]) &&
                      strstr(e.msg, sets[i][2]),
                  "--set %s on the synth data refused: %s", sets[i][0], e.msg);
    }
    FKE_CHECK(access(fke_test_path("bad/last.h5"), F_OK) != 0,
              "no checkpoint written for a refused run");

    /* a truncated checkpoint */
    fke_test_copy_prefix(fke_test_path("full/last.h5"), fke_test_path("trunc.h5"), 20 * 1024);
    fke_model m;
    st = fke_model_load(&m, fke_test_path("trunc.h5"), 0, NULL, &e);
    FKE_CHECK(st != FKE_OK && strstr(e.msg, "trunc.h5"), "truncated checkpoint refused: %s", e.msg);
    if (st == FKE_OK) fke_model_free(&m);
    st = fke_model_load(&m, fke_test_path("missing.h5"), 0, NULL, &e);
    FKE_CHECK(st == FKE_ERR_IO && strstr(e.msg, "missing.h5"), "missing checkpoint: %s", e.msg);
    if (st == FKE_OK) fke_model_free(&m);

    /* a checkpoint of another config: loading it into a model with M = 64 */
    base_config(&c, fke_test_path("other"));
    c.M = 64;
    st = fke_model_init(&m, &c, &e);
    FKE_CHECK(st == FKE_OK, "init: %s", e.msg);
    if (st == FKE_OK) {
        st = fke_checkpoint_load(fke_test_path("full/last.h5"), &m.P, 0, NULL, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "occ.0.weight"),
                  "checkpoint of another config refused naming the tensor: %s", e.msg);
        fke_model_free(&m);
    }
}

/* Task classify on an image set (256 Fashion-MNIST images, fm.h5), with
 * n_cat, in_ch and img unset: they come from the set; its class names and
 * pixel statistics go into the checkpoint. A given img it contradicts is
 * refused. */
static void test_classify_sizes(void)
{
    fke_err e = {{0}};
    fke_config c;
    fke_config_defaults(&c);
    const char *set[] = {"task=classify", "pad=2", "chans=4,8,16", "F=16", "batch=32", "steps=2",
                         "threads=1", "bn_recalibrate=0", "log_every=1"};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        FKE_CHECK(fke_config_set(&c, set[i], &e) == FKE_OK, "--set %s: %s", set[i], e.msg);
    snprintf(c.train_data, sizeof c.train_data, "%s", fke_test_path("fm.h5"));
    snprintf(c.out_dir, sizeof c.out_dir, "%s", fke_test_path("cls"));
    fke_train_opts o = {.progress = NULL};
    fke_train_result r;
    fke_status st = fke_train(&c, &o, &r, &e);
    FKE_CHECK(st == FKE_OK, "classify with sizes from the image set: %s", e.msg);
    if (st != FKE_OK) return;
    fke_model m;
    st = fke_model_load(&m, fke_test_path("cls/last.h5"), 0, NULL, &e);
    FKE_CHECK(st == FKE_OK && m.cfg.n_cat == 10 && m.cfg.in_ch == 1 && m.cfg.img == 32,
              "classify checkpoint config: n_cat %d in_ch %d img %d (%s)", st ? 0 : m.cfg.n_cat,
              st ? 0 : m.cfg.in_ch, st ? 0 : m.cfg.img, e.msg);
    float mean = 0, std = 0;
    if (st == FKE_OK) {
        fke_tensor norm = fke_params_value(&m.P, m.norm);
        mean = norm.data[0], std = norm.data[1];
        fke_model_free(&m);
    }
    fke_ckpt_names cn;
    int found = 0;
    st = fke_checkpoint_read_names(fke_test_path("cls/last.h5"), &cn, &found, &e);
    FKE_CHECK(st == FKE_OK && found && cn.n_cat == 10 && cn.cat && !cn.occ && cn.A == 0 &&
                  !cn.vocab && cn.img == 32 && cn.crop == 0 && cn.pad == 2,
              "classify /names: %d classes, img %d crop %d pad %d (%s)", cn.n_cat, cn.img, cn.crop,
              cn.pad, e.msg);
    if (st == FKE_OK && found && cn.cat) {
        fke_imageset s;
        if (fke_imageset_load(&s, fke_test_path("fm.h5"), &e) == FKE_OK) {
            int same = 1;
            for (int i = 0; i < 10; i++) same &= !strcmp(cn.cat[i], s.class_names[i]);
            FKE_CHECK(same, "classify /names/category holds the class names (%s)", cn.cat[0]);
            fke_imageset_free(&s);
        }
        FKE_CHECK(cn.pixel_mean > 0.1 && cn.pixel_mean < 0.9 && cn.pixel_mean == (float)mean &&
                      cn.pixel_std == (float)std,
                  "classify pixel statistics %g %g, the model's input.norm %g %g", cn.pixel_mean,
                  cn.pixel_std, mean, std);
    }
    fke_ckpt_names_free(&cn);
    FKE_CHECK(fke_config_set(&c, "img=64", &e) == FKE_OK, "%s", e.msg);
    snprintf(c.out_dir, sizeof c.out_dir, "%s", fke_test_path("cls-bad"));
    st = fke_train(&c, &o, &r, &e);
    FKE_CHECK(st == FKE_ERR_CONFIG && strstr(e.msg, "fm.h5") && strstr(e.msg, "\"img\" = 64") &&
                  strstr(e.msg, "img = 32"),
              "classify with img 64 on 28 px images (pad 2) refused: %s", e.msg);
}

int main(void)
{
    fke_set_threads(1);
    if (!fke_test_tmpdir("train")) return 1;
    fke_imageset tr, te;
    fke_err e = {{0}};
    int ok = fke_fmnist_read(FKE_FMNIST_DIR, 0, &tr, &e) == FKE_OK &&
             fke_fmnist_read(FKE_FMNIST_DIR, 1, &te, &e) == FKE_OK;
    FKE_CHECK(ok, "Fashion-MNIST: %s", e.msg);
    if (!ok) return fke_test_finish("train");
    int n_all = tr.N; /* the first 256 training images as an image set */
    tr.N = 256;
    int fm_ok = fke_imageset_save(&tr, fke_test_path("fm.h5"), &e) == FKE_OK;
    tr.N = n_all;
    FKE_CHECK(fm_ok, "fm.h5: %s", e.msg);
    ok = fke_test_synth(&tr, 0, 1200, 0.7, 11, fke_test_path("train.h5"), NULL) &&
         fke_test_synth(&te, 1, 400, 0.0, 12, fke_test_path("test.h5"), NULL);
    fke_imageset_free(&tr);
    fke_imageset_free(&te);
    if (ok) {
        test_resume();
        test_nan();
        test_refusals();
        test_learning();
    }
    if (fm_ok) test_classify_sizes();
    return fke_test_finish("train");
}
