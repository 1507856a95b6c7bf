/* model.c - the wiring of the FashionKE network (docs/model.md "Forward pass"):
 * fke_model_forward calls the layer modules in the order of docs/model.md, the
 * ablations are plain ifs on the config here and nowhere else, and
 * fke_model_backward calls the backwards in exactly the reverse order.
 *
 * Dimensions:
 *   B   posts in the batch            G   garment slots per post
 *   Nv  valid garments in the batch   A   attributes
 *   F   image feature                 H   Bi-LSTM-1 hidden per direction
 *   H2  Bi-LSTM-2 hidden per dir.     M   mid layer of the heads
 *   L   caption tokens, D embedding, Co filters per width, T text feature
 *   cdim = 2H with Bi-LSTM-1, else F  (garment vector c_i)
 *   sdim = 2H + F with Bi-LSTM-1, else F; + T with text  (occasion input)
 *   udim = 2H2 with Bi-LSTM-2, else M (attribute vector u_k,i)
 *
 * Wiring choices left open by the description (docs/model.md, "Where fke fixes
 * what the description leaves open"; tools/torch_ref.py makes the same):
 *   the CNN runs on the whole images and, separately, on the valid crops
 *   only, with the same weights but its own batch-norm running statistics
 *   for each of the two (see cnn.h); without Bi-LSTM-1, c_i = f_i and s = f_img; without Bi-LSTM-2,
 *   u_k,i = a_k,i; posts with no garment take the recurrence with length 1
 *   (zero crop feature), as pack_padded_sequence needs. */
#include "model/model.h"


#include "model/multilabel.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/embedding.h"
#include "nn/gather.h"
#include "nn/gru.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/lstm.h"
#include "nn/tensor_ops.h"
#include "nn/textcnn.h"
#include "nn/transition.h"

#define NW 4 /* TextCNN widths 2, 3, 4, 5 */

const char *const fke_part_names[FKE_PART_COUNT] = {"cnn", "bilstm1", "textcnn",
                                                     "heads+bilstm2", "loss", "update"};

/* Wall-clock timing of the parts of a step: the time since the last mark is
 * charged to the part named. */
static double now(void) { return omp_get_wtime(); }
#define MARK(m, part)                                                          \
    do {                                                                       \
        double t_ = now();                                                     \
        (m)->time[part] += t_ - tmark;                                         \
        tmark = t_;                                                            \
        (m)->mem[part] += (m)->arena.used - umark;                             \
        umark = (m)->arena.used;                                               \
    } while (0)

typedef struct { /* one direction of a recurrent layer, either cell */
    fke_lstm_cache lstm;
    fke_gru_cache gru;
    fke_tensor y, hT, cT; /* (N, T, h), (N, h), (N, h) */
} rnn_dir;

/* A dropout site: y = x when it is off (eval, or p = 0). */
typedef struct {
    fke_tensor y, mask;
    int on;
} drop_site;

struct fke_model_acts {
    int B, Nv, vis, task, text;
    int *len;                  /* (B) garments per post, at least 1 */
    fke_tensor img, crops;     /* (B, C, S, S), (Nv, C, s, s) */
    fke_cnn_tape tape_img, tape_crop;
    fke_tensor f_img, f_v;     /* (B, F), (Nv, F) */
    fke_tensor f_g, h0;        /* (B, G, F), (B, H) */
    rnn_dir r1[2];             /* (B, G, H) per direction */
    fke_tensor s;              /* (B, sdim) [s ; t] */
    fke_tensor emb;            /* (B, L, D) */
    fke_tensor tconv;          /* (B, 4Co) */
    int32_t *targ;             /* (B, 4Co) */
    drop_site tdrop;           /* (B, 4Co) */
    fke_tensor t;              /* (B, T) */
    fke_tensor o1, o2;         /* (B, M) */
    drop_site odrop;           /* (B, M) */
    fke_tensor c;              /* (Nv, cdim) */
    fke_tensor acat, cat1;     /* (Nv, M) */
    drop_site cdrop;           /* (Nv, M) */
    fke_tensor a[FKE_MAX_ATTR];/* (Nv, M) */
    fke_tensor seq;            /* (Nv, A+1, M) */
    rnn_dir r2[2];             /* (Nv, A+1, H2) per direction */
    fke_tensor u[FKE_MAX_ATTR];/* (Nv, udim) */
    drop_site udrop[FKE_MAX_ATTR];
    fke_tensor att1[FKE_MAX_ATTR]; /* (Nv, M) */
    /* loss: labels and row selections of the garments, logits' gradients */
    int32_t *ycat, *yatt[FKE_MAX_ATTR]; /* (Nv) */
    uint8_t *gclean, *gnoisy;  /* (Nv) */
    int ntask;                 /* tasks with a valid label (0: no loss yet) */
    double share[FKE_N_TASKS][2]; /* this rank's part of the clean, noisy count of each task */
    fke_tensor docc, dcat, datt[FKE_MAX_ATTR];
};

/* ---- parameters --------------------------------------------------------- */

static fke_status add_rnn(fke_params *P, fke_err *e, const char *name, int G, int in, int H,
                          int idx[2][4])
{
    static const char *f[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
    char n[FKE_PARAM_NAME];
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 4; k++) {
            snprintf(n, sizeof n, "%s.%s%s", name, f[k], d ? "_reverse" : "");
            idx[d][k] = k == 0   ? fke_params_add(P, e, n, 1, 1, 1, 2, G * H, in)
                        : k == 1 ? fke_params_add(P, e, n, 1, 1, 1, 2, G * H, H)
                                 : fke_params_add(P, e, n, 1, 1, 1, 1, G * H);
            if (idx[d][k] < 0) return FKE_ERR_ARG;
        }
    return FKE_OK;
}


static fke_rnn_params rnn_view(const fke_params *P, const int idx[4], int grad)
{
    fke_rnn_params p;
    fke_tensor (*get)(const fke_params *, int) = grad ? fke_params_grad : fke_params_value;
    p.W_ih = get(P, idx[0]);
    p.W_hh = get(P, idx[1]);
    p.b_ih = get(P, idx[2]);
    p.b_hh = get(P, idx[3]);
    return p;
}

