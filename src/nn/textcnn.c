/* textcnn.c - see textcnn.h.
 *
 * Forward as one GEMM for all banks: with every bank's W_k repacked into
 * Wp (D, sum_k w_k Co), Wp[d, off_k + j Co + c] = W_k[c, d, j], the product
 * Z = x (N L, D) Wp holds each filter tap's dot product with each token,
 *   Z[n L + t, off_k + j Co + c] = sum_d W_k[c, d, j] x[n, t, d],
 * and the score at position t is b_k[c] + sum_j Z[n L + t + j, off_k + j Co + c]
 * (the taps summed in order j = 0..w-1 after the bias, as the direct loop
 * did; only the order within each dot product is BLAS's). The GEMM, the
 * shift-sum and the max over time run in chunks of whole sequences fixed by
 * the shape (fke_row_chunks), one single-threaded BLAS call per chunk, so
 * the result does not depend on the thread count.
 *
 * Backward: direct loops over the saved maxima (N Co sum_k w_k D
 * multiply-adds, a sixteenth of the forward at L = 16). Threads go over
 * independent outputs only ((bank, filter) for dW/db, n for dx), in one
 * parallel region each (a region per bank cost a wait per bank under load). */
#include "nn/textcnn.h"

#include "nn/tensor_ops.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>

#define TC_PAR_MIN (1L << 20) /* forward multiply-adds below which one thread does all */

static fke_status check(fke_err *e, const char *op, const fke_tensor *x, int nw,
                        const fke_tensor *W, int *Co)
{
    FKE_EXPECT(e, op, "x", x, -1, -1, -1);
    int L = x->shape[1], D = x->shape[2];
    if (nw < 1 || nw > FKE_TEXTCNN_MAXW || !W)
        return fke_fail(e, FKE_ERR_ARG, "%s: %d filter banks (1..%d allowed)", op, nw,
                        FKE_TEXTCNN_MAXW);
    for (int k = 0; k < nw; k++) {
        char name[16];
        snprintf(name, sizeof name, "W[%d]", k);
        FKE_EXPECT(e, op, name, &W[k], k ? *Co : -1, D, -1);
        if (k == 0) *Co = W[0].shape[0];
        if (W[k].shape[2] > L)
            return fke_fail(e, FKE_ERR_SHAPE,
                            "%s: caption length L=%d is shorter than the filter width %d "
                            "of bank %d (pad captions to at least %d tokens)",
                            op, L, W[k].shape[2], k, W[k].shape[2]);
    }
    return FKE_OK;
}

