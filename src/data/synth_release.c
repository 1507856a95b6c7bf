/* synth_release.c - see synth_release.h. */
#include "data/synth_release.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

static const char *const countries[5] = {"US", "FR", "JP", "BR", "TR"}; /* codes 1..5 */
static const int band_age[4] = {21, 32, 48, 66};                        /* inside each band */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void fke_synth_release_id(uint64_t seed, int split, int i, char id[33])
{
    uint64_t a = mix(seed * 4 + (uint64_t)split + ((uint64_t)i << 32)), b = mix(a ^ 0x51ed);
    snprintf(id, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

/* ---- a growing text ----------------------------------------------------- */
typedef struct {
    char *s;
    size_t n, cap;
    int nomem;
} text;

static void put(text *t, const char *s)
{
    size_t k = strlen(s);
    if (t->nomem) return;
    if (t->n + k + 1 > t->cap) {
        size_t c = t->cap ? t->cap : 1 << 16;
        while (c < t->n + k + 1) c *= 2;
        char *p = realloc(t->s, c);
        if (!p) {
            t->nomem = 1;
            return;
        }
        t->s = p, t->cap = c;
    }
    memcpy(t->s + t->n, s, k + 1);
    t->n += k;
}

/* the JSON item as one line, then freed */
static void put_json(text *t, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (!s) t->nomem = 1;
    else put(t, s);
    free(s);
    cJSON_Delete(j);
}

static fke_status save_text(const char *dir, const char *name, text *t, fke_err *e)
{
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fke_status st = t->nomem ? fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path)
                             : fke_write_file(path, t->s ? t->s : "", "release file", e);
    free(t->s);
    memset(t, 0, sizeof *t);
    return st;
}

static fke_status save_bytes(const char *path, const void *b, size_t n, fke_err *e)
{
    fke_atomic a;
    FKE_TRY(fke_atomic_open(&a, path, e));
    if (n && fwrite(b, 1, n, a.f) != n) {
        fke_atomic_abort(&a);
        return fke_fail(e, FKE_ERR_IO, "%s: cannot write", path);
    }
    return fke_atomic_commit(&a, "release file", e);
}

/* ---- one post ------------------------------------------------------------ */
static cJSON *box_json(const int32_t *b, int k)
{
    int v[4] = {b[0] * k, b[1] * k, b[2] * k, b[3] * k};
    return cJSON_CreateIntArray(v, 4);
}

/* the cloth object of slot s: box, category, "<attribute>:<value>" keys */
static cJSON *cloth_json(const fke_dataset *d, size_t s, int k, int clean)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToObject(c, "box", box_json(d->boxes + s * 4, k));
    cJSON_AddStringToObject(c, "category", d->cat_names[d->cat[s]]);
    for (int a = 0; a < d->A; a++) {
        int v = d->attr[s * d->A + a];
        if (v < 0) continue;
        char key[160];
        snprintf(key, sizeof key, "%s:%s", d->attr_names[a], d->val_names[a][v]);
        /* a person's 1, or the tagger's confidence */
        double conf = 0.5 + (double)(mix(s * 31 + (size_t)a) % 4900) / 10000.0;
        cJSON_AddNumberToObject(c, key, clean ? 1 : conf);
    }
    return c;
}

static void person_json(cJSON *o, const fke_dataset *d, size_t s0, int n, int k)
{
    int32_t lo[2] = {1 << 30, 1 << 30}, hi[2] = {0, 0};
    for (int g = 0; g < n; g++) {
        const int32_t *b = d->boxes + (s0 + (size_t)g) * 4;
        for (int j = 0; j < 2; j++) {
            if (b[j] < lo[j]) lo[j] = b[j];
            if (b[2 + j] > hi[j]) hi[j] = b[2 + j];
        }
    }
    double body[4] = {lo[0] * k + 0.25, lo[1] * k + 0.5, hi[0] * k - 0.25, hi[1] * k - 0.5};
    double cx = (body[0] + body[2]) / 2;
    double face[5] = {cx - 10, body[1], cx + 10, body[1] + 24, 0.9998};
    cJSON_AddItemToObject(o, "body", cJSON_CreateDoubleArray(body, 4));
    cJSON_AddItemToObject(o, "face", cJSON_CreateDoubleArray(face, 5));
    int age = d->person[s0 * 2 + 1], gender = d->person[s0 * 2];
    if (age >= 0) cJSON_AddNumberToObject(o, "age", band_age[age]);
    else cJSON_AddNullToObject(o, "age");
    cJSON_AddStringToObject(o, "gender", gender == 0 ? "F" : gender == 1 ? "M" : "");
}