fke_status fke_model_init(fke_model *m, const fke_config *cfg, fke_err *e)
{
    memset(m, 0, sizeof *m);
    FKE_TRY(fke_config_validate(cfg, e));
    m->cfg = *cfg;
    const fke_config *c = &m->cfg;
    fke_params *P = &m->P;
    fke_params_init(P);
    m->W0 = -1;
    memset(m->rnn1, -1, sizeof m->rnn1);
    memset(m->rnn2, -1, sizeof m->rnn2);
    m->emb = m->tfc_w = m->tfc_b = m->cls_w = m->cls_b = m->norm = -1;
    for (int t = 0; t <= FKE_MAX_ATTR; t++) m->theta[t] = -1;
    m->mcat_w = m->mcat_b = m->mattr_w = m->mattr_b = m->pos_w = -1;
    if (c->task == FKE_TASK_CLIP) { /* its own wiring, over P: model/clip.h */
        m->clip = calloc(1, sizeof *m->clip);
        if (!m->clip) return fke_fail(e, FKE_ERR_NOMEM, "model: out of memory");
        FKE_TRY(fke_clip_init(m->clip, c, P, e));
        m->emb = m->clip->emb; /* word vectors may start it (run/train.c) */
        fke_rng_seed(&m->rng, c->seed ^ 0x5eed5eedULL);
        return FKE_OK;
    }
    m->acts = calloc(1, sizeof *m->acts);
    if (!m->acts) return fke_fail(e, FKE_ERR_NOMEM, "model: out of memory");
    FKE_TRY(fke_cnn_build(&m->cnn, P, e, c->cnn, c->in_ch, c->chans, (float)c->lr_cnn_mult,
                          c->task == FKE_TASK_FKE ? 2 : 1));
    if (m->cnn.out_dim != c->F)
        return fke_fail(e, FKE_ERR_CONFIG, "model: the CNN gives %d features but F is %d",
                        m->cnn.out_dim, c->F);
    FKE_TRY(fke_cnn_set_precision(&m->cnn, c->precision, e));
    switch (c->task) {
    case FKE_TASK_MULTILABEL: FKE_TRY(fke_multilabel_add_params(m, e)); break;
    case FKE_TASK_CLIP: /* built above */
        break;
    case FKE_TASK_CLASSIFY: {
        m->cls_w = fke_params_add_linear(P, e, "fc", c->F, c->n_cat, 1, &m->cls_b);
        m->norm = fke_params_add(P, e, "input.norm", 0, 0, 0, 1, 2);
        if (m->cls_w < 0 || m->norm < 0) return FKE_ERR_ARG;
        /* every label of a classify set is taken as noisy when a matrix is
         * given (t_init); without one the labels are taken as clean */
        if (c->correction == FKE_CORR_FORWARD && c->t_init[0] &&
            (m->theta[0] = fke_params_add(P, e, "theta.0", (float)c->lr_theta_mult, 1, 1, 2,
                                          c->n_cat, c->n_cat)) < 0)
            return FKE_ERR_ARG;
        break;
    }
    case FKE_TASK_FKE: {
        int vis = c->context == FKE_CTX_ALL || c->context == FKE_CTX_VISUAL;
        int task = c->context == FKE_CTX_ALL || c->context == FKE_CTX_TASK;
        int gates = fke_cell_gates(c->cell), A = c->n_attr, M = c->M;
        int cdim = vis ? 2 * c->H : c->F, udim = task ? 2 * c->H2 : M;
        int sdim = (vis ? 2 * c->H + c->F : c->F) + (c->text ? c->T : 0);
        if (vis) {
            if (c->F != c->H && (m->W0 = fke_params_add_linear(P, e, "W0", c->F, c->H, 0, NULL)) < 0)
                return FKE_ERR_ARG;
            FKE_TRY(add_rnn(P, e, "rnn1", gates, c->F, c->H, m->rnn1));
        }
        if (c->text) {
            FKE_TRY(fke_textcnn_add_params(P, e, c->V, c->D, c->Co, NW, &m->emb, m->tconv_w,
                                           m->tconv_b));
            m->tfc_w = fke_params_add_linear(P, e, "text.fc", NW * c->Co, c->T, 1, &m->tfc_b);
            if (m->emb < 0 || m->tfc_w < 0) return FKE_ERR_ARG;
        }
        m->occ_w[0] = fke_params_add_linear(P, e, "occ.0", sdim, M, 1, &m->occ_b[0]);
        m->occ_w[1] = fke_params_add_linear(P, e, "occ.2", M, M, 1, &m->occ_b[1]);
        m->occ_w[2] = fke_params_add_linear(P, e, "occ.3", M, c->n_occ, 1, &m->occ_b[2]);
        m->wcat_w = fke_params_add_linear(P, e, "Wcat", cdim, M, 1, &m->wcat_b);
        m->cath_w[0] = fke_params_add_linear(P, e, "cat_head.1", M, M, 1, &m->cath_b[0]);
        m->cath_w[1] = fke_params_add_linear(P, e, "cat_head.2", M, c->n_cat, 1, &m->cath_b[1]);
        for (int k = 0; k < A; k++) {
            char n[FKE_PARAM_NAME];
            snprintf(n, sizeof n, "Wk.%d", k);
            m->wk_w[k] = fke_params_add_linear(P, e, n, cdim, M, 1, &m->wk_b[k]);
            if (m->wk_w[k] < 0) return FKE_ERR_ARG;
        }
        if (task) FKE_TRY(add_rnn(P, e, "rnn2", gates, M, c->H2, m->rnn2));
        for (int k = 0; k < A; k++) {
            char n[FKE_PARAM_NAME];
            snprintf(n, sizeof n, "att_heads.%d.1", k);
            m->atth_w[k][0] = fke_params_add_linear(P, e, n, udim, M, 1, &m->atth_b[k][0]);
            snprintf(n, sizeof n, "att_heads.%d.2", k);
            m->atth_w[k][1] = fke_params_add_linear(P, e, n, M, c->n_val[k], 1, &m->atth_b[k][1]);
            if (m->atth_w[k][0] < 0 || m->atth_w[k][1] < 0) return FKE_ERR_ARG;
        }
        for (int t = 0; t <= A; t++) {
            char n[FKE_PARAM_NAME];
            int side = t ? c->n_val[t - 1] : c->n_cat;
            snprintf(n, sizeof n, "theta.%d", t);
            m->theta[t] = fke_params_add(P, e, n, (float)c->lr_theta_mult, 1, 1, 2, side, side);
            if (m->theta[t] < 0) return FKE_ERR_ARG;
        }
        for (int i = 0; i < 3; i++)
            if (m->occ_w[i] < 0) return FKE_ERR_ARG;
        if (m->wcat_w < 0 || m->cath_w[0] < 0 || m->cath_w[1] < 0) return FKE_ERR_ARG;
        break;
    }
    }
    FKE_TRY(fke_params_finalize(P, e));

    /* PyTorch's default initialisation, drawn from the config's seed */
    fke_rng r;
    fke_rng_seed(&r, c->seed);
    fke_cnn_init_weights(&m->cnn, P, &r);
    switch (c->task) {
    case FKE_TASK_MULTILABEL: fke_multilabel_init_weights(m, &r); break;
    case FKE_TASK_CLIP: /* built above */
        break;
    case FKE_TASK_CLASSIFY: {
        fke_params_init_linear(P, m->cls_w, m->cls_b, &r);
        if (m->theta[0] >= 0) { /* T = identity until the matrix of t_init is set */
            fke_tensor th = fke_params_value(P, m->theta[0]);
            int n = th.shape[0];
            for (int i = 0; i < n * n; i++)
                th.data[i] = (fke_real)log((i / n == i % n ? 1.0 : 0.0) + c->theta_eps);
        }
        break;
    }
    case FKE_TASK_FKE: {
        if (m->W0 >= 0) fke_params_init_linear(P, m->W0, -1, &r);
        for (int d = 0; d < 2; d++)
            for (int k = 0; k < 4; k++) {
                fke_params_fill_uniform(P, m->rnn1[d][k], 1.0 / sqrt((double)c->H), &r);
                fke_params_fill_uniform(P, m->rnn2[d][k], 1.0 / sqrt((double)c->H2), &r);
            }
        if (m->emb >= 0) {
            fke_textcnn_init_params(P, m->emb, NW, m->tconv_w, m->tconv_b, &r);
            fke_params_init_linear(P, m->tfc_w, m->tfc_b, &r);
        }
        for (int i = 0; i < 3; i++) fke_params_init_linear(P, m->occ_w[i], m->occ_b[i], &r);
        fke_params_init_linear(P, m->wcat_w, m->wcat_b, &r);
        for (int i = 0; i < 2; i++) fke_params_init_linear(P, m->cath_w[i], m->cath_b[i], &r);
        for (int k = 0; k < c->n_attr; k++) {
            fke_params_init_linear(P, m->wk_w[k], m->wk_b[k], &r);
            for (int i = 0; i < 2; i++) fke_params_init_linear(P, m->atth_w[k][i], m->atth_b[k][i], &r);
        }
        for (int t = 0; t <= c->n_attr; t++) { /* T = identity until an estimate is set */
            fke_tensor th = fke_params_value(P, m->theta[t]);
            int n = th.shape[0];
            for (int i = 0; i < n * n; i++)
                th.data[i] = (fke_real)log((i / n == i % n ? 1.0 : 0.0) + c->theta_eps);
        }
        break;
    }
    }
    fke_rng_seed(&m->rng, c->seed ^ 0x5eed5eedULL);
    return FKE_OK;
}

