/* gru.c - see gru.h. Same scheme as lstm.c: the input projections of all
 * steps in one GEMM, one GEMM over the batch per step, masked rows, and the
 * weight gradients of all steps at once (fke_rnn_weight_grads). The GRU needs
 * two gate gradients, because r multiplies only the recurrent part of n. */
#include "nn/gru.h"

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

fke_status fke_gru_cache_alloc(fke_arena *a, fke_err *e, int N, int T, int H,
                               fke_gru_cache *k)
{
    memset(k, 0, sizeof *k);
    if (N < 1 || T < 1 || H < 1)
        return fke_fail(e, FKE_ERR_ARG, "gru cache: N=%d, T=%d, H=%d must be positive", N,
                        T, H);
    k->N = N;
    k->T = T;
    k->H = H;
    k->len = fke_arena_alloc(a, e, (size_t)N * sizeof(int));
    if (!k->len) return FKE_ERR_NOMEM;
    FKE_TRY(fke_arena_tensor(a, e, &k->gates, 3, N, T, 3 * H));
    FKE_TRY(fke_arena_tensor(a, e, &k->hn, 3, N, T, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->hin, 3, N, T, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->hg, 2, N, 3 * H));
    FKE_TRY(fke_arena_tensor(a, e, &k->h, 2, N, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->dtmp, 2, N, H));
    FKE_TRY(fke_arena_tensor(a, e, &k->dxg, 3, N, T, 3 * H));
    FKE_TRY(fke_arena_tensor(a, e, &k->dhg, 3, N, T, 3 * H));
    return FKE_OK;
}

static fke_status check_cache(fke_err *e, const char *op, const fke_gru_cache *k, int N,
                              int T, int H)
{
    if (!k || !k->len)
        return fke_fail(e, FKE_ERR_ARG, "%s: cache is NULL or not allocated", op);
    if (k->N != N || k->T != T || k->H != H)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "%s: cache is for N=%d, T=%d, H=%d, the call has N=%d, T=%d, H=%d", op,
                        k->N, k->T, k->H, N, T, H);
    FKE_EXPECT(e, op, "cache.gates", &k->gates, N, T, 3 * H);
    FKE_EXPECT(e, op, "cache.hn", &k->hn, N, T, H);
    FKE_EXPECT(e, op, "cache.hin", &k->hin, N, T, H);
    FKE_EXPECT(e, op, "cache.hg", &k->hg, N, 3 * H);
    FKE_EXPECT(e, op, "cache.h", &k->h, N, H);
    FKE_EXPECT(e, op, "cache.dtmp", &k->dtmp, N, H);
    FKE_EXPECT(e, op, "cache.dxg", &k->dxg, N, T, 3 * H);
    FKE_EXPECT(e, op, "cache.dhg", &k->dhg, N, T, 3 * H);
    return FKE_OK;
}

fke_status fke_gru_forward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                           const int *len, int reverse, const fke_tensor *h0,
                           fke_gru_cache *k, fke_tensor *y, fke_tensor *hT)
{
    const char *op = "gru";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, 3, P, x, &N, &T, &In, &H));
    FKE_TRY(check_cache(e, op, k, N, T, H));
    if (h0) FKE_EXPECT(e, op, "h0", h0, N, H);
    if (y) FKE_EXPECT(e, op, "y", y, N, T, H);
    if (hT) FKE_EXPECT(e, op, "hT", hT, N, H);
    FKE_TRY(fke_rnn_lengths(e, op, len, N, T, k->len));
    k->reverse = reverse != 0;

    const int G = 3 * H;
    const size_t NT = (size_t)N * T;
    fke_real *gates = k->gates.data, *h = k->h.data, *hg = k->hg.data;
    /* gates (NT, 3H) = b_ih + x (NT, I) W_ih^T: the input parts */
    for (size_t r = 0; r < NT; r++) memcpy(gates + r * G, P->b_ih.data, G * sizeof(fke_real));
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)NT, G, In, 1, x->data, In,
             P->W_ih.data, In, 1, gates, G);
    size_t hs = (size_t)N * H * sizeof(fke_real);
    if (h0) memcpy(h, h0->data, hs);
    else memset(h, 0, hs);

    for (int s = 0; s < T; s++) {
        int t = k->reverse ? T - 1 - s : s;
        fke_real *hin = k->hin.data + (size_t)t * H;
        for (int n = 0; n < N; n++) {
            memcpy(hin + (size_t)n * T * H, h + (size_t)n * H, H * sizeof(fke_real));
            memcpy(hg + (size_t)n * G, P->b_hh.data, G * sizeof(fke_real));
        }
        /* hg (N, 3H) = b_hh + hin[:, t] (N, H) W_hh^T */
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, H, 1, hin, T * H,
                 P->W_hh.data, H, 1, hg, G);
        for (int n = 0; n < N; n++) {
            size_t p = (size_t)n * T + t;
            fke_real *gr = gates + p * G, *gz = gr + H, *gn = gz + H;
            const fke_real *hr = hg + (size_t)n * G, *hz = hr + H, *hnn = hz + H;
            fke_real *hn = k->hn.data + p * H, *yr = y ? y->data + p * H : NULL;
            fke_real *hc = h + (size_t)n * H;
            if (t >= k->len[n]) { /* padded: state carried over, output zero */
                memset(gr, 0, G * sizeof(fke_real));
                memset(hn, 0, H * sizeof(fke_real));
                if (yr) memset(yr, 0, H * sizeof(fke_real));
                continue;
            }
            for (int j = 0; j < H; j++) {
                gr[j] = sigm(gr[j] + hr[j]);
                gz[j] = sigm(gz[j] + hz[j]);
                hn[j] = hnn[j];
                gn[j] = R_TANH(gn[j] + gr[j] * hnn[j]);
                hc[j] = (1 - gz[j]) * gn[j] + gz[j] * hc[j];
                if (yr) yr[j] = hc[j];
            }
        }
    }
    if (hT) memcpy(hT->data, h, hs);
    return FKE_OK;
}

