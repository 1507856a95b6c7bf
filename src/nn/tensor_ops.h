/* tensor_ops.h - the glue of a network: residual add, concatenation of 2-D
 * tensors along dim 1, and a column slice of a 2-D tensor, each with its
 * backward (which adds (+=) into the gradients given; NULL ones are skipped).
 *
 *   fke_add_forward(e, &a, &b, &y);                 y = a + b (any shape, equal)
 *   fke_add_backward(e, &dy, &da, &db);             da += dy, db += dy
 *
 *   const fke_tensor *parts[] = {&h_fwd, &h_bwd, &f_img};
 *   fke_concat_forward(e, 3, parts, &s);            (N, a), (N, b), (N, c) -> (N, a+b+c)
 *   fke_tensor *dparts[] = {&dh_fwd, NULL, &df_img};
 *   fke_concat_backward(e, &ds, 3, parts, dparts);  dparts[i] += its columns of ds
 *
 *   fke_slice_forward(e, &x, from, to, &y);         y (N, to-from) = x[:, from:to]
 *   fke_slice_backward(e, &dy, from, &dx);          dx[:, from:from+cols(dy)] += dy
 *
 * Work split over threads by rows, deterministically: fke_row_chunks cuts
 * `rows` rows into chunks that depend only on rows and min_rows, never on the
 * thread count, so every output element is computed by one thread, by the
 * same instructions, at any thread count (OpenMP hands the chunks out with a
 * static schedule). fke_gemm_rows is a row-major GEMM run that way:
 *
 *   C (M, N) = alpha op(A) (M, K) op(B) (K, N) + beta C
 *
 * split over M; each chunk is one single-threaded BLAS call (OpenBLAS runs
 * 1 thread per call, fke_set_threads), so its result is bit for bit the same
 * at 1, 2 or any number of threads. */
#ifndef FKE_TENSOR_OPS_H
#define FKE_TENSOR_OPS_H
#include "core/fke.h"

/* a, b, y: any shape, equal; y may be a or b */
fke_status fke_add_forward(fke_err *e, const fke_tensor *a, const fke_tensor *b,
                           fke_tensor *y);
/* dy, da, db: the same shape; da or db may be NULL */
fke_status fke_add_backward(fke_err *e, const fke_tensor *dy, fke_tensor *da, fke_tensor *db);

/* xs[i] (N, D_i), i < n; y (N, sum D_i) */
fke_status fke_concat_forward(fke_err *e, int n, const fke_tensor *const *xs, fke_tensor *y);
/* dy (N, sum D_i); xs the forward's inputs (only their shapes are read);
 * dxs[i] (N, D_i), or NULL where that gradient is not needed */
fke_status fke_concat_backward(fke_err *e, const fke_tensor *dy, int n,
                               const fke_tensor *const *xs, fke_tensor *const *dxs);

/* x (N, D); 0 <= from < to <= D; y (N, to - from) */
fke_status fke_slice_forward(fke_err *e, const fke_tensor *x, int from, int to, fke_tensor *y);
/* dy (N, k); dx (N, D) with from + k <= D */
fke_status fke_slice_backward(fke_err *e, const fke_tensor *dy, int from, fke_tensor *dx);

/* The number of chunks of `rows` rows with at least min_rows each (at most
 * FKE_MAX_CHUNKS, even when more than 1 so that 2 threads split evenly). */
#define FKE_MAX_CHUNKS 8
int fke_row_chunks(int rows, int min_rows);
/* fke_row_chunks, but no more chunks than threads (omp_get_max_threads),
 * counting 1 thread (and a build without OpenMP) as 2: for a split over BLAS
 * calls, each of which packs the operand the chunks share once more
 * (measured at 1 thread, Cooperlake kernels: a 500x512x128 GEMM in 8 calls
 * 0.38 ms, in 2 calls 0.32 ms, in 1 call 0.29 ms). OpenBLAS rounds each split
 * of the rows differently, so the results are the same bit for bit at 1 and 2
 * threads and repeat bit for bit at any fixed thread count; at 3 or more they
 * differ from those at 2 by rounding only. */
int fke_thread_chunks(int rows, int min_rows);
/* Rows [*r0, *r1) of chunk c of n (fke_row_chunks) over `rows`. */
void fke_chunk_rows(int rows, int n, int c, int *r0, int *r1);
/* Row-major C = alpha op(A) op(B) + beta C, op(A) (M, K), op(B) (K, N),
 * ta/tb: 1 to transpose; split over M in fke_thread_chunks(M, 16) chunks when
 * M N K is large enough to pay for the threads. b1, b2: NULL, or (N) biases:
 * with b1 every row of C is first set to b1 (+ b2 when given) by the chunk's
 * thread, and beta then applies to that (a bias layer passes beta = 1). */
void fke_gemm_rows(int ta, int tb, int M, int N, int K, fke_real alpha, const fke_real *A,
                   int lda, const fke_real *B, int ldb, fke_real beta, fke_real *C, int ldc,
                   const fke_real *b1, const fke_real *b2);
#endif
