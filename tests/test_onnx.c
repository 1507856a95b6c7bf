/* test_onnx.c - `fke export --format onnx` checked by ONNX Runtime itself.
 *
 * For each variant (fke-small at the demo's sizes; reduced fke-small models
 * with GRU cells, every context mode, text off and correction none; small fke-paper-shaped
 * models with the ResNet-18 trunk, LSTM and GRU) the test builds a model with
 * random weights and random batch-norm statistics (both sets, so that a
 * mix-up of the whole-image and crop statistics shows), saves it, exports
 * it, runs fke's forward on 6 posts with 1, 2, 3, 4, 5 and 0 garments
 * (padding crops filled with noise, which both must ignore), and runs the
 * ONNX file in onnxruntime-node (tools/ort_install.sh, tools/ort_run.js).
 * Every probability must agree within 1e-4. The node runner only runs the
 * model; the comparison is here.
 *
 * A control shows that the check can fail: the same inputs with every post
 * claiming 5 garments must change the ONNX model's outputs (the mask and the
 * sequence lengths are live). Where Python has the onnx package (Debian's
 * python3-onnx), onnx.checker validates every file with full shape
 * inference. If onnxruntime-node cannot be installed, the test fails.
 *
 * Where /usr/bin/python3 has torch and h5py (Debian's python3-torch), the
 * same checkpoints go through tools/fke_to_torch.py, and both of its outputs,
 * the state_dict in tools/torch_ref.py's Net and the TorchScript module, are
 * run (tools/torch_run.py) on the same inputs: within 1e-5 of fke. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "core/file.h"
#include "model/model_io.h"
#include "nn/loss.h"
#include "run/export_onnx.h"

#define NPOST 6
#define TOL 1e-4
#define TOL_TORCH 1e-5

typedef struct {
    const char *name, *preset, *sets;
} variant;

static const char *const REDUCED = "chans=4,4,8;F=8;H=8;H2=8;M=8;V=40;D=8;Co=4;T=8";
static const char *const PAPER = "img=64;crop=32;chans=8,8,8;F=64;H=16;H2=12;M=16;V=50;D=16;Co=8;T=16";

static const variant variants[] = {
    {"demo (fke-small, LSTM)", "fke-small", ""},
    {"small GRU", "fke-small", "cell=gru"},
    {"small context visual", "fke-small", "context=visual"},
    {"small context task", "fke-small", "context=task"},
    {"small context none", "fke-small", "context=none"},
    {"small text off", "fke-small", "text=off"},
    {"small correction none", "fke-small", "correction=none"},
    {"small GRU context task text off", "fke-small", "cell=gru;context=task;text=off"},
    {"paper-shaped (ResNet-18, LSTM)", "fke-paper", ""},
    {"paper-shaped GRU context visual", "fke-paper", "cell=gru;context=visual"},
};

static int have_python_onnx(const char **py)
{
    static const char *const cands[] = {"python3", "/usr/bin/python3"};
    char out[256];
    for (int i = 0; i < 2; i++)
        if (fke_test_sh(out, sizeof out, "%s -c 'import onnx' >/dev/null", cands[i]) == 0) {
            *py = cands[i];
            return 1;
        }
    return 0;
}

static fke_status make_config(const variant *v, fke_config *c, fke_err *e)
{
    fke_config_defaults(c);
    FKE_TRY(fke_config_preset(c, v->preset, e));
    char all[512];
    snprintf(all, sizeof all, "%s;%s", strcmp(v->name, variants[0].name) ? (strcmp(v->preset, "fke-paper") ? REDUCED : PAPER) : "", v->sets);
    for (char *tok = strtok(all, ";"); tok; tok = strtok(NULL, ";"))
        if (*tok) FKE_TRY(fke_config_set(c, tok, e));
    return fke_config_validate(c, e);
}

/* random batch-norm statistics and affine terms; sharper output layers */
static void perturb(fke_model *m, fke_rng *r)
{
    for (int i = 0; i < m->P.n; i++) {
        const char *n = m->P.info[i].name;
        fke_tensor t = fke_params_value(&m->P, i);
        size_t k = fke_numel(&t);
        int is_bn = !strncmp(n, "cnn.", 4) && t.ndim == 1;
        for (size_t j = 0; j < k; j++) {
            double u = fke_rng_uniform(r);
            if (strstr(n, "running_var")) t.data[j] = (float)(0.5 + u);
            else if (strstr(n, "running_mean")) t.data[j] = (float)(0.4 * u - 0.2);
            else if (is_bn && strstr(n, ".weight")) t.data[j] = (float)(0.8 + 0.4 * u);
            else if (is_bn && strstr(n, ".bias")) t.data[j] = (float)(0.2 * u - 0.1);
        }
        size_t len = strlen(n);
        if ((!strncmp(n, "occ.3.", 6) || !strncmp(n, "cat_head.2.", 11) ||
             (!strncmp(n, "att_heads.", 10) && len > 9 && !strcmp(n + len - 9, ".2.weight"))) &&
            strstr(n, "weight"))
            for (size_t j = 0; j < k; j++) t.data[j] *= 6;
    }
}

