/* lstm.c - see lstm.h. Also what gru.c shares: the cache tables' walk, the
 * checks, the input projection, the per-step state gradient and the
 * all-steps weight gradients.
 *
 * The input projections of all N*T positions are one GEMM before the
 * recurrence; each step is then one GEMM over the batch, (N, H) x (H, 4H),
 * reading and writing the step's rows of the (N, T, .) buffers in place with
 * a leading dimension of T * width. Rows whose sequence is not active at step
 * t are masked: their state is carried over unchanged and their gate gradient
 * is zero, so the weight gradients can be summed over all positions at once.
 *
 * Threads: rows (sequences) are independent through the whole recurrence, so
 * a forward or backward splits the N rows into chunks (fke_rnn_chunks: fixed
 * by N and the thread count, the same at 1 and 2 threads) and each thread
 * runs every step of its chunks: one step's GEMM over the chunk's rows and its
 * gate nonlinearities (vmath.h, whole arrays), with no barrier between steps.
 * The all-positions GEMMs go through fke_gemm_rows and the bias sums are split
 * over columns. So every element is computed by the same instructions at 1
 * and 2 threads, and the results are bit for bit the same; a run repeats bit
 * for bit at any thread count. */
#include "nn/lstm.h"

#include <cblas.h>
#include <string.h>

#include "nn/tensor_ops.h"
#include "nn/vmath.h"

/* rows per chunk of a recurrence, at least */
#define RNN_MIN_ROWS 8

/* ---- shared with gru.c -------------------------------------------------- */
fke_status fke_rnn_cache_alloc(fke_arena *a, fke_err *e, const fke_rnn_cell *cell, int N,
                               int T, int H, void *cache)
{
    fke_rnn_cache *c = cache; /* the first member */
    memset(cache, 0, cell->size);
    if (N < 1 || T < 1 || H < 1)
        return fke_fail(e, FKE_ERR_ARG, "%s cache: N=%d, T=%d, H=%d must be positive",
                        cell->name, N, T, H);
    c->N = N;
    c->T = T;
    c->H = H;
    c->len = fke_arena_alloc(a, e, (size_t)N * sizeof(int));
    if (!c->len) return FKE_ERR_NOMEM;
    for (int i = 0; i < cell->nslots; i++) {
        const fke_rnn_slot *s = &cell->slots[i];
        fke_tensor *t = (fke_tensor *)((char *)cache + s->off);
        /* not zeroed: the forward or the backward writes every element of
         * a slot before reading it (padded steps included) */
        if (s->per_step) FKE_TRY(fke_arena_tensor_raw(a, e, t, 3, N, T, s->w * H));
        else FKE_TRY(fke_arena_tensor_raw(a, e, t, 2, N, s->w * H));
    }
    return FKE_OK;
}

fke_status fke_rnn_check(fke_err *e, const char *op, const fke_rnn_cell *cell,
                         const fke_rnn_params *P, const fke_tensor *x, const void *cache,
                         int *N, int *T, int *In, int *H)
{
    const int G = cell->G;
    if (!P) return fke_fail(e, FKE_ERR_ARG, "%s: parameters are NULL", op);
    FKE_EXPECT(e, op, "W_hh", &P->W_hh, -1, -1);
    int h = P->W_hh.shape[1];
    FKE_EXPECT(e, op, "W_hh", &P->W_hh, G * h, h);
    FKE_EXPECT(e, op, "W_ih", &P->W_ih, G * h, -1);
    FKE_EXPECT(e, op, "b_ih", &P->b_ih, G * h);
    FKE_EXPECT(e, op, "b_hh", &P->b_hh, G * h);
    FKE_EXPECT(e, op, "x", x, -1, -1, P->W_ih.shape[1]);
    int n = x->shape[0], t = x->shape[1];
    const fke_rnn_cache *c = cache;
    if (!c || !c->len)
        return fke_fail(e, FKE_ERR_ARG, "%s: cache is NULL or not allocated", op);
    if (c->N != n || c->T != t || c->H != h)
        return fke_fail(e, FKE_ERR_SHAPE,
                        "%s: cache is for N=%d, T=%d, H=%d, the call has N=%d, T=%d, H=%d", op,
                        c->N, c->T, c->H, n, t, h);
    for (int i = 0; i < cell->nslots; i++) {
        const fke_rnn_slot *s = &cell->slots[i];
        const fke_tensor *k = (const fke_tensor *)((const char *)cache + s->off);
        if (s->per_step) FKE_EXPECT(e, op, s->name, k, n, t, s->w * h);
        else FKE_EXPECT(e, op, s->name, k, n, s->w * h);
    }
    *N = n;
    *T = t;
    *In = x->shape[2];
    *H = h;
    return FKE_OK;
}

