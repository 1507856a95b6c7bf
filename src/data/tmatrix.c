/* tmatrix.c - see tmatrix.h. */
#include "data/tmatrix.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

void fke_tmatrix_free(fke_tmatrices *tm)
{
    for (int t = 0; t < tm->ntask; t++) free(tm->T[t]);
    memset(tm, 0, sizeof *tm);
}

static fke_status alloc_tasks(fke_tmatrices *tm, int ntask, const int *n, fke_err *e)
{
    memset(tm, 0, sizeof *tm);
    tm->ntask = ntask;
    for (int t = 0; t < ntask; t++) {
        tm->n[t] = n[t];
        tm->T[t] = calloc((size_t)n[t] * n[t], sizeof(float));
        if (!tm->T[t]) {
            fke_tmatrix_free(tm);
            return fke_fail(e, FKE_ERR_NOMEM, "transition: out of memory");
        }
    }
    return FKE_OK;
}

fke_status fke_tmatrix_load(fke_tmatrices *tm, const char *path, const fke_config *c, fke_err *e)
{
    memset(tm, 0, sizeof *tm); /* a refused file frees nothing it did not allocate */
    int cls = c->task == FKE_TASK_CLASSIFY; /* one matrix, over the classes */
    int n[1 + FKE_MAX_ATTR], ntask = cls ? 1 : 1 + c->n_attr;
    n[0] = c->n_cat;
    for (int k = 0; !cls && k < c->n_attr; k++) n[k + 1] = c->n_val[k];
    cJSON *root;
    FKE_TRY(fke_read_json(path, 64u << 20, &root, e));
    fke_status st = FKE_OK;
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(root, "tasks");
    if (!cJSON_IsArray(tasks))
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: key \"tasks\" (an array of {name, T}) is missing", path);
    else if (cJSON_GetArraySize(tasks) != ntask)
        st = cls ? fke_fail(e, FKE_ERR_FORMAT, "%s: \"tasks\" has %d matrices, task classify "
                                               "needs 1 (%dx%d, over the classes)",
                            path, cJSON_GetArraySize(tasks), c->n_cat, c->n_cat)
                 : fke_fail(e, FKE_ERR_FORMAT, "%s: \"tasks\" has %d matrices, the model needs %d "
                                               "(category + %d attributes)",
                            path, cJSON_GetArraySize(tasks), ntask, c->n_attr);
    if (st == FKE_OK) st = alloc_tasks(tm, ntask, n, e);
    for (int t = 0; st == FKE_OK && t < ntask; t++) {
        cJSON *T = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tasks, t), "T");
        if (!cJSON_IsArray(T) || cJSON_GetArraySize(T) != n[t]) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: tasks[%d].T must be a %dx%d matrix", path, t,
                          n[t], n[t]);
            break;
        }
        for (int i = 0; st == FKE_OK && i < n[t]; i++) {
            cJSON *row = cJSON_GetArrayItem(T, i);
            if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != n[t]) {
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: tasks[%d].T row %d must have %d numbers",
                              path, t, i, n[t]);
                break;
            }
            double sum = 0;
            for (int j = 0; j < n[t]; j++) {
                cJSON *v = cJSON_GetArrayItem(row, j);
                if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1) {
                    st = fke_fail(e, FKE_ERR_FORMAT,
                                  "%s: tasks[%d].T[%d][%d] must be a number in [0, 1]", path, t, i, j);
                    break;
                }
                tm->T[t][i * n[t] + j] = (float)v->valuedouble;
                sum += v->valuedouble;
            }
            if (st == FKE_OK && fabs(sum - 1) > 1e-3)
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: tasks[%d].T row %d sums to %.6f, not 1", path,
                              t, i, sum);
        }
    }
    cJSON_Delete(root);
    if (st != FKE_OK) fke_tmatrix_free(tm);
    return st;
}

fke_status fke_tmatrix_save(const fke_tmatrices *tm, const char *path, char *const *names,
                            fke_err *e)
{
    fke_atomic a;
    FKE_TRY(fke_atomic_open(&a, path, e));
    FILE *f = a.f;
    fprintf(f, "{\"format\": \"fke-transition\", \"tasks\": [\n");
    for (int t = 0; t < tm->ntask; t++) {
        if (names && names[t]) {
            cJSON *s = cJSON_CreateString(names[t]);
            char *q = cJSON_PrintUnformatted(s);
            fprintf(f, "  {\"name\": %s, \"T\": [", q);
            free(q);
            cJSON_Delete(s);
        } else {
            fprintf(f, "  {\"name\": \"task%d\", \"T\": [", t);
        }
        int n = tm->n[t];
        for (int i = 0; i < n; i++) {
            fprintf(f, "%s\n    [", i ? "," : "");
            for (int j = 0; j < n; j++) fprintf(f, "%s%.6f", j ? ", " : "", tm->T[t][i * n + j]);
            fprintf(f, "]");
        }
        fprintf(f, "]}%s\n", t + 1 < tm->ntask ? "," : "");
    }
    fprintf(f, "]}\n");
    return fke_atomic_commit(&a, "transition matrices", e);
}

fke_status fke_tmatrix_from_overlap(fke_tmatrices *tm, const fke_dataset *d, double alpha,
                                    long *used, fke_err *e)
{
    int n[1 + FKE_MAX_ATTR] = {0}, ntask = 1 + d->A;
    for (int t = 0; t < ntask; t++) n[t] = t ? d->n_val[t - 1] : d->n_cat;
    FKE_TRY(alloc_tasks(tm, ntask, n, e));
    *used = 0;
    for (int t = 0; t < ntask; t++) {
        int side = n[t];
        float *T = tm->T[t];
        long *counts = calloc((size_t)side, sizeof(long));
        if (!counts) {
            fke_tmatrix_free(tm);
            return fke_fail(e, FKE_ERR_NOMEM, "transition: out of memory");
        }
        long got = fke_dataset_T_empirical(d, t, T, counts);
        if (t == 0) *used = got;
        for (int i = 0; i < side; i++) {
            double ci = (double)counts[i];
            for (int j = 0; j < side; j++) {
                float *x = &T[i * side + j];
                if (counts[i] == 0) *x = i == j ? 1.0f : 0.0f;
                else *x = (float)((*x * ci + alpha / side) / (ci + alpha));
            }
        }
        free(counts);
    }
    return FKE_OK;
}