static cJSON *post_json(const fke_dataset *d, int i, int month, int country, uint64_t h)
{
    const int G = d->G, n = d->n_garments[i], k = FKE_SYNTH3_PIC / d->img;
    size_t s0 = (size_t)i * G;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "occasion", d->occ_names[d->occ[i]]);
    cJSON_AddNumberToObject(p, "month", month);
    cJSON_AddStringToObject(p, "country", country ? countries[country - 1] : "");
    cJSON *cbf = cJSON_AddArrayToObject(p, "cloth_body_face");
    for (int g = 0; g < n; g++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "cloth", cloth_json(d, s0 + (size_t)g, k, d->clean[i]));
        person_json(x, d, s0, n, k);
        cJSON_AddItemToArray(cbf, x);
    }
    cJSON *bfc = cJSON_AddArrayToObject(p, "body_face_cloth");
    cJSON *who = cJSON_CreateObject();
    person_json(who, d, s0, n, k);
    cJSON *cl = cJSON_AddArrayToObject(who, "clothes");
    for (int g = 0; g < n; g++) cJSON_AddItemToArray(cl, cloth_json(d, s0 + (size_t)g, k, d->clean[i]));
    cJSON_AddItemToArray(bfc, who);
    text t = {0};
    for (int j = 0; j < d->L; j++) {
        int32_t w = d->tokens[(size_t)i * d->L + j];
        if (!w) continue;
        if (t.n) put(&t, " ");
        put(&t, d->vocab[w]);
    }
    cJSON_AddStringToObject(p, "text", t.s ? t.s : "");
    free(t.s);
    cJSON_AddNumberToObject(p, "weekday", (double)(h % 7));
    cJSON_AddNumberToObject(p, "hour", (double)((h >> 8) % 24));
    return p;
}

/* ---- the files ---------------------------------------------------------------- */
static cJSON *codes_json(char *const *names, int n, int from)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(o, names[i], i + from);
    return o;
}

static fke_status write_codes(const char *dir, const fke_dataset *d, fke_err *e)
{
    text t = {0};
    put_json(&t, codes_json(d->occ_names, d->n_occ, 0));
    put(&t, "\n");
    FKE_TRY(save_text(dir, "code_occasion.json", &t, e));
    put_json(&t, codes_json(d->cat_names, d->n_cat, 0));
    put(&t, "\n");
    FKE_TRY(save_text(dir, "code_cat.json", &t, e));
    put_json(&t, codes_json(d->attr_names, d->A, 0));
    put(&t, "\n");
    FKE_TRY(save_text(dir, "code_attr.json", &t, e));
    cJSON *av = cJSON_CreateObject();
    for (int a = 0; a < d->A; a++)
        cJSON_AddItemToObject(av, d->attr_names[a], codes_json(d->val_names[a], d->n_val[a], 0));
    put_json(&t, av);
    put(&t, "\n");
    FKE_TRY(save_text(dir, "code_attr_val.json", &t, e));
    put_json(&t, codes_json((char *const *)countries, 5, 1));
    put(&t, "\n");
    FKE_TRY(save_text(dir, "code_country.json", &t, e));
    /* applicability: category -> [{attribute: [values]}, ...] */
    cJSON *ap = cJSON_CreateObject();
    for (int c = 0; c < d->n_cat; c++) {
        cJSON *l = cJSON_AddArrayToObject(ap, d->cat_names[c]);
        for (int a = 0; a < d->A; a++) {
            if (!fke_synth3_applies(c, a)) continue;
            cJSON *one = cJSON_CreateObject();
            cJSON_AddItemToObject(one, d->attr_names[a],
                                  cJSON_CreateStringArray((const char *const *)d->val_names[a],
                                                          d->n_val[a]));
            cJSON_AddItemToArray(l, one);
        }
    }
    put_json(&t, ap);
    put(&t, "\n");
    return save_text(dir, "clothes_category_attribute_value.json", &t, e);
}

