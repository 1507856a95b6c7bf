/* test_fmnist.h - the start of a C test that works in a folder of its own
 * on Fashion-MNIST's training images:
 *
 *     if (!fke_test_start(DIR, &tr)) return fke_test_summary("name");
 *
 * empties DIR, reads the images (each step one check) and returns 0 when the
 * test cannot go on. */
#ifndef FKE_TEST_FMNIST_H
#define FKE_TEST_FMNIST_H
#include <stdio.h>
#include <stdlib.h>

#include "data/fmnist.h"
#include "test.h"

static inline int fke_test_start(const char *dir, fke_imageset *tr)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    int ok = system(cmd) == 0;
    FKE_CHECK(ok, "cannot make an empty folder %s", dir);
    if (!ok) return 0;
    fke_err e = {{0}};
    ok = fke_fmnist_read(FKE_FMNIST_DIR, 0, tr, &e) == FKE_OK;
    FKE_CHECK(ok, "Fashion-MNIST: %s", e.msg);
    return ok;
}
#endif
