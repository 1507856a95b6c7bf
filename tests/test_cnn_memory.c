/* test_cnn_memory.c - the CNN trunk's memory plan (cnn.h, "Memory"; issue 16):
 *  - a batch-norm output rebuilt from its input and the forward's fold
 *    (fke_batchnorm_act_apply) has the bits the forward stored, at training
 *    and eval, with and without ReLU; the fused backward in place (dx = dy)
 *    gives the bits of the one into a separate dx, and is refused with a pool;
 *  - the plan of ResNet-18: each block's first conv output rebuilt, each add
 *    over its conv's output, each downsample in the scratch; fke-small's
 *    trunk (every output pooled) keeps everything;
 *  - both trunks with the plan against the same trunk keeping every
 *    activation (fke_cnn_plan_memory(c, 0)): features, running statistics,
 *    parameter and input gradients the same bits, at training and eval, at 1
 *    and 2 threads, and with sync_bn's statistics (a reducer that doubles);
 *  - the arena: the forward holds no more than the conv outputs, the outputs
 *    the backward reads (pooled, the adds'), the pool codes, one scratch and
 *    64 bytes a tensor (a bound computed from the tape's shapes, which the
 *    keep-everything trunk exceeds); the backward's own peak stays under what
 *    is live at once (the largest conv output's gradient and the largest
 *    activation's, or three of the latter) and the convolutions' workspace
 *    (the sum of every gradient, what it held before, exceeds it); and the
 *    backward gives the arena back. */
#include "model/cnn.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

static fke_arena A;

static fke_tensor mk(int ndim, int d0, int d1, int d2, int d3)
{
    fke_tensor t;
    fke_err e;
    fke_status s = ndim == 4   ? fke_arena_tensor(&A, &e, &t, 4, d0, d1, d2, d3)
                   : ndim == 2 ? fke_arena_tensor(&A, &e, &t, 2, d0, d1)
                               : fke_arena_tensor(&A, &e, &t, 1, d0);
    if (s != FKE_OK) {
        printf("test_cnn_memory: %s\n", e.msg);
        exit(1);
    }
    return t;
}

static int same(const fke_tensor *a, const fke_tensor *b)
{
    return fke_numel(a) == fke_numel(b) &&
           memcmp(a->data, b->data, fke_numel(a) * sizeof(fke_real)) == 0;
}

static size_t bytes64(size_t b) { return (b + 63) & ~(size_t)63; }
static size_t tbytes(const fke_tensor *t) { return bytes64(fke_numel(t) * sizeof(fke_real)); }

