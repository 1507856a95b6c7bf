/* eval.h - docs/model.md "Metrics" over a dataset: occasion accuracy (per post),
 * category accuracy (per valid garment), attribute accuracy (per valid
 * garment and attribute, averaged over attributes), each also as macro-F1,
 * their confusion matrices, and the learned transition matrices against the
 * true ones where the data has them. Where the data has the "applicable"
 * array (n_cat, A), also the released FashionKE code's attribute accuracy:
 * only garments whose PREDICTED category admits the attribute count (the
 * plain one, and fke_eval_score, count every garment with a true label).
 * Task multilabel (DeepFashion): category top-1/3/5, attribute recall@3/@5
 * per type and overall, macro-F1 and the category confusion matrix.
 * Task clip: image->text and text->image retrieval recall@1/5/10 over the
 * posts (has_clip, clip_recall).
 * Also the checks that a dataset fits a
 * model's config, made before any training or evaluation starts. */
#ifndef FKE_EVAL_H
#define FKE_EVAL_H
#include "core/dist.h"
#include "data/dataset.h"
#include "run/metrics.h"
#include "model/model.h"

#define FKE_EVAL_ML_TYPES 8 /* attribute types reported (DeepFashion has 5) */
typedef struct {
    int n_attr;
    fke_confusion occ, cat, att[FKE_MAX_ATTR];
    double occ_acc, occ_f1, cat_acc, cat_f1, att_acc, att_f1; /* att_*: mean over attributes */
    double att_acc_k[FKE_MAX_ATTR], att_f1_k[FKE_MAX_ATTR];
    /* has_appl: the data has "applicable"; att_appl[k] counts a garment only
     * when its predicted category admits attribute k; att_*_appl: the mean
     * over the attributes that counted at least one garment */
    int has_appl;
    fke_confusion att_appl[FKE_MAX_ATTR];
    double att_acc_appl, att_f1_appl, att_acc_appl_k[FKE_MAX_ATTR], att_f1_appl_k[FKE_MAX_ATTR];
    int has_T;                               /* the data has true transition matrices */
    double T_mae[1 + FKE_MAX_ATTR];          /* category, then each attribute */
    long posts, garments;
    /* task multilabel (DeepFashion): category top-1/3/5 accuracy over the
     * garments with a category (ties as fke_rank_of); attribute recall@3/@5
     * (metrics.h, fke_recall) pooled over the positives and as the mean
     * over attributes, [0] all attributes, [1 + t] those of type t */
    int has_ml, n_ml_types;
    char ml_type_names[FKE_EVAL_ML_TYPES][32];
    double cat_top[3];                                  /* k = 1, 3, 5 */
    double ml_recall[FKE_RECALL_NK][1 + FKE_EVAL_ML_TYPES];
    double ml_recall_attr[FKE_RECALL_NK][1 + FKE_EVAL_ML_TYPES];
    long ml_positives[1 + FKE_EVAL_ML_TYPES];           /* positive labels counted */
    /* task clip: retrieval recall over the posts, [0] image->text, [1]
     * text->image, at k = 1, 5, 10 (fke_clip_eval_posts) */
    int has_clip;
    double clip_recall[2][FKE_CLIP_NK];
} fke_eval_result;

/* Checks sizes and label counts of d against the model config c; the message
 * names the file and the field. */
fke_status fke_check_dataset(const fke_config *c, const fke_dataset *d, fke_err *e);
fke_status fke_check_imageset(const fke_config *c, const fke_imageset *s, fke_err *e);

/* Evaluates m (eval mode) on every post of d. r is filled (free with
 * fke_eval_result_free). Truth: the true labels where the data has them,
 * else the training labels of clean posts. */
fke_status fke_evaluate(fke_model *m, const fke_dataset *d, fke_eval_result *r, fke_err *e);
/* Progress of an evaluation: fn(ctx, posts done, posts in all) after each batch. */
typedef struct {
    void (*fn)(void *ctx, long done, long total);
    void *ctx;
} fke_eval_watch;
/* fke_evaluate with progress w (may be NULL), across the processes of
 * data-parallel training when dist is active with size > 1 (collective):
 * each rank evaluates its shard of every batch (fke_loader_shard) and the
 * counts are summed, so every rank gets the single-process numbers. */
fke_status fke_evaluate_run(fke_model *m, const fke_dataset *d, const fke_eval_watch *w,
                            const fke_dist *dist, fke_eval_result *r, fke_err *e);
/* Classification accuracy/F1 of task classify on s: r->cat holds them. */
fke_status fke_evaluate_images(fke_model *m, const fke_imageset *s, fke_eval_result *r,
                               fke_err *e);
void fke_eval_result_free(fke_eval_result *r);
/* One number to pick the best checkpoint: mean of the accuracies present
 * (the plain att_acc, never the applicable one). Occasion counts only when
 * the data has an occasion label (fke_eval_has_occ): DeepFashion2 has none.
 * Task multilabel: the mean of category top-3 accuracy and overall
 * attribute recall@3 (pooled). Task clip: the mean of the six retrieval
 * recalls (both directions, k = 1, 5, 10). */
double fke_eval_score(const fke_eval_result *r);
/* Whether the evaluated posts carried any occasion label. */
int fke_eval_has_occ(const fke_eval_result *r);
#endif
