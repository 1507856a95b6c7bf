/* knowledge.c - extraction lines to fashion knowledge tables and heat maps
 * (knowledge.h). */
#include "run/knowledge.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/h5.h"
#include "data/dataset.h"
#include "model/checkpoint.h"
#include "run/heatmap.h"
#include "run/metrics.h"

/* ---- interned names and a count map ------------------------------------------ */
static int intern(fke_names *t, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->s[i], s)) return i;
    if (t->n >= 65535) return -1;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **n = realloc(t->s, (size_t)cap * sizeof *n);
        if (!n) return -1;
        t->s = n, t->cap = cap;
    }
    if (!(t->s[t->n] = strdup(s))) return -1;
    return t->n++;
}

static int find(const fke_names *t, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->s[i], s)) return i;
    return -1;
}

static void names_free(fke_names *t)
{
    for (int i = 0; i < t->n; i++) free(t->s[i]);
    free(t->s);
    memset(t, 0, sizeof *t);
}

static uint64_t pack(int a, int b, int c, int d)
{
    return (uint64_t)(a + 1) << 48 | (uint64_t)(b + 1) << 32 | (uint64_t)(c + 1) << 16 |
           (uint64_t)(d + 1);
}

static size_t slot_of(const fke_countmap *m, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    while (m->key[i] && m->key[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

static int map_add(fke_countmap *m, int a, int b, int c, int d, long v)
{
    if (2 * (m->n + 1) > m->cap) { /* grow: load at most 1/2 */
        fke_countmap g = {0};
        g.cap = m->cap ? 2 * m->cap : 256;
        g.key = calloc(g.cap, sizeof *g.key);
        g.val = calloc(g.cap, sizeof *g.val);
        if (!g.key || !g.val) {
            free(g.key), free(g.val);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) {
                size_t j = slot_of(&g, m->key[i]);
                g.key[j] = m->key[i], g.val[j] = m->val[i];
            }
        g.n = m->n;
        free(m->key), free(m->val);
        *m = g;
    }
    uint64_t key = pack(a, b, c, d);
    size_t i = slot_of(m, key);
    if (!m->key[i]) m->key[i] = key, m->n++;
    m->val[i] += v;
    return 0;
}

long fke_countmap_get(const fke_countmap *m, int a, int b, int c, int d)
{
    if (!m->cap) return 0;
    size_t i = slot_of(m, pack(a, b, c, d));
    return m->key[i] ? m->val[i] : 0;
}

static void map_free(fke_countmap *m)
{
    free(m->key), free(m->val);
    memset(m, 0, sizeof *m);
}

void fke_knowledge_init(fke_knowledge *k) { memset(k, 0, sizeof *k); }

void fke_knowledge_free(fke_knowledge *k)
{
    names_free(&k->occ), names_free(&k->cat), names_free(&k->attr), names_free(&k->val);
    map_free(&k->oc), map_free(&k->co), map_free(&k->at);
}

fke_status fke_knowledge_set_labels(fke_knowledge *k, char *const *occ, int n_occ,
                                    char *const *cat, int n_cat, const char *from, fke_err *e)
{
    if (k->posts || k->occ.n || k->cat.n)
        return fke_fail(e, FKE_ERR_ARG, "knowledge: the label order is set before any line");
    if (n_occ < 1 || n_cat < 1 || !occ || !cat)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: no occasion or category names to order by", from);
    for (int t = 0; t < 2; t++) {
        fke_names *nm = t ? &k->cat : &k->occ;
        char *const *src = t ? cat : occ;
        for (int i = 0, n = t ? n_cat : n_occ; i < n; i++) {
            if (find(nm, src[i]) >= 0)
                return fke_fail(e, FKE_ERR_FORMAT, "%s: the %s name \"%s\" appears twice", from,
                                t ? "category" : "occasion", src[i]);
            if (intern(nm, src[i]) < 0) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", from);
        }
    }
    k->fixed = 1;
    snprintf(k->labels_from, sizeof k->labels_from, "%s", from);
    return FKE_OK;
}

fke_status fke_knowledge_labels_from(fke_knowledge *k, const char *path, fke_err *e)
{
    char *fmt = fke_h5_format_of(path);
    int ds = fmt && !strcmp(fmt, FKE_POSTS_FORMAT), ck = fmt && !strcmp(fmt, "fke-checkpoint");
    free(fmt);
    if (ds) {
        fke_dataset d;
        FKE_TRY(fke_dataset_load(&d, path, e));
        fke_status st = fke_knowledge_set_labels(k, d.occ_names, d.n_occ, d.cat_names, d.n_cat,
                                                 path, e);
        fke_dataset_free(&d);
        return st;
    }
    if (!ck)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: --labels takes an fke checkpoint or post "
                        "dataset (the label order of the model or the data), and this is "
                        "neither", path);
    fke_ckpt_names cn;
    int have = 0;
    FKE_TRY(fke_checkpoint_read_names(path, &cn, &have, e));
    fke_status st = have ? fke_knowledge_set_labels(k, cn.occ, cn.n_occ, cn.cat, cn.n_cat, path, e)
                         : fke_fail(e, FKE_ERR_FORMAT, "%s: the checkpoint keeps no label names "
                                    "(/names): give the training dataset to --labels", path);
    if (have) fke_ckpt_names_free(&cn);
    return st;
}

/* ---- reading ------------------------------------------------------------------ */
static const char *label_of(const cJSON *o)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "label");
    return cJSON_IsString(l) && l->valuestring ? l->valuestring : NULL;
}

