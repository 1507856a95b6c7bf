/* test_par.c - the non-CNN parts of a step over threads (issue 16): the
 * vectorised sigmoid and tanh (nn/vmath.h) against double-precision libm, the
 * chunked GEMM (fke_gemm_rows) against a naive one, and the linear layer,
 * the LSTM and the GRU at fke-small's sizes (100 sequences of 5 steps, 128
 * wide, ragged lengths) at 1 and 2 threads: bit for bit the same, since the
 * work is split in chunks fixed by the shapes and the thread count, the same
 * at 1 and 2 (fke_thread_chunks), and bit for bit on a repeat. Dropout's
 * inline draw gives the masks of one fke_rng_uniform per element. Then one
 * whole fke-small training step (CNN included, whose weight gradients are
 * summed per thread: within 1e-6) at 1 and 2 threads, and a repeat at 2
 * threads bit for bit. */
#include "data/loader.h"
#include "model/model.h"
#include "nn/activation.h"
#include "nn/gru.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/tensor_ops.h"
#include "nn/vmath.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int same_bits(const fke_real *a, const fke_real *b, size_t n)
{
    return memcmp(a, b, n * sizeof(fke_real)) == 0;
}

/* largest |a - b| / max(1, |b|) */
static double relerr(const fke_real *a, const fke_real *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        if (!(d <= w)) w = d; /* NaN counts as worst */
    }
    return w;
}

static void fill(fke_rng *r, fke_real *p, size_t n, double s)
{
    for (size_t i = 0; i < n; i++) p[i] = (fke_real)(s * (2 * fke_rng_uniform(r) - 1));
}

/* ---- vmath against libm ---------------------------------------------------- */
static void test_vmath(void)
{
    enum { N = 1 << 16 };
    static fke_real x[N], ys[N], yt[N], one[1];
    double es = 0, eta = 0, etr = 0;
    int pos_ok = 1;
    for (int pass = 0; pass < 40; pass++) {
        for (int i = 0; i < N; i++) { /* [-20, 20], then ever smaller |x| */
            double v = -20 + 40.0 * ((double)pass * N + i) / (40.0 * N);
            if (i & 1) v = ldexp(v, -(i % 30));
            x[i] = (fke_real)v;
        }
        fke_vsigmoid(ys, x, N);
        fke_vtanh(yt, x, N);
        for (int i = 0; i < N; i++) {
            double s = 1 / (1 + exp(-(double)x[i])), t = tanh((double)x[i]);
            double ds = fabs(ys[i] - s) / s, dt = fabs(yt[i] - t);
            if (!(ds <= es)) es = ds;
            if (!(dt <= eta)) eta = dt;
            if (t != 0 && !(dt / fabs(t) <= etr)) etr = dt / fabs(t);
        }
        for (int i = 0; i < N; i += 997) { /* an element's value does not depend on its place */
            fke_vtanh(one, x + i, 1);
            pos_ok &= one[0] == yt[i];
            fke_vsigmoid(one, x + i, 1);
            pos_ok &= one[0] == ys[i];
        }
    }
    printf("  vmath vs libm over [-20, 20] and tiny |x|: sigmoid rel %.2e, tanh abs %.2e rel %.2e\n",
           es, eta, etr);
    FKE_CHECK(es <= 2e-7, "sigmoid relative error %.3g > 2e-7", es);
    FKE_CHECK(eta <= 1.2e-7, "tanh absolute error %.3g > 1.2e-7", eta);
    FKE_CHECK(etr <= 4e-7, "tanh relative error %.3g > 4e-7", etr);
    FKE_CHECK(pos_ok, "an element's sigmoid or tanh depends on where it lies in the array");

    fke_real sp[6] = {INFINITY, -INFINITY, 0, 100, -100, NAN}, so[6], to[6];
    fke_vsigmoid(so, sp, 6);
    fke_vtanh(to, sp, 6);
    FKE_CHECK(so[0] == 1 && so[1] >= 0 && so[1] < 1e-30 && so[2] == 0.5f && so[3] == 1 && so[4] >= 0 &&
                  so[4] < 1e-30 && isnan(so[5]),
              "sigmoid of inf, -inf, 0, 100, -100, nan: %g %g %g %g %g %g", so[0], so[1], so[2],
              so[3], so[4], so[5]);
    FKE_CHECK(to[0] == 1 && to[1] == -1 && to[2] == 0 && to[3] == 1 && to[4] == -1 && isnan(to[5]),
              "tanh of inf, -inf, 0, 100, -100, nan: %g %g %g %g %g %g", to[0], to[1], to[2],
              to[3], to[4], to[5]);
    fke_real in[3] = {0.25f, -1.5f, 3}, inpl[3];
    memcpy(inpl, in, sizeof in);
    fke_vtanh(inpl, inpl, 3); /* in place */
    fke_vtanh(in, (fke_real[]){0.25f, -1.5f, 3}, 3);
    FKE_CHECK(!memcmp(in, inpl, sizeof in), "tanh in place differs");
}

