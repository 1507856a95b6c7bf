/* lstm.c - see lstm.h. Also the checks and the all-steps weight gradients
 * that gru.c shares.
 *
 * The input projections of all N*T positions are one GEMM before the
 * recurrence; each step is then one GEMM over the batch, (N, H) x (H, 4H),
 * reading and writing the step's rows of the (N, T, .) buffers in place with
 * a leading dimension of T * width. Rows whose sequence is not active at step
 * t are masked: their state is carried over unchanged and their gate gradient
 * is zero, so the weight gradients can be summed over all positions at once. */
#include "nn/lstm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef FKE_DOUBLE
#define R_EXP exp
#define R_TANH tanh
#else
#define R_EXP expf
#define R_TANH tanhf
#endif

static inline fke_real sigm(fke_real v) { return 1 / (1 + R_EXP(-v)); }

/* ---- shared with gru.c -------------------------------------------------- */
fke_status fke_rnn_check(fke_err *e, const char *op, int G, const fke_rnn_params *P,
                         const fke_tensor *x, int *N, int *T, int *In, int *H)
{
    if (!P) return fke_fail(e, FKE_ERR_ARG, "%s: parameters are NULL", op);
    FKE_EXPECT(e, op, "W_hh", &P->W_hh, -1, -1);
    int h = P->W_hh.shape[1];
    FKE_EXPECT(e, op, "W_hh", &P->W_hh, G * h, h);
    FKE_EXPECT(e, op, "W_ih", &P->W_ih, G * h, -1);
    FKE_EXPECT(e, op, "b_ih", &P->b_ih, G * h);
    FKE_EXPECT(e, op, "b_hh", &P->b_hh, G * h);
    FKE_EXPECT(e, op, "x", x, -1, -1, P->W_ih.shape[1]);
    *N = x->shape[0];
    *T = x->shape[1];
    *In = x->shape[2];
    *H = h;
    return FKE_OK;
}

fke_status fke_rnn_lengths(fke_err *e, const char *op, const int *len, int N, int T,
                           int *dst)
{
    for (int n = 0; n < N; n++) {
        int l = len ? len[n] : T;
        if (l < 1 || l > T)
            return fke_fail(e, FKE_ERR_ARG, "%s: lengths[%d] = %d, expected 1..%d (T)", op,
                            n, l, T);
        dst[n] = l;
    }
    return FKE_OK;
}

fke_status fke_rnn_check_grads(fke_err *e, const char *op, const fke_rnn_params *P,
                               const fke_tensor *x, const fke_tensor *dx,
                               const fke_rnn_params *dP)
{
    if (dx) FKE_EXPECT(e, op, "dx", dx, x->shape[0], x->shape[1], x->shape[2]);
    if (dP) {
        FKE_EXPECT(e, op, "dW_ih", &dP->W_ih, P->W_ih.shape[0], P->W_ih.shape[1]);
        FKE_EXPECT(e, op, "dW_hh", &dP->W_hh, P->W_hh.shape[0], P->W_hh.shape[1]);
        FKE_EXPECT(e, op, "db_ih", &dP->b_ih, P->b_ih.shape[0]);
        FKE_EXPECT(e, op, "db_hh", &dP->b_hh, P->b_hh.shape[0]);
    }
    return FKE_OK;
}

static void colsum_add(const fke_real *a, int rows, int cols, fke_real *out)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) out[j] += a[(size_t)r * cols + j];
}

void fke_rnn_weight_grads(const fke_rnn_params *P, const fke_tensor *x,
                          const fke_tensor *hin, const fke_tensor *dg,
                          const fke_tensor *dgh, fke_tensor *dx, fke_rnn_params *dP)
{
    int NT = x->shape[0] * x->shape[1], In = x->shape[2];
    int GH = P->W_hh.shape[0], H = P->W_hh.shape[1];
    if (dx) /* (NT, I) += dg (NT, GH) W_ih (GH, I) */
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, NT, In, GH, 1, dg->data, GH,
                 P->W_ih.data, In, 1, dx->data, In);
    if (dP) {
        FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, GH, In, NT, 1, dg->data, GH,
                 x->data, In, 1, dP->W_ih.data, In);
        FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, GH, H, NT, 1, dgh->data, GH,
                 hin->data, H, 1, dP->W_hh.data, H);
        colsum_add(dg->data, NT, GH, dP->b_ih.data);
        colsum_add(dgh->data, NT, GH, dP->b_hh.data);
    }
}

