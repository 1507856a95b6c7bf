/* import_deepfashion2.h - DeepFashion2 (switchablenorms/DeepFashion2) in its
 * release layout as fke posts: one post per image, one garment per item.
 * The rules are in datasets/README.md ("DeepFashion2"); the format itself in
 * the authors' README ("Data Organization", "Data Description") and their
 * converter evaluation/deepfashion2_to_coco.py (switchablenorms/DeepFashion2).
 *
 *   fke_deepfashion2_opts o;
 *   fke_deepfashion2_defaults(&o);               fke-small's img, crop, G, L
 *   o.dir = "DeepFashion2"; o.split = "validation";
 *   fke_dataset d; fke_deepfashion2_report r;
 *   if (fke_deepfashion2_import(&o, &d, &r, &e)) ...e.msg names the file...
 *   fke_dataset_save(&d, "df2-val.h5", &e);
 *   fke_dataset_free(&d);
 *
 * Read: DIR/SPLIT/annos/NNNNNN.json in the order of their numbers (six
 * digits; other names are counted and ignored) and, for each, the picture
 * DIR/SPLIT/image/NNNNNN.jpg (JPEG or PNG by signature, image.h).
 *
 * Per annotation (a JSON object, keys in any order): "source" ("shop" 0,
 * "user" 1) and "pair_id" go to the post; every "item<k>" (k = 1, 2, ...)
 * is a garment, taken in the order of k, whatever the order of the keys.
 * Per item: bounding_box [x1, y1, x2, y2] (x2, y2 exclusive, as the
 * authors' converter takes w = x2 - x1) clipped to the picture
 * (fke_box_clip; an empty box drops the garment), category_id 1..13 ->
 * category 0..12, scale / occlusion / zoom_in / viewpoint 1..3 -> the four
 * attributes 0..2, style -> the "style" extra; landmarks and segmentation
 * are not read (their length is only compared with 3 x the category's
 * landmark count). Garments past G, after the dropped ones, are cut.
 *
 * What a post carries: the whole picture resized to img x img, each
 * garment's box region resized to crop x crop (fke_image_resize_chw; kept
 * raw with quality 0, else each encoded as one JPEG, dataset.h), the
 * box scaled to the img x img frame ([floor(x1 S/w), floor(y1 S/h),
 * ceil(x2 S/w), ceil(y2 S/h)), never empty), clean = 1 and the human labels
 * as both the training and the true labels (machine labels -1); no occasion
 * (one name "unknown", every label -1), no caption (V = 1, vocab "<pad>",
 * every token 0), no person (-1). Extras (dataset.h): "image_id" (N) the
 * file number, "source" (N) 0 shop / 1 user / -1 absent, "pair_id" (N) -1
 * absent, "style" (N, G) -1 absent and on padding.
 *
 * Strictness: a file that is not JSON, not an object, or a field that is
 * present but not what the format says (a box that is not 4 numbers, a
 * category_id outside 1..13, an attribute outside 1..3, a source other than
 * shop/user, two items with the same number, ...) fails the whole import
 * with FKE_ERR_FORMAT naming the file, the item and the field, as does a
 * picture that cannot be decoded. What the release is known to contain, or
 * what only costs a label, is counted in the report instead. */
#ifndef FKE_IMPORT_DEEPFASHION2_H
#define FKE_IMPORT_DEEPFASHION2_H
#include "data/dataset.h"

#define FKE_DF2_NCAT 13
#define FKE_DF2_NATTR 4

/* The 13 category names (category_id 1..13 -> index 0..12), the attribute
 * names and their value names, as the annotation files spell them. */
extern const char *const fke_deepfashion2_categories[FKE_DF2_NCAT];
extern const char *const fke_deepfashion2_attributes[FKE_DF2_NATTR];
extern const char *const fke_deepfashion2_values[FKE_DF2_NATTR][3];
/* Landmarks per category (the converter's index ranges; 294 in all). */
extern const int fke_deepfashion2_landmarks[FKE_DF2_NCAT];

typedef struct {
    const char *dir;   /* the DeepFashion2 folder, holding SPLIT/image and SPLIT/annos */
    const char *split; /* "train", "validation" (any folder name under dir) */
    int img, crop, G, L; /* image side, crop side, garment slots, caption tokens */
    long limit;        /* most posts kept; 0 = all */
    int quality;       /* pixel store: 0 raw, 1..100 JPEG at this quality (92; dataset.h) */
} fke_deepfashion2_opts;

/* A counted quirk: how often, and the number of the first annotation (or
 * image) file where it happened (-1 when n = 0). */
typedef struct {
    long n, first;
} fke_df2_count;

typedef struct {
    long annos;                 /* annotation files read (up to the limit) */
    long posts, garments;       /* kept */
    long items;                 /* items seen in the files read */
    fke_df2_count no_image;     /* annotation without its picture: post skipped */
    fke_df2_count no_anno;      /* picture without an annotation: ignored (any limit) */
    fke_df2_count other_files;  /* names in annos/ or image/ that are not NNNNNN.json / .jpg */
    fke_df2_count clipped;      /* boxes past the picture's border: clipped */
    fke_df2_count empty;        /* boxes empty after clipping: garment dropped */
    fke_df2_count no_box;       /* items without a bounding_box: garment dropped */
    fke_df2_count truncated;    /* garments past G: cut (the highest item numbers) */
    fke_df2_count no_garment;   /* posts left without a garment (kept, n_garments 0) */
    fke_df2_count unknown_keys; /* top-level keys other than source, pair_id, item<k> */
    fke_df2_count unknown_item_keys; /* item keys outside the ten of the format */
    fke_df2_count out_of_order; /* files whose item keys are not in ascending order */
    fke_df2_count name_mismatch;  /* category_name not the name of category_id */
    fke_df2_count no_category;  /* items without category_id: category -1 */
    fke_df2_count no_attr;      /* attribute values absent: that attribute -1 */
    fke_df2_count no_source;    /* files without source or pair_id: -1 */
    fke_df2_count landmarks;    /* landmark lists whose length is not 3 x the category's count */
    long per_category[FKE_DF2_NCAT]; /* kept garments per category */
} fke_deepfashion2_report;

/* Defaults: dir and split NULL, img / crop / G / L of preset fke-small, no limit. */
void fke_deepfashion2_defaults(fke_deepfashion2_opts *o);
/* Reads o->dir/o->split into d (allocated; free with fke_dataset_free) and
 * fills r. On failure d holds nothing and the message names the file. */
fke_status fke_deepfashion2_import(const fke_deepfashion2_opts *o, fke_dataset *d,
                                   fke_deepfashion2_report *r, fke_err *e);
#endif