fke_status fke_knowledge_add_line(fke_knowledge *k, const char *line, const char *where,
                                  fke_err *e)
{
    cJSON *j = cJSON_Parse(line);
    if (!j) return fke_fail(e, FKE_ERR_FORMAT, "%s: not valid JSON", where);
    fke_status st = FKE_OK;
    const char *ol = label_of(cJSON_GetObjectItemCaseSensitive(j, "occasion"));
    const cJSON *gs = cJSON_GetObjectItemCaseSensitive(j, "garments");
    int ng = cJSON_GetArraySize(gs), *cats = NULL, o = -1;
    if (!cJSON_IsObject(j) || !ol) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: field occasion.label is missing or not a string",
                      where);
        goto done;
    }
    if (!cJSON_IsArray(gs)) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: field garments is missing or not an array", where);
        goto done;
    }
    cats = malloc(((size_t)ng + 1) * sizeof *cats);
    if (k->fixed && (o = find(&k->occ, ol)) < 0) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: occasion \"%s\" is not one of the %d occasions "
                      "of %s", where, ol, k->occ.n, k->labels_from);
        goto done;
    }
    if (!cats || (o < 0 && (o = intern(&k->occ, ol)) < 0)) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory (or too many names)", where);
        goto done;
    }
    /* check the whole line before counting any of it */
    for (int g = 0; g < ng; g++) {
        const cJSON *gj = cJSON_GetArrayItem(gs, g);
        if (!label_of(cJSON_GetObjectItemCaseSensitive(gj, "category"))) {
            st = fke_fail(e, FKE_ERR_FORMAT,
                          "%s: field garments[%d].category.label is missing or not a string",
                          where, g);
            goto done;
        }
        const char *cl = label_of(cJSON_GetObjectItemCaseSensitive(gj, "category"));
        if (k->fixed && find(&k->cat, cl) < 0) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: garments[%d]: category \"%s\" is not one of "
                          "the %d categories of %s", where, g, cl, k->cat.n, k->labels_from);
            goto done;
        }
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(gj, "attributes");
        if (at && !cJSON_IsObject(at)) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: field garments[%d].attributes is not an object",
                          where, g);
            goto done;
        }
        for (const cJSON *a = at ? at->child : NULL; a; a = a->next)
            if (!label_of(a)) {
                st = fke_fail(e, FKE_ERR_FORMAT,
                              "%s: field garments[%d].attributes.%s.label is missing or not a "
                              "string",
                              where, g, a->string);
                goto done;
            }
    }
    for (int g = 0; g < ng; g++) {
        const cJSON *gj = cJSON_GetArrayItem(gs, g);
        int c = intern(&k->cat, label_of(cJSON_GetObjectItemCaseSensitive(gj, "category")));
        if (c < 0 || map_add(&k->oc, o, c, -1, -1, 1)) goto nomem;
        cats[g] = c;
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(gj, "attributes");
        for (const cJSON *a = at ? at->child : NULL; a; a = a->next) {
            int ai = intern(&k->attr, a->string), vi = intern(&k->val, label_of(a));
            if (ai < 0 || vi < 0 || map_add(&k->at, o, c, ai, vi, 1)) goto nomem;
        }
    }
    for (int g = 0; g < ng; g++)
        for (int h = g + 1; h < ng; h++) {
            int a = cats[g] < cats[h] ? cats[g] : cats[h], b = cats[g] ^ cats[h] ^ a;
            if (map_add(&k->co, a, b, -1, -1, 1)) goto nomem;
        }
    k->posts++;
    k->garments += ng;
    goto done;
