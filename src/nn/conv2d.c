/* conv2d.c - see conv2d.h.
 *
 * Per image n (K = C*kh*kw, L = Ho*Wo):
 *   col_n (K, L)   = im2col(x_n)
 *   y_n   (O, L)   = W (O, K) col_n + b
 *   dW    (O, K)  += dy_n (O, L) col_n^T
 *   dcol  (K, L)   = W^T dy_n, then dx_n += col2im(dcol)
 * The col buffer of a thread is reused for dcol once dW has consumed it. */
#include "nn/conv2d.h"

#include <cblas.h>
#include <stdint.h>

#include "nn/gemm_bf16.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *OP = "conv2d", *OPB = "conv2d backward";

int fke_conv2d_out_size(int in, int k, int stride, int pad)
{
    if (stride < 1) return 0;
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

/* Threads a call over N images uses. */
static int n_threads(int N)
{
#ifdef _OPENMP
    int t = omp_get_max_threads();
#else
    int t = 1;
#endif
    return t < N ? t : N;
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
    size_t K, L; /* rows and columns of the col matrix */
    int direct;  /* 1x1, stride 1, pad 0: x_n is its own col matrix */
    int bf16;    /* bf16 operands (fke_bf16_gemm) */
} geom;

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
    return g;
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

/* x (C, H, W) -> col (K, L) */
static void im2col(const geom *g, const fke_real *x, fke_real *col)
{
    int s = g->s, Wo = g->Wo;
    for (int c = 0; c < g->C; c++) {
        const fke_real *xc = x + (size_t)c * g->H * g->W;
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                fke_real *row = col + ((size_t)(c * g->kh + i) * g->kw + j) * g->L;
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

/* dx (C, H, W) += col2im(dcol (K, L)) */
static void col2im_add(const geom *g, const fke_real *dcol, fke_real *dx)
{
    int s = g->s, Wo = g->Wo;
    for (int c = 0; c < g->C; c++) {
        fke_real *dxc = dx + (size_t)c * g->H * g->W;
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                const fke_real *row = dcol + ((size_t)(c * g->kh + i) * g->kw + j) * g->L;
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

/* Bytes of the per-thread col buffers and of the partial dW buffers. */
static size_t col_bytes(const geom *g, int T)
{
    return g->direct ? 0 : round64((size_t)T * g->K * g->L * sizeof(fke_real));
}
static size_t partial_bytes(const geom *g, int T)
{
    return T > 1 ? round64((size_t)(T - 1) * g->O * g->K * sizeof(fke_real)) : 0;
}

/* bf16: the converted weight (O, K) and its transpose (K, O), shared; per
 * thread a pack of B and, in backward, dy_n as bf16 (O, L). */
typedef struct {
    size_t w, wt, pack, dy; /* bytes of each (pack and dy per thread) */
} bf16_ws;

static bf16_ws bf16_bytes(const geom *g, int backward)
{
    bf16_ws b = {0, 0, 0, 0};
    if (!g->bf16) return b;
    int K = (int)g->K, L = (int)g->L, O = g->O;
    b.w = round64((size_t)O * fke_bf16_ld(K) * 2);
    b.pack = round64(fke_bf16_pack_bytes(K, L));
    if (backward) {
        b.wt = round64((size_t)K * fke_bf16_ld(O) * 2);
        size_t p1 = round64(fke_bf16_pack_bytes(L, K)), p2 = round64(fke_bf16_pack_bytes(O, L));
        b.pack = p1 > p2 ? p1 : p2;
        b.dy = round64((size_t)O * fke_bf16_ld(L) * 2);
    }
    return b;
}

static size_t bf16_total(const geom *g, int T, int backward)
{
    bf16_ws b = bf16_bytes(g, backward);
    return b.w + b.wt + (size_t)T * (b.pack + b.dy);
}

size_t fke_conv2d_workspace_bytes(const fke_tensor *x, const fke_tensor *W,
                                  fke_conv2d_opt o, int backward)
{
    if (!x || !W || x->ndim != 4 || W->ndim != 4 || o.stride < 1) return 0;
    geom g = make_geom(x, W, o);
    int T = n_threads(g.N);
    return col_bytes(&g, T) + (backward ? partial_bytes(&g, T) : 0) + bf16_total(&g, T, backward);
}

/* Scratch from the top of ws (given back by restoring ws->used), zeroed only
 * when asked: the col buffers are overwritten entirely before they are read. */
static fke_status take(fke_err *e, const char *op, fke_arena *ws, size_t bytes, int zero,
                       fke_real **out)
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

fke_status fke_conv2d_forward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                              const fke_tensor *b, fke_conv2d_opt o, fke_tensor *y,
                              fke_arena *ws)
{
    geom g;
    FKE_TRY(check(e, OP, x, W, o, "y", y, &g));
    if (b) FKE_EXPECT(e, OP, "bias", b, g.O);
    int T = n_threads(g.N);
    size_t mark = ws ? ws->used : 0;
    fke_real *cols; /* (T, K, L) */
    FKE_TRY(take(e, OP, ws, col_bytes(&g, T), 0, &cols));
    bf16_ws bw = bf16_bytes(&g, 0);
    fke_real *w16 = NULL, *packs = NULL; /* bf16 (O, ldK); (T, pack) */
    if (g.bf16) {
        fke_status st = take(e, OP, ws, bw.w, 0, &w16);
        if (st == FKE_OK) st = take(e, OP, ws, (size_t)T * bw.pack, 0, &packs);
        if (st != FKE_OK) {
            if (ws) ws->used = mark;
            return st;
        }
        fke_bf16_from_float((const float *)W->data, g.O, (int)g.K, (int)g.K, 0, (uint16_t *)w16);
    }

    const size_t xsz = (size_t)g.C * g.H * g.W, ysz = (size_t)g.O * g.L;
#pragma omp parallel for num_threads(T) schedule(static)
    for (int n = 0; n < g.N; n++) {
        const fke_real *xn = x->data + n * xsz; /* (C, H, W) */
        fke_real *yn = y->data + n * ysz;       /* (O, L) */
        const fke_real *col = xn;               /* (K, L) */
        if (!g.direct) {
            fke_real *mine = cols + (size_t)thread_id() * g.K * g.L;
            im2col(&g, xn, mine);
            col = mine;
        }
        if (b)
            for (int oc = 0; oc < g.O; oc++) {
                fke_real v = b->data[oc], *r = yn + (size_t)oc * g.L;
                for (size_t l = 0; l < g.L; l++) r[l] = v;
            }
        if (g.bf16)
            fke_bf16_gemm(g.O, (int)g.L, (int)g.K, (const uint16_t *)w16, fke_bf16_ld((int)g.K),
                          (const float *)col, (int)g.L, 0, b ? 1 : 0, (float *)yn, (int)g.L,
                          (char *)packs + (size_t)thread_id() * bw.pack);
        else
            FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.O, (int)g.L, (int)g.K, 1,
                     W->data, (int)g.K, col, (int)g.L, b ? 1 : 0, yn, (int)g.L);
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
    const size_t xsz = (size_t)g.C * g.H * g.W, ysz = (size_t)g.O * g.L;
    const size_t wsz = (size_t)g.O * g.K;

    if (dx || dW) {
        int T = n_threads(g.N);
        size_t mark = ws ? ws->used : 0;
        fke_real *cols, *part; /* (T, K, L) and (T-1, O, K), the latter zeroed */
        FKE_TRY(take(e, OPB, ws, col_bytes(&g, T), 0, &cols));
        fke_status st = take(e, OPB, ws, dW ? partial_bytes(&g, T) : 0, 1, &part);
        bf16_ws bw = bf16_bytes(&g, 1);
        fke_real *w16 = NULL, *wt16 = NULL, *packs = NULL, *dys = NULL;
        if (st == FKE_OK && g.bf16) {
            st = take(e, OPB, ws, bw.w, 0, &w16);
            if (st == FKE_OK) st = take(e, OPB, ws, bw.wt, 0, &wt16);
            if (st == FKE_OK) st = take(e, OPB, ws, (size_t)T * bw.pack, 0, &packs);
            if (st == FKE_OK) st = take(e, OPB, ws, (size_t)T * bw.dy, 0, &dys);
            if (st == FKE_OK)
                fke_bf16_from_float((const float *)W->data, (int)g.K, g.O, (int)g.K, 1,
                                    (uint16_t *)wt16); /* W^T (K, O) */
        }
        if (st != FKE_OK) {
            if (ws) ws->used = mark;
            return st;
        }
        /* Images go to threads in fixed static blocks; thread 0 adds straight
         * into dW, thread t into part[t-1], summed below in order of t. */
#pragma omp parallel for num_threads(T) schedule(static)
        for (int n = 0; n < g.N; n++) {
            int tid = thread_id();
            const fke_real *xn = x->data + n * xsz;   /* (C, H, W) */
            const fke_real *dyn = dy->data + n * ysz; /* (O, L) */
            fke_real *mine = g.direct ? NULL : cols + (size_t)tid * g.K * g.L;
            if (dW) {
                const fke_real *col = xn;
                if (!g.direct) {
                    im2col(&g, xn, mine);
                    col = mine;
                }
                fke_real *dWt = tid == 0 ? dW->data : part + (size_t)(tid - 1) * wsz;
                if (g.bf16) {
                    uint16_t *dy16 = (uint16_t *)((char *)dys + (size_t)tid * bw.dy);
                    fke_bf16_from_float((const float *)dyn, g.O, (int)g.L, (int)g.L, 0, dy16);
                    fke_bf16_gemm(g.O, (int)g.K, (int)g.L, dy16, fke_bf16_ld((int)g.L),
                                  (const float *)col, (int)g.L, 1, 1, (float *)dWt, (int)g.K,
                                  (char *)packs + (size_t)tid * bw.pack);
                } else {
                    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, g.O, (int)g.K, (int)g.L, 1,
                             dyn, (int)g.L, col, (int)g.L, 1, dWt, (int)g.K);
                }
            }
            if (dx) {
                fke_real *dxn = dx->data + n * xsz;
                if (g.bf16) { /* dcol (K, L) = W^T dy_n, straight into dx when 1x1 */
                    fke_real *dst = g.direct ? dxn : mine;
                    fke_bf16_gemm((int)g.K, (int)g.L, g.O, (const uint16_t *)wt16,
                                  fke_bf16_ld(g.O), (const float *)dyn, (int)g.L, 0,
                                  g.direct ? 1 : 0, (float *)dst, (int)g.L,
                                  (char *)packs + (size_t)tid * bw.pack);
                    if (!g.direct) col2im_add(&g, mine, dxn);
                } else if (g.direct) {
                    FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.K, (int)g.L, g.O,
                             1, W->data, (int)g.K, dyn, (int)g.L, 1, dxn, (int)g.L);
                } else {
                    FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.K, (int)g.L, g.O,
                             1, W->data, (int)g.K, dyn, (int)g.L, 0, mine, (int)g.L);
                    col2im_add(&g, mine, dxn);
                }
            }
        }
        if (dW && T > 1) {
            fke_real *d = dW->data;
#pragma omp parallel for num_threads(T) schedule(static)
            for (size_t i = 0; i < wsz; i++) {
                fke_real s = d[i];
                for (int t = 0; t < T - 1; t++) s += part[(size_t)t * wsz + i];
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
