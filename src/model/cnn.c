/* cnn.c - see cnn.h. */
#include "model/cnn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/gemm_bf16.h"
#include "nn/pool.h"
#include "nn/tensor_ops.h"

typedef struct {
    fke_cnn *c;
    fke_params *P;
    fke_err *e;
    float lr_mult;
    int nstats;
} builder;

static int new_slot(fke_cnn *c) { return c->nslot++; }

static fke_status add_convbn(builder *b, const char *conv_name, const char *bn_name, int in,
                             int cin, int cout, int k, int stride, int pad, int relu, int *out)
{
    fke_cnn *c = b->c;
    if (c->nstep >= FKE_CNN_MAXSTEP || c->nslot >= FKE_CNN_MAXSLOT)
        return fke_fail(b->e, FKE_ERR_ARG, "cnn: too many layers");
    fke_cnn_step *s = &c->step[c->nstep++];
    memset(s, 0, sizeof *s);
    s->op = FKE_CNN_CONVBN;
    s->in = in;
    s->out = *out = new_slot(c);
    s->k = k;
    s->stride = stride;
    s->pad = pad;
    s->relu = relu;
    s->cin = cin;
    s->cout = cout;
    char name[FKE_PARAM_NAME];
    snprintf(name, sizeof name, "cnn.%s.weight", conv_name);
    s->conv = fke_params_add(b->P, b->e, name, b->lr_mult, 1, 1, 4, cout, cin, k, k);
    static const char *bn_fields[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "cnn.%s.%s", bn_name, bn_fields[i]);
        s->bn[i] = fke_params_add(b->P, b->e, name, b->lr_mult, 1, i < 2, 1, cout);
    }
    if (s->conv < 0 || s->bn[0] < 0 || s->bn[1] < 0 || s->bn[2] < 0 || s->bn[3] < 0)
        return FKE_ERR_ARG;
    s->bn_crop[0] = s->bn_crop[1] = -1;
    for (int i = 0; b->nstats == 2 && i < 2; i++) {
        snprintf(name, sizeof name, "cnn.%s.%s_crop", bn_name, bn_fields[2 + i]);
        if ((s->bn_crop[i] = fke_params_add(b->P, b->e, name, b->lr_mult, 1, 0, 1, cout)) < 0)
            return FKE_ERR_ARG;
    }
    return FKE_OK;
}

static fke_status add_simple(builder *b, fke_cnn_op op, int in, int in2, int k, int stride,
                             int pad, int *out)
{
    fke_cnn *c = b->c;
    if (c->nstep >= FKE_CNN_MAXSTEP || c->nslot >= FKE_CNN_MAXSLOT)
        return fke_fail(b->e, FKE_ERR_ARG, "cnn: too many layers");
    fke_cnn_step *s = &c->step[c->nstep++];
    memset(s, 0, sizeof *s);
    s->op = op;
    s->in = in;
    s->in2 = in2;
    s->k = k;
    s->stride = stride;
    s->pad = pad;
    s->out = *out = new_slot(c);
    return FKE_OK;
}

/* body.{0,1,2,3} = conv, bn, relu, pool; 4 modules per stage */
static fke_status build_small(builder *b, const int *chans, int *x)
{
    char cn[48], bn[48];
    int cin = b->c->in_ch, y;
    for (int s = 0; s < 3; s++) {
        snprintf(cn, sizeof cn, "body.%d", 4 * s);
        snprintf(bn, sizeof bn, "body.%d", 4 * s + 1);
        FKE_TRY(add_convbn(b, cn, bn, *x, cin, chans[s], 3, 1, 1, 1, &y));
        FKE_TRY(add_simple(b, FKE_CNN_MAXPOOL, y, -1, 2, 2, 0, x));
        cin = chans[s];
    }
    b->c->out_dim = cin;
    return FKE_OK;
}

