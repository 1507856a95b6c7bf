/* synth.h - FashionKE-synth: posts composed from real Fashion-MNIST
 * garments, with occasions, attributes, captions, person attributes and
 * machine labels drawn from known transition matrices. The rules are in
 * datasets/README.md ("FashionKE-synth").
 *
 *   fke_synth_opts o; fke_synth_defaults(&o, 0);     (0 train, 1 test)
 *   fke_imageset g;  fke_fmnist_read(dir, o.split, &g, &e);
 *   fke_dataset d;   fke_synth_generate(&o, &g, src_path, &d, &e);
 *
 * The training split must be given Fashion-MNIST's training images and the
 * test split its test images (the caller decides; fke data synth does). The
 * same options and seed give the same dataset, byte for byte. */
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

typedef struct {
    int split;          /* 0 train, 1 test (all clean) */
    int posts;          /* number of posts */
    double noise_ratio; /* share of training posts whose garment labels are machine-made */
    double flip_rate;   /* mean off-diagonal mass of a row of the true transition matrices */
    double missing;     /* probability that a training label (occasion, category, attribute) is missing */
    uint64_t seed;
} fke_synth_opts;

void fke_synth_defaults(fke_synth_opts *o, int split);
/* Fills T (10*10 + 8*8 + 4*4 + 3*3 + 3*3 floats: category then attributes,
 * rows = true label) for flip rate f. */
void fke_synth_transitions(double f, float *T);
size_t fke_synth_T_size(void);
fke_status fke_synth_generate(const fke_synth_opts *o, const fke_imageset *garments,
                              const char *src_file, fke_dataset *d, fke_err *e);
#endif