void fke_model_free(fke_model *m)
{
    if (m->clip) fke_clip_free(m->clip);
    free(m->clip);
    fke_params_free(&m->P);
    fke_arena_free(&m->arena);
    free(m->acts);
    free(m->mla);
    memset(m, 0, sizeof *m);
}

fke_status fke_model_set_transition(fke_model *m, int t, const float *T, fke_err *e)
{
    int ntask = m->cfg.task == FKE_TASK_FKE ? 1 + m->cfg.n_attr : 1;
    if (t < 0 || t >= ntask || m->theta[t] < 0)
        return fke_fail(e, FKE_ERR_ARG, "model: no transition matrix %d%s", t,
                        m->cfg.task == FKE_TASK_CLASSIFY
                            ? " (task classify has one, with correction forward and t_init set)"
                            : "");
    fke_tensor th = fke_params_value(&m->P, m->theta[t]);
    int n = th.shape[0];
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            if (!(T[i * n + j] >= 0)) /* also catches NaN */
                return fke_fail(e, FKE_ERR_ARG, "transition %d: entry (%d, %d) = %g is not >= 0",
                                t, i, j, T[i * n + j]);
            s += T[i * n + j];
        }
        if (fabs(s - 1) > 1e-3)
            return fke_fail(e, FKE_ERR_ARG, "transition %d: row %d sums to %g, not 1", t, i, s);
    }
    fke_tensor Te = fke_tensor_view((fke_real *)T, 2, n, n);
    return fke_transition_init(e, &Te, m->cfg.theta_eps, &th);
}

void fke_model_get_transition(const fke_model *m, int t, float *out)
{
    fke_tensor th = fke_params_value(&m->P, m->theta[t]);
    fke_tensor o = fke_tensor_view(out, 2, th.shape[0], th.shape[1]);
    fke_transition_matrix(NULL, &th, &o);
}

/* ---- small helpers over the arena --------------------------------------- */
static fke_status T2(fke_model *m, fke_err *e, fke_tensor *t, int a, int b)
{
    return fke_arena_tensor(&m->arena, e, t, 2, a, b);
}
static fke_status T3(fke_model *m, fke_err *e, fke_tensor *t, int a, int b, int c)
{
    return fke_arena_tensor(&m->arena, e, t, 3, a, b, c);
}
static fke_status zeros_like(fke_model *m, fke_err *e, const fke_tensor *like, fke_tensor *t)
{
    *t = *like;
    t->data = fke_arena_alloc(&m->arena, e, fke_numel(like) * sizeof(fke_real));
    return t->data ? FKE_OK : FKE_ERR_NOMEM;
}
static fke_tensor W(const fke_model *m, int i) { return fke_params_value(&m->P, i); }
static fke_tensor dW(const fke_model *m, int i) { return fke_params_grad(&m->P, i); }

static fke_status linear_fwd(fke_model *m, fke_err *e, int w, int b, const fke_tensor *x,
                             fke_tensor *y)
{
    fke_tensor Wt = W(m, w), bt = b >= 0 ? W(m, b) : (fke_tensor){0};
    FKE_TRY(T2(m, e, y, x->shape[0], Wt.shape[0]));
    return fke_linear_forward(e, x, &Wt, b >= 0 ? &bt : NULL, y);
}

/* dx may be NULL */
static fke_status linear_bwd(fke_model *m, fke_err *e, int w, int b, const fke_tensor *x,
                             const fke_tensor *dy, fke_tensor *dx)
{
    fke_tensor Wt = W(m, w), dWt = dW(m, w), dbt = b >= 0 ? dW(m, b) : (fke_tensor){0};
    return fke_linear_backward(e, x, &Wt, dy, dx, &dWt, b >= 0 ? &dbt : NULL);
}

static fke_status drop_fwd(fke_model *m, fke_err *e, double p, int train, const fke_tensor *x,
                           drop_site *d)
{
    d->on = train && p > 0;
    if (!d->on) {
        d->y = *x;
        return FKE_OK;
    }
    FKE_TRY(zeros_like(m, e, x, &d->y));
    FKE_TRY(zeros_like(m, e, x, &d->mask));
    return fke_dropout_forward(e, x, p, 1, &m->rng, &d->mask, &d->y);
}

/* dy: gradient of d->y; gives the gradient of x in *dx (a new tensor, or dy itself) */
static fke_status drop_bwd(fke_model *m, fke_err *e, const drop_site *d, const fke_tensor *dy,
                           fke_tensor *dx)
{
    if (!d->on) {
        *dx = *dy;
        return FKE_OK;
    }
    FKE_TRY(zeros_like(m, e, dy, dx));
    return fke_dropout_backward(e, &d->mask, dy, dx);
}

/* The backward of a head's last two layers, logits = L2(h), h = L1(drop(x)):
 * dlogits gives the gradient of drop's input in *dx (layers w1/b1, w2/b2). */
static fke_status head_bwd(fke_model *m, fke_err *e, int w1, int b1, int w2, int b2,
                           const fke_tensor *h, const drop_site *drop, const fke_tensor *dlogits,
                           fke_tensor *dx)
{
    fke_tensor dh, dd;
    FKE_TRY(zeros_like(m, e, h, &dh));
    FKE_TRY(linear_bwd(m, e, w2, b2, h, dlogits, &dh));
    FKE_TRY(zeros_like(m, e, &drop->y, &dd));
    FKE_TRY(linear_bwd(m, e, w1, b1, &drop->y, &dh, &dd));
    return drop_bwd(m, e, drop, &dd, dx);
}

/* The arena part of a direction's forward: y, hT (cT) and the cell's cache
 * for x (N, T, .), in this order. */
static fke_status rnn_alloc(fke_model *m, fke_err *e, const int idx[4], const fke_tensor *x,
                            rnn_dir *r)
{
    int N = x->shape[0], T = x->shape[1], H = fke_params_value(&m->P, idx[1]).shape[1];
    /* the cell writes every element of y, hT and cT: not zeroed */
    FKE_TRY(fke_arena_tensor_raw(&m->arena, e, &r->y, 3, N, T, H));
    FKE_TRY(fke_arena_tensor_raw(&m->arena, e, &r->hT, 2, N, H));
    switch (m->cfg.cell) {
    case FKE_CELL_LSTM:
        FKE_TRY(fke_arena_tensor_raw(&m->arena, e, &r->cT, 2, N, H));
        return fke_lstm_cache_alloc(&m->arena, e, N, T, H, &r->lstm);
    case FKE_CELL_GRU: return fke_gru_cache_alloc(&m->arena, e, N, T, H, &r->gru);
    }
    return fke_fail(e, FKE_ERR_CONFIG, "model: cell kind %d unknown", (int)m->cfg.cell);
}