nomem:
    st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory (or too many names)", where);
done:
    free(cats);
    cJSON_Delete(j);
    return st;
}

fke_status fke_knowledge_add_file(fke_knowledge *k, const char *path, fke_err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return fke_fail(e, FKE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long no = 0;
    fke_status st = FKE_OK;
    while (st == FKE_OK && getline(&line, &cap, f) >= 0) {
        no++;
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p) continue;
        char where[700];
        snprintf(where, sizeof where, "%s:%ld", path, no);
        st = fke_knowledge_add_line(k, line, where, e);
    }
    if (st == FKE_OK && ferror(f)) st = fke_fail(e, FKE_ERR_IO, "%s: read error", path);
    free(line);
    fclose(f);
    return st;
}

/* ---- orders and tables -------------------------------------------------------- */
typedef struct {
    long n;
    const char *name;
    int id;
} ranked;

static int by_count(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* ids of names t in the order of the maps and tables (knowledge.h): the
 * label order, by name, or (sort) by count descending; rows: occasions (1)
 * or categories (0) */
static int *order(const fke_knowledge *k, int rows)
{
    const fke_names *t = rows ? &k->occ : &k->cat;
    ranked *r = malloc(((size_t)t->n + 1) * sizeof *r);
    int *ids = malloc(((size_t)t->n + 1) * sizeof *ids);
    if (!r || !ids) {
        free(r), free(ids);
        return NULL;
    }
    for (int i = 0; i < t->n; i++) {
        r[i].id = i, r[i].name = t->s[i], r[i].n = 0;
        const fke_names *u = rows ? &k->cat : &k->occ;
        for (int j = 0; k->sort && j < u->n; j++)
            r[i].n += rows ? fke_countmap_get(&k->oc, i, j, -1, -1)
                           : fke_countmap_get(&k->oc, j, i, -1, -1);
    }
    if (k->sort || !k->fixed) qsort(r, (size_t)t->n, sizeof *r, by_count); /* ties: by name */
    for (int i = 0; i < t->n; i++) ids[i] = r[i].id;
    free(r);
    return ids;
}

static long occ_total(const fke_knowledge *k, int o)
{
    long n = 0;
    for (int c = 0; c < k->cat.n; c++) n += fke_countmap_get(&k->oc, o, c, -1, -1);
    return n;
}

static long cooc(const fke_knowledge *k, int a, int b)
{
    return a <= b ? fke_countmap_get(&k->co, a, b, -1, -1) : fke_countmap_get(&k->co, b, a, -1, -1);
}

/* DIR/name, opened for an atomic write (core/file.h). */
static fke_status open_in(fke_atomic *a, const char *dir, const char *name, fke_err *e)
{
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fke_atomic_open(a, path, e);
}

static fke_status write_csvs(const fke_knowledge *k, const char *dir, const int *oo,
                             const int *co, fke_err *e)
{
    fke_atomic a;
    FKE_TRY(open_in(&a, dir, "occasion_category.csv", e));
    FILE *f = a.f;
    fputs("occasion,category,count,share\n", f);
    for (int i = 0; i < k->occ.n; i++) {
        long tot = occ_total(k, oo[i]);
        for (int j = 0; j < k->cat.n; j++) {
            long n = fke_countmap_get(&k->oc, oo[i], co[j], -1, -1);
            fke_csv_cell(f, k->occ.s[oo[i]]), fputc(',', f), fke_csv_cell(f, k->cat.s[co[j]]);
            fprintf(f, ",%ld,%.6f\n", n, tot ? (double)n / tot : 0.0);
        }
    }
    FKE_TRY(fke_atomic_commit(&a, "table", e));

    FKE_TRY(open_in(&a, dir, "attributes.csv", e));
    f = a.f;
    fputs("occasion,category,attribute,rank,value,count,share\n", f);
    fke_scored *vc = malloc(((size_t)k->val.n + 1) * sizeof *vc);
    if (!vc) {
        fke_atomic_abort(&a);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", a.path);
    }
    for (int i = 0; i < k->occ.n; i++)
        for (int j = 0; j < k->cat.n; j++) {
            if (!fke_countmap_get(&k->oc, oo[i], co[j], -1, -1)) continue;
            for (int a = 0; a < k->attr.n; a++) {
                int m = 0;
                long tot = 0;
                for (int v = 0; v < k->val.n; v++) {
                    long n = fke_countmap_get(&k->at, oo[i], co[j], a, v);
                    if (n) vc[m++] = (fke_scored){(double)n, v}, tot += n;
                }
                fke_scored_sort(vc, (size_t)m, 1); /* most frequent first */
                for (int r = 0; r < m && r < 3; r++) {
                    fke_csv_cell(f, k->occ.s[oo[i]]), fputc(',', f), fke_csv_cell(f, k->cat.s[co[j]]);
                    fputc(',', f), fke_csv_cell(f, k->attr.s[a]);
                    fprintf(f, ",%d,", r + 1);
                    fke_csv_cell(f, k->val.s[vc[r].id]);
                    fprintf(f, ",%ld,%.6f\n", (long)vc[r].score, vc[r].score / tot);
                }
            }
        }
    free(vc);
    FKE_TRY(fke_atomic_commit(&a, "table", e));

    FKE_TRY(open_in(&a, dir, "cooccurrence.csv", e));
    f = a.f;
    fputs("category_a,category_b,count\n", f);
    for (int i = 0; i < k->cat.n; i++)
        for (int j = i; j < k->cat.n; j++) {
            fke_csv_cell(f, k->cat.s[co[i]]), fputc(',', f), fke_csv_cell(f, k->cat.s[co[j]]);
            fprintf(f, ",%ld\n", cooc(k, co[i], co[j]));
        }
    return fke_atomic_commit(&a, "table", e);
}

/* ---- heat maps ----------------------------------------------------------------- */
/* rows x cols cells shaded by shade[r*cols+c] in 0..1 (white to dark blue),
 * with text[r*cols+c] written in each cell, drawn by run/heatmap.h (colour
 * bar, axis titles, a capped canvas) */
static fke_status heatmap(const char *path, const char *title, const char *rtitle,
                          const char *ctitle, const char *scale, int rows, char **rname, int cols,
                          char **cname, const double *shade, char (*text)[16], fke_err *e)
{
    char **cell = malloc(((size_t)rows * cols + 1) * sizeof *cell);
    if (!cell) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    for (size_t i = 0; i < (size_t)rows * cols; i++) cell[i] = text[i];
    fke_heatmap h = {.title = title, .row_title = rtitle, .col_title = ctitle,
                     .scale_title = scale, .rows = rows, .cols = cols, .v = shade,
                     .cell_text = cell, .row_names = rname, .col_names = cname};
    fke_status st = fke_heatmap_write(&h, path, e);
    free(cell);
    return st;
}

static fke_status write_pngs(const fke_knowledge *k, const char *dir, const int *oo,
                             const int *co, fke_err *e)
{
    int no = k->occ.n, nc = k->cat.n;
    size_t cells = (size_t)(no > nc ? no : nc) * nc + 1;
    double *shade = calloc(cells, sizeof *shade);
    char (*text)[16] = malloc(cells * sizeof *text);
    char **rn = malloc(((size_t)no + 1) * sizeof *rn), **cn = malloc(((size_t)nc + 1) * sizeof *cn);
    fke_status st = FKE_OK;
    if (!shade || !text || !rn || !cn) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for the heat maps", dir);
        goto out;
    }
    for (int i = 0; i < no; i++) rn[i] = k->occ.s[oo[i]];
    for (int j = 0; j < nc; j++) cn[j] = k->cat.s[co[j]];
    char path[1200];
    double smax = 0;
    for (int i = 0; i < no; i++) {
        long tot = occ_total(k, oo[i]);
        for (int j = 0; j < nc; j++) {
            long n = fke_countmap_get(&k->oc, oo[i], co[j], -1, -1);
            double s = tot ? (double)n / tot : 0;
            shade[i * nc + j] = s;
            smax = s > smax ? s : smax;
            snprintf(text[i * nc + j], 16, "%d", (int)(100 * s + 0.5));
        }
    }
    /* shaded against the largest share, so a table of small shares keeps its contrast */
    for (int i = 0; smax > 0 && i < no * nc; i++) shade[i] /= smax;
    snprintf(path, sizeof path, "%s/occasion_category.png", dir);
    st = heatmap(path, "occasion x category: % of the occasion's garments", "occasion",
                 "category", "share / the largest share", no, rn, nc, cn, shade, text, e);
    if (st != FKE_OK) goto out;
    long mx = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++) mx = cooc(k, co[i], co[j]) > mx ? cooc(k, co[i], co[j]) : mx;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++) {
            long n = cooc(k, co[i], co[j]);
            shade[i * nc + j] = mx ? (double)n / mx : 0;
            snprintf(text[i * nc + j], 16, "%ld", n);
        }
    snprintf(path, sizeof path, "%s/cooccurrence.png", dir);
    st = heatmap(path, "garment co-occurrence: pairs worn together in one post", "category",
                 "category", "count / the largest count", nc, cn, nc, cn, shade, text, e);
