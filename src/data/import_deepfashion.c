/* import_deepfashion.c - see import_deepfashion.h. The six list files are
 * read whole and split into lines; the partition names the images (a string
 * map joins the other files to it by name); then the pictures of the split
 * are read, cropped and resized in partition order. */
#include "data/import_deepfashion.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/file.h"
#include "data/image.h"

const char *const fke_deepfashion_categories[FKE_DF_NCAT] = {
    "Anorak",   "Blazer",  "Blouse",    "Bomber",     "Button-Down", "Cardigan",  "Flannel",
    "Halter",   "Henley",  "Hoodie",    "Jacket",     "Jersey",      "Parka",     "Peacoat",
    "Poncho",   "Sweater", "Tank",      "Tee",        "Top",         "Turtleneck", "Capris",
    "Chinos",   "Culottes", "Cutoffs",  "Gauchos",    "Jeans",       "Jeggings",  "Jodhpurs",
    "Joggers",  "Leggings", "Sarong",   "Shorts",     "Skirt",       "Sweatpants", "Sweatshorts",
    "Trunks",   "Caftan",  "Cape",      "Coat",       "Coverup",     "Dress",     "Jumpsuit",
    "Kaftan",   "Kimono",  "Nightdress", "Onesie",    "Robe",        "Romper",    "Shirtdress",
    "Sundress"};
const char *const fke_deepfashion_types[FKE_DF_NTYPES] = {"texture", "fabric", "shape", "part",
                                                          "style"};
/* rows 1-20 upper body, 21-36 lower body, 37-50 full body */
static int published_type(int c) { return c < 20 ? 1 : c < 36 ? 2 : 3; }
/* merged into Dress, yet listed (the benchmark's README) */
static int merged(const char *name)
{
    return !strcmp(name, "Cape") || !strcmp(name, "Nightdress") || !strcmp(name, "Shirtdress") ||
           !strcmp(name, "Sundress");
}

#define MAX_LIST (8L << 30) /* list_attr_img.txt is about 600 MB */

void fke_deepfashion_defaults(fke_deepfashion_opts *o)
{
    fke_config c;
    fke_config_defaults(&c);
    memset(o, 0, sizeof *o);
    o->img = c.img;
    o->crop = c.crop;
    o->quality = 92;
}

static void count(fke_df_count *c, const char *first, long n)
{
    if (n <= 0) return;
    if (c->n == 0) snprintf(c->first, sizeof c->first, "%s", first);
    c->n += n;
}

/* ---- list files --------------------------------------------------------------- */
typedef struct {
    char path[FKE_PATHLEN];
    char *buf;
    char **line; /* the rows (after the count and the header), blanks stripped */
    long *lineno; /* (n) 1-based line number of each row */
    long n;
} list_file;

static void list_free(list_file *l)
{
    free(l->buf);
    free(l->line);
    free(l->lineno);
    l->buf = NULL, l->line = NULL, l->lineno = NULL;
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Reads folder/name: line 1 the count, line 2 the header whose first column
 * must be head0, then the rows (empty lines skipped). */
static fke_status list_read(list_file *l, const char *folder, const char *name, const char *head0,
                            fke_deepfashion_report *r, fke_err *e)
{
    memset(l, 0, sizeof *l);
    snprintf(l->path, sizeof l->path, "%s/%s", folder, name);
    size_t len;
    FKE_TRY(fke_read_file(l->path, MAX_LIST, &l->buf, &len, e));
    long cap = 1;
    for (size_t i = 0; i < len; i++) cap += l->buf[i] == '\n';
    l->line = malloc((size_t)cap * sizeof *l->line);
    l->lineno = malloc((size_t)cap * sizeof *l->lineno);
    if (!l->line || !l->lineno) {
        list_free(l);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for %ld lines", l->path, cap);
    }
    int crlf = 0;
    long no = 0, declared = -1;
    char *p = l->buf, *end = l->buf + len;
    fke_status st = FKE_OK;
    while (p < end && st == FKE_OK) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *q = nl ? nl : end;
        if (q > p && q[-1] == '\r') crlf = 1;
        while (q > p && blank(q[-1])) q--;
        *q = 0;
        while (blank(*p)) p++;
        no++;
        if (no == 1) {
            char *x;
            errno = 0;
            declared = strtol(p, &x, 10);
            if (x == p || *x || errno || declared < 0)
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: line 1 must be the number of rows, not '%.40s'",
                              l->path, p);
        } else if (no == 2) {
            size_t h = strlen(head0);
            if (strncmp(p, head0, h) || (p[h] && !blank(p[h])))
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: line 2 must be the column names, starting "
                              "with %s; found '%.60s'", l->path, head0, p);
        } else if (*p) {
            l->line[l->n] = p;
            l->lineno[l->n++] = no;
        }
        p = nl ? nl + 1 : end;
    }
    if (st == FKE_OK && no < 2)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: %s; expected the number of rows, then the column "
                      "names", l->path, no ? "only one line" : "empty");
    if (st != FKE_OK) {
        list_free(l);
        return st;
    }
    if (crlf) count(&r->crlf, name, 1);
    if (declared != l->n) count(&r->count_mismatch, name, 1);
    return FKE_OK;
}

