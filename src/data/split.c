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

#define COPY_ROWS(field, per)                                                                  \
    do {                                                                                       \
        if (s->field && o->field)                                                              \
            memcpy(o->field + (size_t)j * (per), s->field + (size_t)i * (per),                 \
                   (size_t)(per) * sizeof *s->field);                                          \
    } while (0)

/* The posts with take[i] == want of s, as a complete dataset o. */
static fke_status subset(const fke_dataset *s, const uint8_t *take, int want, fke_dataset *o,
                         fke_err *e)
{
    memset(o, 0, sizeof *o);
    int n = 0;
    for (int i = 0; i < s->N; i++) n += take[i] == want;
    o->N = n, o->G = s->G, o->A = s->A, o->L = s->L;
    o->img = s->img, o->crop = s->crop, o->C = s->C;
    o->n_occ = s->n_occ, o->n_cat = s->n_cat, o->V = s->V;
    memcpy(o->n_val, s->n_val, sizeof o->n_val);
    o->jpeg_quality = s->jpeg_quality;
    memcpy(o->path, s->path, sizeof o->path);
    memcpy(o->src_file, s->src_file, sizeof o->src_file);
    memcpy(o->generator, s->generator, sizeof o->generator);
    fke_status st = fke_dataset_alloc(o, e);
    if (st != FKE_OK) goto fail;
    size_t G = (size_t)s->G, A = s->A ? (size_t)s->A : 1;
    size_t im = (size_t)s->C * s->img * s->img, cr = G * s->C * s->crop * s->crop;
    if (s->src_index && !(o->src_index = malloc((n ? (size_t)n : 1) * G * 4))) goto nomem;
    for (int i = 0, j = 0; i < s->N; i++) {
        if (take[i] != want) continue;
        if (!s->jpeg_quality) {
            COPY_ROWS(images, im);
            COPY_ROWS(crops, cr);
        } else {
            for (size_t k = (size_t)i * (G + 1); k < ((size_t)i + 1) * (G + 1); k++) {
                uint8_t *b;
                size_t nb;
                if ((st = fke_dataset_jpeg_stream(s, (int64_t)k, &b, &nb, e)) != FKE_OK) goto fail;
                st = fke_dataset_jpeg_append(o, b, nb, e);
                free(b);
                if (st != FKE_OK) goto fail;
            }
        }
        COPY_ROWS(n_garments, 1);
        COPY_ROWS(boxes, G * 4);
        COPY_ROWS(tokens, (size_t)s->L);
        COPY_ROWS(occ, 1);
        COPY_ROWS(cat, G);
        if (s->A) COPY_ROWS(attr, G * A); /* A = 0: a loaded set holds no attribute bytes */
        COPY_ROWS(clean, 1);
        COPY_ROWS(cat_true, G);
        if (s->A) COPY_ROWS(attr_true, G * A);
        COPY_ROWS(cat_machine, G);
        if (s->A) COPY_ROWS(attr_machine, G * A);
        COPY_ROWS(person, G * 2);
        COPY_ROWS(src_index, G);
        j++;
    }
    if (s->T_true) {
        size_t nT = fke_dataset_T_offset(s, s->A);
        nT += (size_t)fke_dataset_T_side(s, s->A) * fke_dataset_T_side(s, s->A);
        if (!(o->T_true = malloc(nT * sizeof *o->T_true))) goto nomem;
        memcpy(o->T_true, s->T_true, nT * sizeof *o->T_true);
    }
    if (s->word_vectors) {
        size_t nw = (size_t)s->V * s->wv_dim;
        if (!(o->word_vectors = malloc(nw * sizeof *o->word_vectors))) goto nomem;
        memcpy(o->word_vectors, s->word_vectors, nw * sizeof *o->word_vectors);
        o->wv_dim = s->wv_dim;
    }
    o->n_ml = s->n_ml, o->n_ml_types = s->n_ml_types;
    if ((s->ml_names && !(o->ml_names = fke_strings_dup((const char *const *)s->ml_names, s->n_ml))) ||
        (s->ml_type_names &&
         !(o->ml_type_names = fke_strings_dup((const char *const *)s->ml_type_names, s->n_ml_types))))
        goto nomem;
    if ((s->occ_names && !(o->occ_names = fke_strings_dup((const char *const *)s->occ_names, s->n_occ))) ||
        (s->cat_names && !(o->cat_names = fke_strings_dup((const char *const *)s->cat_names, s->n_cat))) ||
        (s->attr_names && !(o->attr_names = fke_strings_dup((const char *const *)s->attr_names, s->A))) ||
        (s->vocab && !(o->vocab = fke_strings_dup((const char *const *)s->vocab, s->V))))
        goto nomem;
    if (s->val_names) {
        if (!(o->val_names = calloc((size_t)(s->A ? s->A : 1), sizeof *o->val_names))) goto nomem;
        for (int k = 0; k < s->A; k++)
            if (s->val_names[k] &&
                !(o->val_names[k] = fke_strings_dup((const char *const *)s->val_names[k], s->n_val[k])))
                goto nomem;
    }
    for (int x = 0; x < s->n_extra; x++) { /* per-post arrays (first side N) are cut */
        const fke_extra *ex = &s->extra[x];
        /* the arrays over labels, not posts, are kept whole */
        int per_post = ex->dims[0] == s->N && strcmp(ex->name, "applicable") != 0 &&
                       strcmp(ex->name, "ml_type") != 0;
        if (!per_post) {
            if ((st = fke_dataset_extra_set(o, ex->name, ex->ndim, ex->dims, ex->v, e)) != FKE_OK) goto fail;
            if ((st = fke_dataset_extra_names(o, ex->name, (const char *const *)ex->names,
                                              ex->n_names, e)) != FKE_OK)
                goto fail;
            continue;
        }
        size_t row = 1;
        for (int k = 1; k < ex->ndim; k++) row *= (size_t)ex->dims[k];
        int32_t *v = malloc((n ? (size_t)n : 1) * row * sizeof *v);
        if (!v) goto nomem;
        for (int i = 0, j = 0; i < s->N; i++)
            if (take[i] == want) memcpy(v + (size_t)j++ * row, ex->v + (size_t)i * row, row * sizeof *v);
        int dims[3] = {n, ex->dims[1], ex->dims[2]};
        st = fke_dataset_extra_set(o, ex->name, ex->ndim, dims, v, e);
        free(v);
        if (st == FKE_OK)
            st = fke_dataset_extra_names(o, ex->name, (const char *const *)ex->names, ex->n_names, e);
        if (st != FKE_OK) goto fail;
    }
    return FKE_OK;
nomem:
    st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for a validation split", s->path);
fail:
    fke_dataset_free(o);
    return st;
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
    st = subset(d, take, 1, val, e);
    if (st == FKE_OK && (st = subset(d, take, 0, &keep, e)) != FKE_OK) fke_dataset_free(val);
    free(take);
    if (st != FKE_OK) return st;
    fke_dataset_free(d);
    *d = keep;
    *held = k;
    return FKE_OK;
}

