/* import_fashionke.c - see import_fashionke.h; the format is in
 * datasets/README.md, "FashionKE release". Two passes: the first reads and
 * checks every JSON record of the listed posts (so a bad record stops the
 * import before any picture is decoded), the second decodes the pictures,
 * in parallel, and fills the dataset. */
#include "data/import_fashionke.h"
#include "data/text.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "data/image.h"

#define JSON_MAX ((size_t)4 << 30) /* the meta of 80k posts is a few hundred MB */

/* ---- the import's state -------------------------------------------------- */
typedef struct {
    int32_t box[4]; /* as written, rounded to whole pixels */
    double kx, ky;  /* the sort key: body centre x, cloth centre y */
    int cat, attr[FKE_MAX_ATTR], gender, age;
} garment;

typedef struct {
    const char *id;
    int occ, season, country, clean;
    int n;         /* garment entries (before clipping, dropping and the G cut) */
    garment *g;    /* (n) in the sorted order */
    const cJSON *ids; /* the caption's ids, or NULL */
    const char *text; /* with a vocabulary: the caption as text, or NULL */
} post;

typedef struct {
    const fke_fashionke_opts *o;
    fke_fashionke_report *rep;
    fke_err *e;
    char meta_path[FKE_PATHLEN], text_path[FKE_PATHLEN];
    cJSON *meta, *pool, *list, *occ, *cat, *attr, *attr_val, *country, *text, *appl;
    const cJSON *val_book[FKE_MAX_ATTR]; /* code_attr_val[attribute k] */
    fke_strmap meta_m, pool_m, text_m, seen_m;
    int n_occ, n_cat, A, n_val[FKE_MAX_ATTR], V;
    char **occ_names, **cat_names, **attr_names, **val_names[FKE_MAX_ATTR];
    post *posts; /* (n_posts) the posts kept by pass 1 */
    int n_posts;
    float *wv; /* NULL or (V, wv_dim): word_embeds.npy */
    int wv_dim;
    char **words; /* (V) with o->vocab: the vocabulary file's words */
} ctx;

static void join(char *out, const char *dir, const char *name)
{
    snprintf(out, FKE_PATHLEN, "%s/%s", dir, name);
}

/* Counts \r\n line ends and \uXXXX escapes of a JSON file already parsed
 * (so every backslash is inside a string and starts an escape). */
static void scan_file(const char *path, fke_fashionke_report *rep)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    static const size_t CH = 1 << 20;
    unsigned char *buf = malloc(CH);
    int prev_cr = 0, escape = 0, crlf = 0;
    long u = 0;
    size_t n;
    while (buf && (n = fread(buf, 1, CH, f)) > 0)
        for (size_t i = 0; i < n; i++) {
            unsigned char c = buf[i];
            if (prev_cr && c == '\n') crlf = 1;
            prev_cr = c == '\r';
            if (escape) {
                u += c == 'u';
                escape = 0;
            } else if (c == '\\') {
                escape = 1;
            }
        }
    free(buf);
    fclose(f);
    rep->crlf_files += crlf;
    rep->u_escapes += u;
}

static fke_status read_json(ctx *c, const char *name, cJSON **root, char *path_out)
{
    char path[FKE_PATHLEN];
    join(path, c->o->dir, name);
    if (path_out) snprintf(path_out, FKE_PATHLEN, "%s", path);
    FKE_TRY(fke_read_json(path, JSON_MAX, root, c->e));
    scan_file(path, c->rep);
    return FKE_OK;
}

static int whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && v->valuedouble >= lo &&
           v->valuedouble <= hi;
}

/* A code file's object name -> code: codes 0..n-1, each once; *names in
 * code order. */
static fke_status codebook(const cJSON *obj, const char *path, const char *where, char ***names,
                           int *n, fke_err *e)
{
    if (!cJSON_IsObject(obj))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: %s must be an object of name -> code", path, where);
    int k = cJSON_GetArraySize(obj);
    if (k < 1) return fke_fail(e, FKE_ERR_FORMAT, "%s: %s has no names", path, where);
    char **s = calloc((size_t)k, sizeof *s);
    if (!s) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    fke_status st = FKE_OK;
    for (const cJSON *it = obj->child; it && st == FKE_OK; it = it->next) {
        if (!whole(it, 0, k - 1))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: %s, name \"%s\": the code must be a whole "
                          "number in 0..%d", path, where, it->string, k - 1);
        else if (s[(int)it->valuedouble])
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: %s, name \"%s\": code %d is also \"%s\"'s",
                          path, where, it->string, (int)it->valuedouble,
                          s[(int)it->valuedouble]);
        else if (!(s[(int)it->valuedouble] = strdup(it->string)))
            st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    }
    if (st != FKE_OK) {
        fke_strings_free(s, k);
        return st;
    }
    *names = s;
    *n = k;
    return FKE_OK;
}

static int code_of(const cJSON *book, const char *name)
{
    const cJSON *v = name ? cJSON_GetObjectItemCaseSensitive(book, name) : NULL;
    return v ? (int)v->valuedouble : -1;
}