fke_status fke_textcnn_forward(fke_err *e, const fke_tensor *x, int nw, const fke_tensor *W,
                               const fke_tensor *b, fke_tensor *y, int32_t *arg, fke_arena *ws)
{
    const char *op = "textcnn";
    int Co = 0;
    FKE_TRY(check(e, op, x, nw, W, &Co));
    int N = x->shape[0], L = x->shape[1], D = x->shape[2], Y = nw * Co;
    if (!b) return fke_fail(e, FKE_ERR_ARG, "%s: b is a null array", op);
    for (int k = 0; k < nw; k++) {
        char name[16];
        snprintf(name, sizeof name, "b[%d]", k);
        FKE_EXPECT(e, op, name, &b[k], Co);
    }
    FKE_EXPECT(e, op, "y", y, N, Y);
    if (!arg) return fke_fail(e, FKE_ERR_ARG, "%s: arg is a null array", op);
    if (!ws) return fke_fail(e, FKE_ERR_ARG, "%s: the workspace arena is NULL", op);
    int off[FKE_TEXTCNN_MAXW + 1] = {0}; /* bank k's columns of Wp and Z: off[k].. off[k+1] */
    for (int k = 0; k < nw; k++) off[k + 1] = off[k] + W[k].shape[2] * Co;
    int Yt = off[nw];
    size_t mark = ws->used;
    size_t bytes = ((size_t)D * Yt + (size_t)N * L * Yt) * sizeof(fke_real);
    fke_err tmp;
    fke_real *Wp = fke_arena_alloc_raw(ws, &tmp, bytes); /* (D, Yt) */
    if (!Wp)
        return fke_fail(e, FKE_ERR_NOMEM, "%s: workspace of %zu bytes: %s", op, bytes, tmp.msg);
    fke_real *Z = Wp + (size_t)D * Yt; /* (N L, Yt) */
    for (int k = 0; k < nw; k++) {
        int w = W[k].shape[2];
        const fke_real *Wk = W[k].data; /* (Co, D, w) */
        for (int d = 0; d < D; d++)
            for (int j = 0; j < w; j++) {
                fke_real *dst = Wp + (size_t)d * Yt + off[k] + (size_t)j * Co;
                for (int c = 0; c < Co; c++) dst[c] = Wk[((size_t)c * D + d) * w + j];
            }
    }
    /* chunks of whole sequences, fixed by the shape: each thread multiplies
     * its rows of x and takes their maxima, one parallel region */
    int nc = (long)N * L * Yt * D < TC_PAR_MIN ? 1 : fke_row_chunks(N, (16 + L - 1) / L);
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int ch = 0; ch < nc; ch++) {
        int n0, n1;
        fke_chunk_rows(N, nc, ch, &n0, &n1);
        if (n1 <= n0) continue;
        FKE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (n1 - n0) * L, Yt, D, 1,
                 x->data + (size_t)n0 * L * D, D, Wp, Yt, 0, Z + (size_t)n0 * L * Yt, Yt);
        for (int n = n0; n < n1; n++)
            for (int k = 0; k < nw; k++) {
                int w = W[k].shape[2], P = L - w + 1;
                const fke_real *bk = b[k].data;
                fke_real *yb = y->data + (size_t)n * Y + (size_t)k * Co; /* the maximum so far */
                int32_t *ab = arg + (size_t)n * Y + (size_t)k * Co;      /* and its position */
                for (int t = 0; t < P; t++) {
                    /* the score is summed into tap 0's slot of row t, which no
                     * other position reads */
                    fke_real *sc = Z + ((size_t)n * L + t) * Yt + off[k]; /* (Co) */
                    for (int c = 0; c < Co; c++) sc[c] = bk[c] + sc[c];
                    for (int j = 1; j < w; j++) {
                        const fke_real *zj =
                            Z + ((size_t)n * L + t + j) * Yt + off[k] + (size_t)j * Co;
                        for (int c = 0; c < Co; c++) sc[c] += zj[c];
                    }
                    for (int c = 0; c < Co; c++)
                        if (t == 0 || sc[c] > yb[c]) { /* the first maximum wins */
                            yb[c] = sc[c];
                            ab[c] = t;
                        }
                }
                for (int c = 0; c < Co; c++)
                    yb[c] = yb[c] > 0 ? yb[c] : 0; /* max_t relu(a) = relu(max_t a) */
            }
    }
    ws->used = mark;
    return FKE_OK;
}

fke_status fke_textcnn_backward(fke_err *e, const fke_tensor *x, int nw, const fke_tensor *W,
                                const fke_tensor *y, const int32_t *arg,
                                const fke_tensor *dy, fke_tensor *dx, fke_tensor *dW,
                                fke_tensor *db)
{
    const char *op = "textcnn backward";
    int Co = 0;
    FKE_TRY(check(e, op, x, nw, W, &Co));
    int N = x->shape[0], L = x->shape[1], D = x->shape[2], Y = nw * Co;
    FKE_EXPECT(e, op, "y", y, N, Y);
    FKE_EXPECT(e, op, "dy", dy, N, Y);
    if (!arg) return fke_fail(e, FKE_ERR_ARG, "%s: arg is a null array", op);
    if (dx) FKE_EXPECT(e, op, "dx", dx, N, L, D);
    for (int k = 0; k < nw; k++) {
        char name[16];
        if (dW) {
            snprintf(name, sizeof name, "dW[%d]", k);
            FKE_EXPECT(e, op, name, &dW[k], Co, D, W[k].shape[2]);
        }
        if (db) {
            snprintf(name, sizeof name, "db[%d]", k);
            FKE_EXPECT(e, op, name, &db[k], Co);
        }
    }
    for (size_t i = 0; i < (size_t)N * Y; i++)
        if (arg[i] < 0 || arg[i] > L - W[(i % Y) / Co].shape[2])
            return fke_fail(e, FKE_ERR_ARG, "%s: saved position %d at output %zu is invalid "
                            "(arg not from the forward?)", op, (int)arg[i], i);
    /* the ReLU passes the gradient only where the maximum was positive */
#define GRAD(n, k, c) (y->data[(size_t)(n) * Y + (size_t)(k) * Co + (c)] > 0               \
                           ? dy->data[(size_t)(n) * Y + (size_t)(k) * Co + (c)]            \
                           : 0)
