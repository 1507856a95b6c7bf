/* import_deepfashion2.c - see import_deepfashion2.h. Two passes over the
 * file names (annos/ and image/, each sorted by number), then one pass over
 * the annotations: parse, check, read the picture, resize. */
#include "data/import_deepfashion2.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/file.h"
#include "data/image.h"

const char *const fke_deepfashion2_categories[FKE_DF2_NCAT] = {
    "short sleeve top", "long sleeve top",    "short sleeve outwear", "long sleeve outwear",
    "vest",             "sling",              "shorts",               "trousers",
    "skirt",            "short sleeve dress", "long sleeve dress",    "vest dress",
    "sling dress"};
const char *const fke_deepfashion2_attributes[FKE_DF2_NATTR] = {"scale", "occlusion", "zoom_in",
                                                                "viewpoint"};
const char *const fke_deepfashion2_values[FKE_DF2_NATTR][3] = {
    {"small", "modest", "large"},
    {"slight", "medium", "heavy"},
    {"none", "medium", "large"},
    {"no wear", "frontal", "side or back"}};
const int fke_deepfashion2_landmarks[FKE_DF2_NCAT] = {25, 33, 31, 39, 15, 15, 10,
                                                      14, 8,  29, 37, 19, 19};

/* the ten item keys of the format (the DeepFashion2 README's "Data Description") */
static const char *const item_keys[] = {"segmentation", "scale",        "viewpoint",   "zoom_in",
                                        "landmarks",    "style",        "bounding_box",
                                        "category_id",  "occlusion",    "category_name"};
#define N_ITEM_KEYS (sizeof item_keys / sizeof item_keys[0])

#define MAX_JSON (64L << 20) /* one annotation file; real ones are a few kB to a few 100 kB */

void fke_deepfashion2_defaults(fke_deepfashion2_opts *o)
{
    fke_config c;
    fke_config_defaults(&c);
    memset(o, 0, sizeof *o);
    o->img = c.img;
    o->crop = c.crop;
    o->G = c.G;
    o->L = c.L;
    o->quality = 92;
}

static void count(fke_df2_count *c, long file, long n)
{
    if (n <= 0) return;
    if (c->n == 0) c->first = file;
    c->n += n;
}

/* ---- the file names --------------------------------------------------------- */
static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The numbers of the files NNNNNN<ext> (six digits) in folder, sorted; other
 * names (not . and ..) are counted in *other. */
static fke_status list_numbered(const char *folder, const char *ext, long **nums, long *n,
                                fke_df2_count *other, fke_err *e)
{
    *nums = NULL;
    *n = 0;
    DIR *dir = opendir(folder);
    if (!dir)
        return fke_fail(e, FKE_ERR_IO, "%s: cannot open folder (%s)", folder, strerror(errno));
    size_t cap = 0, elen = strlen(ext);
    struct dirent *de;
    fke_status st = FKE_OK;
    while ((de = readdir(dir))) {
        const char *s = de->d_name;
        if (!strcmp(s, ".") || !strcmp(s, "..")) continue;
        int ok = strlen(s) == 6 + elen && !strcmp(s + 6, ext);
        for (int i = 0; ok && i < 6; i++) ok = s[i] >= '0' && s[i] <= '9';
        if (!ok) {
            count(other, -1, 1);
            continue;
        }
        if ((size_t)*n == cap) {
            cap = cap ? 2 * cap : 1024;
            long *p = realloc(*nums, cap * sizeof *p);
            if (!p) {
                st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the file list", folder);
                break;
            }
            *nums = p;
        }
        (*nums)[(*n)++] = strtol(s, NULL, 10);
    }
    closedir(dir);
    if (st != FKE_OK) {
        free(*nums);
        *nums = NULL;
        *n = 0;
        return st;
    }
    if (*n) qsort(*nums, (size_t)*n, sizeof **nums, cmp_long);
    return FKE_OK;
}

static int has(const long *v, long n, long x)
{
    return n > 0 && bsearch(&x, v, (size_t)n, sizeof *v, cmp_long) != NULL;
}

