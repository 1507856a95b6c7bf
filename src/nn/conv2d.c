/* conv2d.c - see conv2d.h.
 *
 * Images go in groups (K = C*kh*kw, L = Ho*Wo, a group of m images, P = m*L
 * columns; "plan" below says how many). Per group:
 *   col  (K, P)  = im2col of its images side by side, image j in columns
 *                  [j*L, (j+1)*L)
 *   yg   (O, P)  = W (O, K) col, scattered into y's images (+ b)
 *   dyg  (O, P)  = dy's images gathered side by side
 *   dW   (O, K) += dyg col^T               (one GEMM, reduction over P)
 *   dcol (K, P)  = W^T dyg, then dx_n += col2im of image n's columns
 * The col buffer of a thread is reused for dcol once dW has consumed it. A
 * group of one image skips the scatter and the gather (y_n and dy_n are its
 * yg and dyg), and a 1x1, stride 1, pad 0 one also im2col (x_n is its col).
 *
 * Why groups: at small L (fke-small's 8x8 layer: L = 64; ResNet-18's 7x7:
 * L = 49) one GEMM per image is a narrow matrix, and each call repacks W;
 * OpenBLAS then runs at half its rate. The scatter and the gather are one
 * pass over the output (1/9 of im2col's bytes for a 3x3 kernel). */
#include "nn/conv2d.h"

#include <cblas.h>
#include <stdint.h>

#include "nn/gemm_bf16.h"
#include "nn/winograd.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *OP = "conv2d", *OPB = "conv2d backward";

/* A group takes as many images as reach GROUP_COLS columns, but its col
 * matrix never exceeds GROUP_ELEMS elements unless one image alone does (8
 * MiB of floats, about ResNet-18's largest single-image col matrix at 224 px,
 * 1.8M elements). Measured (1 thread, 100 images, forward + backward): at 7x7
 * x 512 channels groups of about 256 columns run fp32 1.2x and bf16 2.2x
 * faster than one image a call (W is repacked, or the bf16 tiles half empty, once
 * per call); at 8x8 x 64 -> 128 it is the same; and groups of 512 or more
 * columns were up to 10% slower at 16x16 and 28x28 (the col matrix outgrows
 * the 1 MiB L2), so outputs of 256 positions or more go one image a group. */
enum { GROUP_COLS = 256, GROUP_ELEMS = 1 << 21, GROUP_ALIGN = 4 };

