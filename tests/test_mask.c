/* test_mask.c - the category x attribute applicability ("applicable",
 * (n_cat, A), datasets/README.md) on a tiny dataset made here, where every
 * garment carries a value for every attribute (as machine labels may):
 *   - the loader sets exactly the labels the table rules out to -1 (a garment
 *     without a category label keeps its own), and refuses a table of the
 *     wrong shape or with values other than 0/1, naming the array;
 *   - the loss and every gradient on that batch are those of the same data
 *     with those labels written as -1 and no table, and differ from the data
 *     with no table at all (the mask does something);
 *   - fke_evaluate's plain attribute numbers and its score do not change
 *     with the table, and its "applicable" numbers count exactly the
 *     garments whose PREDICTED category admits the attribute, computed here
 *     from the model's own forward over the whole set in one batch;
 *   - `fke eval --json` prints att_acc_applicable with those numbers, and
 *     leaves it out on data without the table. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "data/loader.h"
#include "model/model_io.h"
#include "run/eval.h"
#include "fixtures.h"
#include "test.h"

#define N_POSTS 16
#define G_ 3
#define A_ 2
#define N_CAT 3

/* category c admits attribute k: cat 0 both, cat 1 only attribute 0, cat 2
 * only attribute 1 */
static const int32_t APPL[N_CAT][A_] = {{1, 1}, {1, 0}, {0, 1}};

static char **names(const char *stem, int n)
{
    char **s = calloc((size_t)n + 1, sizeof *s);
    for (int i = 0; i < n; i++) {
        s[i] = malloc(32);
        snprintf(s[i], 32, "%s%d", stem, i);
    }
    return s;
}

/* The same posts on every call (seeded): every valid garment has a value
 * for every attribute; post 2's first garment has no category label. Clean
 * posts (odd) carry true labels too; on a few garments attr_true is -1, so
 * the clean training label is the truth there. with_table: the table is
 * stored as /extra/applicable. */
static fke_status make_data(fke_dataset *d, int with_table, fke_err *e)
{
    memset(d, 0, sizeof *d);
    d->N = N_POSTS, d->G = G_, d->A = A_, d->L = 8, d->img = 16, d->crop = 8, d->C = 3;
    d->n_occ = 4, d->n_cat = N_CAT, d->n_val[0] = 3, d->n_val[1] = 4, d->V = 30;
    FKE_TRY(fke_dataset_alloc(d, e));
    fke_rng r;
    fke_rng_seed(&r, 21);
    for (size_t i = 0; i < (size_t)d->N * 3 * 16 * 16; i++)
        d->images[i] = (uint8_t)fke_rng_below(&r, 256);
    for (size_t i = 0; i < (size_t)d->N * G_ * 3 * 8 * 8; i++)
        d->crops[i] = (uint8_t)fke_rng_below(&r, 256);
    for (int i = 0; i < d->N; i++) {
        int ng = 1 + i % G_;
        d->n_garments[i] = ng;
        d->occ[i] = (int)fke_rng_below(&r, 4);
        d->clean[i] = i % 2;
        for (int t = 0; t < 5; t++) d->tokens[i * d->L + t] = 1 + (int)fke_rng_below(&r, 29);
        for (int g = 0; g < ng; g++) {
            size_t s = (size_t)i * G_ + g;
            d->boxes[s * 4 + 2] = d->boxes[s * 4 + 3] = 8;
            d->cat[s] = i == 2 && g == 0 ? -1 : (int)fke_rng_below(&r, N_CAT);
            if (d->clean[i]) d->cat_true[s] = d->cat[s];
            for (int k = 0; k < A_; k++) {
                d->attr[s * A_ + k] = (int)fke_rng_below(&r, (uint32_t)d->n_val[k]);
                if (d->clean[i] && (s + k) % 4) d->attr_true[s * A_ + k] = d->attr[s * A_ + k];
                else if (!d->clean[i] && (s + k) % 3 == 0) /* a known truth on a machine post */
                    d->attr_true[s * A_ + k] = (int)fke_rng_below(&r, (uint32_t)d->n_val[k]);
            }
        }
    }
    d->occ_names = names("occ", 4);
    d->cat_names = names("cat", N_CAT);
    d->attr_names = names("attr", A_);
    d->val_names = calloc(A_ + 1, sizeof *d->val_names);
    d->val_names[0] = names("a", 3);
    d->val_names[1] = names("b", 4);
    d->vocab = names("w", 30);
    snprintf(d->path, sizeof d->path, "mask-%d.h5", with_table);
    int dims[2] = {N_CAT, A_};
    if (with_table) FKE_TRY(fke_dataset_extra_set(d, "applicable", 2, dims, &APPL[0][0], e));
    return FKE_OK;
}

