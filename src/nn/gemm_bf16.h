/* gemm_bf16.h - single-precision GEMM with bfloat16 operands and float
 * accumulation, through AVX512-BF16's dot product of pairs (vdpbf16ps):
 *
 *   C (M, N) = A (M, K) B (K, N) + beta C        (beta 0 or 1)
 *
 * Operands are rounded to bf16 (round to nearest even, as
 * vcvtneps2bf16), products of pairs are summed in float. This is the
 * `precision bf16` path of the convolutions (conv2d.c); weights, gradients,
 * optimiser state and everything else stay float.
 *
 * Layouts (row-major, all strides in elements):
 *   A as bf16 rows along the reduction: A[i][k] at a[i * lda + k], lda even
 *     (fke_bf16_from_float converts a float matrix into that, padding each
 *     row to an even length with a zero);
 *   B from float, either (K, N) row-major (b_trans 0: B[k][n] at
 *     b[k * ldb + n]) or its transpose (b_trans 1: B[k][n] at b[n * ldb + k]);
 *   C float (M, N) with ldc.
 * B is converted and packed into `pack` (fke_bf16_pack_bytes(K, N) bytes,
 * 64-byte aligned), which the caller owns.
 *
 * Only on a CPU with avx512f, avx512bw, avx512vl and avx512bf16
 * (fke_bf16_available; FKE_CPU_NO_BF16=1 in the environment makes it say no,
 * for tests); the caller checks, the kernel does not. One thread
 * per call; the sums run in a fixed order, so results repeat bit for bit.
 * In the double build (fke-gradcheck) there is no bf16: available is 0. */
#ifndef FKE_GEMM_BF16_H
#define FKE_GEMM_BF16_H
#include <stddef.h>
#include <stdint.h>

int fke_bf16_available(void);

/* x (rows, cols) float with stride ldx -> y (rows, ld) bf16, ld = cols
 * rounded up to even, the pad column zero; trans 1 reads x transposed
 * (y[r][c] = x[c * ldx + r]). */
void fke_bf16_from_float(const float *x, int rows, int cols, int ldx, int trans, uint16_t *y);
/* The even row length fke_bf16_from_float writes. */
static inline int fke_bf16_ld(int cols) { return (cols + 1) & ~1; }

size_t fke_bf16_pack_bytes(int K, int N);
/* Columns of C a micro-kernel tile covers (N is run in tiles of this many;
 * the last one may be partial). */
enum { FKE_BF16_TILE_N = 32 };

void fke_bf16_gemm(int M, int N, int K, const uint16_t *a, int lda, const float *b, int ldb,
                   int b_trans, float beta, float *c, int ldc, void *pack);

/* One float rounded to bf16 and back (the reference of the tests). */
float fke_bf16_round(float x);
#endif
