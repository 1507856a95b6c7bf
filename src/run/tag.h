/* tag.h - `fke tag`: tags by image-text matching with a task clip model
 * (model/clip.h). A tag is a line of free text ("red dress", "beach"); the
 * tag file is read at run time, so tags are added, edited and removed
 * without touching the model.
 *
 * Tags. TAGS.txt is UTF-8 text, one tag a line (a line with another byte
 * sequence, or a control character, is refused naming the line; blank lines
 * are skipped; a file with no tag is refused). Each line is tokenised by the
 * caption rules of data/text.h with the checkpoint's vocabulary
 * (/names/vocab): unknown words become <unk> when the vocabulary has it,
 * else are dropped, and are counted per tag (fke_tagset.stats). A tag with
 * no known word at all is kept (its embedding is that of <unk> or of an
 * empty caption) and reported.
 *
 * Scores. Every tag is embedded alone by the text tower (a batch of one),
 * and every image by the image tower; a tag's score for an image is the
 * cosine of the two unit embeddings, computed in double. So a tag's scores
 * depend on that tag and that image only: adding, editing or removing
 * another line changes no other tag's score (tests/test_tag.c checks it
 * bitwise).
 *
 * Probabilities ("prob"): the softmax over all the file's tags of
 * exp(logit_scale) x cosine, the temperature the model learned for its
 * InfoNCE loss. They answer "which of these tags" and so change when a tag
 * is added; the scores do not.
 * Calibrated probabilities ("p", with a calibration file): a tag's own
 * probability of applying, p = sigmoid(a score + b), Platt scaling with one
 * (a, b) for every tag, fitted by fke_tag_calibrate on a labelled
 * validation set: each post against each tag of the class tag files given
 * (FIELD=TAGS.txt), positive when the post has that class (occasion: the
 * post's; category or an attribute: any of its garments'), by maximum
 * likelihood (Newton's method). p depends on the tag and the picture only,
 * so it too never moves when another tag is added. The same function
 * measures a calibration on other posts: expected calibration error over
 * 10 equal-width bins of p, the Brier score and the reliability bins.
 *
 * Posts of a dataset, with a clip_crops model, are scored by the highest
 * cosine of their whole image and their garment crops
 * (fke_clip_post_score); pictures by the whole picture, and so is every
 * entry of an index (one whole-image embedding each, below).
 *
 * Cache. The tag embeddings are kept in DIR/<ckpt>-<tags>.h5, the two
 * FNV-1a hashes of the checkpoint's and the tag file's bytes
 * (fke_file_hash), format "fke-tag-cache" version 1: "tags" (n) and "emb"
 * (n, K). DIR is opts.cache_dir, else $FKE_CACHE_DIR, else
 * $XDG_CACHE_HOME/fke/tags, else $HOME/.cache/fke/tags. A cache that cannot
 * be written is skipped (fke_tag_info.cache says so); one that does not
 * match its tags is recomputed.
 *
 * Index. fke_tag_index_build embeds pictures (files, or folders of *.png,
 * *.jpg, *.jpeg, sorted by name) or a dataset's posts once into an HDF5 file,
 * format "fke-tag-index" version 1: "emb" (N, K) unit rows, "names" (N, the
 * file paths or "post I"), attributes "checkpoint" and "checkpoint_hash";
 * fke_tag_index_query then ranks them against a text in one matrix
 * product (search by text).
 *
 * Pictures are stretched to the model's image side and normalised as the
 * loader does (fke_extract_image_batch with one box, the whole picture). */
#ifndef FKE_TAG_H
#define FKE_TAG_H
#include <stdio.h>

#include "data/text.h"
#include "model/model.h"

typedef struct {
    int n;                  /* tags */
    char **text;            /* (n) the lines, trimmed */
    int *line;              /* (n) their line numbers in the file (1-based) */
    fke_text_stats *stats;  /* (n) what the tokenizer did (fke_tags_embed) */
    int K;
    fke_real *emb;          /* (n, K) unit rows (fke_tags_embed) */
} fke_tagset;

/* What a run did, for the command's messages. */
typedef struct {
    int tags, unknown_tags;   /* tags, and of them those with an unknown word */
    char unknown[512];        /* the first of those, quoted, with their counts */
    int cached;               /* 1: the embeddings came from the cache */
    char cache[700];          /* the cache file, or why there is none */
    long images;              /* pictures or posts scored */
} fke_tag_info;

