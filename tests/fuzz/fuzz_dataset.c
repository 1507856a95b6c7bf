/* fuzz_dataset.c - post datasets in HDF5 (data/dataset.c, core/h5.c), raw and
 * JPEG-stored pixels, as file images in memory: load (every check), then
 * every post's pixels. */
/* HDF5 leaks on its own error paths (tests/fuzz/lsan.supp), so libFuzzer's
 * leak scan after each such input would cost more than the input: leaks are
 * checked once, at exit (still failing the run on any of fke's). */
/* libfuzzer: -detect_leaks=0 */
#include "fuzz.h"
#include "tiny.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fke_dataset d;
    fke_err e = {""};
    if (fke_dataset_load_image(&d, "fuzz.h5", data, n, &e) != FKE_OK) return 0;
    int side = d.img > d.crop ? d.img : d.crop;
    uint8_t *px = malloc((size_t)3 * side * side);
    for (long i = 0; px && i < d.N && i < 8; i++)
        for (int s = 0; s <= d.G && s < 4; s++) fke_dataset_pixels(&d, i, s, px, &e);
    free(px);
    fke_dataset_free(&d);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    fke_dataset d;
    fke_err e = {""};
    char p[1024];
    snprintf(p, sizeof p, "%s/tmp.h5", dir);
    if (!fuzz_tiny_dataset(&d)) return;
    if (fke_dataset_save(&d, p, &e) == FKE_OK) fuzz_seed_from(dir, "raw.h5", p);
    if (fke_dataset_set_store(&d, 90, &e) == FKE_OK && fke_dataset_save(&d, p, &e) == FKE_OK)
        fuzz_seed_from(dir, "jpeg.h5", p);
    fke_dataset_free(&d);
}