/* softmax rows of z (rows, n) into out */
static void softmax_rows(const fke_tensor *z, float *out)
{
    fke_tensor o = *z;
    o.data = out;
    fke_err e;
    fke_softmax_forward(&e, z, &o);
}

typedef struct {
    float *occ, *cat, *att[FKE_MAX_ATTR]; /* (P, n_occ), (P, G, n_cat), (P, G, n_val[k]) */
    size_t n_occ, n_cat, n_att[FKE_MAX_ATTR];
} probs;

static void probs_free(probs *p)
{
    free(p->occ);
    free(p->cat);
    for (int k = 0; k < FKE_MAX_ATTR; k++) free(p->att[k]);
}

/* fke's own probabilities, in the ONNX layout (padding rows 0) */
static int fke_probs(fke_model *m, const fke_batch *b, probs *p)
{
    const fke_config *c = &m->cfg;
    fke_err e = {{0}};
    if (fke_model_forward(m, b, 0, &e) != FKE_OK) {
        printf("  forward: %s\n", e.msg);
        return 0;
    }
    memset(p, 0, sizeof *p);
    int G = c->G, Nv = m->out.Nv;
    p->n_occ = (size_t)NPOST * c->n_occ;
    p->occ = calloc(p->n_occ, sizeof(float));
    softmax_rows(&m->out.occ, p->occ);
    float *rows = malloc((size_t)Nv * 64 * sizeof(float));
    p->n_cat = (size_t)NPOST * G * c->n_cat;
    p->cat = calloc(p->n_cat, sizeof(float));
    softmax_rows(&m->out.cat, rows);
    for (int v = 0; v < Nv; v++)
        memcpy(p->cat + (size_t)m->out.gidx[v] * c->n_cat, rows + (size_t)v * c->n_cat,
               c->n_cat * sizeof(float));
    for (int k = 0; k < c->n_attr; k++) {
        int n = c->n_val[k];
        p->n_att[k] = (size_t)NPOST * G * n;
        p->att[k] = calloc(p->n_att[k], sizeof(float));
        softmax_rows(&m->out.att[k], rows);
        for (int v = 0; v < Nv; v++)
            memcpy(p->att[k] + (size_t)m->out.gidx[v] * n, rows + (size_t)v * n, n * sizeof(float));
    }
    free(rows);
    return 1;
}

/* writes the inputs (in.bin) and CASE.json for tools/ort_run.js; garments
 * may differ from the batch's (the control) */
