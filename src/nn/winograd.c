/* winograd.c - see winograd.h.
 *
 * Tiles: an image of H x W (= the output's size) has th = ceil(H/2) rows of
 * tw = ceil(W/2) tiles, T1 = th * tw; tile q of a group is tile q % T1 of
 * its image q / T1, row-major. A chunk's tiles are walked in segments, the
 * runs that stay in one row of tiles of one image; each transform loops over
 * a segment's tiles (2 columns apart in the image, consecutive in V, M, dM)
 * without bounds, so that it vectorises: the input transform reads, and the
 * dx transform adds into, one channel's rows of an image copied into a
 * zero-padded plane; the output and dM transforms read or write y and dy
 * directly, a zero row or a sink standing for the row under an odd side and
 * the last tile of an odd row done apart.
 *
 * The transforms are memory bound: V is written once and read once per
 * chunk by the GEMMs, which is 16/36 of what im2col writes for the same
 * tiles (36 = 9 kernel taps x 4 outputs). */
#include "nn/winograd.h"

#include "nn/gemm_bf16.h"

#include <cblas.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Tiles a GEMM takes. Measured (tools/bench_conv, 1 thread): chunks of 128
 * tiles were 2-3% faster than 256 at fke-small's 8x8 layer (V and M nearer
 * the 1 MiB L2) and 10% slower at ResNet-18's 28x28 and 14x14 (OpenBLAS
 * repacks U[xi] once per GEMM); before the padded xi stride (xi_stride),
 * 64, 128, 256 and L2-sized chunks were all within the noise. */
enum { CHUNK = 256, GROUP_ALIGN = 4 };

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
/* the per-tile kernels, inlined into each clone's vector loop */
#ifdef __GNUC__
#define WINO_INLINE static inline __attribute__((always_inline))
#else
#define WINO_INLINE static inline
#endif

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

typedef struct {
    int N, C, H, W, O;
    int th, tw, T1; /* rows of tiles, tiles per row, tiles per image */
    int G, nb, T;   /* groups, most images in a group, threads */
    int P;          /* most tiles in a chunk: CHUNK, or fewer in a small batch */
    int bf16;       /* bf16 operands in the 16 GEMMs (fke_bf16_gemm) */
} wgeom;

/* The plan, from the shapes alone: groups of the fewest whole images that
 * reach CHUNK tiles (from GROUP_ALIGN groups on, a multiple of it, as in
 * conv2d.c), the images split evenly. */
static wgeom make_wgeom(int N, int C, int H, int W, int O, int bf16)
{
    wgeom g = {N, C, H, W, O, (H + 1) / 2, (W + 1) / 2, 0, 1, 1, 1, 1, bf16 != 0};
    g.T1 = g.th * g.tw;
    if (N < 1 || g.T1 < 1) return g;
    int nb = (CHUNK + g.T1 - 1) / g.T1;
    if (nb > N) nb = N;
    int G = (N + nb - 1) / nb;
    if (nb > 1 && G >= GROUP_ALIGN) {
        G = (G + GROUP_ALIGN - 1) / GROUP_ALIGN * GROUP_ALIGN;
        if (G > N) G = N;
    }
    g.G = G;
    g.nb = (N + G - 1) / G;
    int t = fke_max_threads();
    g.T = t < G ? t : G;
    g.P = g.nb * g.T1 < CHUNK ? g.nb * g.T1 : CHUNK;
    return g;
}

static int group_first(const wgeom *g, int k) { return (int)((long long)k * g->N / g->G); }

/* Elements of each buffer: U and dU (16, O, C); per thread V (16, C, P),
 * M (16, O, P) and the transforms' scratch (scratch_part). V's and M's 16
 * matrices lie xi_stride apart, one cache line more than rows x ld: the
 * transforms read or write all 16 at once, and at a power-of-two distance
 * (fke-small's 32 x 256 tiles) they fell in one L1 set (the dx and dM
 * transforms ran 1.5x slower). */