static fke_status read_codes(ctx *c)
{
    fke_err *e = c->e;
    char path[FKE_PATHLEN];
    FKE_TRY(read_json(c, "code_occasion.json", &c->occ, path));
    FKE_TRY(codebook(c->occ, path, "the top level", &c->occ_names, &c->n_occ, e));
    FKE_TRY(read_json(c, "code_cat.json", &c->cat, path));
    FKE_TRY(codebook(c->cat, path, "the top level", &c->cat_names, &c->n_cat, e));
    FKE_TRY(read_json(c, "code_attr.json", &c->attr, path));
    FKE_TRY(codebook(c->attr, path, "the top level", &c->attr_names, &c->A, e));
    if (c->A > FKE_MAX_ATTR)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: %d attributes, fke takes at most %d", path, c->A,
                        FKE_MAX_ATTR);
    FKE_TRY(read_json(c, "code_attr_val.json", &c->attr_val, path));
    if (!cJSON_IsObject(c->attr_val))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of attribute -> {value -> code}",
                        path);
    for (int k = 0; k < c->A; k++) {
        char where[160];
        snprintf(where, sizeof where, "attribute \"%.100s\"", c->attr_names[k]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(c->attr_val, c->attr_names[k]);
        if (!b)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: %s of code_attr.json is missing", path, where);
        FKE_TRY(codebook(b, path, where, &c->val_names[k], &c->n_val[k], e));
        if (c->n_val[k] < 2)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: %s has %d value; a label needs at least 2",
                            path, where, c->n_val[k]);
        c->val_book[k] = b;
    }
    FKE_TRY(read_json(c, "code_country.json", &c->country, path));
    if (!cJSON_IsObject(c->country))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of country -> code", path);
    for (const cJSON *it = c->country->child; it; it = it->next)
        if (!whole(it, 0, 0x7fffffff))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: country \"%s\": the code must be a whole "
                            "number >= 0", path, it->string);
    return FKE_OK;
}

/* A JSON list of post ids (the split file, labelled_pool.json). */
static fke_status id_list(const cJSON *v, const char *path, fke_err *e)
{
    if (!cJSON_IsArray(v)) return fke_fail(e, FKE_ERR_FORMAT, "%s: must be a list of post ids", path);
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++)
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return fke_fail(e, FKE_ERR_FORMAT, "%s: entry %d must be a post id (a string)", path, i);
    return FKE_OK;
}

static fke_status map_object(fke_strmap *m, const cJSON *obj, const char *path, fke_err *e)
{
    if (!fke_strmap_init(m, (size_t)cJSON_GetArraySize(obj)))
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the index", path);
    for (const cJSON *it = obj->child; it; it = it->next) fke_strmap_put(m, it->string, (void *)it);
    return FKE_OK;
}

/* word_embeds.npy, whole: magic \x93NUMPY, version, header length, then a
 * Python dict with 'descr' ('<f4' or '<f8': little-endian float32 or
 * float64), 'fortran_order': False and 'shape': (rows, cols), then the rows
 * back to back. The file's size must be exactly that. *wv stays NULL (rows
 * 0) when the file is absent. */
static fke_status npy_read(const char *path, int *rows, int *cols, float **wv, fke_err *e)
{
    *rows = *cols = 0;
    *wv = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return FKE_OK;
        return fke_fail(e, FKE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    }
    unsigned char h[12];
    char dict[4097];
    size_t got = fread(h, 1, sizeof h, f);
    size_t hl = 0, pre = 0;
    if (got >= 10 && !memcmp(h, "\x93NUMPY", 6)) {
        if (h[6] == 1) hl = h[8] | (size_t)h[9] << 8, pre = 10;
        else if (got == 12 && (h[6] == 2 || h[6] == 3))
            hl = h[8] | (size_t)h[9] << 8 | (size_t)h[10] << 16 | (size_t)h[11] << 24, pre = 12;
    }
    int ok = pre && hl > 0 && hl < sizeof dict && fseek(f, (long)pre, SEEK_SET) == 0 &&
             fread(dict, 1, hl, f) == hl;
    long r = -1, k = -1;
    int esz = 0;
    if (ok) {
        dict[hl] = 0;
        const char *s = strstr(dict, "'shape'");
        s = s ? strchr(s, '(') : NULL;
        char *after = NULL;
        if (s) r = strtol(s + 1, &after, 10);
        if (after && *after == ',') k = strtol(after + 1, &after, 10);
        if (after && *after != ')' && *after != ',') k = -1; /* a third dimension */
        if (after && *after == ',' && after[1] != ')') k = -1;
        if (strstr(dict, "'<f4'") || strstr(dict, "'=f4'")) esz = 4;
        else if (strstr(dict, "'<f8'") || strstr(dict, "'=f8'")) esz = 8;
        if (strstr(dict, "'fortran_order': True")) esz = 0;
    }
    if (r < 1 || r > 10000000 || k < 1 || k > 65536 || !esz) {
        fclose(f);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not a .npy file of little-endian float32 or "
                        "float64 in C order with a 'shape' of (rows, columns)", path);
    }
    size_t n = (size_t)r * (size_t)k;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || (size_t)size != pre + hl + n * (size_t)esz) {
        fclose(f);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: %ld bytes, but its header promises %ld x %ld "
                        "values of %d bytes after %zu bytes of header", path, size, r, k, esz,
                        pre + hl);
    }
    float *v = malloc(n * sizeof *v);
    unsigned char *raw = malloc(n * (size_t)esz);
    ok = v && raw && fseek(f, (long)(pre + hl), SEEK_SET) == 0 && fread(raw, (size_t)esz, n, f) == n;
    fclose(f);
    size_t bad = n;
    for (size_t i = 0; ok && i < n; i++) {
        double x;
        if (esz == 4) {
            float y;
            memcpy(&y, raw + 4 * i, 4);
            x = y;
        } else {
            memcpy(&x, raw + 8 * i, 8);
        }
        if (!isfinite(x) || fabs(x) > 3e38) {
            bad = i;
            break;
        }
        v[i] = (float)x;
    }
    free(raw);
    if (!ok || bad < n) {
        free(v);
        if (!ok) return fke_fail(e, FKE_ERR_IO, "%s: cannot read its %zu values", path, n);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: row %zu, column %zu is not a finite float32",
                        path, bad / (size_t)k, bad % (size_t)k);
    }
    *rows = (int)r, *cols = (int)k, *wv = v;
    return FKE_OK;
}

/* id_text_preprocessed.json: every entry checked, V from the largest id
 * (or word_embeds.npy). */