/* the table's rule written by hand: 1 when the loader must drop the label */
static int masked(const fke_dataset *d, int post, int g, int k)
{
    int c = d->cat[(size_t)post * G_ + g];
    return g < d->n_garments[post] && c >= 0 && !APPL[c][k];
}

static fke_status make_model(fke_model *m, fke_err *e)
{
    fke_config c;
    fke_config_defaults(&c);
    const char *set[] = {"img=16", "crop=8", "G=3", "chans=4,6,8", "F=8", "H=8", "H2=6", "M=7",
                         "V=30", "D=5", "L=8", "Co=3", "T=6", "n_occ=4", "n_cat=3",
                         "n_val=3,4", "batch=16", "seed=3", "threads=1", "dropout_text=0",
                         "dropout_head=0"};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) FKE_TRY(fke_config_set(&c, set[i], e));
    FKE_TRY(fke_model_init(m, &c, e));
    FKE_TRY(fke_model_plan(m, e));
    /* wider weights than the init, so that predictions differ between garments */
    fke_rng r;
    fke_rng_seed(&r, 5);
    for (size_t i = 0; i < m->P.total; i++) m->P.w[i] += (fke_real)(1.0 * fke_rng_normal(&r));
    return FKE_OK;
}

/* the whole set as one batch, in order */
static fke_status one_batch(fke_loader *ld, const fke_dataset *d, fke_batch **b, fke_err *e)
{
    FKE_TRY(fke_loader_init(ld, d, N_POSTS, 0, 0, 0, e));
    return fke_loader_next(ld, b, e);
}

static void test_loader(void)
{
    fke_err e = {{0}};
    fke_dataset d;
    fke_loader ld;
    fke_batch *b = NULL;
    FKE_CHECK(make_data(&d, 1, &e) == FKE_OK && one_batch(&ld, &d, &b, &e) == FKE_OK && b,
              "data: %s", e.msg);
    if (!b) return;
    int n_masked = 0, wrong = 0, kept_uncat = 0;
    for (int i = 0; i < N_POSTS; i++)
        for (int g = 0; g < G_; g++)
            for (int k = 0; k < A_; k++) {
                size_t s = ((size_t)i * G_ + g) * A_ + k;
                int want = masked(&d, i, g, k) ? -1 : d.attr[s];
                n_masked += masked(&d, i, g, k);
                wrong += b->attr[s] != want;
                kept_uncat += i == 2 && g == 0 && b->attr[s] >= 0;
            }
    FKE_CHECK(wrong == 0, "%d attribute labels of the batch are not the table's rule", wrong);
    FKE_CHECK(n_masked >= 4, "only %d labels masked: the test data is too kind", n_masked);
    FKE_CHECK(kept_uncat == A_, "a garment without a category lost its attribute labels");
    FKE_CHECK(FKE_SAME(b->cat, d.cat, N_POSTS * G_), "category labels changed");
    FKE_CHECK(d.attr[0] >= 0, "the dataset itself changed");
    fke_loader_free(&ld);

    /* a table of the wrong shape, and one with a 2 in it */
    int dims[2] = {N_CAT - 1, A_};
    int32_t bad[N_CAT * A_] = {1, 1, 1, 0, 0, 2};
    fke_dataset_extra_set(&d, "applicable", 2, dims, bad, &e);
    FKE_CHECK(fke_loader_init(&ld, &d, 4, 0, 0, 0, &e) == FKE_ERR_FORMAT &&
                  strstr(e.msg, "mask-1.h5") && strstr(e.msg, "/extra/applicable") &&
                  strstr(e.msg, "(n_cat, A) = (3, 2)"),
              "wrong shape: %s", e.msg);
    dims[0] = N_CAT;
    fke_dataset_extra_set(&d, "applicable", 2, dims, bad, &e);
    FKE_CHECK(fke_loader_init(&ld, &d, 4, 0, 0, 0, &e) == FKE_ERR_FORMAT &&
                  strstr(e.msg, "/extra/applicable[2][1] is 2"),
              "bad value: %s", e.msg);
    fke_dataset_free(&d);
}

/* loss and a copy of the gradients of one training-mode step on d */
static fke_status step(fke_model *m, const fke_dataset *d, double *loss, fke_real *g, fke_err *e)
{
    fke_loader ld;
    fke_batch *b = NULL;
    fke_status st = one_batch(&ld, d, &b, e);
    if (st == FKE_OK) st = fke_model_forward(m, b, 1, e);
    if (st == FKE_OK) st = fke_model_loss(m, b, loss, e);
    fke_params_zero_grad(&m->P);
    if (st == FKE_OK) st = fke_model_backward(m, b, e);
    if (st == FKE_OK) memcpy(g, m->P.g, m->P.total * sizeof *g);
    fke_loader_free(&ld);
    return st;
}