/* the tagger's confusions on the clean training posts: true -> {machine -> count} */
static fke_status write_confusions(const char *dir, const fke_dataset *d, fke_err *e)
{
    const int G = d->G, A = d->A;
    int nmax = d->n_cat;
    for (int a = 0; a < A; a++) nmax = d->n_val[a] > nmax ? d->n_val[a] : nmax;
    long *cnt = calloc((size_t)nmax * nmax, sizeof *cnt);
    if (!cnt) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", dir);
    cJSON *attr = cJSON_CreateObject();
    text t = {0};
    for (int task = 0; task <= A; task++) {
        int n = task ? d->n_val[task - 1] : d->n_cat;
        char *const *nm = task ? d->val_names[task - 1] : d->cat_names;
        memset(cnt, 0, (size_t)nmax * nmax * sizeof *cnt);
        for (int i = 0; i < d->N; i++) {
            if (!d->clean[i]) continue;
            for (int g = 0; g < d->n_garments[i]; g++) {
                size_t s = (size_t)i * G + g;
                int tr = task ? d->attr_true[s * A + task - 1] : d->cat_true[s];
                int ma = task ? d->attr_machine[s * A + task - 1] : d->cat_machine[s];
                if (tr >= 0 && ma >= 0) cnt[tr * n + ma]++;
            }
        }
        cJSON *m = cJSON_CreateObject();
        for (int r = 0; r < n; r++) {
            cJSON *row = cJSON_AddObjectToObject(m, nm[r]);
            for (int c = 0; c < n; c++)
                if (cnt[r * n + c]) cJSON_AddNumberToObject(row, nm[c], (double)cnt[r * n + c]);
        }
        if (task) {
            cJSON_AddItemToObject(attr, d->attr_names[task - 1], m);
        } else {
            put_json(&t, m);
            put(&t, "\n");
        }
    }
    free(cnt);
    fke_status st = save_text(dir, "category_confuse_mat.json", &t, e);
    put_json(&t, attr);
    put(&t, "\n");
    if (!st) st = save_text(dir, "attribute_confuse_mat.json", &t, e);
    else free(t.s);
    return st;
}

static fke_status write_npy(const char *dir, int V, uint64_t seed, fke_err *e)
{
    const int D = FKE_SYNTH_WV_DIM;
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
                     V, D);
    int pad = 64 - (10 + n + 1) % 64;
    size_t hl = (size_t)n + (size_t)pad + 1, total = 10 + hl + (size_t)V * D * 4;
    uint8_t *b = malloc(total);
    if (!b) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", dir);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)(hl & 255), b[9] = (uint8_t)(hl >> 8);
    memcpy(b + 10, hdr, (size_t)n);
    memset(b + 10 + n, ' ', (size_t)pad);
    b[10 + hl - 1] = '\n';
    fke_rng r;
    fke_rng_seed(&r, seed ^ 0xe3bedull);
    uint8_t *p = b + 10 + hl;
    for (long k = 0; k < (long)V * D; k++, p += 4) {
        float v = (float)(0.3 * fke_rng_normal(&r));
        uint32_t u;
        memcpy(&u, &v, 4);
        for (int j = 0; j < 4; j++) p[j] = (uint8_t)(u >> (8 * j)); /* little-endian */
    }
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s/word_embeds.npy", dir);
    fke_status st = save_bytes(path, b, total, e);
    free(b);
    return st;
}

static const fke_extra *need_month(const fke_dataset *d, fke_err *e)
{
    const fke_extra *m = fke_dataset_extra(d, "month");
    if (!m || m->ndim != 1 || m->dims[0] != d->N) {
        fke_fail(e, FKE_ERR_ARG, "synth release: the posts carry no month (version 3 only)");
        return NULL;
    }
    return m;
}

