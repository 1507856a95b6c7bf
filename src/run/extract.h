/* extract.h - knowledge extraction (`fke extract`): a trained model turns
 * posts into one JSON line each, K = {P, C, O} of docs/model.md:
 *
 *   {"post": 7, "occasion": {"label": "beach", "prob": 0.81,
 *                            "top": [["beach", 0.81], ["sport", 0.1], ["travel", 0.05]]},
 *    "person": {"gender": "female", "age": "25-39"},          (only when known)
 *    "garments": [{"slot": 0, "box": [x0, y0, x1, y1],
 *                  "category": {"label": "Dress", "prob": 0.9},
 *                  "attributes": {"colour": {"label": "red", "prob": 0.7}, ...}}, ...]}
 *
 * Posts come from an fke dataset (every post once, in order) or from one PNG
 * picture with its garment boxes in a JSON file ({"boxes": [[x0,y0,x1,y1],
 * ...], "caption": [token ids]}: the picture is resized to the model's
 * image side, each box to its crop side, and normalised as the loader does).
 *
 * Label names: a dataset input gives its own. A PNG input takes them from
 * the dataset named by opts.names when given, else from the checkpoint's
 * /names (what the model was trained on, model/checkpoint.h), else, for a
 * checkpoint without names, the numbers "0", "1", ...
 *
 *   fke_extract_opts o = {.ckpt = "run/best.h5", .input = "test.h5", .out = "x.jsonl"};
 *   long n; if (fke_extract_run(&o, &n, &e)) ... e.msg names the file and field
 *
 * The output goes to OUT.tmp and is renamed over OUT when complete. */
#ifndef FKE_EXTRACT_H
#define FKE_EXTRACT_H
#include <stdio.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "model/model.h"

typedef enum { FKE_CROP_RESIZE, FKE_CROP_WINDOW } fke_crop_mode;

typedef struct {
    const char *ckpt;   /* checkpoint (fke_model_load) */
    const char *input;  /* fke dataset (HDF5) or PNG picture */
    const char *out;    /* JSON lines; NULL or "-": stdout */
    const char *boxes;  /* PNG input: JSON file with "boxes" (and "caption") */
    const char *names;  /* PNG input: dataset whose label names to use (else the
                           checkpoint's /names, else numbers) */
    int batch;          /* posts per forward; 0: the checkpoint's batch size */
    fke_crop_mode crop; /* PNG input: box resized to the crop (default), or the
                           crop-sized window of the resized picture centred on
                           the box (how FashionKE-synth cuts its crops) */
} fke_extract_opts;

/* Label names of every task (owned, freed by fke_extract_names_free). */
typedef struct {
    int n_occ, n_cat, A, n_val[FKE_MAX_ATTR];
    char **occ, **cat, **attr, **val[FKE_MAX_ATTR];
} fke_extract_names;

fke_status fke_extract_run(const fke_extract_opts *o, long *n_posts, fke_err *e);

/* A dataset (read from path) fits the model's config: label counts, G, A, L,
 * image and crop sides, vocabulary. */
fke_status fke_extract_check_dataset(const fke_config *c, const fke_dataset *d,
                                     const char *path, fke_err *e);
/* Names from a dataset (checked against c), or "0", "1", ... when d is NULL. */
fke_status fke_extract_names_init(fke_extract_names *nm, const fke_config *c,
                                  const fke_dataset *d, const char *path, fke_err *e);
/* Names from the checkpoint's /names (checked against c), or numbers when it
 * has none or lacks a task's; *found (may be NULL) says whether it had /names. */
fke_status fke_extract_names_from_ckpt(fke_extract_names *nm, const fke_config *c,
                                       const char *ckpt, int *found, fke_err *e);
void fke_extract_names_free(fke_extract_names *nm);

/* The one-post batch of an RGB picture (h, w, 3): boxes (nb, 4) in picture
 * pixels (x1, y1 exclusive), tokens (nt) padded/truncated to L. Freed by
 * fke_batch_free (data/loader.h). */
fke_status fke_extract_png_batch(const fke_config *c, const uint8_t *rgb, int w, int h,
                                 const int32_t *boxes, int nb, const int32_t *tokens, int nt,
                                 fke_crop_mode mode, fke_batch *b, fke_err *e);

/* Runs the model on b (prediction mode) and writes one line per post to f;
 * person (B, G, 2) may be NULL. */
fke_status fke_extract_batch(fke_model *m, const fke_batch *b, const fke_extract_names *nm,
                             FILE *f, fke_err *e);
#endif