fke_status fke_rnn_record(fke_err *e, const char *op, const int *len, int reverse,
                          fke_rnn_cache *c)
{
    for (int n = 0; n < c->N; n++) {
        int l = len ? len[n] : c->T;
        if (l < 1 || l > c->T)
            return fke_fail(e, FKE_ERR_ARG, "%s: lengths[%d] = %d, expected 1..%d (T)", op,
                            n, l, c->T);
        c->len[n] = l;
    }
    c->reverse = reverse != 0;
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

void fke_rnn_copy_or_zero(fke_real *dst, const fke_tensor *src, size_t n)
{
    if (src) memcpy(dst, src->data, n * sizeof(fke_real));
    else memset(dst, 0, n * sizeof(fke_real));
}

void fke_rnn_input_gates(const fke_rnn_params *P, const fke_tensor *x, int add_bhh,
                         fke_tensor *gates)
{
    const int NT = x->shape[0] * x->shape[1], In = x->shape[2], G = P->W_ih.shape[0];
    fke_gemm_rows(0, 1, NT, G, In, 1, x->data, In, P->W_ih.data, In, 1, gates->data, G,
                  P->b_ih.data, add_bhh ? P->b_hh.data : NULL);
}

/* at most 4 chunks, and no more than the threads (1 counted as 2): each
 * step's GEMM repacks W_hh for every chunk (measured: 8 chunks of 13 rows
 * cost ~7% more than 4 of 25 at 1 thread, and 2 of 50 less again) */
int fke_rnn_chunks(int N)
{
    int n = fke_thread_chunks(N, RNN_MIN_ROWS);
    return n > 4 ? 4 : n;
}

void fke_rnn_step_dh(const fke_rnn_params *P, const fke_rnn_cache *c, int t, int r0, int r1,
                     const fke_tensor *dg, fke_tensor *dtmp, int add, fke_tensor *dh)
{
    const int T = c->T, H = c->H, G = P->W_hh.shape[0];
    if (r1 <= r0) return;
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, H, G, 1,
             dg->data + ((size_t)r0 * T + t) * G, T * G, P->W_hh.data, H, 0,
             dtmp->data + (size_t)r0 * H, H);
    for (int n = r0; n < r1; n++) {
        if (t >= c->len[n]) continue; /* the state is carried over a padded step */
        fke_real *d = dh->data + (size_t)n * H;
        const fke_real *v = dtmp->data + (size_t)n * H;
        if (add)
            for (int j = 0; j < H; j++) d[j] += v[j];
        else memcpy(d, v, H * sizeof(fke_real));
    }
}

/* out[j] += sum over the rows of a[:, j], each column summed in row order,
 * and the same into out2 (NULL: none) in the same pass */
static void colsum_add(const fke_real *a, int rows, int cols, fke_real *out, fke_real *out2)
{
#pragma omp parallel for schedule(static) if ((long)rows * cols > 65536)
    for (int j0 = 0; j0 < cols; j0 += 64) {
        int j1 = j0 + 64 < cols ? j0 + 64 : cols;
        for (int r = 0; r < rows; r++) {
            const fke_real *ar = a + (size_t)r * cols;
            for (int j = j0; j < j1; j++) out[j] += ar[j];
            if (out2)
                for (int j = j0; j < j1; j++) out2[j] += ar[j];
        }
    }
}

void fke_rnn_weight_grads(const fke_rnn_params *P, const fke_tensor *x,
                          const fke_tensor *hin, const fke_tensor *dg,
                          const fke_tensor *dgh, fke_tensor *dx, fke_rnn_params *dP)
{
    int NT = x->shape[0] * x->shape[1], In = x->shape[2];
    int GH = P->W_hh.shape[0], H = P->W_hh.shape[1];
    if (dx) /* (NT, I) += dg (NT, GH) W_ih (GH, I) */
        fke_gemm_rows(0, 0, NT, In, GH, 1, dg->data, GH, P->W_ih.data, In, 1, dx->data, In, NULL,
                      NULL);
    if (dP) {
        fke_gemm_rows(1, 0, GH, In, NT, 1, dg->data, GH, x->data, In, 1, dP->W_ih.data, In, NULL,
                      NULL);
        fke_gemm_rows(1, 0, GH, H, NT, 1, dgh->data, GH, hin->data, H, 1, dP->W_hh.data, H, NULL,
                      NULL);
        if (dgh == dg) { /* the LSTM: b_ih and b_hh take the same sums, one pass */
            colsum_add(dg->data, NT, GH, dP->b_ih.data, dP->b_hh.data);
        } else {
            colsum_add(dg->data, NT, GH, dP->b_ih.data, NULL);
            colsum_add(dgh->data, NT, GH, dP->b_hh.data, NULL);
        }
    }
}