/* ---- one annotation ---------------------------------------------------------- */
typedef struct {
    long k;            /* the item number */
    const cJSON *j;
    int has_box;
    int32_t box[4];    /* in picture pixels, x2 / y2 exclusive (clipped later) */
    int cat;           /* 0..12, -1 absent */
    int attr[FKE_DF2_NATTR];
    int style;         /* -1 absent */
} df2_item;

static int cmp_item(const void *a, const void *b)
{
    long x = ((const df2_item *)a)->k, y = ((const df2_item *)b)->k;
    return (x > y) - (x < y);
}

/* "item<digits>" -> the number, else -1 */
static long item_number(const char *key)
{
    if (strncmp(key, "item", 4) != 0 || !key[4] || strlen(key + 4) > 9) return -1;
    for (const char *p = key + 4; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    return strtol(key + 4, NULL, 10);
}

/* an integral JSON number in lo..hi */
static int json_int(const cJSON *j, long lo, long hi, long *v)
{
    if (!cJSON_IsNumber(j)) return 0;
    double x = j->valuedouble;
    if (!(x >= lo && x <= hi) || x != floor(x)) return 0;
    *v = (long)x;
    return 1;
}

static int32_t clamp_coord(double x)
{
    return x < -1e9 ? -1000000000 : x > 1e9 ? 1000000000 : (int32_t)x;
}

/* Checks one item and fills it; the report gets the counted quirks. */
static fke_status parse_item(const char *path, long file, df2_item *it,
                             fke_deepfashion2_report *r, fke_err *e)
{
    const cJSON *o = it->j;
    if (!cJSON_IsObject(o))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: item%ld is not a JSON object", path, it->k);
    for (const cJSON *c = o->child; c; c = c->next) {
        size_t i = 0;
        while (i < N_ITEM_KEYS && strcmp(c->string, item_keys[i])) i++;
        if (i == N_ITEM_KEYS) count(&r->unknown_item_keys, file, 1);
    }
    const cJSON *bb = cJSON_GetObjectItemCaseSensitive(o, "bounding_box");
    it->has_box = bb != NULL;
    if (bb) {
        if (!cJSON_IsArray(bb) || cJSON_GetArraySize(bb) != 4)
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: item%ld: field bounding_box must be 4 numbers [x1, y1, x2, y2]",
                            path, it->k);
        double v[4];
        for (int i = 0; i < 4; i++) {
            const cJSON *x = cJSON_GetArrayItem(bb, i);
            if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: item%ld: field bounding_box: element %d is not a number",
                                path, it->k, i);
            v[i] = x->valuedouble;
        }
        /* fractional corners widen the box to the pixels it touches */
        it->box[0] = clamp_coord(floor(v[0]));
        it->box[1] = clamp_coord(floor(v[1]));
        it->box[2] = clamp_coord(ceil(v[2]));
        it->box[3] = clamp_coord(ceil(v[3]));
    }
    long v;
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(o, "category_id");
    it->cat = -1;
    if (!ci) count(&r->no_category, file, 1);
    else if (!json_int(ci, 1, FKE_DF2_NCAT, &v))
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: item%ld: field category_id must be an integer 1..%d", path, it->k,
                        FKE_DF2_NCAT);
    else it->cat = (int)v - 1;
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(o, "category_name");
    if (cn && it->cat >= 0 &&
        (!cJSON_IsString(cn) || strcmp(cn->valuestring, fke_deepfashion2_categories[it->cat])))
        count(&r->name_mismatch, file, 1);
    for (int k = 0; k < FKE_DF2_NATTR; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, fke_deepfashion2_attributes[k]);
        it->attr[k] = -1;
        if (!a) count(&r->no_attr, file, 1);
        else if (!json_int(a, 1, 3, &v))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: item%ld: field %s must be an integer 1..3",
                            path, it->k, fke_deepfashion2_attributes[k]);
        else it->attr[k] = (int)v - 1;
    }
    const cJSON *sy = cJSON_GetObjectItemCaseSensitive(o, "style");
    it->style = -1;
    if (sy) {
        if (!json_int(sy, 0, 0x7fffffffL, &v))
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: item%ld: field style must be an integer >= 0", path, it->k);
        it->style = (int)v;
    }
    const cJSON *lm = cJSON_GetObjectItemCaseSensitive(o, "landmarks");
    if (lm && it->cat >= 0 &&
        (!cJSON_IsArray(lm) ||
         cJSON_GetArraySize(lm) != 3 * fke_deepfashion2_landmarks[it->cat]))
        count(&r->landmarks, file, 1);
    return FKE_OK;
}

