/* extract.c - posts to JSON lines of fashion knowledge (extract.h). */
#include "run/extract.h"

#include "core/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/loss.h"
#include "model/model_io.h"
#include "model/checkpoint.h"
#include "data/text.h"

static const char *const gender_names[2] = {"female", "male"};
static const char *const age_names[4] = {"<25", "25-39", "40-59", "60+"};

/* ---- names ----------------------------------------------------------------- */
void fke_extract_names_free(fke_extract_names *nm)
{
    fke_strings_free(nm->occ, nm->occ ? nm->n_occ : 0);
    fke_strings_free(nm->cat, nm->cat ? nm->n_cat : 0);
    fke_strings_free(nm->attr, nm->attr ? nm->A : 0);
    for (int k = 0; k < FKE_MAX_ATTR; k++)
        fke_strings_free(nm->val[k], nm->val[k] ? nm->n_val[k] : 0);
    memset(nm, 0, sizeof *nm);
}

static char **numbers(int n)
{
    char **s = calloc((size_t)n + 1, sizeof *s);
    for (int i = 0; s && i < n; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", i);
        if (!(s[i] = strdup(buf))) {
            fke_strings_free(s, i);
            return NULL;
        }
    }
    return s;
}

static fke_status check_names(const fke_config *c, const fke_dataset *d, const char *path,
                              fke_err *e)
{
    if (d->n_occ != c->n_occ)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /names/occasion has %d occasions, the model has n_occ = %d",
                        path, d->n_occ, c->n_occ);
    if (d->n_cat != c->n_cat)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /names/category has %d categories, the model has n_cat = %d",
                        path, d->n_cat, c->n_cat);
    if (d->A != c->n_attr)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /names/attribute has %d attributes, the model has n_attr = %d",
                        path, d->A, c->n_attr);
    for (int k = 0; k < d->A; k++)
        if (d->n_val[k] != c->n_val[k])
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /names/values_%d (attribute %s) has %d values, the model "
                            "has n_val[%d] = %d",
                            path, k, d->attr_names ? d->attr_names[k] : "?", d->n_val[k], k,
                            c->n_val[k]);
    return FKE_OK;
}

fke_status fke_extract_check_dataset(const fke_config *c, const fke_dataset *d,
                                     const char *path, fke_err *e)
{
    FKE_TRY(check_names(c, d, path, e));
    if (d->img != c->img)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /images holds %dx%d images, the model has img = %d", path,
                        d->img, d->img, c->img);
    if (d->crop != c->crop)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /crops holds %dx%d crops, the model has crop = %d", path,
                        d->crop, d->crop, c->crop);
    if (d->G != c->G)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /crops has %d garment slots per post, the model has G = %d",
                        path, d->G, c->G);
    if (d->L != c->L)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /tokens has %d tokens per caption, the model has L = %d", path,
                        d->L, c->L);
    if (d->V > c->V)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /vocab has %d words, more than the model's V = %d", path, d->V,
                        c->V);
    if (d->C != c->in_ch)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: field /images has %d channels, the model has in_ch = %d", path, d->C,
                        c->in_ch);
    return FKE_OK;
}

fke_status fke_extract_names_init(fke_extract_names *nm, const fke_config *c,
                                  const fke_dataset *d, const char *path, fke_err *e)
{
    memset(nm, 0, sizeof *nm);
    if (d) FKE_TRY(check_names(c, d, path, e));
    nm->n_occ = c->n_occ, nm->n_cat = c->n_cat, nm->A = c->n_attr;
    int ok = 1;
    nm->occ = d ? fke_strings_dup((const char *const *)d->occ_names, d->n_occ) : numbers(c->n_occ);
    nm->cat = d ? fke_strings_dup((const char *const *)d->cat_names, d->n_cat) : numbers(c->n_cat);
    nm->attr = d ? fke_strings_dup((const char *const *)d->attr_names, d->A) : numbers(c->n_attr);
    ok = nm->occ && nm->cat && nm->attr;
    for (int k = 0; k < c->n_attr; k++) {
        nm->n_val[k] = c->n_val[k];
        nm->val[k] = d ? fke_strings_dup((const char *const *)d->val_names[k], d->n_val[k])
                       : numbers(c->n_val[k]);
        ok &= nm->val[k] != NULL;
    }
    if (!ok) {
        fke_extract_names_free(nm);
        return fke_fail(e, FKE_ERR_NOMEM, "extract: no memory for label names");
    }
    return FKE_OK;
}