/* ---- LSTM ---------------------------------------------------------------- */
_Static_assert(offsetof(fke_lstm_cache, seq) == 0, "fke_rnn_cache comes first");
static const fke_rnn_slot lstm_slots[] = {
    {"cache.gates", offsetof(fke_lstm_cache, gates), 4, 1},
    {"cache.hin", offsetof(fke_lstm_cache, hin), 1, 1},
    {"cache.cin", offsetof(fke_lstm_cache, cin), 1, 1},
    {"cache.tc", offsetof(fke_lstm_cache, tc), 1, 1},
    {"cache.h", offsetof(fke_lstm_cache, h), 1, 0},
    {"cache.c", offsetof(fke_lstm_cache, c), 1, 0},
    {"cache.dtmp", offsetof(fke_lstm_cache, dtmp), 1, 0},
    {"cache.dgates", offsetof(fke_lstm_cache, dgates), 4, 1},
};
static const fke_rnn_cell lstm_cell = {"lstm", 4, sizeof(fke_lstm_cache), lstm_slots,
                                       (int)(sizeof lstm_slots / sizeof lstm_slots[0])};

fke_status fke_lstm_cache_alloc(fke_arena *a, fke_err *e, int N, int T, int H,
                                fke_lstm_cache *k)
{
    return fke_rnn_cache_alloc(a, e, &lstm_cell, N, T, H, k);
}

fke_status fke_lstm_forward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                            const int *len, int reverse, const fke_tensor *h0,
                            const fke_tensor *c0, fke_lstm_cache *k, fke_tensor *y,
                            fke_tensor *hT, fke_tensor *cT)
{
    const char *op = "lstm";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, &lstm_cell, P, x, k, &N, &T, &In, &H));
    if (h0) FKE_EXPECT(e, op, "h0", h0, N, H);
    if (c0) FKE_EXPECT(e, op, "c0", c0, N, H);
    if (y) FKE_EXPECT(e, op, "y", y, N, T, H);
    if (hT) FKE_EXPECT(e, op, "hT", hT, N, H);
    if (cT) FKE_EXPECT(e, op, "cT", cT, N, H);
    FKE_TRY(fke_rnn_record(e, op, len, reverse, &k->seq));

    const int G = 4 * H;
    const size_t NH = (size_t)N * H;
    fke_real *gates = k->gates.data, *h = k->h.data, *c = k->c.data;
    fke_rnn_input_gates(P, x, 1, &k->gates); /* (NT, 4H) = b_ih + b_hh + x W_ih^T */
    fke_rnn_copy_or_zero(h, h0, NH);
    fke_rnn_copy_or_zero(c, c0, NH);

    const int nc = fke_rnn_chunks(N);
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int ch = 0; ch < nc; ch++) {
        int r0, r1;
        fke_chunk_rows(N, nc, ch, &r0, &r1);
        for (int s = 0; s < T; s++) {
            int t = k->seq.reverse ? T - 1 - s : s;
            fke_real *hin = k->hin.data + (size_t)t * H, *cin = k->cin.data + (size_t)t * H;
            for (int n = r0; n < r1; n++) {
                memcpy(hin + (size_t)n * T * H, h + (size_t)n * H, H * sizeof(fke_real));
                memcpy(cin + (size_t)n * T * H, c + (size_t)n * H, H * sizeof(fke_real));
            }
            /* the step's rows: gates[r0:r1, t] (n, 4H) += hin[r0:r1, t] (n, H) W_hh^T;
             * nothing to add at the first step from h0 = 0 */
            if (s > 0 || h0)
                FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, G, H, 1,
                         hin + (size_t)r0 * T * H, T * H, P->W_hh.data, H, 1,
                         gates + ((size_t)r0 * T + t) * G, T * G);
            for (int n = r0; n < r1; n++) {
                size_t p = (size_t)n * T + t;
                fke_real *gi = gates + p * G, *gf = gi + H, *gg = gf + H, *go = gg + H;
                fke_real *tc = k->tc.data + p * H, *yr = y ? y->data + p * H : NULL;
                fke_real *hn = h + (size_t)n * H, *cn = c + (size_t)n * H;
                if (t >= k->seq.len[n]) { /* padded: state carried over, output zero */
                    memset(gi, 0, G * sizeof(fke_real));
                    memset(tc, 0, H * sizeof(fke_real));
                    if (yr) memset(yr, 0, H * sizeof(fke_real));
                    continue;
                }
                fke_vsigmoid(gi, gi, 2 * H); /* i, f */
                fke_vtanh(gg, gg, H);
                fke_vsigmoid(go, go, H);
#pragma omp simd
                for (int j = 0; j < H; j++) cn[j] = gf[j] * cn[j] + gi[j] * gg[j];
                fke_vtanh(tc, cn, H);
#pragma omp simd
                for (int j = 0; j < H; j++) hn[j] = go[j] * tc[j];
                if (yr) memcpy(yr, hn, H * sizeof(fke_real));
            }
        }
    }
    if (hT) memcpy(hT->data, h, NH * sizeof(fke_real));
    if (cT) memcpy(cT->data, c, NH * sizeof(fke_real));
    return FKE_OK;
}