/* ---- dropout: the inline, branch-free draw against fke_rng_uniform ------------- */
static fke_tensor mk(fke_arena *a, int nd, int d0, int d1, int d2);

static void test_dropout(fke_arena *a)
{
    size_t mark = a->used;
    enum { N = 10007 };
    fke_err e;
    fke_tensor x = mk(a, 1, N, 0, 0), y = mk(a, 1, N, 0, 0), mask = mk(a, 1, N, 0, 0);
    fke_rng r;
    fke_rng_seed(&r, 7);
    fill(&r, x.data, N, 1);
    const double ps[] = {0.5, 0.4, 0.1, 1.0 / 3, 0.999, 0};
    int ok = 1;
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double p = ps[k];
        fke_rng r0 = r, r1 = r;
        fke_real scale = (fke_real)(1.0 / (1.0 - p));
        FKE_CHECK(fke_dropout_forward(&e, &x, p, 1, &r1, &mask, &y) == FKE_OK, "%s", e.msg);
        for (int i = 0; i < N; i++) { /* the loop dropout ran before it drew inline */
            fke_real m = p > 0 && fke_rng_uniform(&r0) < p ? 0 : scale;
            ok &= mask.data[i] == m && !memcmp(&y.data[i], &(fke_real){x.data[i] * m}, sizeof m);
        }
        ok &= !memcmp(&r0, &r1, sizeof r0); /* and the same draws used up */
        r = r1;
    }
    FKE_CHECK(ok, "dropout's mask, output or rng state differ from one fke_rng_uniform per element");
    a->used = mark;
}

/* ---- chunks and the GEMM ------------------------------------------------------ */
static void test_chunks(void)
{
    int ok = 1;
    for (int rows = 1; rows < 300; rows += 7)
        for (int minr = 1; minr <= 32; minr *= 2) {
            int n = fke_row_chunks(rows, minr), next = 0;
            ok &= n >= 1 && n <= FKE_MAX_CHUNKS && (n == 1 || n % 2 == 0);
            for (int c = 0; c < n; c++) {
                int r0, r1;
                fke_chunk_rows(rows, n, c, &r0, &r1);
                ok &= r0 == next && r1 > r0 && (n == 1 || r1 - r0 >= minr);
                next = r1;
            }
            ok &= next == rows;
        }
    FKE_CHECK(ok, "row chunks do not tile the rows, or are too small");
    FKE_CHECK(fke_row_chunks(100, 16) == 6 && fke_row_chunks(20, 8) == 2 &&
                  fke_row_chunks(500, 16) == 8 && fke_row_chunks(10, 16) == 1,
              "chunk counts %d %d %d %d", fke_row_chunks(100, 16), fke_row_chunks(20, 8),
              fke_row_chunks(500, 16), fke_row_chunks(10, 16));
    int tc[3];
    for (int t = 1; t <= 3; t++) {
        fke_test_set_threads(t);
        tc[t - 1] = fke_thread_chunks(500, 16);
    }
    fke_test_set_threads(2);
#ifdef _OPENMP
    int want3 = 3;
#else
    int want3 = 2;
#endif
    FKE_CHECK(tc[0] == 2 && tc[1] == 2 && tc[2] == want3 && fke_thread_chunks(20, 16) == 1,
              "thread chunks of 500 rows at 1, 2, 3 threads: %d %d %d (want 2 2 %d); of 20: %d",
              tc[0], tc[1], tc[2], want3, fke_thread_chunks(20, 16));
}

