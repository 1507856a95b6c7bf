/* test_winograd.c - Winograd F(2x2, 3x3) (nn/winograd.h) against im2col + GEMM
 * in the float build, at fke-small's 3x3 layers (100 crops: 32x32 32 -> 64,
 * 16x16 and 8x8 64 -> 128) and ResNet-18's (56x56 64 -> 64, 14x14 256 ->
 * 256, 7x7 512 -> 512), plus odd sides: y, dx and dW within a bound on the
 * normwise relative error (below), 1 and 2 threads within 1e-6 (y and dx the
 * same bits: the groups depend on the shapes only), a repeat at 2 threads bit
 * for bit, the arena's high-water mark within fke_conv2d_workspace_bytes,
 * the automatic choice, and the errors of a forced Winograd on other shapes.
 *
 * The bound: both are float computations of the same sums, so they differ by
 * the rounding of each. im2col rounds a dot product of K = 9C terms; Winograd
 * rounds the transforms (a few additions each, whose coefficients grow the
 * terms by at most 4x in V and 2.25x in U, and shrink back in A^T M A) and a
 * dot product of C terms per xi. Each is a few units of float's 6e-8
 * roundoff times the growth, relative to the largest |y|, and grows only like
 * the square root of C. For inputs uniform in [-1, 1] the measured difference
 * is 1-9e-7 of the largest |y|, |dx| or |dW| at C = 16 .. 512; 3e-6 leaves
 * room for other seeds, while a wrong transform entry gives 1e-1 or more. */
#include "nn/conv2d.h"
#include "nn/gemm_bf16.h"
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WINO_TOL 3e-6

static fke_tensor mk4(fke_arena *a, int d0, int d1, int d2, int d3)
{
    fke_tensor t;
    fke_err e;
    if (fke_arena_tensor(a, &e, &t, 4, d0, d1, d2, d3) != FKE_OK) {
        printf("test_winograd: %s\n", e.msg);
        exit(1);
    }
    return t;
}

static int same_bits(const fke_tensor *a, const fke_tensor *b)
{
    return memcmp(a->data, b->data, fke_numel(a) * sizeof(fke_real)) == 0;
}

/* forward and backward (dx, dW zeroed first) with the arena's high-water mark
 * checked against the dry-run size */
static void run(fke_arena *a, const fke_tensor *x, const fke_tensor *w, const fke_tensor *b,
                const fke_tensor *dy, fke_conv2d_opt o, fke_tensor *y, fke_tensor *dx,
                fke_tensor *dW)
{
    fke_err e;
    memset(dx->data, 0, fke_numel(dx) * sizeof(fke_real));
    memset(dW->data, 0, fke_numel(dW) * sizeof(fke_real));
    for (int back = 0; back < 2; back++) {
        size_t used = a->used, need = fke_conv2d_workspace_bytes(x, w, o, back);
        a->peak = used;
        fke_status st = back ? fke_conv2d_backward(&e, x, w, dy, o, dx, dW, NULL, a)
                             : fke_conv2d_forward(&e, x, w, b, o, y, a);
        FKE_CHECK(st == FKE_OK, "%s", e.msg);
        FKE_CHECK(a->used == used && a->peak - used <= need,
                  "%s: workspace %zu bytes, dry run said %zu", back ? "backward" : "forward",
                  a->peak - used, need);
    }
}