static int write_case(const char *tag, const fke_config *c, const fke_batch *b,
                      const int64_t *garments, const char *model)
{
    FILE *f = fopen(fke_test_path("%s.in.bin", tag), "wb");
    if (!f) return 0;
    size_t nimg = (size_t)NPOST * c->in_ch * c->img * c->img;
    size_t ncrop = (size_t)NPOST * c->G * c->in_ch * c->crop * c->crop;
    int64_t tok[NPOST * 64];
    for (int i = 0; i < NPOST * c->L; i++) tok[i] = b->tokens[i];
    fwrite(b->img_x, sizeof(float), nimg, f);
    fwrite(b->crop_x, sizeof(float), ncrop, f);
    size_t off_g = (nimg + ncrop) * sizeof(float); /* a multiple of 8: NPOST is even */
    fwrite(garments, sizeof(int64_t), NPOST, f);
    fwrite(tok, sizeof(int64_t), (size_t)NPOST * c->L, f);
    if (fclose(f) != 0) return 0;
    char js[4096];
    int n = snprintf(js, sizeof js,
                     "{\"model\": \"%s\", \"in\": \"%s\", \"out\": \"%s\", \"inputs\": ["
                     "{\"name\": \"image\", \"type\": \"float32\", \"dims\": [%d, %d, %d, %d], \"offset\": 0}, "
                     "{\"name\": \"crops\", \"type\": \"float32\", \"dims\": [%d, %d, %d, %d, %d], \"offset\": %zu}, "
                     "{\"name\": \"garments\", \"type\": \"int64\", \"dims\": [%d], \"offset\": %zu}",
                     model, fke_test_path("%s.in.bin", tag), fke_test_path("%s.out.bin", tag),
                     NPOST, c->in_ch, c->img, c->img, NPOST, c->G, c->in_ch, c->crop, c->crop,
                     nimg * sizeof(float), NPOST, off_g);
    if (c->text)
        n += snprintf(js + n, sizeof js - n,
                      ", {\"name\": \"tokens\", \"type\": \"int64\", \"dims\": [%d, %d], \"offset\": %zu}",
                      NPOST, c->L, off_g + NPOST * sizeof(int64_t));
    n += snprintf(js + n, sizeof js - n, "], \"outputs\": [\"occasion\", \"category\"");
    for (int k = 0; k < c->n_attr; k++) n += snprintf(js + n, sizeof js - n, ", \"attribute_%d\"", k);
    snprintf(js + n, sizeof js - n, "]}\n");
    return fke_test_write_text(fke_test_path("%s.json", tag), js);
}

/* reads the outputs a runner wrote for case tag into p, shaped like `like` */
static int read_probs(const char *tag, const probs *like, int A, probs *p)
{
    char *buf = NULL;
    size_t len = 0;
    fke_err e = {{0}};
    memset(p, 0, sizeof *p);
    if (fke_read_file(fke_test_path("%s.out.bin", tag), 0, &buf, &len, &e) != FKE_OK) {
        FKE_CHECK(0, "%s: %s", tag, e.msg);
        return 0;
    }
    size_t want = like->n_occ + like->n_cat;
    for (int k = 0; k < A; k++) want += like->n_att[k];
    FKE_CHECK(len == want * sizeof(float), "%s: the runtime gave %zu bytes, fke %zu", tag, len,
              want * sizeof(float));
    if (len != want * sizeof(float)) {
        free(buf);
        return 0;
    }
    const float *f = (const float *)buf;
    *p = *like;
    p->occ = malloc(like->n_occ * sizeof(float));
    memcpy(p->occ, f, like->n_occ * sizeof(float));
    f += like->n_occ;
    p->cat = malloc(like->n_cat * sizeof(float));
    memcpy(p->cat, f, like->n_cat * sizeof(float));
    f += like->n_cat;
    for (int k = 0; k < A; k++) {
        p->att[k] = malloc(like->n_att[k] * sizeof(float));
        memcpy(p->att[k], f, like->n_att[k] * sizeof(float));
        f += like->n_att[k];
    }
    free(buf);
    return 1;
}

/* runs runner (a command that takes the case files last) on case tag;
 * returns 1 when it exited 0 */
static int run_case(const char *runner, const char *tag)
{
    static char out[8192];
    int rc = fke_test_sh(out, sizeof out, "%s %s", runner, fke_test_path("%s.json", tag));
    FKE_CHECK(rc == 0, "%s: %s exited %d:\n%s", tag, runner, rc, out);
    for (char *l = strstr(out, "onnxruntime-node"); l; l = NULL) printf("    %s", l);
    for (char *l = strstr(out, "torch "); l; l = NULL) printf("    %s", l);
    return rc == 0;
}

static int run_probs(const char *runner, const char *tag, const probs *like, int A, probs *p)
{
    return run_case(runner, tag) && read_probs(tag, like, A, p);
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= d)) d = x; /* NaN wins */
    }
    return d;
}

