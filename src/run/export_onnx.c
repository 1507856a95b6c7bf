/* export_onnx.c - see export_onnx.h. The graph follows fke_model_forward
 * (src/model/model.c) step by step in evaluation mode; the layouts:
 *
 *   P posts, G slots, BG = P * G garment rows (padding slots included: the
 *   CNN runs on every crop, and a 0/1 mask of the valid slots zeroes the
 *   padding's features before Bi-LSTM-1, as fke's scatter leaves them, and
 *   the padding's probabilities at the end)
 *   image (P, C, S, S) -> CNN (whole-image statistics) -> f_img (P, F)
 *   crops (P, G, C, s, s) -> (BG, C, s, s) -> CNN (crop statistics) -> f (BG, F)
 *   Bi-LSTM-1: X (G, P, F), sequence_lens = max(garments, 1), initial_h
 *     (2, P, H) = W0 f_img twice; Y (G, 2, P, H) -> c (BG, 2H); Y_h (2, P, H)
 *     -> [fwd h_g ; bwd h_1] (P, 2H)
 *   TextCNN: Gather (P, L, D) -> (P, D, L) -> Conv, Relu, ReduceMax per width
 *   heads: Gemm with transB = 1 (fke's weights are (out, in))
 *   Bi-LSTM-2: X (A+1, BG, M), Y (A+1, 2, BG, H2) -> (BG, A+1, 2 H2), step k */
#include "run/export_onnx.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "model/model_io.h"
#include "nn/batchnorm.h"
#include "run/onnx_graph.h"

_Static_assert(sizeof(fke_real) == sizeof(float), "the library's parameters are float");

#define NW 4 /* TextCNN widths 2, 3, 4, 5 (model.c) */

typedef struct {
    fke_onnx *g;
    const fke_model *m;
    const char **pn; /* (P.n) initializer name of each parameter, once written */
} ex;

static const char *par(ex *x, int idx)
{
    if (!x->pn[idx]) {
        fke_tensor t = fke_params_value(&x->m->P, idx);
        long d[FKE_MAXDIM];
        for (int i = 0; i < t.ndim; i++) d[i] = t.shape[i];
        x->pn[idx] = fke_onnx_init_float(x->g, x->m->P.info[idx].name, t.data, t.ndim, d);
    }
    return x->pn[idx];
}

static const char *i64s(ex *x, int n, const long *v)
{
    int64_t d[8];
    for (int i = 0; i < n; i++) d[i] = v[i];
    long dims[1] = {n};
    return fke_onnx_init_int64(x->g, fke_onnx_name(x->g, "const"), d, 1, dims);
}

static const char *op1(ex *x, const char *op, const char *in)
{
    return fke_onnx_out(fke_onnx_op(x->g, op, NULL, 1, in), 0);
}

static const char *reshape(ex *x, const char *in, int n, const long *shape)
{
    return fke_onnx_out(fke_onnx_op(x->g, "Reshape", NULL, 2, in, i64s(x, n, shape)), 0);
}

static const char *transpose(ex *x, const char *in, int n, const long *perm)
{
    fke_onnx_node *t = fke_onnx_op(x->g, "Transpose", NULL, 1, in);
    fke_onnx_attr_ints(x->g, t, "perm", n, perm);
    return fke_onnx_out(t, 0);
}

static const char *unsqueeze0(ex *x, const char *in)
{
    return fke_onnx_out(fke_onnx_op(x->g, "Unsqueeze", NULL, 2, in, i64s(x, 1, (long[]){0})), 0);
}

/* y = in W^T + b: Gemm with transB (b < 0: no bias) */
static const char *gemm(ex *x, const char *in, int w, int b)
{
    fke_onnx_node *n = b >= 0 ? fke_onnx_op(x->g, "Gemm", NULL, 3, in, par(x, w), par(x, b))
                              : fke_onnx_op(x->g, "Gemm", NULL, 2, in, par(x, w));
    fke_onnx_attr_int(x->g, n, "transB", 1);
    return fke_onnx_out(n, 0);
}