/* Splits s in place on runs of blanks into at most max tokens; returns the
 * number found (max + 1 when there are more). */
static int tokens(char *s, char **tok, int max)
{
    int n = 0;
    while (*s) {
        while (blank(*s)) *s++ = 0;
        if (!*s) break;
        if (n == max) return max + 1;
        tok[n++] = s;
        while (*s && !blank(*s)) s++;
    }
    return n;
}

/* a whole number in base 10 (leading zeros allowed: never octal) */
static int int_of(const char *s, long lo, long hi, long *v)
{
    char *x;
    errno = 0;
    long t = strtol(s, &x, 10);
    if (x == s || *x || errno || t < lo || t > hi) return 0;
    *v = t;
    return 1;
}

/* "<name with spaces> <type>": the name (trimmed, in place) and the type. */
static int name_type(char *s, char **name, long lo, long hi, long *type)
{
    char *q = s + strlen(s);
    while (q > s && !blank(q[-1])) q--;
    if (q == s || !int_of(q, lo, hi, type)) return 0;
    char *t = q;
    while (t > s && blank(t[-1])) t--;
    *t = 0;
    *name = s;
    return 1;
}

/* ---- the import ------------------------------------------------------------------ */
typedef struct {
    const fke_deepfashion_opts *o;
    fke_deepfashion_report *r;
    list_file part, ccloth, cimg, acloth, aimg, bbox;
    char anno[FKE_PATHLEN];
    int n_cat, M;
    char **cat_names;
    int32_t *cat_type;   /* (n_cat) */
    char **attr_names;
    int32_t *attr_type;  /* (M) 0..4 */
    long n_img;          /* rows of the partition */
    fke_strmap names;    /* image name -> row + 1 */
    int32_t *split;      /* (n_img) 0..2 */
    long *slot;          /* (n_img) index among the split's images, -1 outside */
    long n_split;
    int32_t *cat;        /* (n_split) */
    int32_t *box;        /* (n_split, 4) */
    uint8_t *has_box, *seen;
    int8_t *ml;          /* (n_split, M) 1 / 0 / -1 */
    uint8_t *has_ml;
} ctx;

static void ctx_free(ctx *c)
{
    list_file *l[] = {&c->part, &c->ccloth, &c->cimg, &c->acloth, &c->aimg, &c->bbox};
    for (int i = 0; i < 6; i++) list_free(l[i]);
    fke_strings_free(c->cat_names, c->cat_names ? c->n_cat : 0);
    fke_strings_free(c->attr_names, c->attr_names ? c->M : 0);
    fke_strmap_free(&c->names);
    free(c->cat_type), free(c->attr_type), free(c->split), free(c->slot), free(c->cat);
    free(c->box), free(c->has_box), free(c->seen), free(c->ml), free(c->has_ml);
}