/* ---- the op: rebuilt output, in-place backward ------------------------------ */
static void check_rebuild(fke_rng *r, int train, int relu, int N, int C, int H, int W)
{
    size_t mark = A.used;
    fke_err e;
    fke_tensor x = mk(4, N, C, H, W), g = mk(1, C, 0, 0, 0), b = mk(1, C, 0, 0, 0);
    fke_tensor rm = mk(1, C, 0, 0, 0), rv = mk(1, C, 0, 0, 0);
    fke_test_fill(r, &x, -2, 2), fke_test_fill(r, &g, 0.5, 1.5), fke_test_fill(r, &b, -0.5, 0.5);
    fke_test_fill(r, &rm, -0.3, 0.3), fke_test_fill(r, &rv, 0.5, 1.5);
    fke_tensor mean = mk(1, C, 0, 0, 0), istd = mk(1, C, 0, 0, 0), fold = mk(2, 2, C, 0, 0);
    fke_tensor y = mk(4, N, C, H, W), y2 = mk(4, N, C, H, W);
    fke_bn_act act = {.relu = relu};
    FKE_CHECK(fke_batchnorm_act_forward_sync(&e, &x, &g, &b, &rm, &rv, train, act, &mean, &istd,
                                             &y, NULL, &fold, NULL) == FKE_OK, "%s", e.msg);
    fke_test_fill(r, &y2, 7, 8); /* overwritten */
    FKE_CHECK(fke_batchnorm_act_apply(&e, &x, &fold, relu, &y2) == FKE_OK, "%s", e.msg);
    FKE_CHECK(same(&y, &y2), "rebuilt output, train %d relu %d (%d,%d,%d,%d): not the stored bits",
              train, relu, N, C, H, W);
    int zeros = 0;
    for (size_t i = 0; i < fke_numel(&y); i++) zeros += y.data[i] == 0;
    FKE_CHECK(!relu || zeros > 0, "relu %d: no value was clipped, the mask is not exercised", relu);

    /* backward into a separate dx, and over dy itself */
    fke_tensor dy = mk(4, N, C, H, W), dx = mk(4, N, C, H, W), dyi = mk(4, N, C, H, W);
    fke_test_fill(r, &dy, -1, 1);
    memcpy(dyi.data, dy.data, fke_numel(&dy) * sizeof(fke_real));
    fke_tensor dg = mk(1, C, 0, 0, 0), db = mk(1, C, 0, 0, 0);
    fke_tensor dg2 = mk(1, C, 0, 0, 0), db2 = mk(1, C, 0, 0, 0);
    FKE_CHECK(fke_batchnorm_act_backward(&e, &x, &g, &mean, &istd, act, &y, NULL, &dy, train, &dx,
                                         &dg, &db) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_batchnorm_act_backward(&e, &x, &g, &mean, &istd, act, &y, NULL, &dyi, train,
                                         &dyi, &dg2, &db2) == FKE_OK, "%s", e.msg);
    FKE_CHECK(same(&dx, &dyi) && same(&dg, &dg2) && same(&db, &db2),
              "backward in place, train %d relu %d: not the bits of the one into dx", train, relu);
    A.used = mark;
}

static void test_op_errors(void)
{
    size_t mark = A.used;
    fke_err e;
    fke_tensor x = mk(4, 2, 3, 4, 4), fold = mk(2, 2, 4, 0, 0), y = mk(4, 2, 3, 4, 4);
    FKE_CHECK(fke_batchnorm_act_apply(&e, &x, &fold, 1, &y) == FKE_ERR_SHAPE &&
              strstr(e.msg, "fold"), "a fold of 4 channels for 3 accepted: %s", e.msg);
    fke_tensor g = mk(1, 3, 0, 0, 0), m = mk(1, 3, 0, 0, 0), d = mk(4, 2, 3, 2, 2);
    uint8_t idx[64] = {0};
    fke_bn_act act = {.relu = 1, .pool = 2};
    /* a 2x2 pool: dy (2, 3, 2, 2) cannot be dx (2, 3, 4, 4), but the same data */
    fke_tensor dx = x;
    dx.data = d.data;
    FKE_CHECK(fke_batchnorm_act_backward(&e, &x, &g, &m, &m, act, &d, idx, &d, 1, &dx, NULL,
                                         NULL) == FKE_ERR_ARG && strstr(e.msg, "only without"),
              "in place with a pool accepted: %s", e.msg);
    A.used = mark;
}

/* ---- the plan ---------------------------------------------------------------- */
static int count_mem(const fke_cnn *c, int kind)
{
    int n = 0;
    for (int i = 0; i < c->nstep; i++) n += c->step[i].op == FKE_CNN_CONVBN && c->mem[i] == kind;
    return n;
}

static int count_over(const fke_cnn *c)
{
    int n = 0;
    for (int i = 0; i < c->nstep; i++) n += c->step[i].op == FKE_CNN_ADDRELU && c->over[i] != 0;
    return n;
}

typedef struct {
    fke_cnn c;
    fke_params P;
} trunk;

static void trunk_build(trunk *t, fke_rng *r, fke_cnn_kind kind)
{
    fke_err e;
    fke_params_init(&t->P);
    int chans[3] = {8, 16, 32}; /* ResNet-18: width 8 */
    FKE_CHECK(fke_cnn_build(&t->c, &t->P, &e, kind, 3, chans, 1, 1) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_params_finalize(&t->P, &e) == FKE_OK, "%s", e.msg);
    fke_cnn_init_weights(&t->c, &t->P, r);
}