static fke_status read_text(ctx *c)
{
    fke_err *e = c->e;
    if (c->o->vocab) {
        FKE_TRY(fke_vocab_load(c->o->vocab, &c->words, &c->V, e));
        c->rep->V = c->V;
        return FKE_OK;
    }
    FKE_TRY(read_json(c, "id_text_preprocessed.json", &c->text, c->text_path));
    if (!cJSON_IsObject(c->text))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of post id -> {\"ids\": [...]}",
                        c->text_path);
    long max_id = 0;
    for (const cJSON *it = c->text->child; it; it = it->next) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(it, "ids");
        if (!cJSON_IsObject(it) || !cJSON_IsArray(ids))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: must be an object with a list "
                            "\"ids\"", c->text_path, it->string);
        int j = 0;
        for (const cJSON *t = ids->child; t; t = t->next, j++) {
            if (!whole(t, 0, 0x7ffffffe))
                return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: ids[%d] must be a whole "
                                "number >= 0", c->text_path, it->string, j);
            if (t->valuedouble > max_id) max_id = (long)t->valuedouble;
        }
    }
    char npy[FKE_PATHLEN];
    join(npy, c->o->dir, "word_embeds.npy");
    int rows, cols;
    FKE_TRY(npy_read(npy, &rows, &cols, &c->wv, e));
    c->wv_dim = cols;
    if (rows && max_id >= rows)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: token id %ld is past the %d rows of %s",
                        c->text_path, max_id, rows, npy);
    if (!rows && max_id >= 10000000) /* the config's largest V */
        return fke_fail(e, FKE_ERR_FORMAT, "%s: token id %ld would make a vocabulary of more "
                        "than 10000000 words", c->text_path, max_id);
    c->V = rows ? rows : (int)(max_id + 1 < 2 ? 2 : max_id + 1);
    c->rep->V = c->V;
    c->rep->V_from_npy = rows > 0;
    return map_object(&c->text_m, c->text, c->text_path, e);
}

/* ---- one post of the meta ------------------------------------------------- */
static fke_status read_box(const cJSON *v, int n, double *out)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < n) return FKE_ERR_FORMAT;
    int i = 0;
    for (const cJSON *t = v->child; t && i < n; t = t->next, i++) {
        if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || fabs(t->valuedouble) > 1e9)
            return FKE_ERR_FORMAT;
        out[i] = t->valuedouble;
    }
    return FKE_OK;
}

static int age_band(double age)
{
    return age < 25 ? 0 : age < 40 ? 1 : age < 60 ? 2 : 3;
}

static void note_unknown_attr(fke_fashionke_report *r, const char *name)
{
    r->attr_unknown++;
    for (int i = 0; i < r->n_attr_unknown_names; i++)
        if (!strcmp(r->attr_unknown_names[i], name)) return;
    if (r->n_attr_unknown_names < FKE_FASHIONKE_NAMES)
        snprintf(r->attr_unknown_names[r->n_attr_unknown_names++], sizeof r->attr_unknown_names[0],
                 "%.47s", name);
}

/* The garment entry cloth_body_face[j] of post id into *g. */
static fke_status read_garment(ctx *c, const char *id, int j, const cJSON *ent, garment *g)
{
    fke_err *e = c->e;
    fke_fashionke_report *r = c->rep;
    const char *mp = c->meta_path;
    char at[96];
    snprintf(at, sizeof at, "cloth_body_face[%d]", j);
    if (!cJSON_IsObject(ent))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s must be an object", mp, id, at);
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(ent, "cloth");
    if (!cJSON_IsObject(cl))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.cloth must be an object", mp, id, at);
    double box[4], body[4];
    if (read_box(cJSON_GetObjectItemCaseSensitive(cl, "box"), 4, box))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.cloth.box must be 4 numbers "
                        "[x1, y1, x2, y2]", mp, id, at);
    if (read_box(cJSON_GetObjectItemCaseSensitive(ent, "body"), 4, body))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.body must be 4 numbers "
                        "[x1, y1, x2, y2]", mp, id, at);
    for (int k = 0; k < 4; k++) g->box[k] = (int32_t)floor(box[k] + 0.5);
    g->kx = body[0] + (body[2] - body[0]) / 2;
    g->ky = box[1] + (box[3] - box[1]) / 2;
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(cl, "category");
    if (!cJSON_IsString(ca))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.cloth.category must be a string",
                        mp, id, at);
    g->cat = code_of(c->cat, ca->valuestring);
    if (g->cat < 0)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.cloth.category \"%s\" is not in "
                        "code_cat.json", mp, id, at, ca->valuestring);
    for (int k = 0; k < FKE_MAX_ATTR; k++) g->attr[k] = -1;
    for (const cJSON *it = cl->child; it; it = it->next) {
        const char *colon = strchr(it->string, ':');
        if (!colon) continue; /* box, category and any other plain key */
        char name[256];
        size_t len = (size_t)(colon - it->string);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1),
                 it->string);
        if (!cJSON_IsNumber(it))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.cloth key \"%s\" must have a "
                            "number", mp, id, at, it->string);
        int k = code_of(c->attr, name);
        if (k < 0) {
            note_unknown_attr(r, name);
            continue;
        }
        int v = code_of(c->val_book[k], colon + 1);
        if (v < 0)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.cloth key \"%s\": value \"%s\" "
                            "is not in code_attr_val.json[\"%s\"]", mp, id, at, it->string,
                            colon + 1, name);
        r->attr_keys++;
        r->attr_repeated += g->attr[k] >= 0;
        if (it->valuedouble == 1) r->values_one++;
        else r->values_fraction++;
        g->attr[k] = v;
    }
    const cJSON *gd = cJSON_GetObjectItemCaseSensitive(ent, "gender");
    if (gd && !cJSON_IsNull(gd) && !cJSON_IsString(gd))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.gender must be a string", mp, id, at);
    g->gender = cJSON_IsString(gd) && !strcmp(gd->valuestring, "F")   ? 0
                : cJSON_IsString(gd) && !strcmp(gd->valuestring, "M") ? 1
                                                                       : -1;
    r->gender_unknown += g->gender < 0;
    const cJSON *ag = cJSON_GetObjectItemCaseSensitive(ent, "age");
    if (ag && !cJSON_IsNull(ag) && !cJSON_IsNumber(ag))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: %s.age must be a number", mp, id, at);
    g->age = cJSON_IsNumber(ag) && ag->valuedouble >= 0 ? age_band(ag->valuedouble) : -1;
    r->age_unknown += g->age < 0;
    return FKE_OK;
}