static fke_status categories(ctx *c, fke_err *e)
{
    list_file *l = &c->ccloth;
    FKE_TRY(list_read(l, c->anno, "list_category_cloth.txt", "category_name", c->r, e));
    if (l->n == 0) return fke_fail(e, FKE_ERR_FORMAT, "%s: no category rows", l->path);
    char **nm = calloc((size_t)l->n + FKE_DF_NCAT + 1, sizeof *nm); /* borrowed from the file */
    int32_t *ty = calloc((size_t)l->n + FKE_DF_NCAT + 1, sizeof *ty);
    c->cat_type = ty;
    if (!nm || !ty) {
        free(nm);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", l->path);
    }
    for (long i = 0; i < l->n; i++) {
        long t;
        char *name;
        if (!name_type(l->line[i], &name, 1, 3, &t)) {
            free(nm);
            return fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: expected '<category name> <type "
                            "1..3>'", l->path, l->lineno[i]);
        }
        nm[i] = name, ty[i] = (int32_t)t;
    }
    c->n_cat = (int)l->n;
    /* the copy without the four merged rows: back to the published 50 */
    int k = 0, same = l->n == FKE_DF_NCAT - 4;
    for (int j = 0; same && j < FKE_DF_NCAT; j++) {
        if (merged(fke_deepfashion_categories[j])) continue;
        same = !strcmp(nm[k++], fke_deepfashion_categories[j]);
    }
    if (same) {
        count(&c->r->merged_rows, "list_category_cloth.txt", 4);
        for (int j = 0; j < FKE_DF_NCAT; j++) ty[j] = published_type(j);
        c->n_cat = FKE_DF_NCAT;
        for (int j = 0; j < FKE_DF_NCAT; j++) nm[j] = (char *)fke_deepfashion_categories[j];
    }
    char **copy = fke_strings_dup((const char *const *)nm, c->n_cat);
    free(nm);
    c->cat_names = copy;
    return copy ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", l->path);
}

static fke_status attributes(ctx *c, fke_err *e)
{
    list_file *l = &c->acloth;
    FKE_TRY(list_read(l, c->anno, "list_attr_cloth.txt", "attribute_name", c->r, e));
    if (l->n == 0) return fke_fail(e, FKE_ERR_FORMAT, "%s: no attribute rows", l->path);
    char **nm = calloc((size_t)l->n + 1, sizeof *nm);
    c->attr_type = malloc((size_t)l->n * sizeof *c->attr_type);
    if (!nm || !c->attr_type) {
        free(nm);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", l->path);
    }
    for (long i = 0; i < l->n; i++) {
        long t;
        if (!name_type(l->line[i], &nm[i], 1, FKE_DF_NTYPES, &t)) {
            free(nm);
            return fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: expected '<attribute name> <type "
                            "1..5>' (the name may hold spaces)", l->path, l->lineno[i]);
        }
        c->attr_type[i] = (int32_t)t - 1;
    }
    c->M = (int)l->n;
    c->attr_names = fke_strings_dup((const char *const *)nm, c->M);
    free(nm);
    return c->attr_names ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", l->path);
}

static fke_status partition(ctx *c, fke_err *e)
{
    list_file *l = &c->part;
    char ev[FKE_PATHLEN];
    snprintf(ev, sizeof ev, "%s/Eval", c->o->dir);
    FKE_TRY(list_read(l, ev, "list_eval_partition.txt", "image_name", c->r, e));
    c->n_img = l->n;
    c->split = malloc((size_t)(l->n + 1) * sizeof *c->split);
    c->slot = malloc((size_t)(l->n + 1) * sizeof *c->slot);
    if (!c->split || !c->slot || !fke_strmap_init(&c->names, (size_t)l->n))
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for %ld images", l->path, l->n);
    static const char *const st[3] = {"train", "val", "test"};
    int want = -1;
    for (int s = 0; s < 3; s++)
        if (!strcmp(c->o->split, st[s])) want = s;
    for (long i = 0; i < l->n; i++) {
        char *tok[3];
        int n = tokens(l->line[i], tok, 2), s = 0;
        while (n == 2 && s < 3 && strcmp(tok[1], st[s])) s++;
        if (n != 2 || s == 3)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: expected '<image> train|val|test'",
                            l->path, l->lineno[i]);
        if (!fke_strmap_put(&c->names, tok[0], (void *)(intptr_t)(i + 1)))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: image %s is listed twice", l->path,
                            l->lineno[i], tok[0]);
        c->split[i] = s;
        c->r->split_count[s]++;
        c->slot[i] = want < 0 || s == want ? c->n_split++ : -1;
    }
    c->r->listed = l->n;
    c->r->in_split = c->n_split;
    return FKE_OK;
}

/* The row of image name in the split (-1 outside it); -2 when the partition
 * lacks it (counted). Names listed twice in file are an error. */
static fke_status lookup(ctx *c, const list_file *l, long i, const char *name, long *slot,
                         fke_err *e)
{
    intptr_t v = (intptr_t)fke_strmap_get(&c->names, name);
    if (!v) {
        count(&c->r->not_listed, name, 1);
        *slot = -2;
        return FKE_OK;
    }
    if (c->seen[v - 1])
        return fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: image %s is listed twice", l->path,
                        l->lineno[i], name);
    c->seen[v - 1] = 1;
    *slot = c->slot[v - 1];
    return FKE_OK;
}