static void test_plan(fke_rng *r)
{
    trunk t;
    trunk_build(&t, r, FKE_CNN_RESNET18);
    /* 8 blocks: conv1 rebuilt, the add over conv2; 3 downsamples in the scratch */
    FKE_CHECK(count_mem(&t.c, FKE_CNN_REBUILD) == 8, "resnet18: %d outputs rebuilt, not 8",
              count_mem(&t.c, FKE_CNN_REBUILD));
    FKE_CHECK(count_mem(&t.c, FKE_CNN_SCRATCH) == 3, "resnet18: %d outputs in the scratch, not 3",
              count_mem(&t.c, FKE_CNN_SCRATCH));
    FKE_CHECK(count_over(&t.c) == 8, "resnet18: %d adds in place, not 8", count_over(&t.c));
    fke_cnn_plan_memory(&t.c, 0);
    FKE_CHECK(count_mem(&t.c, FKE_CNN_KEEP) == 20 && count_over(&t.c) == 0,
              "resnet18 keeping everything: %d of 20 kept, %d adds in place",
              count_mem(&t.c, FKE_CNN_KEEP), count_over(&t.c));
    fke_params_free(&t.P);
    trunk_build(&t, r, FKE_CNN_SMALL);
    FKE_CHECK(count_mem(&t.c, FKE_CNN_KEEP) == 3, "small: %d of 3 conv steps kept",
              count_mem(&t.c, FKE_CNN_KEEP));
    fke_params_free(&t.P);
}

/* ---- the trunk: same bits as keeping everything, and the arena ----------------- */
typedef struct {
    size_t fwd, bwd_peak; /* arena bytes the forward left held; the backward's own peak */
    size_t after_bwd;     /* arena bytes held after the backward, less those before it */
} arena_use;

/* forward + backward from the same weights; feat, grads (P.total), dx and the
 * weights after (running statistics moved) out */
static void trunk_run(trunk *t, const fke_tensor *x, int train, fke_tensor *feat, fke_tensor *gr,
                      fke_tensor *dx, fke_tensor *w_after, const fke_real *w0, arena_use *u,
                      fke_cnn_tape *tape)
{
    fke_err e;
    size_t mark = A.used;
    memcpy(t->P.w, w0, t->P.total * sizeof(fke_real));
    fke_params_zero_grad(&t->P);
    memset(dx->data, 0, fke_numel(dx) * sizeof(fke_real));
    FKE_CHECK(fke_cnn_forward(&t->c, &t->P, &A, &e, x, train, 0, tape, feat) == FKE_OK, "%s",
              e.msg);
    u->fwd = A.used - mark;
    fke_tensor df = mk(2, feat->shape[0], feat->shape[1], 0, 0);
    for (size_t i = 0; i < fke_numel(&df); i++) df.data[i] = (fke_real)(0.01 * (i % 17) - 0.08);
    size_t before = A.used, peak0 = A.peak;
    A.peak = A.used;
    FKE_CHECK(fke_cnn_backward(&t->c, &t->P, &A, &e, tape, &df, dx) == FKE_OK, "%s", e.msg);
    u->bwd_peak = A.peak - before;
    u->after_bwd = A.used - before;
    if (peak0 > A.peak) A.peak = peak0;
    memcpy(gr->data, t->P.g, t->P.total * sizeof(fke_real));
    memcpy(w_after->data, t->P.w, t->P.total * sizeof(fke_real));
    A.used = mark;
}

/* What the forward must hold: every conv output, the outputs the backward
 * reads (a pooled output and its codes, an add's output, the features), one
 * scratch for the rest, and 64 bytes of rounding and statistics a tensor. */
