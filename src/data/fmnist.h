/* fmnist.h - Fashion-MNIST's IDX files (gzip-compressed or plain) into an
 * fke_imageset: 1x28x28 uint8 images, labels 0..9, the ten class names.
 *
 *   fke_imageset s;
 *   if (fke_fmnist_read("/usr/share/datasets/fashion-mnist", 0, &s, &e)) ...
 *
 * Bad magic numbers, impossible sizes, truncated files and label files that
 * do not match the image file are errors naming the file and the problem. */
#ifndef FKE_FMNIST_H
#define FKE_FMNIST_H
#include "data/dataset.h"

#define FKE_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
extern const char *const fke_fmnist_classes[10];

/* Reads one IDX file of unsigned bytes. want_ndim is 1 (labels) or 3
 * (images); dims receives the sizes; *data is malloc'ed. */
fke_status fke_idx_read(const char *path, int want_ndim, int dims[3], uint8_t **data,
                        fke_err *e);
/* test = 0: train-images/labels (60k), 1: t10k (10k). */
fke_status fke_fmnist_read(const char *dir, int test, fke_imageset *s, fke_err *e);
/* The path of the image file fke_fmnist_read(dir, test) uses. */
void fke_fmnist_image_path(const char *dir, int test, char *out, size_t n);
#endif