/* resnet18 with torchvision's layout and names, of width chans[0] */
static fke_status build_resnet18(builder *b, const int *chans, int *x)
{
    char cn[48], bn[48];
    int w = chans[0], y;
    FKE_TRY(add_convbn(b, "conv1", "bn1", *x, b->c->in_ch, w, 7, 2, 3, 1, &y));
    FKE_TRY(add_simple(b, FKE_CNN_MAXPOOL, y, -1, 3, 2, 1, x));
    int cin = w;
    for (int l = 0; l < 4; l++) {
        int cout = w << l;
        for (int blk = 0; blk < 2; blk++) {
            int stride = (l > 0 && blk == 0) ? 2 : 1, a, r, sc = *x;
            char pre[32];
            snprintf(pre, sizeof pre, "layer%d.%d", l + 1, blk);
            snprintf(cn, sizeof cn, "%s.conv1", pre);
            snprintf(bn, sizeof bn, "%s.bn1", pre);
            FKE_TRY(add_convbn(b, cn, bn, *x, cin, cout, 3, stride, 1, 1, &a));
            snprintf(cn, sizeof cn, "%s.conv2", pre);
            snprintf(bn, sizeof bn, "%s.bn2", pre);
            FKE_TRY(add_convbn(b, cn, bn, a, cout, cout, 3, 1, 1, 0, &r));
            if (stride != 1 || cin != cout) {
                snprintf(cn, sizeof cn, "%s.downsample.0", pre);
                snprintf(bn, sizeof bn, "%s.downsample.1", pre);
                FKE_TRY(add_convbn(b, cn, bn, *x, cin, cout, 1, stride, 0, 0, &sc));
            }
            FKE_TRY(add_simple(b, FKE_CNN_ADDRELU, r, sc, 0, 0, 0, x));
            cin = cout;
        }
    }
    b->c->out_dim = cin;
    return FKE_OK;
}

static fke_status build_body(builder *b, fke_cnn_kind kind, const int *chans, int *x)
{
    switch (kind) {
    case FKE_CNN_SMALL: return build_small(b, chans, x);
    case FKE_CNN_RESNET18: return build_resnet18(b, chans, x);
    }
    return fke_fail(b->e, FKE_ERR_ARG, "cnn: kind %d is not a known kind", (int)kind);
}

fke_status fke_cnn_build(fke_cnn *c, fke_params *P, fke_err *e, fke_cnn_kind kind, int in_ch,
                         const int *chans, float lr_mult, int nstats)
{
    memset(c, 0, sizeof *c);
    builder b = {c, P, e, lr_mult, nstats};
    c->in_ch = in_ch;
    c->nstats = nstats;
    int x = new_slot(c), y;
    FKE_TRY(build_body(&b, kind, chans, &x));
    FKE_TRY(add_simple(&b, FKE_CNN_GAP, x, -1, 0, 0, 0, &y));
    fke_cnn_plan_memory(c, 1);
    return FKE_OK;
}