/* Stable: insertion sort on (kx, ky). */
static void sort_garments(garment *g, int n)
{
    for (int i = 1; i < n; i++) {
        garment x = g[i];
        int j = i - 1;
        while (j >= 0 && (g[j].kx > x.kx || (g[j].kx == x.kx && g[j].ky > x.ky))) {
            g[j + 1] = g[j];
            j--;
        }
        g[j + 1] = x;
    }
}

static fke_status read_post(ctx *c, const char *id, const cJSON *pj, post *p)
{
    fke_err *e = c->e;
    fke_fashionke_report *r = c->rep;
    const char *mp = c->meta_path;
    if (!cJSON_IsObject(pj)) return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s must be an object", mp, id);
    memset(p, 0, sizeof *p);
    p->id = id;
    const cJSON *oc = cJSON_GetObjectItemCaseSensitive(pj, "occasion");
    if (!cJSON_IsString(oc))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: occasion must be a string", mp, id);
    if ((p->occ = code_of(c->occ, oc->valuestring)) < 0)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: occasion \"%s\" is not in "
                        "code_occasion.json", mp, id, oc->valuestring);
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(pj, "month");
    if (!cJSON_IsNumber(mo))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: month must be a number 1..12", mp, id);
    if (!whole(mo, 1, 12))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: month is %g, not a month 1..12", mp, id,
                        mo->valuedouble);
    p->season = ((int)mo->valuedouble - 1) / 3;
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(pj, "country");
    if (co && !cJSON_IsNull(co) && !cJSON_IsString(co))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: country must be a string or null", mp, id);
    if (!cJSON_IsString(co) || !co->valuestring[0]) {
        r->country_empty++;
    } else {
        p->country = code_of(c->country, co->valuestring);
        if (p->country < 0) {
            p->country = 0;
            r->country_unknown++;
        }
    }
    const cJSON *cbf = cJSON_GetObjectItemCaseSensitive(pj, "cloth_body_face");
    if (!cJSON_IsArray(cbf))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: cloth_body_face must be a list", mp, id);
    p->n = cJSON_GetArraySize(cbf);
    p->g = calloc((size_t)(p->n ? p->n : 1), sizeof *p->g);
    if (!p->g) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", mp);
    int j = 0;
    for (const cJSON *it = cbf->child; it; it = it->next, j++)
        FKE_TRY(read_garment(c, id, j, it, &p->g[j]));
    sort_garments(p->g, p->n);
    p->clean = fke_strmap_get(&c->pool_m, id) != NULL;
    if (c->o->vocab) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(pj, "text");
        if (t && !cJSON_IsString(t) && !cJSON_IsNull(t))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: text must be a string", mp, id);
        p->text = cJSON_IsString(t) ? t->valuestring : NULL;
        return FKE_OK;
    }
    const cJSON *tx = fke_strmap_get(&c->text_m, id);
    p->ids = tx ? cJSON_GetObjectItemCaseSensitive(tx, "ids") : NULL;
    return FKE_OK;
}

/* Pass 1: the split's posts, checked, in list order. */
static fke_status read_posts(ctx *c)
{
    const fke_fashionke_opts *o = c->o;
    fke_fashionke_report *r = c->rep;
    fke_err *e = c->e;
    char list_path[FKE_PATHLEN], path[FKE_PATHLEN];
    if (o->split == FKE_FASHIONKE_TEST) snprintf(r->split_file, sizeof r->split_file, "test_ids.json");
    else snprintf(r->split_file, sizeof r->split_file, "train_ids_%.1f.json", o->noise_ratio);
    FKE_TRY(read_json(c, r->split_file, &c->list, list_path));
    FKE_TRY(id_list(c->list, list_path, e));
    FKE_TRY(read_json(c, "labelled_pool.json", &c->pool, path));
    FKE_TRY(id_list(c->pool, path, e));
    if (!fke_strmap_init(&c->pool_m, (size_t)cJSON_GetArraySize(c->pool)))
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    for (const cJSON *it = c->pool->child; it; it = it->next)
        fke_strmap_put(&c->pool_m, it->valuestring, (void *)it);
    FKE_TRY(read_json(c, "cloth_body_face_meta.json", &c->meta, c->meta_path));
    if (!cJSON_IsObject(c->meta))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of post id -> post", c->meta_path);
    FKE_TRY(map_object(&c->meta_m, c->meta, c->meta_path, e));
    int n = cJSON_GetArraySize(c->list);
    c->posts = calloc((size_t)(n ? n : 1), sizeof *c->posts);
    if (!c->posts || !fke_strmap_init(&c->seen_m, (size_t)n))
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", list_path);
    int i = 0;
    for (const cJSON *it = c->list->child; it; it = it->next, i++) {
        const char *id = it->valuestring;
        r->listed++;
        if (strchr(id, '/') || !strcmp(id, "..") || strlen(id) > 200)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: entry %d: \"%.60s\" cannot be a post id (a "
                            "file name in images/)", list_path, i, id);
        if (!fke_strmap_put(&c->seen_m, id, (void *)it)) {
            r->duplicates++;
            continue;
        }
        const cJSON *pj = fke_strmap_get(&c->meta_m, id);
        if (!pj) {
            r->not_in_meta++;
            continue;
        }
        char img[FKE_PATHLEN];
        snprintf(img, sizeof img, "%s/images/%s.jpg", o->dir, id);
        struct stat sb;
        if (stat(img, &sb) != 0) {
            if (errno != ENOENT)
                return fke_fail(e, FKE_ERR_IO, "%s: cannot read (%s)", img, strerror(errno));
            if (!r->no_image++)
                snprintf(r->first_missing_image, sizeof r->first_missing_image, "%s", id);
            continue;
        }
        post *p = &c->posts[c->n_posts++];
        FKE_TRY(read_post(c, id, pj, p));
    }
    if (!c->n_posts)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: none of its %ld posts could be imported (%ld not "
                        "in the meta, %ld without a picture)", list_path, r->listed,
                        r->not_in_meta, r->no_image);
    return FKE_OK;
}