/* n names of one task as stored in the checkpoint (taken over, *stored set
 * to NULL), or numbers when it has none; the count must be the model's. */
static fke_status ckpt_task_names(char ***stored, int n_stored, int n_model, const char *ckpt,
                                  const char *field, const char *key, char ***out, fke_err *e)
{
    if (!*stored) {
        *out = numbers(n_model);
        return *out ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "extract: no memory for label names");
    }
    if (n_stored != n_model)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: field /names/%s has %d names, the model has %s = %d",
                        ckpt, field, n_stored, key, n_model);
    *out = *stored;
    *stored = NULL;
    return FKE_OK;
}

fke_status fke_extract_names_from_ckpt(fke_extract_names *nm, const fke_config *c,
                                       const char *ckpt, int *found, fke_err *e)
{
    int have = 0;
    if (found) *found = 0;
    fke_ckpt_names cn;
    FKE_TRY(fke_checkpoint_read_names(ckpt, &cn, &have, e));
    if (!have) return fke_extract_names_init(nm, c, NULL, NULL, e);
    memset(nm, 0, sizeof *nm);
    nm->n_occ = c->n_occ, nm->n_cat = c->n_cat, nm->A = c->n_attr;
    for (int k = 0; k < c->n_attr; k++) nm->n_val[k] = c->n_val[k];
    fke_status st = ckpt_task_names(&cn.occ, cn.n_occ, c->n_occ, ckpt, "occasion", "n_occ", &nm->occ, e);
    if (st == FKE_OK)
        st = ckpt_task_names(&cn.cat, cn.n_cat, c->n_cat, ckpt, "category", "n_cat", &nm->cat, e);
    if (st == FKE_OK)
        st = ckpt_task_names(&cn.attr, cn.A, c->n_attr, ckpt, "attribute", "n_attr", &nm->attr, e);
    for (int k = 0; st == FKE_OK && k < c->n_attr; k++) {
        char field[32], key[32];
        snprintf(field, sizeof field, "values_%d", k);
        snprintf(key, sizeof key, "n_val[%d]", k);
        st = ckpt_task_names(&cn.val[k], cn.n_val[k], c->n_val[k], ckpt, field, key, &nm->val[k], e);
    }
    fke_ckpt_names_free(&cn);
    if (st != FKE_OK) {
        fke_extract_names_free(nm);
        return st;
    }
    if (found) *found = 1;
    return FKE_OK;
}

/* ---- a picture as a one-post batch ----------------------------------------- */

static float norm_px(uint8_t p) { return (float)((p / 255.0 - FKE_PIXEL_MEAN) / FKE_PIXEL_STD); }

const char *fke_crop_mode_name(fke_crop_mode m)
{
    switch (m) {
    case FKE_CROP_AUTO: return "auto";
    case FKE_CROP_RESIZE: return "resize";
    case FKE_CROP_WINDOW: return "window";
    }
    return "?";
}

fke_crop_mode fke_extract_default_crop(const fke_config *c)
{
    /* Every post file fke makes has crops that show the garment's box filling
     * the crop: the importers stretch the box (fke_image_resize_chw), and
     * FashionKE-synth draws the garment alone 30 of 32 pixels wide (its
     * crops are not cut from its blurred whole image at all). The box
     * stretched to the crop is that geometry; a window keeps the garment at
     * its size in the picture. No checkpoint records a different one. */
    (void)c;
    return FKE_CROP_RESIZE;
}