void fke_cnn_init_weights(const fke_cnn *c, fke_params *P, fke_rng *rng)
{
    int resnet = c->step[0].k == 7;
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        if (s->op != FKE_CNN_CONVBN) continue;
        fke_tensor w = fke_params_value(P, s->conv);
        size_t n = fke_numel(&w);
        int cout = w.shape[0], fan_in = w.shape[1] * w.shape[2] * w.shape[3];
        if (resnet) { /* kaiming_normal_(mode="fan_out", nonlinearity="relu") */
            double sd = sqrt(2.0 / ((double)cout * w.shape[2] * w.shape[3]));
            for (size_t k = 0; k < n; k++) w.data[k] = (fke_real)(sd * fke_rng_normal(rng));
        } else { /* kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
            double bound = 1.0 / sqrt((double)fan_in);
            for (size_t k = 0; k < n; k++)
                w.data[k] = (fke_real)(bound * (2 * fke_rng_uniform(rng) - 1));
        }
        fke_tensor g = fke_params_value(P, s->bn[0]), bt = fke_params_value(P, s->bn[1]);
        fke_tensor rm = fke_params_value(P, s->bn[2]), rv = fke_params_value(P, s->bn[3]);
        for (int k = 0; k < cout; k++) {
            g.data[k] = 1;
            bt.data[k] = 0;
            rm.data[k] = 0;
            rv.data[k] = 1;
        }
        if (s->bn_crop[0] >= 0) {
            fke_tensor cm = fke_params_value(P, s->bn_crop[0]), cv = fke_params_value(P, s->bn_crop[1]);
            for (int k = 0; k < cout; k++) {
                cm.data[k] = 0;
                cv.data[k] = 1;
            }
        }
    }
}

static fke_status alloc4(fke_arena *a, fke_err *e, fke_tensor *t, int n, int c, int h, int w)
{
    return fke_arena_tensor(a, e, t, 4, n, c, h, w);
}

/* For outputs the op overwrites entirely: no zero-filling. */
static fke_status alloc4_raw(fke_arena *a, fke_err *e, fke_tensor *t, int n, int c, int h, int w)
{
    *t = fke_tensor_view(NULL, 4, n, c, h, w);
    t->data = fke_arena_alloc_raw(a, e, fke_numel(t) * sizeof(fke_real));
    return t->data ? FKE_OK : FKE_ERR_NOMEM;
}

/* The batch-norm epilogue of conv+bn step i: its ReLU and, when step i + 1
 * is a max-pool that is the only reader of its output, that pool, which then
 * runs inside fke_batchnorm_act_forward (no pre-pool activation, no padded
 * copy). A padded pool is fused only after a ReLU: fke pads with zeros there,
 * the same as the -inf the fused pool leaves out (inputs >= 0). */
static fke_bn_act epilogue(const fke_cnn *c, int i)
{
    const fke_cnn_step *s = &c->step[i];
    fke_bn_act act = {.relu = s->relu};
    if (i + 1 >= c->nstep) return act;
    const fke_cnn_step *p = &c->step[i + 1];
    if (p->op != FKE_CNN_MAXPOOL || p->in != s->out || (p->pad && !s->relu)) return act;
    for (int j = 0; j < c->nstep; j++)
        if (j != i + 1 && (c->step[j].in == s->out ||
                           (c->step[j].op == FKE_CNN_ADDRELU && c->step[j].in2 == s->out)))
            return act;
    act.pool = p->k, act.stride = p->stride, act.pad = p->pad;
    return act;
}

/* ---- memory ---------------------------------------------------------------
 * What the backward reads of the forward: each conv's input, each batch
 * norm's input (the conv output), the output of each ReLU (its mask) and the
 * pool codes. So a ReLU'd conv+bn output whose only reader is the next conv
 * need not stay: it is rebuilt from the conv output when that conv's
 * backward needs it (REBUILD). A batch norm without ReLU whose only reader
 * is an add is never read by the backward: the add writes over it (over),
 * or, for the add's other input, it lives in the scratch (SCRATCH). The
 * scratch holds one such value at a time: a step may put its output there
 * only once the last reader of the previous one has run. */

/* How many steps read slot k. */
static int readers(const fke_cnn *c, int k, int *first)
{
    int n = 0;
    *first = -1;
    for (int j = 0; j < c->nstep; j++) {
        const fke_cnn_step *s = &c->step[j];
        int r = (s->in == k) + (s->op == FKE_CNN_ADDRELU && s->in2 == k);
        if (r && *first < 0) *first = j;
        n += r;
    }
    return n;
}

/* The conv+bn step that writes slot k without a ReLU or a pool, whose only
 * reader is step `reader`; else -1. */
static int plain_only_into(const fke_cnn *c, int k, int reader)
{
    int first;
    if (k <= 0 || readers(c, k, &first) != 1 || first != reader) return -1;
    for (int j = 0; j < c->nstep; j++)
        if (c->step[j].out == k)
            return c->step[j].op == FKE_CNN_CONVBN && !c->step[j].relu ? j : -1;
    return -1;
}

void fke_cnn_plan_memory(fke_cnn *c, int save)
{
    memset(c->mem, FKE_CNN_KEEP, sizeof c->mem);
    memset(c->over, 0, sizeof c->over);
    if (!save) return;
    for (int i = 0; i < c->nstep; i++) { /* adds over their first plain input */
        const fke_cnn_step *s = &c->step[i];
        if (s->op != FKE_CNN_ADDRELU) continue;
        if (plain_only_into(c, s->in, i) >= 0) c->over[i] = 1;
        else if (plain_only_into(c, s->in2, i) >= 0) c->over[i] = 2;
    }
    int busy = 0; /* the last reader of what the scratch holds */
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        int r;
        if (s->op != FKE_CNN_CONVBN || epilogue(c, i).pool || i < busy ||
            readers(c, s->out, &r) != 1)
            continue;
        const fke_cnn_step *q = &c->step[r];
        if (s->relu && r == i + 1 && q->op == FKE_CNN_CONVBN) {
            c->mem[i] = FKE_CNN_REBUILD;
        } else if (!s->relu && q->op == FKE_CNN_ADDRELU &&
                   s->out == (c->over[r] == 1 ? q->in2 : c->over[r] == 2 ? q->in : -1)) {
            c->mem[i] = FKE_CNN_SCRATCH;
        } else {
            continue;
        }
        busy = r;
    }
}

/* out (n, c, h, w) in the tape's scratch, which grows when it is too small. */
static fke_status scratch_view(fke_arena *a, fke_err *e, fke_cnn_tape *t, fke_tensor *out, int n,
                               int c, int h, int w)
{
    *out = fke_tensor_view(NULL, 4, n, c, h, w);
    size_t bytes = fke_numel(out) * sizeof(fke_real);
    if (bytes > t->scratch_bytes) {
        t->scratch = fke_arena_alloc_raw(a, e, bytes);
        if (!t->scratch) return FKE_ERR_NOMEM;
        t->scratch_bytes = bytes;
    }
    out->data = t->scratch;
    return FKE_OK;
}

fke_status fke_cnn_forward(const fke_cnn *c, fke_params *P, fke_arena *a, fke_err *e,
                           const fke_tensor *x, int train, int stats, fke_cnn_tape *t,
                           fke_tensor *feat)
{
    FKE_EXPECT(e, "cnn", "x", x, -1, c->in_ch, -1, -1);
    if (stats < 0 || stats >= (c->nstats > 0 ? c->nstats : 1))
        return fke_fail(e, FKE_ERR_ARG, "cnn: statistics set %d of %d", stats, c->nstats);
    memset(t, 0, sizeof *t);
    t->train = train;
    t->slot[0] = *x;
    int N = x->shape[0];
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        fke_tensor *in = &t->slot[s->in], *out = &t->slot[s->out];
        int C = in->shape[1], H = in->shape[2], W = in->shape[3];
        /* every case ends in continue: only an op outside fke_cnn_op gets past the switch */
        switch (s->op) {
        case FKE_CNN_CONVBN: {
            fke_tensor w = fke_params_value(P, s->conv);
            int O = w.shape[0];
            int Ho = fke_conv2d_out_size(H, s->k, s->stride, s->pad);
            int Wo = fke_conv2d_out_size(W, s->k, s->stride, s->pad);
            if (Ho <= 0 || Wo <= 0)
                return fke_fail(e, FKE_ERR_SHAPE, "cnn: image of %dx%d too small for layer %d",
                                x->shape[2], x->shape[3], i);
            fke_bn_act act = epilogue(c, i);
            int Hp = Ho, Wp = Wo; /* the side of what this step writes */
            if (act.pool) { /* the next step's max-pool runs here, into its slot */
                out = &t->slot[c->step[i + 1].out];
                Hp = fke_maxpool2d_out_size(Ho + 2 * act.pad, act.pool, act.stride);
                Wp = fke_maxpool2d_out_size(Wo + 2 * act.pad, act.pool, act.stride);
                if (Hp <= 0 || Wp <= 0)
                    return fke_fail(e, FKE_ERR_SHAPE, "cnn: image of %dx%d too small for layer %d",
                                    x->shape[2], x->shape[3], i + 1);
                t->pool_idx[i] = fke_arena_alloc_raw(a, e, (size_t)N * O * Hp * Wp);
                if (!t->pool_idx[i]) return FKE_ERR_NOMEM;
            }
            FKE_TRY(alloc4_raw(a, e, &t->conv_out[i], N, O, Ho, Wo));
            if (!act.pool && c->mem[i] != FKE_CNN_KEEP)
                FKE_TRY(scratch_view(a, e, t, out, N, O, Hp, Wp));
            else
                FKE_TRY(alloc4_raw(a, e, out, N, O, Hp, Wp));
            FKE_TRY(fke_arena_tensor(a, e, &t->mean[i], 1, O));
            FKE_TRY(fke_arena_tensor(a, e, &t->istd[i], 1, O));
            fke_tensor *fold = NULL;
            if (c->mem[i] == FKE_CNN_REBUILD) {
                FKE_TRY(fke_arena_tensor(a, e, &t->fold[i], 2, 2, O));
                fold = &t->fold[i];
            }
            fke_conv2d_opt o = {.stride = s->stride, .pad = s->pad, .bf16 = c->bf16};
            FKE_TRY(fke_conv2d_forward(e, in, &w, NULL, o, &t->conv_out[i], a));
            fke_tensor g = fke_params_value(P, s->bn[0]), b = fke_params_value(P, s->bn[1]);
            fke_tensor rm = fke_params_value(P, stats ? s->bn_crop[0] : s->bn[2]);
            fke_tensor rv = fke_params_value(P, stats ? s->bn_crop[1] : s->bn[3]);
            FKE_TRY(fke_batchnorm_act_forward_sync(e, &t->conv_out[i], &g, &b, &rm, &rv, train,
                                                   act, &t->mean[i], &t->istd[i], out,
                                                   t->pool_idx[i], fold, c->sync));
            if (act.pool) i++; /* the pool is done */
            continue;
        }
        case FKE_CNN_MAXPOOL: {
            fke_tensor *src = in;
            if (s->pad) { /* inputs follow a ReLU (>= 0): zero padding = -inf padding */
                int Hp = H + 2 * s->pad, Wp = W + 2 * s->pad;
                FKE_TRY(alloc4(a, e, &t->padded[i], N, C, Hp, Wp));
                for (int p = 0; p < N * C; p++)
                    for (int h = 0; h < H; h++)
                        memcpy(t->padded[i].data + ((size_t)p * Hp + h + s->pad) * Wp + s->pad,
                               in->data + ((size_t)p * H + h) * W, W * sizeof(fke_real));
                src = &t->padded[i];
                H = Hp;
                W = Wp;
            }
            int Ho = fke_maxpool2d_out_size(H, s->k, s->stride);
            int Wo = fke_maxpool2d_out_size(W, s->k, s->stride);
            if (Ho <= 0 || Wo <= 0)
                return fke_fail(e, FKE_ERR_SHAPE, "cnn: image of %dx%d too small for layer %d",
                                x->shape[2], x->shape[3], i);
            FKE_TRY(alloc4_raw(a, e, out, N, C, Ho, Wo));
            t->argmax[i] = fke_arena_alloc_raw(a, e, (size_t)N * C * Ho * Wo * sizeof(int32_t));
            if (!t->argmax[i]) return FKE_ERR_NOMEM;
            FKE_TRY(fke_maxpool2d_forward(e, src, s->k, s->stride, out, t->argmax[i]));
            continue;
        }
        case FKE_CNN_ADDRELU:
            if (c->over[i]) /* over an input nothing else reads (memory, above) */
                *out = t->slot[c->over[i] == 1 ? s->in : s->in2];
            else
                FKE_TRY(alloc4_raw(a, e, out, N, C, H, W));
            FKE_TRY(fke_add_forward(e, in, &t->slot[s->in2], out));
            FKE_TRY(fke_relu_forward(e, out, out));
            continue;
        case FKE_CNN_GAP:
            FKE_TRY(fke_arena_tensor(a, e, out, 2, N, C));
            FKE_TRY(fke_avgpool_global_forward(e, in, out));
            continue;
        }
        return fke_fail(e, FKE_ERR_ARG, "cnn: layer %d has op %d, which is not a known op", i,
                        (int)s->op);
    }
    const fke_tensor *last = &t->slot[c->step[c->nstep - 1].out];
    FKE_EXPECT(e, "cnn", "feat", feat, N, c->out_dim);
    memcpy(feat->data, last->data, fke_numel(last) * sizeof(fke_real));
    return FKE_OK;
}

