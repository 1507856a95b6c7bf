/* winograd.h - 3x3, stride 1, pad 1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016): the kernel behind fke_conv2d for those layers
 * (conv2d.h says when it is chosen). It does 16 multiplies per 2x2 output
 * tile and (in, out) channel pair where im2col + GEMM does 36.
 *
 * The math: the output is cut in 2x2 tiles (the last row or column of tiles
 * overhangs an odd side; what falls outside is dropped), each reading a 4x4
 * input tile (rows 2i-1 .. 2i+2, columns 2j-1 .. 2j+2, zero outside the
 * image: the pad), so neighbouring input tiles overlap by 2. With
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * and xi = 0..15 the position in a 4x4 transformed tile:
 *   forward   U[xi] = (G g G^T)[xi]      (O, C)  per (o, c) kernel g (3x3)
 *             V[xi] = (B^T d B)[xi]      (C, P)  per input tile d (4x4)
 *             M[xi] = U[xi] V[xi]        (O, P)  16 GEMMs
 *             y tile = A^T M A (2x2), + bias
 *   backward  dM = A dy A^T              (16, O, P) per 2x2 tile of dy
 *             dU[xi] += dM[xi] V[xi]^T   (O, C)  16 GEMMs, V recomputed
 *             dW += G^T dU G             once per call, after the tiles
 *             dV[xi] = U[xi]^T dM[xi]    (C, P)  16 GEMMs
 *             dx += B dV B^T, the 4x4 input tiles added where they overlap
 * Both backward transforms are the adjoints (transposes) of the forward's.
 *
 * Layout and plan: P tiles of a chunk lie side by side, so each xi's GEMM
 * reads one contiguous (C, P) matrix and writes one (O, P): V is (16, C, P),
 * M and dM (16, O, P) (their 16 matrices one cache line more than C x P or
 * O x P apart, winograd.c says why), U and dU (16, O, C). Images go in groups, as in
 * conv2d.c: the fewest whole images that reach CHUNK tiles (winograd.c), the
 * groups fixed by the shapes alone and run by OpenMP threads; inside a group
 * the tiles go in equal chunks of at most CHUNK. A group owns whole images,
 * so dx's overlapping adds never race and are made in one fixed order, and
 * y and dx have the same bits at any thread count. dU is summed per thread
 * and the threads' sums added in thread order, then turned into dW: a run at
 * a fixed thread count repeats bit for bit, and 1 and 2 threads agree to
 * rounding. Each thread calls single-threaded BLAS (FKE_GEMM), or with bf16
 * (`precision bf16`, the caller checks fke_bf16_available) fke's
 * AVX512-BF16 kernel (nn/gemm_bf16.h): forward U[xi] converted once per call
 * as A and V[xi] as B, dV U[xi]^T converted once per call and dM[xi], dU
 * dM[xi] converted per chunk and V[xi] read transposed; the transforms and
 * dU's sums stay float, and the thread-count guarantees hold the same.
 *
 * How to call it: through fke_conv2d_forward / fke_conv2d_backward, which
 * check the shapes, take fke_winograd_workspace_bytes from the arena's top
 * and pass it as ws (64-byte aligned). x (N, C, H, W), W (O, C, 3, 3),
 * b (O) or NULL, y and dy (N, O, H, W). Backward adds (+=) into dx (N, C, H,
 * W) and dW (O, C, 3, 3); either may be NULL. */
#ifndef FKE_WINOGRAD_H
#define FKE_WINOGRAD_H
#include "core/fke.h"

/* Bytes of workspace a forward (backward = 0) or backward (1) of N images of
 * C x H x W into O channels takes at the current OpenMP thread count, with
 * fp32 (bf16 = 0) or bf16 (1) operands in the GEMMs. */
size_t fke_winograd_workspace_bytes(int N, int C, int H, int W, int O, int backward, int bf16);

/* y (N, O, H, W) = x * W + b, overwritten */
void fke_winograd_forward(const fke_tensor *x, const fke_tensor *W, const fke_tensor *b,
                          fke_tensor *y, void *ws, int bf16);

/* dx += d/dx, dW += d/dW of y = x * W for the gradient dy (NULL: not wanted) */
void fke_winograd_backward(const fke_tensor *x, const fke_tensor *W, const fke_tensor *dy,
                           fke_tensor *dx, fke_tensor *dW, void *ws, int bf16);
#endif
