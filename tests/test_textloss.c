/* test_textloss.c - embedding, TextCNN, softmax cross-entropy and the
 * transition layer on values worked out by hand, their error messages, and
 * the transition layer's limit: with T = identity the forward-corrected loss
 * is the plain cross-entropy; the TextCNN forward (one GEMM) against the
 * direct loops in double on random sizes, its ties, and its thread counts.
 * (Gradients are checked by fke gradcheck.) */
#include "nn/embedding.h"
#include "nn/loss.h"
#include "test.h"
#include "nn/textcnn.h"
#include "nn/transition.h"

#include <math.h>
#include <string.h>

static void test_embedding(void)
{
    fke_err e;
    fke_real tab[3 * 2] = {0, 1, 10, 11, 20, 21}, o[4 * 2], dt[6] = {0};
    fke_tensor table = fke_tensor_view(tab, 2, 3, 2), out = fke_tensor_view(o, 3, 2, 2, 2);
    fke_tensor dtab = fke_tensor_view(dt, 2, 3, 2);
    int32_t ids[4] = {2, 0, 2, 1};
    FKE_CHECK(fke_embedding_forward(&e, ids, 2, 2, &table, &out) == FKE_OK, "%s", e.msg);
    FKE_CHECK(o[0] == 20 && o[3] == 1 && o[4] == 20 && o[7] == 11, "rows gathered");
    fke_real g[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    fke_tensor dout = fke_tensor_view(g, 3, 2, 2, 2);
    FKE_CHECK(fke_embedding_backward(&e, ids, 2, 2, &dout, &dtab) == FKE_OK, "%s", e.msg);
    FKE_CHECK(dt[4] == 6 && dt[5] == 8 && dt[0] == 3 && dt[2] == 7, "repeated id 2 summed");
    ids[3] = 3;
    FKE_CHECK(fke_embedding_forward(&e, ids, 2, 2, &table, &out) == FKE_ERR_ARG &&
                  strstr(e.msg, "embedding") && strstr(e.msg, "token id 3"),
              "id out of range: %s", e.msg);
    ids[3] = -1;
    FKE_CHECK(fke_embedding_backward(&e, ids, 2, 2, &dout, &dtab) == FKE_ERR_ARG,
              "negative id: %s", e.msg);
}

static fke_arena arena; /* the TextCNN forward's workspace */

static void test_textcnn(void)
{
    fke_err e;
    /* x (1, 3, 2); bank 0: W (1, 2, 2) d0: [1 -1], d1: [2 .5], b 0;
     * bank 1: W (1, 2, 3) all 1, b -10 (cut by the ReLU) */
    fke_real x[6] = {1, 0, 3, 1, 2, -1}, w0[4] = {1, -1, 2, 0.5}, w1[6] = {1, 1, 1, 1, 1, 1};
    fke_real b0[1] = {0}, b1[1] = {-10}, y[2], dy[2] = {1, 1};
    fke_real dx[6] = {0}, dw0[4] = {0}, dw1[6] = {0}, db0[1] = {0}, db1[1] = {0};
    int32_t arg[2];
    fke_tensor X = fke_tensor_view(x, 3, 1, 3, 2), Y = fke_tensor_view(y, 2, 1, 2);
    fke_tensor W[2] = {fke_tensor_view(w0, 3, 1, 2, 2), fke_tensor_view(w1, 3, 1, 2, 3)};
    fke_tensor B[2] = {fke_tensor_view(b0, 1, 1), fke_tensor_view(b1, 1, 1)};
    fke_tensor dW[2] = {fke_tensor_view(dw0, 3, 1, 2, 2), fke_tensor_view(dw1, 3, 1, 2, 3)};
    fke_tensor dB[2] = {fke_tensor_view(db0, 1, 1), fke_tensor_view(db1, 1, 1)};
    fke_tensor dX = fke_tensor_view(dx, 3, 1, 3, 2), dY = fke_tensor_view(dy, 2, 1, 2);
    FKE_CHECK(fke_textcnn_forward(&e, &X, 2, W, B, &Y, arg, &arena) == FKE_OK, "%s", e.msg);
    /* t=0: 1 - 3 + 0 + .5 = -1.5; t=1: 3 - 2 + 2 - .5 = 2.5 */
    FKE_CHECK(fabs(y[0] - 2.5) < 1e-6 && arg[0] == 1 && y[1] == 0, "y %g %g arg %d", y[0],
              y[1], arg[0]);
    FKE_CHECK(fke_textcnn_backward(&e, &X, 2, W, &Y, arg, &dY, &dX, dW, dB) == FKE_OK, "%s",
              e.msg);
    FKE_CHECK(dw0[0] == 3 && dw0[1] == 2 && dw0[2] == 1 && dw0[3] == -1 && db0[0] == 1,
              "dW0 %g %g %g %g", dw0[0], dw0[1], dw0[2], dw0[3]);
    FKE_CHECK(dx[0] == 0 && dx[1] == 0 && dx[2] == 1 && dx[3] == 2 && dx[4] == -1 &&
                  dx[5] == 0.5,
              "dx");
    int zero = db1[0] == 0;
    for (int i = 0; i < 6; i++) zero = zero && dw1[i] == 0;
    FKE_CHECK(zero, "a bank cut by the ReLU gets no gradient");
    fke_real w2[8] = {0};
    fke_tensor W3[3] = {W[0], W[1], fke_tensor_view(w2, 3, 1, 2, 4)};
    fke_tensor B3[3] = {B[0], B[1], B[0]};
    fke_real y3[3];
    fke_tensor Y3 = fke_tensor_view(y3, 2, 1, 3);
    FKE_CHECK(fke_textcnn_forward(&e, &X, 3, W3, B3, &Y3, arg, &arena) == FKE_ERR_SHAPE &&
                  strstr(e.msg, "L=3") && strstr(e.msg, "width 4"),
              "L < w: %s", e.msg);
    /* an arena without room for the workspace: the op's error, ws->used kept */
    fke_arena small;
    FKE_CHECK(fke_arena_init(&small, 64, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_textcnn_forward(&e, &X, 2, W, B, &Y, arg, &small) == FKE_ERR_NOMEM &&
                  strstr(e.msg, "textcnn") && small.used == 0,
              "no room for the workspace: %s (used %zu)", e.msg, small.used);
    FKE_CHECK(fke_textcnn_forward(&e, &X, 2, W, B, &Y, arg, NULL) == FKE_ERR_ARG &&
                  strstr(e.msg, "NULL"), "no arena: %s", e.msg);
    fke_arena_free(&small);
}

/* The forward of nw banks (widths 2..nw+1) on random x, W, b, of size
 * (N, L, D) and Co filters, against the direct loops of the definition in
 * double (textcnn.h): within 1e-5 of the output's scale, the same position
 * wherever the runner-up is not within that of the maximum. Then the ties:
 * integer values (every sum exact) and one token repeated, so every
 * position scores the same and the first (t = 0) must win. And the same bits
 * at 1 and 2 threads. */
static void test_textcnn_gemm(int N, int L, int D, int Co, int nw)
{
    fke_err e;
    fke_rng r;
    fke_rng_seed(&r, 16);
    fke_tensor x, W[FKE_TEXTCNN_MAXW], b[FKE_TEXTCNN_MAXW], y, y2;
    size_t mark = arena.used;
    int ok = fke_arena_tensor(&arena, &e, &x, 3, N, L, D) == FKE_OK &&
             fke_arena_tensor(&arena, &e, &y, 2, N, nw * Co) == FKE_OK &&
             fke_arena_tensor(&arena, &e, &y2, 2, N, nw * Co) == FKE_OK;
    for (int k = 0; ok && k < nw; k++)
        ok = fke_arena_tensor(&arena, &e, &W[k], 3, Co, D, k + 2) == FKE_OK &&
             fke_arena_tensor(&arena, &e, &b[k], 1, Co) == FKE_OK;
    int32_t *arg = ok ? fke_arena_alloc(&arena, &e, sizeof(int32_t) * N * nw * Co * 2) : NULL;
    FKE_CHECK(arg, "arena: %s", e.msg);
    if (!arg) return;
    int32_t *arg2 = arg + N * nw * Co;
    fke_test_fill(&r, &x, -1, 1);
    for (int k = 0; k < nw; k++) {
        fke_test_fill(&r, &W[k], -0.3, 0.3);
        fke_test_fill(&r, &b[k], -0.3, 0.3);
    }
    size_t used = arena.used;
    FKE_CHECK(fke_textcnn_forward(&e, &x, nw, W, b, &y, arg, &arena) == FKE_OK, "%s", e.msg);
    FKE_CHECK(arena.used == used && arena.peak > used, "workspace taken and given back");
    double scale = 0, err = 0;
    int bad_arg = 0;
    for (int k = 0; k < nw; k++)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < Co; c++) {
                int w = k + 2;
                double best = 0, second = -INFINITY;
                int bt = 0;
                for (int t = 0; t + w <= L; t++) {
                    double a = b[k].data[c];
                    for (int j = 0; j < w; j++)
                        for (int d = 0; d < D; d++)
                            a += (double)W[k].data[((size_t)c * D + d) * w + j] *
                                 x.data[((size_t)n * L + t + j) * D + d];
                    if (t == 0 || a > best) {
                        second = t ? best : second;
                        best = a, bt = t;
                    } else if (a > second) {
                        second = a;
                    }
                }
                size_t o = (size_t)n * nw * Co + (size_t)k * Co + c;
                double ref = best > 0 ? best : 0, d = fabs(y.data[o] - ref);
                scale = fmax(scale, fabs(ref));
                err = fmax(err, d);
                if (arg[o] != bt && best - second > 1e-4) bad_arg++;
            }
    FKE_CHECK(err <= 1e-5 * scale, "(%d, %d, %d) Co %d: max error %g of scale %g", N, L, D, Co,
              err, scale);
    FKE_CHECK(bad_arg == 0, "%d positions of the maximum differ from the direct loops", bad_arg);
    fke_test_set_threads(2);
    FKE_CHECK(fke_textcnn_forward(&e, &x, nw, W, b, &y2, arg2, &arena) == FKE_OK, "%s", e.msg);
    fke_test_set_threads(1);
    FKE_CHECK(!memcmp(y.data, y2.data, fke_numel(&y) * sizeof(fke_real)) &&
                  !memcmp(arg, arg2, sizeof(int32_t) * N * nw * Co),
              "1 and 2 threads differ");
    for (int n = 0; n < N; n++) /* one random integer token, repeated */
        for (int t = 0; t < L; t++)
            for (int d = 0; d < D; d++)
                x.data[((size_t)n * L + t) * D + d] =
                    t ? x.data[(size_t)n * L * D + d] : (fke_real)fke_rng_below(&r, 5) - 2;
    for (int k = 0; k < nw; k++) {
        for (size_t i = 0; i < fke_numel(&W[k]); i++)
            W[k].data[i] = (fke_real)fke_rng_below(&r, 5) - 2;
        for (int c = 0; c < Co; c++) b[k].data[c] = (fke_real)fke_rng_below(&r, 5) - 2;
    }
    FKE_CHECK(fke_textcnn_forward(&e, &x, nw, W, b, &y, arg, &arena) == FKE_OK, "%s", e.msg);
    int later = 0;
    for (int i = 0; i < N * nw * Co; i++) later += arg[i] != 0;
    FKE_CHECK(later == 0, "ties: %d maxima not at the first position", later);
    arena.used = mark;
}

static void test_xent(void)
{
    fke_err e;
    fke_real z[4 * 3] = {0, 0, 0, 1000, 0, -1000, 1, 2, 3, 5, 5, 5};
    fke_real dz[12] = {0};
    fke_tensor Z = fke_tensor_view(z, 2, 4, 3), dZ = fke_tensor_view(dz, 2, 4, 3);
    int32_t lab[4] = {0, 1, -1, 2};
    uint8_t sel[4] = {1, 1, 1, 0};
    double loss;
    int cnt;
    FKE_CHECK(fke_softmax_xent_forward(&e, &Z, lab, sel, &loss, &cnt) == FKE_OK, "%s", e.msg);
    FKE_CHECK(cnt == 2 && fabs(loss - (log(3.0) + 1000) / 2) < 1e-9, "loss %.9g count %d",
              loss, cnt);
    FKE_CHECK(fke_softmax_xent_backward(&e, &Z, lab, sel, 4.0, &dZ) == FKE_OK, "%s", e.msg);
    /* scale 4 over 2 rows: row 0 gets 2 * (1/3 - [0, 1, 1]... ) */
    FKE_CHECK(fabs(dz[0] - 2 * (1.0 / 3 - 1)) < 1e-6 && fabs(dz[1] - 2.0 / 3) < 1e-6 &&
                  fabs(dz[3] - 2) < 1e-6 && fabs(dz[4] + 2) < 1e-6,
              "dlogits %g %g %g %g", dz[0], dz[1], dz[3], dz[4]);
    FKE_CHECK(dz[6] == 0 && dz[9] == 0, "missing and unselected rows get no gradient");
    int32_t none[4] = {-1, -1, -1, -1};
    FKE_CHECK(fke_softmax_xent_forward(&e, &Z, none, NULL, &loss, &cnt) == FKE_OK && cnt == 0 &&
                  loss == 0,
              "no valid rows: loss 0, count 0");
    lab[1] = 3;
    FKE_CHECK(fke_softmax_xent_forward(&e, &Z, lab, NULL, &loss, &cnt) == FKE_ERR_ARG &&
                  strstr(e.msg, "label 3"),
              "label out of range: %s", e.msg);
    fke_real p[12];
    fke_tensor P = fke_tensor_view(p, 2, 4, 3);
    FKE_CHECK(fke_softmax_forward(&e, &Z, &P) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fabs(p[0] - 1.0 / 3) < 1e-6 && p[3] == 1 && fabs(p[6] + p[7] + p[8] - 1) < 1e-6,
              "softmax rows");
}

static void test_transition(void)
{
    fke_err e;
    enum { N = 6, n = 4 };
    fke_real I[n * n] = {0}, th[n * n], T[n * n], z[N * n];
    for (int i = 0; i < n; i++) I[i * n + i] = 1;
    fke_tensor Ti = fke_tensor_view(I, 2, n, n), Th = fke_tensor_view(th, 2, n, n);
    fke_tensor Tm = fke_tensor_view(T, 2, n, n), Z = fke_tensor_view(z, 2, N, n);
    FKE_CHECK(fke_transition_init(&e, &Ti, 1e-9, &Th) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_transition_matrix(&e, &Th, &Tm) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fabs(T[0] - 1) < 1e-6 && T[1] < 1e-8, "T = I: %g %g", T[0], T[1]);
    for (int i = 0; i < N * n; i++) z[i] = (fke_real)(2 * sin(1.7 * i + 0.3));
    int32_t lab[N] = {0, 3, -1, 2, 1, 1};
    double l1, l2;
    int c1, c2;
    FKE_CHECK(fke_transition_forward(&e, &Z, &Th, lab, NULL, &l1, &c1) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_softmax_xent_forward(&e, &Z, lab, NULL, &l2, &c2) == FKE_OK, "%s", e.msg);
    FKE_CHECK(c1 == 5 && c2 == 5 && fabs(l1 - l2) < 1e-6 * fabs(l2), "T = I: %.9g vs %.9g",
              l1, l2);
    fke_real d1[N * n] = {0}, d2[N * n] = {0}, dth[n * n] = {0};
    fke_tensor D1 = fke_tensor_view(d1, 2, N, n), D2 = fke_tensor_view(d2, 2, N, n);
    fke_tensor DT = fke_tensor_view(dth, 2, n, n);
    fke_transition_backward(&e, &Z, &Th, lab, NULL, 0.5, &D1, &DT);
    fke_softmax_xent_backward(&e, &Z, lab, NULL, 0.5, &D2);
    double worst = 0;
    for (int i = 0; i < N * n; i++) worst = fmax(worst, fabs(d1[i] - d2[i]));
    FKE_CHECK(worst < 1e-6, "T = I: dlogits agree (max diff %g)", worst);

    /* a general Θ: rows of T sum to 1, and the loss is -log((softmax(z) T)[y]) */
    for (int i = 0; i < n * n; i++) th[i] = (fke_real)(1.5 * cos(0.9 * i));
    fke_transition_matrix(&e, &Th, &Tm);
    double rowerr = 0;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int m = 0; m < n; m++) s += T[j * n + m];
        rowerr = fmax(rowerr, fabs(s - 1));
    }
    FKE_CHECK(rowerr < 1e-6, "rows of row_softmax(theta) sum to 1 (err %g)", rowerr);
    double direct = 0;
    for (int i = 0; i < N; i++) {
        if (lab[i] < 0) continue;
        double zs = 0, py = 0;
        for (int j = 0; j < n; j++) zs += exp(z[i * n + j]);
        for (int j = 0; j < n; j++) py += exp(z[i * n + j]) / zs * T[j * n + lab[i]];
        direct -= log(py);
    }
    direct /= 5;
    FKE_CHECK(fke_transition_forward(&e, &Z, &Th, lab, NULL, &l1, &c1) == FKE_OK &&
                  fabs(l1 - direct) < 1e-5 * fabs(direct),
              "forward_xent %.9g vs direct %.9g", l1, direct);
    I[5] = -0.1f;
    FKE_CHECK(fke_transition_init(&e, &Ti, 1e-6, &Th) == FKE_ERR_ARG && strstr(e.msg, "T_est[1][1]"),
              "negative T_est rejected: %s", e.msg);
    lab[0] = 4;
    FKE_CHECK(fke_transition_forward(&e, &Z, &Th, lab, NULL, &l1, &c1) == FKE_ERR_ARG,
              "label out of range: %s", e.msg);
}

int main(void)
{
    fke_err e;
    if (fke_arena_init(&arena, 16u << 20, &e) != FKE_OK) {
        printf("%s\n", e.msg);
        return 1;
    }
    fke_test_set_threads(1);
    test_embedding();
    test_textcnn();
    test_textcnn_gemm(20, 16, 64, 32, 4); /* fke-small's sizes */
    test_textcnn_gemm(3, 5, 37, 5, 4);    /* odd ones, 1 position for width 5 */
    test_xent();
    test_transition();
    fke_arena_free(&arena);
    return fke_test_summary("textloss");
}