/* ---- the backward's gradients ----------------------------------------------
 * A pool over the arena's top: blocks in address order from where the
 * backward began, first fit, split and merged; a free block at the top goes
 * back to the arena at once, so the convolutions' workspace, taken above,
 * starts as low as it can. Deterministic, so the planning step sizes it. */
#define GP_MAXB 64

typedef struct {
    size_t off, len; /* from base, 64-byte multiples */
    int busy;
} gp_block;

typedef struct {
    fke_arena *a;
    size_t base; /* a->used when the backward began */
    int n;
    gp_block b[GP_MAXB];
} gpool;

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

static void *gp_get(gpool *p, fke_err *e, size_t bytes, int zero)
{
    size_t need = round64(bytes ? bytes : 1);
    int k = 0;
    while (k < p->n && (p->b[k].busy || p->b[k].len < need)) k++;
    if (k == p->n) { /* a new block at the top */
        if (p->n + 1 >= GP_MAXB) {
            fke_fail(e, FKE_ERR_NOMEM, "cnn backward: more than %d gradient blocks", GP_MAXB - 1);
            return NULL;
        }
        size_t top = p->n ? p->b[p->n - 1].off + p->b[p->n - 1].len : 0;
        if (p->a->used != p->base + top) {
            fke_fail(e, FKE_ERR_ARG, "cnn backward: the arena moved under the gradient pool");
            return NULL;
        }
        if (!fke_arena_alloc_raw(p->a, e, need)) return NULL;
        p->b[p->n++] = (gp_block){top, need, 0};
    }
    gp_block *b = &p->b[k];
    if (b->len > need && p->n < GP_MAXB) { /* the rest stays free, after it (with room
                                             * in the table; else the block goes whole) */
        memmove(b + 2, b + 1, (size_t)(p->n - k - 1) * sizeof *b);
        p->n++;
        b[1] = (gp_block){b->off + need, b->len - need, 0};
        b->len = need;
    }
    b->busy = 1;
    char *ptr = p->a->base + p->base + b->off;
    if (zero) memset(ptr, 0, bytes);
    return ptr;
}

