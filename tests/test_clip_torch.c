/* test_clip_torch.c - fke's transformer and contrastive operations and its
 * ViT tower against PyTorch (tools/torch_clip_ref.py, tests/ref/clip_ops.h5):
 * LayerNorm, GELU, QuickGELU, multi-head self-attention with its
 * projections, the CLIP head (L2 norm, similarity with temperature, symmetric
 * InfoNCE) and a 2-block ViT with CLIP's parameter names, with exact GELU
 * (class token, patch mean) and with QuickGELU (vit_act quick_gelu). Outputs, losses and every
 * gradient must satisfy max|fke - torch| / max|torch| <= 1e-4; the error of
 * each tensor is printed. No Python needed: the reference is in HDF5.
 *
 *   build/tests/test_clip_torch REF.h5 CKPT.h5
 * instead checks group "vit" of REF.h5 with the parameters read from the
 * fke checkpoint file CKPT.h5 (/params/<name>), as tools/torch_clip_vitb32.py
 * writes them for a ViT-B/32-sized tower through tools/torch_to_fke.py (not
 * in CI: about 1 GB); when REF.h5's group "vit" has the attribute
 * quick_gelu = 1 (torch_clip_vitb32.py --quick-gelu) fke's blocks use
 * QuickGELU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/h5.h"
#include "model/vit.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/contrastive.h"
#include "nn/layernorm.h"
#include "nn/linear.h"
#include "test.h"

#define TOL 1e-4
#define REF "tests/ref/clip_ops.h5"

static fke_h5r R;
static fke_h5r C; /* with argv[2]: the converted checkpoint the ViT's parameters come from */
static int have_ckpt;
static double worst;

/* the tensor at path of file h, with ndim dimensions, malloc'ed */
static fke_tensor load_from(fke_h5r *h, const char *path, int ndim)
{
    fke_tensor t;
    memset(&t, 0, sizeof t);
    int dims[FKE_MAXDIM] = {-1, -1, -1, -1, -1};
    t.data = fke_h5r_array(h, h->f, path, H5T_FLOAT, H5T_NATIVE_FLOAT, ndim, dims, 0);
    FKE_CHECK(t.data != NULL, "%s: %s", path, h->e->msg);
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.shape[i] = t.data ? dims[i] : 0;
    return t;
}

/* the reference tensor at path */
static fke_tensor load(const char *path, int ndim) { return load_from(&R, path, ndim); }

/* a zeroed tensor of the shape of like */
static fke_tensor zeros(const fke_tensor *like)
{
    fke_tensor t = *like;
    t.data = calloc(fke_numel(like) ? fke_numel(like) : 1, sizeof(fke_real));
    return t;
}