static void compare(fke_arena *a, fke_rng *r, int N, int C, int H, int W, int O)
{
    size_t mark = a->used;
    fke_tensor x = mk4(a, N, C, H, W), w = mk4(a, O, C, 3, 3), dy = mk4(a, N, O, H, W);
    fke_tensor b = fke_tensor_view(mk4(a, 1, 1, 1, O).data, 1, O);
    fke_test_fill(r, &x, -1, 1), fke_test_fill(r, &w, -1, 1);
    fke_test_fill(r, &b, -1, 1), fke_test_fill(r, &dy, -1, 1);
    fke_conv2d_opt oi = {.stride = 1, .pad = 1, .algo = FKE_CONV_IM2COL};
    fke_conv2d_opt ow = {.stride = 1, .pad = 1, .algo = FKE_CONV_WINOGRAD};
    fke_tensor yr = mk4(a, N, O, H, W), dxr = mk4(a, N, C, H, W), dWr = mk4(a, O, C, 3, 3);
    fke_test_set_threads(2);
    run(a, &x, &w, &b, &dy, oi, &yr, &dxr, &dWr);
    fke_tensor y[3], dx[3], dW[3];
    int threads[3] = {1, 2, 2};
    for (int t = 0; t < 3; t++) {
        y[t] = mk4(a, N, O, H, W), dx[t] = mk4(a, N, C, H, W), dW[t] = mk4(a, O, C, 3, 3);
        fke_test_set_threads(threads[t]);
        run(a, &x, &w, &b, &dy, ow, &y[t], &dx[t], &dW[t]);
    }
    fke_test_set_threads(2);
    double ey = fke_test_normerr(&y[1], &yr), ex = fke_test_normerr(&dx[1], &dxr);
    double ew = fke_test_normerr(&dW[1], &dWr);
    double t12 = fke_test_normerr(&dW[0], &dW[1]);
    printf("  %3d x %3d x %2dx%-2d -> %3d: Winograd vs im2col y %.1e dx %.1e dW %.1e; "
           "dW 1 vs 2 threads %.1e\n", N, C, H, W, O, ey, ex, ew, t12);
    FKE_CHECK(ey <= WINO_TOL && ex <= WINO_TOL && ew <= WINO_TOL,
              "%dx%dx%dx%d -> %d: Winograd differs from im2col", N, C, H, W, O);
    FKE_CHECK(t12 <= 1e-6, "dW at 1 vs 2 threads: %.2e", t12);
    FKE_CHECK(same_bits(&y[0], &y[1]) && same_bits(&dx[0], &dx[1]),
              "y or dx changed with the thread count (the groups must not)");
    FKE_CHECK(same_bits(&y[1], &y[2]) && same_bits(&dx[1], &dx[2]) && same_bits(&dW[1], &dW[2]),
              "a repeat at 2 threads is not bit for bit");
    a->used = mark;
}

/* bf16 operands in Winograd's GEMMs (nn/winograd.h) against fp32 Winograd
 * and bf16 im2col: the error of rounding the operands to bf16 (8 bits,
 * unit roundoff 2^-9 = 2e-3) dominates float's by 4 orders, so the bound
 * is on that. bf16 im2col rounds x and W, about 2e-3 normwise; Winograd
 * rounds V (entries up to 4x |x|) and U (2.25x |W|) in the forward, dM and
 * U in dx, dM and V in dW, and its output transform adds 9 products of
 * rounded terms, so a few times that. BF16_TOL = 1.5e-2 bounds both
 * against fp32; a wrong operand, a missing beta or an unconverted U gives
 * O(1) (see the README's issue 16 section). 1 and 2 threads as fp32: y and
 * dx the same bits, dW within 1e-6, a repeat bit for bit. */
#define BF16_TOL 1.5e-2

