/* import_fashionke.h - a FashionKE release folder (the files the authors'
 * released loader, utility.py of mysbupt/FashionKE, reads; described in
 * datasets/README.md, "FashionKE release") as fke posts.
 *
 *   fke_fashionke_opts o;
 *   fke_fashionke_defaults(&o);
 *   o.dir = "data"; o.split = FKE_FASHIONKE_TRAIN; o.noise_ratio = 0.7;
 *   fke_dataset d; fke_fashionke_report rep;
 *   FKE_TRY(fke_import_fashionke(&o, &d, &rep, e));      then fke_dataset_save
 *   fke_tmatrices tm;                                   optional: t_init
 *   FKE_TRY(fke_fashionke_tmatrix(o.dir, &d, &tm, &rep, e));
 *
 * What is read (every file in o->dir):
 *   train_ids_<r>.json (r printed "%.1f") or test_ids.json: the posts, in
 *     list order; an id listed twice is kept once, an id absent from the
 *     meta is skipped, both counted;
 *   cloth_body_face_meta.json: post id -> post; labelled_pool.json: the
 *     clean posts; images/<id>.jpg: the picture (missing: post skipped,
 *     counted; present but unreadable or corrupt: an error);
 *   code_occasion.json, code_cat.json, code_attr.json (at most 8),
 *     code_attr_val.json: name -> code; the codes of each file must be
 *     0..n-1, each once, and the names are stored in code order;
 *   code_country.json, id_text_preprocessed.json,
 *     clothes_category_attribute_value.json; word_embeds.npy (optional,
 *     its header only); the two confusion files (fke_fashionke_tmatrix).
 *
 * The rules:
 *   - Garment order: the entries of cloth_body_face sorted by (body centre
 *     x, cloth centre y), body centre x = body[0] + (body[2]-body[0])/2 and
 *     cloth centre y = box[1] + (box[3]-box[1])/2 computed on the boxes as
 *     written (before clipping), with a stable sort, so ties keep the JSON
 *     order: left to right by wearer, then top to bottom, as docs/model.md
 *     wants (the authors' loader computes this key but keeps JSON order).
 *     Then boxes are clipped to the picture (fke_box_clip; counted), empty
 *     ones dropped (counted), and of the rest the first G are kept (the
 *     others counted).
 *   - Pixels: the whole picture resized to img x img, each clipped box
 *     resized to crop x crop (fke_image_resize_chw, image.h), kept raw
 *     (quality 0) or each encoded as one JPEG at o->quality (the JPEG
 *     store of dataset.h; 92 by default). A box's
 *     coordinates are rounded to whole pixels first. The stored box is the
 *     clipped box in img x img coordinates: x0 = floor(x0 img / w), x1 =
 *     ceil(x1 img / w) (y alike with h), so it covers the garment and is
 *     never empty.
 *   - Labels: category from cloth.category via code_cat; attributes from
 *     the cloth keys "<attribute>:<value>" (split at the first ':'): an
 *     attribute absent from code_attr is skipped and counted; the number
 *     is never read (its 1 / fraction is only counted); a second key of
 *     the same attribute overrides the first (as the authors' loader),
 *     counted. A post in labelled_pool.json is clean: its labels fill
 *     cat/attr and cat_true/attr_true; any other post is machine-labelled:
 *     cat/attr and cat_machine/attr_machine. Occasion from code_occasion.
 *     An occasion, category or value of a known attribute that its code
 *     file lacks is an error (the code files are the label sets).
 *   - Person (per garment): gender "F" -> 0, "M" -> 1 (fke's convention,
 *     datasets/README.md; the authors' loader codes "M" as 0), anything
 *     else -1; age band 0 (< 25), 1 (25-39), 2 (40-59), 3 (60+), -1 when
 *     the age is missing, null or negative (both counted).
 *   - Extras (fke_dataset_extra): "season" (N) = (month - 1) / 3, month
 *     1..12 (else an error naming the post); "country" (N) from
 *     code_country.json, 0 for "", null, a missing key (counted as empty)
 *     or a code the file lacks (counted as unknown); "applicable" (n_cat,
 *     A) 0/1 from clothes_category_attribute_value.json (categories and
 *     attributes outside the code files skipped, counted); "post_id" (N, 4)
 *     when every kept id is 32 hex digits: the id as four 8-digit numbers
 *     ("%08x" each, in order), so a post can be traced back to the release.
 *   - Caption with o->vocab: the post's "text" (a string; absent or null:
 *     no caption, counted) tokenized by data/text.h's rules with that
 *     vocabulary (unknown words counted), cut or padded to L; the vocabulary
 *     is the dataset's, id_text_preprocessed.json and word_embeds.npy are
 *     not read (their ids belong to the release's own word list).
 *   - Caption without: id_text_preprocessed.json[id].ids cut or zero-padded to L
 *     (counted; a post without an entry or with no ids has an empty
 *     caption, counted). V = the row count of word_embeds.npy when the
 *     file is there (every id must be below it), else the largest id in
 *     the whole file + 1 (at least 2), so train and test imports agree;
 *     vocabulary names "<id>".
 *   - Files: line ends \n or \r\n (counted per file), keys in any order,
 *     \uXXXX escapes (counted; cJSON decodes them, surrogate pairs too).
 *     The label, person and attribute-key counters cover every garment
 *     entry of the kept posts, the dropped ones included.
 *     A file that is not JSON, or a field of the wrong type, is an
 *     FKE_ERR_FORMAT naming the file and the record (post id and key); a
 *     missing required file is FKE_ERR_IO. Every JSON record is checked
 *     before any picture is decoded; of several bad pictures the first in
 *     list order is named, whatever the thread count. On any error *out is
 *     left empty.
 *
 * Nothing here prints; the report says what was kept and dropped. */
