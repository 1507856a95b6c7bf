/* tiny.h - a tiny post dataset for the seeds of the HDF5 targets:
 * 3 posts, 2 garment slots, 8x8 images, 8x8 crops, one attribute. */
#ifndef FKE_FUZZ_TINY_H
#define FKE_FUZZ_TINY_H
#include "data/dataset.h"

static inline int fuzz_tiny_dataset(fke_dataset *d)
{
    static const char *occ[] = {"beach", "sport", "office"}, *cat[] = {"dress", "coat", "shoe"},
                      *an[] = {"colour"}, *vn[] = {"red", "blue"},
                      *voc[] = {"<pad>", "sun", "run", "#work"};
    fke_err e = {""};
    memset(d, 0, sizeof *d);
    d->N = 3, d->G = 2, d->A = 1, d->L = 5, d->img = 8, d->crop = 8, d->C = 3;
    d->n_occ = 3, d->n_cat = 3, d->n_val[0] = 2, d->V = 4;
    if (fke_dataset_alloc(d, &e) != FKE_OK) return 0;
    d->occ_names = fke_strings_dup(occ, 3);
    d->cat_names = fke_strings_dup(cat, 3);
    d->attr_names = fke_strings_dup(an, 1);
    d->val_names = calloc(2, sizeof *d->val_names);
    if (d->val_names) d->val_names[0] = fke_strings_dup(vn, 2);
    d->vocab = fke_strings_dup(voc, 4);
    for (int i = 0; i < d->N; i++) {
        d->n_garments[i] = 1 + i % 2;
        d->occ[i] = i % 3;
        d->clean[i] = i % 2;
        d->tokens[i * d->L] = 1 + i % 3;
        for (int g = 0; g < d->n_garments[i]; g++) {
            int32_t *b = d->boxes + ((size_t)i * d->G + g) * 4;
            b[0] = 0, b[1] = 0, b[2] = 4 + g, b[3] = 4 + i;
            d->cat[i * d->G + g] = (i + g) % 3;
            d->attr[(size_t)(i * d->G + g) * d->A] = g % 2;
        }
    }
    for (size_t k = 0; k < (size_t)d->N * 3 * 64; k++) d->images[k] = (uint8_t)(k * 31);
    return 1;
}
#endif