/* the largest difference over every output, printed per output */
static double compare(const char *tag, const probs *a, const probs *b, int A, int print)
{
    double d = maxdiff(a->occ, b->occ, a->n_occ), worst = d;
    if (print) printf("    %-34s occasion %.2e  category", tag, d);
    d = maxdiff(a->cat, b->cat, a->n_cat);
    if (print) printf(" %.2e  attributes", d);
    if (!(d <= worst)) worst = d;
    for (int k = 0; k < A; k++) {
        d = maxdiff(a->att[k], b->att[k], a->n_att[k]);
        if (print) printf(" %.2e", d);
        if (!(d <= worst)) worst = d;
    }
    if (print) printf("\n");
    return worst;
}

/* runs the case in onnxruntime-node */
static int ort_probs(const char *tag, const probs *like, int A, probs *p)
{
    char runner[600];
    snprintf(runner, sizeof runner, "NODE_PATH=%s/ort/node_modules node tools/ort_run.js",
             fke_test_build_dir());
    return run_probs(runner, tag, like, A, p);
}

static int have_torch(void)
{
    char out[256];
    return fke_test_sh(out, sizeof out, "/usr/bin/python3 -c 'import torch, h5py' >/dev/null") == 0;
}

/* tools/fke_to_torch.py on ckpt, then its state_dict through Net and its
 * TorchScript module on the same inputs: within TOL_TORCH of fke */
static void check_torch(const char *name, const char *tag, const char *ckpt, const fke_config *c,
                        const fke_batch *b, const int64_t *garments, const probs *want)
{
    char out[4096], pt[FKE_TEST_PATH_MAX], ts[FKE_TEST_PATH_MAX];
    snprintf(pt, sizeof pt, "%s", fke_test_path("%s.pt", tag));
    snprintf(ts, sizeof ts, "%s", fke_test_path("%s.ts.pt", tag));
    int rc = fke_test_sh(out, sizeof out, "/usr/bin/python3 tools/fke_to_torch.py %s %s", ckpt, pt);
    FKE_CHECK(rc == 0, "%s: tools/fke_to_torch.py exited %d: %s", name, rc, out);
    if (rc != 0) return;
    /* the dropout layers stay (p = the config's), so that Net can be fine-tuned */
    char ps[64];
    snprintf(ps, sizeof ps, "%g, %g) for fine-tuning", c->dropout_text, c->dropout_head);
    FKE_CHECK(strstr(out, c->text ? ps : "dropout layers (p = 0.5)") && !strstr(out, "keeps 0 "),
              "%s: fke_to_torch.py: %s", name, out);
    /* one Python process runs both: the TorchScript case and, with --net, Net's */
    char t[2][40], runner[700];
    snprintf(t[0], sizeof t[0], "%s_ts", tag);
    snprintf(t[1], sizeof t[1], "%s_net", tag);
    if (!write_case(t[0], c, b, garments, ts) || !write_case(t[1], c, b, garments, pt)) {
        FKE_CHECK(0, "%s: cannot write the cases", name);
        return;
    }
    snprintf(runner, sizeof runner, "/usr/bin/python3 tools/torch_run.py --net %s",
             fke_test_path("%s.json", t[1]));
    if (!run_case(runner, t[0])) return;
    for (int net = 0; net < 2; net++) {
        char label[200];
        snprintf(label, sizeof label, "%s (%s)", name, net ? "torch Net" : "TorchScript");
        probs got;
        if (!read_probs(t[net], want, c->n_attr, &got)) continue;
        double d = compare(label, want, &got, c->n_attr, 1);
        FKE_CHECK(d <= TOL_TORCH, "%s: PyTorch and fke differ by %.3g (at most %g)", label, d,
                  TOL_TORCH);
        probs_free(&got);
    }
}