static const char *softmax(ex *x, const char *in)
{
    fke_onnx_node *n = fke_onnx_op(x->g, "Softmax", NULL, 1, in);
    fke_onnx_attr_int(x->g, n, "axis", 1);
    return fke_onnx_out(n, 0);
}

/* The trunk's step program (cnn.h) over in (N, C, S, S) -> (N, F). */
static const char *cnn(ex *x, const char *in, int stats)
{
    const fke_cnn *c = &x->m->cnn;
    const char *slot[FKE_CNN_MAXSLOT] = {in};
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        const char *src = slot[s->in];
        fke_onnx_node *n;
        switch (s->op) {
        case FKE_CNN_CONVBN: {
            n = fke_onnx_op(x->g, "Conv", NULL, 2, src, par(x, s->conv));
            fke_onnx_attr_ints(x->g, n, "kernel_shape", 2, (long[]){s->k, s->k});
            fke_onnx_attr_ints(x->g, n, "strides", 2, (long[]){s->stride, s->stride});
            fke_onnx_attr_ints(x->g, n, "pads", 4, (long[]){s->pad, s->pad, s->pad, s->pad});
            int mean = stats ? s->bn_crop[0] : s->bn[2], var = stats ? s->bn_crop[1] : s->bn[3];
            n = fke_onnx_op(x->g, "BatchNormalization", NULL, 5, fke_onnx_out(n, 0),
                            par(x, s->bn[0]), par(x, s->bn[1]), par(x, mean), par(x, var));
            fke_onnx_attr_float(x->g, n, "epsilon", (float)FKE_BN_EPS);
            slot[s->out] = s->relu ? op1(x, "Relu", fke_onnx_out(n, 0)) : fke_onnx_out(n, 0);
            break;
        }
        case FKE_CNN_MAXPOOL: /* fke pads with zeros after a ReLU: the same as ONNX's -inf */
            n = fke_onnx_op(x->g, "MaxPool", NULL, 1, src);
            fke_onnx_attr_ints(x->g, n, "kernel_shape", 2, (long[]){s->k, s->k});
            fke_onnx_attr_ints(x->g, n, "strides", 2, (long[]){s->stride, s->stride});
            fke_onnx_attr_ints(x->g, n, "pads", 4, (long[]){s->pad, s->pad, s->pad, s->pad});
            slot[s->out] = fke_onnx_out(n, 0);
            break;
        case FKE_CNN_ADDRELU:
            n = fke_onnx_op(x->g, "Add", NULL, 2, src, slot[s->in2]);
            slot[s->out] = op1(x, "Relu", fke_onnx_out(n, 0));
            break;
        case FKE_CNN_GAP:
            n = fke_onnx_op(x->g, "Flatten", NULL, 1, op1(x, "GlobalAveragePool", src));
            fke_onnx_attr_int(x->g, n, "axis", 1);
            slot[s->out] = fke_onnx_out(n, 0);
            break;
        }
    }
    return slot[c->step[c->nstep - 1].out];
}

/* One direction's (gates * H, cols) block of PyTorch rows reordered to ONNX's
 * gate order into dst: ONNX gate j is PyTorch gate order[j]. */
static void reorder(float *dst, const float *src, int gates, int H, int cols, const int *order)
{
    for (int j = 0; j < gates; j++)
        memcpy(dst + (size_t)j * H * cols, src + (size_t)order[j] * H * cols,
               (size_t)H * cols * sizeof(float));
}

/* A bidirectional recurrent layer over X (T, N, In); lens and h0 may be NULL.
 * Returns the node: output 0 is Y (T, 2, N, H), output 1 (with_yh) Y_h (2, N, H). */