fke_status fke_synth_release_write(const char *dir, const fke_dataset *train,
                                   const fke_synth_pictures *train_pics, double noise_ratio,
                                   const fke_dataset *test, const fke_synth_pictures *test_pics,
                                   uint64_t seed, fke_err *e)
{
    const fke_dataset *ds[2] = {train, test};
    const fke_synth_pictures *ps[2] = {train_pics, test_pics};
    const fke_extra *months[2];
    for (int s = 0; s < 2; s++) {
        if (!(months[s] = need_month(ds[s], e))) return FKE_ERR_ARG;
        if (!ps[s] || ps[s]->N != ds[s]->N)
            return fke_fail(e, FKE_ERR_ARG, "synth release: the pictures do not match the posts");
        for (size_t k = 0; k < (size_t)ds[s]->N * ds[s]->G; k++)
            if ((int)(k % ds[s]->G) < ds[s]->n_garments[k / ds[s]->G] && ds[s]->cat[k] < 0)
                return fke_fail(e, FKE_ERR_ARG,
                                "synth release: post %zu has a garment without a category "
                                "(--missing must be 0 for a release tree)",
                                k / ds[s]->G);
    }
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s/images", dir);
    FKE_TRY(fke_mkdir_p(path, e));
    text meta = {0}, lists[2] = {{0}}, pool = {0}, ids = {0};
    put(&meta, "{");
    put(&pool, "[");
    put(&ids, "{");
    fke_status st = FKE_OK;
    int first = 1, pfirst = 1;
    for (int s = 0; s < 2 && !st; s++) {
        const fke_dataset *d = ds[s];
        put(&lists[s], "[");
        for (int i = 0; i < d->N && !st; i++) {
            char id[33], q[48];
            fke_synth_release_id(seed, s, i, id);
            uint64_t h = mix(seed ^ mix((uint64_t)s * 1000003 + (uint64_t)i));
            snprintf(path, sizeof path, "%s/images/%s.jpg", dir, id);
            st = save_bytes(path, ps[s]->jpeg[i], ps[s]->n[i], e);
            snprintf(q, sizeof q, "%s\n\"%s\": ", first ? "" : ",", id);
            put(&meta, q);
            put_json(&meta, post_json(d, i, months[s]->v[i], (int)(h % 6), h >> 16));
            snprintf(q, sizeof q, "%s\n  \"%s\"", i ? "," : "", id);
            put(&lists[s], q);
            if (d->clean[i]) {
                snprintf(q, sizeof q, "%s\n  \"%s\"", pfirst ? "" : ",", id);
                put(&pool, q);
                pfirst = 0;
            }
            cJSON *x = cJSON_CreateObject();
            cJSON_AddItemToObject(x, "ids", cJSON_CreateIntArray(d->tokens + (size_t)i * d->L, d->L));
            snprintf(q, sizeof q, "%s\n\"%s\": ", first ? "" : ",", id);
            put(&ids, q);
            put_json(&ids, x);
            first = 0;
        }
        put(&lists[s], "\n]\n");
    }
    put(&meta, "\n}\n");
    put(&pool, "\n]\n");
    put(&ids, "\n}\n");
    char name[64];
    snprintf(name, sizeof name, "train_ids_%.1f.json", noise_ratio);
    if (!st) st = save_text(dir, "cloth_body_face_meta.json", &meta, e);
    if (!st) st = save_text(dir, name, &lists[0], e);
    if (!st) st = save_text(dir, "test_ids.json", &lists[1], e);
    if (!st) st = save_text(dir, "labelled_pool.json", &pool, e);
    if (!st) st = save_text(dir, "id_text_preprocessed.json", &ids, e);
    free(meta.s), free(lists[0].s), free(lists[1].s), free(pool.s), free(ids.s);
    if (!st) st = write_codes(dir, train, e);
    if (!st) st = write_confusions(dir, train, e);
    if (!st) st = write_npy(dir, train->V, seed, e);
    return st;
}