fke_status fke_extract_image_batch(const fke_config *c, const fke_image *im,
                                   const int32_t *boxes, int nb, const int32_t *tokens, int nt,
                                   fke_crop_mode mode, fke_batch *b, fke_err *e)
{
    memset(b, 0, sizeof *b);
    int G = c->G, A = c->n_attr, S = c->img, P = c->crop, w = im->w, h = im->h;
    if (mode == FKE_CROP_AUTO) mode = fke_extract_default_crop(c);
    if (mode != FKE_CROP_RESIZE && mode != FKE_CROP_WINDOW)
        return fke_fail(e, FKE_ERR_ARG, "extract: crop mode %d is neither resize nor window",
                        (int)mode);
    if (c->in_ch != 3)
        return fke_fail(e, FKE_ERR_ARG, "extract: the model takes %d-channel images, not RGB",
                        c->in_ch);
    if (w < 1 || h < 1 || w > FKE_IMAGE_MAX_SIDE || h > FKE_IMAGE_MAX_SIDE)
        return fke_fail(e, FKE_ERR_ARG, "extract: a %dx%d picture (sides 1..%d)", w, h,
                        FKE_IMAGE_MAX_SIDE);
    if (nb < 1 || nb > G)
        return fke_fail(e, FKE_ERR_ARG, "extract: %d garment boxes given, the model takes 1..%d",
                        nb, G);
    /* boxes past the border are clipped to it, as the importers clip theirs
     * (fke_box_clip); one with nothing inside the picture is an error */
    int32_t clipped[4 * 64]; /* nb <= G <= 64 (core/config.c) */
    if (nb > 64) return fke_fail(e, FKE_ERR_ARG, "extract: %d garment boxes, at most 64", nb);
    for (int g = 0; g < nb; g++) {
        const int32_t *x = boxes + 4 * g;
        memcpy(clipped + 4 * g, x, 4 * sizeof *x);
        if (fke_box_clip(clipped + 4 * g, w, h) == FKE_BOX_EMPTY)
            return fke_fail(e, FKE_ERR_ARG,
                            "extract: box %d (%d,%d,%d,%d) is empty or outside the %dx%d picture",
                            g, x[0], x[1], x[2], x[3], w, h);
    }
    boxes = clipped;
    for (int t = 0; t < nt && t < c->L; t++)
        if (tokens[t] < 0 || tokens[t] >= c->V)
            return fke_fail(e, FKE_ERR_ARG,
                            "extract: caption token %d is %d, outside the vocabulary 0..%d", t,
                            tokens[t], c->V - 1);
    size_t ni = (size_t)3 * S * S, nc = (size_t)3 * P * P;
    uint8_t *px = malloc(ni + nc); /* (3, S, S) whole picture, then (3, P, P) one crop */
    if (!px) return fke_fail(e, FKE_ERR_NOMEM, "extract: no memory for the picture");
    fke_status st = fke_batch_alloc(b, 1, G, A, c->L, 3, S, P, e);
    if (st != FKE_OK) {
        free(px);
        return st;
    }
    /* the whole picture stretched to S x S, by the one rule (data/image.h) */
    const int32_t all[4] = {0, 0, w, h};
    fke_image_resize_chw(im, all, S, px);
    for (size_t i = 0; i < ni; i++) b->img_x[i] = norm_px(px[i]);
    b->n_garments[0] = nb;
    b->occ[0] = -1;
    for (int g = 0; g < G; g++) b->cat[g] = -1;
    for (int i = 0; i < G * A; i++) b->attr[i] = -1;
    for (int i = 0; i < G * 2; i++) b->person[i] = -1;
    for (int t = 0; t < nt && t < c->L; t++) b->tokens[t] = tokens[t];
    double kx = (double)S / w, ky = (double)S / h;
    for (int g = 0; g < nb; g++) {
        const int32_t *x = boxes + 4 * g;
        float *o = b->crop_x + (size_t)g * nc;
        memcpy(b->boxes + 4 * g, x, 4 * sizeof(int32_t));
        if (mode == FKE_CROP_RESIZE) {
            /* the box stretched to P x P, as the importers cut their crops */
            fke_image_resize_chw(im, x, P, px + ni);
            for (size_t i = 0; i < nc; i++) o[i] = norm_px(px[ni + i]);
            continue;
        }
        /* window: the P x P window of the resized picture centred on the box,
         * 0 (after normalisation) outside it */
        int cx = (int)floor((x[0] + x[2]) * 0.5 * kx);
        int cy = (int)floor((x[1] + x[3]) * 0.5 * ky);
        for (int ch = 0; ch < 3; ch++)
            for (int j = 0; j < P; j++)
                for (int i = 0; i < P; i++) {
                    int X = cx - P / 2 + i, Y = cy - P / 2 + j;
                    o[((size_t)ch * P + j) * P + i] =
                        (X >= 0 && Y >= 0 && X < S && Y < S)
                            ? b->img_x[((size_t)ch * S + Y) * S + X]
                            : 0.f;
                }
    }
    free(px);
    return FKE_OK;
}

