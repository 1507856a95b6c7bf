/* metrics.h - docs/model.md "Metrics": accuracy and macro-F1 from a confusion
 * matrix, confusion matrices to CSV, and the mean absolute error between two
 * transition matrices. */
#ifndef FKE_METRICS_H
#define FKE_METRICS_H
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
fke_status fke_confusion_write_csv(const fke_confusion *c, char *const *names,
                                   const char *path, fke_err *e);
/* mean_ij |a_ij - b_ij| over n x n */
double fke_matrix_mae(const float *a, const float *b, int n);
#endif