/* The parts of one annotation file that fke keeps. */
typedef struct {
    int source, pair_id;
    df2_item *items;
    long n;
} df2_anno;

static fke_status parse_anno(const char *path, long file, const cJSON *root, df2_anno *a,
                             fke_deepfashion2_report *r, fke_err *e)
{
    a->source = a->pair_id = -1;
    a->n = 0;
    if (!cJSON_IsObject(root))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: expected a JSON object (source, pair_id, item1, "
                        "...)", path);
    long n_items = 0, last = -1;
    int seen_source = 0, seen_pair = 0, ordered = 1;
    for (const cJSON *c = root->child; c; c = c->next) n_items += item_number(c->string) >= 0;
    if (n_items) {
        a->items = calloc((size_t)n_items, sizeof *a->items);
        if (!a->items) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for its items", path);
    }
    for (const cJSON *c = root->child; c; c = c->next) {
        long k = item_number(c->string);
        if (k >= 0) {
            if (k <= last) ordered = 0;
            last = k > last ? k : last;
            a->items[a->n].k = k;
            a->items[a->n++].j = c;
        } else if (!strcmp(c->string, "source")) {
            if (seen_source++)
                return fke_fail(e, FKE_ERR_FORMAT, "%s: key source appears twice", path);
            if (!cJSON_IsString(c) ||
                (strcmp(c->valuestring, "shop") && strcmp(c->valuestring, "user")))
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field source must be \"shop\" or \"user\"", path);
            a->source = !strcmp(c->valuestring, "user");
        } else if (!strcmp(c->string, "pair_id")) {
            long v;
            if (seen_pair++)
                return fke_fail(e, FKE_ERR_FORMAT, "%s: key pair_id appears twice", path);
            if (!json_int(c, 0, 0x7fffffffL, &v))
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field pair_id must be an integer >= 0", path);
            a->pair_id = (int)v;
        } else {
            count(&r->unknown_keys, file, 1);
        }
    }
    if (!seen_source || !seen_pair) count(&r->no_source, file, 1);
    if (!ordered) count(&r->out_of_order, file, 1);
    if (a->n > 1) qsort(a->items, (size_t)a->n, sizeof *a->items, cmp_item);
    for (long i = 1; i < a->n; i++)
        if (a->items[i].k == a->items[i - 1].k)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: item number %ld appears twice", path,
                            a->items[i].k);
    r->items += a->n;
    for (long i = 0; i < a->n; i++) FKE_TRY(parse_item(path, file, &a->items[i], r, e));
    return FKE_OK;
}

/* ---- the dataset --------------------------------------------------------------- */
static fke_status set_names(fke_dataset *d, fke_err *e)
{
    static const char *const occ[1] = {"unknown"}, *const vocab[1] = {"<pad>"};
    d->n_occ = 1;
    d->n_cat = FKE_DF2_NCAT;
    d->V = 1;
    d->occ_names = fke_strings_dup(occ, 1);
    d->cat_names = fke_strings_dup(fke_deepfashion2_categories, FKE_DF2_NCAT);
    d->attr_names = fke_strings_dup(fke_deepfashion2_attributes, FKE_DF2_NATTR);
    d->vocab = fke_strings_dup(vocab, 1);
    d->val_names = calloc(FKE_DF2_NATTR + 1, sizeof *d->val_names);
    int ok = d->occ_names && d->cat_names && d->attr_names && d->vocab && d->val_names;
    for (int k = 0; ok && k < FKE_DF2_NATTR; k++) {
        d->n_val[k] = 3;
        ok = (d->val_names[k] = fke_strings_dup(fke_deepfashion2_values[k], 3)) != NULL;
    }
    return ok ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "deepfashion2: no memory for the names");
}

/* Post i of d from the picture and the parsed annotation; style (cap, G)
 * is the extra being built. */