static void gp_put(gpool *p, void *ptr)
{
    size_t off = (size_t)((char *)ptr - (p->a->base + p->base));
    int k = 0;
    while (k < p->n && p->b[k].off != off) k++;
    if (k == p->n) return; /* not the pool's */
    p->b[k].busy = 0;
    if (k + 1 < p->n && !p->b[k + 1].busy) { /* merge with the next */
        p->b[k].len += p->b[k + 1].len;
        memmove(&p->b[k + 1], &p->b[k + 2], (size_t)(p->n - k - 2) * sizeof p->b[0]);
        p->n--;
    }
    if (k > 0 && !p->b[k - 1].busy) { /* and with the one before */
        p->b[k - 1].len += p->b[k].len;
        memmove(&p->b[k], &p->b[k + 1], (size_t)(p->n - k - 1) * sizeof p->b[0]);
        p->n--;
        k--;
    }
    if (k == p->n - 1) { /* the top: back to the arena */
        p->a->used = p->base + p->b[k].off;
        p->n--;
    }
}

/* The gradient at each slot while the backward runs; own: from the pool. */
typedef struct {
    fke_tensor d[FKE_CNN_MAXSLOT];
    unsigned char own[FKE_CNN_MAXSLOT];
    gpool pool;
} grads;

/* d[k], zeroed, for the values of slot k (like), unless it exists; slot 0
 * is the caller's dx (NULL: no gradient wanted there). */