/* ---- LSTM ---------------------------------------------------------------- */
fke_status fke_lstm_cache_alloc(fke_arena *a, fke_err *e, int N, int T, int H,
                                fke_lstm_cache *k)
{
    memset(k, 0, sizeof *k);
    if (N < 1 || T < 1 || H < 1)
        return fke_fail(e, FKE_ERR_ARG, "lstm cache: N=%d, T=%d, H=%d must be positive", N,
                        T, H);
    k->N = N;
    k->T = T;
    k->H = H;
    k->len = fke_arena_alloc(a, e, (size_t)N * sizeof(int));
    if (!k->len) return FKE_ERR_NOMEM;
    FKE_TRY(fke_arena_tensor(a, e, &k->gates, 3, N, T, 4 * H));
    FKE_TRY(fke_arena_tensor(a, e, &k->hin, 3, N, T, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->cin, 3, N, T, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->tc, 3, N, T, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->h, 2, N, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->c, 2, N, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->dtmp, 2, N, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->dgates, 3, N, T, 4 * H));
    return FKE_OK;
}

static fke_status check_cache(fke_err *e, const char *op, const fke_lstm_cache *k, int N,
                              int T, int H)
{
    if (!k || !k->len)
        return fke_fail(e, FKE_ERR_ARG, "%s: cache is NULL or not allocated", op);
    if (k->N != N || k->T != T || k->H != H)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "%s: cache is for N=%d, T=%d, H=%d, the call has N=%d, T=%d, H=%d", op,
                        k->N, k->T, k->H, N, T, H);
    FKE_EXPECT(e, op, "cache.gates", &k->gates, N, T, 4 * H);
    FKE_EXPECT(e, op, "cache.hin", &k->hin, N, T, H);
    FKE_EXPECT(e, op, "cache.cin", &k->cin, N, T, H);
    FKE_EXPECT(e, op, "cache.tc", &k->tc, N, T, H);
    FKE_EXPECT(e, op, "cache.h", &k->h, N, H);
    FKE_EXPECT(e, op, "cache.c", &k->c, N, H);
    FKE_EXPECT(e, op, "cache.dtmp", &k->dtmp, N, H);
    FKE_EXPECT(e, op, "cache.dgates", &k->dgates, N, T, 4 * H);
    return FKE_OK;
}

fke_status fke_lstm_forward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                            const int *len, int reverse, const fke_tensor *h0,
                            const fke_tensor *c0, fke_lstm_cache *k, fke_tensor *y,
                            fke_tensor *hT, fke_tensor *cT)
{
    const char *op = "lstm";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, 4, P, x, &N, &T, &In, &H));
    FKE_TRY(check_cache(e, op, k, N, T, H));
    if (h0) FKE_EXPECT(e, op, "h0", h0, N, H);
    if (c0) FKE_EXPECT(e, op, "c0", c0, N, H);
    if (y) FKE_EXPECT(e, op, "y", y, N, T, H);
    if (hT) FKE_EXPECT(e, op, "hT", hT, N, H);
    if (cT) FKE_EXPECT(e, op, "cT", cT, N, H);
    FKE_TRY(fke_rnn_lengths(e, op, len, N, T, k->len));
    k->reverse = reverse != 0;

    const int G = 4 * H;
    const size_t NT = (size_t)N * T;
    fke_real *gates = k->gates.data, *h = k->h.data, *c = k->c.data;
    /* gates (NT, 4H) = b_ih + b_hh + x (NT, I) W_ih^T */
    for (size_t r = 0; r < NT; r++)
        for (int j = 0; j < G; j++) gates[r * G + j] = P->b_ih.data[j] + P->b_hh.data[j];
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)NT, G, In, 1, x->data, In,
             P->W_ih.data, In, 1, gates, G);
    size_t hs = (size_t)N * H * sizeof(fke_real);
    if (h0) memcpy(h, h0->data, hs);
    else memset(h, 0, hs);
    if (c0) memcpy(c, c0->data, hs);
    else memset(c, 0, hs);

    for (int s = 0; s < T; s++) {
        int t = k->reverse ? T - 1 - s : s;
        fke_real *hin = k->hin.data + (size_t)t * H, *cin = k->cin.data + (size_t)t * H;
        for (int n = 0; n < N; n++) {
            memcpy(hin + (size_t)n * T * H, h + (size_t)n * H, H * sizeof(fke_real));
            memcpy(cin + (size_t)n * T * H, c + (size_t)n * H, H * sizeof(fke_real));
        }
        /* the step's rows: gates[:, t] (N, 4H) += hin[:, t] (N, H) W_hh^T */
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, H, 1, hin, T * H,
                 P->W_hh.data, H, 1, gates + (size_t)t * G, T * G);
        for (int n = 0; n < N; n++) {
            size_t p = (size_t)n * T + t;
            fke_real *gi = gates + p * G, *gf = gi + H, *gg = gf + H, *go = gg + H;
            fke_real *tc = k->tc.data + p * H, *yr = y ? y->data + p * H : NULL;
            fke_real *hn = h + (size_t)n * H, *cn = c + (size_t)n * H;
            if (t >= k->len[n]) { /* padded: state carried over, output zero */
                memset(gi, 0, G * sizeof(fke_real));
                memset(tc, 0, H * sizeof(fke_real));
                if (yr) memset(yr, 0, H * sizeof(fke_real));
                continue;
            }
            for (int j = 0; j < H; j++) {
                gi[j] = sigm(gi[j]);
                gf[j] = sigm(gf[j]);
                gg[j] = R_TANH(gg[j]);
                go[j] = sigm(go[j]);
                cn[j] = gf[j] * cn[j] + gi[j] * gg[j];
                tc[j] = R_TANH(cn[j]);
                hn[j] = go[j] * tc[j];
                if (yr) yr[j] = hn[j];
            }
        }
    }
    if (hT) memcpy(hT->data, h, hs);
    if (cT) memcpy(cT->data, c, hs);
    return FKE_OK;
}