static void fill_post(fke_dataset *d, int i, const fke_image *im, const df2_anno *a, long file,
                      int32_t *style, uint8_t *img, uint8_t *crops, fke_deepfashion2_report *r)
{
    int G = d->G, A = d->A, S = d->img, P = d->crop;
    int32_t whole[4] = {0, 0, im->w, im->h};
    fke_image_resize_chw(im, whole, S, img);
    int g = 0;
    long cut = 0;
    for (long t = 0; t < a->n; t++) {
        const df2_item *it = &a->items[t];
        if (!it->has_box) {
            count(&r->no_box, file, 1);
            continue;
        }
        int32_t b[4] = {it->box[0], it->box[1], it->box[2], it->box[3]};
        int clip = fke_box_clip(b, im->w, im->h);
        if (clip == FKE_BOX_EMPTY) {
            count(&r->empty, file, 1);
            continue;
        }
        if (clip == FKE_BOX_CLIPPED) count(&r->clipped, file, 1);
        if (g == G) {
            cut++;
            continue;
        }
        size_t o = (size_t)i * G + g;
        fke_image_resize_chw(im, b, P, crops + (size_t)g * 3 * P * P);
        fke_box_to_frame(b, im->w, im->h, S, d->boxes + o * 4);
        d->cat[o] = d->cat_true[o] = it->cat;
        for (int k = 0; k < A; k++) d->attr[o * A + k] = d->attr_true[o * A + k] = it->attr[k];
        style[o] = it->style;
        if (it->cat >= 0) r->per_category[it->cat]++;
        g++;
    }
    count(&r->truncated, file, cut);
    if (g == 0) count(&r->no_garment, file, 1);
    d->n_garments[i] = g;
    d->clean[i] = 1;
    r->garments += g;
}

static void report_init(fke_deepfashion2_report *r)
{
    memset(r, 0, sizeof *r);
    fke_df2_count *c[] = {&r->no_image,   &r->no_anno,      &r->other_files,
                          &r->clipped,    &r->empty,        &r->no_box,
                          &r->truncated,  &r->no_garment,   &r->unknown_keys,
                          &r->unknown_item_keys, &r->out_of_order, &r->name_mismatch,
                          &r->no_category, &r->no_attr,     &r->no_source,
                          &r->landmarks};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) c[i]->first = -1;
}