int fke_conv2d_out_size(int in, int k, int stride, int pad)
{
    if (stride < 1) return 0;
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

typedef struct {
    int N, C, H, W, O, kh, kw, s, p, Ho, Wo;
    size_t K, L; /* rows and columns of one image's col matrix */
    int direct;  /* 1x1, stride 1, pad 0: x_n is its own col matrix */
    int bf16;    /* bf16 operands (fke_bf16_gemm) */
    /* the plan: G groups of at most nb images, run by T threads */
    int G, nb, T;
} geom;

/* Groups are fixed by the shapes alone: at most nb images each, the fewest
 * that reach GROUP_COLS columns (within GROUP_ELEMS), as few groups as that
 * allows, the images split evenly over them (group_first: a group may fall
 * short of GROUP_COLS), the groups over the threads in static blocks. So y
 * and dx have the same bits at any thread count (each group's GEMMs are the
 * same calls), and only dW's sum over the threads' partial sums depends on
 * it; a run repeats bit for bit. (Rounding
 * the number of groups up to a multiple of the threads balanced them better
 * but changed y's rounding with the thread count, which batch norm amplifies
 * past 1e-6 in test_bnact's trunk.) */
static void make_plan(geom *g)
{
    size_t L = g->L, K = g->K;
    size_t nb = (GROUP_COLS + L - 1) / L, cap = GROUP_ELEMS / (K * L);
    if (nb > cap) nb = cap;
    /* bf16: fke's kernel never repacks W, so a group gains only where one
     * image leaves its last column tile partial (7x7: 49 of 64); at 8x8 it
     * ran 5% slower (the scatter) */
    if (g->bf16 && L % FKE_BF16_TILE_N == 0) nb = 1;
    if (nb < 1) nb = 1;
    if (nb > (size_t)g->N) nb = (size_t)g->N;
    int G = (int)(((size_t)g->N + nb - 1) / nb), t = fke_max_threads();
    /* from GROUP_ALIGN groups on, a multiple of it, so that 1, 2 and 4
     * threads get equal shares: fixed by the shapes, not the thread count
     * (fke-small's 100 crops at 8x8 made 25 groups, 13 against 12 on 2
     * threads; now 28 of 3 or 4 images) */
    if (nb > 1 && G >= GROUP_ALIGN) {
        G = (G + GROUP_ALIGN - 1) / GROUP_ALIGN * GROUP_ALIGN;
        if (G > g->N) G = g->N;
    }
    g->G = G;
    g->nb = (g->N + G - 1) / G;
    g->T = t < G ? t : G;
}

/* First image of group k (k = G: one past the last image). */
static int group_first(const geom *g, int k) { return (int)((long long)k * g->N / g->G); }

static geom make_geom(const fke_tensor *x, const fke_tensor *W, fke_conv2d_opt o)
{
    geom g;
    g.N = x->shape[0], g.C = x->shape[1], g.H = x->shape[2], g.W = x->shape[3];
    g.O = W->shape[0], g.kh = W->shape[2], g.kw = W->shape[3];
    g.s = o.stride, g.p = o.pad;
    g.Ho = fke_conv2d_out_size(g.H, g.kh, g.s, g.p);
    g.Wo = fke_conv2d_out_size(g.W, g.kw, g.s, g.p);
    g.K = (size_t)g.C * g.kh * g.kw;
    g.L = (size_t)g.Ho * g.Wo;
    g.direct = g.kh == 1 && g.kw == 1 && g.s == 1 && g.p == 0;
    g.bf16 = o.bf16;
    g.G = g.nb = g.T = 1;
    if (g.N >= 1 && g.K >= 1 && g.L >= 1) make_plan(&g);
    return g;
}

static int winograd_fits(int kh, int kw, fke_conv2d_opt o)
{
    return kh == 3 && kw == 3 && o.stride == 1 && o.pad == 1 &&
           (!o.bf16 || fke_bf16_available());
}

/* The channel minimums, measured with tools/bench_conv (forward + backward,
 * Winograd against im2col, 1 thread, OpenBLAS's Cooperlake kernels as fke
 * runs them, 100 images of 16x16 unless said): 3 -> 32 at 64x64 (20
 * images) 1.21x but at 32x32 0.76x; 8 -> 32, 64 1.23x, 1.11x; 16 -> 16, 32,
 * 64 1.47x, 1.53x, 1.29x; 32 -> 8, 16 1.55x, 1.64x. So from 8 channels in
 * and out; fke-small's RGB layer stays im2col. */
int fke_conv2d_uses_winograd(int C, int O, int kh, int kw, fke_conv2d_opt o)
{
    if (!winograd_fits(kh, kw, o) || o.algo == FKE_CONV_IM2COL) return 0;
    return o.algo == FKE_CONV_WINOGRAD ||
           (C >= FKE_CONV_WINOGRAD_MIN_C && O >= FKE_CONV_WINOGRAD_MIN_O);
}

static int uses_winograd(const geom *g, fke_conv2d_opt o)
{
    return fke_conv2d_uses_winograd(g->C, g->O, g->kh, g->kw, o);
}

/* Validates x, W, the options and the output-shaped tensor y (named yname). */
static fke_status check(fke_err *e, const char *op, const fke_tensor *x,
                        const fke_tensor *W, fke_conv2d_opt o, const char *yname,
                        const fke_tensor *y, geom *g)
{
    FKE_EXPECT(e, op, "x", x, -1, -1, -1, -1);
    FKE_EXPECT(e, op, "weight", W, -1, x->shape[1], -1, -1);
    if (o.stride < 1 || o.pad < 0)
        return fke_fail(e, FKE_ERR_ARG, "%s: stride %d and pad %d (need stride >= 1, pad >= 0)",
                        op, o.stride, o.pad);
    if (o.bf16 && !fke_bf16_available())
        return fke_fail(e, FKE_ERR_ARG, "%s: bf16 operands need a CPU with AVX512-BF16 (and a "
                        "float build)", op);
    if (o.algo < FKE_CONV_AUTO || o.algo > FKE_CONV_WINOGRAD)
        return fke_fail(e, FKE_ERR_ARG, "%s: algo %d (need 0 auto, %d im2col or %d winograd)",
                        op, o.algo, FKE_CONV_IM2COL, FKE_CONV_WINOGRAD);
    if (o.algo == FKE_CONV_WINOGRAD && !winograd_fits(W->shape[2], W->shape[3], o)) {
        char ws[96];
        return fke_fail(e, FKE_ERR_ARG, "%s: Winograd needs a 3x3 kernel, stride 1, pad 1; "
                        "weight %s, stride %d, pad %d", op, fke_shape_str(W, ws, sizeof ws),
                        o.stride, o.pad);
    }
    *g = make_geom(x, W, o);
    if (g->Ho < 1 || g->Wo < 1) {
        char xs[96], ws[96];
        return fke_fail(e, FKE_ERR_SHAPE, "%s: kernel of weight %s does not fit x %s with pad %d",
                        op, fke_shape_str(W, ws, sizeof ws), fke_shape_str(x, xs, sizeof xs),
                        o.pad);
    }
    FKE_EXPECT(e, op, yname, y, g->N, g->O, g->Ho, g->Wo);
    return FKE_OK;
}

/* First and one-past-last output column whose input column ow*s + off lies in
 * [0, W); all others read padding. */
static void valid_cols(int off, int s, int W, int Wo, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + s - 1) / s;
    int b = W - off <= 0 ? 0 : (W - off + s - 1) / s;
    if (a > Wo) a = Wo;
    if (b > Wo) b = Wo;
    if (b < a) b = a;
    *lo = a, *hi = b;
}