static fke_status per_image(ctx *c, fke_err *e)
{
    size_t ns = (size_t)c->n_split + 1;
    c->cat = malloc(ns * sizeof *c->cat);
    c->box = calloc(ns * 4, sizeof *c->box);
    c->has_box = calloc(ns, 1), c->has_ml = calloc(ns, 1), c->seen = calloc((size_t)c->n_img + 1, 1);
    c->ml = malloc(ns * (size_t)c->M);
    /* the most tokens one row may have: M + 1 (attributes) or 5 (a box), one
     * more to tell "too many" */
    size_t ntok = (size_t)(c->M + 1 > 5 ? c->M + 1 : 5) + 1;
    char **tok = malloc(ntok * sizeof *tok);
    if (!c->cat || !c->box || !c->has_box || !c->has_ml || !c->seen || !c->ml || !tok) {
        free(tok);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for %ld images", c->anno, c->n_split);
    }
    memset(c->cat, 0xff, ns * sizeof *c->cat);
    memset(c->ml, 0xff, ns * (size_t)c->M);
    fke_status st = list_read(&c->cimg, c->anno, "list_category_img.txt", "image_name", c->r, e);
    list_file *l = &c->cimg;
    for (long i = 0; st == FKE_OK && i < l->n; i++) {
        long v, s;
        if (tokens(l->line[i], tok, 2) != 2 || !int_of(tok[1], 1, c->n_cat, &v)) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: expected '<image> <category 1..%d>' "
                          "(1-based rows of list_category_cloth.txt)", l->path, l->lineno[i], c->n_cat);
        } else if ((st = lookup(c, l, i, tok[0], &s, e)) == FKE_OK && s >= 0) {
            c->cat[s] = (int32_t)v - 1;
        }
    }
    if (st == FKE_OK) memset(c->seen, 0, (size_t)c->n_img + 1);
    if (st == FKE_OK) st = list_read(&c->bbox, c->anno, "list_bbox.txt", "image_name", c->r, e);
    l = &c->bbox;
    for (long i = 0; st == FKE_OK && i < l->n; i++) {
        long v[4], s;
        int ok = tokens(l->line[i], tok, 5) == 5;
        for (int k = 0; ok && k < 4; k++) ok = int_of(tok[1 + k], 0, 1000000000L, &v[k]);
        if (!ok) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: expected '<image> x_1 y_1 x_2 y_2' "
                          "(whole numbers >= 0)", l->path, l->lineno[i]);
        } else if ((st = lookup(c, l, i, tok[0], &s, e)) == FKE_OK && s >= 0) {
            for (int k = 0; k < 4; k++) c->box[s * 4 + k] = (int32_t)v[k];
            c->has_box[s] = 1;
        }
    }
    if (st == FKE_OK) memset(c->seen, 0, (size_t)c->n_img + 1);
    if (st == FKE_OK) st = list_read(&c->aimg, c->anno, "list_attr_img.txt", "image_name", c->r, e);
    l = &c->aimg;
    for (long i = 0; st == FKE_OK && i < l->n; i++) {
        long s;
        int n = tokens(l->line[i], tok, c->M + 1);
        if (n != c->M + 1) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: %s attribute values, expected %d (the "
                          "rows of list_attr_cloth.txt)", l->path, l->lineno[i],
                          n > c->M + 1 ? "more" : "fewer", c->M);
            break;
        }
        if ((st = lookup(c, l, i, tok[0], &s, e)) != FKE_OK || s < 0) continue;
        int8_t *y = c->ml + (size_t)s * c->M;
        long unknown = 0;
        for (int k = 0; k < c->M && st == FKE_OK; k++) {
            const char *t = tok[1 + k];
            if (!strcmp(t, "1")) y[k] = 1;
            else if (!strcmp(t, "-1")) y[k] = 0;
            else if (!strcmp(t, "0")) y[k] = -1, unknown++;
            else
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: attribute %d (%s) is '%s', not 1, "
                              "-1 or 0", l->path, l->lineno[i], k + 1, c->attr_names[k], t);
        }
        count(&c->r->unknown_attr, tok[0], unknown);
        c->has_ml[s] = 1;
    }
    free(tok);
    return st;
}

static int grey(const fke_image *im)
{
    size_t n = (size_t)im->w * im->h;
    for (size_t i = 0; i < n; i++)
        if (im->rgb[3 * i] != im->rgb[3 * i + 1] || im->rgb[3 * i] != im->rgb[3 * i + 2]) return 0;
    return 1;
}

