/* test_rnn.c - the recurrent layers (lstm.c, gru.c) in the float build:
 * agreement with PyTorch's nn.LSTM / nn.GRU over a packed (variable length)
 * batch in both directions, the masking of padded steps, and the errors.
 * (Gradients are checked in double precision by `fke gradcheck`.)
 *
 * The reference numbers below were printed by this script (PyTorch 1.13,
 * float64); weights and inputs are a*sin(b*k+s) over the flat index k, the
 * same fill() as here:
 *
 *   import math, torch; from torch import nn
 *   torch.set_default_dtype(torch.float64)
 *   N, T, I, H = 3, 4, 3, 2; lens = [4, 2, 1]
 *   def fill(shape, a, b, s):
 *       return torch.tensor([a * math.sin(b * k + s)
 *                            for k in range(math.prod(shape))]).reshape(shape)
 *   x = fill((N, T, I), 1.0, 0.5, 5)
 *   h0 = fill((N, H), 0.5, 0.8, 6); c0 = fill((N, H), 0.5, 0.6, 7)
 *   for cell in ("lstm", "gru"):
 *       G = 4 if cell == "lstm" else 3
 *       m = (nn.LSTM if cell == "lstm" else nn.GRU)(I, H, batch_first=True,
 *                                                    bidirectional=True)
 *       with torch.no_grad():
 *           for sfx in ("", "_reverse"):
 *               getattr(m, "weight_ih_l0" + sfx).copy_(fill((G*H, I), 0.4, 0.7, 1))
 *               getattr(m, "weight_hh_l0" + sfx).copy_(fill((G*H, H), 0.4, 0.9, 2))
 *               getattr(m, "bias_ih_l0" + sfx).copy_(fill((G*H,), 0.3, 1.1, 3))
 *               getattr(m, "bias_hh_l0" + sfx).copy_(fill((G*H,), 0.3, 1.3, 4))
 *       h0b = torch.stack([h0, h0]); c0b = torch.stack([c0, c0])
 *       pk = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lens),
 *                                              batch_first=True, enforce_sorted=False)
 *       out, hn = m(pk, (h0b, c0b) if cell == "lstm" else h0b)
 *       y, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
 *       # direction d: y[..., d*H:(d+1)*H], hn[d] (and cn[d]), d = 0 fwd, 1 rev
 */
#include "nn/gru.h"
#include "nn/lstm.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double ref_lstm_fwd_y[24] = {
    0.0948125259422693, 0.18001298995103, 0.00466102868117375, 0.0755081625230029,
    -0.0117875571911471, 0.0149150313752546, 0.0703265907927219, 0.000606684993109496,
    0.120531019352849, 0.102073740943505, 0.0798368921706385, 0.0388954377347903,
    0, 0, 0, 0,
    0.0421426212410403, 0.0582723280904132, 0, 0,
    0, 0, 0, 0};
static const double ref_lstm_fwd_hT[6] = {
    0.0703265907927219, 0.000606684993109496, 0.0798368921706385, 0.0388954377347903,
    0.0421426212410403, 0.0582723280904132};
static const double ref_lstm_fwd_cT[6] = {
    0.219029900103071, 0.00103527495007258, 0.150372309358604, 0.103823676165153,
    0.192990287114432, 0.0966844545451723};
static const double ref_lstm_rev_y[24] = {
    0.0340671996478923, 0.0860619554799347, -0.03875320783386, -0.00336507886940123,
    0.0674347836866768, 0.00891643561619045, 0.119748823896526, 0.1181763941821,
    0.06107356263889, 0.121047695091825, 0.0707554135283498, 0.0637755613260174,
    0, 0, 0, 0,
    0.0421426212410403, 0.0582723280904132, 0, 0,
    0, 0, 0, 0};
static const double ref_lstm_rev_hT[6] = {
    0.0340671996478923, 0.0860619554799347, 0.06107356263889, 0.121047695091825,
    0.0421426212410403, 0.0582723280904132};
static const double ref_lstm_rev_cT[6] = {
    0.122400117015721, 0.162407858023832, 0.241870403318286, 0.211366641315109,
    0.192990287114432, 0.0966844545451723};
static const double ref_gru_fwd_y[24] = {
    0.131680553656627, 0.38376876863386, -0.0892014970084015, 0.310851015311885,
    -0.092034785532968, 0.176137062115218, 0.297620892686884, 0.134090466250337,
    0.536441652676355, 0.40867655241786, 0.161011706164308, 0.345326034642132,
    0, 0, 0, 0,
    0.373282010381924, 0.208119169484937, 0, 0,
    0, 0, 0, 0};