static void test_gemm(fke_rng *r)
{
    static const int shapes[][3] = {{100, 128, 256}, {512, 128, 500}, {37, 9, 300}, {3, 5, 7}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                fke_real *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)K * N * sizeof *B);
                fke_real *C[3];
                double *ref = malloc((size_t)M * N * sizeof *ref);
                fke_real *b1 = malloc((size_t)N * sizeof *b1), *b2 = malloc((size_t)N * sizeof *b2);
                fill(r, A, (size_t)M * K, 1);
                fill(r, B, (size_t)K * N, 1);
                fill(r, b1, (size_t)N, 1);
                fill(r, b2, (size_t)N, 1);
                int lda = ta ? M : K, ldb = tb ? K : N;
                int bias = ta == tb; /* half the cases start C from b1 (+ b2), not from C */
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double c0 = !bias ? (fke_real)((i - j) / (double)(M + N))
                                  : ta ? (double)(fke_real)(b1[j] + b2[j]) : (double)b1[j];
                        double v = 0.5 * c0; /* beta = 0.5 times C's start */
                        for (int k = 0; k < K; k++)
                            v += 1.5 * (double)(ta ? A[(size_t)k * M + i] : A[(size_t)i * K + k]) *
                                 (tb ? B[(size_t)j * K + k] : B[(size_t)k * N + j]);
                        ref[(size_t)i * N + j] = v;
                    }
                int threads[3] = {1, 2, 2};
                double worst = 0;
                for (int t = 0; t < 3; t++) {
                    C[t] = malloc((size_t)M * N * sizeof(fke_real));
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++) C[t][(size_t)i * N + j] = (fke_real)((i - j) / (double)(M + N));
                    fke_test_set_threads(threads[t]);
                    fke_gemm_rows(ta, tb, M, N, K, 1.5, A, lda, B, ldb, 0.5, C[t], N,
                                  bias ? b1 : NULL, bias && ta ? b2 : NULL);
                }
                fke_test_set_threads(2);
                for (size_t i = 0; i < (size_t)M * N; i++)
                    worst = fmax(worst, fabs(C[0][i] - ref[i]) / fmax(1, fabs(ref[i])));
                FKE_CHECK(worst < 2.5e-7 * K, "gemm_rows %dx%dx%d ta %d tb %d bias %d vs naive: %.2e", M,
                          N, K, ta, tb, bias, worst);
                FKE_CHECK(same_bits(C[0], C[1], (size_t)M * N) && same_bits(C[1], C[2], (size_t)M * N),
                          "gemm_rows %dx%dx%d ta %d tb %d: 1 and 2 threads or a repeat differ", M, N,
                          K, ta, tb);
                for (int t = 0; t < 3; t++) free(C[t]);
                free(A), free(B), free(ref), free(b1), free(b2);
            }
}

/* ---- the layers at fke-small's sizes ------------------------------------------ */
static fke_tensor mk(fke_arena *a, int nd, int d0, int d1, int d2)
{
    fke_tensor t;
    fke_err e;
    fke_status s = nd == 3 ? fke_arena_tensor(a, &e, &t, 3, d0, d1, d2)
                 : nd == 2 ? fke_arena_tensor(a, &e, &t, 2, d0, d1)
                           : fke_arena_tensor(a, &e, &t, 1, d0);
    if (s != FKE_OK) {
        printf("test_par: %s\n", e.msg);
        exit(1);
    }
    return t;
}

static void test_linear(fke_arena *a, fke_rng *r)
{
    size_t mark = a->used;
    fke_err e;
    int N = 100, in = 256, out = 128;
    fke_tensor x = mk(a, 2, N, in, 0), W = mk(a, 2, out, in, 0), b = mk(a, 1, out, 0, 0);
    fke_tensor dy = mk(a, 2, N, out, 0), y[3], dx[3], dW[3], db[3];
    fill(r, x.data, fke_numel(&x), 1), fill(r, W.data, fke_numel(&W), 0.1);
    fill(r, b.data, out, 0.1), fill(r, dy.data, fke_numel(&dy), 1);
    int threads[3] = {1, 2, 2};
    for (int t = 0; t < 3; t++) {
        y[t] = mk(a, 2, N, out, 0), dx[t] = mk(a, 2, N, in, 0), dW[t] = mk(a, 2, out, in, 0);
        db[t] = mk(a, 1, out, 0, 0);
        memset(dW[t].data, 0, fke_numel(&dW[t]) * sizeof(fke_real)); /* backward adds */
        memset(dx[t].data, 0, fke_numel(&dx[t]) * sizeof(fke_real));
        memset(db[t].data, 0, out * sizeof(fke_real));
        fke_test_set_threads(threads[t]);
        FKE_CHECK(fke_linear_forward(&e, &x, &W, &b, &y[t]) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_linear_backward(&e, &x, &W, &dy, &dx[t], &dW[t], &db[t]) == FKE_OK, "%s", e.msg);
    }
    fke_test_set_threads(2);
    int same = 1;
    for (int t = 1; t < 3; t++)
        same &= same_bits(y[t].data, y[0].data, fke_numel(&y[0])) &&
                same_bits(dx[t].data, dx[0].data, fke_numel(&dx[0])) &&
                same_bits(dW[t].data, dW[0].data, fke_numel(&dW[0])) &&
                same_bits(db[t].data, db[0].data, out);
    FKE_CHECK(same, "linear 100x256->128 at 1, 2, 2 threads: not bit for bit");
    a->used = mark;
}