fke_status fke_deepfashion2_import(const fke_deepfashion2_opts *o, fke_dataset *d,
                                   fke_deepfashion2_report *r, fke_err *e)
{
    memset(d, 0, sizeof *d);
    report_init(r);
    if (!o || !o->dir || !o->split)
        return fke_fail(e, FKE_ERR_ARG, "deepfashion2: no folder or split given");
    if (o->img < 1 || o->img > 4096 || o->crop < 1 || o->crop > 4096 || o->G < 1 || o->G > 64 ||
        o->L < 1 || o->limit < 0 || o->quality < 0 || o->quality > 100)
        return fke_fail(e, FKE_ERR_ARG,
                        "deepfashion2: impossible sizes img=%d crop=%d G=%d L=%d limit=%ld "
                        "quality=%d (img, crop 1..4096, G 1..64, L >= 1, limit >= 0, quality "
                        "0 raw or 1..100)",
                        o->img, o->crop, o->G, o->L, o->limit, o->quality);
    char annos[FKE_PATHLEN], images[FKE_PATHLEN], path[FKE_PATHLEN + 16],
        ipath[FKE_PATHLEN + 16];
    if (snprintf(annos, sizeof annos, "%s/%s/annos", o->dir, o->split) >= (int)sizeof annos ||
        snprintf(images, sizeof images, "%s/%s/image", o->dir, o->split) >= (int)sizeof images)
        return fke_fail(e, FKE_ERR_ARG, "deepfashion2: folder name too long");
    long *an = NULL, *im_n = NULL, n_an = 0, n_im = 0;
    fke_status st = list_numbered(annos, ".json", &an, &n_an, &r->other_files, e);
    if (st == FKE_OK) st = list_numbered(images, ".jpg", &im_n, &n_im, &r->other_files, e);
    if (st != FKE_OK) goto out;
    for (long i = 0; i < n_im; i++)
        if (!has(an, n_an, im_n[i])) count(&r->no_anno, im_n[i], 1);
    if (n_an == 0) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: no annotation file NNNNNN.json", annos);
        goto out;
    }

    long cap = o->limit > 0 && o->limit < n_an ? o->limit : n_an;
    if (cap > 0x7fffffffL) cap = 0x7fffffffL;
    d->N = (int)cap, d->G = o->G, d->A = FKE_DF2_NATTR, d->L = o->L;
    d->img = o->img, d->crop = o->crop, d->C = 3, d->jpeg_quality = o->quality;
    /* the JPEG store: each post resized into px, then encoded and appended */
    size_t ni = (size_t)3 * o->img * o->img, nc = (size_t)o->G * 3 * o->crop * o->crop;
    uint8_t *px = NULL;
    int32_t *style = NULL, *source = malloc((size_t)cap * sizeof *source),
            *pair = malloc((size_t)cap * sizeof *pair), *ids = malloc((size_t)cap * sizeof *ids);
    if ((st = fke_dataset_alloc(d, e)) != FKE_OK || (st = set_names(d, e)) != FKE_OK) goto out_x;
    style = malloc((size_t)cap * o->G * sizeof *style);
    if (!style || !source || !pair || !ids) {
        st = fke_fail(e, FKE_ERR_NOMEM, "deepfashion2: no memory for %ld posts", cap);
        goto out_x;
    }
    memset(style, 0xff, (size_t)cap * o->G * sizeof *style);
    if (d->jpeg_quality && !(px = calloc(ni + nc, 1))) {
        st = fke_fail(e, FKE_ERR_NOMEM, "deepfashion2: no memory");
        goto out_x;
    }

    int n = 0;
    for (long t = 0; t < n_an && n < cap; t++) {
        long file = an[t];
        r->annos++;
        if (!has(im_n, n_im, file)) {
            count(&r->no_image, file, 1);
            continue;
        }
        snprintf(path, sizeof path, "%s/%06ld.json", annos, file);
        snprintf(ipath, sizeof ipath, "%s/%06ld.jpg", images, file);
        cJSON *root = NULL;
        df2_anno a = {0};
        fke_image im = {0};
        st = fke_read_json(path, MAX_JSON, &root, e);
        if (st == FKE_OK) st = parse_anno(path, file, root, &a, r, e);
        if (st == FKE_OK) st = fke_image_read(ipath, &im, e);
        if (st == FKE_OK) {
            uint8_t *img = px ? px : d->images + (size_t)n * ni;
            fill_post(d, n, &im, &a, file, style, img, px ? img + ni : d->crops + (size_t)n * nc,
                      r);
            if (px) st = fke_dataset_jpeg_append_post(d, img, img + ni, d->n_garments[n], e);
            source[n] = a.source, pair[n] = a.pair_id, ids[n] = (int32_t)file;
            n++;
        }
        fke_image_free(&im);
        free(a.items);
        cJSON_Delete(root);
        if (st != FKE_OK) goto out_x;
    }
    r->posts = n;
    if (n == 0) {
        st = fke_fail(e, FKE_ERR_FORMAT,
                      "%s/%s: no post kept (%ld annotation files, %ld without a picture)",
                      o->dir, o->split, r->annos, r->no_image.n);
        goto out_x;
    }
    d->N = n; /* the arrays were sized for cap >= n posts; only the first n are used */
    snprintf(d->generator, sizeof d->generator,
             "fke-import-deepfashion2 version=1 split=%s img=%d crop=%d G=%d L=%d limit=%ld",
             o->split, o->img, o->crop, o->G, o->L, o->limit);
    int dn[1] = {n}, dg[2] = {n, o->G};
    if ((st = fke_dataset_extra_set(d, "image_id", 1, dn, ids, e)) == FKE_OK &&
        (st = fke_dataset_extra_set(d, "source", 1, dn, source, e)) == FKE_OK &&
        (st = fke_dataset_extra_set(d, "pair_id", 1, dn, pair, e)) == FKE_OK)
        st = fke_dataset_extra_set(d, "style", 2, dg, style, e);
    if (st == FKE_OK) st = fke_dataset_validate(d, annos, e);
out_x:
    free(px), free(style), free(source), free(pair), free(ids);
    if (st != FKE_OK) fke_dataset_free(d);
out:
    free(an), free(im_n);
    return st;
}