static const double ref_gru_fwd_hT[6] = {
    0.297620892686884, 0.134090466250337, 0.161011706164308, 0.345326034642132,
    0.373282010381924, 0.208119169484937};
static const double ref_gru_rev_y[24] = {
    0.163349004227013, 0.322106895124703, -0.0981946057308828, 0.0809324041337967,
    0.0605208936477429, 0.0679019493743429, 0.269552042371608, 0.168388112483423,
    0.338497778324441, 0.404494755309667, 0.136811441766809, 0.359187324400591,
    0, 0, 0, 0,
    0.373282010381924, 0.208119169484937, 0, 0,
    0, 0, 0, 0};
static const double ref_gru_rev_hT[6] = {
    0.163349004227013, 0.322106895124703, 0.338497778324441, 0.404494755309667,
    0.373282010381924, 0.208119169484937};

enum { N = 3, T = 4, NI = 3, H = 2 };
static const int lens[N] = {4, 2, 1};

static void fill(fke_tensor *t, double a, double b, double s)
{
    size_t n = fke_numel(t);
    for (size_t k = 0; k < n; k++) t->data[k] = (fke_real)(a * sin(b * (double)k + s));
}

/* One layer's tensors, filled as in the script above. */
typedef struct {
    int lstm;
    fke_rnn_params P, dP;
    fke_tensor x, h0, c0, y, hT, cT, dx, dh0, dc0, dy, dhT, dcT;
    fke_lstm_cache kl;
    fke_gru_cache kg;
} layer;

static fke_status layer_init(layer *L, fke_arena *a, fke_err *e, int lstm)
{
    memset(L, 0, sizeof *L);
    L->lstm = lstm;
    int G = (lstm ? 4 : 3) * H;
    FKE_TRY(fke_arena_tensor(a, e, &L->P.W_ih, 2, G, NI));
    FKE_TRY(fke_arena_tensor(a, e, &L->P.W_hh, 2, G, H));
    FKE_TRY(fke_arena_tensor(a, e, &L->P.b_ih, 1, G));
    FKE_TRY(fke_arena_tensor(a, e, &L->P.b_hh, 1, G));
    FKE_TRY(fke_arena_tensor(a, e, &L->dP.W_ih, 2, G, NI));
    FKE_TRY(fke_arena_tensor(a, e, &L->dP.W_hh, 2, G, H));
    FKE_TRY(fke_arena_tensor(a, e, &L->dP.b_ih, 1, G));
    FKE_TRY(fke_arena_tensor(a, e, &L->dP.b_hh, 1, G));
    FKE_TRY(fke_arena_tensor(a, e, &L->x, 3, N, T, NI));
    FKE_TRY(fke_arena_tensor(a, e, &L->dx, 3, N, T, NI));
    FKE_TRY(fke_arena_tensor(a, e, &L->y, 3, N, T, H));
    FKE_TRY(fke_arena_tensor(a, e, &L->dy, 3, N, T, H));
    fke_tensor *nh[] = {&L->h0, &L->c0, &L->hT, &L->cT, &L->dh0, &L->dc0, &L->dhT, &L->dcT};
    for (size_t i = 0; i < sizeof nh / sizeof nh[0]; i++)
        FKE_TRY(fke_arena_tensor(a, e, nh[i], 2, N, H));
    fill(&L->P.W_ih, 0.4, 0.7, 1);
    fill(&L->P.W_hh, 0.4, 0.9, 2);
    fill(&L->P.b_ih, 0.3, 1.1, 3);
    fill(&L->P.b_hh, 0.3, 1.3, 4);
    fill(&L->x, 1.0, 0.5, 5);
    fill(&L->h0, 0.5, 0.8, 6);
    fill(&L->c0, 0.5, 0.6, 7);
    fill(&L->dy, 1.0, 0.3, 8);
    fill(&L->dhT, 1.0, 0.4, 9);
    fill(&L->dcT, 1.0, 0.2, 10);
    return lstm ? fke_lstm_cache_alloc(a, e, N, T, H, &L->kl)
                : fke_gru_cache_alloc(a, e, N, T, H, &L->kg);
}

static fke_status layer_forward(layer *L, fke_err *e, const int *len, int reverse)
{
    if (L->lstm)
        return fke_lstm_forward(e, &L->P, &L->x, len, reverse, &L->h0, &L->c0, &L->kl, &L->y,
                                &L->hT, &L->cT);
    return fke_gru_forward(e, &L->P, &L->x, len, reverse, &L->h0, &L->kg, &L->y, &L->hT);
}