static size_t xi_stride(int rows, size_t ld) { return (size_t)rows * ld + 64 / sizeof(fke_real); }
static size_t u_elems(const wgeom *g) { return (size_t)16 * g->O * g->C; }
static size_t scratch_elems(const wgeom *g)
{
    return (size_t)20 * g->tw + 24 + (2 * (size_t)g->th + 2) * (2 * (size_t)g->tw + 2);
}
/* bf16: U converted, (16, O, ld C) for forward, U^T (16, C, ld O) for
 * backward's dV; per thread the kernel's pack of B (the largest of the
 * three GEMMs') and, backward, one dM[xi] converted (O, ld P). */
static size_t u16_elems(const wgeom *g, int backward)
{
    if (!g->bf16) return 0;
    return backward ? (size_t)16 * g->C * fke_bf16_ld(g->O) : (size_t)16 * g->O * fke_bf16_ld(g->C);
}
static size_t pack_bytes(const wgeom *g, int backward)
{
    if (!g->bf16) return 0;
    size_t b = fke_bf16_pack_bytes(g->C, g->P);
    if (backward) {
        size_t b2 = fke_bf16_pack_bytes(g->O, g->P), b3 = fke_bf16_pack_bytes(g->P, g->C);
        if (b2 > b) b = b2;
        if (b3 > b) b = b3;
    }
    return round64(b);
}
static size_t dm16_bytes(const wgeom *g, int backward)
{
    return g->bf16 && backward ? round64((size_t)g->O * fke_bf16_ld(g->P) * 2) : 0;
}
static size_t thread_bytes(const wgeom *g, int backward)
{
    size_t b = round64(16 * xi_stride(g->C, g->P) * sizeof(fke_real)) +
               round64(16 * xi_stride(g->O, g->P) * sizeof(fke_real)) +
               round64(scratch_elems(g) * sizeof(fke_real)) + pack_bytes(g, backward) +
               dm16_bytes(g, backward);
    return b + (backward ? round64(u_elems(g) * sizeof(fke_real)) : 0);
}
/* U, then U's bf16 copy, then the threads' parts */
static size_t shared_bytes(const wgeom *g, int backward)
{
    return round64(u_elems(g) * sizeof(fke_real)) + round64(u16_elems(g, backward) * 2);
}

size_t fke_winograd_workspace_bytes(int N, int C, int H, int W, int O, int backward, int bf16)
{
    wgeom g = make_wgeom(N, C, H, W, O, bf16);
    return shared_bytes(&g, backward) + (size_t)g.T * thread_bytes(&g, backward);
}

typedef struct {
    fke_real *V, *M, *scratch, *dU;
    void *pack;    /* bf16: the pack of B */
    uint16_t *dm;  /* bf16, backward: dM[xi] (O, ld P) */
} thread_ws;

static thread_ws thread_part(const wgeom *g, int backward, void *ws, int tid)
{
    char *p = (char *)ws + shared_bytes(g, backward) + (size_t)tid * thread_bytes(g, backward);
    thread_ws t;
    t.V = (fke_real *)p;
    p += round64(16 * xi_stride(g->C, g->P) * sizeof(fke_real));
    t.M = (fke_real *)p;
    p += round64(16 * xi_stride(g->O, g->P) * sizeof(fke_real));
    t.scratch = (fke_real *)p;
    p += round64(scratch_elems(g) * sizeof(fke_real));
    t.pack = g->bf16 ? p : NULL;
    p += pack_bytes(g, backward);
    t.dm = dm16_bytes(g, backward) ? (uint16_t *)p : NULL;
    p += dm16_bytes(g, backward);
    t.dU = backward ? (fke_real *)p : NULL;
    return t;
}

/* U's bf16 copy, after U: forward U[xi] (O, C) as rows of ld C, backward
 * U[xi]^T (C, O) as rows of ld O; one conversion per call. */
