/* gru.c - see gru.h. Same scheme as lstm.c: the input projections of all
 * steps in one GEMM, one GEMM over the batch per step, masked rows, and the
 * weight gradients of all steps at once (fke_rnn_weight_grads). The GRU needs
 * two gate gradients, because r multiplies only the recurrent part of n.
 * Threads as in lstm.c: chunks of rows (fke_rnn_chunks), each running every
 * step. */
#include "nn/gru.h"

#include <cblas.h>
#include <string.h>

#include "nn/tensor_ops.h"
#include "nn/vmath.h"

_Static_assert(offsetof(fke_gru_cache, seq) == 0, "fke_rnn_cache comes first");
static const fke_rnn_slot gru_slots[] = {
    {"cache.gates", offsetof(fke_gru_cache, gates), 3, 1},
    {"cache.hn", offsetof(fke_gru_cache, hn), 1, 1},
    {"cache.hin", offsetof(fke_gru_cache, hin), 1, 1},
    {"cache.hg", offsetof(fke_gru_cache, hg), 3, 0},
    {"cache.h", offsetof(fke_gru_cache, h), 1, 0},
    {"cache.dtmp", offsetof(fke_gru_cache, dtmp), 1, 0},
    {"cache.dxg", offsetof(fke_gru_cache, dxg), 3, 1},
    {"cache.dhg", offsetof(fke_gru_cache, dhg), 3, 1},
};
static const fke_rnn_cell gru_cell = {"gru", 3, sizeof(fke_gru_cache), gru_slots,
                                      (int)(sizeof gru_slots / sizeof gru_slots[0])};

fke_status fke_gru_cache_alloc(fke_arena *a, fke_err *e, int N, int T, int H,
                               fke_gru_cache *k)
{
    return fke_rnn_cache_alloc(a, e, &gru_cell, N, T, H, k);
}

fke_status fke_gru_forward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                           const int *len, int reverse, const fke_tensor *h0,
                           fke_gru_cache *k, fke_tensor *y, fke_tensor *hT)
{
    const char *op = "gru";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, &gru_cell, P, x, k, &N, &T, &In, &H));
    if (h0) FKE_EXPECT(e, op, "h0", h0, N, H);
    if (y) FKE_EXPECT(e, op, "y", y, N, T, H);
    if (hT) FKE_EXPECT(e, op, "hT", hT, N, H);
    FKE_TRY(fke_rnn_record(e, op, len, reverse, &k->seq));

    const int G = 3 * H;
    const size_t NH = (size_t)N * H;
    fke_real *gates = k->gates.data, *h = k->h.data, *hg = k->hg.data;
    fke_rnn_input_gates(P, x, 0, &k->gates); /* (NT, 3H) = b_ih + x W_ih^T */
    fke_rnn_copy_or_zero(h, h0, NH);

    const int nc = fke_rnn_chunks(N);
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int ch = 0; ch < nc; ch++) {
        int r0, r1;
        fke_chunk_rows(N, nc, ch, &r0, &r1);
        for (int s = 0; s < T; s++) {
            int t = k->seq.reverse ? T - 1 - s : s;
            fke_real *hin = k->hin.data + (size_t)t * H;
            for (int n = r0; n < r1; n++) {
                memcpy(hin + (size_t)n * T * H, h + (size_t)n * H, H * sizeof(fke_real));
                memcpy(hg + (size_t)n * G, P->b_hh.data, G * sizeof(fke_real));
            }
            /* hg[r0:r1] (n, 3H) = b_hh + hin[r0:r1, t] (n, H) W_hh^T (just b_hh at
             * the first step from h0 = 0) */
            if (s > 0 || h0)
                FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, G, H, 1,
                         hin + (size_t)r0 * T * H, T * H, P->W_hh.data, H, 1,
                         hg + (size_t)r0 * G, G);
            for (int n = r0; n < r1; n++) {
                size_t p = (size_t)n * T + t;
                fke_real *gr = gates + p * G, *gz = gr + H, *gn = gz + H;
                const fke_real *hr = hg + (size_t)n * G, *hnn = hr + 2 * H;
                fke_real *hn = k->hn.data + p * H, *yr = y ? y->data + p * H : NULL;
                fke_real *hc = h + (size_t)n * H;
                if (t >= k->seq.len[n]) { /* padded: state carried over, output zero */
                    memset(gr, 0, G * sizeof(fke_real));
                    memset(hn, 0, H * sizeof(fke_real));
                    if (yr) memset(yr, 0, H * sizeof(fke_real));
                    continue;
                }
#pragma omp simd
                for (int j = 0; j < 2 * H; j++) gr[j] += hr[j]; /* r, z */
                fke_vsigmoid(gr, gr, 2 * H);
                memcpy(hn, hnn, H * sizeof(fke_real));
#pragma omp simd
                for (int j = 0; j < H; j++) gn[j] += gr[j] * hnn[j];
                fke_vtanh(gn, gn, H);
#pragma omp simd
                for (int j = 0; j < H; j++) hc[j] = (1 - gz[j]) * gn[j] + gz[j] * hc[j];
                if (yr) memcpy(yr, hc, H * sizeof(fke_real));
            }
        }
    }
    if (hT) memcpy(hT->data, h, NH * sizeof(fke_real));
    return FKE_OK;
}

