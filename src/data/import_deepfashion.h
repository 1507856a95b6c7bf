/* import_deepfashion.h - DeepFashion's Category and Attribute Prediction
 * Benchmark (Liu et al., CVPR 2016) in its release layout as fke posts: one
 * post per image, one garment (the image's box). The rules are in
 * datasets/README.md ("DeepFashion"); the format in the benchmark's
 * README.txt.
 *
 *   fke_deepfashion_opts o;
 *   fke_deepfashion_defaults(&o);                fke-small's img and crop
 *   o.dir = "DeepFashion"; o.split = "train";
 *   fke_dataset d; fke_deepfashion_report r;
 *   if (fke_deepfashion_import(&o, &d, &r, &e)) ...e.msg names the file and line...
 *   fke_dataset_save(&d, "df-train.h5", &e);
 *   fke_dataset_free(&d);
 *
 * Read: DIR/Anno/ (or DIR/Anno_coarse/) list_category_cloth.txt,
 * list_category_img.txt, list_attr_cloth.txt, list_attr_img.txt,
 * list_bbox.txt, DIR/Eval/list_eval_partition.txt, and each picture at
 * DIR/Img/<image_name> (or DIR/<image_name>), image names being relative
 * to Img/ ("img/<Folder>/img_00000001.jpg").
 *
 * Every list: line 1 the number of rows, line 2 the column names, then the
 * rows; columns split on runs of spaces or tabs; "\n" or "\r\n" line ends,
 * trailing blanks and a missing last newline accepted. A count that differs
 * from the rows read is counted (not an error). Numbers are read in base 10,
 * so zero-padded boxes ("072") are 72, never octal. The five per-image files
 * are joined by image name, not by line; the partition file decides which
 * images there are.
 *
 * Labels: category_label 1..n (1-based rows of list_category_cloth) ->
 * category 0..n-1; a category list that lacks exactly the four rows merged
 * into Dress (Cape, Nightdress, Shirtdress, Sundress) but otherwise is the
 * published list of 50 gets the 50 back (counted), so the 1-based labels
 * keep their meaning. Attribute rows are "<name with spaces> <type>": the
 * type is the last column (1 texture, 2 fabric, 3 shape, 4 part, 5 style),
 * the name the rest. Attribute values 1 / -1 / 0 become the multi-label
 * labels 1 / 0 / -1 (unknown, counted), as the extra "ml_labels" (N, M)
 * with "ml_type" (M) 0..4 (dataset.h, multi-label block). The box
 * (x_1, y_1, x_2, y_2) is taken with x_2, y_2 exclusive (as PIL's crop,
 * which mmfashion's loader uses), clipped to the picture (counted); an image
 * whose box is empty after clipping is dropped (counted); one without a box
 * uses its whole picture (counted).
 *
 * A post carries the whole picture resized to img x img, the box resized to
 * crop x crop (fke_image_resize_chw; JPEG store at quality, or raw with
 * quality 0), the box in the img frame (fke_box_to_frame), the category as
 * clean label (training and true), no occasion, caption or person. Extras:
 * "ml_labels", "ml_type", "split" (N) 0 train / 1 val / 2 test, "image_row"
 * (N) the image's row in list_eval_partition.txt (0-based), and
 * "category_type" (n_cat) 1 upper / 2 lower / 3 full body.
 *
 * Strictness: a missing list file, a line 1 that is not a count, a row with
 * too few columns, a value that is not a number of the format (a category
 * label outside 1..n, an attribute value other than 1, -1, 0, a row with
 * another number of attribute values than list_attr_cloth has rows, a
 * status other than train / val / test), an image listed twice in one file,
 * or a picture that does not decode fails the import with FKE_ERR_FORMAT
 * naming the file and the line. A listed picture missing on disk is
 * skipped and counted. */
#ifndef FKE_IMPORT_DEEPFASHION_H
#define FKE_IMPORT_DEEPFASHION_H
#include "data/dataset.h"

#define FKE_DF_NCAT 50
#define FKE_DF_NTYPES 5
/* The 50 categories of the published list_category_cloth.txt, in order, and
 * the five attribute types (type 1..5 -> index 0..4). */
extern const char *const fke_deepfashion_categories[FKE_DF_NCAT];
extern const char *const fke_deepfashion_types[FKE_DF_NTYPES];

typedef struct {
    const char *dir;   /* the benchmark's folder, holding Anno/, Eval/, Img/ */
    const char *split; /* "train", "val", "test", or "all" */
    int img, crop;     /* whole-picture side, crop side */
    long limit;        /* most posts kept; 0 = all */
    int quality;       /* pixel store: 0 raw, 1..100 JPEG (92) */
} fke_deepfashion_opts;

/* A counted quirk: how often, and the first image name (or file) it
 * concerned ("" when n = 0). */
typedef struct {
    long n;
    char first[160];
} fke_df_count;

typedef struct {
    long listed;                 /* rows of list_eval_partition.txt */
    long in_split;               /* of them in the split asked for */
    long posts;                  /* kept */
    long split_count[3];         /* rows per status: train, val, test */
    int n_cat, n_attr;           /* categories, attributes */
    long per_category[FKE_DF_NCAT]; /* kept posts per category */
    int unused_categories;       /* categories without a kept post */
    long attr_pos[FKE_DF_NTYPES], attr_neg[FKE_DF_NTYPES]; /* kept labels per type */
    fke_df_count crlf;           /* files with "\r\n" line ends */
    fke_df_count count_mismatch; /* files whose line 1 is not the rows read */
    fke_df_count merged_rows;    /* a category list without the 4 merged rows: restored */
    fke_df_count no_image;       /* pictures missing on disk: skipped */
    fke_df_count grey;           /* pictures without colour (grayscale JPEGs): made RGB */
    fke_df_count clipped;        /* boxes past the picture's border: clipped */
    fke_df_count empty;          /* boxes empty after clipping: image dropped */
    fke_df_count no_box;         /* images without a box: the whole picture */
    fke_df_count no_category;    /* images without a category label: -1 */
    fke_df_count no_attr;        /* images without attribute labels: all unknown */
    fke_df_count unknown_attr;   /* attribute values 0: unknown (-1) */
    fke_df_count not_listed;     /* rows of other files naming an image the partition lacks */
} fke_deepfashion_report;

/* dir and split NULL, img / crop of preset fke-small, no limit, quality 92. */
void fke_deepfashion_defaults(fke_deepfashion_opts *o);
/* Reads o->dir into d (free with fke_dataset_free) and fills r. On failure
 * d holds nothing and the message names the file and line. */
fke_status fke_deepfashion_import(const fke_deepfashion_opts *o, fke_dataset *d,
                                  fke_deepfashion_report *r, fke_err *e);
#endif