/* ---- one batch to JSON lines ----------------------------------------------- */
static double r6(double p) { return round(p * 1e6) / 1e6; }

/* {"label": name, "prob": p} of the arg-max of row (n) of probs */
static cJSON *top1(const fke_real *p, int n, char **names)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "label", names[best]);
    cJSON_AddNumberToObject(o, "prob", r6(p[best]));
    return o;
}

void fke_extract_probs_free(fke_extract_probs *p)
{
    free(p->occ);
    free(p->cat);
    for (int k = 0; k < FKE_MAX_ATTR; k++) free(p->att[k]);
    free(p->gidx);
    memset(p, 0, sizeof *p);
}

/* softmax of z into a malloc'ed copy *out (numel(z)) */
static fke_status softmax_copy(fke_err *e, const fke_tensor *z, fke_real **out)
{
    size_t n = fke_numel(z);
    fke_tensor p = *z;
    p.data = malloc((n ? n : 1) * sizeof(fke_real));
    if (!p.data) return fke_fail(e, FKE_ERR_NOMEM, "extract: no memory for probabilities");
    fke_status st = fke_softmax_forward(e, z, &p);
    if (st != FKE_OK) free(p.data), p.data = NULL;
    *out = p.data;
    return st;
}

/* forward on b (prediction mode), probabilities of its first nw posts */
static fke_status predict(fke_model *m, const fke_batch *b, int nw, fke_extract_probs *p,
                          fke_err *e)
{
    memset(p, 0, sizeof *p);
    FKE_TRY(fke_model_forward(m, b, 0, e));
    const fke_model_out *o = &m->out;
    p->B = nw;
    for (int i = 0; i < nw; i++) p->nv += b->n_garments[i];
    fke_status st = softmax_copy(e, &o->occ, &p->occ);
    if (st == FKE_OK) st = softmax_copy(e, &o->cat, &p->cat);
    for (int k = 0; st == FKE_OK && k < m->cfg.n_attr; k++) st = softmax_copy(e, &o->att[k], &p->att[k]);
    if (st == FKE_OK && !(p->gidx = malloc(((size_t)p->nv + 1) * sizeof *p->gidx)))
        st = fke_fail(e, FKE_ERR_NOMEM, "extract: no memory");
    if (st == FKE_OK) memcpy(p->gidx, o->gidx, (size_t)p->nv * sizeof *p->gidx);
    if (st != FKE_OK) fke_extract_probs_free(p);
    return st;
}

