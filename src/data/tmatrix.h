/* tmatrix.h - label-transition matrices as data: one row-stochastic n x n
 * matrix per noisy task (category, then each attribute), T[i][j] =
 * P(machine label j | true label i). Read from and written to JSON:
 *
 *   {"format": "fke-transition", "tasks": [
 *      {"name": "category", "T": [[...], ...]},
 *      {"name": "<attribute name>", "T": [[...], ...]}, ...]}
 *
 * which is what `fke train` reads as its initial T (config key t_init) and
 * what `fke noise estimate` writes. */
#ifndef FKE_TMATRIX_H
#define FKE_TMATRIX_H
#include "core/config.h"
#include "data/dataset.h"

typedef struct {
    int ntask;
    int n[1 + FKE_MAX_ATTR];
    float *T[1 + FKE_MAX_ATTR]; /* (n, n) each, malloc'ed */
} fke_tmatrices;

/* Loads and checks against the config: the task count, each side, entries
 * >= 0 and rows summing to 1 (within 1e-3). */
fke_status fke_tmatrix_load(fke_tmatrices *tm, const char *path, const fke_config *c, fke_err *e);
/* names may be NULL (then "task<t>"). */
fke_status fke_tmatrix_save(const fke_tmatrices *tm, const char *path, char *const *names,
                            fke_err *e);
/* Smoothed confusion counts of garments with both a true and a machine label:
 * T[i][j] = (count_ij + alpha / n) / (count_i + alpha);
 * rows without any garment are the identity. *used = garments counted. */
fke_status fke_tmatrix_from_overlap(fke_tmatrices *tm, const fke_dataset *d, double alpha,
                                    long *used, fke_err *e);
void fke_tmatrix_free(fke_tmatrices *tm);
#endif
