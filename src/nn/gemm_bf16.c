/* gemm_bf16.c - see gemm_bf16.h.
 *
 * B is packed into panels of 16 columns: for each pair of reduction indices
 * (k, k+1) one 64-byte row of 16 32-bit words, word j = (B[k][j] in the low
 * half, B[k+1][j] in the high half), which is the operand vdpbf16ps wants.
 * A's rows are already pairs along k (bf16 rows of even length), so a pair
 * of A is one 32-bit broadcast. The micro-kernel keeps an 8 x 32 tile of C
 * in 16 zmm registers and runs the whole reduction over it: for the
 * convolution shapes (K <= 4608) a 32-column panel pair stays in L2. */
#include "nn/gemm_bf16.h"

#include <stdlib.h>
#include <string.h>

float fke_bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u; /* NaN stays NaN (quiet) */
    else u += 0x7fffu + ((u >> 16) & 1u);                   /* round to nearest even */
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

size_t fke_bf16_pack_bytes(int K, int N)
{
    size_t kp = (size_t)(K + 1) / 2, np = (size_t)(N + 15) / 16;
    return kp * np * 64 + 64;
}

#if defined(FKE_DOUBLE) || !defined(__x86_64__)
int fke_bf16_available(void) { return 0; }
void fke_bf16_from_float(const float *x, int rows, int cols, int ldx, int trans, uint16_t *y)
{
    (void)x, (void)rows, (void)cols, (void)ldx, (void)trans, (void)y;
}
void fke_bf16_gemm(int M, int N, int K, const uint16_t *a, int lda, const float *b, int ldb,
                   int b_trans, float beta, float *c, int ldc, void *pack)
{
    (void)M, (void)N, (void)K, (void)a, (void)lda, (void)b, (void)ldb, (void)b_trans, (void)beta,
        (void)c, (void)ldc, (void)pack;
}
#else
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int fke_bf16_available(void)
{
    const char *no = getenv("FKE_CPU_NO_BF16"); /* tests: a CPU without it */
    if (no && *no && strcmp(no, "0")) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

static uint16_t to_bf16(float x)
{
    float r = fke_bf16_round(x);
    uint32_t u;
    memcpy(&u, &r, 4);
    return (uint16_t)(u >> 16);
}

BF16_TARGET void fke_bf16_from_float(const float *x, int rows, int cols, int ldx, int trans,
                                     uint16_t *y)
{
    int ld = fke_bf16_ld(cols);
    for (int r = 0; r < rows; r++) {
        uint16_t *yr = y + (size_t)r * ld;
        if (trans) {
            for (int c = 0; c < cols; c++) yr[c] = to_bf16(x[(size_t)c * ldx + r]);
        } else {
            const float *xr = x + (size_t)r * ldx;
            for (int c = 0; c < cols; c += 16) {
                __mmask16 m = cols - c >= 16 ? 0xffff : (__mmask16)((1u << (cols - c)) - 1);
                __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, xr + c));
                _mm256_mask_storeu_epi16(yr + c, m, (__m256i)h);
            }
        }
        if (cols & 1) yr[cols] = 0;
    }
}

/* B (K, N) row-major -> panels */
BF16_TARGET static void pack_nn(int K, int N, const float *b, int ldb, uint32_t *pk)
{
    int kp = (K + 1) / 2;
    for (int jp = 0; jp * 16 < N; jp++) {
        int n0 = jp * 16, nc = N - n0 < 16 ? N - n0 : 16;
        __mmask16 m = nc == 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
        uint32_t *dst = pk + (size_t)jp * kp * 16;
        for (int p = 0; p < kp; p++) {
            __m512 r0 = _mm512_maskz_loadu_ps(m, b + (size_t)(2 * p) * ldb + n0);
            __m512 r1 = 2 * p + 1 < K ? _mm512_maskz_loadu_ps(m, b + (size_t)(2 * p + 1) * ldb + n0)
                                      : _mm512_setzero_ps();
            __m512i w0 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(r0));
            __m512i w1 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(r1));
            _mm512_store_si512(dst + (size_t)p * 16, _mm512_or_si512(w0, _mm512_slli_epi32(w1, 16)));
        }
    }
}

/* B given transposed (row n of b is column n of B, along k) -> panels */
BF16_TARGET static void pack_nt(int K, int N, const float *b, int ldb, uint32_t *pk)
{
    int kp = (K + 1) / 2, full = K / 2;
    for (int jp = 0; jp * 16 < N; jp++) {
        int n0 = jp * 16, nc = N - n0 < 16 ? N - n0 : 16;
        __mmask8 mlo = nc >= 8 ? 0xff : (__mmask8)((1u << nc) - 1);
        __mmask8 mhi = nc <= 8 ? 0 : nc == 16 ? 0xff : (__mmask8)((1u << (nc - 8)) - 1);
        long long l = ldb;
        __m512i ilo = _mm512_setr_epi64(0, l, 2 * l, 3 * l, 4 * l, 5 * l, 6 * l, 7 * l);
        __m512i ihi = _mm512_add_epi64(ilo, _mm512_set1_epi64(8 * l));
        const float *rows = b + (size_t)n0 * ldb;
        uint32_t *dst = pk + (size_t)jp * kp * 16;
        for (int p = 0; p < full; p++) { /* two floats (k, k+1) of each row as one double */
            const double *base = (const double *)(const void *)(rows + 2 * p);
            __m512d lo = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), mlo, ilo, base, 4);
            __m512d hi = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), mhi, ihi, base, 4);
            __m512bh h = _mm512_cvtne2ps_pbh(_mm512_castpd_ps(hi), _mm512_castpd_ps(lo));
            _mm512_store_si512(dst + (size_t)p * 16, (__m512i)h);
        }
        if (K & 1) { /* the last k alone: its pair's high half is zero */
            for (int j = 0; j < 16; j++)
                dst[(size_t)full * 16 + j] = j < nc ? to_bf16(rows[(size_t)j * ldb + K - 1]) : 0;
        }
    }
}