static fke_status grad_at(grads *g, fke_err *e, int k, const fke_tensor *like, fke_tensor *dx)
{
    if (g->d[k].data) return FKE_OK;
    if (k == 0) {
        if (dx) g->d[0] = *dx;
        return FKE_OK;
    }
    g->d[k] = *like;
    g->d[k].data = gp_get(&g->pool, e, fke_numel(like) * sizeof(fke_real), 1);
    if (!g->d[k].data) return FKE_ERR_NOMEM;
    g->own[k] = 1;
    return FKE_OK;
}

/* Slot k's gradient has had its last reader. */
static void grad_drop(grads *g, int k)
{
    if (g->own[k]) gp_put(&g->pool, g->d[k].data);
    g->own[k] = 0;
    g->d[k].data = NULL;
}

/* The backward of an add + ReLU: dsum = 0 + (out > 0 ? dout : 0), as
 * fke_relu_backward into zeros, then the add's: both inputs += dsum. When
 * dout is the pool's and the first input has no gradient yet, dsum is made
 * in place and becomes that gradient (0 + dsum is dsum: dsum is never -0),
 * and a fresh gradient of the second input is a copy of it. The second
 * input (the shortcut) outlives the first (the residual branch, whose
 * backward runs next), so of the two buffers it gets the lower: the branch's,
 * given back first, then leaves no hole under it. */
static fke_status addrelu_backward(grads *g, fke_err *e, const fke_cnn_step *s, int so,
                                   const fke_cnn_tape *t, fke_tensor *dx)
{
    const fke_tensor *out = &t->slot[so];
    fke_tensor *dout = &g->d[so];
    if (g->own[so] && s->in != 0 && s->in != s->in2 && !g->d[s->in].data) {
        const fke_real *y = out->data;
        fke_real *d = dout->data;
        long n = (long)fke_numel(out);
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (long i = 0; i < n; i++) {
            fke_real v = d[i];
            d[i] = (fke_real)0 + (y[i] > 0 ? v : 0);
        }
        g->d[s->in] = *dout; /* the add's first input takes the buffer over */
        g->own[s->in] = 1;
        g->own[so] = 0;
        dout->data = NULL;
        fke_tensor *dsum = &g->d[s->in];
        if (s->in2 == 0 && !dx) return FKE_OK;
        if (!g->d[s->in2].data && s->in2 != 0) {
            size_t bytes = fke_numel(dsum) * sizeof(fke_real);
            fke_real *cp = gp_get(&g->pool, e, bytes, 0);
            if (!cp) return FKE_ERR_NOMEM;
            memcpy(cp, dsum->data, bytes);
            g->d[s->in2] = *dsum;
            g->own[s->in2] = 1;
            if (cp < dsum->data) g->d[s->in2].data = cp; /* the lower to the shortcut */
            else g->d[s->in2].data = dsum->data, dsum->data = cp;
            return FKE_OK;
        }
        FKE_TRY(grad_at(g, e, s->in2, dsum, dx));
        return fke_add_backward(e, dsum, NULL, &g->d[s->in2]);
    }
    fke_tensor dsum = *out;
    dsum.data = gp_get(&g->pool, e, fke_numel(out) * sizeof(fke_real), 1);
    if (!dsum.data) return FKE_ERR_NOMEM;
    FKE_TRY(fke_relu_backward(e, out, dout, &dsum));
    FKE_TRY(grad_at(g, e, s->in, &t->slot[s->in], dx));
    FKE_TRY(grad_at(g, e, s->in2, &t->slot[s->in2], dx));
    fke_tensor *d1 = g->d[s->in].data ? &g->d[s->in] : NULL;
    fke_tensor *d2 = g->d[s->in2].data ? &g->d[s->in2] : NULL;
    FKE_TRY(fke_add_backward(e, &dsum, d1, d2));
    gp_put(&g->pool, dsum.data);
    grad_drop(g, so);
    return FKE_OK;
}