/* x (C, H, W) -> col (K, L) with row stride ld (>= L) */
static void im2col(const geom *g, const fke_real *x, fke_real *col, size_t ld)
{
    int s = g->s, Wo = g->Wo;
    for (int c = 0; c < g->C; c++) {
        const fke_real *xc = x + (size_t)c * g->H * g->W;
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                fke_real *row = col + ((size_t)(c * g->kh + i) * g->kw + j) * ld;
                int off = j - g->p, lo, hi;
                valid_cols(off, s, g->W, Wo, &lo, &hi);
                for (int oh = 0; oh < g->Ho; oh++) {
                    fke_real *r = row + (size_t)oh * Wo;
                    int ih = oh * s - g->p + i;
                    if (ih < 0 || ih >= g->H) {
                        memset(r, 0, (size_t)Wo * sizeof *r);
                        continue;
                    }
                    const fke_real *xr = xc + (size_t)ih * g->W;
                    for (int ow = 0; ow < lo; ow++) r[ow] = 0;
                    if (s == 1)
                        memcpy(r + lo, xr + lo + off, (size_t)(hi - lo) * sizeof *r);
                    else
                        for (int ow = lo; ow < hi; ow++) r[ow] = xr[ow * s + off];
                    for (int ow = hi; ow < Wo; ow++) r[ow] = 0;
                }
            }
    }
}

