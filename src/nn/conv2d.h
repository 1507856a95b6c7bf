/* conv2d.h - 2-D convolution over NCHW tensors (PyTorch's nn.Conv2d), computed
 * as im2col + one GEMM per group of images, with OpenMP over the groups, or,
 * for 3x3 stride 1 pad 1 layers, by Winograd's F(2x2, 3x3)
 * (nn/winograd.h: 16 GEMMs per group of tiles, 2.25x fewer multiplies).
 *
 * The algorithm (o.algo): FKE_CONV_AUTO (0) takes Winograd for a 3x3 kernel,
 * stride 1, pad 1 and at least FKE_CONV_WINOGRAD_MIN_C input
 * and FKE_CONV_WINOGRAD_MIN_O output channels (conv2d.c says what was
 * measured), im2col otherwise; FKE_CONV_IM2COL and FKE_CONV_WINOGRAD force
 * one (Winograd on any other shape is an error). With o.bf16 both run their
 * GEMMs with bf16 operands (nn/gemm_bf16.h), Winograd's transforms in float. The choice
 * depends on the shapes only. Winograd rounds differently (about 1e-6
 * relative in float, tests/test_winograd.c), so the two agree to rounding,
 * not bit for bit.
 *
 * Groups: the images of a group are laid side by side in one column matrix
 * (K = C*kh*kw rows, m*Ho*Wo columns), so a small output (8x8, 7x7) gives
 * each GEMM up to about 256 columns and W is packed once per group; the
 * result is scattered into y's images, and backward gathers dy the same way.
 * The plan: the fewest images that reach 256 columns, but no more than keep
 * the column matrix under 2M elements (unless one image alone is larger),
 * make a group's most; the batch takes as many groups as that needs, and
 * its images are split evenly over them, so a group can fall short of 256
 * columns (37 images of 8x8: groups of 3 and 4; 5 of them: 2 and 3).
 * Outputs of 256 positions or more go one image a group, a plain per-image
 * im2col, and so do bf16 outputs that fill whole tiles of the kernel (a
 * multiple of 32 positions; conv2d.c says why). The groups depend on the
 * shapes only, so y and dx have the same bits at any thread count, and a
 * run repeats bit for bit.
 *
 * Layouts: x (N, C, H, W), weight (O, C, kh, kw) exactly as PyTorch stores it,
 * bias (O) or NULL, y (N, O, Ho, Wo) with
 *   Ho = (H + 2*pad - kh) / stride + 1,   Wo likewise (fke_conv2d_out_size).
 * Stride and zero padding are the same along both axes.
 *
 * Threads: OpenMP owns the cores. Each thread runs whole groups and calls
 * BLAS on its own, so OpenBLAS must run one thread per call
 * (openblas_set_num_threads(1) or OPENBLAS_NUM_THREADS=1 in the program),
 * otherwise the two thread pools fight for the cores.
 *
 * Workspace: the im2col buffers and a group's output or gathered dy (one of
 * each per thread) and, in backward, the per-thread partial weight gradients
 * (and the bf16 copies), or Winograd's transformed weights and tiles (and
 * per-thread dU), come from the caller's arena `ws`: they
 * are taken from its top and given back before the call returns (ws->used is
 * restored, ws->peak keeps the high-water mark, so a dry run sizes the arena).
 * fke_conv2d_workspace_bytes says how much a call needs. A 1x1, stride 1,
 * pad 0 convolution of one image a group needs no im2col (the image already
 * is the column matrix); in groups its im2col is a copy.
 *
 *   fke_conv2d_opt o = {.stride = 1, .pad = 1};
 *   fke_conv2d_forward(e, &x, &W, &b, o, &y, &arena);
 *   fke_conv2d_backward(e, &x, &W, &dy, o, &dx, &dW, &db, &arena);
 *
 * Backward adds (+=) into dx, dW and db; any of them may be NULL. The sum over
 * images in dW is made in a fixed order for a fixed thread count (each
 * thread's groups in order, then the threads' partial sums in order), so a
 * run repeats bit for bit. */
#ifndef FKE_CONV2D_H
#define FKE_CONV2D_H
#include "core/fke.h"

enum { FKE_CONV_AUTO = 0, FKE_CONV_IM2COL, FKE_CONV_WINOGRAD };
enum { FKE_CONV_WINOGRAD_MIN_C = 8, FKE_CONV_WINOGRAD_MIN_O = 8 };

typedef struct {
    int stride; /* >= 1, both axes */
    int pad;    /* >= 0 zeros on every side */
    int bf16;   /* 1: the GEMMs take bf16 operands with float sums (nn/gemm_bf16.h;
                   `precision bf16`); an error on a CPU without AVX512-BF16 */
    int algo;   /* FKE_CONV_AUTO (0), FKE_CONV_IM2COL or FKE_CONV_WINOGRAD */
} fke_conv2d_opt;

/* 1 when a convolution of C into O channels with a kh x kw kernel and these
 * options runs as Winograd F(2x2, 3x3), 0 when as im2col + GEMM. */
int fke_conv2d_uses_winograd(int C, int O, int kh, int kw, fke_conv2d_opt o);

/* Output length along one axis (may be <= 0 when the kernel does not fit). */
int fke_conv2d_out_size(int in, int k, int stride, int pad);

/* Bytes of arena the forward (backward = 0) or the backward (backward = 1)
 * takes for these shapes at the current OpenMP thread count. */
size_t fke_conv2d_workspace_bytes(const fke_tensor *x, const fke_tensor *W,
                                  fke_conv2d_opt o, int backward);

/* x (N, C, H, W), W (O, C, kh, kw), b (O) or NULL; y (N, O, Ho, Wo) overwritten */
fke_status fke_conv2d_forward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                              const fke_tensor *b, fke_conv2d_opt o, fke_tensor *y,
                              fke_arena *ws);

/* dy (N, O, Ho, Wo); dx (N, C, H, W) += d/dx, dW (O, C, kh, kw) += d/dW,
 * db (O) += sum of dy over n, Ho, Wo. */
fke_status fke_conv2d_backward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                               const fke_tensor *dy, fke_conv2d_opt o, fke_tensor *dx,
                               fke_tensor *dW, fke_tensor *db, fke_arena *ws);
#endif
