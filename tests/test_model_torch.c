/* test_model_torch.c - fke's model against PyTorch's (tools/torch_ref.py):
 * for each variant in tests/ref/ (context all/visual/task/none, text on/off,
 * correction forward/none, lstm/gru, small CNN and ResNet-18), load the same
 * initial weights and batch, and compare the outputs, the loss, every
 * parameter gradient, the losses of 3 SGD steps and the parameters after
 * them (batch-norm running statistics included). Each named tensor must
 * satisfy max|fke - torch| / max|torch| <= 1e-4; the largest error per
 * tensor group is printed. No Python needed: the reference is in HDF5. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "nn/optim.h"
#include "test.h"

#define TOL 1e-4       /* outputs, loss, gradients of one step, step losses */
#define TOL_AFTER 1e-3 /* parameters after 3 SGD steps (float32 drift through batch-norm) */

static char *read_config_attr(hid_t f)
{
    hid_t a = H5Aopen(f, "config", H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *out = NULL;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) >= 0 && s) out = strdup(s);
        H5free_memory(s);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        out = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1); /* h5py writes no terminator */
        H5Aread(a, mt, out);
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return out;
}

/* Reads dataset `name` as float (or int32) into a malloc'ed buffer of n elements. */
static void *read_ds(hid_t f, const char *name, hid_t mem, size_t *n)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return NULL;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hssize_t cnt = H5Sget_simple_extent_npoints(s);
    void *buf = malloc((size_t)(cnt > 0 ? cnt : 1) * 4);
    if (H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    H5Sclose(s);
    H5Dclose(d);
    if (n) *n = (size_t)cnt;
    return buf;
}

static double rel_err(const float *a, const float *ref, size_t n)
{
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    return md / (mr > 1e-12 ? mr : 1e-12);
}

/* Compares every parameter (value block `blk`) against group `grp`; prints the worst. */
static void compare_params(hid_t f, const char *variant, const char *grp, const fke_params *P,
                           const fke_real *blk, int trainable_only, double tol)
{
    double worst = 0;
    const char *wname = "-";
    int n = 0;
    for (int i = 0; i < P->n; i++) {
        const fke_param_info *in = &P->info[i];
        if (trainable_only && !in->trainable) continue;
        char path[160];
        snprintf(path, sizeof path, "%s/%s", grp, in->name);
        size_t cnt = 0;
        float *ref = read_ds(f, path, H5T_NATIVE_FLOAT, &cnt);
        FKE_CHECK(ref && cnt == in->numel, "%s: %s missing or of another size", variant, path);
        if (!ref || cnt != in->numel) {
            free(ref);
            continue;
        }
        double r = rel_err(blk + in->offset, ref, cnt);
        FKE_CHECK(r <= tol, "%s: %s rel err %.3e", variant, path, r);
        if (!(r <= worst)) {
            worst = r;
            wname = in->name;
        }
        n++;
        free(ref);
    }
    printf("  %-26s %-7s %3d tensors, worst %.2e (%s)\n", variant, grp, n, worst, wname);
}