static uint16_t *u16_part(const wgeom *g, void *ws)
{
    return (uint16_t *)((char *)ws + round64(u_elems(g) * sizeof(fke_real)));
}
static void convert_u(const wgeom *g, const fke_real *U, uint16_t *u16, int backward)
{
    const size_t OC = (size_t)g->O * g->C;
    const size_t step =
        backward ? (size_t)g->C * fke_bf16_ld(g->O) : (size_t)g->O * fke_bf16_ld(g->C);
#pragma omp parallel for schedule(static) num_threads(g->T)
    for (int xi = 0; xi < 16; xi++) {
        const float *u = (const float *)(U + xi * OC);
        if (backward)
            fke_bf16_from_float(u, g->C, g->O, g->C, 1, u16 + xi * step);
        else
            fke_bf16_from_float(u, g->O, g->C, g->C, 0, u16 + xi * step);
    }
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

/* ---- the transforms ------------------------------------------------------ */

/* The weight transforms go over blocks of WBLOCK channels, through a small
 * (16, WBLOCK) buffer: U's 16 planes are O x C apart (a power of two at
 * ResNet-18's widths), and writing one value to each per kernel ran into
 * cache-set conflicts (22% of a 7x7 512 -> 512 layer's time). */
enum { WBLOCK = 64 };

/* U (16, O, C) = G g G^T for every kernel g of W (O, C, 3, 3) */
static void weight_transform(const wgeom *g, const fke_real *W, fke_real *U)
{
    const size_t OC = (size_t)g->O * g->C;
#pragma omp parallel for schedule(static) num_threads(g->T)
    for (int o = 0; o < g->O; o++)
        for (int c0 = 0; c0 < g->C; c0 += WBLOCK) {
            int n = g->C - c0 < WBLOCK ? g->C - c0 : WBLOCK;
            fke_real u[16][WBLOCK];
            for (int c = 0; c < n; c++) {
                const fke_real *k = W + ((size_t)o * g->C + c0 + c) * 9;
                fke_real r[4][3]; /* G g */
                for (int j = 0; j < 3; j++) {
                    fke_real a = k[j], b = k[3 + j], d = k[6 + j];
                    r[0][j] = a;
                    r[1][j] = (a + b + d) * (fke_real)0.5;
                    r[2][j] = (a - b + d) * (fke_real)0.5;
                    r[3][j] = d;
                }
                for (int i = 0; i < 4; i++) { /* then (G g) G^T */
                    fke_real a = r[i][0], b = r[i][1], d = r[i][2];
                    u[4 * i + 0][c] = a;
                    u[4 * i + 1][c] = (a + b + d) * (fke_real)0.5;
                    u[4 * i + 2][c] = (a - b + d) * (fke_real)0.5;
                    u[4 * i + 3][c] = d;
                }
            }
            for (int xi = 0; xi < 16; xi++)
                memcpy(U + xi * OC + (size_t)o * g->C + c0, u[xi], (size_t)n * sizeof **u);
        }
}

/* dW (O, C, 3, 3) += G^T dU G */
static void weight_transform_adjoint(const wgeom *g, const fke_real *dU, fke_real *dW)
{
    const size_t OC = (size_t)g->O * g->C;
#pragma omp parallel for schedule(static) num_threads(g->T)
    for (int o = 0; o < g->O; o++)
        for (int c0 = 0; c0 < g->C; c0 += WBLOCK) {
            int n = g->C - c0 < WBLOCK ? g->C - c0 : WBLOCK;
            fke_real u[16][WBLOCK];
            for (int xi = 0; xi < 16; xi++)
                memcpy(u[xi], dU + xi * OC + (size_t)o * g->C + c0, (size_t)n * sizeof **u);
            for (int c = 0; c < n; c++) {
                fke_real r[4][3]; /* dU G, per row of dU */
                for (int i = 0; i < 4; i++) {
                    fke_real a = u[4 * i][c], b = u[4 * i + 1][c];
                    fke_real d = u[4 * i + 2][c], f = u[4 * i + 3][c];
                    r[i][0] = a + (b + d) * (fke_real)0.5;
                    r[i][1] = (b - d) * (fke_real)0.5;
                    r[i][2] = (b + d) * (fke_real)0.5 + f;
                }
                fke_real *k = dW + ((size_t)o * g->C + c0 + c) * 9;
                for (int j = 0; j < 3; j++) { /* then G^T (dU G) */
                    fke_real a = r[0][j], b = r[1][j], d = r[2][j], f = r[3][j];
                    k[j] += a + (b + d) * (fke_real)0.5;
                    k[3 + j] += (b - d) * (fke_real)0.5;
                    k[6 + j] += (b + d) * (fke_real)0.5 + f;
                }
            }
        }
}

/* The scratch of a thread: e (16, tw + 1) for dx; a row of zeros that
 * stands for dy below an odd bottom side; a row that takes the outputs
 * there; and the zero-padded plane of one channel of one image, (2 th + 2,
 * 2 tw + 2) from row and column -1, that the input transform reads. */
typedef struct {
    fke_real *e;
    const fke_real *zero;
    fke_real *sink, *plane;
} scratch;

static size_t plane_width(const wgeom *g) { return (size_t)2 * g->tw + 2; }

static scratch scratch_part(const wgeom *g, fke_real *p)
{
    size_t ne = (size_t)16 * (g->tw + 1), nz = (size_t)2 * g->tw + 4;
    memset(p + ne, 0, nz * sizeof *p);
    return (scratch){p, p + ne, p + ne + nz, p + ne + 2 * nz};
}

/* The segment's tiles whose 2 columns both lie in the image: all of them,
 * or all but the last when the row ends at an odd side. */
static int full_tiles(const wgeom *g, const segment *s)
{
    return 2 * (s->tj0 + s->len) > g->W ? s->len - 1 : s->len;
}

/* v[xi * CP] = (B^T d B)[xi] of the 4x4 tile whose rows r0..r3 start at k */
WINO_INLINE void bdb(fke_real *v, size_t CP, const fke_real *r0, const fke_real *r1,
                     const fke_real *r2, const fke_real *r3, int k)
{
    /* along the rows first (d B), then B^T down the columns */
    fke_real a0 = r0[k] - r0[k + 2], a1 = r0[k + 1] + r0[k + 2];
    fke_real a2 = r0[k + 2] - r0[k + 1], a3 = r0[k + 1] - r0[k + 3];
    fke_real b0 = r1[k] - r1[k + 2], b1 = r1[k + 1] + r1[k + 2];
    fke_real b2 = r1[k + 2] - r1[k + 1], b3 = r1[k + 1] - r1[k + 3];
    fke_real c0 = r2[k] - r2[k + 2], c1 = r2[k + 1] + r2[k + 2];
    fke_real c2 = r2[k + 2] - r2[k + 1], c3 = r2[k + 1] - r2[k + 3];
    fke_real d0 = r3[k] - r3[k + 2], d1 = r3[k + 1] + r3[k + 2];
    fke_real d2 = r3[k + 2] - r3[k + 1], d3 = r3[k + 1] - r3[k + 3];
    v[0 * CP] = a0 - c0, v[1 * CP] = a1 - c1, v[2 * CP] = a2 - c2, v[3 * CP] = a3 - c3;
    v[4 * CP] = b0 + c0, v[5 * CP] = b1 + c1, v[6 * CP] = b2 + c2, v[7 * CP] = b3 + c3;
    v[8 * CP] = c0 - b0, v[9 * CP] = c1 - b1, v[10 * CP] = c2 - b2, v[11 * CP] = c3 - b3;
    v[12 * CP] = b0 - d0, v[13 * CP] = b1 - d1, v[14 * CP] = b2 - d2, v[15 * CP] = b3 - d3;
}

/* Rows [r0, r1) of plane xc (H, W), padded: plane row r - r0 is image row
 * r, from column -1 to 2 tw, zero outside the image. */
WINO_CLONES
static void pad_rows(const wgeom *g, const fke_real *xc, int r0, int r1, fke_real *plane)
{
    const int wp = (int)plane_width(g);
    for (int r = r0; r < r1; r++) {
        fke_real *d = plane + (size_t)(r - r0) * wp;
        if (r < 0 || r >= g->H) {
            for (int k = 0; k < wp; k++) d[k] = 0;
            continue;
        }
        const fke_real *src = xc + (size_t)r * g->W;
        d[0] = 0;
        for (int k = 0; k < g->W; k++) d[1 + k] = src[k];
        for (int k = g->W + 1; k < wp; k++) d[k] = 0;
    }
}

/* V (16, C, ld) = B^T d B for the tiles of the chunk's ns segments, images
 * of x (N, C, H, W). Per channel and image, the rows under its segments are
 * padded once into the plane, so the tile loops have no bounds. */
WINO_CLONES
static void input_transform(const wgeom *g, const fke_real *x, const segment *seg, int ns,
                            fke_real *V, size_t ld, scratch sc)
{
    const size_t CP = xi_stride(g->C, ld), xsz = (size_t)g->C * g->H * g->W;
    const int wp = (int)plane_width(g);
    for (int c = 0; c < g->C; c++)
        for (int i = 0, j; i < ns; i = j) {
            for (j = i; j < ns && seg[j].n == seg[i].n; j++) {}
            int ti0 = seg[i].ti; /* the plane's row 0 is image row 2 ti0 - 1 */
            pad_rows(g, x + seg[i].n * xsz + (size_t)c * g->H * g->W, 2 * ti0 - 1,
                     2 * seg[j - 1].ti + 3, sc.plane);
            for (int k = i; k < j; k++) {
                const segment *s = &seg[k];
                const fke_real *r0 = sc.plane + (size_t)2 * (s->ti - ti0) * wp;
                const fke_real *r1 = r0 + wp, *r2 = r1 + wp, *r3 = r2 + wp;
                fke_real *v = V + (size_t)c * ld + s->p;
                const int k0 = 2 * s->tj0;
#pragma omp simd
                for (int t = 0; t < s->len; t++) bdb(v + t, CP, r0, r1, r2, r3, k0 + 2 * t);
            }
        }
}

/* (y00, y01; y10, y11) = A^T M A of the tile at m (16 entries OP apart) */
WINO_INLINE void ama(const fke_real *m, size_t OP, fke_real *y00, fke_real *y01,
                     fke_real *y10, fke_real *y11)
{
    /* A^T down the columns, then along the rows */
    fke_real s00 = m[0 * OP] + m[4 * OP] + m[8 * OP];
    fke_real s01 = m[1 * OP] + m[5 * OP] + m[9 * OP];
    fke_real s02 = m[2 * OP] + m[6 * OP] + m[10 * OP];
    fke_real s03 = m[3 * OP] + m[7 * OP] + m[11 * OP];
    fke_real s10 = m[4 * OP] - m[8 * OP] - m[12 * OP];
    fke_real s11 = m[5 * OP] - m[9 * OP] - m[13 * OP];
    fke_real s12 = m[6 * OP] - m[10 * OP] - m[14 * OP];
    fke_real s13 = m[7 * OP] - m[11 * OP] - m[15 * OP];
    *y00 = s00 + s01 + s02, *y01 = s01 - s02 - s03;
    *y10 = s10 + s11 + s12, *y11 = s11 - s12 - s13;
}

/* y's 2x2 tiles of the segment in image y (O, H, W) = A^T M A + b, M (16, O,
 * ld) at column s->p; a bottom row past an odd side goes to the sink, a
 * right column past it is dropped */
WINO_CLONES
static void output_transform(const wgeom *g, const fke_real *M, size_t ld, const segment *s,
                             const fke_real *b, fke_real *y, scratch sc)
{
    const size_t OP = xi_stride(g->O, ld);
    const int c0 = 2 * s->tj0, ih = 2 * s->ti;
    const int full = full_tiles(g, s);
    for (int o = 0; o < g->O; o++) {
        const fke_real *m = M + (size_t)o * ld + s->p;
        fke_real *y0 = y + ((size_t)o * g->H + ih) * g->W + c0;
        fke_real *y1 = ih + 1 < g->H ? y0 + g->W : sc.sink;
        const fke_real bias = b ? b[o] : 0;
#pragma omp simd
        for (int t = 0; t < full; t++) {
            fke_real a, bb, c, d;
            ama(m + t, OP, &a, &bb, &c, &d);
            y0[2 * t] = a + bias, y0[2 * t + 1] = bb + bias;
            y1[2 * t] = c + bias, y1[2 * t + 1] = d + bias;
        }
        for (int t = full; t < s->len; t++) { /* the last tile of an odd side */
            fke_real a, bb, c, d;
            ama(m + t, OP, &a, &bb, &c, &d);
            y0[2 * t] = a + bias, y1[2 * t] = c + bias;
        }
    }
}

/* m[xi * OP] = (A u A^T)[xi] for the 2x2 tile (a, b; c, d) of dy */
WINO_INLINE void aua(fke_real *m, size_t OP, fke_real a, fke_real b, fke_real c, fke_real d)
{
    /* A down the columns: rows (a, b), (a+c, b+d), (a-c, b-d), (-c, -d); then
     * A along each row: (p, q) -> (p, p+q, p-q, -q) */
    fke_real e = a + c, f = b + d, h = a - c, k = b - d;
    m[0 * OP] = a, m[1 * OP] = a + b, m[2 * OP] = a - b, m[3 * OP] = -b;
    m[4 * OP] = e, m[5 * OP] = e + f, m[6 * OP] = e - f, m[7 * OP] = -f;
    m[8 * OP] = h, m[9 * OP] = h + k, m[10 * OP] = h - k, m[11 * OP] = -k;
    m[12 * OP] = -c, m[13 * OP] = -c - d, m[14 * OP] = d - c, m[15 * OP] = d;
}

/* dM (16, O, ld) at column s->p = A dy A^T for the segment's 2x2 tiles of
 * dy (O, H, W), zero past an odd side (the zero row, or a zero column) */
WINO_CLONES
static void output_transform_adjoint(const wgeom *g, const fke_real *dy, const segment *s,
                                     fke_real *dM, size_t ld, scratch sc)
{
    const size_t OP = xi_stride(g->O, ld);
    const int c0 = 2 * s->tj0, ih = 2 * s->ti;
    const int full = full_tiles(g, s);
    for (int o = 0; o < g->O; o++) {
        const fke_real *u0 = dy + ((size_t)o * g->H + ih) * g->W + c0;
        const fke_real *u1 = ih + 1 < g->H ? u0 + g->W : sc.zero;
        fke_real *m = dM + (size_t)o * ld + s->p;
#pragma omp simd
        for (int t = 0; t < full; t++)
            aua(m + t, OP, u0[2 * t], u0[2 * t + 1], u1[2 * t], u1[2 * t + 1]);
        for (int t = full; t < s->len; t++) aua(m + t, OP, u0[2 * t], 0, u1[2 * t], 0);
    }
}

/* dx += B dV B^T for the tiles of the chunk's ns segments, dV (16, C, ld),
 * images of dx (N, C, H, W). Per tile and row r of the 4x4 result, columns
 * 0, 1 land where the tile on the left put its columns 2, 3: e[r][j] holds
 * column j of every tile of a segment, columns 2 and 3 shifted one tile on,
 * so that each pair of image columns is e[r][0] + e[r][2] (and e[r][1] +
 * e[r][3]) at one index. Per channel and image, the segments add into the
 * zeroed padded plane (rows of tiles overlapping by 2 rows), in order, and
 * the plane less its pad goes into dx: one fixed order of the sums. */
WINO_CLONES
static void input_transform_adjoint(const wgeom *g, const fke_real *dV, size_t ld,
                                    const segment *seg, int ns, fke_real *dx, scratch sc)
{
    const size_t CP = xi_stride(g->C, ld), xsz = (size_t)g->C * g->H * g->W;
    const int wp = (int)plane_width(g);
    fke_real *e = sc.e; /* (16, len + 1) */
    for (int c = 0; c < g->C; c++)
        for (int i = 0, j; i < ns; i = j) {
            for (j = i; j < ns && seg[j].n == seg[i].n; j++) {}
            int ti0 = seg[i].ti, r0 = 2 * ti0 - 1, r1 = 2 * seg[j - 1].ti + 3;
            memset(sc.plane, 0, (size_t)(r1 - r0) * wp * sizeof *sc.plane);
            for (int k = i; k < j; k++) {
                const segment *s = &seg[k];
                const int n = s->len, le = n + 1;
                const fke_real *v = dV + (size_t)c * ld + s->p;
                for (int r = 0; r < 4; r++) {
                    e[(4 * r + 0) * le + n] = e[(4 * r + 1) * le + n] = 0;
                    e[(4 * r + 2) * le] = e[(4 * r + 3) * le] = 0;
                }
#pragma omp simd
                for (int t = 0; t < n; t++) {
                    /* B^T's adjoint along each row of dV: (v0, v1-v2+v3, v1+v2-v0, -v3) */
                    fke_real q[4][4];
                    for (int i2 = 0; i2 < 4; i2++) {
                        fke_real a = v[(4 * i2) * CP + t], b = v[(4 * i2 + 1) * CP + t];
                        fke_real d = v[(4 * i2 + 2) * CP + t], f = v[(4 * i2 + 3) * CP + t];
                        q[i2][0] = a, q[i2][1] = b - d + f, q[i2][2] = b + d - a, q[i2][3] = -f;
                    }
                    for (int jj = 0; jj < 4; jj++) { /* then down the columns; 2, 3 one on */
                        int at = jj < 2 ? t : t + 1;
                        e[(0 + jj) * le + at] = q[0][jj];
                        e[(4 + jj) * le + at] = q[1][jj] - q[2][jj] + q[3][jj];
                        e[(8 + jj) * le + at] = q[1][jj] + q[2][jj] - q[0][jj];
                        e[(12 + jj) * le + at] = -q[3][jj];
                    }
                }
                for (int r = 0; r < 4; r++) { /* plane column 2 tj0 is image column 2 tj0 - 1 */
                    const fke_real *e0 = e + 4 * r * le, *e1 = e0 + le, *e2 = e1 + le,
                                   *e3 = e2 + le;
                    fke_real *dst = sc.plane + (size_t)(2 * (s->ti - ti0) + r) * wp + 2 * s->tj0;
#pragma omp simd
                    for (int t = 0; t <= n; t++) {
                        dst[2 * t] += e0[t] + e2[t];
                        dst[2 * t + 1] += e1[t] + e3[t];
                    }
                }
            }
            fke_real *dxc = dx + seg[i].n * xsz + (size_t)c * g->H * g->W;
            for (int r = r0 < 0 ? 0 : r0; r < r1 && r < g->H; r++) {
                const fke_real *src = sc.plane + (size_t)(r - r0) * wp + 1;
                fke_real *dst = dxc + (size_t)r * g->W;
#pragma omp simd
                for (int k = 0; k < g->W; k++) dst[k] += src[k];
            }
        }
}

/* ---- forward and backward ------------------------------------------------ */

/* A group's nq tiles go in chunks(nq) equal chunks of at most CHUNK (and so
 * of at most g->P); chunk k is tiles [q0, q1). */
static int chunks(int nq) { return (nq + CHUNK - 1) / CHUNK; }
static void chunk_range(int nq, int k, int *q0, int *q1)
{
    *q0 = (int)((long long)k * nq / chunks(nq));
    *q1 = (int)((long long)(k + 1) * nq / chunks(nq));
}

/* C (M, N) = U[xi] B, B (K, N) float, where U[xi] is the xi-th (M, K) matrix
 * of U, or read transposed from a (K, M) one when a_trans: through OpenBLAS,
 * or with bf16 operands from u16 (U converted, xi-th matrix of M rows of
 * fke_bf16_ld(K)). */
static void gemm_u(const wgeom *g, int a_trans, int xi, int M, int N, int K, const fke_real *U,
                   const uint16_t *u16, const fke_real *B, fke_real *C, void *pack)
{
    const size_t MK = (size_t)M * K;
    if (g->bf16)
        fke_bf16_gemm(M, N, K, u16 + xi * (size_t)M * fke_bf16_ld(K), fke_bf16_ld(K),
                      (const float *)B, N, 0, 0, (float *)C, N, pack);
    else
        FKE_GEMM(CblasRowMajor, a_trans ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1,
                 U + xi * MK, a_trans ? M : K, B, N, 0, C, N);
}

void fke_winograd_forward(const fke_tensor *x, const fke_tensor *W, const fke_tensor *b,
                          fke_tensor *y, void *ws, int bf16)
{
    wgeom g = make_wgeom(x->shape[0], x->shape[1], x->shape[2], x->shape[3], W->shape[0], bf16);
    fke_real *U = ws;
    uint16_t *u16 = u16_part(&g, ws);
    weight_transform(&g, W->data, U);
    if (g.bf16) convert_u(&g, U, u16, 0);
    const size_t ysz = (size_t)g.O * g.H * g.W;
#pragma omp parallel for num_threads(g.T) schedule(static)
    for (int k = 0; k < g.G; k++) {
#ifdef _OPENMP
        thread_ws t = thread_part(&g, 0, ws, omp_get_thread_num());
#else
        thread_ws t = thread_part(&g, 0, ws, 0);
#endif
        int n0 = group_first(&g, k), nq = (group_first(&g, k + 1) - n0) * g.T1;
        scratch sc = scratch_part(&g, t.scratch);
        segment seg[CHUNK];
        for (int ck = 0; ck < chunks(nq); ck++) {
            int q0, q1;
            chunk_range(nq, ck, &q0, &q1);
            int P = q1 - q0, ns = segments(&g, n0, q0, q1, seg);
            input_transform(&g, x->data, seg, ns, t.V, P, sc);
            for (int xi = 0; xi < 16; xi++)
                gemm_u(&g, 0, xi, g.O, P, g.C, U, u16, t.V + xi * xi_stride(g.C, P),
                       t.M + xi * xi_stride(g.O, P), t.pack);
            for (int i = 0; i < ns; i++)
                output_transform(&g, t.M, P, &seg[i], b ? b->data : NULL,
                                 y->data + seg[i].n * ysz, sc);
        }
    }
}

void fke_winograd_backward(const fke_tensor *x, const fke_tensor *W, const fke_tensor *dy,
                           fke_tensor *dx, fke_tensor *dW, void *ws, int bf16)
{
    if (!dx && !dW) return;
    wgeom g = make_wgeom(x->shape[0], x->shape[1], x->shape[2], x->shape[3], W->shape[0], bf16);
    fke_real *U = ws;
    uint16_t *u16 = u16_part(&g, ws);
    if (dx) weight_transform(&g, W->data, U);
    if (dx && g.bf16) convert_u(&g, U, u16, 1);
    const size_t ysz = (size_t)g.O * g.H * g.W;
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
        scratch sc = scratch_part(&g, t.scratch);
        segment seg[CHUNK];
        for (int k = tid * g.G / nt; k < (tid + 1) * g.G / nt; k++) {
            int n0 = group_first(&g, k), nq = (group_first(&g, k + 1) - n0) * g.T1;
            for (int ck = 0; ck < chunks(nq); ck++) {
                int q0, q1;
                chunk_range(nq, ck, &q0, &q1);
                int P = q1 - q0, ns = segments(&g, n0, q0, q1, seg);
                for (int i = 0; i < ns; i++)
                    output_transform_adjoint(&g, dy->data + seg[i].n * ysz, &seg[i], t.M, P,
                                             sc);
                if (dW) { /* dU[xi] (O, C) += dM[xi] (O, P) V[xi]^T */
                    input_transform(&g, x->data, seg, ns, t.V, P, sc);
                    for (int xi = 0; xi < 16; xi++) {
                        if (g.bf16) { /* dM[xi] converted, V[xi] read transposed */
                            fke_bf16_from_float((const float *)(t.M + xi * xi_stride(g.O, P)), g.O,
                                                P, P, 0, t.dm);
                            fke_bf16_gemm(g.O, g.C, P, t.dm, fke_bf16_ld(P),
                                          (const float *)(t.V + xi * xi_stride(g.C, P)), P, 1,
                                          first ? 0.0f : 1.0f, (float *)(t.dU + xi * OC), g.C,
                                          t.pack);
                        } else
                            FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, g.O, g.C, P, 1,
                                     t.M + xi * xi_stride(g.O, P), P,
                                     t.V + xi * xi_stride(g.C, P), P, first ? 0 : 1,
                                     t.dU + xi * OC, g.C);
                    }
                    first = 0;
                }
                if (dx) { /* dV[xi] (C, P) = U[xi]^T dM[xi], into V's buffer */
                    for (int xi = 0; xi < 16; xi++)
                        gemm_u(&g, 1, xi, g.C, P, g.O, U, u16, t.M + xi * xi_stride(g.O, P),
                               t.V + xi * xi_stride(g.C, P), t.pack);
                    input_transform_adjoint(&g, t.V, P, seg, ns, dx->data, sc);
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