static fke_status set_names(fke_dataset *d, ctx *c, fke_err *e)
{
    static const char *const occ[1] = {"unknown"}, *const vocab[1] = {"<pad>"};
    d->n_occ = 1, d->n_cat = c->n_cat, d->V = 1;
    d->occ_names = fke_strings_dup(occ, 1);
    d->vocab = fke_strings_dup(vocab, 1);
    d->cat_names = c->cat_names, c->cat_names = NULL;
    d->n_ml = c->M, d->ml_names = c->attr_names, c->attr_names = NULL;
    d->n_ml_types = FKE_DF_NTYPES;
    d->ml_type_names = fke_strings_dup(fke_deepfashion_types, FKE_DF_NTYPES);
    d->val_names = calloc(1, sizeof *d->val_names);
    if (!d->occ_names || !d->vocab || !d->ml_type_names || !d->val_names)
        return fke_fail(e, FKE_ERR_NOMEM, "deepfashion: no memory for the names");
    return FKE_OK;
}

/* The picture of partition row i: DIR/Img/NAME, else DIR/NAME; "" when
 * neither exists. */
static void picture_path(const ctx *c, long i, char *out)
{
    const char *name = c->part.line[i];
    snprintf(out, FKE_PATHLEN, "%s/Img/%s", c->o->dir, name);
    if (access(out, F_OK) == 0) return;
    snprintf(out, FKE_PATHLEN, "%s/%s", c->o->dir, name);
    if (access(out, F_OK) != 0) out[0] = 0;
}

static fke_status pictures(ctx *c, fke_dataset *d, fke_err *e)
{
    const fke_deepfashion_opts *o = c->o;
    fke_deepfashion_report *r = c->r;
    long cap = o->limit > 0 && o->limit < c->n_split ? o->limit : c->n_split;
    if (cap > 0x7fffffffL) cap = 0x7fffffffL;
    d->N = (int)(cap ? cap : 1), d->G = 1, d->A = 0, d->L = 1;
    d->img = o->img, d->crop = o->crop, d->C = 3, d->jpeg_quality = o->quality;
    FKE_TRY(fke_dataset_alloc(d, e));
    FKE_TRY(set_names(d, c, e));
    size_t ni = (size_t)3 * o->img * o->img, nc = (size_t)3 * o->crop * o->crop;
    uint8_t *px = d->jpeg_quality ? calloc(ni + nc, 1) : NULL;
    int32_t *ml = malloc((size_t)d->N * c->M * sizeof *ml), *split = malloc((size_t)d->N * 4),
            *row = malloc((size_t)d->N * 4);
    fke_status st = (d->jpeg_quality && !px) || !ml || !split || !row
                        ? fke_fail(e, FKE_ERR_NOMEM, "deepfashion: no memory for %ld posts", cap)
                        : FKE_OK;
    int n = 0;
    for (long i = 0; st == FKE_OK && i < c->n_img && n < cap; i++) {
        long s = c->slot[i];
        if (s < 0) continue;
        const char *name = c->part.line[i];
        char path[FKE_PATHLEN];
        picture_path(c, i, path);
        if (!path[0]) {
            count(&r->no_image, name, 1);
            continue;
        }
        fke_image im = {0};
        if ((st = fke_image_read(path, &im, e)) != FKE_OK) break;
        if (grey(&im)) count(&r->grey, name, 1);
        int32_t b[4] = {0, 0, im.w, im.h};
        if (c->has_box[s]) memcpy(b, c->box + s * 4, sizeof b);
        else count(&r->no_box, name, 1);
        int clip = fke_box_clip(b, im.w, im.h);
        if (clip == FKE_BOX_EMPTY) {
            count(&r->empty, name, 1);
            fke_image_free(&im);
            continue;
        }
        if (clip == FKE_BOX_CLIPPED) count(&r->clipped, name, 1);
        uint8_t *img = px ? px : d->images + (size_t)n * ni;
        uint8_t *crop = px ? px + ni : d->crops + (size_t)n * nc;
        int32_t whole[4] = {0, 0, im.w, im.h};
        fke_image_resize_chw(&im, whole, o->img, img);
        fke_image_resize_chw(&im, b, o->crop, crop);
        fke_box_to_frame(b, im.w, im.h, o->img, d->boxes + (size_t)n * 4);
        fke_image_free(&im);
        if (px) st = fke_dataset_jpeg_append_post(d, img, crop, 1, e);
        d->n_garments[n] = 1;
        d->clean[n] = 1;
        d->cat[n] = d->cat_true[n] = c->cat[s];
        if (c->cat[s] < 0) count(&r->no_category, name, 1);
        else if (c->cat[s] < FKE_DF_NCAT) r->per_category[c->cat[s]]++;
        if (!c->has_ml[s]) count(&r->no_attr, name, 1);
        for (int k = 0; k < c->M; k++) {
            int y = c->ml[(size_t)s * c->M + k];
            ml[(size_t)n * c->M + k] = y;
            if (y == 1) r->attr_pos[c->attr_type[k]]++;
            if (y == 0) r->attr_neg[c->attr_type[k]]++;
        }
        split[n] = c->split[i], row[n] = (int32_t)i;
        n++;
    }
    r->posts = n;
    if (st == FKE_OK && n == 0)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: no image of split %s kept (%ld listed in it, %ld "
                      "missing on disk)", o->dir, o->split, c->n_split, r->no_image.n);
    if (st == FKE_OK) {
        d->N = n;
        for (int k = 0; k < c->n_cat && k < FKE_DF_NCAT; k++) r->unused_categories += !r->per_category[k];
        snprintf(d->generator, sizeof d->generator,
                 "fke-import-deepfashion version=1 split=%s img=%d crop=%d limit=%ld", o->split,
                 o->img, o->crop, o->limit);
        int dn[1] = {n}, dm[2] = {n, c->M}, da[1] = {c->M}, dc[1] = {c->n_cat};
        if ((st = fke_dataset_extra_set(d, "ml_labels", 2, dm, ml, e)) == FKE_OK &&
            (st = fke_dataset_extra_set(d, "ml_type", 1, da, c->attr_type, e)) == FKE_OK &&
            (st = fke_dataset_extra_set(d, "split", 1, dn, split, e)) == FKE_OK &&
            (st = fke_dataset_extra_set(d, "image_row", 1, dn, row, e)) == FKE_OK)
            st = fke_dataset_extra_set(d, "category_type", 1, dc, c->cat_type, e);
    }
    if (st == FKE_OK) st = fke_dataset_validate(d, o->dir, e);
    free(px), free(ml), free(split), free(row);
    return st;
}