/* dx (C, H, W) += col2im(dcol (K, L) with row stride ld) */
static void col2im_add(const geom *g, const fke_real *dcol, size_t ld, fke_real *dx)
{
    int s = g->s, Wo = g->Wo;
    for (int c = 0; c < g->C; c++) {
        fke_real *dxc = dx + (size_t)c * g->H * g->W;
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                const fke_real *row = dcol + ((size_t)(c * g->kh + i) * g->kw + j) * ld;
                int off = j - g->p, lo, hi;
                valid_cols(off, s, g->W, Wo, &lo, &hi);
                for (int oh = 0; oh < g->Ho; oh++) {
                    int ih = oh * s - g->p + i;
                    if (ih < 0 || ih >= g->H) continue;
                    const fke_real *r = row + (size_t)oh * Wo;
                    fke_real *dxr = dxc + (size_t)ih * g->W;
                    if (s == 1) {
                        fke_real *dst = dxr + off;
#pragma omp simd
                        for (int ow = lo; ow < hi; ow++) dst[ow] += r[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++) dxr[ow * s + off] += r[ow];
                    }
                }
            }
    }
}

/* Per-thread buffers, in elements: the col matrix (K, nb*L) and the output
 * or gathered gradient of a group (O, nb*L). A plan of single images needs
 * no gather buffer, and a direct one no col matrix either. */
static size_t col_elems(const geom *g)
{
    return g->direct && g->nb == 1 ? 0 : g->K * g->nb * g->L;
}
static size_t out_elems(const geom *g) { return g->nb > 1 ? (size_t)g->O * g->nb * g->L : 0; }
static size_t partial_bytes(const geom *g)
{
    return g->T > 1 ? round64((size_t)(g->T - 1) * g->O * g->K * sizeof(fke_real)) : 0;
}

/* bf16: the converted weight (O, K) in forward, its transpose (K, O) in
 * backward, shared; per thread a pack of B and, in backward, a group's dy as
 * bf16 (O, P). */
typedef struct {
    size_t w, wt, pack, dy; /* bytes of each (pack and dy per thread) */
} bf16_ws;

static bf16_ws bf16_bytes(const geom *g, int backward)
{
    bf16_ws b = {0, 0, 0, 0};
    if (!g->bf16) return b;
    int K = (int)g->K, P = (int)(g->nb * g->L), O = g->O;
    if (!backward) {
        b.w = round64((size_t)O * fke_bf16_ld(K) * 2);
        b.pack = round64(fke_bf16_pack_bytes(K, P));
    } else {
        b.wt = round64((size_t)K * fke_bf16_ld(O) * 2);
        size_t p1 = round64(fke_bf16_pack_bytes(P, K)), p2 = round64(fke_bf16_pack_bytes(O, P));
        b.pack = p1 > p2 ? p1 : p2;
        b.dy = round64((size_t)O * fke_bf16_ld(P) * 2);
    }
    return b;
}

/* Everything per thread, in bytes: col, out and the bf16 pack and dy. */
static size_t thread_bytes(const geom *g, int backward)
{
    bf16_ws b = bf16_bytes(g, backward);
    return round64(col_elems(g) * sizeof(fke_real)) + round64(out_elems(g) * sizeof(fke_real)) +
           b.pack + b.dy;
}

size_t fke_conv2d_workspace_bytes(const fke_tensor *x, const fke_tensor *W,
                                  fke_conv2d_opt o, int backward)
{
    if (!x || !W || x->ndim != 4 || W->ndim != 4 || o.stride < 1) return 0;
    geom g = make_geom(x, W, o);
    if (uses_winograd(&g, o))
        return fke_winograd_workspace_bytes(g.N, g.C, g.H, g.W, g.O, backward, g.bf16);
    bf16_ws b = bf16_bytes(&g, backward);
    return (size_t)g.T * thread_bytes(&g, backward) + b.w + b.wt +
           (backward ? partial_bytes(&g) : 0);
}

/* One thread's buffers, carved out of its share of the workspace. */
typedef struct {
    fke_real *col; /* (K, nb*L) */
    fke_real *out; /* (O, nb*L) */
    void *pack;    /* bf16 pack of B */
    uint16_t *dy;  /* bf16 (O, nb*L) */
} thread_ws;