static void test_loss(fke_model *m)
{
    fke_err e = {{0}};
    fke_dataset masked_d, minus1, plain;
    FKE_CHECK(make_data(&masked_d, 1, &e) == FKE_OK && make_data(&minus1, 0, &e) == FKE_OK &&
                  make_data(&plain, 0, &e) == FKE_OK,
              "data: %s", e.msg);
    int n = 0;
    for (int i = 0; i < N_POSTS; i++) /* the ruled-out labels written as missing */
        for (int g = 0; g < G_; g++)
            for (int k = 0; k < A_; k++)
                if (masked(&minus1, i, g, k)) minus1.attr[((size_t)i * G_ + g) * A_ + k] = -1, n++;
    size_t np = m->P.total;
    fke_real *g1 = malloc(np * sizeof *g1), *g2 = malloc(np * sizeof *g2),
             *g3 = malloc(np * sizeof *g3);
    double l1 = NAN, l2 = NAN, l3 = NAN;
    FKE_CHECK(step(m, &masked_d, &l1, g1, &e) == FKE_OK && step(m, &minus1, &l2, g2, &e) == FKE_OK &&
                  step(m, &plain, &l3, g3, &e) == FKE_OK,
              "step: %s", e.msg);
    FKE_CHECK(l1 == l2, "loss with the table %.9g, with the labels as -1 %.9g", l1, l2);
    FKE_CHECK(FKE_SAME(g1, g2, np), "gradients differ between the table and -1 labels");
    FKE_CHECK(l1 != l3 && !FKE_SAME(g1, g3, np),
              "the %d masked labels change nothing (loss %.9g vs %.9g)", n, l1, l3);
    printf("  loss: %d labels masked, %.6f (as -1: %.6f), without the table %.6f\n", n, l1, l2, l3);
    free(g1), free(g2), free(g3);
    fke_dataset_free(&masked_d), fke_dataset_free(&minus1), fke_dataset_free(&plain);
}

static int argmax(const fke_real *z, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (z[i] > z[best]) best = i;
    return best;
}

/* expected applicable counts, from one eval-mode forward over the whole set */
static void expected(fke_model *m, const fke_dataset *d, long n[A_], long ok[A_], long plain_n[A_])
{
    fke_err e = {{0}};
    fke_loader ld;
    fke_batch *b = NULL;
    memset(n, 0, A_ * sizeof *n), memset(ok, 0, A_ * sizeof *ok);
    memset(plain_n, 0, A_ * sizeof *plain_n);
    if (one_batch(&ld, d, &b, &e) != FKE_OK || fke_model_forward(m, b, 0, &e) != FKE_OK) {
        FKE_CHECK(0, "forward: %s", e.msg);
        fke_loader_free(&ld);
        return;
    }
    const fke_config *c = &m->cfg;
    int v = 0;
    for (int i = 0; i < N_POSTS; i++)
        for (int g = 0; g < d->n_garments[i]; g++, v++) {
            size_t s = (size_t)i * G_ + g;
            int pc = argmax(m->out.cat.data + (size_t)v * N_CAT, N_CAT);
            for (int k = 0; k < A_; k++) {
                int t = d->attr_true[s * A_ + k] >= 0 ? d->attr_true[s * A_ + k]
                        : d->clean[i]                ? d->attr[s * A_ + k]
                                                     : -1;
                if (t < 0) continue;
                plain_n[k]++;
                if (!APPL[pc][k]) continue;
                n[k]++;
                ok[k] += argmax(m->out.att[k].data + (size_t)v * c->n_val[k], c->n_val[k]) == t;
            }
        }
    FKE_CHECK(v == m->out.Nv, "%d garments, the model saw %d", v, m->out.Nv);
    fke_loader_free(&ld);
}