fke_status fke_gru_backward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                            fke_gru_cache *k, const fke_tensor *dy, const fke_tensor *dhT,
                            fke_tensor *dx, fke_tensor *dh0, fke_rnn_params *dP)
{
    const char *op = "gru backward";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, 3, P, x, &N, &T, &In, &H));
    FKE_TRY(check_cache(e, op, k, N, T, H));
    if (dy) FKE_EXPECT(e, op, "dy", dy, N, T, H);
    if (dhT) FKE_EXPECT(e, op, "dhT", dhT, N, H);
    if (dh0) FKE_EXPECT(e, op, "dh0", dh0, N, H);
    FKE_TRY(fke_rnn_check_grads(e, op, P, x, dx, dP));

    const int G = 3 * H;
    fke_real *dh = k->h.data, *dxg = k->dxg.data, *dhg = k->dhg.data;
    size_t hs = (size_t)N * H * sizeof(fke_real), gs = (size_t)N * T * G * sizeof(fke_real);
    if (dhT) memcpy(dh, dhT->data, hs);
    else memset(dh, 0, hs);
    memset(dxg, 0, gs); /* zero at padded steps */
    memset(dhg, 0, gs);

    for (int s = 0; s < T; s++) {
        int t = k->reverse ? s : T - 1 - s; /* the forward's steps, last first */
        for (int n = 0; n < N; n++) {
            if (t >= k->len[n]) continue;
            size_t p = (size_t)n * T + t;
            const fke_real *gr = k->gates.data + p * G, *gz = gr + H, *gn = gz + H;
            const fke_real *hn = k->hn.data + p * H, *hin = k->hin.data + p * H;
            const fke_real *dyr = dy ? dy->data + p * H : NULL;
            fke_real *dxr = dxg + p * G, *dxz = dxr + H, *dxn = dxz + H;
            fke_real *dhr = dhg + p * G, *dhz = dhr + H, *dhn = dhz + H;
            fke_real *dhc = dh + (size_t)n * H;
            for (int j = 0; j < H; j++) {
                fke_real dht = dhc[j] + (dyr ? dyr[j] : 0);
                fke_real dan = dht * (1 - gz[j]) * (1 - gn[j] * gn[j]);
                fke_real daz = dht * (hin[j] - gn[j]) * gz[j] * (1 - gz[j]);
                fke_real dar = dan * hn[j] * gr[j] * (1 - gr[j]);
                dxr[j] = dhr[j] = dar;
                dxz[j] = dhz[j] = daz;
                dxn[j] = dan;
                dhn[j] = dan * gr[j];
                dhc[j] = dht * gz[j]; /* the direct path; W_hh's added below */
            }
        }
        /* dtmp (N, H) = dhg[:, t] (N, 3H) W_hh (3H, H), added by active rows */
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1,
                 dhg + (size_t)t * G, T * G, P->W_hh.data, H, 0, k->dtmp.data, H);
        for (int n = 0; n < N; n++)
            if (t < k->len[n])
                for (int j = 0; j < H; j++)
                    dh[(size_t)n * H + j] += k->dtmp.data[(size_t)n * H + j];
    }
    if (dh0) FKE_AXPY(N * H, 1, dh, 1, dh0->data, 1);
    fke_rnn_weight_grads(P, x, &k->hin, &k->dxg, &k->dhg, dx, dP);
    return FKE_OK;
}