static fke_status layer_backward(layer *L, fke_err *e)
{
    if (L->lstm)
        return fke_lstm_backward(e, &L->P, &L->x, &L->kl, &L->dy, &L->dhT, &L->dcT, &L->dx,
                                 &L->dh0, &L->dc0, &L->dP);
    return fke_gru_backward(e, &L->P, &L->x, &L->kg, &L->dy, &L->dhT, &L->dx, &L->dh0,
                            &L->dP);
}

static double maxdiff(const fke_real *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= m)) m = fabs((double)a[i] - b[i]);
    return m;
}

static double maxdiff_r(const fke_real *a, const fke_real *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= m)) m = fabs((double)a[i] - (double)b[i]);
    return m;
}

static void test_reference(fke_arena *a, int lstm, int reverse, const double *ry,
                           const double *rh, const double *rc)
{
    const char *name = lstm ? (reverse ? "lstm rev" : "lstm fwd")
                            : (reverse ? "gru rev" : "gru fwd");
    fke_err e = {{0}};
    layer L;
    fke_arena_reset(a);
    FKE_CHECK(layer_init(&L, a, &e, lstm) == FKE_OK, "%s", e.msg);
    fke_status s = layer_forward(&L, &e, lens, reverse);
    FKE_CHECK(s == FKE_OK, "%s: %s", name, e.msg);
    if (s != FKE_OK) return;
    double dy = maxdiff(L.y.data, ry, N * T * H), dh = maxdiff(L.hT.data, rh, N * H);
    double dc = lstm ? maxdiff(L.cT.data, rc, N * H) : 0;
    printf("  %-8s vs PyTorch: max |err| y %.2e, hT %.2e, cT %.2e\n", name, dy, dh, dc);
    FKE_CHECK(dy < 1e-5 && dh < 1e-5 && dc < 1e-5, "%s disagrees with PyTorch", name);
}

/* Padded steps: output zero, input ignored (forward and backward), and hT is
 * the output of the row's last processed step. */