fke_status fke_lstm_backward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                             fke_lstm_cache *k, const fke_tensor *dy, const fke_tensor *dhT,
                             const fke_tensor *dcT, fke_tensor *dx, fke_tensor *dh0,
                             fke_tensor *dc0, fke_rnn_params *dP)
{
    const char *op = "lstm backward";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, 4, P, x, &N, &T, &In, &H));
    FKE_TRY(check_cache(e, op, k, N, T, H));
    if (dy) FKE_EXPECT(e, op, "dy", dy, N, T, H);
    if (dhT) FKE_EXPECT(e, op, "dhT", dhT, N, H);
    if (dcT) FKE_EXPECT(e, op, "dcT", dcT, N, H);
    if (dh0) FKE_EXPECT(e, op, "dh0", dh0, N, H);
    if (dc0) FKE_EXPECT(e, op, "dc0", dc0, N, H);
    FKE_TRY(fke_rnn_check_grads(e, op, P, x, dx, dP));

    const int G = 4 * H;
    fke_real *dh = k->h.data, *dc = k->c.data, *dg = k->dgates.data;
    size_t hs = (size_t)N * H * sizeof(fke_real);
    if (dhT) memcpy(dh, dhT->data, hs);
    else memset(dh, 0, hs);
    if (dcT) memcpy(dc, dcT->data, hs);
    else memset(dc, 0, hs);
    memset(dg, 0, (size_t)N * T * G * sizeof(fke_real)); /* zero at padded steps */

    for (int s = 0; s < T; s++) {
        int t = k->reverse ? s : T - 1 - s; /* the forward's steps, last first */
        for (int n = 0; n < N; n++) {
            if (t >= k->len[n]) continue;
            size_t p = (size_t)n * T + t;
            const fke_real *gi = k->gates.data + p * G, *gf = gi + H, *gg = gf + H,
                           *go = gg + H;
            const fke_real *tc = k->tc.data + p * H, *cin = k->cin.data + p * H;
            const fke_real *dyr = dy ? dy->data + p * H : NULL;
            fke_real *di = dg + p * G, *df = di + H, *dgg = df + H, *dO = dgg + H;
            fke_real *dhn = dh + (size_t)n * H, *dcn = dc + (size_t)n * H;
            for (int j = 0; j < H; j++) {
                fke_real dht = dhn[j] + (dyr ? dyr[j] : 0);
                fke_real dct = dcn[j] + dht * go[j] * (1 - tc[j] * tc[j]);
                dO[j] = dht * tc[j] * go[j] * (1 - go[j]);
                di[j] = dct * gg[j] * gi[j] * (1 - gi[j]);
                df[j] = dct * cin[j] * gf[j] * (1 - gf[j]);
                dgg[j] = dct * gi[j] * (1 - gg[j] * gg[j]);
                dcn[j] = dct * gf[j];
            }
        }
        /* dtmp (N, H) = dgates[:, t] (N, 4H) W_hh (4H, H): the gradient into the
         * state entering step t, taken over only by the active rows */
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1,
                 dg + (size_t)t * G, T * G, P->W_hh.data, H, 0, k->dtmp.data, H);
        for (int n = 0; n < N; n++)
            if (t < k->len[n])
                memcpy(dh + (size_t)n * H, k->dtmp.data + (size_t)n * H,
                       H * sizeof(fke_real));
    }
    if (dh0) FKE_AXPY(N * H, 1, dh, 1, dh0->data, 1);
    if (dc0) FKE_AXPY(N * H, 1, dc, 1, dc0->data, 1);
    fke_rnn_weight_grads(P, x, &k->hin, &k->dgates, &k->dgates, dx, dP);
    return FKE_OK;
}