#define ARG(n, k, c) arg[(size_t)(n) * Y + (size_t)(k) * Co + (c)]
    /* one parallel region per gradient, the banks inside: each element gets
     * its terms in the order of the serial loops (bank, then filter, then n) */
    if (dW || db) {
#pragma omp parallel for schedule(static)
        for (int kc = 0; kc < nw * Co; kc++) {
            int k = kc / Co, c = kc % Co, w = W[k].shape[2];
            fke_real *dWc = dW ? dW[k].data + (size_t)c * D * w : NULL;
            for (int n = 0; n < N; n++) {
                fke_real gr = GRAD(n, k, c);
                if (gr == 0) continue;
                if (db) db[k].data[c] += gr;
                if (!dWc) continue;
                const fke_real *x0 = x->data + ((size_t)n * L + ARG(n, k, c)) * D;
                for (int j = 0; j < w; j++)
                    for (int d = 0; d < D; d++)
                        dWc[(size_t)d * w + j] += gr * x0[(size_t)j * D + d];
            }
        }
    }
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < nw; k++) {
                int w = W[k].shape[2];
                for (int c = 0; c < Co; c++) {
                    fke_real gr = GRAD(n, k, c);
                    if (gr == 0) continue;
                    const fke_real *Wc = W[k].data + (size_t)c * D * w;
                    fke_real *dx0 = dx->data + ((size_t)n * L + ARG(n, k, c)) * D;
                    for (int j = 0; j < w; j++)
                        for (int d = 0; d < D; d++)
                            dx0[(size_t)j * D + d] += gr * Wc[(size_t)d * w + j];
                }
            }
        }
    }
#undef GRAD
#undef ARG
    return FKE_OK;
}

fke_status fke_textcnn_add_params(fke_params *P, fke_err *e, int V, int D, int Co, int nw,
                                  int *emb, int *w, int *b)
{
    if (nw < 1 || nw > FKE_TEXTCNN_MAXW)
        return fke_fail(e, FKE_ERR_ARG, "textcnn: %d filter banks (1..%d)", nw, FKE_TEXTCNN_MAXW);
    if ((*emb = fke_params_add(P, e, "text.emb.weight", 1, 1, 1, 2, V, D)) < 0) return FKE_ERR_ARG;
    for (int k = 0; k < nw; k++) {
        char n[FKE_PARAM_NAME];
        snprintf(n, sizeof n, "text.convs.%d.weight", k);
        w[k] = fke_params_add(P, e, n, 1, 1, 1, 3, Co, D, k + 2);
        snprintf(n, sizeof n, "text.convs.%d.bias", k);
        b[k] = fke_params_add(P, e, n, 1, 1, 1, 1, Co);
        if (w[k] < 0 || b[k] < 0) return FKE_ERR_ARG;
    }
    return FKE_OK;
}

void fke_textcnn_init_params(fke_params *P, int emb, int nw, const int *w, const int *b,
                             fke_rng *r)
{
    fke_tensor t = fke_params_value(P, emb);
    for (size_t i = 0; i < fke_numel(&t); i++) t.data[i] = (fke_real)fke_rng_normal(r);
    int D = t.shape[1];
    for (int k = 0; k < nw; k++) {
        double bound = 1.0 / sqrt((double)D * (k + 2));
        fke_params_fill_uniform(P, w[k], bound, r);
        fke_params_fill_uniform(P, b[k], bound, r);
    }
}