static void check_variant(int vi, const char *py, int torch)
{
    const variant *v = &variants[vi];
    fke_err e = {{0}};
    fke_config c;
    if (make_config(v, &c, &e) != FKE_OK) {
        FKE_CHECK(0, "%s: config: %s", v->name, e.msg);
        return;
    }
    c.seed = 100 + (uint64_t)vi;
    fke_model m;
    if (fke_model_init(&m, &c, &e) != FKE_OK || fke_model_plan(&m, &e) != FKE_OK) {
        FKE_CHECK(0, "%s: model: %s", v->name, e.msg);
        return;
    }
    fke_rng r;
    fke_rng_seed(&r, 7 + (uint64_t)vi);
    perturb(&m, &r);
    char tag[16];
    snprintf(tag, sizeof tag, "v%d", vi);
    const char *ckpt = fke_test_path("%s.h5", tag), *onnx = fke_test_path("%s.onnx", tag);
    fke_export_info info = {0};
    fke_status st = fke_model_save(&m, ckpt, NULL, &e);
    if (st == FKE_OK) st = fke_export_onnx(ckpt, onnx, "test", &info, &e);
    FKE_CHECK(st == FKE_OK, "%s: export: %s", v->name, e.msg);
    if (st != FKE_OK) goto out;
    printf("  %s: %ld nodes, %.0f parameters\n", v->name, info.nodes, info.params);
    if (py) {
        char out[4096];
        int rc = fke_test_sh(out, sizeof out,
                             "%s -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), "
                             "full_check=True)' %s",
                             py, onnx);
        FKE_CHECK(rc == 0, "%s: onnx.checker: %s", v->name, out);
    }

    fke_batch b;
    if (fke_batch_alloc(&b, NPOST, c.G, c.n_attr, c.L, c.in_ch, c.img, c.crop, &e) != FKE_OK) {
        FKE_CHECK(0, "%s: batch: %s", v->name, e.msg);
        goto out;
    }
    int64_t garments[NPOST], five[NPOST];
    for (int i = 0; i < NPOST; i++) {
        b.n_garments[i] = (i + 1) % (c.G + 1); /* 1, 2, 3, 4, 5, 0 */
        garments[i] = b.n_garments[i];
        five[i] = c.G;
    }
    size_t nimg = (size_t)NPOST * c.in_ch * c.img * c.img;
    size_t ncrop = (size_t)NPOST * c.G * c.in_ch * c.crop * c.crop;
    for (size_t i = 0; i < nimg; i++) b.img_x[i] = (float)fke_rng_normal(&r);
    for (size_t i = 0; i < ncrop; i++) b.crop_x[i] = (float)fke_rng_normal(&r); /* padding too */
    for (int i = 0; i < NPOST * c.L; i++) b.tokens[i] = (int32_t)(fke_rng_uniform(&r) * c.V) % c.V;

    probs want, got, ctl;
    if (fke_probs(&m, &b, &want)) {
        FKE_CHECK(write_case(tag, &c, &b, garments, onnx), "%s: cannot write the case", v->name);
        if (ort_probs(tag, &want, c.n_attr, &got)) {
            double d = compare(v->name, &want, &got, c.n_attr, 1);
            FKE_CHECK(d <= TOL, "%s: ONNX Runtime and fke differ by %.3g (at most %g)", v->name, d, TOL);
            probs_free(&got);
        }
        char ctag[20];
        snprintf(ctag, sizeof ctag, "%s_ctl", tag);
        if (vi == 0 && write_case(ctag, &c, &b, five, onnx) && ort_probs(ctag, &want, c.n_attr, &ctl)) {
            double d = compare("control: every post says 5", &want, &ctl, c.n_attr, 1);
            FKE_CHECK(d > 1e-3, "control: claiming 5 garments everywhere changed nothing (%.3g)", d);
            probs_free(&ctl);
        }
        if (torch) check_torch(v->name, tag, ckpt, &c, &b, garments, &want);
        probs_free(&want);
    }
    fke_batch_free(&b);
out:
    fke_model_free(&m);
}

/* what export refuses, with a message naming the file */
static void check_refusals(void)
{
    fke_err e = {{0}};
    const char *none = fke_test_path("absent.h5"), *out = fke_test_path("absent.onnx");
    FKE_CHECK(fke_export_onnx(none, out, "test", NULL, &e) != FKE_OK && strstr(e.msg, none),
              "a missing checkpoint: %s", e.msg);
    FILE *f = fopen(out, "rb");
    FKE_CHECK(!f, "a refused export left %s", out);
    if (f) fclose(f);
}

