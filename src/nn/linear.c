/* linear.c - see linear.h. */
#include "nn/linear.h"

#include <cblas.h>
#include <string.h>

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
    if (b) {
        FKE_EXPECT(e, "linear", "b", b, out);
        for (int n = 0; n < N; n++) memcpy(y->data + (size_t)n * out, b->data, out * sizeof(fke_real));
    }
    FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1, x->data, in, W->data,
             in, b ? 1 : 0, y->data, out);
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
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1, dy->data, out,
                 W->data, in, 1, dx->data, in);
    }
    if (dW) {
        FKE_EXPECT(e, "linear backward", "dW", dW, out, in);
        FKE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1, dy->data, out,
                 x->data, in, 1, dW->data, in);
    }
    if (db) {
        FKE_EXPECT(e, "linear backward", "db", db, out);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) db->data[o] += dy->data[(size_t)n * out + o];
    }
    return FKE_OK;
}