static void test_eval(fke_model *m, const char *ckpt)
{
    fke_err e = {{0}};
    fke_dataset d, p;
    FKE_CHECK(make_data(&d, 1, &e) == FKE_OK && make_data(&p, 0, &e) == FKE_OK, "data: %s", e.msg);
    fke_eval_result r, rp;
    memset(&r, 0, sizeof r), memset(&rp, 0, sizeof rp);
    FKE_CHECK(fke_evaluate(m, &d, &r, &e) == FKE_OK && fke_evaluate(m, &p, &rp, &e) == FKE_OK,
              "eval: %s", e.msg);
    long n[A_], ok[A_], pn[A_];
    expected(m, &d, n, ok, pn);
    double mean = 0;
    int counted = 0, fewer = 0;
    for (int k = 0; k < A_; k++) {
        long long got = r.att_appl[k].cm ? fke_confusion_total(&r.att_appl[k]) : -1;
        FKE_CHECK(got == n[k], "attribute %d: %lld garments counted, %ld expected", k, got, n[k]);
        double acc = n[k] ? (double)ok[k] / n[k] : 0;
        FKE_CHECK(fabs(r.att_acc_appl_k[k] - acc) < 1e-12, "attribute %d: applicable acc %g vs %g",
                  k, r.att_acc_appl_k[k], acc);
        FKE_CHECK(fke_confusion_total(&r.att[k]) == pn[k], "attribute %d: plain count %lld vs %ld",
                  k, fke_confusion_total(&r.att[k]), pn[k]);
        if (n[k]) mean += acc, counted++;
        fewer += n[k] > 0 && n[k] < pn[k];
        printf("  attribute %d: %ld of %ld garments counted by the released-code rule, %ld right\n",
               k, n[k], pn[k], ok[k]);
    }
    if (counted) mean /= counted;
    FKE_CHECK(r.has_appl && !rp.has_appl, "has_appl %d / %d", r.has_appl, rp.has_appl);
    FKE_CHECK(fabs(r.att_acc_appl - mean) < 1e-12, "att_acc_applicable %g vs %g", r.att_acc_appl,
              mean);
    FKE_CHECK(fewer > 0, "the predicted categories rule out no garment: the test shows nothing");
    FKE_CHECK(r.att_acc == rp.att_acc && r.att_f1 == rp.att_f1 && r.cat_acc == rp.cat_acc &&
                  fke_eval_score(&r) == fke_eval_score(&rp),
              "the plain numbers or the score moved with the table");
    FKE_CHECK(rp.att_appl[0].cm == NULL && rp.att_acc_appl == 0, "applicable numbers without a table");

    /* the command line: keys and numbers, and none of them without the table */
    const char *dt = fke_test_path("d.h5"), *dp = fke_test_path("p.h5");
    FKE_CHECK(fke_dataset_save(&d, dt, &e) == FKE_OK && fke_dataset_save(&p, dp, &e) == FKE_OK,
              "save: %s", e.msg);
    const char *bd = getenv("FKE_BUILD") ? getenv("FKE_BUILD") : "build";
    char cmd[2048], buf[8192];
    for (int with = 1; with >= 0; with--) {
        snprintf(cmd, sizeof cmd, "%s/fke eval %s %s --json --out %s 2>&1", bd, ckpt,
                 with ? dt : dp, fke_test_path("ev%d", with));
        FILE *f = popen(cmd, "r");
        size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[got] = 0;
        int st = f ? pclose(f) : -1;
        FKE_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s", cmd, buf);
        const char *a = strstr(buf, "\"att_acc_applicable\": ");
        FKE_CHECK(with ? a && fabs(atof(a + 22) - mean) < 2e-6 : !a && !strstr(buf, "applicable"),
                  "--json %s the table: %s", with ? "with" : "without", buf);
        if (with) {
            snprintf(cmd, sizeof cmd, "%s/fke eval %s %s --out %s 2>&1", bd, ckpt, dt,
                     fke_test_path("ev%d", with));
            f = popen(cmd, "r");
            got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            buf[got] = 0;
            if (f) pclose(f);
            FKE_CHECK(strstr(buf, "applicable attr1") && strstr(buf, "predicted category admits"),
                      "text output: %s", buf);
            FILE *c = fopen(fke_test_path("ev1/confusion_attr1_applicable.csv"), "r");
            FKE_CHECK(c != NULL, "no confusion_attr1_applicable.csv");
            if (c) fclose(c);
        }
    }
    fke_eval_result_free(&r), fke_eval_result_free(&rp);
    fke_dataset_free(&d), fke_dataset_free(&p);
}

int main(void)
{
    if (!fke_test_tmpdir("mask")) return 1;
    fke_err e = {{0}};
    test_loader();
    fke_model m;
    memset(&m, 0, sizeof m);
    fke_status st = make_model(&m, &e);
    FKE_CHECK(st == FKE_OK, "model: %s", e.msg);
    const char *ckpt = fke_test_path("m.h5");
    if (st == FKE_OK) {
        FKE_CHECK(fke_model_save(&m, ckpt, NULL, &e) == FKE_OK, "save model: %s", e.msg);
        test_eval(&m, ckpt); /* before the steps, which move the batch-norm statistics */
        test_loss(&m);
    }
    fke_model_free(&m);
    return fke_test_finish("mask");
}