/* task classify: the trunk and the linear classifier, image -> class */
static void check_classify(void)
{
    fke_err e = {{0}};
    fke_config c;
    fke_config_defaults(&c);
    fke_config_set(&c, "task=classify", &e);
    c.img = 32, c.in_ch = 1, c.pad = 2, c.n_cat = 10;
    c.chans[0] = 4, c.chans[1] = 8, c.chans[2] = 16, c.F = 16;
    fke_model m;
    const char *ckpt = fke_test_path("classify.h5"), *onnx = fke_test_path("classify.onnx");
    if (fke_model_init(&m, &c, &e) != FKE_OK || fke_model_plan(&m, &e) != FKE_OK) {
        FKE_CHECK(0, "classify model: %s", e.msg);
        return;
    }
    fke_rng r;
    fke_rng_seed(&r, 77);
    perturb(&m, &r);
    for (int i = 0; i < m.P.n; i++) /* a sharper classifier */
        if (!strcmp(m.P.info[i].name, "fc.weight")) {
            fke_tensor t = fke_params_value(&m.P, i);
            for (size_t j = 0; j < fke_numel(&t); j++) t.data[j] *= 6;
        }
    fke_status st = fke_model_save(&m, ckpt, NULL, &e);
    if (st == FKE_OK) st = fke_export_onnx(ckpt, onnx, "test", NULL, &e);
    FKE_CHECK(st == FKE_OK, "classify export: %s", e.msg);
    float *x = malloc((size_t)NPOST * 32 * 32 * sizeof *x);
    for (int i = 0; i < NPOST * 32 * 32; i++) x[i] = (float)fke_rng_normal(&r);
    fke_tensor xt = fke_tensor_view(x, 4, NPOST, 1, 32, 32);
    probs want, got;
    memset(&want, 0, sizeof want);
    if (st == FKE_OK && fke_classifier_forward(&m, &xt, 0, &e) == FKE_OK) {
        want.n_occ = (size_t)NPOST * c.n_cat;
        want.occ = malloc(want.n_occ * sizeof(float));
        softmax_rows(&m.out.occ, want.occ);
        FILE *f = fopen(fke_test_path("cls.in.bin"), "wb");
        int ok = f && fwrite(x, sizeof *x, (size_t)NPOST * 32 * 32, f) == (size_t)NPOST * 32 * 32;
        if (f) ok = fclose(f) == 0 && ok;
        char js[2048];
        snprintf(js, sizeof js,
                 "{\"model\": \"%s\", \"in\": \"%s\", \"out\": \"%s\", \"inputs\": [{\"name\": "
                 "\"image\", \"type\": \"float32\", \"dims\": [%d, 1, 32, 32], \"offset\": 0}], "
                 "\"outputs\": [\"class\"]}\n",
                 onnx, fke_test_path("cls.in.bin"), fke_test_path("cls.out.bin"), NPOST);
        FKE_CHECK(ok && fke_test_write_text(fke_test_path("cls.json"), js), "classify case");
        if (ort_probs("cls", &want, 0, &got)) {
            double d = compare("task classify", &want, &got, 0, 0);
            printf("    %-34s class %.2e\n", "task classify", d);
            FKE_CHECK(d <= TOL, "task classify: ONNX Runtime and fke differ by %.3g", d);
            probs_free(&got);
        }
    } else {
        FKE_CHECK(0, "classify forward: %s", e.msg);
    }
    probs_free(&want);
    free(x);
    fke_model_free(&m);
}

int main(void)
{
    if (!fke_test_tmpdir("onnx")) return 1;
    fke_set_threads(1);
    char out[2048];
    int rc = fke_test_sh(out, sizeof out, "sh tools/ort_install.sh %s", fke_test_build_dir());
    FKE_CHECK(rc == 0, "onnxruntime-node is needed for this test and could not be installed "
                       "(tools/ort_install.sh): %s", out);
    check_refusals();
    if (rc != 0) return fke_test_finish("onnx");
    const char *py = NULL;
    if (have_python_onnx(&py)) printf("  onnx.checker: %s\n", py);
    else printf("  onnx.checker: skipped (no Python with the onnx package)\n");
    printf("  largest |ONNX Runtime - fke| per output (probabilities):\n");
    int torch = have_torch();
    printf("  PyTorch (tools/fke_to_torch.py, within %g): %s\n", TOL_TORCH,
           torch ? "checked" : "skipped (no /usr/bin/python3 with torch and h5py)");
    for (int i = 0; i < (int)(sizeof variants / sizeof variants[0]); i++) check_variant(i, py, torch);
    check_classify();
    return fke_test_finish("onnx");
}
