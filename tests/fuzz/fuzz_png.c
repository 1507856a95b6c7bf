/* fuzz_png.c - PNG pictures (data/png_io.c, data/image.c). */
#include "data/image.h"
#include "data/png_io.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file(data, n, "png");
    fke_err e = {""};
    int w, h;
    uint8_t *rgb = NULL;
    if (fke_png_read(p, &w, &h, &rgb, &e) == FKE_OK) free(rgb);
    fke_image im;
    if (fke_image_read(p, &im, &e) == FKE_OK) fke_image_free(&im);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    uint8_t rgb[12 * 10 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 37);
    char p[1024];
    snprintf(p, sizeof p, "%s/tmp.png", dir);
    fke_err e = {""};
    if (fke_png_write(p, 12, 10, rgb, &e) == FKE_OK) fuzz_seed_from(dir, "a.png", p);
}