/* The backward of conv+bn step i (with the pool it ran, if any), its output
 * slot so: the batch norm's into dconv (over dout without a pool), then the
 * conv's; the conv's input rebuilt first when the forward did not keep it. */
static fke_status convbn_backward(const fke_cnn *c, fke_params *P, fke_arena *a, grads *g,
                                  fke_err *e, fke_cnn_tape *t, int i, int so, fke_tensor *dx)
{
    const fke_cnn_step *s = &c->step[i];
    fke_bn_act act = epilogue(c, i);
    fke_tensor *in = &t->slot[s->in], *dout = &g->d[so];
    int inplace = !act.pool && g->own[so];
    fke_tensor dconv = t->conv_out[i];
    dconv.data = inplace ? dout->data
                         : gp_get(&g->pool, e, fke_numel(&dconv) * sizeof(fke_real), 0);
    if (!dconv.data) return FKE_ERR_NOMEM;
    fke_tensor gm = fke_params_value(P, s->bn[0]);
    fke_tensor dg = fke_params_grad(P, s->bn[0]), db = fke_params_grad(P, s->bn[1]);
    const fke_tensor *y = act.relu || act.pool ? &t->slot[so] : NULL;
    FKE_TRY(fke_batchnorm_act_backward_sync(e, &t->conv_out[i], &gm, &t->mean[i], &t->istd[i],
                                            act, y, t->pool_idx[i], dout, t->train, &dconv, &dg,
                                            &db, c->sync));
    if (!inplace) grad_drop(g, so);
    if (i > 0 && c->mem[i - 1] == FKE_CNN_REBUILD && c->step[i - 1].out == s->in)
        FKE_TRY(fke_batchnorm_act_apply(e, &t->conv_out[i - 1], &t->fold[i - 1],
                                        c->step[i - 1].relu, in));
    FKE_TRY(grad_at(g, e, s->in, in, dx));
    fke_tensor *din = g->d[s->in].data ? &g->d[s->in] : NULL;
    fke_tensor w = fke_params_value(P, s->conv), dw = fke_params_grad(P, s->conv);
    fke_conv2d_opt o = {.stride = s->stride, .pad = s->pad, .bf16 = c->bf16};
    FKE_TRY(fke_conv2d_backward(e, in, &w, &dconv, o, din, &dw, NULL, a));
    if (inplace) grad_drop(g, so);
    else gp_put(&g->pool, dconv.data);
    return FKE_OK;
}

static fke_status maxpool_backward(const fke_cnn_step *s, grads *g, fke_err *e,
                                   fke_cnn_tape *t, int i, fke_tensor *dx)
{
    fke_tensor *in = &t->slot[s->in], *dout = &g->d[s->out];
    FKE_TRY(grad_at(g, e, s->in, in, dx));
    fke_tensor *din = &g->d[s->in];
    if (!din->data) return FKE_OK;
    if (!s->pad) return fke_maxpool2d_backward(e, dout, t->argmax[i], din);
    fke_tensor dp = t->padded[i];
    dp.data = gp_get(&g->pool, e, fke_numel(&dp) * sizeof(fke_real), 1);
    if (!dp.data) return FKE_ERR_NOMEM;
    FKE_TRY(fke_maxpool2d_backward(e, dout, t->argmax[i], &dp));
    int NC = in->shape[0] * in->shape[1], H = in->shape[2], W = in->shape[3];
    int Hp = dp.shape[2], Wp = dp.shape[3];
    for (int p = 0; p < NC; p++)
        for (int h = 0; h < H; h++) {
            fke_real *dst = din->data + ((size_t)p * H + h) * W;
            const fke_real *src = dp.data + ((size_t)p * Hp + h + s->pad) * Wp + s->pad;
            for (int w = 0; w < W; w++) dst[w] += src[w];
        }
    gp_put(&g->pool, dp.data);
    return FKE_OK;
}