static fke_onnx_node *rnn(ex *x, const char *name, const char *X, const int idx[2][4],
                          const char *lens, const char *h0, int with_yh)
{
    static const int lstm_order[4] = {0, 3, 1, 2}; /* i, o, f, c from i, f, g, o */
    static const int gru_order[3] = {1, 0, 2};     /* z, r, h from r, z, n */
    int lstm = x->m->cfg.cell == FKE_CELL_LSTM, gates = lstm ? 4 : 3;
    const int *order = lstm ? lstm_order : gru_order;
    fke_tensor wi = fke_params_value(&x->m->P, idx[0][0]);
    int H = fke_params_value(&x->m->P, idx[0][1]).shape[1], In = wi.shape[1], GH = gates * H;
    float *W = fke_onnx_alloc(x->g, (size_t)2 * GH * In * sizeof(float));
    float *R = fke_onnx_alloc(x->g, (size_t)2 * GH * H * sizeof(float));
    float *B = fke_onnx_alloc(x->g, (size_t)2 * 2 * GH * sizeof(float));
    if (W && R && B)
        for (int d = 0; d < 2; d++) {
            reorder(W + (size_t)d * GH * In, fke_params_value(&x->m->P, idx[d][0]).data, gates, H,
                    In, order);
            reorder(R + (size_t)d * GH * H, fke_params_value(&x->m->P, idx[d][1]).data, gates, H,
                    H, order);
            reorder(B + (size_t)d * 2 * GH, fke_params_value(&x->m->P, idx[d][2]).data, gates, H,
                    1, order);
            reorder(B + (size_t)d * 2 * GH + GH, fke_params_value(&x->m->P, idx[d][3]).data,
                    gates, H, 1, order);
        }
    char n[96];
    snprintf(n, sizeof n, "%s.W", name);
    const char *Wn = fke_onnx_init_float(x->g, n, W, 3, (long[]){2, GH, In});
    snprintf(n, sizeof n, "%s.R", name);
    const char *Rn = fke_onnx_init_float(x->g, n, R, 3, (long[]){2, GH, H});
    snprintf(n, sizeof n, "%s.B", name);
    const char *Bn = fke_onnx_init_float(x->g, n, B, 2, (long[]){2, 2 * GH});
    const char *op = lstm ? "LSTM" : "GRU";
    snprintf(n, sizeof n, "%s.Y", name);
    fke_onnx_node *r = lens || h0 ? fke_onnx_op(x->g, op, n, 6, X, Wn, Rn, Bn, lens ? lens : "",
                                                h0 ? h0 : "")
                                  : fke_onnx_op(x->g, op, n, 4, X, Wn, Rn, Bn);
    if (with_yh) {
        snprintf(n, sizeof n, "%s.Y_h", name);
        fke_onnx_add_output(x->g, r, n);
    }
    fke_onnx_attr_int(x->g, r, "hidden_size", H);
    fke_onnx_attr_string(x->g, r, "direction", "bidirectional");
    if (!lstm) fke_onnx_attr_int(x->g, r, "linear_before_reset", 1);
    return r;
}

/* A probability head's output: softmax rows (BG, n) masked and shaped (P, G, n). */
static void garment_output(ex *x, const char *logits, const char *mask, const char *name, int G,
                           int n)
{
    const char *pm = fke_onnx_out(fke_onnx_op(x->g, "Mul", NULL, 2, softmax(x, logits), mask), 0);
    fke_onnx_op(x->g, "Reshape", name, 2, pm, i64s(x, 3, (long[]){-1, G, n}));
    fke_onnx_output(x->g, name, FKE_ONNX_FLOAT, 3, (long[]){-1, G, n});
}