typedef struct {
    fke_rnn_params P, dP;
    fke_tensor y, hT, cT, dx, dh0, dc0;
    fke_lstm_cache kl;
    fke_gru_cache kg;
} rnn_run;

static void test_rnn_threads(fke_arena *a, fke_rng *r, int lstm)
{
    size_t mark = a->used;
    fke_err e;
    int N = 100, T = 5, In = 128, H = 128, G = (lstm ? 4 : 3) * H;
    int len[100];
    for (int n = 0; n < N; n++) len[n] = 1 + n % T; /* ragged: padded steps in every chunk */
    fke_tensor x = mk(a, 3, N, T, In), h0 = mk(a, 2, N, H, 0), c0 = mk(a, 2, N, H, 0);
    fke_tensor dy = mk(a, 3, N, T, H), dhT = mk(a, 2, N, H, 0), dcT = mk(a, 2, N, H, 0);
    fke_rnn_params P = {mk(a, 2, G, In, 0), mk(a, 2, G, H, 0), mk(a, 1, G, 0, 0), mk(a, 1, G, 0, 0)};
    fill(r, x.data, fke_numel(&x), 1), fill(r, h0.data, fke_numel(&h0), 0.5);
    fill(r, c0.data, fke_numel(&c0), 0.5), fill(r, dy.data, fke_numel(&dy), 1);
    fill(r, dhT.data, fke_numel(&dhT), 1), fill(r, dcT.data, fke_numel(&dcT), 1);
    fill(r, P.W_ih.data, fke_numel(&P.W_ih), 0.15), fill(r, P.W_hh.data, fke_numel(&P.W_hh), 0.15);
    fill(r, P.b_ih.data, G, 0.2), fill(r, P.b_hh.data, G, 0.2);
    rnn_run R[3];
    int threads[3] = {1, 2, 2};
    for (int k = 0; k < 3; k++) {
        rnn_run *q = &R[k];
        q->dP = (fke_rnn_params){mk(a, 2, G, In, 0), mk(a, 2, G, H, 0), mk(a, 1, G, 0, 0),
                                 mk(a, 1, G, 0, 0)};
        q->y = mk(a, 3, N, T, H), q->dx = mk(a, 3, N, T, In);
        q->hT = mk(a, 2, N, H, 0), q->cT = mk(a, 2, N, H, 0);
        q->dh0 = mk(a, 2, N, H, 0), q->dc0 = mk(a, 2, N, H, 0);
        fke_tensor *z[] = {&q->dP.W_ih, &q->dP.W_hh, &q->dP.b_ih, &q->dP.b_hh, &q->dx, &q->dh0, &q->dc0};
        for (size_t i = 0; i < sizeof z / sizeof z[0]; i++)
            memset(z[i]->data, 0, fke_numel(z[i]) * sizeof(fke_real));
        fke_tensor *outs[] = {&q->y, &q->hT, &q->cT}; /* written entirely: start them NaN */
        for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
            memset(outs[i]->data, 0xff, fke_numel(outs[i]) * sizeof(fke_real));
        fke_test_set_threads(threads[k]);
        fke_status st;
        for (int rev = 0; rev < 2; rev++) { /* both directions, gradients added */
            /* the cache is not zeroed (every element is written before it
             * is read): fill what it will take with NaN to prove it */
            size_t room = a->cap - a->used;
            memset(a->base + a->used, 0xff, room < ((size_t)8 << 20) ? room : (size_t)8 << 20);
            if (lstm) {
                st = fke_lstm_cache_alloc(a, &e, N, T, H, &q->kl);
                if (st == FKE_OK)
                    st = fke_lstm_forward(&e, &P, &x, len, rev, &h0, &c0, &q->kl, &q->y, &q->hT, &q->cT);
                if (st == FKE_OK)
                    st = fke_lstm_backward(&e, &P, &x, &q->kl, &dy, &dhT, &dcT, &q->dx, &q->dh0,
                                           &q->dc0, &q->dP);
            } else {
                st = fke_gru_cache_alloc(a, &e, N, T, H, &q->kg);
                if (st == FKE_OK) st = fke_gru_forward(&e, &P, &x, len, rev, &h0, &q->kg, &q->y, &q->hT);
                if (st == FKE_OK)
                    st = fke_gru_backward(&e, &P, &x, &q->kg, &dy, &dhT, &q->dx, &q->dh0, &q->dP);
            }
            FKE_CHECK(st == FKE_OK, "%s", e.msg);
        }
    }
    fke_test_set_threads(2);
    int same = 1;
    for (int k = 1; k < 3; k++) {
        const fke_tensor *A[] = {&R[k].y, &R[k].hT, &R[k].cT, &R[k].dx, &R[k].dh0, &R[k].dc0,
                                 &R[k].dP.W_ih, &R[k].dP.W_hh, &R[k].dP.b_ih, &R[k].dP.b_hh};
        const fke_tensor *B[] = {&R[0].y, &R[0].hT, &R[0].cT, &R[0].dx, &R[0].dh0, &R[0].dc0,
                                 &R[0].dP.W_ih, &R[0].dP.W_hh, &R[0].dP.b_ih, &R[0].dP.b_hh};
        for (size_t i = 0; i < sizeof A / sizeof A[0]; i++) {
            if (!lstm && (i == 2 || i == 5)) continue; /* no cell state */
            same &= same_bits(A[i]->data, B[i]->data, fke_numel(B[i]));
        }
    }
    double sy = 0;
    int finite = 1;
    for (size_t i = 0; i < fke_numel(&R[0].dP.W_hh); i++) sy += fabs(R[0].dP.W_hh.data[i]);
    for (int k = 0; k < 3; k++) {
        const fke_tensor *A[] = {&R[k].y, &R[k].hT, &R[k].cT, &R[k].dx, &R[k].dh0, &R[k].dc0,
                                 &R[k].dP.W_ih, &R[k].dP.W_hh, &R[k].dP.b_ih, &R[k].dP.b_hh};
        for (size_t i = 0; i < sizeof A / sizeof A[0]; i++) {
            if (!lstm && (i == 2 || i == 5)) continue; /* no cell state */
            for (size_t j = 0; j < fke_numel(A[i]); j++) finite &= isfinite(A[i]->data[j]) != 0;
        }
    }
    FKE_CHECK(finite, "%s: an output or gradient is not finite (a cache element read unwritten?)",
              lstm ? "lstm" : "gru");
    FKE_CHECK(sy > 1, "%s: dW_hh is (nearly) zero, %g: the test would prove nothing", lstm ? "lstm" : "gru", sy);
    FKE_CHECK(same, "%s 100x5x128 both directions at 1, 2, 2 threads: not bit for bit",
              lstm ? "lstm" : "gru");
    a->used = mark;
}

