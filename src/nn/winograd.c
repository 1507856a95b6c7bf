/* winograd.c - see winograd.h.
 *
 * Tiles: an image of H x W (= the output's size) has th = ceil(H/2) rows of
 * tw = ceil(W/2) tiles, T1 = th * tw; tile q of a group is tile q % T1 of
 * its image q / T1, row-major. A chunk's tiles are walked in segments, the
 * runs that stay in one row of tiles of one image; each transform loops over
 * a segment's tiles (2 columns apart in the image, consecutive in V, M, dM)
 * with the pad and the overhang handled once per segment in a small row
 * buffer, so the inner loops have no branches and vectorise.
 *
 * The transforms are memory bound: V is written once and read once per
 * chunk by the GEMMs, which is 16/36 of what im2col writes for the same
 * tiles (36 = 9 kernel taps x 4 outputs). */
#include "nn/winograd.h"

#include <cblas.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Tiles a GEMM takes. Measured (tools/bench_conv, 1 thread): chunks of 64,
 * 128 and 256 tiles, and chunks sized to keep V and M in the 1 MiB L2, ran
 * within the noise (about 10%) of each other at fke-small's layers, and 256
 * was the fastest at ResNet-18's 56x56 and 28x28 (fewer repacks of U[xi]
 * by OpenBLAS, which grow with the number of GEMMs). */