static thread_ws thread_part(const geom *g, int backward, char *base, int tid)
{
    thread_ws t = {NULL, NULL, NULL, NULL};
    if (!base) return t; /* a direct plan of single images in fp32 needs none */
    bf16_ws b = bf16_bytes(g, backward);
    char *p = base + (size_t)tid * thread_bytes(g, backward);
    t.col = col_elems(g) ? (fke_real *)p : NULL;
    p += round64(col_elems(g) * sizeof(fke_real));
    t.out = out_elems(g) ? (fke_real *)p : NULL;
    p += round64(out_elems(g) * sizeof(fke_real));
    t.pack = b.pack ? p : NULL;
    p += b.pack;
    t.dy = b.dy ? (uint16_t *)p : NULL;
    return t;
}

/* Scratch from the top of ws (given back by restoring ws->used), zeroed only
 * when asked: the col buffers are overwritten entirely before they are read. */
static fke_status take(fke_err *e, const char *op, fke_arena *ws, size_t bytes, int zero,
                       void **out)
{
    *out = NULL;
    if (bytes == 0) return FKE_OK;
    if (!ws)
        return fke_fail(e, FKE_ERR_ARG, "%s: needs %zu bytes of workspace but the arena is NULL",
                        op, bytes);
    fke_err tmp;
    *out = zero ? fke_arena_alloc(ws, &tmp, bytes) : fke_arena_alloc_raw(ws, &tmp, bytes);
    if (!*out)
        return fke_fail(e, FKE_ERR_NOMEM, "%s: workspace of %zu bytes: %s", op, bytes, tmp.msg);
    return FKE_OK;
}

/* C (M, N) = W (M, K) B (K, N) + beta C through OpenBLAS or, for bf16, with
 * w16 (W converted, rows of fke_bf16_ld(K)). a_trans: W is stored (K, M). */
static void gemm(const geom *g, int a_trans, int M, int N, int K, const fke_real *Wf,
                 const void *w16, const fke_real *B, int ldb, fke_real beta, fke_real *C,
                 int ldc, void *pack)
{
    if (g->bf16)
        fke_bf16_gemm(M, N, K, (const uint16_t *)w16, fke_bf16_ld(K), (const float *)B, ldb, 0,
                      (float)beta, (float *)C, ldc, pack);
    else
        FKE_GEMM(CblasRowMajor, a_trans ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1,
                 Wf, a_trans ? M : K, B, ldb, beta, C, ldc);
}

