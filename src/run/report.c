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
    size_t cap = (size_t)n * 400 + 400, used = 0; /* a row: a cell of <= 303 bytes and 4 numbers */
    char *csv = malloc(cap);
    double *share = malloc((size_t)n * n * sizeof *share);
    char **cells = calloc((size_t)n * n, sizeof *cells);
    char *cellbuf = malloc((size_t)n * n * 24);
    fke_status st = FKE_OK;
    if (!csv || !share || !cells || !cellbuf) {
        st = fke_fail(e, FKE_ERR_NOMEM, "report %s: out of memory", task);
        goto done;
    }
    used += (size_t)snprintf(csv, cap, "class,precision,recall,f1,support\n");
    double sp = 0, sr = 0, sf = 0;
    int counted = 0;
    long long total = 0, right = 0;
    for (int i = 0; i < n; i++) {
        long long tp = c->cm[(size_t)i * n + i], row = 0, col = 0;
        for (int j = 0; j < n; j++) row += c->cm[(size_t)i * n + j], col += c->cm[(size_t)j * n + i];
        double p = col ? (double)tp / col : 0, rc = row ? (double)tp / row : 0;
        double f = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
        if (row || col) sp += p, sr += rc, sf += f, counted++;
        total += row, right += tp;
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        const char *nmi = names && names[i] ? names[i] : idx;
        char cell[304]; /* the first 150 bytes of the name, as a CSV cell */
        char cut[151];
        snprintf(cut, sizeof cut, "%s", nmi);
        fke_csv_cell_str(cell, sizeof cell, cut);
        used += (size_t)snprintf(csv + used, cap - used, "%s,%.6f,%.6f,%.6f,%lld\n", cell, p,
                                 rc, f, row);
        for (int j = 0; j < n; j++) {
            long long v = c->cm[(size_t)i * n + j];
            share[(size_t)i * n + j] = row ? (double)v / row : 0;
            cells[(size_t)i * n + j] = cellbuf + ((size_t)i * n + j) * 24;
            snprintf(cells[(size_t)i * n + j], 24, v ? "%lld" : "", v);
        }
    }
    used += (size_t)snprintf(csv + used, cap - used, "macro average,%.6f,%.6f,%.6f,%lld\n",
                             counted ? sp / counted : 0, counted ? sr / counted : 0,
                             counted ? sf / counted : 0, total);
    snprintf(csv + used, cap - used, "accuracy,,,%.6f,%lld\n", total ? (double)right / total : 0, total);
    snprintf(path, sizeof path, "%s/report_%s.csv", dir, task);
    if ((st = fke_write_file(path, csv, "report", e)) != FKE_OK) goto done;
    char title[200];
    snprintf(title, sizeof title, "%s: confusion (%lld, accuracy %.3f)", task, total,
             total ? (double)right / total : 0);
    fke_heatmap h = {.title = title, .row_title = "true class", .col_title = "predicted class",
                     .scale_title = "share of the true class", .rows = n, .cols = n, .v = share,
                     .cell_text = cells, .row_names = names, .col_names = names};
    snprintf(path, sizeof path, "%s/confusion_%s.png", dir, task);
    st = fke_heatmap_write(&h, path, e);
done:
    free(csv), free(share), free(cells), free(cellbuf);
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