/* The full 8 x 32 tile, written out so that the 16 accumulators stay in
 * registers (-O2 does not unroll the loops of the general kernel below). */
BF16_TARGET static void kernel_8x32(int kp, const uint16_t *a, int lda, const uint32_t *p0,
                                    const uint32_t *p1, float beta, float *c, int ldc)
{
    const uint32_t *a0 = (const uint32_t *)(const void *)a;
    size_t l = (size_t)lda / 2; /* a row in 32-bit pairs */
#define ACC(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
    ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5); ACC(6); ACC(7);
#undef ACC
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(p0 + (size_t)p * 16);
        __m512bh b1 = (__m512bh)_mm512_load_si512(p1 + (size_t)p * 16);
#define ROW(r)                                                                   \
    {                                                                            \
        __m512bh av = (__m512bh)_mm512_set1_epi32((int)a0[(r) * l + p]);         \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                             \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                             \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
    }
#define OUT(r)                                                                   \
    {                                                                            \
        float *cr = c + (size_t)(r) * ldc;                                       \
        if (beta != 0) {                                                         \
            c##r##0 = _mm512_add_ps(c##r##0, _mm512_loadu_ps(cr));               \
            c##r##1 = _mm512_add_ps(c##r##1, _mm512_loadu_ps(cr + 16));          \
        }                                                                        \
        _mm512_storeu_ps(cr, c##r##0);                                           \
        _mm512_storeu_ps(cr + 16, c##r##1);                                      \
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
#undef OUT
}

/* Any tile (mr <= 8 rows, np <= 2 panels of 16 columns, masked columns): the
 * edges. */
BF16_TARGET static void kernel(int mr, int np, int kp, const uint16_t *a, int lda,
                               const uint32_t *p0, const uint32_t *p1, __mmask16 m0,
                               __mmask16 m1, float beta, float *c, int ldc)
{
    for (int r = 0; r < mr; r++) {
        const uint32_t *ar = (const uint32_t *)(const void *)(a + (size_t)r * lda);
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        for (int p = 0; p < kp; p++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)ar[p]);
            s0 = _mm512_dpbf16_ps(s0, av, (__m512bh)_mm512_load_si512(p0 + (size_t)p * 16));
            if (np > 1)
                s1 = _mm512_dpbf16_ps(s1, av, (__m512bh)_mm512_load_si512(p1 + (size_t)p * 16));
        }
        float *cr = c + (size_t)r * ldc;
        if (beta != 0) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(m0, cr));
        _mm512_mask_storeu_ps(cr, m0, s0);
        if (np > 1) {
            if (beta != 0) s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(m1, cr + 16));
            _mm512_mask_storeu_ps(cr + 16, m1, s1);
        }
    }
}

BF16_TARGET void fke_bf16_gemm(int M, int N, int K, const uint16_t *a, int lda, const float *b,
                               int ldb, int b_trans, float beta, float *c, int ldc, void *pack)
{
    if (M <= 0 || N <= 0) return;
    uint32_t *pk = pack;
    int kp = (K + 1) / 2, npan = (N + 15) / 16;
    if (K <= 0) kp = 0;
    else if (b_trans) pack_nt(K, N, b, ldb, pk);
    else pack_nn(K, N, b, ldb, pk);
    for (int jp = 0; jp < npan; jp += 2) {
        int np = npan - jp >= 2 ? 2 : 1;
        int n0 = jp * 16, nc0 = N - n0 < 16 ? N - n0 : 16;
        int nc1 = np > 1 ? (N - n0 - 16 < 16 ? N - n0 - 16 : 16) : 0;
        __mmask16 m0 = nc0 == 16 ? 0xffff : (__mmask16)((1u << nc0) - 1);
        __mmask16 m1 = nc1 == 16 ? 0xffff : (__mmask16)((1u << nc1) - 1);
        const uint32_t *p0 = pk + (size_t)jp * kp * 16, *p1 = p0 + (size_t)kp * 16;
        int i = 0;
        if (np == 2 && nc1 == 16)
            for (; i + 8 <= M; i += 8)
                kernel_8x32(kp, a + (size_t)i * lda, lda, p0, p1, beta, c + (size_t)i * ldc + n0,
                            ldc);
        for (; i < M; i += 8) {
            int mr = M - i < 8 ? M - i : 8;
            kernel(mr, np, kp, a + (size_t)i * lda, lda, p0, p1, m0, m1, beta,
                   c + (size_t)i * ldc + n0, ldc);
        }
    }
}
#endif
