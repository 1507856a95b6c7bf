/* noise_estimate.h - estimating the label-transition matrices of the noisy tasks
 * (category, then every attribute; docs/model.md "Weak labels"),
 * `fke noise estimate`:
 *
 *   overlap  from garments that carry both a clean (true) and a machine label:
 *            smoothed confusion counts, rows normalised (fke_tmatrix_from_overlap);
 *   anchors  from a model trained on the machine labels alone (Patrini et al.
 *            2017, "Making deep neural networks robust to label noise: a loss
 *            correction approach"): for each class i of a task, the garment
 *            x_i whose p(i | x) sits at the quantile q of p(i | .) over every
 *            machine-labelled garment stands for true class i, and row i of T
 *            is p(. | x_i). q = 1 is the plain argmax; q = 0.97 (the default)
 *            is the paper's robust variant, which ignores the top 3% where
 *            a model that has fitted the noise is over-confident.
 *
 * An image set (task classify, e.g. a corrupted Fashion-MNIST from `fke
 * data corrupt`) has one matrix over its classes; only the anchor estimate
 * applies (its images carry one label each), from a classify checkpoint
 * trained with plain CE on the noisy labels, over every image of the set;
 * the error is against the set's T_true.
 *
 * The result is an fke_tmatrices, written with fke_tmatrix_save: the file
 * `fke train` reads as its initial T (config key t_init).
 *
 *   fke_noise_opts o; fke_noise_defaults(&o);
 *   o.data = "train.h5"; o.model = NULL; o.out = "T.json";
 *   fke_noise_report r;
 *   if (fke_noise_estimate(&o, &r, &e) != FKE_OK) ... e.msg names the file
 *   ... r.mae[t] against T_true when r.has_true ...
 *   fke_noise_report_free(&r);
 *
 * The pieces are public for tests and experiments: the per-garment softmax
 * of a model over a dataset (also used by `fke query`), the anchor-point
 * estimate from those probabilities, and the error against T_true. */
#ifndef FKE_NOISE_ESTIMATE_H
#define FKE_NOISE_ESTIMATE_H
#include "data/dataset.h"
#include "model/model.h"
#include "data/tmatrix.h"

#define FKE_NOISE_ALPHA 1.0     /* default smoothing of the overlap counts */
#define FKE_NOISE_QUANTILE 0.97 /* default anchor quantile */

/* ---- machine labels -------------------------------------------------------- */
/* Machine label of task t (0 category, 1 + k attribute k) of garment slot g of
 * post i: the machine field where it is set, else the training label of a
 * machine-labelled post (clean == 0); -1 when there is none. */
int fke_noise_machine_label(const fke_dataset *d, long i, int g, int t);
/* Valid garments with a machine label on at least one task. */
long fke_noise_machine_garments(const fke_dataset *d);

/* ---- a model's predicted distributions, per garment ----------------------- */
typedef struct {
    int N, G, ntask;
    int n[1 + FKE_MAX_ATTR];   /* classes per task (category, then attributes) */
    int off[1 + FKE_MAX_ATTR]; /* offset of task t's block in a garment's row */
    int W;                     /* sum of n[] */
    float *p;                  /* (N, G, W) softmax of each task's logits */
    uint8_t *have;             /* (N, G) 1 where p was computed */
    long count;                /* garments computed */
} fke_garment_probs;

/* Runs m in prediction mode over the posts of d (posts[i] != 0 selects post
 * i; posts NULL: every post) and keeps the softmax of the category and every
 * attribute of each of their valid garments (garment[i * G + g] != 0 keeps
 * only those slots; NULL: all). m must fit d (fke_check_dataset). */
fke_status fke_garment_probs_compute(fke_model *m, const fke_dataset *d, const uint8_t *posts,
                                     const uint8_t *garment, fke_garment_probs *gp, fke_err *e);
void fke_garment_probs_free(fke_garment_probs *gp);
/* The same for task classify over an image set: one "garment" per image
 * (G = 1), one task (the classes), every image kept. m must fit s
 * (fke_check_imageset). */
fke_status fke_image_probs_compute(fke_model *m, const fke_imageset *s, fke_garment_probs *gp,
                                   fke_err *e);

/* ---- estimates --------------------------------------------------------------- */
/* Anchor points over the garments gp holds: for each task t and class i, the
 * garment whose p(i|x) has rank ceil(q * (n - 1)) in ascending order (ties by
 * garment index) among the n garments; T_t row i = p(.|x), renormalised.
 * anchor (may be NULL) receives, per task, n[t] garment indices post * G + g
 * at anchor[t * FKE_NOISE_MAXCLS + i]. */
#define FKE_NOISE_MAXCLS 64
fke_status fke_noise_anchors(const fke_garment_probs *gp, double q, fke_tmatrices *tm,
                             long *anchor, fke_err *e);
/* Mean absolute error per entry of every task against d->T_true (0 when the
 * data has none, and mae untouched); *mean = mean over tasks. */
int fke_noise_mae(const fke_dataset *d, const fke_tmatrices *tm, double *mae, double *mean);

/* ---- the command ------------------------------------------------------------- */
typedef enum { FKE_NOISE_OVERLAP, FKE_NOISE_ANCHORS } fke_noise_method;

typedef struct {
    const char *data;  /* the dataset (HDF5) */
    const char *model; /* NULL: overlap estimate; else a checkpoint: anchor points */
    const char *out;   /* matrix file (JSON), or NULL: not written */
    double alpha;      /* overlap smoothing (>= 0) */
    double quantile;   /* anchor quantile in [0, 1] */
} fke_noise_opts;

typedef struct {
    fke_noise_method method;
    fke_tmatrices tm;
    char *names[1 + FKE_MAX_ATTR]; /* task names (category, attribute names) */
    long garments;                 /* garments the estimate used (overlap: category) */
    int has_true;
    double mae[1 + FKE_MAX_ATTR], mae_mean;
} fke_noise_report;

void fke_noise_defaults(fke_noise_opts *o);
fke_status fke_noise_estimate(const fke_noise_opts *o, fke_noise_report *r, fke_err *e);
void fke_noise_report_free(fke_noise_report *r);
#endif