static size_t forward_bound(const fke_cnn *c, const fke_cnn_tape *t, size_t *largest_out)
{
    size_t b = 0, scratch = 0;
    *largest_out = 0;
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        const fke_tensor *out = &t->slot[s->out];
        if (out->data && tbytes(out) > *largest_out) *largest_out = tbytes(out);
        if (s->op == FKE_CNN_CONVBN) {
            const fke_tensor *co = &t->conv_out[i];
            b += tbytes(co) + 4 * 64 + 3 * bytes64((size_t)co->shape[1] * sizeof(fke_real));
            if (t->pool_idx[i]) {
                const fke_tensor *po = &t->slot[c->step[i + 1].out];
                b += tbytes(po) + bytes64(fke_numel(po));
            } else if (tbytes(out) > scratch) {
                scratch = tbytes(out);
            }
        } else if (s->op == FKE_CNN_ADDRELU || s->op == FKE_CNN_GAP) {
            b += tbytes(out) + 64;
        }
    }
    return b + scratch;
}

/* sync_bn as two processes with the same batch: every sum doubled */
static fke_status twice(void *ctx, double *buf, int n, fke_err *e)
{
    (void)ctx, (void)e;
    for (int i = 0; i < n; i++) buf[i] *= 2;
    return FKE_OK;
}

