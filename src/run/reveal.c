/* reveal.c - see reveal.h. */
#include "run/reveal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

fke_status fke_reveal_read_ids(const char *path, int32_t **ids, long *n, fke_err *e)
{
    *ids = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return fke_fail(e, FKE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long k = 0, room = 0, lineno = 0;
    int32_t *v = NULL;
    fke_status st = FKE_OK;
    while (st == FKE_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (blank(line)) continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *p = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "post") : NULL;
        double x = cJSON_IsNumber(p) ? p->valuedouble : NAN;
        if (!j || !cJSON_IsObject(j))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld is not a JSON object (expected "
                          "{\"post\": ID, ...} as fke query writes)", path, lineno);
        else if (!p)
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld has no \"post\" member", path, lineno);
        else if (!(x == floor(x) && x >= -2147483648.0 && x <= 2147483647.0))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: \"post\" is not an integer", path,
                          lineno);
        cJSON_Delete(j);
        if (st != FKE_OK) break;
        if (k == room) {
            room = room ? 2 * room : 64;
            int32_t *w = realloc(v, (size_t)room * sizeof *v);
            if (!w) {
                st = fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory at line %ld", path, lineno);
                break;
            }
            v = w;
        }
        v[k++] = (int32_t)x;
    }
    if (st == FKE_OK && ferror(f))
        st = fke_fail(e, FKE_ERR_IO, "%s: read error (%s)", path, strerror(errno));
    if (st == FKE_OK && k == 0)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: no post ids (an empty query)", path);
    free(line);
    fclose(f);
    if (st != FKE_OK) {
        free(v);
        return st;
    }
    *ids = v;
    *n = k;
    return FKE_OK;
}

fke_status fke_reveal_apply(fke_dataset *d, const int32_t *ids, long n, fke_reveal_stats *st,
                            fke_err *e)
{
    memset(st, 0, sizeof *st);
    const int G = d->G, A = d->A;
    long known = 0;
    for (size_t i = 0; i < (size_t)d->N * G; i++) known += d->cat_true[i] >= 0;
    if (known == 0)
        return fke_fail(e, FKE_ERR_ARG, "%s: no true labels (labels/category_true is -1 for "
                        "every garment): there is nothing to reveal", d->path);
    uint8_t *seen = calloc((size_t)d->N + 1, 1);
    if (!seen) return fke_fail(e, FKE_ERR_NOMEM, "reveal: out of memory");
    fke_status s = FKE_OK;
    for (long r = 0; r < n && s == FKE_OK; r++) {
        int32_t i = ids[r];
        if (i < 0 || i >= d->N) {
            s = fke_fail(e, FKE_ERR_ARG, "%s: post id %d (query entry %ld) is out of range "
                         "0..%d", d->path, i, r + 1, d->N - 1);
            break;
        }
        if (seen[i]) {
            s = fke_fail(e, FKE_ERR_ARG, "%s: post %d is queried twice (entry %ld)", d->path, i,
                         r + 1);
            break;
        }
        seen[i] = 1;
        if (d->clean[i]) {
            s = fke_fail(e, FKE_ERR_ARG, "%s: post %d (query entry %ld) is already clean", d->path,
                         i, r + 1);
            break;
        }
        for (int g = 0; g < d->n_garments[i] && s == FKE_OK; g++) {
            size_t o = (size_t)i * G + g;
            if (d->cat_true[o] < 0)
                s = fke_fail(e, FKE_ERR_ARG, "%s: post %d garment %d has no true category "
                             "(labels/category_true is -1)", d->path, i, g);
            for (int k = 0; k < A && s == FKE_OK; k++)
                if (d->attr_true[o * A + k] < 0)
                    s = fke_fail(e, FKE_ERR_ARG, "%s: post %d garment %d has no true %s "
                                 "(labels/attribute_true is -1)", d->path, i, g,
                                 d->attr_names ? d->attr_names[k] : "attribute");
        }
    }
    free(seen);
    if (s != FKE_OK) return s;
    for (long r = 0; r < n; r++) {
        int32_t i = ids[r];
        for (int g = 0; g < d->n_garments[i]; g++) {
            size_t o = (size_t)i * G + g;
            st->cat_changed += d->cat[o] != d->cat_true[o];
            d->cat[o] = d->cat_true[o];
            for (int k = 0; k < A; k++) {
                st->attr_changed += d->attr[o * A + k] != d->attr_true[o * A + k];
                d->attr[o * A + k] = d->attr_true[o * A + k];
            }
            st->garments++;
            st->attr_labels += A;
        }
        d->clean[i] = 1;
        st->posts++;
    }
    for (int i = 0; i < d->N; i++) st->clean_after += d->clean[i];
    return FKE_OK;
}

fke_status fke_reveal_run(const char *data, const char *query, const char *out,
                          fke_reveal_stats *st, fke_err *e)
{
    if (!data || !query || !out)
        return fke_fail(e, FKE_ERR_ARG, "reveal: DATA, QUERY and OUT are all needed");
    int32_t *ids;
    long n;
    FKE_TRY(fke_reveal_read_ids(query, &ids, &n, e));
    fke_dataset d;
    fke_status s = fke_dataset_load(&d, data, e);
    if (s != FKE_OK) {
        free(ids);
        return s;
    }
    s = fke_reveal_apply(&d, ids, n, st, e);
    free(ids);
    if (s == FKE_OK) s = fke_dataset_save(&d, out, e);
    fke_dataset_free(&d);
    return s;
}