/* clothes_category_attribute_value.json as the (n_cat, A) 0/1 mask. */
static fke_status read_applicable(ctx *c, int32_t *mask)
{
    fke_err *e = c->e;
    char path[FKE_PATHLEN];
    FKE_TRY(read_json(c, "clothes_category_attribute_value.json", &c->appl, path));
    if (!cJSON_IsObject(c->appl))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of category -> list of "
                        "{attribute -> values}", path);
    for (const cJSON *it = c->appl->child; it; it = it->next) {
        if (!cJSON_IsArray(it))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: category \"%s\": must be a list of "
                            "{attribute -> values}", path, it->string);
        int cat = code_of(c->cat, it->string), j = 0;
        if (cat < 0) c->rep->appl_cat_skipped++;
        for (const cJSON *o = it->child; o; o = o->next, j++) {
            if (!cJSON_IsObject(o))
                return fke_fail(e, FKE_ERR_FORMAT, "%s: category \"%s\", entry %d: must be an "
                                "object {attribute -> values}", path, it->string, j);
            if (cat < 0) continue;
            for (const cJSON *a = o->child; a; a = a->next) {
                int k = code_of(c->attr, a->string);
                if (k < 0) c->rep->appl_attr_skipped++;
                else mask[cat * c->A + k] = 1;
            }
        }
    }
    return FKE_OK;
}

/* ---- pass 2: pictures ------------------------------------------------------ */
typedef struct {
    long clipped, empty, over_G;
} pic_counts;

/* Post i's picture into img (3, S, S) and crops (G, 3, P, P), its boxes
 * and labels into d. */
static fke_status fill_post(const ctx *c, fke_dataset *d, int i, uint8_t *img, uint8_t *crops,
                            pic_counts *pc, fke_err *e)
{
    const post *p = &c->posts[i];
    const int S = d->img, P = d->crop, G = d->G, A = d->A;
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s/images/%s.jpg", c->o->dir, p->id);
    fke_image im;
    FKE_TRY(fke_image_read(path, &im, e));
    int32_t whole_box[4] = {0, 0, im.w, im.h};
    fke_image_resize_chw(&im, whole_box, S, img);
    int n = 0;
    for (int j = 0; j < p->n; j++) {
        const garment *g = &p->g[j];
        int32_t b[4] = {g->box[0], g->box[1], g->box[2], g->box[3]};
        int how = fke_box_clip(b, im.w, im.h);
        if (how == FKE_BOX_EMPTY) {
            pc->empty++;
            continue;
        }
        if (n == G) {
            pc->over_G++;
            continue;
        }
        pc->clipped += how == FKE_BOX_CLIPPED;
        size_t s = (size_t)i * G + n;
        fke_image_resize_chw(&im, b, P, crops + (size_t)n * 3 * P * P);
        fke_box_to_frame(b, im.w, im.h, S, d->boxes + s * 4);
        d->cat[s] = g->cat;
        (p->clean ? d->cat_true : d->cat_machine)[s] = g->cat;
        for (int k = 0; k < A; k++) {
            d->attr[s * A + k] = g->attr[k];
            (p->clean ? d->attr_true : d->attr_machine)[s * A + k] = g->attr[k];
        }
        d->person[s * 2] = g->gender;
        d->person[s * 2 + 1] = g->age;
        n++;
    }
    d->n_garments[i] = n;
    fke_image_free(&im);
    return FKE_OK;
}

static fke_status read_pictures(const ctx *c, fke_dataset *d, fke_err *e)
{
    int N = c->n_posts, bad = N, G = d->G, jpeg = d->jpeg_quality > 0;
    fke_status bad_st = FKE_OK;
    /* the JPEG store is built in chunks of posts: decoded, resized and
     * encoded in parallel, then appended in list order */
    int chunk = jpeg ? 64 : (N ? N : 1);
    size_t ni = (size_t)3 * d->img * d->img, nc = (size_t)G * 3 * d->crop * d->crop;
    pic_counts *pc = calloc((size_t)N, sizeof *pc);
    uint8_t *px = jpeg ? malloc((size_t)chunk * (ni + nc)) : NULL;
    uint8_t **buf = jpeg ? calloc((size_t)chunk * (G + 1), sizeof *buf) : NULL;
    size_t *len = jpeg ? calloc((size_t)chunk * (G + 1), sizeof *len) : NULL;
    if (!pc || (jpeg && (!px || !buf || !len))) {
        free(pc), free(px), free(buf), free(len);
        return fke_fail(e, FKE_ERR_NOMEM, "fashionke import: no memory");
    }
    /* every post of a chunk is tried; the message kept is the first failing
     * post's, so it does not depend on the thread count */
    for (int c0 = 0; c0 < N && bad == N; c0 += chunk) {
        int c1 = N - c0 < chunk ? N : c0 + chunk;
#pragma omp parallel for schedule(dynamic, 8)
        for (int i = c0; i < c1; i++) {
            fke_err ei = {{0}};
            uint8_t *img = jpeg ? px + (size_t)(i - c0) * (ni + nc) : d->images + (size_t)i * ni;
            uint8_t *crops = jpeg ? img + ni : d->crops + (size_t)i * nc;
            fke_status st = fill_post(c, d, i, img, crops, &pc[i], &ei);
            uint8_t **b = jpeg ? buf + (size_t)(i - c0) * (G + 1) : NULL;
            size_t *l = jpeg ? len + (size_t)(i - c0) * (G + 1) : NULL;
            for (int s = 0; jpeg && st == FKE_OK && s <= d->n_garments[i]; s++)
                st = fke_dataset_encode_pixels(s ? crops + (size_t)(s - 1) * (nc / G) : img,
                                               s ? d->crop : d->img, d->jpeg_quality, &b[s], &l[s],
                                               &ei);
            if (st != FKE_OK) {
#pragma omp critical(fke_fashionke_err)
                if (i < bad) {
                    bad = i;
                    bad_st = st;
                    *e = ei;
                }
            }
        }
        for (int k = 0; jpeg && k < (c1 - c0) * (G + 1); k++) {
            if (bad == N) bad_st = fke_dataset_jpeg_append(d, buf[k], len[k], e);
            if (bad_st != FKE_OK && bad == N) bad = c0 + k / (G + 1);
            free(buf[k]);
            buf[k] = NULL, len[k] = 0;
        }
    }
    free(px), free(buf), free(len);
    fke_fashionke_report *r = c->rep;
    for (int i = 0; i < N; i++) {
        r->clipped += pc[i].clipped;
        r->empty += pc[i].empty;
        r->over_G += pc[i].over_G;
        r->posts_over_G += pc[i].over_G > 0;
    }
    free(pc);
    return bad_st;
}

