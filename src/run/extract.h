/* extract.h - knowledge extraction (`fke extract`): a trained model turns
 * posts into one JSON line each, K = {P, C, O} of docs/model.md:
 *
 *   {"post": 7, "occasion": {"label": "beach", "prob": 0.81,
 *                            "top": [["beach", 0.81], ["sport", 0.1], ["travel", 0.05]]},
 *    "person": {"gender": "female", "age": "25-39", "given": true},  (only when known)
 *    "garments": [{"slot": 0, "box": [x0, y0, x1, y1],
 *                  "category": {"label": "Dress", "prob": 0.9},
 *                  "attributes": {"colour": {"label": "red", "prob": 0.7}, ...}}, ...]}
 *
 * Posts come from an fke dataset (every post once, in order) or from one
 * picture, JPEG or PNG (fke_image_read, data/image.h), with its garment
 * boxes in a JSON file: {"boxes": [[x0,y0,x1,y1], ...], "caption": [token
 * ids] or "a red dress for the beach"}. A text caption is tokenized by the
 * rules of data/text.h with the checkpoint's vocabulary (/names/vocab),
 * else that of the --names dataset; unknown words go to "<unk>" when the
 * vocabulary has it, else are dropped, and are counted (fke_extract_info).
 * The picture is stretched to the model's image side and each box to its
 * crop side by the one rule (fke_image_resize_chw), then normalised as the
 * loader does; that is the crop mode FKE_CROP_RESIZE, what FKE_CROP_AUTO
 * (the default) picks for every checkpoint (fke_extract_default_crop says
 * why). FKE_CROP_WINDOW instead takes the crop-sized window of the resized
 * picture centred on the box.
 *
 * "person" is never predicted: it is the dataset's person field (gender,
 * age band) of the post's first garment, printed only when known and
 * marked "given": true. A picture input has none.
 *
 * Label names: a dataset input gives its own. A picture takes them from
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
#include "data/image.h"
#include "data/loader.h"
#include "data/text.h"
#include "model/model.h"

/* AUTO: the mode the model's training data calls for (fke_extract_default_crop) */
typedef enum { FKE_CROP_AUTO, FKE_CROP_RESIZE, FKE_CROP_WINDOW } fke_crop_mode;

/* What a picture extraction did (filled by fke_extract_run when opts.info is set). */
typedef struct {
    fke_crop_mode crop;   /* the mode used (never AUTO) */
    int text_caption;     /* 1 when the caption was text */
    fke_text_stats text;  /* its words, unknown words, cut ids (data/text.h) */
} fke_extract_info;

typedef struct {
    const char *ckpt;   /* checkpoint (fke_model_load) */
    const char *input;  /* fke dataset (HDF5) or a JPEG or PNG picture */
    const char *out;    /* JSON lines; NULL or "-": stdout */
    const char *boxes;  /* picture input: JSON file with "boxes" (and "caption") */
    const char *names;  /* picture input: dataset whose label names to use (else the
                           checkpoint's /names, else numbers); its vocabulary reads a
                           text caption when the checkpoint has none */
    int batch;          /* posts per forward; 0: the checkpoint's batch size */
    fke_crop_mode crop; /* picture input: AUTO (0, default), RESIZE or WINDOW */
    fke_extract_info *info; /* picture input: filled on success when not NULL */
} fke_extract_opts;

/* Label names of every task (owned, freed by fke_extract_names_free). */
typedef struct {
    int n_occ, n_cat, A, n_val[FKE_MAX_ATTR];
    char **occ, **cat, **attr, **val[FKE_MAX_ATTR];
    /* per post, from a dataset's extras (borrowed; NULL without): given, not
     * predicted, printed with the person (FashionKE's season and country) */
    const fke_extra *season, *country;
} fke_extract_names;

fke_status fke_extract_run(const fke_extract_opts *o, long *n_posts, fke_err *e);
/* The --boxes file, {"boxes": [[x0, y0, x1, y1], ...], "caption": [ids] or
 * "text"}: *boxes (nb x 4) and *tok (nt ids) malloc'ed, or a text caption in
 * *text (malloc'ed; then nt = 0). */
fke_status fke_extract_read_boxes(const char *path, int32_t **boxes, int *nb, int32_t **tok,
                                  int *nt, char **text, fke_err *e);

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

/* The one-post batch of a picture: boxes (nb, 4) in picture pixels (x1, y1
 * exclusive, inside it), tokens (nt) padded/truncated to L, crops by mode
 * (AUTO: fke_extract_default_crop). Freed by fke_batch_free (data/loader.h). */
fke_status fke_extract_image_batch(const fke_config *c, const fke_image *im,
                                   const int32_t *boxes, int nb, const int32_t *tokens, int nt,
                                   fke_crop_mode mode, fke_batch *b, fke_err *e);
/* The crop mode for a model of config c when none is asked for: RESIZE for
 * every checkpoint fke can make (the importers' crops are the box stretched
 * to P x P; FashionKE-synth's crops show the garment alone filling P x P,
 * which the stretched box matches and a window does not); the checkpoint
 * records no other. */
fke_crop_mode fke_extract_default_crop(const fke_config *c);
const char *fke_crop_mode_name(fke_crop_mode m);

/* The model's probabilities for the posts of a batch (softmax of every
 * head, prediction mode): the one forward of `fke extract` and `fke data
 * show --pred`. Garment v (0..nv-1, posts in order, each post's garments in
 * slot order) is post gidx[v] / G, slot gidx[v] % G. */
typedef struct {
    int B, nv;                   /* posts, garments */
    fke_real *occ;               /* (B, n_occ) */
    fke_real *cat;               /* (nv, n_cat) */
    fke_real *att[FKE_MAX_ATTR]; /* (nv, n_val[k]) */
    int32_t *gidx;               /* (nv) post * G + slot */
} fke_extract_probs;

/* Runs the model on b (a batch without any garment gets a blank one added
 * for the forward, then dropped); *p freed by fke_extract_probs_free. */
fke_status fke_extract_predict(fke_model *m, const fke_batch *b, fke_extract_probs *p,
                               fke_err *e);
void fke_extract_probs_free(fke_extract_probs *p);

/* Runs the model on b (prediction mode) and writes one line per post to f;
 * person (B, G, 2) may be NULL. */
fke_status fke_extract_batch(fke_model *m, const fke_batch *b, const fke_extract_names *nm,
                             FILE *f, fke_err *e);
#endif
