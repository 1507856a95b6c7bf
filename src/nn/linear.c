/* linear.c - see linear.h. */
#include "nn/linear.h"

#include "nn/tensor_ops.h"

/* Every GEMM is split over its output rows in chunks fixed by the shape and
 * the thread count, the same at 1 and 2 threads (fke_gemm_rows), and db over
 * its columns: each output element is summed by one thread in the order of
 * the serial loop, so the results are the same at 1 and 2 threads and a run
 * repeats bit for bit. */

static fke_status check(fke_err *e, const char *op, const fke_tensor *x,
                        const fke_tensor *W, const fke_tensor *y)
{
    FKE_EXPECT(e, op, "W", W, -1, -1);
    FKE_EXPECT(e, op, "x", x, -1, W->shape[1]);
    FKE_EXPECT(e, op, "y", y, x->shape[0], W->shape[0]);
    return FKE_OK;
}

fke_status fke_linear_forward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                              const fke_tensor *b, fke_tensor *y)
{
    FKE_TRY(check(e, "linear", x, W, y));
    int N = x->shape[0], in = x->shape[1], out = W->shape[0];
    if (b) FKE_EXPECT(e, "linear", "b", b, out);
    fke_gemm_rows(0, 1, N, out, in, 1, x->data, in, W->data, in, b ? 1 : 0, y->data, out,
                  b ? b->data : NULL, NULL);
    return FKE_OK;
}

fke_status fke_linear_backward(fke_err *e, const fke_tensor *x, const fke_tensor *W,
                               const fke_tensor *dy, fke_tensor *dx, fke_tensor *dW,
                               fke_tensor *db)
{
    FKE_TRY(check(e, "linear backward", x, W, dy));
    int N = x->shape[0], in = x->shape[1], out = W->shape[0];
    if (dx) {
        FKE_EXPECT(e, "linear backward", "dx", dx, N, in);
        fke_gemm_rows(0, 0, N, in, out, 1, dy->data, out, W->data, in, 1, dx->data, in, NULL, NULL);
    }
    if (dW) {
        FKE_EXPECT(e, "linear backward", "dW", dW, out, in);
        fke_gemm_rows(1, 0, out, in, N, 1, dy->data, out, x->data, in, 1, dW->data, in, NULL, NULL);
    }
    if (db) {
        FKE_EXPECT(e, "linear backward", "db", db, out);
        /* each db[o] summed over n in order, a row of 64 columns at a time
         * (contiguous, so it vectorises; a column at a time strode over dy) */
        fke_real *d = db->data;
        const fke_real *g = dy->data;
#pragma omp parallel for schedule(static) if ((long)N * out > 65536)
        for (int o0 = 0; o0 < out; o0 += 64) {
            int o1 = o0 + 64 < out ? o0 + 64 : out;
            for (int n = 0; n < N; n++)
                for (int o = o0; o < o1; o++) d[o] += g[(size_t)n * out + o];
        }
    }
    return FKE_OK;
}