static void compare_bf16(fke_arena *a, fke_rng *r, int N, int C, int H, int W, int O)
{
    size_t mark = a->used;
    fke_tensor x = mk4(a, N, C, H, W), w = mk4(a, O, C, 3, 3), dy = mk4(a, N, O, H, W);
    fke_tensor b = fke_tensor_view(mk4(a, 1, 1, 1, O).data, 1, O);
    fke_test_fill(r, &x, -1, 1), fke_test_fill(r, &w, -1, 1);
    fke_test_fill(r, &b, -1, 1), fke_test_fill(r, &dy, -1, 1);
    fke_conv2d_opt ow = {.stride = 1, .pad = 1, .algo = FKE_CONV_WINOGRAD};
    fke_conv2d_opt oi16 = {.stride = 1, .pad = 1, .algo = FKE_CONV_IM2COL, .bf16 = 1};
    fke_conv2d_opt ow16 = {.stride = 1, .pad = 1, .bf16 = 1}; /* auto: Winograd */
    FKE_CHECK(fke_conv2d_uses_winograd(C, O, 3, 3, ow16), "bf16 auto did not take Winograd");
    fke_tensor yr = mk4(a, N, O, H, W), dxr = mk4(a, N, C, H, W), dWr = mk4(a, O, C, 3, 3);
    fke_tensor yi = mk4(a, N, O, H, W), dxi = mk4(a, N, C, H, W), dWi = mk4(a, O, C, 3, 3);
    fke_test_set_threads(2);
    run(a, &x, &w, &b, &dy, ow, &yr, &dxr, &dWr);
    run(a, &x, &w, &b, &dy, oi16, &yi, &dxi, &dWi);
    fke_tensor y[3], dx[3], dW[3];
    int threads[3] = {1, 2, 2};
    for (int t = 0; t < 3; t++) {
        y[t] = mk4(a, N, O, H, W), dx[t] = mk4(a, N, C, H, W), dW[t] = mk4(a, O, C, 3, 3);
        fke_test_set_threads(threads[t]);
        run(a, &x, &w, &b, &dy, ow16, &y[t], &dx[t], &dW[t]);
    }
    fke_test_set_threads(2);
    double ey = fke_test_normerr(&y[1], &yr), ex = fke_test_normerr(&dx[1], &dxr);
    double ew = fke_test_normerr(&dW[1], &dWr);
    double iy = fke_test_normerr(&yi, &yr), ix = fke_test_normerr(&dxi, &dxr);
    double iw = fke_test_normerr(&dWi, &dWr);
    double vy = fke_test_normerr(&y[1], &yi), vx = fke_test_normerr(&dx[1], &dxi);
    double vw = fke_test_normerr(&dW[1], &dWi);
    double t12 = fke_test_normerr(&dW[0], &dW[1]);
    printf("  %3d x %3d x %2dx%-2d -> %3d bf16: Winograd vs fp32 y %.1e dx %.1e dW %.1e; "
           "im2col vs fp32 %.1e %.1e %.1e; Winograd vs im2col %.1e %.1e %.1e; dW 1 vs 2 "
           "threads %.1e\n", N, C, H, W, O, ey, ex, ew, iy, ix, iw, vy, vx, vw, t12);
    FKE_CHECK(ey <= BF16_TOL && ex <= BF16_TOL && ew <= BF16_TOL,
              "%dx%dx%dx%d -> %d: bf16 Winograd vs fp32 y %.2e dx %.2e dW %.2e", N, C, H, W, O,
              ey, ex, ew);
    FKE_CHECK(vy <= BF16_TOL && vx <= BF16_TOL && vw <= BF16_TOL,
              "%dx%dx%dx%d -> %d: bf16 Winograd vs bf16 im2col y %.2e dx %.2e dW %.2e", N, C, H,
              W, O, vy, vx, vw);
    FKE_CHECK(t12 <= 1e-6, "bf16 dW at 1 vs 2 threads: %.2e", t12);
    FKE_CHECK(same_bits(&y[0], &y[1]) && same_bits(&dx[0], &dx[1]),
              "bf16: y or dx changed with the thread count");
    FKE_CHECK(same_bits(&y[1], &y[2]) && same_bits(&dx[1], &dx[2]) && same_bits(&dW[1], &dW[2]),
              "bf16: a repeat at 2 threads is not bit for bit");
    a->used = mark;
}