static void test_trunk(fke_rng *r, fke_cnn_kind kind, int N, int S)
{
    const char *name = kind == FKE_CNN_RESNET18 ? "resnet18" : "small";
    trunk t;
    trunk_build(&t, r, kind);
    size_t mark = A.used;
    fke_tensor x = mk(4, N, 3, S, S);
    fke_test_fill(r, &x, -1, 1);
    fke_real *w0 = malloc(t.P.total * sizeof(fke_real));
    memcpy(w0, t.P.w, t.P.total * sizeof(fke_real));
    int P = (int)t.P.total;
    const fke_reducer two = {twice, NULL};
    fke_real *w_local = malloc(t.P.total * sizeof(fke_real));
    for (int train = 0; train < 2; train++)
        for (int thr = 1; thr <= 2; thr++)
        for (int sy = 0; sy <= (train && thr == 2); sy++) { /* sync_bn once */
            omp_set_num_threads(thr);
            t.c.sync = sy ? &two : NULL;
            fke_tensor feat[2], gr[2], dx[2], wa[2];
            arena_use u[2];
            fke_cnn_tape tape[2];
            for (int save = 0; save < 2; save++) { /* 0: every activation kept */
                fke_cnn_plan_memory(&t.c, save);
                feat[save] = mk(2, N, t.c.out_dim, 0, 0);
                gr[save] = mk(1, P, 0, 0, 0), wa[save] = mk(1, P, 0, 0, 0);
                dx[save] = mk(4, N, 3, S, S);
                trunk_run(&t, &x, train, &feat[save], &gr[save], &dx[save], &wa[save], w0,
                          &u[save], &tape[save]);
            }
            FKE_CHECK(same(&feat[0], &feat[1]) && same(&wa[0], &wa[1]),
                      "%s train %d, %d threads, sync %d: features or running statistics differ "
                      "from keeping every activation", name, train, thr, sy);
            FKE_CHECK(same(&gr[0], &gr[1]) && same(&dx[0], &dx[1]),
                      "%s train %d, %d threads, sync %d: gradients differ from keeping every "
                      "activation", name, train, thr, sy);
            if (train && thr == 2 && !sy) memcpy(w_local, wa[1].data, (size_t)P * sizeof(fke_real));
            if (sy) /* the running variance saw twice the values: the sync path ran */
                FKE_CHECK(memcmp(w_local, wa[1].data, (size_t)P * sizeof(fke_real)) != 0,
                          "%s: sync_bn left the running statistics of the local op", name);
            double gmax = 0, dmax = 0;
            for (int i = 0; i < P; i++) gmax = fmax(gmax, fabs(gr[1].data[i]));
            for (size_t i = 0; i < fke_numel(&dx[1]); i++) dmax = fmax(dmax, fabs(dx[1].data[i]));
            FKE_CHECK(gmax > 1e-4 && dmax > 1e-6, "%s: gradients ~0 (%.2e, dx %.2e)", name, gmax,
                      dmax);

            /* the arena (tape[1] is the plan's; its tensors were given back, shapes remain) */
            size_t largest, fb = forward_bound(&t.c, &tape[1], &largest);
            size_t conv_max = 0, ws = 0, every = 0;
            for (int i = 0; i < t.c.nstep; i++) {
                const fke_cnn_step *s = &t.c.step[i];
                if (s->op != FKE_CNN_CONVBN) continue;
                fke_tensor w = fke_params_value(&t.P, s->conv);
                fke_conv2d_opt o = {.stride = s->stride, .pad = s->pad, .bf16 = 0};
                size_t wb = fke_conv2d_workspace_bytes(&tape[1].slot[s->in], &w, o, 1);
                if (wb > ws) ws = wb;
                size_t cb = tbytes(&tape[1].conv_out[i]);
                if (cb > conv_max) conv_max = cb;
                every += cb + tbytes(&tape[1].slot[s->in]); /* dconv and din of each */
            }
            /* live at once: a fused pool's dconv and dout, or a block's three (its input's,
             * the branch's, the conv's), and the workspace */
            size_t bb = (conv_max + largest > 3 * largest ? conv_max + largest : 3 * largest) + ws;
            printf("  %s train %d, %d threads, sync %d: forward %zu B (bound %zu, keeping every "
                   "activation %zu); backward peak %zu B (bound %zu, every gradient kept "
                   ">= %zu)\n",
                   name, train, thr, sy, u[1].fwd, fb, u[0].fwd, u[1].bwd_peak, bb, every);
            FKE_CHECK(u[1].fwd <= fb, "%s: the forward holds %zu bytes, more than the %zu it "
                      "needs", name, u[1].fwd, fb);
            FKE_CHECK(kind != FKE_CNN_RESNET18 || u[0].fwd > fb, "%s: keeping every activation "
                      "(%zu B) fits the bound %zu: the bound proves nothing", name, u[0].fwd, fb);
            /* keeping every gradient needs the workspace too: with Winograd's
             * (U and dU, 16 x O x C each) it outweighs the small trunk's tensors */
            FKE_CHECK(u[1].bwd_peak <= bb && every + ws > bb, "%s: the backward's peak %zu B, "
                      "bound %zu (every gradient %zu + workspace %zu)", name, u[1].bwd_peak, bb,
                      every, ws);
            FKE_CHECK(u[0].after_bwd == 0 && u[1].after_bwd == 0,
                      "%s: the backward left %zu / %zu bytes held", name, u[0].after_bwd,
                      u[1].after_bwd);
            A.used = mark + tbytes(&x);
        }
    omp_set_num_threads(2);
    t.c.sync = NULL;
    fke_cnn_plan_memory(&t.c, 1);
    free(w0);
    free(w_local);
    A.used = mark;
    fke_params_free(&t.P);
}

int main(void)
{
    openblas_set_num_threads(1);
    fke_err e;
    if (fke_arena_init(&A, 256u << 20, &e)) {
        printf("test_cnn_memory: %s\n", e.msg);
        return 1;
    }
    fke_rng r;
    fke_rng_seed(&r, 164);
    int shapes[][4] = {{3, 5, 8, 8}, {2, 4, 7, 9}, {4, 3, 1, 1}};
    for (int s = 0; s < 3; s++)
        for (int train = 0; train < 2; train++)
            for (int relu = 0; relu < 2; relu++)
                check_rebuild(&r, train, relu, shapes[s][0], shapes[s][1], shapes[s][2],
                              shapes[s][3]);
    test_op_errors();
    test_plan(&r);
    /* enough images that the gradients, not the convolutions' workspace, decide the peak */
    test_trunk(&r, FKE_CNN_RESNET18, 12, 64);
    test_trunk(&r, FKE_CNN_SMALL, 12, 32);
    fke_arena_free(&A);
    return fke_test_summary("cnn_memory");
}