static void build(ex *x)
{
    const fke_model *m = x->m;
    const fke_config *c = &m->cfg;
    fke_onnx *g = x->g;
    int G = c->G, A = c->n_attr, C = c->in_ch, S = c->img, s = c->crop, F = c->F;
    int vis = c->context == FKE_CTX_ALL || c->context == FKE_CTX_VISUAL;
    int task = c->context == FKE_CTX_ALL || c->context == FKE_CTX_TASK;
    fke_onnx_input(g, "image", FKE_ONNX_FLOAT, 4, (long[]){-1, C, S, S});
    fke_onnx_input(g, "crops", FKE_ONNX_FLOAT, 5, (long[]){-1, G, C, s, s});
    fke_onnx_input(g, "garments", FKE_ONNX_INT64, 1, (long[]){-1});
    if (c->text) fke_onnx_input(g, "tokens", FKE_ONNX_INT64, 2, (long[]){-1, c->L});

    /* the valid slots: mask (BG, 1) = slot < garments */
    int64_t *sl = fke_onnx_alloc(g, (size_t)G * sizeof *sl);
    for (int i = 0; sl && i < G; i++) sl[i] = i;
    const char *slot_ids = fke_onnx_init_int64(g, "slot_ids", sl, 2, (long[]){1, G});
    const char *cnt = fke_onnx_out(
        fke_onnx_op(g, "Unsqueeze", NULL, 2, "garments", i64s(x, 1, (long[]){1})), 0);
    const char *valid = fke_onnx_out(fke_onnx_op(g, "Less", NULL, 2, slot_ids, cnt), 0);
    fke_onnx_node *cast = fke_onnx_op(g, "Cast", NULL, 1, valid);
    fke_onnx_attr_int(g, cast, "to", FKE_ONNX_FLOAT);
    const char *mask = reshape(x, fke_onnx_out(cast, 0), 2, (long[]){-1, 1});

    /* CNN: whole image and every crop slot, same weights, two statistics sets */
    const char *f_img = cnn(x, "image", 0);
    const char *crops = reshape(x, "crops", 4, (long[]){-1, C, s, s});
    const char *f_crop = cnn(x, crops, 1);

    const char *sp[3], *cvec = f_crop;
    int ns = 0;
    if (vis) {
        const char *fm = fke_onnx_out(fke_onnx_op(g, "Mul", NULL, 2, f_crop, mask), 0);
        const char *X1 = transpose(x, reshape(x, fm, 3, (long[]){-1, G, F}), 3, (long[]){1, 0, 2});
        const char *one = i64s(x, 1, (long[]){1});
        fke_onnx_node *ln = fke_onnx_op(g, "Cast", NULL, 1,
                                        fke_onnx_out(fke_onnx_op(g, "Max", NULL, 2, "garments", one), 0));
        fke_onnx_attr_int(g, ln, "to", FKE_ONNX_INT32);
        const char *h0 = m->W0 >= 0 ? gemm(x, f_img, m->W0, -1) : f_img;
        const char *h0u = unsqueeze0(x, h0);
        fke_onnx_node *hh = fke_onnx_op(g, "Concat", NULL, 2, h0u, h0u);
        fke_onnx_attr_int(g, hh, "axis", 0);
        fke_onnx_node *r1 = rnn(x, "rnn1", X1, m->rnn1, fke_onnx_out(ln, 0), fke_onnx_out(hh, 0), 1);
        cvec = reshape(x, transpose(x, fke_onnx_out(r1, 0), 4, (long[]){2, 0, 1, 3}), 2,
                       (long[]){-1, 2 * c->H});
        sp[ns++] = reshape(x, transpose(x, fke_onnx_out(r1, 1), 3, (long[]){1, 0, 2}), 2,
                           (long[]){-1, 2 * c->H});
    }
    sp[ns++] = f_img;
    if (c->text) {
        const char *emb = fke_onnx_out(fke_onnx_op(g, "Gather", NULL, 2, par(x, m->emb), "tokens"), 0);
        const char *embT = transpose(x, emb, 3, (long[]){0, 2, 1}); /* (P, D, L) */
        const char *banks[NW];
        for (int k = 0; k < NW; k++) {
            fke_onnx_node *cv = fke_onnx_op(g, "Conv", NULL, 3, embT, par(x, m->tconv_w[k]),
                                            par(x, m->tconv_b[k]));
            fke_onnx_attr_ints(g, cv, "kernel_shape", 1, (long[]){k + 2});
            fke_onnx_node *mx = fke_onnx_op(g, "ReduceMax", NULL, 1, op1(x, "Relu", fke_onnx_out(cv, 0)));
            fke_onnx_attr_ints(g, mx, "axes", 1, (long[]){2});
            fke_onnx_attr_int(g, mx, "keepdims", 0);
            banks[k] = fke_onnx_out(mx, 0);
        }
        fke_onnx_node *tc = fke_onnx_op(g, "Concat", NULL, NW, banks[0], banks[1], banks[2], banks[3]);
        fke_onnx_attr_int(g, tc, "axis", 1);
        sp[ns++] = gemm(x, fke_onnx_out(tc, 0), m->tfc_w, m->tfc_b);
    }
    const char *svec = sp[0];
    if (ns > 1) {
        fke_onnx_node *sc = ns == 2 ? fke_onnx_op(g, "Concat", NULL, 2, sp[0], sp[1])
                                    : fke_onnx_op(g, "Concat", NULL, 3, sp[0], sp[1], sp[2]);
        fke_onnx_attr_int(g, sc, "axis", 1);
        svec = fke_onnx_out(sc, 0);
    }

    /* occasion */
    const char *o = gemm(x, gemm(x, gemm(x, svec, m->occ_w[0], m->occ_b[0]), m->occ_w[1],
                                 m->occ_b[1]),
                         m->occ_w[2], m->occ_b[2]);
    fke_onnx_node *so = fke_onnx_op(g, "Softmax", "occasion", 1, o);
    fke_onnx_attr_int(g, so, "axis", 1);
    fke_onnx_output(g, "occasion", FKE_ONNX_FLOAT, 2, (long[]){-1, c->n_occ});

    /* category */
    const char *acat = gemm(x, cvec, m->wcat_w, m->wcat_b);
    const char *cl = gemm(x, gemm(x, acat, m->cath_w[0], m->cath_b[0]), m->cath_w[1], m->cath_b[1]);
    garment_output(x, cl, mask, "category", G, c->n_cat);

    /* attributes, through Bi-LSTM-2 over (a_1 .. a_A, a_cat) */
    const char *a[FKE_MAX_ATTR], *u[FKE_MAX_ATTR];
    for (int k = 0; k < A; k++) a[k] = u[k] = gemm(x, cvec, m->wk_w[k], m->wk_b[k]);
    if (task) {
        const char *steps[FKE_MAX_ATTR + 1];
        for (int k = 0; k <= A; k++) steps[k] = unsqueeze0(x, k < A ? a[k] : acat);
        fke_onnx_node *seq = fke_onnx_opv(g, "Concat", NULL, A + 1, steps);
        fke_onnx_attr_int(g, seq, "axis", 0); /* (A+1, BG, M) */
        fke_onnx_node *r2 = rnn(x, "rnn2", fke_onnx_out(seq, 0), m->rnn2, NULL, NULL, 0);
        const char *y2 = reshape(x, transpose(x, fke_onnx_out(r2, 0), 4, (long[]){2, 0, 1, 3}), 3,
                                 (long[]){0, A + 1, 2 * c->H2}); /* (BG, A+1, 2 H2) */
        for (int k = 0; k < A; k++) {
            int64_t kk = k;
            const char *idx = fke_onnx_init_int64(g, fke_onnx_name(g, "step"), &kk, 0, NULL);
            fke_onnx_node *gk = fke_onnx_op(g, "Gather", NULL, 2, y2, idx);
            fke_onnx_attr_int(g, gk, "axis", 1);
            u[k] = fke_onnx_out(gk, 0);
        }
    }
    for (int k = 0; k < A; k++) {
        char name[32];
        snprintf(name, sizeof name, "attribute_%d", k);
        const char *l = gemm(x, gemm(x, u[k], m->atth_w[k][0], m->atth_b[k][0]), m->atth_w[k][1],
                             m->atth_b[k][1]);
        garment_output(x, l, mask, name, G, c->n_val[k]);
    }
}