static void test_masking(fke_arena *a, int lstm, int reverse)
{
    fke_err e = {{0}};
    layer L;
    fke_arena_reset(a);
    FKE_CHECK(layer_init(&L, a, &e, lstm) == FKE_OK, "%s", e.msg);
    FKE_CHECK(layer_forward(&L, &e, lens, reverse) == FKE_OK, "%s", e.msg);
    FKE_CHECK(layer_backward(&L, &e) == FKE_OK, "%s", e.msg);
    fke_real y[N * T * H], hT[N * H], dW[4 * H * H];
    memcpy(y, L.y.data, sizeof y);
    memcpy(hT, L.hT.data, sizeof hT);
    memcpy(dW, L.dP.W_hh.data, fke_numel(&L.dP.W_hh) * sizeof(fke_real));
    int zero = 1, last = 1, dxzero = 1;
    for (int n = 0; n < N; n++) {
        int tl = reverse ? 0 : lens[n] - 1;
        for (int j = 0; j < H; j++)
            if (hT[n * H + j] != y[(n * T + tl) * H + j]) last = 0;
        for (int t = lens[n]; t < T; t++) {
            for (int j = 0; j < H; j++)
                if (y[(n * T + t) * H + j] != 0) zero = 0;
            for (int i = 0; i < NI; i++) {
                if (L.dx.data[(n * T + t) * NI + i] != 0) dxzero = 0;
                L.x.data[(n * T + t) * NI + i] = 1e3f; /* must make no difference */
            }
        }
    }
    FKE_CHECK(zero, "y is not zero at padded steps (lstm=%d reverse=%d)", lstm, reverse);
    FKE_CHECK(dxzero, "dx is not zero at padded steps (lstm=%d reverse=%d)", lstm, reverse);
    FKE_CHECK(last, "hT is not y at the last processed step (lstm=%d reverse=%d)", lstm,
              reverse);
    memset(L.dP.W_hh.data, 0, fke_numel(&L.dP.W_hh) * sizeof(fke_real));
    FKE_CHECK(layer_forward(&L, &e, lens, reverse) == FKE_OK, "%s", e.msg);
    FKE_CHECK(layer_backward(&L, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(maxdiff_r(L.y.data, y, N * T * H) == 0 && maxdiff_r(L.hT.data, hT, N * H) == 0,
              "padded inputs changed the outputs (lstm=%d reverse=%d)", lstm, reverse);
    FKE_CHECK(maxdiff_r(L.dP.W_hh.data, dW, fke_numel(&L.dP.W_hh)) == 0,
              "padded inputs changed dW_hh (lstm=%d reverse=%d)", lstm, reverse);
}

/* Full lengths: NULL lengths mean all T, and the reverse direction is the
 * forward one over the time-flipped sequence. Backward adds into gradients. */
static void test_flip(fke_arena *a, int lstm)
{
    fke_err e = {{0}};
    layer F, R;
    const int full[N] = {T, T, T};
    fke_arena_reset(a);
    FKE_CHECK(layer_init(&F, a, &e, lstm) == FKE_OK, "%s", e.msg);
    FKE_CHECK(layer_init(&R, a, &e, lstm) == FKE_OK, "%s", e.msg);
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            memcpy(F.x.data + (n * T + t) * NI, R.x.data + (n * T + T - 1 - t) * NI,
                   NI * sizeof(fke_real));
    FKE_CHECK(layer_forward(&F, &e, NULL, 0) == FKE_OK, "%s", e.msg);
    FKE_CHECK(layer_forward(&R, &e, full, 1) == FKE_OK, "%s", e.msg);
    double d = maxdiff_r(F.hT.data, R.hT.data, N * H);
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            d = fmax(d, maxdiff_r(F.y.data + (n * T + t) * H, R.y.data + (n * T + T - 1 - t) * H,
                                  H));
    FKE_CHECK(d < 1e-6, "reverse != forward over the flipped input (lstm=%d): %.3e", lstm, d);

    FKE_CHECK(layer_backward(&F, &e) == FKE_OK, "%s", e.msg);
    size_t nw = fke_numel(&F.dP.W_ih);
    fke_real once[4 * H * NI];
    memcpy(once, F.dP.W_ih.data, nw * sizeof(fke_real));
    FKE_CHECK(layer_backward(&F, &e) == FKE_OK, "%s", e.msg);
    for (size_t i = 0; i < nw; i++) once[i] *= 2;
    FKE_CHECK(maxdiff_r(F.dP.W_ih.data, once, nw) < 1e-5,
              "a second backward did not add the same dW_ih again (lstm=%d)", lstm);
    /* every optional argument NULL */
    fke_status s = lstm ? fke_lstm_backward(&e, &F.P, &F.x, &F.kl, NULL, NULL, NULL, NULL,
                                            NULL, NULL, NULL)
                        : fke_gru_backward(&e, &F.P, &F.x, &F.kg, NULL, NULL, NULL, NULL,
                                           NULL);
    FKE_CHECK(s == FKE_OK, "backward with no gradients wanted: %s", e.msg);
    s = lstm ? fke_lstm_forward(&e, &F.P, &F.x, NULL, 0, NULL, NULL, &F.kl, NULL, NULL, NULL)
             : fke_gru_forward(&e, &F.P, &F.x, NULL, 0, NULL, &F.kg, NULL, NULL);
    FKE_CHECK(s == FKE_OK, "forward with no outputs wanted: %s", e.msg);
}

static void test_errors(fke_arena *a)
{
    fke_err e = {{0}};
    layer L, G;
    fke_arena_reset(a);
    FKE_CHECK(layer_init(&L, a, &e, 1) == FKE_OK, "%s", e.msg);
    FKE_CHECK(layer_init(&G, a, &e, 0) == FKE_OK, "%s", e.msg);
    fke_status s;

    s = fke_lstm_forward(&e, &L.P, NULL, lens, 0, NULL, NULL, &L.kl, &L.y, NULL, NULL);
    FKE_CHECK(s == FKE_ERR_ARG && strstr(e.msg, "lstm") && strstr(e.msg, "x"),
              "null x: %d '%s'", s, e.msg);
    fke_tensor bad = L.P.W_hh;
    bad.shape[0] = 3 * H;
    fke_rnn_params P = L.P;
    P.W_hh = bad;
    s = fke_lstm_forward(&e, &P, &L.x, lens, 0, NULL, NULL, &L.kl, &L.y, NULL, NULL);
    FKE_CHECK(s == FKE_ERR_SHAPE && strstr(e.msg, "W_hh") && strstr(e.msg, "(6, 2)"),
              "bad W_hh: %d '%s'", s, e.msg);
    s = fke_gru_forward(&e, &L.P, &L.x, lens, 0, NULL, &G.kg, &G.y, NULL);
    FKE_CHECK(s == FKE_ERR_SHAPE && strstr(e.msg, "gru"), "LSTM weights in a GRU: %d '%s'",
              s, e.msg);
    const int zero[N] = {4, 0, 1}, big[N] = {4, 5, 1};
    s = fke_lstm_forward(&e, &L.P, &L.x, zero, 0, NULL, NULL, &L.kl, &L.y, NULL, NULL);
    FKE_CHECK(s == FKE_ERR_ARG && strstr(e.msg, "lengths[1] = 0"), "length 0: %d '%s'", s,
              e.msg);
    s = fke_gru_forward(&e, &G.P, &G.x, big, 1, NULL, &G.kg, &G.y, NULL);
    FKE_CHECK(s == FKE_ERR_ARG && strstr(e.msg, "lengths[1] = 5"), "length > T: %d '%s'", s,
              e.msg);
    bad = L.h0;
    bad.shape[1] = H + 1;
    s = fke_lstm_forward(&e, &L.P, &L.x, lens, 0, &bad, NULL, &L.kl, &L.y, NULL, NULL);
    FKE_CHECK(s == FKE_ERR_SHAPE && strstr(e.msg, "h0"), "bad h0: %d '%s'", s, e.msg);
    bad = L.y;
    bad.shape[1] = T - 1;
    s = fke_gru_forward(&e, &G.P, &G.x, lens, 0, NULL, &G.kg, &bad, NULL);
    FKE_CHECK(s == FKE_ERR_SHAPE && strstr(e.msg, "y"), "bad y: %d '%s'", s, e.msg);
    s = fke_lstm_forward(&e, &L.P, &L.x, lens, 0, NULL, NULL, NULL, &L.y, NULL, NULL);
    FKE_CHECK(s == FKE_ERR_ARG && strstr(e.msg, "cache"), "null cache: %d '%s'", s, e.msg);
    fke_lstm_cache k2;
    FKE_CHECK(fke_lstm_cache_alloc(a, &e, N + 1, T, H, &k2) == FKE_OK, "%s", e.msg);
    s = fke_lstm_forward(&e, &L.P, &L.x, lens, 0, NULL, NULL, &k2, &L.y, NULL, NULL);
    FKE_CHECK(s == FKE_ERR_SHAPE && strstr(e.msg, "cache"), "cache of another size: %d '%s'",
              s, e.msg);
    bad = L.dP.b_hh;
    bad.shape[0] = 1;
    fke_rnn_params dP = L.dP;
    dP.b_hh = bad;
    FKE_CHECK(fke_lstm_forward(&e, &L.P, &L.x, lens, 0, NULL, NULL, &L.kl, NULL, NULL, NULL) ==
                  FKE_OK, "%s", e.msg);
    memset(L.dP.W_ih.data, 0, fke_numel(&L.dP.W_ih) * sizeof(fke_real));
    s = fke_lstm_backward(&e, &L.P, &L.x, &L.kl, &L.dy, NULL, NULL, NULL, NULL, NULL, &dP);
    int untouched = 1;
    for (size_t i = 0; i < fke_numel(&L.dP.W_ih); i++) untouched &= L.dP.W_ih.data[i] == 0;
    FKE_CHECK(s == FKE_ERR_SHAPE && strstr(e.msg, "db_hh") && untouched,
              "bad db_hh: %d '%s' (gradients untouched: %d)", s, e.msg, untouched);

    fke_arena small;
    FKE_CHECK(fke_arena_init(&small, 256, &e) == FKE_OK, "%s", e.msg);
    fke_gru_cache kg;
    s = fke_gru_cache_alloc(&small, &e, N, T, H, &kg);
    FKE_CHECK(s == FKE_ERR_NOMEM, "cache in a full arena: %d '%s'", s, e.msg);
    fke_arena_free(&small);
    s = fke_lstm_cache_alloc(a, &e, 0, T, H, &k2);
    FKE_CHECK(s == FKE_ERR_ARG, "cache for N = 0: %d '%s'", s, e.msg);
}

int main(void)
{
    fke_arena a;
    fke_err e = {{0}};
    if (fke_arena_init(&a, (size_t)1 << 20, &e) != FKE_OK) {
        printf("test_rnn: %s\n", e.msg);
        return 1;
    }
    test_reference(&a, 1, 0, ref_lstm_fwd_y, ref_lstm_fwd_hT, ref_lstm_fwd_cT);
    test_reference(&a, 1, 1, ref_lstm_rev_y, ref_lstm_rev_hT, ref_lstm_rev_cT);
    test_reference(&a, 0, 0, ref_gru_fwd_y, ref_gru_fwd_hT, NULL);
    test_reference(&a, 0, 1, ref_gru_rev_y, ref_gru_rev_hT, NULL);
    for (int lstm = 0; lstm < 2; lstm++) {
        test_masking(&a, lstm, 0);
        test_masking(&a, lstm, 1);
        test_flip(&a, lstm);
    }
    test_errors(&a);
    fke_arena_free(&a);
    return fke_test_summary("test_rnn");
}
