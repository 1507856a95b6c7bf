/* vmath.c - see vmath.h. Compiled with -fno-trapping-math (Makefile): it
 * changes no result, only lets GCC turn the clamps and selects below into
 * vector blends (with trapping math it keeps them as branches and the loops
 * stay scalar). */
#include "nn/vmath.h"

#include <math.h>

#ifdef FKE_DOUBLE
void fke_vsigmoid(fke_real *y, const fke_real *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = 1 / (1 + exp(-x[i]));
}

void fke_vtanh(fke_real *y, const fke_real *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = tanh(x[i]);
}
#else
#include <stdint.h>
#include <string.h>

/* exp(x), x clamped to [-87.3, 88.4] (the normal floats' range); NaN goes
 * through the arithmetic as 0 (no float-to-int conversion of NaN, which C
 * leaves undefined) and comes out as NaN */
static inline float vexp(float x)
{
    const float x0 = x;
    x = x == x ? x : 0;
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.37626f ? 88.37626f : x;
    float t = x * 1.44269504088896341f;
    float k = (t + 12582912.0f) - 12582912.0f; /* round(t): 1.5 * 2^23 */
    float r = x - k * 0.693359375f;            /* ln 2 = 0.693359375 - 2.12194440e-4 */
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    float e = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)k + 127) << 23; /* 2^k, -126 <= k <= 127 */
    float s;
    memcpy(&s, &bits, sizeof s);
    return x0 == x0 ? e * s : x0;
}

static inline float vtanh1(float x)
{
    float ax = fabsf(x), x2 = x * x;
    float big = 1.0f - 2.0f / (vexp(2 * ax) + 1.0f);
    float p = -1382.0f / 155925.0f; /* tanh's series to x^11 */
    p = p * x2 + 62.0f / 2835.0f;
    p = p * x2 + -17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 + -1.0f / 3.0f;
    float small = ax + ax * x2 * p;
    float r = ax < 0.3f ? small : big;
    r = x != x ? x : r; /* NaN */
    return x < 0 ? -r : r;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

CLONES void fke_vsigmoid(fke_real *y, const fke_real *x, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++) y[i] = 1.0f / (1.0f + vexp(-x[i]));
}

CLONES void fke_vtanh(fke_real *y, const fke_real *x, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++) y[i] = vtanh1(x[i]);
}
#endif