out:
    free(shade), free(text), free(rn), free(cn);
    return st;
}

fke_status fke_knowledge_write(const fke_knowledge *k, const char *dir, fke_err *e)
{
    if (k->posts == 0 || k->cat.n == 0)
        return fke_fail(e, FKE_ERR_ARG, "knowledge: no garments in the extraction lines");
    FKE_TRY(fke_mkdir_p(dir, e));
    int *oo = order(k, 1), *co = order(k, 0);
    fke_status st = (!oo || !co) ? fke_fail(e, FKE_ERR_NOMEM, "knowledge: no memory") : FKE_OK;
    if (st == FKE_OK) st = write_csvs(k, dir, oo, co, e);
    if (st == FKE_OK) st = write_pngs(k, dir, oo, co, e);
    free(oo), free(co);
    return st;
}

void fke_knowledge_print(const fke_knowledge *k, FILE *f, int top)
{
    int *oo = order(k, 1), *co = order(k, 0);
    if (!oo || !co) {
        free(oo), free(co);
        return;
    }
    fprintf(f, "%ld posts, %ld garments, %d occasions, %d categories\n", k->posts, k->garments,
            k->occ.n, k->cat.n);
    fprintf(f, "%-14s %8s  top categories (share of the occasion's garments)\n", "occasion",
            "garments");
    for (int i = 0; i < k->occ.n; i++) {
        int o = oo[i];
        long tot = occ_total(k, o);
        fprintf(f, "%-14s %8ld ", k->occ.s[o], tot);
        /* categories of this occasion by count: the global order is a stable tie-break */
        int used[8], nu = 0;
        for (int r = 0; r < top && r < 8; r++) {
            int best = -1;
            long bn = 0;
            for (int j = 0; j < k->cat.n; j++) {
                int seen = 0;
                for (int q = 0; q < nu; q++) seen |= used[q] == j;
                long n = fke_countmap_get(&k->oc, o, co[j], -1, -1);
                if (!seen && n > bn) best = j, bn = n;
            }
            if (best < 0) break;
            used[nu++] = best;
            fprintf(f, " %s %.2f", k->cat.s[co[best]], (double)bn / tot);
        }
        fputc('\n', f);
    }
    free(oo), free(co);
}
