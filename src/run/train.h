/* train.h - the training of docs/model.md "Loss" and "Training" (and of the
 * classifier for task classify): paired clean/machine batches, the
 * beta-weighted corrected loss, SGD (or Adam) with per-group learning rates
 * and step decay; progress lines, a JSON-lines metrics file, checkpoints
 * (last.h5 at every evaluation, best.h5 by validation score), exact resume,
 * and a clean stop when the loss or a gradient becomes NaN or infinite.
 *
 * The label space and input sizes the config leaves unset come from the
 * training set (fke_config_from_data; configs/README.md, "Sizes from the
 * training data"); a key the config sets must agree with it.
 *
 * A run folder (cfg->out_dir) holds: config.json (every key, defaults
 * included, with the final sizes), metrics.jsonl (one line per logged step
 * and per evaluation, then the final test line), last.h5, best.h5 (always:
 * by the config's select score on val_data, or on the val_split held out of
 * the training file by data/split.h's rule; with neither, the last evaluated
 * model). The test set is evaluated once, on best.h5 after the last step,
 * plus every test_every steps when that is set. The
 * checkpoints also hold the training set's label names, vocabulary and input
 * preprocessing (/names, model/checkpoint.h). */
#ifndef FKE_TRAIN_H
#define FKE_TRAIN_H
#include <signal.h>
#include <stdio.h>

#include "core/config.h"
#include "core/dist.h"

/* A run folder is never overwritten by accident: a fresh run (resume NULL)
 * into an out_dir that already holds a run (config.json, metrics.jsonl,
 * last.h5 or best.h5) is refused unless force is set, which removes the old
 * checkpoints and starts metrics.jsonl anew. An empty or missing folder is
 * fine.
 *
 * Stopping: when *stop becomes non-zero (a signal handler in the caller sets
 * it), the run finishes the step it is in, writes last.h5 (atomically, as
 * every checkpoint) at that step and returns FKE_OK with res->interrupted
 * set; a resume from it equals the uninterrupted run. A stop before the
 * first step writes nothing.
 *
 * A resume cuts metrics.jsonl back to the lines of steps up to the one
 * last.h5 holds (the lines of the lost segment would otherwise appear
 * twice). */
typedef struct {
    const char *resume;  /* run folder to continue from (its last.h5), or NULL */
    FILE *progress;      /* where progress goes (stderr), or NULL for silence */
    int bar;             /* 1: redraw one progress-bar line (a terminal) */
    int force;           /* 1: a fresh run may replace the run in out_dir */
    volatile sig_atomic_t *stop; /* NULL, or non-zero: stop after the current step */
    /* NULL (one process), or the MPI context of `mpirun -np N fke train`
     * (core/dist.h): synchronous data-parallel training, README "Training
     * across processes". Every rank holds the whole model and trains on its
     * shard of each global batch (fke_loader_shard); the loss's counts are
     * the global batch's, the gradients are summed, every rank takes the same
     * update. Rank 0 alone writes the run folder; the others should get
     * progress NULL. */
    const fke_dist *dist;
} fke_train_opts;

/* Summary of a finished (or stopped) run. */
typedef struct {
    long steps;
    double final_loss, seconds, best_score;
    long best_step;      /* the step of best.h5 */
    double test_score;   /* on test_data, of best.h5 at the end (NAN without) */
    long resumed_from;   /* the step a resume continued from (0: a fresh run) */
    long metrics_dropped; /* metrics.jsonl lines a resume cut (steps after resumed_from) */
    int interrupted;     /* 1: stopped by *stop; last.h5 holds step `steps` */
    int wrote_last;      /* 1: last.h5 was written at the stop */
    char dir[512];       /* the run folder */
} fke_train_result;

fke_status fke_train(const fke_config *cfg, const fke_train_opts *o, fke_train_result *res,
                     fke_err *e);

/* The time a run has left (the ETA of its progress lines), evaluations
 * included: the steps left at the training rate measured so far, plus the
 * evaluations left (after every eval_every and test_every steps and after
 * the last step) and the final test at the evaluation rate per post
 * measured so far. Before an evaluation has been measured, a post takes a
 * third of a training step's time per post to evaluate (a forward is about
 * a third of forward and backward). */
typedef struct {
    double train_s;        /* training time so far in this process, evaluations excluded */
    long train_steps;      /* its steps */
    double eval_s;         /* evaluation time so far (batch-norm, val, test, checkpoints) */
    long eval_posts;       /* the posts (images) those evaluations forwarded */
    int batch;             /* posts a training step */
    long eval_posts_each;  /* posts one evaluation forwards: bn_recalibrate batches and val */
    long test_posts;       /* the test set's; 0 without one */
    long eval_every;       /* > 0: the steps between evaluations (eval_every 0 resolved to an epoch) */
    long test_every;       /* 0: the test set only at the end */
} fke_eta;

/* Evaluations after step s up to total; *with_test (may be NULL) of them
 * those that include the test set (test_every's). */
long fke_eta_evals(const fke_eta *t, long s, long total, long *with_test);
/* Seconds left after step s of total; NAN before any training step. */
double fke_eta_left(const fke_eta *t, long s, long total);
#endif