static void run_variant(const char *path)
{
    const char *variant = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    fke_err e = {{0}};
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    FKE_CHECK(f >= 0, "cannot open %s", path);
    if (f < 0) return;
    char *json = read_config_attr(f);
    fke_config cfg;
    fke_config_defaults(&cfg);
    fke_status st = json ? fke_config_from_json(&cfg, json, path, &e) : FKE_ERR_FORMAT;
    FKE_CHECK(st == FKE_OK, "%s: config: %s", variant, e.msg);
    free(json);
    cfg.threads = 1;
    fke_model m;
    memset(&m, 0, sizeof m);
    if (st == FKE_OK) {
        st = fke_model_init(&m, &cfg, &e);
        FKE_CHECK(st == FKE_OK, "%s: model init: %s", variant, e.msg);
    }
    if (st == FKE_OK) {
        st = fke_model_plan(&m, &e);
        FKE_CHECK(st == FKE_OK, "%s: plan: %s", variant, e.msg);
    }
    if (st != FKE_OK) {
        fke_model_free(&m);
        H5Fclose(f);
        return;
    }
    /* initial weights from torch */
    for (int i = 0; i < m.P.n; i++) {
        char p[160];
        snprintf(p, sizeof p, "params/%s", m.P.info[i].name);
        size_t cnt = 0;
        float *v = read_ds(f, p, H5T_NATIVE_FLOAT, &cnt);
        FKE_CHECK(v && cnt == m.P.info[i].numel, "%s: %s missing or of another size", variant, p);
        if (v && cnt == m.P.info[i].numel) memcpy(m.P.w + m.P.info[i].offset, v, cnt * sizeof(float));
        free(v);
    }
    fke_real *w0 = malloc(m.P.total * sizeof(fke_real));
    memcpy(w0, m.P.w, m.P.total * sizeof(fke_real));
    /* the batch */
    fke_batch b;
    memset(&b, 0, sizeof b);
    b.B = cfg.batch;
    b.G = cfg.G;
    b.A = cfg.n_attr;
    b.L = cfg.L;
    b.img = cfg.img;
    b.crop = cfg.crop;
    b.img_x = read_ds(f, "input/img", H5T_NATIVE_FLOAT, NULL);
    b.crop_x = read_ds(f, "input/crops", H5T_NATIVE_FLOAT, NULL);
    b.n_garments = read_ds(f, "input/n_garments", H5T_NATIVE_INT32, NULL);
    b.tokens = read_ds(f, "input/tokens", H5T_NATIVE_INT32, NULL);
    b.occ = read_ds(f, "input/occ", H5T_NATIVE_INT32, NULL);
    b.cat = read_ds(f, "input/cat", H5T_NATIVE_INT32, NULL);
    b.attr = read_ds(f, "input/attr", H5T_NATIVE_INT32, NULL);
    int32_t *clean32 = read_ds(f, "input/clean", H5T_NATIVE_INT32, NULL);
    b.clean = malloc((size_t)b.B);
    for (int i = 0; clean32 && i < b.B; i++) b.clean[i] = (uint8_t)clean32[i];
    FKE_CHECK(b.img_x && b.crop_x && b.n_garments && b.tokens && b.occ && b.cat && b.attr && clean32,
              "%s: inputs missing", variant);

    /* one forward + backward */
    double loss = NAN;
    st = fke_model_forward(&m, &b, 1, &e);
    if (st == FKE_OK) st = fke_model_loss(&m, &b, &loss, &e);
    fke_params_zero_grad(&m.P);
    if (st == FKE_OK) st = fke_model_backward(&m, &b, &e);
    FKE_CHECK(st == FKE_OK, "%s: step: %s", variant, e.msg);
    if (st == FKE_OK) {
        float *ref_loss = read_ds(f, "output/loss", H5T_NATIVE_FLOAT, NULL);
        double r = ref_loss ? fabs(loss - ref_loss[0]) / fabs(ref_loss[0]) : INFINITY;
        FKE_CHECK(r <= TOL, "%s: loss %.7f vs torch %.7f", variant, loss, ref_loss ? ref_loss[0] : NAN);
        free(ref_loss);
        const fke_tensor *outs[2 + FKE_MAX_ATTR] = {&m.out.occ, &m.out.cat};
        const char *names[2 + FKE_MAX_ATTR] = {"output/occ_logits", "output/cat_logits"};
        char attn[FKE_MAX_ATTR][32];
        for (int k = 0; k < cfg.n_attr; k++) {
            snprintf(attn[k], sizeof attn[k], "output/att_logits_%d", k);
            names[2 + k] = attn[k];
            outs[2 + k] = &m.out.att[k];
        }
        double worst = r;
        for (int k = 0; k < 2 + cfg.n_attr; k++) {
            size_t cnt = 0;
            float *ref = read_ds(f, names[k], H5T_NATIVE_FLOAT, &cnt);
            FKE_CHECK(ref && cnt == fke_numel(outs[k]), "%s: %s size %zu vs %zu", variant, names[k],
                      cnt, fke_numel(outs[k]));
            if (ref && cnt == fke_numel(outs[k])) {
                double rr = rel_err(outs[k]->data, ref, cnt);
                FKE_CHECK(rr <= TOL, "%s: %s rel err %.3e", variant, names[k], rr);
                if (rr > worst) worst = rr;
            }
            free(ref);
        }
        printf("  %-26s outputs %3d tensors, worst %.2e (loss %.6f)\n", variant, 3 + cfg.n_attr,
               worst, loss);
        compare_params(f, variant, "grad", &m.P, m.P.g, 1, TOL);
    }

    /* 3 SGD steps from the initial weights */
    memcpy(m.P.w, w0, m.P.total * sizeof(fke_real));
    size_t nsteps = 0;
    float *ref_steps = read_ds(f, "steps/loss", H5T_NATIVE_FLOAT, &nsteps);
    fke_optim o = {.lr = cfg.lr, .momentum = cfg.momentum, .weight_decay = cfg.weight_decay};
    double worst = 0;
    for (size_t s = 0; st == FKE_OK && ref_steps && s < nsteps; s++) {
        st = fke_model_forward(&m, &b, 1, &e);
        if (st == FKE_OK) st = fke_model_loss(&m, &b, &loss, &e);
        fke_params_zero_grad(&m.P);
        if (st == FKE_OK) st = fke_model_backward(&m, &b, &e);
        if (st == FKE_OK) st = fke_optim_sgd_step(&m.P, &o, &e);
        double r = fabs(loss - ref_steps[s]) / fabs(ref_steps[s]);
        FKE_CHECK(r <= TOL, "%s: step %zu loss %.7f vs torch %.7f", variant, s, loss, ref_steps[s]);
        if (r > worst) worst = r;
    }
    FKE_CHECK(st == FKE_OK && nsteps > 0, "%s: SGD steps: %s", variant, e.msg);
    printf("  %-26s steps   %3zu losses,  worst %.2e\n", variant, nsteps, worst);
    compare_params(f, variant, "after", &m.P, m.P.w, 0, TOL_AFTER);

    free(ref_steps);
    free(w0);
    free(b.img_x);
    free(b.crop_x);
    free(b.n_garments);
    free(b.tokens);
    free(b.occ);
    free(b.cat);
    free(b.attr);
    free(b.clean);
    free(clean32);
    fke_model_free(&m);
    H5Fclose(f);
}

int main(void)
{
    fke_set_threads(1);
    const char *variants[] = {"all_lstm", "none_gru_textoff_nocorr", "visual_gru_W0",
                              "task_lstm_textoff", "paper_resnet"};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/ref/model_%s.h5", variants[i]);
        run_variant(path);
    }
    return fke_test_summary("model_torch");
}
