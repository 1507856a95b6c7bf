/* checkpoint.h - model checkpoints in HDF5: every parameter (and buffer) by
 * its table name under /params, the optimiser state under /optim/m and
 * /optim/v, and the run state (step, epoch, random state, best validation
 * score) and the config JSON as attributes of the root group.
 *
 * Files follow the rules of core/h5.h: format "fke-checkpoint" with a
 * version, no timestamps, and an atomic write (a crash never leaves a broken
 * checkpoint under the final name). Loading checks the format, the version
 * and every shape against the parameter table, naming the file and the
 * tensor on any mismatch. */
#ifndef FKE_CHECKPOINT_H
#define FKE_CHECKPOINT_H
#include "core/fke.h"
#include "nn/params.h"

typedef struct {
    long step;        /* optimiser steps done */
    int epoch;        /* epochs finished */
    long long pos;    /* loader position inside the epoch (batches taken) */
    uint64_t rng[4];  /* the training random state */
    double best;      /* best validation score so far */
    char *config_json; /* malloc'ed on load; caller frees */
} fke_ckpt_meta;

fke_status fke_checkpoint_save(const char *path, const fke_params *p,
                               const fke_ckpt_meta *meta, fke_err *e);
/* Loads values (and optimiser state when with_optim) into p, whose table must
 * already be built (by the model for the same config). meta may be NULL. */
fke_status fke_checkpoint_load(const char *path, fke_params *p, int with_optim,
                               fke_ckpt_meta *meta, fke_err *e);
/* Loads, by name, the /params tensors that the file has (e.g. converted
 * from PyTorch by tools/torch_to_fke.py); tensors it lacks keep their values.
 * A tensor of the same name but another shape is an error. *loaded counts
 * the tensors taken; the file needs no config or optimiser state. */
fke_status fke_checkpoint_load_partial(const char *path, fke_params *p, int *loaded,
                                       fke_err *e);
/* Reads only the config JSON (to rebuild the model); malloc'ed into *json. */
fke_status fke_checkpoint_read_config(const char *path, char **json, fke_err *e);
#endif
