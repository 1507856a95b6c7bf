/* report.c - see report.h. */
#include "run/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "run/heatmap.h"
#include "run/metrics.h"

static fke_status one_task(const fke_confusion *c, char **names, const char *task,
                           const char *dir, fke_err *e)
{
    int n = c->n;
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s/report_%s.csv", dir, task);
    FKE_TRY(fke_confusion_write_prf_csv(c, names, path, e));
    double *share = malloc((size_t)n * n * sizeof *share);
    char **cells = calloc((size_t)n * n, sizeof *cells);
    char *cellbuf = malloc((size_t)n * n * 24);
    fke_status st = FKE_OK;
    if (!share || !cells || !cellbuf) {
        st = fke_fail(e, FKE_ERR_NOMEM, "report %s: out of memory", task);
        goto done;
    }
    long long total = fke_confusion_total(c), right = 0;
    for (int i = 0; i < n; i++) {
        long long row = 0;
        right += c->cm[(size_t)i * n + i];
        for (int j = 0; j < n; j++) row += c->cm[(size_t)i * n + j];
        for (int j = 0; j < n; j++) {
            long long v = c->cm[(size_t)i * n + j];
            share[(size_t)i * n + j] = row ? (double)v / row : 0;
            cells[(size_t)i * n + j] = cellbuf + ((size_t)i * n + j) * 24;
            snprintf(cells[(size_t)i * n + j], 24, v ? "%lld" : "", v);
        }
    }
    char title[200];
    snprintf(title, sizeof title, "%s: confusion (%lld, accuracy %.3f)", task, total,
             total ? (double)right / total : 0);
    fke_heatmap h = {.title = title, .row_title = "true class", .col_title = "predicted class",
                     .scale_title = "share of the true class", .rows = n, .cols = n, .v = share,
                     .cell_text = cells, .row_names = names, .col_names = names};
    snprintf(path, sizeof path, "%s/confusion_%s.png", dir, task);
    st = fke_heatmap_write(&h, path, e);
done:
    free(share), free(cells), free(cellbuf);
    return st;
}

fke_status fke_report_write(const fke_eval_result *r, const fke_report_names *nm,
                            const char *dir, fke_err *e)
{
    FKE_TRY(fke_mkdir_p(dir, e));
    if (!r->occ.cm) return one_task(&r->cat, nm->cat, "class", dir, e); /* task classify */
    FKE_TRY(one_task(&r->occ, nm->occ, "occasion", dir, e));
    FKE_TRY(one_task(&r->cat, nm->cat, "category", dir, e));
    for (int k = 0; k < r->n_attr; k++) {
        char task[64];
        if (nm->attr && nm->attr[k] && !strchr(nm->attr[k], '/'))
            snprintf(task, sizeof task, "%.60s", nm->attr[k]);
        else
            snprintf(task, sizeof task, "attribute%d", k);
        FKE_TRY(one_task(&r->att[k], nm->val[k], task, dir, e));
    }
    return FKE_OK;
}
