/* fuzz_jpeg.c - JPEG pictures (data/image.c, libjpeg-turbo). */
#include "data/image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fke_err e = {""};
    fke_image im;
    if (fke_image_decode_jpeg(data, n, "fuzz.jpg", &im, &e) == FKE_OK) fke_image_free(&im);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    uint8_t rgb[16 * 12 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 13);
    fke_image im = {16, 12, rgb};
    uint8_t *buf = NULL;
    size_t n = 0;
    fke_err e = {""};
    if (fke_image_encode_jpeg(&im, 80, &buf, &n, &e) == FKE_OK) fuzz_seed(dir, "a.jpg", buf, n);
    free(buf);
}