static fke_status rnn_run(const fke_model *m, fke_err *e, const int idx[4], const fke_tensor *x,
                          const int *len, int reverse, const fke_tensor *h0, rnn_dir *r)
{
    fke_rnn_params p = rnn_view(&m->P, idx, 0);
    if (m->cfg.cell == FKE_CELL_GRU)
        return fke_gru_forward(e, &p, x, len, reverse, h0, &r->gru, &r->y, &r->hT);
    return fke_lstm_forward(e, &p, x, len, reverse, h0, NULL, &r->lstm, &r->y, &r->hT, &r->cT);
}

/* Both directions of a bidirectional layer (idx[d], r[d]): allocated in
 * turn, then at 2 threads run side by side, one thread each (their own
 * regions then run on that thread), since they share nothing but x: one
 * parallel region instead of a few per direction. With more threads they run
 * in turn, each over all the threads (side by side would leave the rest
 * idle). A direction computes the same at 1 and 2 threads (its chunks are
 * fke_thread_chunks's), so the bits do not change. */
static fke_status rnn_fwd2(fke_model *m, fke_err *e, const int idx[2][4], const fke_tensor *x,
                           const int *len, const fke_tensor *h0, rnn_dir r[2])
{
    for (int d = 0; d < 2; d++) FKE_TRY(rnn_alloc(m, e, idx[d], x, &r[d]));
    fke_status st[2] = {FKE_OK, FKE_OK};
    fke_err ed[2] = {{""}, {""}};
#pragma omp parallel for schedule(static) num_threads(2) if (omp_get_max_threads() == 2)
    for (int d = 0; d < 2; d++) st[d] = rnn_run(m, &ed[d], idx[d], x, len, d, h0, &r[d]);
    for (int d = 0; d < 2; d++)
        if (st[d] != FKE_OK) {
            *e = ed[d];
            return st[d];
        }
    return FKE_OK;
}

static fke_status rnn_bwd(fke_model *m, fke_err *e, const int idx[4], const fke_tensor *x,
                          rnn_dir *r, const fke_tensor *dy, const fke_tensor *dhT,
                          fke_tensor *dx, fke_tensor *dh0)
{
    fke_rnn_params p = rnn_view(&m->P, idx, 0), dp = rnn_view(&m->P, idx, 1);
    switch (m->cfg.cell) {
    case FKE_CELL_LSTM:
        return fke_lstm_backward(e, &p, x, &r->lstm, dy, dhT, NULL, dx, dh0, NULL, &dp);
    case FKE_CELL_GRU:
        return fke_gru_backward(e, &p, x, &r->gru, dy, dhT, dx, dh0, &dp);
    }
    return fke_fail(e, FKE_ERR_CONFIG, "model: cell kind %d unknown", (int)m->cfg.cell);
}

/* The backward of rnn_fwd2's layer, the two directions side by side (at 2
 * threads) as in the forward: dy[d], dhT[d] (dhT may be NULL) give the gradients of the
 * layer's input x in *dx and of its initial state in *dh0 (may be NULL),
 * both fresh zeros on the way in. Direction 1 adds into zeroed buffers of
 * its own, added to direction 0's after the region, so that neither writes
 * what the other does; the sums are the same at any thread count. */
static fke_status rnn_bwd2(fke_model *m, fke_err *e, const int idx[2][4], const fke_tensor *x,
                           rnn_dir r[2], const fke_tensor dy[2], const fke_tensor *dhT,
                           fke_tensor *dx, fke_tensor *dh0)
{
    fke_tensor dx1, dh01, *dxs[2] = {dx, &dx1}, *dh0s[2] = {dh0, dh0 ? &dh01 : NULL};
    FKE_TRY(zeros_like(m, e, dx, &dx1));
    if (dh0) FKE_TRY(zeros_like(m, e, dh0, &dh01));
    fke_status st[2] = {FKE_OK, FKE_OK};
    fke_err ed[2] = {{""}, {""}};
#pragma omp parallel for schedule(static) num_threads(2) if (omp_get_max_threads() == 2)
    for (int d = 0; d < 2; d++)
        st[d] = rnn_bwd(m, &ed[d], idx[d], x, &r[d], &dy[d], dhT ? &dhT[d] : NULL, dxs[d],
                        dh0s[d]);
    for (int d = 0; d < 2; d++)
        if (st[d] != FKE_OK) {
            *e = ed[d];
            return st[d];
        }
    for (int k = 0; k < 2; k++) {
        fke_tensor *to = k ? dh0 : dx, *from = k ? &dh01 : &dx1;
        if (!to) continue;
        long n = (long)fke_numel(to);
#pragma omp parallel for schedule(static) if (n > 65536)
        for (long i = 0; i < n; i++) to->data[i] += from->data[i];
    }
    return FKE_OK;
}

