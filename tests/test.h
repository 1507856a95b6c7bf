/* test.h - the one assertion helper of fke's C tests. FKE_CHECK counts a
 * pass or a failure (printing the failed condition and where); a test's
 * main ends with `return fke_test_summary("name");`, which prints
 * "RESULT <passed> <failed>" for tests/run.sh and returns non-zero on any
 * failure. A test that works in a folder of its own ends with
 * fke_test_finish (fixtures.h) instead, which also removes the folder. */
#ifndef FKE_TEST_H
#define FKE_TEST_H
#include "core/fke.h"

#include <math.h>
#include <stdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int fke_test_pass_, fke_test_fail_;

#define FKE_CHECK(cond, ...)                                                   \
    do {                                                                       \
        if (cond) {                                                            \
            fke_test_pass_++;                                                  \
        } else {                                                               \
            fke_test_fail_++;                                                  \
            printf("  FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

/* every element of t uniform in [lo, hi), drawn from r */
static inline void fke_test_fill(fke_rng *r, fke_tensor *t, double lo, double hi)
{
    for (size_t i = 0; i < fke_numel(t); i++)
        t->data[i] = (fke_real)(lo + (hi - lo) * fke_rng_uniform(r));
}

/* max |a - b| / max(max |b|, 1) over a's elements (b has as many); a NaN
 * difference counts as the worst */
static inline double fke_test_normerr(const fke_tensor *a, const fke_tensor *b)
{
    double d = 0, m = 1;
    for (size_t i = 0; i < fke_numel(a); i++) {
        double x = fabs((double)a->data[i] - b->data[i]);
        if (!(x <= d)) d = x;
        if (fabs(b->data[i]) > m) m = fabs(b->data[i]);
    }
    return d / m;
}

/* OpenMP's thread count for what follows (nothing without OpenMP) */
static inline void fke_test_set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

static inline int fke_test_summary(const char *name)
{
    printf("%s: %d passed, %d failed\nRESULT %d %d\n", name, fke_test_pass_,
           fke_test_fail_, fke_test_pass_, fke_test_fail_);
    return fke_test_fail_ ? 1 : 0;
}
#endif