fke_status fke_lstm_backward(fke_err *e, const fke_rnn_params *P, const fke_tensor *x,
                             fke_lstm_cache *k, const fke_tensor *dy, const fke_tensor *dhT,
                             const fke_tensor *dcT, fke_tensor *dx, fke_tensor *dh0,
                             fke_tensor *dc0, fke_rnn_params *dP)
{
    const char *op = "lstm backward";
    int N, T, In, H;
    FKE_TRY(fke_rnn_check(e, op, &lstm_cell, P, x, k, &N, &T, &In, &H));
    if (dy) FKE_EXPECT(e, op, "dy", dy, N, T, H);
    if (dhT) FKE_EXPECT(e, op, "dhT", dhT, N, H);
    if (dcT) FKE_EXPECT(e, op, "dcT", dcT, N, H);
    if (dh0) FKE_EXPECT(e, op, "dh0", dh0, N, H);
    if (dc0) FKE_EXPECT(e, op, "dc0", dc0, N, H);
    FKE_TRY(fke_rnn_check_grads(e, op, P, x, dx, dP));

    const int G = 4 * H;
    fke_real *dh = k->h.data, *dc = k->c.data, *dg = k->dgates.data;
    fke_rnn_copy_or_zero(dh, dhT, (size_t)N * H);
    fke_rnn_copy_or_zero(dc, dcT, (size_t)N * H);

    const int nc = fke_rnn_chunks(N);
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int ch = 0; ch < nc; ch++) {
        int r0, r1;
        fke_chunk_rows(N, nc, ch, &r0, &r1);
        /* the chunk's rows of dgates, zero at padded steps */
        memset(dg + (size_t)r0 * T * G, 0, (size_t)(r1 - r0) * T * G * sizeof(fke_real));
        for (int s = 0; s < T; s++) {
            int t = k->seq.reverse ? s : T - 1 - s; /* the forward's steps, last first */
            for (int n = r0; n < r1; n++) {
                if (t >= k->seq.len[n]) continue;
                size_t p = (size_t)n * T + t;
                const fke_real *gi = k->gates.data + p * G, *gf = gi + H, *gg = gf + H,
                               *go = gg + H;
                const fke_real *tc = k->tc.data + p * H, *cin = k->cin.data + p * H;
                const fke_real *dyr = dy ? dy->data + p * H : NULL;
                fke_real *di = dg + p * G, *df = di + H, *dgg = df + H, *dO = dgg + H;
                fke_real *dhn = dh + (size_t)n * H, *dcn = dc + (size_t)n * H;
                if (dyr) /* dh_t = dh + dy (in dh's row, which step_dh overwrites next) */
#pragma omp simd
                    for (int j = 0; j < H; j++) dhn[j] += dyr[j];
#pragma omp simd
                for (int j = 0; j < H; j++) {
                    fke_real dht = dhn[j];
                    fke_real dct = dcn[j] + dht * go[j] * (1 - tc[j] * tc[j]);
                    dO[j] = dht * tc[j] * go[j] * (1 - go[j]);
                    di[j] = dct * gg[j] * gi[j] * (1 - gi[j]);
                    df[j] = dct * cin[j] * gf[j] * (1 - gf[j]);
                    dgg[j] = dct * gi[j] * (1 - gg[j] * gg[j]);
                    dcn[j] = dct * gf[j];
                }
            }
            /* dh (n, H) = dgates[r0:r1, t] W_hh for the active rows: the state
             * h enters a step only through its gates; after the forward's
             * first step that is dh0's alone */
            if (s < T - 1 || dh0)
                fke_rnn_step_dh(P, &k->seq, t, r0, r1, &k->dgates, &k->dtmp, 0, &k->h);
        }
    }
    if (dh0) FKE_AXPY(N * H, 1, dh, 1, dh0->data, 1);
    if (dc0) FKE_AXPY(N * H, 1, dc, 1, dc0->data, 1);
    fke_rnn_weight_grads(P, x, &k->hin, &k->dgates, &k->dgates, dx, dP);
    return FKE_OK;
}