/* ---- forward -------------------------------------------------------------- */
fke_status fke_model_forward(fke_model *m, const fke_batch *b, int train, fke_err *e)
{
    const fke_config *c = &m->cfg;
    fke_model_acts *a = m->acts;
    if (c->task == FKE_TASK_MULTILABEL) return fke_multilabel_forward(m, b, train, e);
    if (c->task == FKE_TASK_CLIP) return fke_clip_forward(m->clip, b, train, e);
    if (c->task != FKE_TASK_FKE)
        return fke_fail(e, FKE_ERR_ARG, "model: config task is not \"fke\"");
    if (b->G != c->G || b->A != c->n_attr || b->L != c->L || b->img != c->img ||
        b->crop != c->crop)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "model: batch has G=%d A=%d L=%d img=%d crop=%d, the model was built for "
                        "G=%d A=%d L=%d img=%d crop=%d",
                        b->G, b->A, b->L, b->img, b->crop, c->G, c->n_attr, c->L, c->img, c->crop);
    fke_arena_reset(&m->arena);
    memset(m->mem, 0, sizeof m->mem); /* the step's arena, afresh */
    double tmark = now();
    size_t umark = m->arena.used;
    int B = b->B, G = c->G, A = c->n_attr, Fd = c->F, H = c->H, S = c->img, s = c->crop, C = c->in_ch;
    memset(a, 0, sizeof *a);
    a->B = B;
    a->vis = c->context == FKE_CTX_ALL || c->context == FKE_CTX_VISUAL;
    a->task = c->context == FKE_CTX_ALL || c->context == FKE_CTX_TASK;
    a->text = c->text;

    /* valid garments, in (post, slot) order */
    int Nv = 0;
    a->len = fke_arena_alloc(&m->arena, e, (size_t)B * sizeof(int));
    if (!a->len) return FKE_ERR_NOMEM;
    for (int i = 0; i < B; i++) {
        int g = b->n_garments[i];
        if (g < 0 || g > G)
            return fke_fail(e, FKE_ERR_ARG, "model: post %d has %d garments (0..%d allowed)", i, g, G);
        Nv += g;
        a->len[i] = g > 0 ? g : 1;
    }
    if (Nv == 0) return fke_fail(e, FKE_ERR_ARG, "model: the batch has no garment at all");
    a->Nv = m->out.Nv = Nv;
    m->out.B = B;
    m->out.gidx = fke_arena_alloc(&m->arena, e, (size_t)Nv * sizeof(int32_t));
    if (!m->out.gidx) return FKE_ERR_NOMEM;
    for (int i = 0, v = 0; i < B; i++)
        for (int g = 0; g < b->n_garments[i]; g++) m->out.gidx[v++] = i * G + g;
    FKE_TRY(fke_arena_tensor(&m->arena, e, &a->crops, 4, Nv, C, s, s));
    fke_tensor crop_x = fke_tensor_view((fke_real *)b->crop_x, 3, B, G, C * s * s);
    const fke_tensor *crop_src[] = {&crop_x};
    FKE_TRY(fke_gather_forward(e, 1, crop_src, m->out.gidx, FKE_NO_STEP, &a->crops));

    /* CNN: whole image and garment crops (same weights) */
    a->img = fke_tensor_view((fke_real *)b->img_x, 4, B, C, S, S);
    FKE_TRY(T2(m, e, &a->f_img, B, Fd));
    FKE_TRY(T2(m, e, &a->f_v, Nv, Fd));
    FKE_TRY(fke_cnn_forward(&m->cnn, &m->P, &m->arena, e, &a->img, train, 0, &a->tape_img, &a->f_img));
    FKE_TRY(fke_cnn_forward(&m->cnn, &m->P, &m->arena, e, &a->crops, train, 1, &a->tape_crop, &a->f_v));
    MARK(m, FKE_PART_CNN);

    /* Bi-LSTM-1 over the garments, both directions started from h0 = W0 f_img */
    fke_tensor s_parts[4];
    int ns = 0;
    if (a->vis) {
        FKE_TRY(T3(m, e, &a->f_g, B, G, Fd));
        FKE_TRY(fke_scatter_forward(e, &a->f_v, m->out.gidx, &a->f_g));
        if (m->W0 >= 0) FKE_TRY(linear_fwd(m, e, m->W0, -1, &a->f_img, &a->h0));
        else a->h0 = a->f_img;
        FKE_TRY(rnn_fwd2(m, e, m->rnn1, &a->f_g, a->len, &a->h0, a->r1));
        FKE_TRY(T2(m, e, &a->c, Nv, 2 * H));
        const fke_tensor *y1[] = {&a->r1[0].y, &a->r1[1].y};
        FKE_TRY(fke_gather_forward(e, 2, y1, m->out.gidx, FKE_NO_STEP, &a->c));
        s_parts[ns++] = a->r1[0].hT; /* scene s = [fwd h_g ; bwd h_1 ; f_img] */
        s_parts[ns++] = a->r1[1].hT;
    } else {
        a->c = a->f_v;
    }
    s_parts[ns++] = a->f_img;
    MARK(m, FKE_PART_RNN1);

    /* TextCNN over the caption */
    if (a->text) {
        fke_tensor Wc[NW], bc[NW];
        for (int k = 0; k < NW; k++) {
            Wc[k] = W(m, m->tconv_w[k]);
            bc[k] = W(m, m->tconv_b[k]);
        }
        fke_tensor tab = W(m, m->emb);
        FKE_TRY(T3(m, e, &a->emb, B, c->L, c->D));
        FKE_TRY(fke_embedding_forward(e, b->tokens, B, c->L, &tab, &a->emb));
        FKE_TRY(T2(m, e, &a->tconv, B, NW * c->Co));
        a->targ = fke_arena_alloc(&m->arena, e, (size_t)B * NW * c->Co * sizeof(int32_t));
        if (!a->targ) return FKE_ERR_NOMEM;
        FKE_TRY(fke_textcnn_forward(e, &a->emb, NW, Wc, bc, &a->tconv, a->targ, &m->arena));
        FKE_TRY(drop_fwd(m, e, c->dropout_text, train, &a->tconv, &a->tdrop));
        FKE_TRY(linear_fwd(m, e, m->tfc_w, m->tfc_b, &a->tdrop.y, &a->t));
        s_parts[ns++] = a->t;
    }
    MARK(m, FKE_PART_TEXT);
    int sdim = 0;
    const fke_tensor *sp[4];
    for (int i = 0; i < ns; i++) {
        sdim += s_parts[i].shape[1];
        sp[i] = &s_parts[i];
    }
    FKE_TRY(T2(m, e, &a->s, B, sdim));
    FKE_TRY(fke_concat_forward(e, ns, sp, &a->s));

    /* occasion: Wocc [s ; t] -> dropout -> linear -> linear */
    FKE_TRY(linear_fwd(m, e, m->occ_w[0], m->occ_b[0], &a->s, &a->o1));
    FKE_TRY(drop_fwd(m, e, c->dropout_head, train, &a->o1, &a->odrop));
    FKE_TRY(linear_fwd(m, e, m->occ_w[1], m->occ_b[1], &a->odrop.y, &a->o2));
    FKE_TRY(linear_fwd(m, e, m->occ_w[2], m->occ_b[2], &a->o2, &m->out.occ));

    /* category: a_cat = Wcat c -> dropout -> linear -> linear */
    FKE_TRY(linear_fwd(m, e, m->wcat_w, m->wcat_b, &a->c, &a->acat));
    FKE_TRY(drop_fwd(m, e, c->dropout_head, train, &a->acat, &a->cdrop));
    FKE_TRY(linear_fwd(m, e, m->cath_w[0], m->cath_b[0], &a->cdrop.y, &a->cat1));
    FKE_TRY(linear_fwd(m, e, m->cath_w[1], m->cath_b[1], &a->cat1, &m->out.cat));

    /* attributes: a_k = W_k c; Bi-LSTM-2 over (a_1 .. a_A, a_cat) per garment */
    for (int k = 0; k < A; k++) FKE_TRY(linear_fwd(m, e, m->wk_w[k], m->wk_b[k], &a->c, &a->a[k]));
    if (a->task) {
        int Mm = c->M, H2 = c->H2;
        const fke_tensor *steps[FKE_MAX_ATTR + 1]; /* a_1 .. a_A, a_cat */
        for (int k = 0; k < A; k++) steps[k] = &a->a[k];
        steps[A] = &a->acat;
        FKE_TRY(T3(m, e, &a->seq, Nv, A + 1, Mm));
        FKE_TRY(fke_gather_forward(e, A + 1, steps, NULL, FKE_NO_STEP, &a->seq));
        FKE_TRY(rnn_fwd2(m, e, m->rnn2, &a->seq, NULL, NULL, a->r2));
        const fke_tensor *y2[] = {&a->r2[0].y, &a->r2[1].y};
        for (int k = 0; k < A; k++) { /* u_k = [fwd ; bwd] at step k */
            FKE_TRY(T2(m, e, &a->u[k], Nv, 2 * H2));
            FKE_TRY(fke_gather_forward(e, 2, y2, NULL, k, &a->u[k]));
        }
    } else {
        for (int k = 0; k < A; k++) a->u[k] = a->a[k];
    }
    for (int k = 0; k < A; k++) {
        FKE_TRY(drop_fwd(m, e, c->dropout_head, train, &a->u[k], &a->udrop[k]));
        FKE_TRY(linear_fwd(m, e, m->atth_w[k][0], m->atth_b[k][0], &a->udrop[k].y, &a->att1[k]));
        FKE_TRY(linear_fwd(m, e, m->atth_w[k][1], m->atth_b[k][1], &a->att1[k], &m->out.att[k]));
    }
    MARK(m, FKE_PART_HEADS);
    return FKE_OK;
}

/* ---- loss ----------------------------------------------------------------- */
/* Clean CE on the clean rows, and the (corrected) CE on the noisy rows: their
 * means l[0], l[1] over their row counts n[0], n[1] (a mean is 0 over no
 * row). task_grad adds sc[0] times the clean part's gradient and beta sc[1]
 * times the noisy part's into dz (and into Θ's gradient). */
