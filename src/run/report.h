/* report.h - `fke eval --report DIR`: per task (occasion, category, each
 * attribute; task classify: the classes), DIR/report_TASK.csv with every
 * class's precision, recall, F1 and support (true garments or posts) in the
 * label order, zero-support classes kept, then the macro average over the
 * classes that occur (as fke_confusion_macro_f1) and the accuracy; and
 * DIR/confusion_TASK.png, the confusion matrix as a heat map
 * (run/heatmap.h) of each true class's share per predicted class, the
 * counts in the cells, with a colour bar.
 *
 * Precision of a class never predicted and recall of a class never true are
 * 0 in the CSV (as scikit-learn's zero_division=0). */
#ifndef FKE_REPORT_H
#define FKE_REPORT_H
#include "run/eval.h"

/* names: the label names of each task, NULL for indices: occ (n_occ),
 * cat (n_cat), attr (A) and val[k] (n_val[k]). */
typedef struct {
    char **occ, **cat, **attr, **val[FKE_MAX_ATTR];
} fke_report_names;

fke_status fke_report_write(const fke_eval_result *r, const fke_report_names *nm,
                            const char *dir, fke_err *e);
#endif