/* ---- one fke-small step ---------------------------------------------------------- */
typedef struct {
    double loss;
    fke_real *g, *occ; /* all gradients; occasion logits */
} step_out;

static int model_step(const char *cell, int threads, step_out *o)
{
    fke_err e = {{0}};
    fke_config c;
    fke_config_defaults(&c);
    char cs[32];
    snprintf(cs, sizeof cs, "cell=%s", cell);
    const char *sets[] = {"task=fke", "context=all", "text=true", "correction=forward",
                          "batch=20", "V=200", cs};
    fke_status st = fke_config_preset(&c, "fke-small", &e);
    for (size_t i = 0; st == FKE_OK && i < sizeof sets / sizeof sets[0]; i++)
        st = fke_config_set(&c, sets[i], &e);
    c.threads = threads;
    if (st == FKE_OK) st = fke_config_validate(&c, &e);
    fke_model m;
    memset(&m, 0, sizeof m);
    fke_batch b;
    memset(&b, 0, sizeof b);
    fke_test_set_threads(threads);
    if (st == FKE_OK) st = fke_model_init(&m, &c, &e);
    if (st == FKE_OK) st = fke_model_plan(&m, &e);
    if (st == FKE_OK) st = fke_batch_alloc(&b, c.batch, c.G, c.n_attr, c.L, c.in_ch, c.img, c.crop, &e);
    if (st == FKE_OK) {
        fke_rng r;
        fke_rng_seed(&r, 16);
        int B = c.batch, G = c.G, A = c.n_attr;
        for (size_t i = 0; i < (size_t)B * c.in_ch * c.img * c.img; i++) b.img_x[i] = (float)fke_rng_normal(&r);
        for (size_t i = 0; i < (size_t)B * G * c.in_ch * c.crop * c.crop; i++)
            b.crop_x[i] = (float)fke_rng_normal(&r);
        for (int i = 0; i < B; i++) {
            b.n_garments[i] = i % (G + 1); /* 0 .. G garments: padded steps in Bi-LSTM-1 */
            b.occ[i] = (int32_t)fke_rng_below(&r, (uint32_t)c.n_occ);
            b.clean[i] = i % 2;
            for (int t = 0; t < c.L; t++) b.tokens[i * c.L + t] = 1 + (int32_t)fke_rng_below(&r, 199);
            for (int g = 0; g < G; g++) {
                b.cat[i * G + g] = g < b.n_garments[i] ? (int32_t)fke_rng_below(&r, (uint32_t)c.n_cat) : -1;
                for (int k = 0; k < A; k++)
                    b.attr[((size_t)i * G + g) * A + k] =
                        g < b.n_garments[i] ? (int32_t)fke_rng_below(&r, (uint32_t)c.n_val[k]) : -1;
            }
        }
        fke_params_zero_grad(&m.P);
        st = fke_model_forward(&m, &b, 1, &e);
        if (st == FKE_OK) st = fke_model_loss(&m, &b, &o->loss, &e);
        if (st == FKE_OK) st = fke_model_backward(&m, &b, &e);
    }
    FKE_CHECK(st == FKE_OK, "fke-small step (%s, %d threads): %s", cell, threads, e.msg);
    if (st == FKE_OK) {
        size_t no = fke_numel(&m.out.occ);
        o->g = malloc(m.P.total * sizeof(fke_real));
        o->occ = malloc(no * sizeof(fke_real));
        memcpy(o->g, m.P.g, m.P.total * sizeof(fke_real));
        memcpy(o->occ, m.out.occ.data, no * sizeof(fke_real));
        int total = (int)m.P.total;
        fke_batch_free(&b);
        fke_model_free(&m);
        return total;
    }
    fke_batch_free(&b);
    fke_model_free(&m);
    return 0;
}