/* ---- the whole import ------------------------------------------------------ */
void fke_fashionke_defaults(fke_fashionke_opts *o)
{
    memset(o, 0, sizeof *o);
    o->split = FKE_FASHIONKE_TRAIN;
    o->noise_ratio = 0.7;
    o->img = 64, o->crop = 32, o->G = 5, o->L = 16;
    o->quality = 92;
}

static void ctx_free(ctx *c)
{
    cJSON *roots[] = {c->meta, c->pool, c->list, c->occ, c->cat, c->attr, c->attr_val,
                      c->country, c->text, c->appl};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) cJSON_Delete(roots[i]);
    fke_strmap_free(&c->meta_m);
    fke_strmap_free(&c->pool_m);
    fke_strmap_free(&c->text_m);
    fke_strmap_free(&c->seen_m);
    for (int i = 0; i < c->n_posts; i++) free(c->posts[i].g);
    free(c->posts);
    free(c->wv);
    fke_strings_free(c->words, c->words ? c->V : 0);
    fke_strings_free(c->occ_names, c->occ_names ? c->n_occ : 0);
    fke_strings_free(c->cat_names, c->cat_names ? c->n_cat : 0);
    fke_strings_free(c->attr_names, c->attr_names ? c->A : 0);
    for (int k = 0; k < FKE_MAX_ATTR; k++)
        fke_strings_free(c->val_names[k], c->val_names[k] ? c->n_val[k] : 0);
}

/* Post i's 32 hex digits as 4 int32 (8 digits each), or 0 when its id is
 * not 32 hex digits. */
static int hex_id(const char *id, int32_t out[4])
{
    if (strlen(id) != 32 || strspn(id, "0123456789abcdefABCDEF") != 32) return 0;
    for (int k = 0; k < 4; k++) {
        char part[9];
        memcpy(part, id + 8 * k, 8);
        part[8] = 0;
        out[k] = (int32_t)(uint32_t)strtoul(part, NULL, 16);
    }
    return 1;
}

/* What the values of season and country mean: the months of each season,
 * the country names of code_country.json by code ("" for a code no name
 * has, and for 0 unless a country has it: unknown). */
static fke_status name_extras(ctx *c, fke_dataset *d, fke_err *e)
{
    static const char *const seasons[4] = {"January-March", "April-June", "July-September",
                                           "October-December"};
    FKE_TRY(fke_dataset_extra_names(d, "season", seasons, 4, e));
    int n = 1;
    for (const cJSON *it = c->country->child; it; it = it->next)
        if (it->valuedouble + 1 > n && it->valuedouble < 100000) n = (int)it->valuedouble + 1;
    const char **names = calloc((size_t)n, sizeof *names);
    if (!names) return fke_fail(e, FKE_ERR_NOMEM, "fashionke import: no memory");
    for (int k = 0; k < n; k++) names[k] = "";
    for (const cJSON *it = c->country->child; it; it = it->next)
        if (it->valuedouble < n) names[(int)it->valuedouble] = it->string;
    fke_status st = fke_dataset_extra_names(d, "country", names, n, e);
    free(names);
    return st;
}