/* lines for the first B posts of b, from their probabilities p */
static fke_status extract_lines(const fke_config *c, const fke_batch *b,
                                const fke_extract_probs *pr, const fke_extract_names *nm,
                                FILE *f, fke_err *e)
{
    int G = c->G, A = c->n_attr, B = pr->B;
    fke_status st = FKE_OK;
    int v = 0;
    for (int i = 0; st == FKE_OK && i < B; i++) {
        cJSON *j = cJSON_CreateObject(), *x;
        if (!j) {
            st = fke_fail(e, FKE_ERR_NOMEM, "extract: no memory");
            break;
        }
        cJSON_AddNumberToObject(j, "post", b->index ? b->index[i] : i);
        /* occasion with its top 3 */
        const fke_real *p = pr->occ + (size_t)i * c->n_occ;
        x = top1(p, c->n_occ, nm->occ);
        cJSON *top = cJSON_CreateArray();
        int used[3] = {-1, -1, -1};
        for (int r = 0; r < 3 && r < c->n_occ; r++) {
            int best = -1;
            for (int q = 0; q < c->n_occ; q++)
                if (q != used[0] && q != used[1] && (best < 0 || p[q] > p[best])) best = q;
            used[r] = best;
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateString(nm->occ[best]));
            cJSON_AddItemToArray(pair, cJSON_CreateNumber(r6(p[best])));
            cJSON_AddItemToArray(top, pair);
        }
        if (x) cJSON_AddItemToObject(x, "top", top);
        cJSON_AddItemToObject(j, "occasion", x);
        /* the person, from the first garment's record, and the post's season
         * and country: the dataset's own fields, not predictions ("given") */
        const int32_t *pp = b->person && b->n_garments[i] > 0 ? b->person + (size_t)i * G * 2 : NULL;
        long post = b->index ? b->index[i] : -1;
        const char *season = NULL, *country = NULL;
        if (post >= 0 && nm->season && post < nm->season->dims[0])
            season = fke_extra_value_name(nm->season, nm->season->v[post]);
        if (post >= 0 && nm->country && post < nm->country->dims[0])
            country = fke_extra_value_name(nm->country, nm->country->v[post]);
        if (country && !*country) country = NULL; /* unknown */
        if ((pp && (pp[0] >= 0 || pp[1] >= 0)) || season || country) {
            cJSON *ps = cJSON_AddObjectToObject(j, "person");
            if (pp && pp[0] >= 0 && pp[0] < 2) cJSON_AddStringToObject(ps, "gender", gender_names[pp[0]]);
            if (pp && pp[1] >= 0 && pp[1] < 4) cJSON_AddStringToObject(ps, "age", age_names[pp[1]]);
            if (season) cJSON_AddStringToObject(ps, "season", season);
            if (country) cJSON_AddStringToObject(ps, "country", country);
            cJSON_AddTrueToObject(ps, "given");
        }
        cJSON *gs = cJSON_AddArrayToObject(j, "garments");
        for (int g = 0; g < b->n_garments[i]; g++, v++) {
            cJSON *gj = cJSON_CreateObject();
            cJSON_AddNumberToObject(gj, "slot", pr->gidx[v] % G);
            const int32_t *bx = b->boxes ? b->boxes + ((size_t)i * G + g) * 4 : NULL;
            cJSON *ba = cJSON_CreateArray();
            for (int q = 0; q < 4; q++) cJSON_AddItemToArray(ba, cJSON_CreateNumber(bx ? bx[q] : 0));
            cJSON_AddItemToObject(gj, "box", ba);
            cJSON_AddItemToObject(gj, "category",
                                  top1(pr->cat + (size_t)v * c->n_cat, c->n_cat, nm->cat));
            cJSON *at = cJSON_AddObjectToObject(gj, "attributes");
            for (int k = 0; k < A; k++)
                cJSON_AddItemToObject(at, nm->attr[k],
                                      top1(pr->att[k] + (size_t)v * c->n_val[k], c->n_val[k],
                                           nm->val[k]));
            cJSON_AddItemToArray(gs, gj);
        }
        char *s = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!s) {
            st = fke_fail(e, FKE_ERR_NOMEM, "extract: no memory");
            break;
        }
        if (fputs(s, f) == EOF || fputc('\n', f) == EOF)
            st = fke_fail(e, FKE_ERR_IO, "extract: cannot write: %s", strerror(errno));
        free(s);
    }
    return st;
}

/* b with one more post holding one blank garment (zero crop, no caption) */
static fke_status padded_copy(const fke_batch *b, fke_batch *x, fke_err *e)
{
    int B = b->B + 1, G = b->G, A = b->A ? b->A : 1;
    FKE_TRY(fke_batch_alloc(x, B, G, b->A, b->L, 3, b->img, b->crop, e));
    size_t ni = (size_t)3 * b->img * b->img, nc = (size_t)3 * b->crop * b->crop;
#define COPY(field, n) memcpy(x->field, b->field, (size_t)b->B * (n) * sizeof *b->field)
    COPY(img_x, ni); COPY(crop_x, nc * G); COPY(n_garments, 1); COPY(tokens, b->L); COPY(occ, 1);
    COPY(cat, G); COPY(attr, (size_t)G * A); COPY(clean, 1); COPY(index, 1);
    COPY(boxes, (size_t)G * 4); COPY(person, (size_t)G * 2);
#undef COPY
    x->n_garments[B - 1] = 1;
    return FKE_OK;
}

