/* checkpoint.h - model checkpoints in HDF5 (docs/checkpoint.md has the
 * layout field by field): every parameter (and buffer) by
 * its table name under /params, the optimiser state under /optim/m and
 * /optim/v, and the run state (step, epoch, random state, best validation
 * score) and the config JSON as attributes of the root group.
 *
 * A checkpoint written by training also says what the model was trained on,
 * under the group /names (optional: checkpoints without it, older ones and
 * those of tools/torch_to_fke.py, load as before):
 *
 *   /names/occasion      (n_occ) strings  occasion names, by label
 *   /names/category      (n_cat) strings  category names (task classify: class names)
 *   /names/attribute     (A) strings      attribute names
 *   /names/values_K      (n_val[K])       value names of attribute K, K = 0..A-1
 *   /names/vocab         (V) strings      caption words, by token id
 *   attributes of /names: img, crop, pad (int: whole-image and crop side in
 *     pixels, crop 0 for task classify; the zero border of task classify),
 *     pixel_mean, pixel_std (double: the input is (p / 255 - mean) / std, with
 *     FKE_PIXEL_MEAN / FKE_PIXEL_STD for posts and the training set's own for
 *     task classify)
 *   more attributes of /names (strings; "" when unknown): data_file (the
 *     training set's path), data_hash ("fnv1a64:" + 16 hex digits of the
 *     file's bytes, core/file.h fke_file_hash), tokenizer ("fke-text-1": the
 *     rules of data/text.h), crop_rule ("resize": fke_image_resize_chw); and
 *     (long long) data_posts, data_garments, data_clean: the set's counts
 *   root attribute fke_version (every checkpoint fke writes, core/version.h)
 *
 * The names are the training set's, copied when the run saves; each array is
 * written only when the set has it. Strings are fixed-length, NUL-padded
 * (core/h5.h fke_h5w_strings).
 *
 * Files follow the rules of core/h5.h: format "fke-checkpoint" with a
 * version, no timestamps, and an atomic write (a crash never leaves a broken
 * checkpoint under the final name). Loading checks the format, the version
 * and every shape against the parameter table, naming the file and the
 * tensor on any mismatch. Every array carries HDF5's Fletcher32 checksum
 * (core/h5.h), every value loaded must be finite, and the run state is
 * range-checked (FKE_CKPT_MAX_STEP): a damaged file is an error naming the
 * file and the tensor, never silently different weights. /names is optional and needs no new version: a
 * reader that does not know it ignores it. */
#ifndef FKE_CHECKPOINT_H
#define FKE_CHECKPOINT_H
#include "core/fke.h"
#include "nn/params.h"

/* What the model was trained on (/names above). For saving, the pointers are
 * borrowed (e.g. from the training dataset) and NULL arrays are not written;
 * fke_checkpoint_read_names fills owned copies (fke_ckpt_names_free). */
typedef struct {
    int n_occ, n_cat, A, n_val[FKE_MAX_ATTR], V;
    char **occ;               /* (n_occ) occasion names, or NULL */
    char **cat;               /* (n_cat) category or class names, or NULL */
    char **attr;              /* (A) attribute names, or NULL */
    char **val[FKE_MAX_ATTR]; /* (n_val[k]) value names of attribute k, or NULL */
    char **vocab;             /* (V) caption words by token id, or NULL */
    int img, crop, pad;       /* input sides in pixels (crop 0: none), zero border */
    double pixel_mean, pixel_std; /* x = (p / 255 - pixel_mean) / pixel_std */
    /* the training data's fingerprint and the input rules ("" when unknown) */
    char data_file[512], data_hash[32], tokenizer[32], crop_rule[16];
    long long data_posts, data_garments, data_clean;
    char version[128];        /* load: the file's fke_version ("" in older files) */
} fke_ckpt_names;

typedef struct {
    long step;        /* optimiser steps done */
    int epoch;        /* epochs finished */
    long long pos;    /* loader position inside the epoch (batches taken) */
    uint64_t rng[4];  /* the training random state */
    double best;      /* best validation score so far */
    int world;        /* processes of the data-parallel run that wrote it (attribute
                         "world_size"; 0 on save and absent on load mean 1) */
    char *config_json; /* malloc'ed on load; caller frees */
    const fke_ckpt_names *names; /* save: written under /names when not NULL;
                                    load leaves it NULL (fke_checkpoint_read_names) */
} fke_ckpt_meta;

/* The largest step (and loader position) a checkpoint may carry: loading
 * refuses more, and other impossible run states (checkpoint.c). */
#define FKE_CKPT_MAX_STEP 1000000000000LL

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
/* Reads /names into nm (owned; fke_ckpt_names_free). *found is 0, and nm all
 * zero, for a checkpoint without /names; that is not an error. */
fke_status fke_checkpoint_read_names(const char *path, fke_ckpt_names *nm, int *found,
                                     fke_err *e);
void fke_ckpt_names_free(fke_ckpt_names *nm);
/* The same four readers over a checkpoint's n bytes in memory (image; NULL:
 * read path), path naming it in messages (core/h5.h fke_h5r_open_image):
 * the fuzz target's way in, through the one code path. */
fke_status fke_checkpoint_load_image(const char *path, const void *image, size_t n,
                                     fke_params *p, int with_optim, fke_ckpt_meta *meta,
                                     fke_err *e);
fke_status fke_checkpoint_load_partial_image(const char *path, const void *image, size_t n,
                                             fke_params *p, int *loaded, fke_err *e);
fke_status fke_checkpoint_read_config_image(const char *path, const void *image, size_t n,
                                            char **json, fke_err *e);
fke_status fke_checkpoint_read_names_image(const char *path, const void *image, size_t n,
                                           fke_ckpt_names *nm, int *found, fke_err *e);
#endif