typedef struct {
    const char *ckpt;       /* a task clip checkpoint */
    const char *tags;       /* TAGS.txt */
    const char *const *inputs; /* pictures or folders of them */
    int n_inputs;
    const char *data;       /* or an fke dataset: every post, in order */
    const char *out;        /* JSON lines; NULL or "-": stdout */
    int top;                /* the K highest-scoring tags per image (0: all) */
    double threshold;       /* only tags whose score is >= it (-INFINITY: all) */
    const char *cache_dir;  /* NULL: the default above */
    int no_cache;           /* 1: neither read nor write the cache */
    const char *calibration; /* NULL, or a file of fke_tag_calibrate: adds "p" */
} fke_tag_opts;

/* Platt scaling of a tag's score: p = 1 / (1 + exp(-(a score + b))). */
typedef struct {
    double a, b;
} fke_tag_calib;
double fke_tag_calib_prob(const fke_tag_calib *c, double score);
/* A calibration file (JSON, format "fke-tag-calibration" version 1) for
 * checkpoint ckpt (its hash must be the one it was fitted with). */
fke_status fke_tag_calib_read(const char *path, const char *ckpt, fke_tag_calib *c, fke_err *e);

#define FKE_CALIB_BINS 10
typedef struct {
    long pairs, positives;  /* (post, tag) pairs counted, and of them positives */
    fke_tag_calib cal;      /* fitted, or read */
    double mean_p, ece, brier, loglik; /* over the pairs, with cal */
    long bin_n[FKE_CALIB_BINS], bin_pos[FKE_CALIB_BINS];
    double bin_p[FKE_CALIB_BINS];      /* sum of p in each bin [k/10, (k+1)/10) */
} fke_calib_result;
/* Pairs of every post of o->data with the tags of fits[k] = "FIELD=TAGS.txt"
 * (one line per class of FIELD, as --zero-shot). out non-NULL: fits (a, b)
 * by maximum likelihood and writes it there; else evaluates
 * o->calibration's. */
fke_status fke_tag_calibrate(const fke_tag_opts *o, const char *const *fits, int nfit,
                             const char *out, fke_calib_result *r, fke_err *e);

/* The tag file's lines (no model needed). */
fke_status fke_tags_read(const char *path, fke_tagset *t, fke_err *e);
/* Tokenises and embeds t's tags with m (task clip) and the vocabulary of
 * ckpt, through the cache (NULL cache_dir: the default; no_cache: none). */
fke_status fke_tags_embed(fke_model *m, const char *ckpt, const char *tags_path,
                          fke_tagset *t, const char *cache_dir, int no_cache,
                          fke_tag_info *info, fke_err *e);
void fke_tagset_free(fke_tagset *t);

/* One JSON line per picture (in argument order) or post:
 *   {"image": "a.png", "tags": [{"tag": "red dress", "score": 0.41, "prob": 0.23}, ...]}
 *   {"post": 7, "tags": [...]}
 * tags by falling score (ties by file order), cut by top and threshold. */
fke_status fke_tag_run(const fke_tag_opts *o, fke_tag_info *info, fke_err *e);

/* The index file at path from o's inputs or data (o->tags unused). */
fke_status fke_tag_index_build(const fke_tag_opts *o, const char *path, fke_tag_info *info,
                               fke_err *e);
/* The top (0: all) entries of the index for each query text, as JSON lines
 * {"query": "red dress", "rank": 1, "image": "a.png", "score": 0.52}. The
 * model is o->ckpt, else the checkpoint the index names; its hash must be
 * the one the index was built with. */
fke_status fke_tag_index_query(const fke_tag_opts *o, const char *path,
                               const char *const *queries, int nq, fke_err *e);
/* Zero-shot classification and dynamic tags against a dataset's labels.
 * A field is "occasion" (per post), "category" or an attribute's name such
 * as "colour" (per garment). One field: tags_a holds one line per class, in
 * the dataset's class order; each post's whole image (occasion) or each
 * garment's crop (stretched to the image side by the one resize rule) goes
 * to the tag of highest score; acc over the posts or garments with a true
 * label (the true labels where the data has them, else clean posts'),
 * chance 1 / classes.
 * Two fields (field_b, tags_b): the dynamic tags "A_i B_j" (the lines
 * joined by a space, every pair), never classes of the model; a post has
 * pair (i, j) when it has label i of field a and j of field b on the same
 * garment (occasion: the post's). Each post's whole image predicts its
 * n_garments best pairs; precision = right / predicted, recall = right /
 * true pairs, pooled over the posts; chance = the precision of random
 * picks (the mean of true pairs / all pairs). */
typedef struct {
    int classes;            /* one field: its classes; two: the pairs */
    long n;                 /* posts or garments counted */
    double acc;             /* one field */
    long predicted, right, truth; /* two fields */
    double precision, recall;
    double chance;
} fke_zeroshot_result;
fke_status fke_tag_zeroshot(const char *ckpt, const char *data, const char *field_a,
                            const char *tags_a, const char *field_b, const char *tags_b,
                            fke_zeroshot_result *r, fke_err *e);
#endif