/* Task classify: image (N, C, S, S), padded and normalised as in training
 * (input.norm's mean and std, fke.preprocessing) -> class (N, n_cat). */
static void build_classify(ex *x)
{
    const fke_config *c = &x->m->cfg;
    fke_onnx_input(x->g, "image", FKE_ONNX_FLOAT, 4, (long[]){-1, c->in_ch, c->img, c->img});
    const char *z = gemm(x, cnn(x, "image", 0), x->m->cls_w, x->m->cls_b);
    fke_onnx_node *sm = fke_onnx_op(x->g, "Softmax", "class", 1, z);
    fke_onnx_attr_int(x->g, sm, "axis", 1);
    fke_onnx_output(x->g, "class", FKE_ONNX_FLOAT, 2, (long[]){-1, c->n_cat});
}

/* the JSON text of an array of n strings (NULL when strs is NULL) */
static char *json_strings(char **strs, int n)
{
    if (!strs) return NULL;
    cJSON *a = cJSON_CreateStringArray((const char *const *)strs, n);
    char *t = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return t;
}

static void add_json(cJSON *o, const char *key, char **strs, int n)
{
    if (strs) cJSON_AddItemToObject(o, key, cJSON_CreateStringArray((const char *const *)strs, n));
}

static void meta_json(fke_onnx *g, const char *key, cJSON *o)
{
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;
    if (t) fke_onnx_meta(g, key, t);
    cJSON_free(t);
    cJSON_Delete(o);
}