/* Sizes, names and the per-post fields of pass 1 into d. */
static fke_status make_dataset(ctx *c, fke_dataset *d, fke_err *e)
{
    const fke_fashionke_opts *o = c->o;
    d->N = c->n_posts, d->G = o->G, d->A = c->A, d->L = o->L;
    d->img = o->img, d->crop = o->crop, d->C = 3, d->jpeg_quality = o->quality;
    d->n_occ = c->n_occ, d->n_cat = c->n_cat, d->V = c->V;
    for (int k = 0; k < c->A; k++) d->n_val[k] = c->n_val[k];
    FKE_TRY(fke_dataset_alloc(d, e));
    /* the names move from the context to the dataset */
    d->occ_names = c->occ_names, c->occ_names = NULL;
    d->cat_names = c->cat_names, c->cat_names = NULL;
    d->attr_names = c->attr_names, c->attr_names = NULL;
    d->val_names = calloc((size_t)c->A + 1, sizeof *d->val_names);
    d->vocab = calloc((size_t)c->V, sizeof *d->vocab);
    d->word_vectors = c->wv, d->wv_dim = c->wv_dim, c->wv = NULL;
    c->rep->wv_dim = d->wv_dim;
    if (!d->val_names || !d->vocab) return fke_fail(e, FKE_ERR_NOMEM, "fashionke import: no memory");
    for (int k = 0; k < c->A; k++) d->val_names[k] = c->val_names[k], c->val_names[k] = NULL;
    for (int v = 0; v < c->V; v++) {
        char s[24];
        snprintf(s, sizeof s, "<%d>", v);
        if (c->words) d->vocab[v] = c->words[v], c->words[v] = NULL;
        else if (!(d->vocab[v] = strdup(s))) return fke_fail(e, FKE_ERR_NOMEM, "fashionke import: no memory");
    }
    snprintf(d->generator, sizeof d->generator,
             "fke-import-fashionke split=%s list=%s img=%d crop=%d G=%d L=%d V=%d dir=%.800s",
             o->split == FKE_FASHIONKE_TEST ? "test" : "train", c->rep->split_file, o->img,
             o->crop, o->G, o->L, c->V, o->dir);
    fke_fashionke_report *r = c->rep;
    int32_t *season = malloc((size_t)d->N * sizeof *season);
    int32_t *country = malloc((size_t)d->N * sizeof *country);
    int32_t *pid = malloc((size_t)d->N * 4 * sizeof *pid);
    int32_t *appl = calloc((size_t)c->n_cat * (c->A ? c->A : 1), sizeof *appl);
    fke_status st = season && country && pid && appl
                        ? FKE_OK
                        : fke_fail(e, FKE_ERR_NOMEM, "fashionke import: no memory");
    int all_hex = 1;
    fke_tokenizer tz = {0};
    if (st == FKE_OK && o->vocab) st = fke_tokenizer_init(&tz, d->vocab, d->V, e);
    for (int i = 0; st == FKE_OK && i < d->N; i++) {
        const post *p = &c->posts[i];
        d->occ[i] = p->occ;
        d->clean[i] = (uint8_t)p->clean;
        season[i] = p->season;
        country[i] = p->country;
        all_hex &= hex_id(p->id, pid + 4 * i);
        r->clean += p->clean;
        r->machine += !p->clean;
        r->garments += p->n;
        int n = 0;
        if (tz.idx) {
            fke_text_stats ts;
            if (!p->text) r->caption_missing++;
            else if (st == FKE_OK) st = fke_tokenizer_run(&tz, p->text, d->L, d->tokens + (size_t)i * d->L, &ts, e);
            if (p->text && st == FKE_OK) {
                r->caption_empty += ts.n == 0;
                r->caption_cut += ts.truncated > 0;
                r->caption_padded += ts.n > 0 && ts.n < d->L;
                r->words += ts.words, r->words_unknown += ts.unknown;
            }
        } else if (!p->ids) {
            r->caption_missing++;
        } else {
            int len = cJSON_GetArraySize(p->ids);
            r->caption_empty += len == 0;
            r->caption_cut += len > d->L;
            r->caption_padded += len > 0 && len < d->L;
            for (const cJSON *t = p->ids->child; t && n < d->L; t = t->next)
                d->tokens[(size_t)i * d->L + n++] = (int32_t)t->valuedouble;
        }
    }
    fke_tokenizer_free(&tz);
    if (st == FKE_OK) st = read_applicable(c, appl);
    int d1[1] = {d->N}, d2[2] = {d->N, 4}, da[2] = {c->n_cat, c->A};
    if (st == FKE_OK) st = fke_dataset_extra_set(d, "season", 1, d1, season, e);
    if (st == FKE_OK) st = fke_dataset_extra_set(d, "country", 1, d1, country, e);
    if (st == FKE_OK) st = name_extras(c, d, e);
    if (st == FKE_OK && c->A) st = fke_dataset_extra_set(d, "applicable", 2, da, appl, e);
    if (st == FKE_OK && all_hex) st = fke_dataset_extra_set(d, "post_id", 2, d2, pid, e);
    free(season);
    free(country);
    free(pid);
    free(appl);
    return st;
}