static fke_status backward_steps(const fke_cnn *c, fke_params *P, fke_arena *a, grads *g,
                                 fke_err *e, fke_cnn_tape *t, fke_tensor *dx)
{
    for (int i = c->nstep - 1; i >= 0; i--) {
        const fke_cnn_step *s = &c->step[i];
        if (i > 0 && t->pool_idx[i - 1]) continue; /* a pool the step before ran */
        int so = t->pool_idx[i] ? c->step[i + 1].out : s->out; /* the slot it wrote */
        if (!g->d[so].data) continue; /* nothing flows back through this step */
        /* every case ends in continue: only an op outside fke_cnn_op gets past the switch */
        switch (s->op) {
        case FKE_CNN_CONVBN:
            FKE_TRY(convbn_backward(c, P, a, g, e, t, i, so, dx));
            continue;
        case FKE_CNN_MAXPOOL:
            FKE_TRY(maxpool_backward(s, g, e, t, i, dx));
            grad_drop(g, so);
            continue;
        case FKE_CNN_ADDRELU:
            FKE_TRY(addrelu_backward(g, e, s, so, t, dx));
            continue;
        case FKE_CNN_GAP:
            FKE_TRY(grad_at(g, e, s->in, &t->slot[s->in], dx));
            if (g->d[s->in].data)
                FKE_TRY(fke_avgpool_global_backward(e, &g->d[so], &g->d[s->in]));
            grad_drop(g, so);
            continue;
        }
        return fke_fail(e, FKE_ERR_ARG, "cnn backward: layer %d has op %d, which is not a known op",
                        i, (int)s->op);
    }
    return FKE_OK;
}

fke_status fke_cnn_backward(const fke_cnn *c, fke_params *P, fke_arena *a, fke_err *e,
                            fke_cnn_tape *t, const fke_tensor *dfeat, fke_tensor *dx)
{
    int last = c->step[c->nstep - 1].out;
    FKE_EXPECT(e, "cnn backward", "dfeat", dfeat, t->slot[last].shape[0], c->out_dim);
    grads g; /* a few KiB: on the stack, no allocation in the step */
    memset(&g, 0, sizeof g);
    g.pool.a = a;
    g.pool.base = a->used;
    g.d[last] = *dfeat; /* the caller's: read, never written */
    fke_status st = backward_steps(c, P, a, &g, e, t, dx);
    int held = 0;
    for (int k = 0; k < g.pool.n; k++) held += g.pool.b[k].busy;
    a->used = g.pool.base; /* every gradient here was the backward's own */
    if (st == FKE_OK && held)
        return fke_fail(e, FKE_ERR_ARG, "cnn backward: %d gradient buffer%s not given back to "
                        "the pool (a bug in the backward's plan)", held, held == 1 ? " was" : "s were");
    return st;
}

void fke_cnn_describe(const fke_cnn *c, char *buf, size_t len)
{
    int pooled = 0, convs = 0, wino = 0;
    for (int i = 0; i < c->nstep; i++) {
        const fke_cnn_step *s = &c->step[i];
        if (s->op != FKE_CNN_CONVBN) continue;
        fke_conv2d_opt o = {.stride = s->stride, .pad = s->pad, .bf16 = c->bf16};
        convs++;
        wino += fke_conv2d_uses_winograd(s->cin, s->cout, s->k, s->k, o);
        if (epilogue(c, i).pool) pooled++;
    }
    char algo[160];
    if (wino)
        snprintf(algo, sizeof algo, "Winograd F(2x2,3x3) for %d of %d (3x3 stride 1, >= %d "
                 "channels; 16 GEMMs per group of tiles), im2col in groups for the rest", wino,
                 convs, FKE_CONV_WINOGRAD_MIN_C);
    else
        snprintf(algo, sizeof algo, "im2col of images in groups (about 256 output columns a "
                 "GEMM, larger outputs one image; 1x1 stride 1 alone: none)");
    snprintf(buf, len, "convolutions: %s + %s; batch norm + ReLU%s in one pass (%s)", algo,
             c->bf16 ? "bf16 operands, float sums (fke's AVX512-BF16 kernel, vdpbf16ps)"
                     : "fp32 GEMM (OpenBLAS)",
             pooled ? " + max-pool" : "",
#if defined(__SSE2__) && !defined(FKE_DOUBLE)
             "SSE2"
#else
             "scalar"
#endif
    );
}

fke_status fke_cnn_set_precision(fke_cnn *c, fke_precision p, fke_err *e)
{
    if (p == FKE_PREC_BF16 && !fke_bf16_available())
        return fke_fail(e, FKE_ERR_CONFIG, "config: key \"precision\": bf16 needs a CPU with "
                        "avx512_bf16 (and avx512f, bw, vl), which this one lacks; use "
                        "precision fp32");
    c->bf16 = p == FKE_PREC_BF16;
    return FKE_OK;
}
