/* fuzz_imageset.c - image classification sets in HDF5 (data/dataset.c), as
 * file images in memory. */
/* HDF5 leaks on its own error paths (tests/fuzz/lsan.supp), so libFuzzer's
 * leak scan after each such input would cost more than the input: leaks are
 * checked once, at exit (still failing the run on any of fke's). */
/* libfuzzer: -detect_leaks=0 */
#include "data/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fke_imageset s;
    fke_err e = {""};
    if (fke_imageset_load_image(&s, "fuzz.h5", data, n, &e) == FKE_OK) fke_imageset_free(&s);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    static const char *names[] = {"a", "b", "c"};
    uint8_t img[4 * 8 * 8];
    int32_t lab[4] = {0, 1, 2, 1}, tru[4] = {0, 1, 2, 2};
    float T[9] = {1, 0, 0, 0, 1, 0, 0, 0.5f, 0.5f};
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 5);
    fke_imageset s;
    memset(&s, 0, sizeof s);
    s.N = 4, s.C = 1, s.H = 8, s.W = 8, s.n_cls = 3;
    s.images = img, s.labels = lab, s.labels_true = tru, s.T_true = T;
    s.class_names = (char **)names;
    snprintf(s.noise, sizeof s.noise, "symmetric 0.2");
    char p[1024];
    snprintf(p, sizeof p, "%s/tmp.h5", dir);
    fke_err e = {""};
    if (fke_imageset_save(&s, p, &e) == FKE_OK) fuzz_seed_from(dir, "set.h5", p);
}
