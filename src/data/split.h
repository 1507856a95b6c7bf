/* split.h - a validation split held out from a training set, by one written
 * rule (configs/README.md, val_split):
 *
 *   - the pool: the clean posts (labels checked by people) when the set has
 *     both clean and machine-labelled posts, else every post; an image set's
 *     pool is every image;
 *   - k = round(fraction x pool size), at least 1, and at most pool - 1 (a
 *     pool of one holds nothing out);
 *   - the held-out posts are the first k of a permutation of the pool drawn
 *     from the fixed seed FKE_SPLIT_SEED (not the run's seed: runs of every
 *     seed select on the same posts), kept in file order.
 *
 * The set is split in place: d keeps the other posts (in file order) and
 * val receives copies of the held-out ones, both complete datasets (names,
 * vocabulary, T_true and extra arrays copied; per-post extra arrays cut).
 * *held receives k (0: nothing held out, val untouched). */
#ifndef FKE_SPLIT_H
#define FKE_SPLIT_H
#include "data/dataset.h"

#define FKE_SPLIT_SEED 20190701u

fke_status fke_dataset_holdout(fke_dataset *d, double fraction, fke_dataset *val, int *held,
                               fke_err *e);
fke_status fke_imageset_holdout(fke_imageset *s, double fraction, fke_imageset *val, int *held,
                                fke_err *e);
#endif