enum { CHUNK = 256, GROUP_ALIGN = 4 };

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* The tile transforms in AVX2 or SSE2, chosen at load time (as in
 * batchnorm.c); they only add and subtract, so both clones give the same
 * bits. Not AVX-512: a segment of 8x8 or 7x7 images is 4 tiles, under one
 * 16-float vector, and ran scalar (fke-small's 8x8 layer 1.4x slower). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define WINO_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WINO_CLONES
#endif

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

typedef struct {
    int N, C, H, W, O;
    int th, tw, T1; /* rows of tiles, tiles per row, tiles per image */
    int G, nb, T;   /* groups, most images in a group, threads */
    int chunk;      /* tiles a GEMM takes, at most CHUNK */
    int P;          /* most tiles in a chunk */
} wgeom;

/* The plan, from the shapes alone: groups of the fewest whole images that
 * reach CHUNK tiles (from GROUP_ALIGN groups on, a multiple of it, as in
 * conv2d.c), the images split evenly. */
static wgeom make_wgeom(int N, int C, int H, int W, int O)
{
    wgeom g = {N, C, H, W, O, (H + 1) / 2, (W + 1) / 2, 0, 1, 1, 1, CHUNK, 1};
    g.T1 = g.th * g.tw;
    if (N < 1 || g.T1 < 1) return g;
    int nb = (g.chunk + g.T1 - 1) / g.T1;
    if (nb > N) nb = N;
    int G = (N + nb - 1) / nb;
    if (nb > 1 && G >= GROUP_ALIGN) {
        G = (G + GROUP_ALIGN - 1) / GROUP_ALIGN * GROUP_ALIGN;
        if (G > N) G = N;
    }
    g.G = G;
    g.nb = (N + G - 1) / G;
    int t = max_threads();
    g.T = t < G ? t : G;
    g.P = g.nb * g.T1 < g.chunk ? g.nb * g.T1 : g.chunk;
    return g;
}

static int group_first(const wgeom *g, int k) { return (int)((long long)k * g->N / g->G); }

/* Elements of each buffer: U and dU (16, O, C); per thread V (16, C, P),
 * M (16, O, P) and the transforms' scratch: 4 padded rows of a row of tiles
 * (4, 2 tw + 2) and, for dx, 16 rows of a tile each (16, tw + 1). */
static size_t u_elems(const wgeom *g) { return (size_t)16 * g->O * g->C; }
static size_t scratch_elems(const wgeom *g) { return (size_t)24 * (g->tw + 1); }
static size_t thread_bytes(const wgeom *g, int backward)
{
    size_t b = round64((size_t)16 * g->C * g->P * sizeof(fke_real)) +
               round64((size_t)16 * g->O * g->P * sizeof(fke_real)) +
               round64(scratch_elems(g) * sizeof(fke_real));
    return b + (backward ? round64(u_elems(g) * sizeof(fke_real)) : 0);
}

size_t fke_winograd_workspace_bytes(int N, int C, int H, int W, int O, int backward)
{
    wgeom g = make_wgeom(N, C, H, W, O);
    return round64(u_elems(&g) * sizeof(fke_real)) + (size_t)g.T * thread_bytes(&g, backward);
}

typedef struct {
    fke_real *V, *M, *rows, *dU;
} thread_ws;

static thread_ws thread_part(const wgeom *g, int backward, void *ws, int tid)
{
    char *p = (char *)ws + round64(u_elems(g) * sizeof(fke_real)) +
              (size_t)tid * thread_bytes(g, backward);
    thread_ws t;
    t.V = (fke_real *)p;
    p += round64((size_t)16 * g->C * g->P * sizeof(fke_real));
    t.M = (fke_real *)p;
    p += round64((size_t)16 * g->O * g->P * sizeof(fke_real));
    t.rows = (fke_real *)p;
    p += round64(scratch_elems(g) * sizeof(fke_real));
    t.dU = backward ? (fke_real *)p : NULL;
    return t;
}

/* A run of tiles in one row of tiles of one image: tiles tj0 .. tj0+len-1 of
 * row ti of image n (index in the batch), at column p of the chunk. */
typedef struct {
    int n, ti, tj0, len, p;
} segment;

/* The segments of group tiles [q0, q1) of the group starting at image n0;
 * returns how many (at most q1 - q0). */
static int segments(const wgeom *g, int n0, int q0, int q1, segment *s)
{
    int k = 0;
    for (int q = q0; q < q1;) {
        int t = q % g->T1, tj = t % g->tw, len = g->tw - tj;
        if (len > q1 - q) len = q1 - q;
        s[k++] = (segment){n0 + q / g->T1, t / g->tw, tj, len, q - q0};
        q += len;
    }
    return k;
}

/* ---- the four tile transforms -------------------------------------------- */

/* U (16, O, C) = G g G^T for every kernel g of W (O, C, 3, 3) */
static void weight_transform(const wgeom *g, const fke_real *W, fke_real *U)
{
    const size_t OC = (size_t)g->O * g->C;
#pragma omp parallel for schedule(static) num_threads(g->T)
    for (int o = 0; o < g->O; o++)
        for (int c = 0; c < g->C; c++) {
            const fke_real *k = W + ((size_t)o * g->C + c) * 9;
            fke_real r[4][3]; /* G g */
            for (int j = 0; j < 3; j++) {
                fke_real a = k[j], b = k[3 + j], d = k[6 + j];
                r[0][j] = a;
                r[1][j] = (a + b + d) * (fke_real)0.5;
                r[2][j] = (a - b + d) * (fke_real)0.5;
                r[3][j] = d;
            }
            fke_real *u = U + (size_t)o * g->C + c;
            for (int i = 0; i < 4; i++) {
                fke_real a = r[i][0], b = r[i][1], d = r[i][2];
                u[(4 * i + 0) * OC] = a;
                u[(4 * i + 1) * OC] = (a + b + d) * (fke_real)0.5;
                u[(4 * i + 2) * OC] = (a - b + d) * (fke_real)0.5;
                u[(4 * i + 3) * OC] = d;
            }
        }
}

/* dW (O, C, 3, 3) += G^T dU G */
static void weight_transform_adjoint(const wgeom *g, const fke_real *dU, fke_real *dW)
{
    const size_t OC = (size_t)g->O * g->C;
#pragma omp parallel for schedule(static) num_threads(g->T)
    for (int o = 0; o < g->O; o++)
        for (int c = 0; c < g->C; c++) {
            const fke_real *u = dU + (size_t)o * g->C + c;
            fke_real r[4][3]; /* dU G, per row of dU */
            for (int i = 0; i < 4; i++) {
                fke_real a = u[(4 * i) * OC], b = u[(4 * i + 1) * OC];
                fke_real d = u[(4 * i + 2) * OC], f = u[(4 * i + 3) * OC];
                r[i][0] = a + (b + d) * (fke_real)0.5;
                r[i][1] = (b - d) * (fke_real)0.5;
                r[i][2] = (b + d) * (fke_real)0.5 + f;
            }
            fke_real *k = dW + ((size_t)o * g->C + c) * 9;
            for (int j = 0; j < 3; j++) {
                fke_real a = r[0][j], b = r[1][j], d = r[2][j], f = r[3][j];
                k[j] += a + (b + d) * (fke_real)0.5;
                k[3 + j] += (b - d) * (fke_real)0.5;
                k[6 + j] += (b + d) * (fke_real)0.5 + f;
            }
        }
}

/* The 4 padded input rows under a segment, for plane xc (H, W): rows[r][k]
 * is x[2ti - 1 + r][2tj0 - 1 + k], zero outside the image, k < 2 len + 2. */
WINO_CLONES
static void load_rows(const wgeom *g, const fke_real *xc, const segment *s, fke_real *rows)
{
    int w = 2 * s->len + 2, c0 = 2 * s->tj0 - 1; /* first image column */
    int lo = c0 < 0 ? -c0 : 0, hi = g->W - c0 < w ? g->W - c0 : w;
    for (int r = 0; r < 4; r++) {
        fke_real *d = rows + r * w;
        int ih = 2 * s->ti - 1 + r;
        if (ih < 0 || ih >= g->H) {
            memset(d, 0, (size_t)w * sizeof *d);
            continue;
        }
        const fke_real *xr = xc + (size_t)ih * g->W + c0;
        for (int k = 0; k < lo; k++) d[k] = 0;
        for (int k = lo; k < hi; k++) d[k] = xr[k]; /* a few dozen: no memcpy call */
        for (int k = hi; k < w; k++) d[k] = 0;
    }
}

/* V (16, C, ld) at column s->p = B^T d B for the segment's tiles of image x
 * (C, H, W) */
WINO_CLONES
static void input_transform(const wgeom *g, const fke_real *x, const segment *s, fke_real *V,
                            size_t ld, fke_real *rows)
{
    const size_t CP = (size_t)g->C * ld;
    const int w = 2 * s->len + 2;
    for (int c = 0; c < g->C; c++) {
        load_rows(g, x + (size_t)c * g->H * g->W, s, rows);
        const fke_real *r0 = rows, *r1 = rows + w, *r2 = rows + 2 * w, *r3 = rows + 3 * w;
        fke_real *v = V + (size_t)c * ld + s->p;
#pragma omp simd
        for (int t = 0; t < s->len; t++) {
            int k = 2 * t;
            /* columns first: (d B) per row, then B^T down the columns */
            fke_real a0 = r0[k] - r0[k + 2], a1 = r0[k + 1] + r0[k + 2];
            fke_real a2 = r0[k + 2] - r0[k + 1], a3 = r0[k + 1] - r0[k + 3];
            fke_real b0 = r1[k] - r1[k + 2], b1 = r1[k + 1] + r1[k + 2];
            fke_real b2 = r1[k + 2] - r1[k + 1], b3 = r1[k + 1] - r1[k + 3];
            fke_real c0 = r2[k] - r2[k + 2], c1 = r2[k + 1] + r2[k + 2];
            fke_real c2 = r2[k + 2] - r2[k + 1], c3 = r2[k + 1] - r2[k + 3];
            fke_real d0 = r3[k] - r3[k + 2], d1 = r3[k + 1] + r3[k + 2];
            fke_real d2 = r3[k + 2] - r3[k + 1], d3 = r3[k + 1] - r3[k + 3];
            v[0 * CP + t] = a0 - c0, v[1 * CP + t] = a1 - c1;
            v[2 * CP + t] = a2 - c2, v[3 * CP + t] = a3 - c3;
            v[4 * CP + t] = b0 + c0, v[5 * CP + t] = b1 + c1;
            v[6 * CP + t] = b2 + c2, v[7 * CP + t] = b3 + c3;
            v[8 * CP + t] = c0 - b0, v[9 * CP + t] = c1 - b1;
            v[10 * CP + t] = c2 - b2, v[11 * CP + t] = c3 - b3;
            v[12 * CP + t] = b0 - d0, v[13 * CP + t] = b1 - d1;
            v[14 * CP + t] = b2 - d2, v[15 * CP + t] = b3 - d3;
        }
    }
}

/* y's 2x2 tiles of the segment in image y (O, H, W) = A^T M A + b, M (16, O,
 * ld) at column s->p; the overhang of an odd side is dropped */
WINO_CLONES
static void output_transform(const wgeom *g, const fke_real *M, size_t ld, const segment *s,
                             const fke_real *b, fke_real *y, fke_real *rows)
{
    const size_t OP = (size_t)g->O * ld;
    const int w = 2 * s->len, c0 = 2 * s->tj0, ih = 2 * s->ti;
    const int ncol = g->W - c0 < w ? g->W - c0 : w, nrow = g->H - ih < 2 ? g->H - ih : 2;
    for (int o = 0; o < g->O; o++) {
        const fke_real *m = M + (size_t)o * ld + s->p;
        fke_real *y0 = rows, *y1 = rows + w;
#pragma omp simd
        for (int t = 0; t < s->len; t++) {
            /* A^T down the columns, then along the rows */
            fke_real s00 = m[0 * OP + t] + m[4 * OP + t] + m[8 * OP + t];
            fke_real s01 = m[1 * OP + t] + m[5 * OP + t] + m[9 * OP + t];
            fke_real s02 = m[2 * OP + t] + m[6 * OP + t] + m[10 * OP + t];
            fke_real s03 = m[3 * OP + t] + m[7 * OP + t] + m[11 * OP + t];
            fke_real s10 = m[4 * OP + t] - m[8 * OP + t] - m[12 * OP + t];
            fke_real s11 = m[5 * OP + t] - m[9 * OP + t] - m[13 * OP + t];
            fke_real s12 = m[6 * OP + t] - m[10 * OP + t] - m[14 * OP + t];
            fke_real s13 = m[7 * OP + t] - m[11 * OP + t] - m[15 * OP + t];
            y0[2 * t] = s00 + s01 + s02, y0[2 * t + 1] = s01 - s02 - s03;
            y1[2 * t] = s10 + s11 + s12, y1[2 * t + 1] = s11 - s12 - s13;
        }
        fke_real bias = b ? b[o] : 0;
        for (int r = 0; r < nrow; r++) {
            const fke_real *src = rows + r * w;
            fke_real *dst = y + ((size_t)o * g->H + ih + r) * g->W + c0;
            for (int k = 0; k < ncol; k++) dst[k] = src[k] + bias;
        }
    }
}

/* dM (16, O, ld) at column s->p = A dy A^T for the segment's 2x2 tiles of
 * dy (O, H, W), zero past an odd side */
WINO_CLONES
static void output_transform_adjoint(const wgeom *g, const fke_real *dy, const segment *s,
                                     fke_real *dM, size_t ld, fke_real *rows)
{
    const size_t OP = (size_t)g->O * ld;
    const int w = 2 * s->len, c0 = 2 * s->tj0, ih = 2 * s->ti;
    const int ncol = g->W - c0 < w ? g->W - c0 : w, nrow = g->H - ih < 2 ? g->H - ih : 2;
    const fke_real *u0 = rows, *u1 = rows + w;
    for (int o = 0; o < g->O; o++) {
        for (int r = 0; r < 2; r++) {
            fke_real *d = rows + r * w;
            const fke_real *src = dy + ((size_t)o * g->H + ih + r) * g->W + c0;
            int k = 0;
            if (r < nrow)
                for (; k < ncol; k++) d[k] = src[k];
            for (; k < w; k++) d[k] = 0;
        }
        fke_real *m = dM + (size_t)o * ld + s->p;
#pragma omp simd
        for (int t = 0; t < s->len; t++) {
            fke_real a = u0[2 * t], b = u0[2 * t + 1], c = u1[2 * t], d = u1[2 * t + 1];
            /* A down the columns: rows (a, b), (a+c, b+d), (a-c, b-d), (-c, -d); then
             * A along each row: (p, q) -> (p, p+q, p-q, -q) */
            fke_real e = a + c, f = b + d, h = a - c, k = b - d;
            m[0 * OP + t] = a, m[1 * OP + t] = a + b, m[2 * OP + t] = a - b, m[3 * OP + t] = -b;
            m[4 * OP + t] = e, m[5 * OP + t] = e + f, m[6 * OP + t] = e - f, m[7 * OP + t] = -f;
            m[8 * OP + t] = h, m[9 * OP + t] = h + k, m[10 * OP + t] = h - k;
            m[11 * OP + t] = -k;
            m[12 * OP + t] = -c, m[13 * OP + t] = -c - d, m[14 * OP + t] = d - c;
            m[15 * OP + t] = d;
        }
    }
}

/* dx (C, H, W) += B dV B^T of the segment's tiles, dV (16, C, ld) at column
 * s->p. Per tile and row r of the 4x4 result, columns 0, 1 land where the
 * tile on the left put its columns 2, 3: e[r][j] holds column j of every
 * tile, columns 2 and 3 shifted one tile right, so that each pair of image
 * columns is e[r][0] + e[r][2] (and e[r][1] + e[r][3]) at one index. The
 * rows go into a padded 4-row buffer, then into dx without the pad, after
 * the row of tiles above (overlapping by 2 rows) in the same fixed order. */
WINO_CLONES
static void input_transform_adjoint(const wgeom *g, const fke_real *dV, size_t ld,
                                    const segment *s, fke_real *dx, fke_real *scratch)
{
    const size_t CP = (size_t)g->C * ld;
    const int n = s->len, w = 2 * n + 2, c0 = 2 * s->tj0 - 1;
    const int lo = c0 < 0 ? -c0 : 0, hi = g->W - c0 < w ? g->W - c0 : w;
    fke_real *rows = scratch, *e = scratch + 4 * w; /* (4, w); (16, n + 1) */
    const int le = n + 1;
    for (int c = 0; c < g->C; c++) {
        const fke_real *v = dV + (size_t)c * ld + s->p;
        for (int j = 0; j < 4; j++) {
            e[(4 * j + 0) * le + n] = e[(4 * j + 1) * le + n] = 0;
            e[(4 * j + 2) * le] = e[(4 * j + 3) * le] = 0;
        }
#pragma omp simd
        for (int t = 0; t < n; t++) {
            /* B^T's adjoint along each row of dV: (v0, v1-v2+v3, v1+v2-v0, -v3) */
            fke_real q[4][4];
            for (int i = 0; i < 4; i++) {
                fke_real a = v[(4 * i) * CP + t], b = v[(4 * i + 1) * CP + t];
                fke_real d = v[(4 * i + 2) * CP + t], f = v[(4 * i + 3) * CP + t];
                q[i][0] = a, q[i][1] = b - d + f, q[i][2] = b + d - a, q[i][3] = -f;
            }
            for (int j = 0; j < 4; j++) { /* then down the columns; 2, 3 one tile on */
                int at = j < 2 ? t : t + 1;
                e[(0 + j) * le + at] = q[0][j];
                e[(4 + j) * le + at] = q[1][j] - q[2][j] + q[3][j];
                e[(8 + j) * le + at] = q[1][j] + q[2][j] - q[0][j];
                e[(12 + j) * le + at] = -q[3][j];
            }
        }
        for (int r = 0; r < 4; r++) {
            const fke_real *e0 = e + 4 * r * le, *e1 = e0 + le, *e2 = e1 + le, *e3 = e2 + le;
            fke_real *acc = rows + r * w;
#pragma omp simd
            for (int t = 0; t <= n; t++) {
                acc[2 * t] = e0[t] + e2[t];
                acc[2 * t + 1] = e1[t] + e3[t];
            }
        }
        fke_real *dxc = dx + (size_t)c * g->H * g->W;
        for (int r = 0; r < 4; r++) {
            int ih = 2 * s->ti - 1 + r;
            if (ih < 0 || ih >= g->H) continue;
            const fke_real *src = rows + r * w;
            fke_real *dst = dxc + (size_t)ih * g->W + c0;
#pragma omp simd
            for (int k = lo; k < hi; k++) dst[k] += src[k];
        }
    }
}

/* ---- forward and backward ------------------------------------------------ */

/* A group's nq tiles go in chunks(nq) equal chunks of at most CHUNK (and so
 * of at most g->P); chunk k is tiles [q0, q1). */
static int chunks(const wgeom *g, int nq) { return (nq + g->chunk - 1) / g->chunk; }
static void chunk_range(const wgeom *g, int nq, int k, int *q0, int *q1)
{
    *q0 = (int)((long long)k * nq / chunks(g, nq));
    *q1 = (int)((long long)(k + 1) * nq / chunks(g, nq));
}

void fke_winograd_forward(const fke_tensor *x, const fke_tensor *W, const fke_tensor *b,
                          fke_tensor *y, void *ws)
{
    wgeom g = make_wgeom(x->shape[0], x->shape[1], x->shape[2], x->shape[3], W->shape[0]);
    fke_real *U = ws;
    weight_transform(&g, W->data, U);
    const size_t xsz = (size_t)g.C * g.H * g.W, ysz = (size_t)g.O * g.H * g.W;
    const size_t OC = (size_t)g.O * g.C;
#pragma omp parallel for num_threads(g.T) schedule(static)
    for (int k = 0; k < g.G; k++) {
#ifdef _OPENMP
        thread_ws t = thread_part(&g, 0, ws, omp_get_thread_num());
#else
        thread_ws t = thread_part(&g, 0, ws, 0);
#endif
        int n0 = group_first(&g, k), nq = (group_first(&g, k + 1) - n0) * g.T1;
        segment seg[CHUNK];
        for (int ck = 0; ck < chunks(&g, nq); ck++) {
            int q0, q1;
            chunk_range(&g, nq, ck, &q0, &q1);
            int P = q1 - q0, ns = segments(&g, n0, q0, q1, seg);
            for (int i = 0; i < ns; i++)
                input_transform(&g, x->data + seg[i].n * xsz, &seg[i], t.V, P, t.rows);
            for (int xi = 0; xi < 16; xi++)
                FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.O, P, g.C, 1,
                         U + xi * OC, g.C, t.V + (size_t)xi * g.C * P, P, 0,
                         t.M + (size_t)xi * g.O * P, P);
            for (int i = 0; i < ns; i++)
                output_transform(&g, t.M, P, &seg[i], b ? b->data : NULL,
                                 y->data + seg[i].n * ysz, t.rows);
        }
    }
}