fke_status fke_extract_predict(fke_model *m, const fke_batch *b, fke_extract_probs *p,
                               fke_err *e)
{
    int nv = 0;
    for (int i = 0; i < b->B; i++) nv += b->n_garments[i];
    if (nv > 0) return predict(m, b, b->B, p, e);
    /* the model needs a garment per batch: one more post, with a blank garment, not kept */
    fke_batch x;
    FKE_TRY(padded_copy(b, &x, e));
    fke_status st = predict(m, &x, b->B, p, e);
    fke_batch_free(&x);
    return st;
}

fke_status fke_extract_batch(fke_model *m, const fke_batch *b, const fke_extract_names *nm,
                             FILE *f, fke_err *e)
{
    fke_extract_probs p;
    FKE_TRY(fke_extract_predict(m, b, &p, e));
    fke_status st = extract_lines(&m->cfg, b, &p, nm, f, e);
    fke_extract_probs_free(&p);
    return st;
}

/* ---- the whole command ----------------------------------------------------- */
/* 1 when path starts as a JPEG (FF D8 FF) or a PNG does, else 0 (a dataset) */
static int is_picture(const char *path, fke_err *e, fke_status *st)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *st = fke_fail(e, FKE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return 0;
    }
    unsigned char sig[8] = {0};
    size_t n = fread(sig, 1, 8, f);
    fclose(f);
    *st = FKE_OK;
    return (n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) ||
           (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF);
}

/* Item i of a JSON array as an integer in lo..hi; 0 when it is one. */
static int json_int(const cJSON *arr, int i, double lo, double hi, int32_t *out)
{
    const cJSON *v = cJSON_GetArrayItem(arr, i);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return -1;
    *out = (int32_t)v->valuedouble;
    return 0;
}

/* {"boxes": [[x0,y0,x1,y1],...], "caption": [ids] or "text"}: a text
 * caption comes back in *text (malloc'ed; *tok then holds no ids) */
fke_status fke_extract_read_boxes(const char *path, int32_t **boxes, int *nb, int32_t **tok,
                                  int *nt, char **text, fke_err *e)
{
    *boxes = NULL, *tok = NULL, *text = NULL, *nb = *nt = 0;
    cJSON *j;
    FKE_TRY(fke_read_json(path, 1u << 20, &j, e));
    fke_status st = FKE_OK;
    if (!cJSON_IsObject(j)) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: must be a JSON object {\"boxes\": [[x0, y0, x1, "
                      "y1], ...], \"caption\": [ids]}", path);
        goto done;
    }
    cJSON *bx = cJSON_GetObjectItemCaseSensitive(j, "boxes");
    cJSON *cp = cJSON_GetObjectItemCaseSensitive(j, "caption");
    for (cJSON *it = j->child; it; it = it->next)
        if (strcmp(it->string, "boxes") && strcmp(it->string, "caption")) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: unknown key \"%s\" (allowed: boxes, caption)",
                          path, it->string);
            goto done;
        }
    if (!cJSON_IsArray(bx) || cJSON_GetArraySize(bx) < 1) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: field \"boxes\" must be a non-empty array of "
                      "[x0, y0, x1, y1]", path);
        goto done;
    }
    *nb = cJSON_GetArraySize(bx);
    *nt = cJSON_IsArray(cp) ? cJSON_GetArraySize(cp) : 0;
    *boxes = calloc((size_t)*nb * 4, sizeof(int32_t));
    *tok = calloc((size_t)*nt + 1, sizeof(int32_t));
    if (!*boxes || !*tok) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
        goto done;
    }
    for (int g = 0; g < *nb; g++) {
        cJSON *b = cJSON_GetArrayItem(bx, g);
        if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != 4) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: field \"boxes\"[%d] must be [x0, y0, x1, y1]",
                          path, g);
            goto done;
        }
        for (int q = 0; q < 4; q++)
            if (json_int(b, q, -1e8, 1e8, &(*boxes)[g * 4 + q])) {
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: field \"boxes\"[%d][%d] must be an integer",
                              path, g, q);
                goto done;
            }
    }
    if (cJSON_IsString(cp)) {
        if (!(*text = strdup(cp->valuestring))) st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
        goto done;
    }
    if (cp && !cJSON_IsArray(cp)) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: field \"caption\" must be an array of token ids "
                      "or a string of text", path);
        goto done;
    }
    for (int t = 0; t < *nt; t++)
        if (json_int(cp, t, 0, 1e9, &(*tok)[t])) {
            st = fke_fail(e, FKE_ERR_FORMAT,
                          "%s: field \"caption\"[%d] must be a non-negative integer", path, t);
            goto done;
        }