static fke_status task_loss(fke_model *m, fke_err *e, const fke_tensor *z, const int32_t *y,
                            const uint8_t *clean, const uint8_t *noisy, int theta, double l[2],
                            int n[2])
{
    l[0] = l[1] = 0;
    n[0] = n[1] = 0;
    /* the dry run of fke_model_plan only sizes buffers: any loss will do */
#define LOSS_TRY(x)                                                            \
    do {                                                                       \
        fke_status s_ = (x);                                                   \
        if (s_ != FKE_OK && !(s_ == FKE_ERR_NUMERIC && m->planning)) return s_; \
    } while (0)
    LOSS_TRY(fke_softmax_xent_forward(e, z, y, clean, &l[0], &n[0]));
    if (noisy) {
        if (theta >= 0) {
            fke_tensor th = W(m, theta);
            LOSS_TRY(fke_transition_forward(e, z, &th, y, noisy, &l[1], &n[1]));
        } else {
            LOSS_TRY(fke_softmax_xent_forward(e, z, y, noisy, &l[1], &n[1]));
        }
    }
#undef LOSS_TRY
    return FKE_OK;
}

static fke_status task_grad(fke_model *m, fke_err *e, const fke_tensor *z, const int32_t *y,
                            const uint8_t *clean, const uint8_t *noisy, int theta,
                            const double sc[2], fke_tensor *dz)
{
    FKE_TRY(fke_softmax_xent_backward(e, z, y, clean, sc[0], dz));
    if (!noisy) return FKE_OK;
    if (theta >= 0) {
        fke_tensor th = W(m, theta), dth = dW(m, theta);
        return fke_transition_backward(e, z, &th, y, noisy, m->cfg.beta * sc[1], dz, &dth);
    }
    return fke_softmax_xent_backward(e, z, y, noisy, m->cfg.beta * sc[1], dz);
}

/* The loss of docs/model.md: per task t (occasion, category, attributes)
 *   L_t = mean over the clean rows of CE + beta * mean over the noisy rows
 * of the corrected CE, then the mean of L_t over the tasks with a valid
 * label. With m->reduce (data-parallel training) every count is the one of
 * the global batch: the per-rank counts are summed first, this rank's means
 * are weighted by its share n_local / n_global, and so are its gradients.
 * The ranks' losses (and gradients) then sum to the global batch's. */
fke_status fke_model_loss(fke_model *m, const fke_batch *b, double *loss, fke_err *e)
{
    if (m->cfg.task == FKE_TASK_MULTILABEL) return fke_multilabel_loss(m, b, loss, e);
    if (m->cfg.task == FKE_TASK_CLIP) return fke_clip_loss(m->clip, loss, NULL, e);
    fke_model_acts *a = m->acts;
    const fke_config *c = &m->cfg;
    int Nv = a->Nv, A = c->n_attr, G = c->G;
    double tmark = now();
    size_t umark = m->arena.used;
    a->ycat = fke_arena_alloc(&m->arena, e, (size_t)Nv * sizeof(int32_t));
    a->gclean = fke_arena_alloc(&m->arena, e, (size_t)Nv);
    a->gnoisy = fke_arena_alloc(&m->arena, e, (size_t)Nv);
    if (!a->ycat || !a->gclean || !a->gnoisy) return FKE_ERR_NOMEM;
    for (int k = 0; k < A; k++) {
        a->yatt[k] = fke_arena_alloc(&m->arena, e, (size_t)Nv * sizeof(int32_t));
        if (!a->yatt[k]) return FKE_ERR_NOMEM;
    }
    for (int v = 0; v < Nv; v++) {
        int gi = m->out.gidx[v], post = gi / G;
        a->ycat[v] = b->cat[gi];
        /* -1 also where the data says the category admits no such attribute:
         * the loader masks those (loader.h), so the loss needs no dataset */
        for (int k = 0; k < A; k++) a->yatt[k][v] = b->attr[(size_t)gi * A + k];
        a->gclean[v] = b->clean[post] != 0;
        a->gnoisy[v] = b->clean[post] == 0;
    }
    int corr = c->correction == FKE_CORR_FORWARD, nt = 2 + A;
    double l[FKE_N_TASKS][2], cnt[FKE_N_TASKS * 2];
    int n[FKE_N_TASKS][2];
    /* occasion labels are human-given for every post: plain CE */
    FKE_TRY(task_loss(m, e, &m->out.occ, b->occ, NULL, NULL, -1, l[0], n[0]));
    FKE_TRY(task_loss(m, e, &m->out.cat, a->ycat, a->gclean, a->gnoisy, corr ? m->theta[0] : -1,
                      l[1], n[1]));
    for (int k = 0; k < A; k++)
        FKE_TRY(task_loss(m, e, &m->out.att[k], a->yatt[k], a->gclean, a->gnoisy,
                          corr ? m->theta[k + 1] : -1, l[2 + k], n[2 + k]));
    for (int t = 0; t < nt; t++) cnt[2 * t] = n[t][0], cnt[2 * t + 1] = n[t][1];
    if (m->reduce && !m->planning) FKE_TRY(m->reduce->sum(m->reduce->ctx, cnt, 2 * nt, e));
    int ntask = 0;
    double total = 0;
    for (int t = 0; t < nt; t++) {
        int has = cnt[2 * t] + cnt[2 * t + 1] > 0;
        for (int j = 0; j < 2; j++) /* this rank's share of the global count (1 alone) */
            a->share[t][j] = !n[t][j] ? 0 : m->reduce ? n[t][j] / cnt[2 * t + j] : 1.0;
        double lt = (n[t][0] ? l[t][0] * a->share[t][0] : 0) +
                    (n[t][1] ? c->beta * (l[t][1] * a->share[t][1]) : 0);
        m->out.task_loss[t] = has ? lt : NAN;
        total += has ? lt : 0;
        ntask += has;
    }
    if (ntask == 0) return fke_fail(e, FKE_ERR_ARG, "model: the batch has no valid label at all");
    *loss = total / ntask;
    if (!isfinite(*loss) && !m->planning)
        return fke_fail(e, FKE_ERR_NUMERIC, "model: the loss is %g (diverged?)", *loss);

    a->ntask = ntask;
    MARK(m, FKE_PART_LOSS);
    return FKE_OK;
}