void fke_winograd_backward(const fke_tensor *x, const fke_tensor *W, const fke_tensor *dy,
                           fke_tensor *dx, fke_tensor *dW, void *ws)
{
    if (!dx && !dW) return;
    wgeom g = make_wgeom(x->shape[0], x->shape[1], x->shape[2], x->shape[3], W->shape[0]);
    fke_real *U = ws;
    if (dx) weight_transform(&g, W->data, U);
    const size_t xsz = (size_t)g.C * g.H * g.W, ysz = (size_t)g.O * g.H * g.W;
    const size_t OC = (size_t)g.O * g.C;
    int nt = 1; /* threads that ran; each one's groups are a fixed static block */
#pragma omp parallel num_threads(g.T)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#pragma omp single
        nt = omp_get_num_threads();
#endif
        thread_ws t = thread_part(&g, 1, ws, tid);
        int first = 1; /* dU of this thread not yet written */
        segment seg[CHUNK];
        for (int k = tid * g.G / nt; k < (tid + 1) * g.G / nt; k++) {
            int n0 = group_first(&g, k), nq = (group_first(&g, k + 1) - n0) * g.T1;
            for (int ck = 0; ck < chunks(&g, nq); ck++) {
                int q0, q1;
                chunk_range(&g, nq, ck, &q0, &q1);
                int P = q1 - q0, ns = segments(&g, n0, q0, q1, seg);
                for (int i = 0; i < ns; i++)
                    output_transform_adjoint(&g, dy->data + seg[i].n * ysz, &seg[i], t.M, P,
                                             t.rows);
                if (dW) { /* dU[xi] (O, C) += dM[xi] (O, P) V[xi]^T */
                    for (int i = 0; i < ns; i++)
                        input_transform(&g, x->data + seg[i].n * xsz, &seg[i], t.V, P, t.rows);
                    for (int xi = 0; xi < 16; xi++)
                        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, g.O, g.C, P, 1,
                                 t.M + (size_t)xi * g.O * P, P, t.V + (size_t)xi * g.C * P, P,
                                 first ? 0 : 1, t.dU + xi * OC, g.C);
                    first = 0;
                }
                if (dx) { /* dV[xi] (C, P) = U[xi]^T dM[xi], into V's buffer */
                    for (int xi = 0; xi < 16; xi++)
                        FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, g.C, P, g.O, 1,
                                 U + xi * OC, g.C, t.M + (size_t)xi * g.O * P, P, 0,
                                 t.V + (size_t)xi * g.C * P, P);
                    for (int i = 0; i < ns; i++)
                        input_transform_adjoint(&g, t.V, P, &seg[i], dx->data + seg[i].n * xsz,
                                                t.rows);
                }
            }
        }
    }
    if (!dW) return;
    /* the threads' dU summed in thread order into thread 0's, then dW += G^T dU G */
    fke_real *dU0 = thread_part(&g, 1, ws, 0).dU;
    const size_t n = 16 * OC, stride = thread_bytes(&g, 1) / sizeof(fke_real);
    if (nt > 1) {
#pragma omp parallel for num_threads(g.T) schedule(static)
        for (size_t i = 0; i < n; i++) {
            fke_real s = dU0[i];
            for (int k = 1; k < nt; k++) s += dU0[(size_t)k * stride + i];
            dU0[i] = s;
        }
    }
    weight_transform_adjoint(&g, dU0, dW->data);
}
