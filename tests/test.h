/* test.h - the one assertion helper of fke's C tests. FKE_CHECK counts a
 * pass or a failure (printing the failed condition and where); a test's
 * main ends with `return fke_test_summary("name");`, which prints
 * "RESULT <passed> <failed>" for tests/run.sh and returns non-zero on any
 * failure. A test that works in a folder of its own ends with
 * fke_test_finish (fixtures.h) instead, which also removes the folder. */
#ifndef FKE_TEST_H
#define FKE_TEST_H
#include <stdio.h>

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

static inline int fke_test_summary(const char *name)
{
    printf("%s: %d passed, %d failed\nRESULT %d %d\n", name, fke_test_pass_,
           fke_test_fail_, fke_test_pass_, fke_test_fail_);
    return fke_test_fail_ ? 1 : 0;
}
#endif