/* ---- backward: the forward's steps in reverse ------------------------------- */
fke_status fke_model_backward(fke_model *m, const fke_batch *b, fke_err *e)
{
    if (m->cfg.task == FKE_TASK_MULTILABEL) return fke_multilabel_backward(m, b, e);
    if (m->cfg.task == FKE_TASK_CLIP) return fke_clip_backward(m->clip, e);
    (void)b;
    const fke_config *c = &m->cfg;
    fke_model_acts *a = m->acts;
    int B = a->B, A = c->n_attr, G = c->G;
    if (!a->ntask) return fke_fail(e, FKE_ERR_ARG, "model: backward without loss");
    double tmark = now();
    size_t umark = m->arena.used;

    /* the loss: gradients of the logits (and of Θ), each part weighted by
     * 1 / ntask and this rank's share of its count (fke_model_loss) */
    double scale = 1.0 / a->ntask, sc[FKE_N_TASKS][2];
    for (int t = 0; t < 2 + A; t++)
        for (int j = 0; j < 2; j++) sc[t][j] = scale * a->share[t][j];
    int corr = c->correction == FKE_CORR_FORWARD;
    FKE_TRY(zeros_like(m, e, &m->out.occ, &a->docc));
    FKE_TRY(zeros_like(m, e, &m->out.cat, &a->dcat));
    FKE_TRY(task_grad(m, e, &m->out.occ, b->occ, NULL, NULL, -1, sc[0], &a->docc));
    FKE_TRY(task_grad(m, e, &m->out.cat, a->ycat, a->gclean, a->gnoisy, corr ? m->theta[0] : -1,
                      sc[1], &a->dcat));
    for (int k = 0; k < A; k++) {
        FKE_TRY(zeros_like(m, e, &m->out.att[k], &a->datt[k]));
        FKE_TRY(task_grad(m, e, &m->out.att[k], a->yatt[k], a->gclean, a->gnoisy,
                          corr ? m->theta[k + 1] : -1, sc[2 + k], &a->datt[k]));
    }

    MARK(m, FKE_PART_LOSS);

    /* attribute heads, Bi-LSTM-2, W_k */
    fke_tensor dc, da[FKE_MAX_ATTR], dacat;
    FKE_TRY(zeros_like(m, e, &a->c, &dc));
    FKE_TRY(zeros_like(m, e, &a->acat, &dacat));
    for (int k = 0; k < A; k++) {
        fke_tensor datt1, dud, du;
        FKE_TRY(zeros_like(m, e, &a->att1[k], &datt1));
        FKE_TRY(linear_bwd(m, e, m->atth_w[k][1], m->atth_b[k][1], &a->att1[k], &a->datt[k], &datt1));
        FKE_TRY(zeros_like(m, e, &a->udrop[k].y, &dud));
        FKE_TRY(linear_bwd(m, e, m->atth_w[k][0], m->atth_b[k][0], &a->udrop[k].y, &datt1, &dud));
        FKE_TRY(drop_bwd(m, e, &a->udrop[k], &dud, &du));
        da[k] = du; /* u_k = a_k without Bi-LSTM-2; replaced below otherwise */
    }
    if (a->task) {
        fke_tensor dy2[2], dseq;
        const fke_tensor *y2[] = {&a->r2[0].y, &a->r2[1].y};
        fke_tensor *dy2p[] = {&dy2[0], &dy2[1]};
        for (int d = 0; d < 2; d++) FKE_TRY(zeros_like(m, e, &a->r2[d].y, &dy2[d]));
        for (int k = 0; k < A; k++) FKE_TRY(fke_gather_backward(e, &da[k], 2, y2, NULL, k, dy2p));
        FKE_TRY(zeros_like(m, e, &a->seq, &dseq));
        FKE_TRY(rnn_bwd2(m, e, m->rnn2, &a->seq, a->r2, dy2, NULL, &dseq, NULL));
        const fke_tensor *steps[FKE_MAX_ATTR + 1]; /* a_1 .. a_A, a_cat */
        fke_tensor *dsteps[FKE_MAX_ATTR + 1];
        for (int k = 0; k < A; k++) {
            FKE_TRY(zeros_like(m, e, &a->a[k], &da[k]));
            steps[k] = &a->a[k];
            dsteps[k] = &da[k];
        }
        steps[A] = &a->acat;
        dsteps[A] = &dacat;
        FKE_TRY(fke_gather_backward(e, &dseq, A + 1, steps, NULL, FKE_NO_STEP, dsteps));
    }
    for (int k = A - 1; k >= 0; k--) FKE_TRY(linear_bwd(m, e, m->wk_w[k], m->wk_b[k], &a->c, &da[k], &dc));

    /* category head */
    {
        fke_tensor dac;
        FKE_TRY(head_bwd(m, e, m->cath_w[0], m->cath_b[0], m->cath_w[1], m->cath_b[1], &a->cat1,
                         &a->cdrop, &a->dcat, &dac));
        for (size_t i = 0; i < fke_numel(&dacat); i++) dacat.data[i] += dac.data[i];
        FKE_TRY(linear_bwd(m, e, m->wcat_w, m->wcat_b, &a->c, &dacat, &dc));
    }

    /* occasion head */
    fke_tensor ds;
    {
        fke_tensor do1;
        FKE_TRY(head_bwd(m, e, m->occ_w[1], m->occ_b[1], m->occ_w[2], m->occ_b[2], &a->o2,
                         &a->odrop, &a->docc, &do1));
        FKE_TRY(zeros_like(m, e, &a->s, &ds));
        FKE_TRY(linear_bwd(m, e, m->occ_w[0], m->occ_b[0], &a->s, &do1, &ds));
    }

    MARK(m, FKE_PART_HEADS);

    /* split d[s ; t] */
    fke_tensor dhT[2], df_img, dt;
    FKE_TRY(zeros_like(m, e, &a->f_img, &df_img));
    const fke_tensor *parts[4];
    fke_tensor *dparts[4];
    int np = 0;
    if (a->vis) {
        for (int d = 0; d < 2; d++) {
            FKE_TRY(zeros_like(m, e, &a->r1[d].hT, &dhT[d]));
            parts[np] = &a->r1[d].hT;
            dparts[np++] = &dhT[d];
        }
    }
    parts[np] = &a->f_img;
    dparts[np++] = &df_img;
    if (a->text) {
        FKE_TRY(zeros_like(m, e, &a->t, &dt));
        parts[np] = &a->t;
        dparts[np++] = &dt;
    }
    FKE_TRY(fke_concat_backward(e, &ds, np, parts, dparts));

    /* TextCNN */
    if (a->text) {
        fke_tensor dtd, dtc, demb, Wc[NW], dWc[NW], dbc[NW];
        FKE_TRY(zeros_like(m, e, &a->tdrop.y, &dtd));
        FKE_TRY(linear_bwd(m, e, m->tfc_w, m->tfc_b, &a->tdrop.y, &dt, &dtd));
        FKE_TRY(drop_bwd(m, e, &a->tdrop, &dtd, &dtc));
        for (int k = 0; k < NW; k++) {
            Wc[k] = W(m, m->tconv_w[k]);
            dWc[k] = dW(m, m->tconv_w[k]);
            dbc[k] = dW(m, m->tconv_b[k]);
        }
        FKE_TRY(zeros_like(m, e, &a->emb, &demb));
        FKE_TRY(fke_textcnn_backward(e, &a->emb, NW, Wc, &a->tconv, a->targ, &dtc, &demb, dWc, dbc));
        fke_tensor dtab = dW(m, m->emb);
        FKE_TRY(fke_embedding_backward(e, b->tokens, B, c->L, &demb, &dtab));
    }
    MARK(m, FKE_PART_TEXT);

    /* Bi-LSTM-1 */
    fke_tensor df_v;
    if (a->vis) {
        fke_tensor dy1[2], df_g, dh0;
        const fke_tensor *y1[] = {&a->r1[0].y, &a->r1[1].y};
        fke_tensor *dy1p[] = {&dy1[0], &dy1[1]};
        for (int d = 0; d < 2; d++) FKE_TRY(zeros_like(m, e, &a->r1[d].y, &dy1[d]));
        FKE_TRY(fke_gather_backward(e, &dc, 2, y1, m->out.gidx, FKE_NO_STEP, dy1p));
        FKE_TRY(zeros_like(m, e, &a->f_g, &df_g));
        FKE_TRY(zeros_like(m, e, &a->h0, &dh0));
        FKE_TRY(rnn_bwd2(m, e, m->rnn1, &a->f_g, a->r1, dy1, dhT, &df_g, &dh0));
        if (m->W0 >= 0) FKE_TRY(linear_bwd(m, e, m->W0, -1, &a->f_img, &dh0, &df_img));
        else
            for (size_t i = 0; i < fke_numel(&dh0); i++) df_img.data[i] += dh0.data[i];
        FKE_TRY(zeros_like(m, e, &a->f_v, &df_v));
        FKE_TRY(fke_scatter_backward(e, &df_g, &a->f_v, m->out.gidx, &df_v));
    } else {
        df_v = dc;
    }
    (void)G;
    MARK(m, FKE_PART_RNN1);

    /* CNN: crops, then whole images; each gives its gradients back, so its
     * own peak is measured apart (the arena's peak since here) */
    size_t peak0 = m->arena.peak, used0 = m->arena.used;
    m->arena.peak = used0;
    FKE_TRY(fke_cnn_backward(&m->cnn, &m->P, &m->arena, e, &a->tape_crop, &df_v, NULL));
    FKE_TRY(fke_cnn_backward(&m->cnn, &m->P, &m->arena, e, &a->tape_img, &df_img, NULL));
    m->mem_cnn_backward = m->arena.peak - used0;
    if (peak0 > m->arena.peak) m->arena.peak = peak0;
    MARK(m, FKE_PART_CNN);
    return FKE_OK;
}

