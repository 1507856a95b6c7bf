/* show.h - one post drawn as a picture (`fke data show`), with cairo: the
 * whole image with its garment boxes and the wearer, each garment's crop,
 * and a table per garment of its labels. With a checkpoint the model's
 * predictions stand beside the truth (`--pred`), from the forward of `fke
 * extract` (fke_extract_predict, run/extract.h):
 *
 *   - per garment: the predicted category and every attribute with its
 *     probability, the truth with the probability the model gave it, and
 *     the machine tagger's label where the data has one that differs;
 *   - a prediction whose truth is known is marked: a green tick when right,
 *     a red cross and red text when wrong (a "mistake"); one whose truth is
 *     unknown gets no mark;
 *   - the occasion: the truth, and the model's top 3 with probabilities;
 *   - the wearer: fke's post files keep no body box (FashionKE's body boxes
 *     only order the garments at import), so the wearer is drawn as the
 *     region the post's garments cover (their union box, dashed), labelled
 *     with the person fields the data gives (gender, age band; "given", never
 *     predicted, as in `fke extract`).
 *
 * The truth of a label: the true label where the file keeps one (cat_true,
 * attr_true), else the training label of a clean post, else unknown. A
 * picture's size depends on the dataset alone (its image and crop sides, G,
 * the attributes and label names) and on whether predictions are drawn, not
 * on the post: every post of a set is drawn at one size. Text is 13 px.
 *
 *   fke_show_opts o = {.data = "val.h5", .post = 3, .out = "p3.png", .ckpt = "run/best.h5"};
 *   fke_show_result r;
 *   if (fke_show_post(&o, &r, &e)) ... e.msg names the file and the problem
 *   r.mistakes of r.checked predictions are wrong, each marked
 */
#ifndef FKE_SHOW_H
#define FKE_SHOW_H
#include <stdio.h>

#include "core/fke.h"

typedef struct {
    const char *data;  /* an fke post dataset */
    long post;         /* 0..N-1 */
    const char *out;   /* the PNG (written atomically) */
    const char *ckpt;  /* NULL: the labels only; else the model's predictions beside them */
    FILE *json;        /* NULL, or where to write one JSON object: the size, the counts and
                          every prediction (garment, task, truth, predicted, probabilities,
                          mistake) */
} fke_show_opts;

typedef struct {
    int w, h;          /* the picture's size */
    int garments;      /* the post's garments */
    int checked;       /* predictions whose truth is known (occasion and every garment task) */
    int mistakes;      /* of them wrong, each marked with a red cross */
} fke_show_result;

fke_status fke_show_post(const fke_show_opts *o, fke_show_result *r, fke_err *e);
#endif
