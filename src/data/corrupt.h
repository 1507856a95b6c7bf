/* corrupt.h - known label noise on an image set, for benchmarks of
 * noise-robust training (the label-noise literature's protocol): the labels
 * of a clean set are redrawn from a row-stochastic transition matrix T,
 * T[i][j] = P(noisy label j | true label i), and the result keeps the true
 * labels and T itself (fke_imageset labels_true, T_true, noise).
 *
 *   symmetric  with probability R the label becomes one of the other n - 1
 *              classes, uniformly: T = (1 - R) I + R / (n - 1) (1 - I)
 *   pairflip   with probability R class i becomes (i + 1) mod n (Han et al.
 *              2018, "Co-teaching"): T = (1 - R) I + R P
 *
 * R must leave the true class the most likely label of its row (otherwise
 * no method can tell the classes apart): symmetric R < (n - 1) / n,
 * pairflip R < 1/2.
 *
 *   fke_imageset noisy;
 *   if (fke_corrupt_labels(&clean, FKE_NOISE_SYMMETRIC, 0.5, seed, 0, &noisy, &e)) ...
 *
 * Each image draws its label from row labels_true[i] of T with one uniform
 * number of an fke_rng seeded by seed, in image order: the same seed gives
 * the same labels. */
#ifndef FKE_CORRUPT_H
#define FKE_CORRUPT_H
#include "data/dataset.h"
#include "data/tmatrix.h"

typedef enum { FKE_NOISE_SYMMETRIC, FKE_NOISE_PAIRFLIP, FKE_NOISE_KINDS } fke_noise_kind;
extern const char *const fke_noise_kind_names[FKE_NOISE_KINDS]; /* "symmetric", "pairflip" */

/* Kind by name; -1 when unknown. */
int fke_noise_kind_parse(const char *name);
/* T (n, n) of a kind and rate; checks n >= 2 and the rate's range. */
fke_status fke_corrupt_matrix(fke_noise_kind kind, double rate, int n, float *T, fke_err *e);
/* out = the first `limit` images of in (limit <= 0: all) with labels drawn
 * through T; in must be clean (no labels_true). out is allocated; free it
 * with fke_imageset_free. */
fke_status fke_corrupt_labels(const fke_imageset *in, fke_noise_kind kind, double rate,
                                  uint64_t seed, long limit, fke_imageset *out, fke_err *e);
/* Empirical transition matrix of a corrupted set: out (n, n) row-normalised
 * counts of (labels_true, labels); returns the share of changed labels, or
 * -1 when s has no true labels. */
double fke_corrupt_empirical(const fke_imageset *s, float *out);
/* The set's T_true as a one-task fke_tmatrices (for fke_tmatrix_save, the
 * t_init file of task classify). */
fke_status fke_corrupt_tmatrix(const fke_imageset *s, fke_tmatrices *tm, fke_err *e);
#endif