/* which layers auto takes to Winograd, and the errors of forcing it */
static void test_choice(fke_arena *a)
{
    fke_conv2d_opt o = {.stride = 1, .pad = 1};
    FKE_CHECK(fke_conv2d_uses_winograd(64, 128, 3, 3, o), "auto: 64 -> 128 3x3 not Winograd");
    FKE_CHECK(!fke_conv2d_uses_winograd(3, 32, 3, 3, o), "auto: the RGB layer took Winograd");
    FKE_CHECK(!fke_conv2d_uses_winograd(4, 64, 3, 3, o) &&
                  !fke_conv2d_uses_winograd(64, 4, 3, 3, o),
              "auto: Winograd below %d channels", FKE_CONV_WINOGRAD_MIN_C);
    o.stride = 2;
    FKE_CHECK(!fke_conv2d_uses_winograd(64, 64, 3, 3, o), "auto: stride 2 took Winograd");
    o.stride = 1, o.bf16 = 1; /* bf16 Winograd where the CPU has the kernel */
    FKE_CHECK(fke_conv2d_uses_winograd(64, 64, 3, 3, o) == fke_bf16_available(),
              "auto: bf16 Winograd %d, bf16 kernel %d", fke_conv2d_uses_winograd(64, 64, 3, 3, o),
              fke_bf16_available());
    o.bf16 = 0, o.algo = FKE_CONV_IM2COL;
    FKE_CHECK(!fke_conv2d_uses_winograd(64, 64, 3, 3, o), "im2col forced, Winograd taken");
    o.algo = FKE_CONV_WINOGRAD;
    FKE_CHECK(fke_conv2d_uses_winograd(3, 2, 3, 3, o), "Winograd forced, not taken");

    size_t mark = a->used;
    fke_err e;
    fke_tensor x = mk4(a, 1, 2, 6, 6), w = mk4(a, 2, 2, 3, 3), y3 = mk4(a, 1, 2, 3, 3);
    fke_tensor w5 = mk4(a, 2, 2, 5, 5), y = mk4(a, 1, 2, 6, 6);
    fke_conv2d_opt s2 = {.stride = 2, .pad = 1, .algo = FKE_CONV_WINOGRAD};
    FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, s2, &y3, a) == FKE_ERR_ARG &&
                  strstr(e.msg, "Winograd needs a 3x3 kernel, stride 1, pad 1"),
              "forced Winograd at stride 2: %s", e.msg);
    fke_conv2d_opt k5 = {.stride = 1, .pad = 2, .algo = FKE_CONV_WINOGRAD};
    FKE_CHECK(fke_conv2d_backward(&e, &x, &w5, &y, k5, NULL, NULL, NULL, a) == FKE_ERR_ARG &&
                  strstr(e.msg, "weight (2, 2, 5, 5)"),
              "forced Winograd with a 5x5 kernel: %s", e.msg);
    fke_conv2d_opt bad = {.stride = 1, .pad = 1, .algo = 7};
    FKE_CHECK(fke_conv2d_forward(&e, &x, &w, NULL, bad, &y, a) == FKE_ERR_ARG &&
                  strstr(e.msg, "algo 7"), "algo 7: %s", e.msg);
    a->used = mark;
}

int main(void)
{
    openblas_set_num_threads(1); /* OpenMP owns the cores */
    fke_arena a;
    fke_err e;
    if (fke_arena_init(&a, (size_t)320 << 20, &e) != FKE_OK) {
        printf("%s\n", e.msg);
        return 1;
    }
    fke_rng r;
    fke_rng_seed(&r, 16);
    test_choice(&a);
    compare(&a, &r, 100, 32, 32, 32, 64); /* fke-small, the crops */
    compare(&a, &r, 100, 64, 16, 16, 128);
    compare(&a, &r, 100, 64, 8, 8, 128);
    compare(&a, &r, 2, 64, 56, 56, 64);   /* ResNet-18 at 224 px */
    compare(&a, &r, 4, 256, 14, 14, 256);
    compare(&a, &r, 4, 512, 7, 7, 512);
    compare(&a, &r, 7, 24, 5, 9, 20);     /* odd sides, groups of 7 images */
    compare(&a, &r, 3, 16, 1, 3, 16);
    if (fke_bf16_available()) {
        compare_bf16(&a, &r, 100, 32, 16, 16, 64); /* fke-small's two Winograd layers */
        compare_bf16(&a, &r, 100, 64, 8, 8, 128);
        compare_bf16(&a, &r, 2, 256, 14, 14, 256); /* ResNet-18 */
        compare_bf16(&a, &r, 7, 24, 5, 9, 20);     /* odd sides, odd P */
    } else
        printf("  this CPU has no AVX512-BF16: bf16 Winograd not tested\n");
    fke_arena_free(&a);
    return fke_test_summary("test_winograd");
}