fke_status fke_gru_backward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                            fke_gru_cache *k, const fke_tensor *dy, const fke_tensor *dhT,
                            fke_tensor *dx, fke_tensor *dh0, fke_rnn_params *dP)
{
    const char *op = "gru backward";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, &gru_cell, P, x, k, &N, &T, &In, &H));
    if (dy) FKE_EXPECT(e, op, "dy", dy, N, T, H);
    if (dhT) FKE_EXPECT(e, op, "dhT", dhT, N, H);
    if (dh0) FKE_EXPECT(e, op, "dh0", dh0, N, H);
    FKE_TRY(fke_rnn_check_grads(e, op, P, x, dx, dP));

    const int G = 3 * H;
    fke_real *dh = k->h.data, *dxg = k->dxg.data, *dhg = k->dhg.data;
    fke_rnn_copy_or_zero(dh, dhT, (size_t)N * H);

    const int nc = fke_rnn_chunks(N);
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int ch = 0; ch < nc; ch++) {
        int r0, r1;
        fke_chunk_rows(N, nc, ch, &r0, &r1);
        size_t off = (size_t)r0 * T * G, gs = (size_t)(r1 - r0) * T * G * sizeof(fke_real);
        memset(dxg + off, 0, gs); /* the chunk's rows, zero at padded steps */
        memset(dhg + off, 0, gs);
        for (int s = 0; s < T; s++) {
            int t = k->seq.reverse ? s : T - 1 - s; /* the forward's steps, last first */
            for (int n = r0; n < r1; n++) {
                if (t >= k->seq.len[n]) continue;
                size_t p = (size_t)n * T + t;
                const fke_real *gr = k->gates.data + p * G, *gz = gr + H, *gn = gz + H;
                const fke_real *hn = k->hn.data + p * H, *hin = k->hin.data + p * H;
                const fke_real *dyr = dy ? dy->data + p * H : NULL;
                fke_real *dxr = dxg + p * G, *dxz = dxr + H, *dxn = dxz + H;
                fke_real *dhr = dhg + p * G, *dhz = dhr + H, *dhn = dhz + H;
                fke_real *dhc = dh + (size_t)n * H;
                if (dyr)
#pragma omp simd
                    for (int j = 0; j < H; j++) dhc[j] += dyr[j];
#pragma omp simd
                for (int j = 0; j < H; j++) {
                    fke_real dht = dhc[j];
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
            /* dh[r0:r1] (n, H) += dhg[r0:r1, t] W_hh for the active rows (after
             * the forward's first step, for dh0 alone) */
            if (s < T - 1 || dh0)
                fke_rnn_step_dh(P, &k->seq, t, r0, r1, &k->dhg, &k->dtmp, 1, &k->h);
        }
    }
    if (dh0) FKE_AXPY(N * H, 1, dh, 1, dh0->data, 1);
    fke_rnn_weight_grads(P, x, &k->hin, &k->dxg, &k->dhg, dx, dP);
    return FKE_OK;
}
