/* test_fmnist.h - the start of a C test that works in a folder of its own
 * on Fashion-MNIST's training images, and the small FashionKE-synth sets
 * such tests make from them:
 *
 *     if (!fke_test_start("name", &tr)) return fke_test_finish("name");
 *     ok = fke_test_synth(&tr, 0, 250, 0.7, 32, fke_test_path("small.h5"), NULL);
 *
 * fke_test_start makes the test's folder (fixtures.h), reads the images
 * (each step one check) and returns 0 when the test cannot go on. */
#ifndef FKE_TEST_FMNIST_H
#define FKE_TEST_FMNIST_H
#include <stdio.h>
#include <string.h>

#include "data/fmnist.h"
#include "data/synth.h"
#include "fixtures.h"
#include "test.h"

static inline int fke_test_start(const char *name, fke_imageset *tr)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ok = fke_test_tmpdir(name) != NULL;
    FKE_CHECK(ok, "cannot make a folder for test %s", name);
    if (!ok) return 0;
    fke_err e = {{0}};
    ok = fke_fmnist_read(FKE_FMNIST_DIR, 0, tr, &e) == FKE_OK;
    FKE_CHECK(ok, "Fashion-MNIST: %s", e.msg);
    return ok;
}

/* Generates a FashionKE-synth set from o on the images fm and saves it at
 * path (one check). Keeps the dataset in *keep when keep is not NULL (the
 * caller frees it). Returns 1 when it worked. */
static inline int fke_test_synth_opts(const fke_synth_opts *o, const fke_imageset *fm,
                                      const char *path, fke_dataset *keep)
{
    fke_dataset d;
    memset(&d, 0, sizeof d);
    fke_err e = {{0}};
    fke_status st = fke_synth_generate(o, fm, "fashion-mnist", &d, NULL, &e);
    if (st == FKE_OK) st = fke_dataset_save(&d, path, &e);
    FKE_CHECK(st == FKE_OK, "synth %s: %s", path, e.msg);
    if (keep && st == FKE_OK) *keep = d;
    else fke_dataset_free(&d);
    return st == FKE_OK;
}

/* The same with the defaults of split (0 train, 1 test) but for the number
 * of posts, the noise ratio and the seed. */
static inline int fke_test_synth(const fke_imageset *fm, int split, int posts, double noise,
                                 uint64_t seed, const char *path, fke_dataset *keep)
{
    fke_synth_opts o;
    fke_synth_defaults(&o, split);
    o.posts = posts;
    o.noise_ratio = noise;
    o.seed = seed;
    return fke_test_synth_opts(&o, fm, path, keep);
}
#endif