fke_status fke_deepfashion_import(const fke_deepfashion_opts *o, fke_dataset *d,
                                  fke_deepfashion_report *r, fke_err *e)
{
    memset(d, 0, sizeof *d);
    memset(r, 0, sizeof *r);
    if (!o || !o->dir || !o->split)
        return fke_fail(e, FKE_ERR_ARG, "deepfashion: no folder or split given");
    if (strcmp(o->split, "train") && strcmp(o->split, "val") && strcmp(o->split, "test") &&
        strcmp(o->split, "all"))
        return fke_fail(e, FKE_ERR_ARG, "deepfashion: split '%s' is not train, val, test or all",
                        o->split);
    if (o->img < 1 || o->img > 4096 || o->crop < 1 || o->crop > 4096 || o->limit < 0 ||
        o->quality < 0 || o->quality > 100)
        return fke_fail(e, FKE_ERR_ARG, "deepfashion: impossible sizes img=%d crop=%d limit=%ld "
                        "quality=%d (img, crop 1..4096, limit >= 0, quality 0 raw or 1..100)",
                        o->img, o->crop, o->limit, o->quality);
    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o, c.r = r;
    snprintf(c.anno, sizeof c.anno, "%s/Anno", o->dir);
    if (access(c.anno, F_OK) != 0) snprintf(c.anno, sizeof c.anno, "%s/Anno_coarse", o->dir);
    if (access(c.anno, F_OK) != 0) {
        ctx_free(&c);
        return fke_fail(e, FKE_ERR_IO, "%s: neither Anno/ nor Anno_coarse/ is there (the "
                        "benchmark's annotation folder)", o->dir);
    }
    fke_status st = categories(&c, e);
    if (st == FKE_OK) st = attributes(&c, e);
    if (st == FKE_OK) st = partition(&c, e);
    if (st == FKE_OK) st = per_image(&c, e);
    r->n_cat = c.n_cat, r->n_attr = c.M;
    if (st == FKE_OK) st = pictures(&c, d, e);
    ctx_free(&c);
    if (st != FKE_OK) fke_dataset_free(d);
    return st;
}