static void test_model_threads(const char *cell)
{
    step_out o[3];
    int threads[3] = {1, 2, 2}, n[3];
    memset(o, 0, sizeof o);
    for (int k = 0; k < 3; k++) n[k] = model_step(cell, threads[k], &o[k]);
    fke_test_set_threads(2);
    if (!n[0] || n[0] != n[1] || n[1] != n[2]) return; /* failed above */
    size_t P = (size_t)n[0], no = 20 * 10; /* occasion logits (B, n_occ) */
    double eg = relerr(o[1].g, o[0].g, P), eo = relerr(o[1].occ, o[0].occ, no);
    double el = fabs(o[1].loss - o[0].loss);
    printf("  fke-small step (%s) 1 vs 2 threads: loss %.2e, logits %.2e, gradients %.2e\n", cell,
           el, eo, eg);
    FKE_CHECK(el < 1e-6 && eo < 1e-6 && eg < 1e-6,
              "fke-small step (%s) 1 vs 2 threads: loss %.2e logits %.2e gradients %.2e", cell, el,
              eo, eg);
    FKE_CHECK(o[1].loss == o[2].loss && same_bits(o[1].g, o[2].g, P) &&
                  same_bits(o[1].occ, o[2].occ, no),
              "fke-small step (%s): a repeat at 2 threads is not bit for bit", cell);
    double gs = 0;
    for (size_t i = 0; i < P; i++) gs += fabs(o[0].g[i]);
    FKE_CHECK(gs > 0 && isfinite(o[0].loss), "the step gave no gradient (%g) or loss %g", gs, o[0].loss);
    for (int k = 0; k < 3; k++) free(o[k].g), free(o[k].occ);
}

int main(void)
{
    fke_arena a;
    fke_err e = {{0}};
    if (fke_arena_init(&a, (size_t)64 << 20, &e) != FKE_OK) {
        printf("test_par: %s\n", e.msg);
        return 1;
    }
    fke_set_threads(2);
    fke_rng r;
    fke_rng_seed(&r, 1616);
    test_vmath();
    test_dropout(&a);
    test_chunks();
    test_gemm(&r);
    test_linear(&a, &r);
    test_rnn_threads(&a, &r, 1);
    test_rnn_threads(&a, &r, 0);
    test_model_threads("lstm");
    test_model_threads("gru");
    fke_arena_free(&a);
    return fke_test_summary("test_par");
}