/* fke.* metadata: what a program needs to feed the model and read it */
static void metadata(fke_onnx *g, const fke_model *m, const fke_ckpt_names *nm, int has_names,
                     const char *version)
{
    const fke_config *c = &m->cfg;
    fke_onnx_meta(g, "fke.version", version);
    char *cfg = fke_config_to_json(c);
    meta_json(g, "fke.config", cfg ? cJSON_Parse(cfg) : NULL); /* on one line */
    free(cfg);
    if (has_names) {
        cJSON *l = cJSON_CreateObject();
        add_json(l, "occasion", nm->occ, nm->n_occ);
        add_json(l, "category", nm->cat, nm->n_cat);
        if (nm->attr) {
            cJSON *arr = cJSON_AddArrayToObject(l, "attributes");
            for (int k = 0; arr && k < nm->A; k++) {
                cJSON *a = cJSON_CreateObject();
                cJSON_AddStringToObject(a, "name", nm->attr[k]);
                char out[32];
                snprintf(out, sizeof out, "attribute_%d", k);
                cJSON_AddStringToObject(a, "output", out);
                add_json(a, "values", nm->val[k], k < FKE_MAX_ATTR ? nm->n_val[k] : 0);
                cJSON_AddItemToArray(arr, a);
            }
        }
        meta_json(g, "fke.labels", l);
        cJSON *dj = cJSON_CreateObject();
        cJSON_AddStringToObject(dj, "file", nm->data_file);
        cJSON_AddStringToObject(dj, "hash", nm->data_hash);
        cJSON_AddNumberToObject(dj, "posts", (double)nm->data_posts);
        cJSON_AddNumberToObject(dj, "garments", (double)nm->data_garments);
        cJSON_AddNumberToObject(dj, "clean_posts", (double)nm->data_clean);
        cJSON_AddStringToObject(dj, "trained_by", nm->version);
        meta_json(g, "fke.data", dj);
        char *v = json_strings(nm->vocab, nm->V);
        if (v) fke_onnx_meta(g, "fke.vocab", v);
        cJSON_free(v);
    }
    double mean = FKE_PIXEL_MEAN, std = FKE_PIXEL_STD;
    if (has_names && nm->pixel_std > 0) mean = nm->pixel_mean, std = nm->pixel_std;
    else if (m->norm >= 0) { /* task classify: the training set's, saved with the weights */
        fke_tensor t = fke_params_value(&m->P, m->norm);
        mean = t.data[0], std = t.data[1];
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "image_side", c->img);
    cJSON_AddNumberToObject(p, "crop_side", c->crop);
    cJSON_AddNumberToObject(p, "channels", c->in_ch);
    cJSON_AddNumberToObject(p, "pixel_mean", mean);
    cJSON_AddNumberToObject(p, "pixel_std", std);
    if (c->task == FKE_TASK_CLASSIFY) cJSON_AddNumberToObject(p, "pad", c->pad);
    cJSON_AddStringToObject(p, "layout", "planar RGB, rows top to bottom");
    cJSON_AddStringToObject(p, "normalisation", "x = (p / 255 - pixel_mean) / pixel_std");
    cJSON_AddStringToObject(p, "crop_rule",
                            "the garment box clipped to the picture, resized to crop_side x "
                            "crop_side by an exact box filter per axis (fke's fke_image_resize_chw); "
                            "the whole picture resized the same way to image_side");
    meta_json(g, "fke.preprocessing", p);
    fke_onnx_meta(g, "fke.tokenizer",
                  "ASCII letters lowercased; words of ASCII letters, digits and bytes >= 0x80; "
                  "every other byte separates words; '#word' is looked up as '#word', then "
                  "'word'; a word is the lowest id of the equal vocabulary entry (id 0 is "
                  "padding and never matches), else <unk>'s id when the vocabulary has it, else "
                  "dropped; ids cut or padded with 0 to L");
    char inputs[1024];
    if (c->task == FKE_TASK_CLASSIFY)
        snprintf(inputs, sizeof inputs,
                 "image float (images, %d, %d, %d): zero-padded by %d pixels a side, then "
                 "x = (p / 255 - pixel_mean) / pixel_std; outputs: class (images, %d) "
                 "probabilities",
                 c->in_ch, c->img, c->img, c->pad, c->n_cat);
    else
    snprintf(inputs, sizeof inputs,
             "image float (posts, %d, %d, %d); crops float (posts, %d, %d, %d, %d), slots >= "
             "garments ignored; garments int64 (posts) in 0..%d; %s"
             "outputs: occasion (posts, %d), category (posts, %d, %d) and attribute_K "
             "(posts, %d, n_val[K]) probabilities, rows of slots >= garments 0",
             c->in_ch, c->img, c->img, c->G, c->in_ch, c->crop, c->crop, c->G,
             c->text ? "tokens int64 (posts, L) caption token ids; " : "", c->n_occ, c->G,
             c->n_cat, c->G);
    fke_onnx_meta(g, "fke.inputs", inputs);
}