static void compare(const char *what, const fke_real *a, const char *path, int ndim)
{
    fke_tensor ref = load(path, ndim);
    if (!ref.data) return;
    double md = 0, mr = 0;
    for (size_t i = 0; i < fke_numel(&ref); i++) {
        double d = fabs((double)a[i] - ref.data[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
        if (fabs(ref.data[i]) > mr) mr = fabs(ref.data[i]);
    }
    double r = md / (mr > 1e-12 ? mr : 1e-12);
    FKE_CHECK(r <= TOL, "%s: %s rel err %.3e", what, path, r);
    if (!(r <= worst)) worst = r;
    printf("  %-12s %-58s rel err %.2e\n", what, path, r);
    free(ref.data);
}

static void test_layernorm(fke_err *e)
{
    fke_tensor x = load("layernorm/x", 2), w = load("layernorm/weight", 1);
    fke_tensor b = load("layernorm/bias", 1), r = load("layernorm/r", 2);
    if (!x.data || !w.data || !b.data || !r.data) return;
    fke_tensor y = zeros(&x), dx = zeros(&x), dw = zeros(&w), db = zeros(&b);
    fke_tensor mean = fke_tensor_view(calloc(x.shape[0], sizeof(fke_real)), 1, x.shape[0]);
    fke_tensor rstd = fke_tensor_view(calloc(x.shape[0], sizeof(fke_real)), 1, x.shape[0]);
    fke_status st = fke_layernorm_forward(e, &x, &w, &b, 1e-5, &mean, &rstd, &y);
    if (st == FKE_OK) st = fke_layernorm_backward(e, &x, &w, &mean, &rstd, &r, &dx, &dw, &db);
    FKE_CHECK(st == FKE_OK, "layernorm: %s", e->msg);
    compare("layernorm", y.data, "layernorm/y", 2);
    compare("layernorm", dx.data, "layernorm/grad/x", 2);
    compare("layernorm", dw.data, "layernorm/grad/weight", 1);
    compare("layernorm", db.data, "layernorm/grad/bias", 1);
    fke_tensor *all[] = {&x, &w, &b, &r, &y, &dx, &dw, &db, &mean, &rstd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
}

static void test_gelu(fke_err *e)
{
    fke_tensor x = load("gelu/x", 2), r = load("gelu/r", 2);
    if (!x.data || !r.data) return;
    fke_tensor y = zeros(&x), dx = zeros(&x);
    fke_status st = fke_gelu_forward(e, &x, &y);
    if (st == FKE_OK) st = fke_gelu_backward(e, &x, &r, &dx);
    FKE_CHECK(st == FKE_OK, "gelu: %s", e->msg);
    compare("gelu", y.data, "gelu/y", 2);
    compare("gelu", dx.data, "gelu/grad/x", 2);
    free(x.data), free(r.data), free(y.data), free(dx.data);
}

/* OpenAI's QuickGELU, x * sigmoid(1.702 x); and the loss sum(y * r) */
static void test_quick_gelu(fke_err *e)
{
    fke_tensor x = load("quick_gelu/x", 2), r = load("quick_gelu/r", 2);
    if (!x.data || !r.data) return;
    fke_tensor y = zeros(&x), dx = zeros(&x);
    fke_status st = fke_quick_gelu_forward(e, &x, &y);
    if (st == FKE_OK) st = fke_quick_gelu_backward(e, &x, &r, &dx);
    FKE_CHECK(st == FKE_OK, "quick_gelu: %s", e->msg);
    double L = 0;
    for (size_t i = 0; i < fke_numel(&y); i++) L += (double)y.data[i] * r.data[i];
    fke_real l = (fke_real)L;
    compare("quick_gelu", y.data, "quick_gelu/y", 2);
    compare("quick_gelu", &l, "quick_gelu/loss", 1);
    compare("quick_gelu", dx.data, "quick_gelu/grad/x", 2);
    free(x.data), free(r.data), free(y.data), free(dx.data);
}

/* nn.MultiheadAttention = linear in, attention, linear out */
static void test_mha(fke_err *e)
{
    fke_tensor x = load("mha/x", 3), r = load("mha/r", 3);
    fke_tensor Wi = load("mha/in_proj_weight", 2), bi = load("mha/in_proj_bias", 1);
    fke_tensor Wo = load("mha/out_proj.weight", 2), bo = load("mha/out_proj.bias", 1);
    if (!x.data || !r.data || !Wi.data || !bi.data || !Wo.data || !bo.data) return;
    int B = x.shape[0], T = x.shape[1], E = x.shape[2], H = 2, N = B * T;
    fke_tensor x2 = fke_tensor_view(x.data, 2, N, E), r2 = fke_tensor_view(r.data, 2, N, E);
    fke_tensor qkv = fke_tensor_view(calloc((size_t)N * 3 * E, sizeof(fke_real)), 3, B, T, 3 * E);
    fke_tensor dqkv = zeros(&qkv), att = fke_tensor_view(
        calloc((size_t)B * H * T * T, sizeof(fke_real)), 4, B, H, T, T);
    fke_tensor ctx = zeros(&x), dctx = zeros(&x), y = zeros(&x), dx = zeros(&x);
    fke_tensor dWi = zeros(&Wi), dbi = zeros(&bi), dWo = zeros(&Wo), dbo = zeros(&bo);
    fke_tensor qkv2 = fke_tensor_view(qkv.data, 2, N, 3 * E), dqkv2 = fke_tensor_view(dqkv.data, 2, N, 3 * E);
    fke_tensor ctx2 = fke_tensor_view(ctx.data, 2, N, E), dctx2 = fke_tensor_view(dctx.data, 2, N, E);
    fke_tensor y2 = fke_tensor_view(y.data, 2, N, E), dx2 = fke_tensor_view(dx.data, 2, N, E);
    fke_status st = fke_linear_forward(e, &x2, &Wi, &bi, &qkv2);
    if (st == FKE_OK) st = fke_attention_forward(e, &qkv, H, &att, &ctx);
    if (st == FKE_OK) st = fke_linear_forward(e, &ctx2, &Wo, &bo, &y2);
    if (st == FKE_OK) st = fke_linear_backward(e, &ctx2, &Wo, &r2, &dctx2, &dWo, &dbo);
    if (st == FKE_OK) st = fke_attention_backward(e, &qkv, H, &att, &dctx, &dqkv);
    if (st == FKE_OK) st = fke_linear_backward(e, &x2, &Wi, &dqkv2, &dx2, &dWi, &dbi);
    FKE_CHECK(st == FKE_OK, "mha: %s", e->msg);
    compare("attention", y.data, "mha/y", 3);
    compare("attention", dx.data, "mha/grad/x", 3);
    compare("attention", dWi.data, "mha/grad/in_proj_weight", 2);
    compare("attention", dbi.data, "mha/grad/in_proj_bias", 1);
    compare("attention", dWo.data, "mha/grad/out_proj.weight", 2);
    compare("attention", dbo.data, "mha/grad/out_proj.bias", 1);
    fke_tensor *all[] = {&x, &r, &Wi, &bi, &Wo, &bo, &qkv, &dqkv, &att, &ctx,
                         &dctx, &y, &dx, &dWi, &dbi, &dWo, &dbo};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
}

static void test_clip_head(fke_err *e)
{
    fke_tensor a = load("clip_head/img_emb", 2), b = load("clip_head/txt_emb", 2);
    fke_tensor t = load("clip_head/logit_scale", 1);
    if (!a.data || !b.data || !t.data) return;
    int N = a.shape[0];
    fke_tensor na = fke_tensor_view(calloc(N, sizeof(fke_real)), 1, N), nb = zeros(&na);
    fke_tensor ua = zeros(&a), ub = zeros(&b), dua = zeros(&a), dub = zeros(&b);
    fke_tensor da = zeros(&a), db = zeros(&b), dt = zeros(&t);
    fke_tensor z = fke_tensor_view(calloc((size_t)N * N, sizeof(fke_real)), 2, N, N), dz = zeros(&z);
    double loss = NAN, acc[2];
    fke_status st = fke_l2norm_forward(e, &a, &na, &ua);
    if (st == FKE_OK) st = fke_l2norm_forward(e, &b, &nb, &ub);
    if (st == FKE_OK) st = fke_similarity_forward(e, &ua, &ub, &t, &z);
    if (st == FKE_OK) st = fke_infonce_forward(e, &z, &loss, acc);
    if (st == FKE_OK) st = fke_infonce_backward(e, &z, 1.0, &dz);
    if (st == FKE_OK) st = fke_similarity_backward(e, &ua, &ub, &t, &z, &dz, &dua, &dub, &dt);
    if (st == FKE_OK) st = fke_l2norm_backward(e, &ua, &na, &dua, &da);
    if (st == FKE_OK) st = fke_l2norm_backward(e, &ub, &nb, &dub, &db);
    FKE_CHECK(st == FKE_OK, "clip head: %s", e->msg);
    fke_real l = (fke_real)loss;
    compare("clip_head", z.data, "clip_head/logits", 2);
    compare("clip_head", &l, "clip_head/loss", 1);
    compare("clip_head", da.data, "clip_head/grad/img_emb", 2);
    compare("clip_head", db.data, "clip_head/grad/txt_emb", 2);
    compare("clip_head", dt.data, "clip_head/grad/logit_scale", 1);
    fke_tensor *all[] = {&a, &b, &t, &na, &nb, &ua, &ub, &dua, &dub, &da, &db, &dt, &z, &dz};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
}

static int attr(hid_t g, const char *name)
{
    int v = -1;
    FKE_CHECK(fke_h5r_attr(g, name, H5T_NATIVE_INT, &v, 1) == 0, "vit attribute %s missing", name);
    return v;
}

/* the integer attribute name of g, or dflt when g has none */
static int attr_or(hid_t g, const char *name, int dflt)
{
    int v = dflt;
    if (H5Aexists(g, name) > 0) FKE_CHECK(fke_h5r_attr(g, name, H5T_NATIVE_INT, &v, 1) == 0,
                                          "vit attribute %s unreadable", name);
    return v;
}

/* group "vit" (the class token), "vit_mean" (vit_pool mean) or "vit_quick"
 * (vit_act quick_gelu; also the loss sum(y * r), where the group has one) */
static void test_vit(fke_err *e, const char *grp, int mean_pool, int quick_gelu)
{
    hid_t g = H5Gopen2(R.f, grp, H5P_DEFAULT);
    FKE_CHECK(g >= 0, "no group %s", grp);
    if (g < 0) return;
    int S = attr(g, "img"), p = attr(g, "patch"), E = attr(g, "width"), depth = attr(g, "depth");
    int heads = attr(g, "heads"), mlp = attr(g, "mlp"), D = attr(g, "out_dim");
    quick_gelu = attr_or(g, "quick_gelu", quick_gelu);
    int has_loss = H5Lexists(g, "loss", H5P_DEFAULT) > 0;
    H5Gclose(g);
    fke_params P;
    fke_params_init(&P);
    fke_vit v;
    fke_status st = fke_vit_build(&v, &P, e, S, 3, p, E, depth, heads, mlp, D, 1);
    v.mean_pool = mean_pool;
    v.quick_gelu = quick_gelu;
    if (st == FKE_OK) st = fke_params_finalize(&P, e);
    FKE_CHECK(st == FKE_OK, "vit build: %s", e->msg);
    if (st != FKE_OK) return;
    int count = 0;
    for (int i = 0; i < P.n; i++) {
        char path[160];
        if (have_ckpt) snprintf(path, sizeof path, "params/%s", P.info[i].name);
        else snprintf(path, sizeof path, "%s/params/%s", grp, P.info[i].name);
        fke_tensor w = have_ckpt ? load_from(&C, path, P.info[i].ndim) : load(path, P.info[i].ndim);
        FKE_CHECK(w.data && fke_numel(&w) == P.info[i].numel, "%s: another size", path);
        if (w.data && fke_numel(&w) == P.info[i].numel) {
            memcpy(P.w + P.info[i].offset, w.data, P.info[i].numel * sizeof(fke_real));
            count++;
        }
        free(w.data);
    }
    printf("  %s: %d of %d parameters loaded by CLIP's names%s, %s\n", grp, count, P.n,
           have_ckpt ? " from the converted checkpoint" : "", quick_gelu ? "QuickGELU" : "GELU");
    char px[64], pr[64], py[64];
    snprintf(px, sizeof px, "%s/input/img", grp);
    snprintf(pr, sizeof pr, "%s/r", grp);
    snprintf(py, sizeof py, "%s/output/y", grp);
    fke_tensor x = load(px, 4), r = load(pr, 2);
    fke_arena a;
    st = fke_arena_init(&a, (size_t)(have_ckpt ? 4096 : 16) << 20, e);
    fke_tensor out = zeros(&r);
    fke_vit_tape tape;
    if (st == FKE_OK && x.data && r.data) st = fke_vit_forward(&v, &P, &a, e, &x, &tape, &out);
    fke_params_zero_grad(&P);
    if (st == FKE_OK && x.data && r.data) st = fke_vit_backward(&v, &P, e, &tape, &r);
    FKE_CHECK(st == FKE_OK, "vit: %s", e->msg);
    if (st == FKE_OK) {
        compare(grp, out.data, py, 2);
        if (has_loss) {
            double L = 0;
            for (size_t i = 0; i < fke_numel(&out); i++) L += (double)out.data[i] * r.data[i];
            fke_real l = (fke_real)L;
            char pl[64];
            snprintf(pl, sizeof pl, "%s/loss", grp);
            compare(grp, &l, pl, 1);
        }
        for (int i = 0; i < P.n; i++) {
            char path[160];
            snprintf(path, sizeof path, "%s/grad/%s", grp, P.info[i].name);
            compare(grp, P.g + P.info[i].offset, path, P.info[i].ndim);
        }
    }
    fke_arena_free(&a);
    fke_params_free(&P);
    free(x.data), free(r.data), free(out.data);
}

int main(int argc, char **argv)
{
    fke_err e = {{0}};
    fke_set_threads(1);
    const char *ref = argc == 3 ? argv[1] : REF;
    fke_status st = fke_h5r_open(&R, ref, "fke-ref", 1, "reference", &e);
    FKE_CHECK(st == FKE_OK, "%s", e.msg);
    if (st != FKE_OK) return fke_test_summary("clip_torch");
    if (argc == 3) { /* a converted full-size ViT (tools/torch_clip_vitb32.py) */
        fke_err e2 = {{0}};
        st = fke_h5r_open(&C, argv[2], "fke-checkpoint", 1, "converted checkpoint", &e2);
        FKE_CHECK(st == FKE_OK, "%s", e2.msg);
        have_ckpt = st == FKE_OK;
        if (have_ckpt) test_vit(&e, "vit", 0, 0);
        FKE_CHECK(R.st == FKE_OK && (!have_ckpt || C.st == FKE_OK), "reading %s, %s", ref, argv[2]);
        if (have_ckpt) fke_h5r_close(&C);
        fke_h5r_close(&R);
        printf("  worst relative error over every tensor: %.2e (tolerance %.0e)\n", worst, TOL);
        return fke_test_summary("clip_torch");
    }
    test_layernorm(&e);
    test_gelu(&e);
    test_quick_gelu(&e);
    test_mha(&e);
    test_clip_head(&e);
    test_vit(&e, "vit", 0, 0);
    test_vit(&e, "vit_mean", 1, 0);
    test_vit(&e, "vit_quick", 0, 1);
    FKE_CHECK(R.st == FKE_OK, "reading %s: %s", REF, e.msg);
    fke_h5r_close(&R);
    printf("  worst relative error over every tensor: %.2e (tolerance %.0e)\n", worst, TOL);
    return fke_test_summary("clip_torch");
}