fke_status fke_conv2d_forward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                              const fke_tensor *b, fke_conv2d_opt o, fke_tensor *y,
                              fke_arena *ws)
{
    geom g;
    FKE_TRY(check(e, OP, x, W, o, "y", y, &g));
    if (b) FKE_EXPECT(e, OP, "bias", b, g.O);
    size_t mark = ws ? ws->used : 0;
    if (uses_winograd(&g, o)) {
        void *wino = NULL;
        size_t need = fke_winograd_workspace_bytes(g.N, g.C, g.H, g.W, g.O, 0, g.bf16);
        FKE_TRY(take(e, OP, ws, need, 0, &wino));
        fke_winograd_forward(x, W, b, y, wino, g.bf16);
        ws->used = mark;
        return FKE_OK;
    }
    bf16_ws bw = bf16_bytes(&g, 0);
    void *per = NULL, *w16 = NULL; /* (T, thread_bytes); bf16 (O, ldK) */
    fke_status st = take(e, OP, ws, (size_t)g.T * thread_bytes(&g, 0), 0, &per);
    if (st == FKE_OK) st = take(e, OP, ws, bw.w, 0, &w16);
    if (st != FKE_OK) {
        if (ws) ws->used = mark;
        return st;
    }
    if (g.bf16)
        fke_bf16_from_float((const float *)W->data, g.O, (int)g.K, (int)g.K, 0, (uint16_t *)w16);

    const size_t xsz = (size_t)g.C * g.H * g.W, ysz = (size_t)g.O * g.L, L = g.L;
#pragma omp parallel for num_threads(g.T) schedule(static)
    for (int k = 0; k < g.G; k++) {
        thread_ws t = thread_part(&g, 0, per, thread_id());
        int n0 = group_first(&g, k), m = group_first(&g, k + 1) - n0;
        size_t P = (size_t)m * L;
        const fke_real *col = x->data + n0 * xsz; /* (K, P) */
        if (!(g.direct && m == 1)) {
            for (int j = 0; j < m; j++) im2col(&g, x->data + (n0 + j) * xsz, t.col + j * L, P);
            col = t.col;
        }
        if (m == 1) { /* straight into y_n (O, L) */
            fke_real *yn = y->data + n0 * ysz;
            if (b)
                for (int oc = 0; oc < g.O; oc++) {
                    fke_real v = b->data[oc], *r = yn + (size_t)oc * L;
                    for (size_t l = 0; l < L; l++) r[l] = v;
                }
            gemm(&g, 0, g.O, (int)L, (int)g.K, W->data, w16, col, (int)L, b ? 1 : 0, yn, (int)L,
                 t.pack);
            continue;
        }
        gemm(&g, 0, g.O, (int)P, (int)g.K, W->data, w16, col, (int)P, 0, t.out, (int)P, t.pack);
        for (int j = 0; j < m; j++) /* out (O, P) -> y_n (O, L), + b */
            for (int oc = 0; oc < g.O; oc++) {
                const fke_real *src = t.out + oc * P + j * L;
                fke_real *dst = y->data + (n0 + j) * ysz + oc * L;
                if (b) {
                    fke_real v = b->data[oc];
                    for (size_t l = 0; l < L; l++) dst[l] = src[l] + v;
                } else {
                    memcpy(dst, src, L * sizeof *dst);
                }
            }
    }
    if (ws) ws->used = mark;
    return FKE_OK;
}