static fke_status image_subset(const fke_imageset *s, const uint8_t *take, int want,
                               fke_imageset *o, fke_err *e)
{
    memset(o, 0, sizeof *o);
    int n = 0;
    for (int i = 0; i < s->N; i++) n += take[i] == want;
    *o = (fke_imageset){.N = n, .C = s->C, .H = s->H, .W = s->W, .n_cls = s->n_cls};
    memcpy(o->path, s->path, sizeof o->path);
    memcpy(o->noise, s->noise, sizeof o->noise);
    size_t px = (size_t)s->C * s->H * s->W, n1 = n ? (size_t)n : 1;
    o->images = malloc(n1 * px);
    o->labels = malloc(n1 * sizeof *o->labels);
    if (s->labels_true) o->labels_true = malloc(n1 * sizeof *o->labels_true);
    if (s->T_true) o->T_true = malloc((size_t)s->n_cls * s->n_cls * sizeof *o->T_true);
    if (s->class_names) o->class_names = fke_strings_dup((const char *const *)s->class_names, s->n_cls);
    if (!o->images || !o->labels || (s->labels_true && !o->labels_true) ||
        (s->T_true && !o->T_true) || (s->class_names && !o->class_names)) {
        fke_imageset_free(o);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for a validation split", s->path);
    }
    if (s->T_true) memcpy(o->T_true, s->T_true, (size_t)s->n_cls * s->n_cls * sizeof *o->T_true);
    for (int i = 0, j = 0; i < s->N; i++) {
        if (take[i] != want) continue;
        COPY_ROWS(images, px);
        COPY_ROWS(labels, 1);
        COPY_ROWS(labels_true, 1);
        j++;
    }
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
    st = image_subset(s, take, 1, val, e);
    if (st == FKE_OK && (st = image_subset(s, take, 0, &keep, e)) != FKE_OK) fke_imageset_free(val);
    free(take);
    if (st != FKE_OK) return st;
    fke_imageset_free(s);
    *s = keep;
    *held = k;
    return FKE_OK;
}
