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
 * and per evaluation), last.h5, best.h5 (when there is validation data). The
 * checkpoints also hold the training set's label names, vocabulary and input
 * preprocessing (/names, model/checkpoint.h). */
#ifndef FKE_TRAIN_H
#define FKE_TRAIN_H
#include <stdio.h>

#include "core/config.h"

typedef struct {
    const char *resume;  /* run folder to continue from (its last.h5), or NULL */
    FILE *progress;      /* where progress goes (stderr), or NULL for silence */
    int bar;             /* 1: redraw one progress-bar line (a terminal) */
} fke_train_opts;

/* Summary of a finished run. */
typedef struct {
    long steps;
    double final_loss, seconds, best_score;
    double test_score;   /* on test_data after the last step (NAN without) */
} fke_train_result;

fke_status fke_train(const fke_config *cfg, const fke_train_opts *o, fke_train_result *res,
                     fke_err *e);
#endif