fke_status fke_import_fashionke(const fke_fashionke_opts *o, fke_dataset *out,
                                fke_fashionke_report *rep, fke_err *e)
{
    memset(out, 0, sizeof *out);
    fke_fashionke_report scratch;
    if (!rep) rep = &scratch;
    memset(rep, 0, sizeof *rep);
    if (!o || !o->dir || !o->dir[0])
        return fke_fail(e, FKE_ERR_ARG, "fashionke import: no release folder given");
    if (o->split != FKE_FASHIONKE_TRAIN && o->split != FKE_FASHIONKE_TEST)
        return fke_fail(e, FKE_ERR_ARG, "fashionke import: split %d is neither train nor test",
                        o->split);
    if (o->img < 1 || o->crop < 1 || o->G < 1 || o->L < 1 || !(o->noise_ratio >= 0) ||
        o->noise_ratio > 1 || o->quality < 0 || o->quality > 100)
        return fke_fail(e, FKE_ERR_ARG, "fashionke import: impossible sizes img=%d crop=%d G=%d "
                        "L=%d, noise ratio %g or JPEG quality %d (0 raw, 1..100)", o->img,
                        o->crop, o->G, o->L, o->noise_ratio, o->quality);
    struct stat sb;
    if (stat(o->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fke_fail(e, FKE_ERR_IO, "%s: not a folder (the FashionKE release)", o->dir);
    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o, c.rep = rep, c.e = e;
    fke_status st = read_codes(&c);
    if (st == FKE_OK) st = read_text(&c);
    if (st == FKE_OK) st = read_posts(&c);
    if (st == FKE_OK) st = make_dataset(&c, out, e);
    if (st == FKE_OK) st = read_pictures(&c, out, e);
    if (st == FKE_OK) {
        rep->kept = out->N;
        for (int i = 0; i < out->N; i++) {
            rep->kept_garments += out->n_garments[i];
            rep->no_garment += out->n_garments[i] == 0;
        }
        st = fke_dataset_validate(out, "fashionke import", e);
    }
    ctx_free(&c);
    if (st != FKE_OK) fke_dataset_free(out);
    return st;
}

fke_status fke_fashionke_captions(const fke_fashionke_opts *o, char ***texts, long *n, fke_err *e)
{
    *texts = NULL, *n = 0;
    fke_fashionke_report rep;
    memset(&rep, 0, sizeof rep);
    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o, c.rep = &rep, c.e = e;
    char list_path[FKE_PATHLEN];
    if (o->split == FKE_FASHIONKE_TEST) snprintf(rep.split_file, sizeof rep.split_file, "test_ids.json");
    else snprintf(rep.split_file, sizeof rep.split_file, "train_ids_%.1f.json", o->noise_ratio);
    fke_status st = read_json(&c, rep.split_file, &c.list, list_path);
    if (st == FKE_OK) st = id_list(c.list, list_path, e);
    if (st == FKE_OK) st = read_json(&c, "cloth_body_face_meta.json", &c.meta, c.meta_path);
    if (st == FKE_OK && !cJSON_IsObject(c.meta))
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of post id -> post", c.meta_path);
    if (st == FKE_OK) st = map_object(&c.meta_m, c.meta, c.meta_path, e);
    int listed = st == FKE_OK ? cJSON_GetArraySize(c.list) : 0;
    char **t = st == FKE_OK ? calloc((size_t)listed + 1, sizeof *t) : NULL;
    if (st == FKE_OK && (!t || !fke_strmap_init(&c.seen_m, (size_t)listed)))
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", list_path);
    long k = 0;
    for (const cJSON *it = st == FKE_OK ? c.list->child : NULL; it && st == FKE_OK; it = it->next) {
        const cJSON *pj = fke_strmap_get(&c.meta_m, it->valuestring);
        if (!pj || !fke_strmap_put(&c.seen_m, it->valuestring, (void *)it)) continue;
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(pj, "text");
        if (tx && !cJSON_IsString(tx) && !cJSON_IsNull(tx))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: post %s: text must be a string", c.meta_path,
                          it->valuestring);
        else if (!(t[k++] = strdup(cJSON_IsString(tx) ? tx->valuestring : "")))
            st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", c.meta_path);
    }
    ctx_free(&c);
    if (st != FKE_OK) return fke_strings_free(t, -1), st;
    *texts = t, *n = k;
    return FKE_OK;
}

/* ---- the transition initialisation ------------------------------------------ */
static int name_index(char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* obj: true name -> {machine name -> count} into counts (n, n). */
static fke_status confusion(const cJSON *obj, char *const *names, int n, double *counts,
                            const char *path, const char *where, fke_fashionke_report *r,
                            fke_err *e)
{
    if (!cJSON_IsObject(obj))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: %s must be an object of true label -> {machine "
                        "label -> count}", path, where);
    for (const cJSON *t = obj->child; t; t = t->next) {
        if (!cJSON_IsObject(t))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: %s, true label \"%s\": must be an object of "
                            "machine label -> count", path, where, t->string);
        int i = name_index(names, n, t->string);
        if (i < 0) r->T_names_skipped++;
        for (const cJSON *m = t->child; m; m = m->next) {
            if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0) || !isfinite(m->valuedouble))
                return fke_fail(e, FKE_ERR_FORMAT, "%s: %s, \"%s\" -> \"%s\": the count must be "
                                "a number >= 0", path, where, t->string, m->string);
            int j = name_index(names, n, m->string);
            if (i < 0) continue;
            if (j < 0) r->T_names_skipped++;
            else counts[i * n + j] += m->valuedouble;
        }
    }
    return FKE_OK;
}

static void normalise(const double *counts, int n, float *T, fke_fashionke_report *r)
{
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += counts[i * n + j];
        r->T_zero_rows += s <= 0;
        for (int j = 0; j < n; j++)
            T[i * n + j] = s > 0 ? (float)(counts[i * n + j] / s) : (float)(i == j);
    }
}

fke_status fke_fashionke_tmatrix(const char *dir, const fke_dataset *d, fke_tmatrices *tm,
                                 fke_fashionke_report *rep, fke_err *e)
{
    memset(tm, 0, sizeof *tm);
    fke_fashionke_report scratch;
    if (!rep) rep = &scratch, memset(&scratch, 0, sizeof scratch);
    rep->T_zero_rows = rep->T_names_skipped = 0;
    char pc[FKE_PATHLEN], pa[FKE_PATHLEN];
    join(pc, dir, "category_confuse_mat.json");
    join(pa, dir, "attribute_confuse_mat.json");
    cJSON *cj = NULL, *aj = NULL;
    fke_status st = fke_read_json(pc, JSON_MAX, &cj, e);
    if (st == FKE_OK) st = fke_read_json(pa, JSON_MAX, &aj, e);
    if (st == FKE_OK && !cJSON_IsObject(aj))
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: must be an object of attribute -> {true value -> "
                      "{machine value -> count}}", pa);
    tm->ntask = 1 + d->A;
    for (int t = 0; st == FKE_OK && t < tm->ntask; t++) {
        int n = tm->n[t] = t ? d->n_val[t - 1] : d->n_cat;
        double *counts = calloc((size_t)n * n, sizeof *counts);
        tm->T[t] = calloc((size_t)n * n, sizeof(float));
        if (!counts || !tm->T[t]) {
            free(counts);
            st = fke_fail(e, FKE_ERR_NOMEM, "transition: no memory");
            break;
        }
        if (t == 0) {
            st = confusion(cj, d->cat_names, n, counts, pc, "the top level", rep, e);
        } else {
            const char *an = d->attr_names[t - 1];
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(aj, an);
            char where[160];
            snprintf(where, sizeof where, "attribute \"%.100s\"", an);
            if (a) st = confusion(a, d->val_names[t - 1], n, counts, pa, where, rep, e);
        }
        if (st == FKE_OK) normalise(counts, n, tm->T[t], rep);
        free(counts);
    }
    if (st == FKE_OK)
        for (const cJSON *a = aj->child; a; a = a->next)
            rep->T_names_skipped += name_index(d->attr_names, d->A, a->string) < 0;
    cJSON_Delete(cj);
    cJSON_Delete(aj);
    if (st != FKE_OK) fke_tmatrix_free(tm);
    return st;
}