fke_status fke_export_onnx(const char *ckpt, const char *out, const char *version,
                           fke_export_info *info, fke_err *e)
{
    fke_model m;
    FKE_TRY(fke_model_load(&m, ckpt, 0, NULL, e));
    fke_status st = FKE_OK;
    fke_ckpt_names nm;
    memset(&nm, 0, sizeof nm);
    int has_names = 0;
    fke_onnx *g = NULL;
    const char **pn = NULL;
    if ((st = fke_checkpoint_read_names(ckpt, &nm, &has_names, e)) != FKE_OK) goto done;
    g = fke_onnx_new(13);
    pn = calloc((size_t)m.P.n + 1, sizeof *pn);
    if (!g || !pn) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", out);
        goto done;
    }
    ex x = {g, &m, pn};
    if (m.cfg.task == FKE_TASK_FKE) build(&x);
    else build_classify(&x);
    metadata(g, &m, &nm, has_names, version);
    fke_onnx_doc(g, "fke's FashionKE network (docs/model.md), exported by fke export from the "
                    "checkpoint's weights; metadata fke.* describes inputs, labels and "
                    "preprocessing");
    st = fke_onnx_write(g, out, "fke", version, e);
    if (st == FKE_OK && info) {
        double bytes;
        fke_onnx_stats(g, &info->nodes, &info->initializers, &bytes);
        info->params = bytes / 4;
    }
done:
    free(pn);
    fke_onnx_free(g);
    fke_ckpt_names_free(&nm);
    fke_model_free(&m);
    return st;
}
