/* vmath.h - the sigmoid and tanh of whole arrays, vectorised, for the
 * recurrent cells (lstm.c, gru.c), where libm's scalar tanhf (through
 * expm1f) and expf took 4-8% of a fke-small training step.
 *
 * In the float build both are a polynomial exp (Cephes expf's, range
 * reduction by ln 2 in two parts) evaluated in plain IEEE float operations
 * that the compiler vectorises, one copy per ISA (AVX-512, AVX2, SSE2),
 * chosen at load time by the CPU (GCC target_clones). The build has no FMA
 * contraction (-std=c11), so every copy gives the same bits, and an element's
 * value never depends on its neighbours, the array length or the thread.
 *
 * Measured against double-precision libm over [-20, 20] and tiny |x|
 * (tests/test_par.c checks these bounds):
 *   sigmoid  relative error <= 2e-7
 *   tanh     absolute error <= 1.2e-7, relative error <= 4e-7
 *            (an odd Taylor polynomial for |x| < 0.3, 1 - 2 / (e^2|x| + 1)
 *            above, so there is no cancellation near 0)
 * Inputs are clamped to exp's range: sigmoid(+inf) = 1, sigmoid(-inf) is
 * below 1e-38, tanh(+-inf) = +-1; NaN stays NaN.
 *
 * In the double build (FKE_DOUBLE, used by fke gradcheck) both are libm's
 * exp and tanh, element by element.
 *
 *   fke_vsigmoid(y, x, n);   y[i] = 1 / (1 + exp(-x[i])),  y may be x
 *   fke_vtanh(y, x, n);      y[i] = tanh(x[i]),            y may be x */
#ifndef FKE_VMATH_H
#define FKE_VMATH_H
#include "core/fke.h"

void fke_vsigmoid(fke_real *y, const fke_real *x, int n);
void fke_vtanh(fke_real *y, const fke_real *x, int n);
#endif