done:
    cJSON_Delete(j);
    if (st != FKE_OK) {
        free(*boxes), free(*tok), free(*text);
        *boxes = *tok = NULL, *text = NULL;
    }
    return st;
}

/* path: prefix the library's "extract: ..." messages with the input's name */
static fke_status with_path(fke_status st, const char *path, fke_err *e)
{
    if (st != FKE_OK && e && strncmp(e->msg, path, strlen(path))) {
        char buf[2 * FKE_ERRLEN];
        snprintf(buf, sizeof buf, "%s: %s", path, e->msg);
        snprintf(e->msg, sizeof e->msg, "%.*s", FKE_ERRLEN - 1, buf);
    }
    return st;
}

/* A text caption to L ids with the checkpoint's vocabulary (/names/vocab),
 * else that of the dataset nd (--names), else an error. */
static fke_status caption_ids(const fke_extract_opts *o, const fke_config *c,
                              const fke_dataset *nd, const char *text, int32_t *tok,
                              fke_text_stats *ts, fke_err *e)
{
    fke_ckpt_names cn;
    int have = 0;
    FKE_TRY(fke_checkpoint_read_names(o->ckpt, &cn, &have, e));
    char *const *vocab = have && cn.vocab ? cn.vocab : nd && nd->vocab ? nd->vocab : NULL;
    int V = have && cn.vocab ? cn.V : nd && nd->vocab ? nd->V : 0;
    const char *from = have && cn.vocab ? o->ckpt : o->names;
    fke_status st = FKE_OK;
    if (!vocab)
        st = fke_fail(e, FKE_ERR_ARG, "%s: field \"caption\" is text, but %s has no /names/vocab "
                      "to read it with: give --names DATA.h5 (the training set) or token ids",
                      o->boxes, o->ckpt);
    else if (V > c->V)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: the vocabulary has %d words, more than the "
                      "model's V = %d", from, V, c->V);
    else
        st = fke_text_tokenize(text, vocab, V, c->L, tok, ts, e);
    if (have) fke_ckpt_names_free(&cn);
    return st;
}

/* One picture (JPEG or PNG) with its boxes file. */
static fke_status run_image(fke_model *m, const fke_extract_opts *o, FILE *f, long *n,
                            fke_err *e)
{
    if (!o->boxes)
        return fke_fail(e, FKE_ERR_ARG, "%s: a picture input needs --boxes BOXES.json", o->input);
    /* label names: --names DATA.h5 when given, else the checkpoint's own
     * (/names), else numbers (a checkpoint without names) */
    fke_extract_names nm;
    fke_dataset nd;
    int have_nd = 0;
    memset(&nd, 0, sizeof nd);
    fke_status st;
    if (o->names) {
        FKE_TRY(fke_dataset_load(&nd, o->names, e));
        have_nd = 1;
        st = fke_extract_names_init(&nm, &m->cfg, &nd, o->names, e);
    } else {
        st = fke_extract_names_from_ckpt(&nm, &m->cfg, o->ckpt, NULL, e);
    }
    if (st != FKE_OK) {
        if (have_nd) fke_dataset_free(&nd);
        return st;
    }
    int nb = 0, nt = 0;
    fke_image im = {0};
    int32_t *boxes = NULL, *tok = NULL;
    char *text = NULL;
    fke_text_stats ts = {0};
    fke_batch b;
    memset(&b, 0, sizeof b);
    fke_crop_mode mode = o->crop == FKE_CROP_AUTO ? fke_extract_default_crop(&m->cfg) : o->crop;
    st = fke_image_read(o->input, &im, e);
    if (st == FKE_OK) st = fke_extract_read_boxes(o->boxes, &boxes, &nb, &tok, &nt, &text, e);
    if (st == FKE_OK && text) {
        free(tok);
        nt = m->cfg.L;
        tok = calloc((size_t)nt, sizeof *tok);
        st = tok ? caption_ids(o, &m->cfg, have_nd ? &nd : NULL, text, tok, &ts, e)
                 : fke_fail(e, FKE_ERR_NOMEM, "extract: no memory");
    }
    if (st == FKE_OK)
        st = with_path(fke_extract_image_batch(&m->cfg, &im, boxes, nb, tok, nt, mode, &b, e),
                       o->boxes, e);
    if (st == FKE_OK) st = with_path(fke_extract_batch(m, &b, &nm, f, e), o->input, e);
    if (st == FKE_OK) *n = 1;
    if (st == FKE_OK && o->info) {
        o->info->crop = mode;
        o->info->text_caption = text != NULL;
        o->info->text = ts;
    }
    fke_batch_free(&b);
    fke_image_free(&im);
    free(boxes), free(tok), free(text);
    fke_extract_names_free(&nm);
    if (have_nd) fke_dataset_free(&nd);
    return st;
}