#ifndef FKE_IMPORT_FASHIONKE_H
#define FKE_IMPORT_FASHIONKE_H
#include "data/dataset.h"
#include "data/tmatrix.h"

enum { FKE_FASHIONKE_TRAIN, FKE_FASHIONKE_TEST };

typedef struct {
    const char *dir;    /* the release folder */
    int split;          /* FKE_FASHIONKE_TRAIN (train_ids_<r>.json) or _TEST (test_ids.json) */
    double noise_ratio; /* r of train_ids_<r>.json; 0.7 */
    int img, crop, G, L; /* fke-small: 64, 32, 5, 16 */
    int quality;        /* pixel store: 0 raw, 1..100 JPEG at this quality (92; dataset.h) */
    const char *vocab;  /* NULL: captions are id_text_preprocessed.json's ids; else a
                           vocabulary file (data/text.h) that tokenizes each post's "text" */
} fke_fashionke_opts;

#define FKE_FASHIONKE_NAMES 8 /* unknown names the report keeps, to show */

typedef struct {
    char split_file[64];
    /* posts */
    long listed, duplicates, not_in_meta, no_image, kept, clean, machine, no_garment;
    char first_missing_image[64];
    /* garments */
    long garments, kept_garments, clipped, empty, over_G, posts_over_G;
    /* labels */
    long attr_keys, attr_unknown, attr_repeated, values_one, values_fraction;
    int n_attr_unknown_names;
    char attr_unknown_names[FKE_FASHIONKE_NAMES][48];
    long gender_unknown, age_unknown;
    long country_empty, country_unknown;
    /* captions */
    long caption_missing, caption_empty, caption_cut, caption_padded;
    int V, V_from_npy; /* V_from_npy: 1 when V is word_embeds.npy's row count */
    int wv_dim;        /* the width of word_embeds.npy's vectors (0: none read) */
    long words, words_unknown; /* with a vocabulary: words of the captions, not in it */
    /* files */
    int crlf_files;
    long u_escapes;
    /* applicability */
    long appl_cat_skipped, appl_attr_skipped;
    /* transition initialisation (fke_fashionke_tmatrix) */
    long T_zero_rows, T_names_skipped;
} fke_fashionke_report;

void fke_fashionke_defaults(fke_fashionke_opts *o);
/* Reads the release folder o->dir into *out (freed with fke_dataset_free).
 * rep may be NULL. */
fke_status fke_import_fashionke(const fke_fashionke_opts *o, fke_dataset *out,
                                fke_fashionke_report *rep, fke_err *e);
/* The raw captions ("text" of cloth_body_face_meta.json) of the posts the
 * split file of o lists (o->dir, o->split, o->noise_ratio; each id once;
 * ids the meta lacks skipped; "" for a post without text): what
 * `fke data vocab` builds a vocabulary from. *texts is malloc'ed
 * (fke_strings_free). */
fke_status fke_fashionke_captions(const fke_fashionke_opts *o, char ***texts, long *n, fke_err *e);
/* The transition initialisation from category_confuse_mat.json (true
 * category -> {machine category -> count}) and attribute_confuse_mat.json
 * (attribute -> {true value -> {machine value -> count}}), over the names of
 * d (a dataset fke_import_fashionke made): rows = true label, each divided
 * by its sum; a row that sums to 0 (or is absent) becomes the identity row
 * (counted in rep->T_zero_rows); names outside d's are skipped (counted).
 * tm has 1 + d->A tasks, category first; free with fke_tmatrix_free. */
fke_status fke_fashionke_tmatrix(const char *dir, const fke_dataset *d, fke_tmatrices *tm,
                                 fke_fashionke_report *rep, fke_err *e);
#endif
