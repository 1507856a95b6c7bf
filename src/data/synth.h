/* synth.h - FashionKE-synth: posts composed from real Fashion-MNIST
 * garments, with occasions, attributes, captions, person attributes and
 * machine labels drawn from known transition matrices. The rules are in
 * datasets/README.md ("FashionKE-synth").
 *
 *   fke_synth_opts o; fke_synth_defaults(&o, 0);     (0 train, 1 test)
 *   fke_imageset g;  fke_fmnist_read(dir, o.split, &g, &e);
 *   fke_dataset d;   fke_synth_generate(&o, &g, src_path, &d, &e);
 *
 * The training and validation splits must be given Fashion-MNIST's training
 * images and the test split its test images (the caller decides; fke data
 * synth does). The validation split draws only from training images
 * FKE_SYNTH_VAL_FROM.. (the last 10,000), which version 3's training split
 * never uses. The same options and seed give the same dataset, byte for
 * byte.
 *
 * Version 3 (o.version = 3; datasets/README.md, "FashionKE-synth version 3")
 * has FashionKE's label space: its 10 occasions, categories named
 * <super>__<name>, its 8 attribute heads with applicability by
 * category (an attribute that does not apply is -1), and dependencies
 * between attributes, category, season and the other garments. Its posts
 * are painted at FKE_SYNTH3_PIC px and resized to 64 / 32 by image.h's rule,
 * as an import of a release tree would; with pics non-NULL
 * fke_synth_generate also keeps each post's picture as a JPEG, for
 * fke_synth_release_write (synth_release.h). */
#ifndef FKE_SYNTH_H
#define FKE_SYNTH_H
#include "data/dataset.h"

#define FKE_SYNTH_IMG 64
#define FKE_SYNTH_CROP 32
#define FKE_SYNTH_G 5
#define FKE_SYNTH_L 16
#define FKE_SYNTH_V 2000
#define FKE_SYNTH_OCC 10
#define FKE_SYNTH_A 4
#define FKE_SYNTH_VAL_FROM 50000 /* the validation split's first training image */
#define FKE_SYNTH3_A 8
#define FKE_SYNTH3_PIC 256      /* side of a version-3 post's picture */

enum { FKE_SYNTH_TRAIN, FKE_SYNTH_TEST, FKE_SYNTH_VAL };

typedef struct {
    int version;        /* 2 (default) or 3 */
    int split;          /* FKE_SYNTH_TRAIN, _TEST (all clean) or _VAL (all clean by default) */
    int posts;          /* number of posts */
    double noise_ratio; /* share of training posts whose garment labels are machine-made */
    double flip_rate;   /* mean off-diagonal mass of a row of the true transition matrices */
    double missing;     /* probability that a training label (occasion, category, attribute) is missing */
    uint64_t seed;
} fke_synth_opts;

/* Each post's picture (version 3) as a JPEG stream: jpeg[i] of n[i] bytes,
 * FKE_SYNTH3_PIC x FKE_SYNTH3_PIC. */
typedef struct {
    int N, side, quality;
    uint8_t **jpeg;
    size_t *n;
} fke_synth_pictures;
void fke_synth_pictures_free(fke_synth_pictures *p);

void fke_synth_defaults(fke_synth_opts *o, int split);
/* Fills T (10*10 + 8*8 + 4*4 + 3*3 + 3*3 floats: category then attributes,
 * rows = true label) for flip rate f. */
void fke_synth_transitions(double f, float *T);
size_t fke_synth_T_size(void);
/* pics may be NULL (version 2: must be NULL). */
fke_status fke_synth_generate(const fke_synth_opts *o, const fke_imageset *garments,
                              const char *src_file, fke_dataset *d, fke_synth_pictures *pics,
                              fke_err *e);
/* Version 3's applicability: 1 when attribute k applies to category c. */
int fke_synth3_applies(int c, int k);

/* ---- shared by synth.c and synth_v3.c ---------------------------------- */
/* index drawn with probability w[i] / sum(w) */
int fke_synth_draw(fke_rng *r, const double *w, int n);
/* row i of T (n, n): f * mult[i] (at most 0.9) off the diagonal, 0.8 of it to
 * primary[i], the rest in proportion to w[i][j] */
void fke_synth_fill_T(float *T, int n, const int *primary, const double *mult, const double *w,
                      double f);
/* index drawn with probability w[i] / sum(w), w float (n <= 16) */
int fke_synth_draw_f(fke_rng *r, const float *w, int n);
/* opts[0..2]: the preferred one with probability 0.85, each other 0.075 */
int fke_synth_pick3(fke_rng *r, const int *opts, int pref);
/* The vocabulary's tail from word n on: the common words, then made-up
 * three-syllable words up to FKE_SYNTH_V. Returns v, or NULL (v freed) when
 * a string could not be allocated. */
char **fke_synth_vocab_finish(char **v, int n);
/* The caption's tail: words t[0..k) drawn, then filler words up to len (a
 * word that occasion occ's posts favour, 20 per occasion from w_fill on,
 * with probability 0.15, else Zipf-like over the rest), shuffled, into tok
 * (FKE_SYNTH_L, 0-padded). */
void fke_synth_caption_finish(fke_rng *r, int occ, int n_occ, int w_fill, int32_t *t, int k,
                              int len, int32_t *tok);
/* The clean posts: exactly round((1 - ratio) N) of them in the training
 * split, a random subset; every post in the others. */
fke_status fke_synth_choose_clean(fke_dataset *d, const fke_synth_opts *o, fke_rng *r, fke_err *e);
/* d's source file and its generator string "fke-synth version=... seed=..." */
void fke_synth_describe(fke_dataset *d, const fke_synth_opts *o, const char *src_file);
/* After a failure: d (and pics, may be NULL) freed, e's message kept. */
void fke_synth_discard(fke_dataset *d, fke_synth_pictures *pics, fke_err *e);
/* Fashion-MNIST's images of each class among images lo..hi-1, in file order */
typedef struct {
    int *idx[10]; /* (n[c]) */
    int n[10];
} fke_synth_index;
fke_status fke_synth_index_build(const fke_imageset *gar, int lo, int hi, fke_synth_index *ci,
                                 fke_err *e);
void fke_synth_index_free(fke_synth_index *ci);
fke_status fke_synth3_generate(const fke_synth_opts *o, const fke_imageset *gar,
                               const char *src_file, fke_dataset *d, fke_synth_pictures *pics,
                               fke_err *e);
#endif