static fke_status run_dataset(fke_model *m, const fke_extract_opts *o, FILE *f, long *n,
                              fke_err *e)
{
    fke_dataset d;
    FKE_TRY(fke_dataset_load(&d, o->input, e));
    fke_extract_names nm;
    memset(&nm, 0, sizeof nm);
    fke_status st = fke_extract_check_dataset(&m->cfg, &d, o->input, e);
    if (st == FKE_OK) st = fke_extract_names_init(&nm, &m->cfg, &d, o->input, e);
    nm.season = fke_dataset_extra(&d, "season");
    nm.country = fke_dataset_extra(&d, "country");
    fke_loader ld;
    int have_ld = 0;
    int B = o->batch > 0 ? o->batch : m->cfg.batch;
    if (st == FKE_OK) st = fke_loader_init(&ld, &d, B, 0, 0, 0, e), have_ld = st == FKE_OK;
    while (st == FKE_OK) {
        fke_batch *b;
        st = fke_loader_next(&ld, &b, e);
        if (st != FKE_OK || !b) break;
        st = with_path(fke_extract_batch(m, b, &nm, f, e), o->input, e);
        if (st == FKE_OK) *n += b->B;
    }
    if (have_ld) fke_loader_free(&ld);
    fke_extract_names_free(&nm);
    fke_dataset_free(&d);
    return st;
}

fke_status fke_extract_run(const fke_extract_opts *o, long *n_posts, fke_err *e)
{
    long n = 0;
    if (n_posts) *n_posts = 0;
    if (!o || !o->ckpt || !o->input) return fke_fail(e, FKE_ERR_ARG, "extract: no checkpoint or input");
    if (o->batch < 0) return fke_fail(e, FKE_ERR_ARG, "extract: batch size %d", o->batch);
    if (o->info) memset(o->info, 0, sizeof *o->info);
    fke_status st;
    int pic = is_picture(o->input, e, &st);
    if (st != FKE_OK) return st;
    if (!pic && o->boxes) /* boxes go with a picture: say what the file is not */
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not a JPEG or PNG picture (corrupt or of "
                        "another kind), and --boxes goes with a picture", o->input);
    fke_model m;
    FKE_TRY(fke_model_load(&m, o->ckpt, 0, NULL, e));
    if (m.cfg.task != FKE_TASK_FKE) {
        fke_model_free(&m);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: field config.task is \"%s\"; extraction "
                        "needs a FashionKE model (task \"fke\")", o->ckpt,
                        m.cfg.task == FKE_TASK_CLASSIFY ? "classify" : "multilabel");
    }
    int to_stdout = !o->out || !strcmp(o->out, "-");
    fke_atomic a;
    FILE *f = stdout;
    if (!to_stdout) {
        if ((st = fke_atomic_open(&a, o->out, e)) != FKE_OK) {
            fke_model_free(&m);
            return st;
        }
        f = a.f;
    }
    st = pic ? run_image(&m, o, f, &n, e) : run_dataset(&m, o, f, &n, e);
    fke_model_free(&m);
    if (to_stdout) {
        fflush(stdout);
    } else if (st == FKE_OK) {
        st = fke_atomic_commit(&a, "extraction", e);
    } else {
        fke_atomic_abort(&a);
    }
    if (st == FKE_OK && n_posts) *n_posts = n;
    return st;
}
