/* fuzz_idx.c - IDX files, plain or gzip'ed (data/fmnist.c). */
#include <zlib.h>

#include "data/fmnist.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file(data, n, "idx");
    fke_err e = {""};
    int dims[3];
    uint8_t *v = NULL;
    if (fke_idx_read(p, 3, dims, &v, &e) == FKE_OK) free(v);
    v = NULL;
    if (fke_idx_read(p, 1, dims, &v, &e) == FKE_OK) free(v);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    unsigned char img[16 + 2 * 28 * 28] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
    for (int i = 16; i < (int)sizeof img; i++) img[i] = (unsigned char)(i * 7);
    unsigned char lab[10] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 9};
    fuzz_seed(dir, "images.idx", img, sizeof img);
    fuzz_seed(dir, "labels.idx", lab, sizeof lab);
    char p[1024];
    snprintf(p, sizeof p, "%s/images.idx.gz", dir);
    gzFile g = gzopen(p, "wb");
    if (g) gzwrite(g, img, sizeof img), gzclose(g);
}
