/* split.c - see split.h. */
#include "data/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The held-out flags (n) of split.h's rule over a pool (pool[i] != 0); *k
 * receives how many. */
static fke_status draw(int n, const uint8_t *pool, double fraction, uint8_t **out, int *k,
                       fke_err *e)
{
    size_t n1 = n > 0 ? (size_t)n : 1;
    *out = calloc(n1, 1);
    int *ids = malloc(n1 * sizeof *ids);
    if (!*out || !ids) {
        free(*out), free(ids);
        *out = NULL;
        return fke_fail(e, FKE_ERR_NOMEM, "validation split: no memory for %d posts", n);
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (pool[i]) ids[m++] = i;
    int want = (int)lround(fraction * m);
    if (want < 1 && fraction > 0) want = 1;
    if (want > m - 1) want = m - 1;
    if (want < 0) want = 0;
    fke_rng r;
    fke_rng_seed(&r, FKE_SPLIT_SEED);
    for (int i = 0; i < want; i++) { /* a partial Fisher-Yates shuffle */
        int j = i + (int)fke_rng_below(&r, (uint32_t)(m - i));
        int t = ids[i];
        ids[i] = ids[j], ids[j] = t;
        (*out)[ids[i]] = 1;
    }
    free(ids);
    *k = want;
    return FKE_OK;
}

fke_status fke_dataset_holdout(fke_dataset *d, double fraction, fke_dataset *val, int *held,
                               fke_err *e)
{
    *held = 0;
    int has_clean = 0, has_machine = 0;
    for (int i = 0; i < d->N; i++) has_clean |= d->clean[i] != 0, has_machine |= d->clean[i] == 0;
    uint8_t *pool = malloc(d->N > 0 ? (size_t)d->N : 1), *take;
    if (!pool) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for a validation split", d->path);
    for (int i = 0; i < d->N; i++) pool[i] = has_clean && has_machine ? d->clean[i] != 0 : 1;
    int k;
    fke_status st = draw(d->N, pool, fraction, &take, &k, e);
    free(pool);
    if (st != FKE_OK || k == 0) {
        free(take);
        return st;
    }
    fke_dataset keep;
    st = fke_dataset_subset(d, take, val, e);
    for (int i = 0; i < d->N; i++) take[i] = !take[i];
    if (st == FKE_OK && (st = fke_dataset_subset(d, take, &keep, e)) != FKE_OK) fke_dataset_free(val);
    free(take);
    if (st != FKE_OK) return st;
    fke_dataset_free(d);
    *d = keep;
    *held = k;
    return FKE_OK;
}

fke_status fke_imageset_holdout(fke_imageset *s, double fraction, fke_imageset *val, int *held,
                                fke_err *e)
{
    *held = 0;
    uint8_t *pool = malloc(s->N > 0 ? (size_t)s->N : 1), *take;
    if (!pool) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for a validation split", s->path);
    memset(pool, 1, s->N > 0 ? (size_t)s->N : 1);
    int k;
    fke_status st = draw(s->N, pool, fraction, &take, &k, e);
    free(pool);
    if (st != FKE_OK || k == 0) {
        free(take);
        return st;
    }
    fke_imageset keep;
    st = fke_imageset_subset(s, take, val, e);
    for (int i = 0; i < s->N; i++) take[i] = !take[i];
    if (st == FKE_OK && (st = fke_imageset_subset(s, take, &keep, e)) != FKE_OK) fke_imageset_free(val);
    free(take);
    if (st != FKE_OK) return st;
    fke_imageset_free(s);
    *s = keep;
    *held = k;
    return FKE_OK;
}