fke_status fke_conv2d_backward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                               const fke_tensor *dy, fke_conv2d_opt o, fke_tensor *dx,
                               fke_tensor *dW, fke_tensor *db, fke_arena *ws)
{
    geom g;
    FKE_TRY(check(e, OPB, x, W, o, "dy", dy, &g));
    if (dx) FKE_EXPECT(e, OPB, "dx", dx, g.N, g.C, g.H, g.W);
    if (dW) FKE_EXPECT(e, OPB, "dW", dW, g.O, g.C, g.kh, g.kw);
    if (db) FKE_EXPECT(e, OPB, "db", db, g.O);
    const size_t xsz = (size_t)g.C * g.H * g.W, ysz = (size_t)g.O * g.L, L = g.L;
    const size_t wsz = (size_t)g.O * g.K;

    if ((dx || dW) && uses_winograd(&g, o)) {
        size_t mark = ws ? ws->used : 0;
        void *wino = NULL;
        size_t need = fke_winograd_workspace_bytes(g.N, g.C, g.H, g.W, g.O, 1, g.bf16);
        FKE_TRY(take(e, OPB, ws, need, 0, &wino));
        fke_winograd_backward(x, W, dy, dx, dW, wino, g.bf16);
        ws->used = mark;
    } else if (dx || dW) {
        int T = g.T;
        size_t mark = ws ? ws->used : 0;
        bf16_ws bw = bf16_bytes(&g, 1);
        void *per = NULL, *part = NULL, *wt16 = NULL;
        /* (T, thread_bytes), (T-1, O, K) zeroed, bf16 (K, ldO) */
        fke_status st = take(e, OPB, ws, (size_t)T * thread_bytes(&g, 1), 0, &per);
        if (st == FKE_OK) st = take(e, OPB, ws, dW ? partial_bytes(&g) : 0, 1, &part);
        if (st == FKE_OK) st = take(e, OPB, ws, bw.wt, 0, &wt16);
        if (st != FKE_OK) {
            if (ws) ws->used = mark;
            return st;
        }
        if (g.bf16)
            fke_bf16_from_float((const float *)W->data, (int)g.K, g.O, (int)g.K, 1,
                                (uint16_t *)wt16); /* W^T (K, O) */
        /* Groups go to threads in fixed static blocks; thread 0 adds straight
         * into dW, thread t into part[t-1], summed below in order of t. */
#pragma omp parallel for num_threads(T) schedule(static)
        for (int k = 0; k < g.G; k++) {
            int tid = thread_id();
            thread_ws t = thread_part(&g, 1, per, tid);
            int n0 = group_first(&g, k), m = group_first(&g, k + 1) - n0;
            size_t P = (size_t)m * L;
            const fke_real *dyg = dy->data + n0 * ysz; /* (O, P) */
            if (m > 1) {
                for (int j = 0; j < m; j++)
                    for (int oc = 0; oc < g.O; oc++)
                        memcpy(t.out + oc * P + j * L, dy->data + (n0 + j) * ysz + oc * L,
                               L * sizeof *t.out);
                dyg = t.out;
            }
            int one = g.direct && m == 1; /* x_n is the col matrix, dx_n the dcol */
            if (dW) {
                const fke_real *col = x->data + n0 * xsz; /* (K, P) */
                if (!one) {
                    for (int j = 0; j < m; j++)
                        im2col(&g, x->data + (n0 + j) * xsz, t.col + j * L, P);
                    col = t.col;
                }
                fke_real *dWt = tid == 0 ? dW->data : (fke_real *)part + (size_t)(tid - 1) * wsz;
                if (g.bf16) { /* dW += dyg col^T: B = col read transposed */
                    fke_bf16_from_float((const float *)dyg, g.O, (int)P, (int)P, 0, t.dy);
                    fke_bf16_gemm(g.O, (int)g.K, (int)P, t.dy, fke_bf16_ld((int)P),
                                  (const float *)col, (int)P, 1, 1, (float *)dWt, (int)g.K,
                                  t.pack);
                } else {
                    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, g.O, (int)g.K, (int)P, 1,
                             dyg, (int)P, col, (int)P, 1, dWt, (int)g.K);
                }
            }
            if (dx) { /* dcol (K, P) = W^T dyg */
                fke_real *dxn = dx->data + n0 * xsz;
                if (one) {
                    gemm(&g, 1, (int)g.K, (int)L, g.O, W->data, wt16, dyg, (int)L, 1, dxn,
                         (int)L, t.pack);
                } else {
                    gemm(&g, 1, (int)g.K, (int)P, g.O, W->data, wt16, dyg, (int)P, 0, t.col,
                         (int)P, t.pack);
                    for (int j = 0; j < m; j++) col2im_add(&g, t.col + j * L, P, dxn + j * xsz);
                }
            }
        }
        if (dW && T > 1) {
            fke_real *d = dW->data;
            const fke_real *pt = part;
#pragma omp parallel for num_threads(T) schedule(static)
            for (size_t i = 0; i < wsz; i++) {
                fke_real s = d[i];
                for (int t = 0; t < T - 1; t++) s += pt[(size_t)t * wsz + i];
                d[i] = s;
            }
        }
        if (ws) ws->used = mark;
    }
    if (db) {
#pragma omp parallel for schedule(static) if (g.N * ysz > 32768)
        for (int oc = 0; oc < g.O; oc++) {
            double s = 0;
            for (int n = 0; n < g.N; n++) {
                const fke_real *r = dy->data + n * ysz + (size_t)oc * g.L;
                for (size_t l = 0; l < g.L; l++) s += r[l];
            }
            db->data[oc] += (fke_real)s;
        }
    }
    return FKE_OK;
}
