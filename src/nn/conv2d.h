/* conv2d.h - 2-D convolution over NCHW tensors (PyTorch's nn.Conv2d), computed
 * per image as im2col + one GEMM, with OpenMP over the images of the batch.
 *
 * Layouts: x (N, C, H, W), weight (O, C, kh, kw) exactly as PyTorch stores it,
 * bias (O) or NULL, y (N, O, Ho, Wo) with
 *   Ho = (H + 2*pad - kh) / stride + 1,   Wo likewise (fke_conv2d_out_size).
 * Stride and zero padding are the same along both axes.
 *
 * Threads: OpenMP owns the cores. Each thread runs whole images and calls
 * BLAS on its own, so OpenBLAS must run one thread per call
 * (openblas_set_num_threads(1) or OPENBLAS_NUM_THREADS=1 in the program),
 * otherwise the two thread pools fight for the cores.
 *
 * Workspace: the im2col buffers (one per thread) and, in backward, the
 * per-thread partial weight gradients come from the caller's arena `ws`: they
 * are taken from its top and given back before the call returns (ws->used is
 * restored, ws->peak keeps the high-water mark, so a dry run sizes the arena).
 * fke_conv2d_workspace_bytes says how much a call needs. A 1x1, stride 1,
 * pad 0 convolution needs no im2col (the image already is the column matrix).
 *
 *   fke_conv2d_opt o = {.stride = 1, .pad = 1};
 *   fke_conv2d_forward(e, &x, &W, &b, o, &y, &arena);
 *   fke_conv2d_backward(e, &x, &W, &dy, o, &dx, &dW, &db, &arena);
 *
 * Backward adds (+=) into dx, dW and db; any of them may be NULL. The sum over
 * images in dW is made in a fixed order for a fixed thread count, so a run
 * repeats bit for bit. */
#ifndef FKE_CONV2D_H
#define FKE_CONV2D_H
#include "core/fke.h"

typedef struct {
    int stride; /* >= 1, both axes */
    int pad;    /* >= 0 zeros on every side */
    int bf16;   /* 1: the GEMMs take bf16 operands with float sums (nn/gemm_bf16.h;
                   `precision bf16`); an error on a CPU without AVX512-BF16 */
} fke_conv2d_opt;

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
