/* metrics.h - docs/model.md "Metrics": accuracy and macro-F1 from a confusion
 * matrix, confusion matrices to CSV, and the mean absolute error between two
 * transition matrices. */
#ifndef FKE_METRICS_H
#define FKE_METRICS_H
#include <stdio.h>

#include "core/fke.h"

typedef struct {
    int n;          /* classes */
    long long *cm;  /* (n, n) counts, row = true class, column = prediction */
} fke_confusion;

fke_status fke_confusion_init(fke_confusion *c, int n, fke_err *e);
void fke_confusion_free(fke_confusion *c);
void fke_confusion_add(fke_confusion *c, int truth, int pred); /* ignores truth < 0 */
long long fke_confusion_total(const fke_confusion *c);
double fke_confusion_accuracy(const fke_confusion *c);
/* Mean F1 over the classes that occur as truth or prediction (F1 = 0 for a
 * class never predicted correctly), as scikit-learn's macro average. */
double fke_confusion_macro_f1(const fke_confusion *c);
/* CSV: header "true\\pred,name0,...", one row per true class. names may be NULL. */
/* s as one CSV cell (RFC 4180: quoted, quotes doubled, when it holds a
 * comma, a quote or a line break), to f or into out (n bytes, room for
 * 2 * strlen(s) + 3; returns the length written). Every CSV fke writes. */
void fke_csv_cell(FILE *f, const char *s);
size_t fke_csv_cell_str(char *out, size_t n, const char *s);
fke_status fke_confusion_write_csv(const fke_confusion *c, char *const *names,
                                   const char *path, fke_err *e);
/* Per-class precision, recall, F1 and support to CSV (written atomically),
 * the one writer of this table (`fke eval --report`, category_prf.csv):
 * header "class,precision,recall,f1,support", one row per class in the
 * label order (its name's first 150 bytes as a CSV cell; zero-support
 * classes kept), then "macro average" over the classes that occur as truth
 * or prediction (as fke_confusion_macro_f1) with the total support, and
 * "accuracy,,,ACC,TOTAL". A class never predicted has precision 0, one that
 * never occurs recall 0 (scikit-learn's zero_division=0). */
fke_status fke_confusion_write_prf_csv(const fke_confusion *c, char *const *names,
                                       const char *path, fke_err *e);
/* mean_ij |a_ij - b_ij| over n x n */
double fke_matrix_mae(const float *a, const float *b, int n);

/* ---- ranking metrics of the DeepFashion benchmark -------------------------
 * Ties: scores are ranked in descending order and equal scores by ascending
 * index (the order of fke_scored_sort and of argmax taking the first
 * maximum), so a result never depends on the machine or on a sort's whims. */

/* 0-based rank of class truth among scores (n): the classes scored higher,
 * plus the equal ones of lower index. truth is in top-k when rank < k. */
int fke_rank_of(const float *scores, int n, int truth);

/* Attribute recall@k (the DeepFashion papers' "top-k recall"), as the
 * evaluation code of Liu et al. (ECCV 2018 workshop, whose README tabulates
 * the published results) computes it: per image, the k highest scores are
 * the predicted attributes and each positive label among them is a hit;
 * for all attributes the k are taken among all M scores, for a type among
 * the scores of that type's attributes only. Unknown labels (-1) are neither
 * positives nor negatives. Two averages:
 *   pooled:  hits / positives summed over the images and the attributes
 *            (every positive label weighs the same: that code's average,
 *            and so the one the published table uses);
 *   per attribute: the mean over attributes with at least one positive of
 *            that attribute's hits / positives (rare attributes weigh as
 *            much as frequent ones; printed beside it). */
#define FKE_RECALL_NK 2 /* k = 3 and 5 */
extern const int fke_recall_k[FKE_RECALL_NK];
typedef struct {
    int M;
    long long n;      /* images added */
    int32_t *type;    /* (M) each attribute's type (a copy; all 0 without types) */
    long long *pos;   /* (M) positive labels seen */
    long long *hit;   /* (FKE_RECALL_NK, M) of them in the top k of all attributes */
    long long *hit_t; /* (FKE_RECALL_NK, M) of them in the top k of their type */
} fke_recall;

/* type (M) >= 0, or NULL (one type) */
fke_status fke_recall_init(fke_recall *r, int M, const int32_t *type, fke_err *e);
void fke_recall_free(fke_recall *r);
/* One image: scores (M), labels (M) 1 / 0 / -1. */
void fke_recall_add(fke_recall *r, const float *scores, const int32_t *labels);
/* recall@fke_recall_k[j] over all attributes (t < 0) or type t (top k
 * within the type); NAN when they have no positive. */
double fke_recall_pooled(const fke_recall *r, int j, int t);
double fke_recall_per_attr(const fke_recall *r, int j, int t);
#endif