/* ---- task "classify": CNN trunk + linear ---------------------------------- */
fke_status fke_classifier_forward(fke_model *m, const fke_tensor *x, int train, fke_err *e)
{
    fke_model_acts *a = m->acts;
    if (m->cfg.task != FKE_TASK_CLASSIFY)
        return fke_fail(e, FKE_ERR_ARG, "model: config task is not \"classify\"");
    fke_arena_reset(&m->arena);
    memset(a, 0, sizeof *a);
    a->B = x->shape[0];
    a->img = *x;
    FKE_TRY(T2(m, e, &a->f_img, a->B, m->cfg.F));
    FKE_TRY(fke_cnn_forward(&m->cnn, &m->P, &m->arena, e, x, train, 0, &a->tape_img, &a->f_img));
    return linear_fwd(m, e, m->cls_w, m->cls_b, &a->f_img, &m->out.occ);
}

/* Plain CE, or with a transition layer (theta[0]) the forward-corrected CE
 * -log((softmax(z) T)[y]) of docs/model.md on every image. With the layer the
 * gradients of the logits and of Θ are made by fke_classifier_backward,
 * since Θ's gradient lives in the parameter gradients, zeroed between the
 * loss and the backward. */
fke_status fke_classifier_loss(fke_model *m, const int32_t *labels, double *loss, fke_err *e)
{
    fke_model_acts *a = m->acts;
    int n = 0, th_i = m->theta[0];
    fke_tensor th = th_i >= 0 ? W(m, th_i) : (fke_tensor){0};
    fke_status st = th_i >= 0 ? fke_transition_forward(e, &m->out.occ, &th, labels, NULL, loss, &n)
                              : fke_softmax_xent_forward(e, &m->out.occ, labels, NULL, loss, &n);
    if (st != FKE_OK && !(st == FKE_ERR_NUMERIC && m->planning)) return st;
    if (!isfinite(*loss) && !m->planning)
        return fke_fail(e, FKE_ERR_NUMERIC, "model: the loss is %g (diverged?)", *loss);
    FKE_TRY(zeros_like(m, e, &m->out.occ, &a->docc));
    a->ycat = (int32_t *)labels;
    if (th_i < 0) return fke_softmax_xent_backward(e, &m->out.occ, labels, NULL, 1.0, &a->docc);
    return FKE_OK; /* fke_classifier_backward: the gradients of the logits and of Θ */
}

fke_status fke_classifier_backward(fke_model *m, fke_err *e)
{
    fke_model_acts *a = m->acts;
    fke_tensor df;
    if (m->theta[0] >= 0) { /* the loss: gradients of the logits and of Θ */
        fke_tensor th = W(m, m->theta[0]), dth = dW(m, m->theta[0]);
        FKE_TRY(fke_transition_backward(e, &m->out.occ, &th, a->ycat, NULL, 1.0, &a->docc, &dth));
    }
    FKE_TRY(zeros_like(m, e, &a->f_img, &df));
    FKE_TRY(linear_bwd(m, e, m->cls_w, m->cls_b, &a->f_img, &a->docc, &df));
    return fke_cnn_backward(&m->cnn, &m->P, &m->arena, e, &a->tape_img, &df, NULL);
}

/* ---- arena sizing ----------------------------------------------------------- */
void fke_model_after_update(fke_model *m)
{
    if (m->clip) fke_clip_clamp(m->clip);
}

fke_status fke_model_plan(fke_model *m, fke_err *e)
{
    const fke_config *c = &m->cfg;
    if (m->clip) return fke_clip_plan(m->clip, e);
    size_t big = (size_t)16 << 30;
    fke_arena_free(&m->arena);
    while (fke_arena_init(&m->arena, big, NULL) != FKE_OK) { /* lazily committed */
        big /= 2;
        if (big < ((size_t)256 << 20))
            return fke_fail(e, FKE_ERR_NOMEM, "model: cannot reserve memory for the step arena");
    }
    int B = c->batch, G = c->G, A = c->n_attr;
    fke_status st = FKE_ERR_CONFIG; /* every case below sets it */
    fke_rng keep = m->rng;
    m->planning = 1;
    fke_real *saved = malloc(m->P.total * sizeof(fke_real));
    if (!saved) return fke_fail(e, FKE_ERR_NOMEM, "model: out of memory");
    memcpy(saved, m->P.w, m->P.total * sizeof(fke_real)); /* bn running stats move */
    switch (c->task) {
    case FKE_TASK_CLIP: /* fke_clip_plan above */
        break;
    case FKE_TASK_CLASSIFY: {
        size_t n = (size_t)B * c->in_ch * c->img * c->img;
        float *x = calloc(n, sizeof(float));
        int32_t *y = calloc((size_t)B, sizeof(int32_t));
        fke_tensor xt = fke_tensor_view(x, 4, B, c->in_ch, c->img, c->img);
        double l;
        st = (!x || !y) ? fke_fail(e, FKE_ERR_NOMEM, "model: out of memory")
                        : fke_classifier_forward(m, &xt, 1, e);
        if (st == FKE_OK) st = fke_classifier_loss(m, y, &l, e);
        if (st == FKE_OK) st = fke_classifier_backward(m, e);
        free(x);
        free(y);
        break;
    }
    case FKE_TASK_MULTILABEL: st = fke_multilabel_plan_step(m, e); break;
    case FKE_TASK_FKE: {
        fke_batch bt;
        st = fke_batch_alloc(&bt, B, G, A, c->L, c->in_ch, c->img, c->crop, e);
        for (int i = 0; st == FKE_OK && i < B; i++) {
            bt.n_garments[i] = G;
            bt.clean[i] = i < B / 2;
        }
        double l;
        if (st == FKE_OK) st = fke_model_forward(m, &bt, 1, e);
        if (st == FKE_OK) st = fke_model_loss(m, &bt, &l, e);
        if (st == FKE_OK) st = fke_model_backward(m, &bt, e);
        fke_batch_free(&bt);
        break;
    }
    }
    m->planning = 0;
    memcpy(m->P.w, saved, m->P.total * sizeof(fke_real));
    free(saved);
    fke_params_zero_grad(&m->P);
    m->rng = keep;
    memset(m->time, 0, sizeof m->time);
    size_t need = m->arena.peak + m->arena.peak / 8 + ((size_t)1 << 20);
    fke_arena_free(&m->arena);
    if (st != FKE_OK) return st;
    return fke_arena_init(&m->arena, need, e);
}
