/* tag.c - see tag.h. Dimension legend: n tags, N pictures or posts, K joint
 * embedding, L caption tokens. */
#include "run/tag.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/h5.h"
#include "data/dataset.h"
#include "data/image.h"
#include "model/checkpoint.h"
#include "model/model_io.h"
#include "run/eval.h"
#include "run/extract.h"

#define TAGS_MAX_BYTES ((size_t)16 << 20)
#define CACHE_FORMAT "fke-tag-cache"
#define INDEX_FORMAT "fke-tag-index"

/* ---- the tag file ------------------------------------------------------- */
void fke_tagset_free(fke_tagset *t)
{
    fke_strings_free(t->text, t->n);
    free(t->line);
    free(t->stats);
    free(t->emb);
    memset(t, 0, sizeof *t);
}

fke_status fke_tags_read(const char *path, fke_tagset *t, fke_err *e)
{
    memset(t, 0, sizeof *t);
    char *buf;
    size_t len;
    FKE_TRY(fke_read_file(path, TAGS_MAX_BYTES, &buf, &len, e));
    if (len == 0) {
        free(buf);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: the tag file is empty (one tag a line, such as "
                        "\"red dress\")", path);
    }
    int cap = 1;
    for (size_t i = 0; i < len; i++) cap += buf[i] == '\n';
    t->text = calloc((size_t)cap + 1, sizeof *t->text);
    t->line = calloc((size_t)cap, sizeof *t->line);
    fke_status st = t->text && t->line ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", path);
    int lineno = 0;
    for (size_t a = 0; st == FKE_OK && a < len;) {
        size_t b = a;
        while (b < len && buf[b] != '\n') b++;
        lineno++;
        size_t next = b + 1;
        if (memchr(buf + a, 0, b - a)) {
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %d holds a NUL byte: not a text file", path,
                          lineno);
            break;
        }
        while (a < b && (buf[a] == ' ' || buf[a] == '\t')) a++;
        while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r')) b--;
        if (b > a) {
            char *s = strndup(buf + a, b - a);
            if (!s) {
                st = fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            if (!fke_text_valid(s)) {
                free(s);
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %d is not UTF-8 text (or holds a "
                              "control character such as a tab)", path, lineno);
                break;
            }
            t->line[t->n] = lineno;
            t->text[t->n++] = s;
        }
        a = next;
    }
    free(buf);
    if (st == FKE_OK && t->n == 0)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: no tags, only blank lines (one tag a line, such as "
                      "\"red dress\")", path);
    if (st != FKE_OK) fke_tagset_free(t);
    return st;
}

/* ---- the model ------------------------------------------------------------ */
static fke_status load_clip(fke_model *m, const char *ckpt, fke_err *e)
{
    FKE_TRY(fke_model_load(m, ckpt, 0, NULL, e));
    if (m->cfg.task != FKE_TASK_CLIP) {
        fke_status st = fke_fail(e, FKE_ERR_CONFIG, "%s: a task %s model; fke tag needs a task "
                                 "clip model (configs/clip-synth.json)", ckpt,
                                 fke_config_task_name(m->cfg.task));
        fke_model_free(m);
        return st;
    }
    return FKE_OK;
}

/* texts (n) to token ids tok (n, L) by the checkpoint's vocabulary; stats
 * (n) or NULL */
static fke_status tokenize(const char *ckpt, const fke_config *c, char *const *texts, int n,
                           int32_t *tok, fke_text_stats *stats, fke_err *e)
{
    fke_ckpt_names cn;
    int have = 0;
    FKE_TRY(fke_checkpoint_read_names(ckpt, &cn, &have, e));
    fke_status st = FKE_OK;
    if (!have || !cn.vocab)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: no caption vocabulary (/names/vocab) to read tags "
                      "with", ckpt);
    else if (cn.V > c->V)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: the vocabulary has %d words, more than the "
                      "model's V = %d", ckpt, cn.V, c->V);
    fke_tokenizer tk;
    if (st == FKE_OK && (st = fke_tokenizer_init(&tk, cn.vocab, cn.V, e)) == FKE_OK) {
        for (int i = 0; st == FKE_OK && i < n; i++) {
            fke_text_stats ts;
            st = fke_tokenizer_run(&tk, texts[i], c->L, tok + (size_t)i * c->L, &ts, e);
            if (stats) stats[i] = ts;
        }
        fke_tokenizer_free(&tk);
    }
    if (have) fke_ckpt_names_free(&cn);
    return st;
}

/* texts (n) to unit embeddings out (n, K), each alone (a batch of one, so
 * that no text's embedding depends on the others); stats (n) or NULL */
static fke_status embed_texts(fke_model *m, const char *ckpt, char *const *texts, int n,
                              fke_real *out, fke_text_stats *stats, int embed, fke_err *e)
{
    const fke_config *c = &m->cfg;
    int32_t *tok = calloc((size_t)n * c->L, sizeof *tok);
    if (!tok) return fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    fke_status st = tokenize(ckpt, c, texts, n, tok, stats, e);
    for (int i = 0; embed && st == FKE_OK && i < n; i++)
        st = fke_clip_embed_texts(m->clip, tok + (size_t)i * c->L, 1,
                                  out + (size_t)i * c->embed_dim, e);
    free(tok);
    return st;
}

/* ---- the cache ------------------------------------------------------------- */
static void hash_hex(const char *h, char *out, size_t n)
{
    const char *colon = strchr(h, ':');
    snprintf(out, n, "%s", colon ? colon + 1 : h);
}

static void default_cache_dir(char *out, size_t n)
{
    const char *d = getenv("FKE_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    if (d && *d) snprintf(out, n, "%s", d);
    else if (x && *x) snprintf(out, n, "%s/fke/tags", x);
    else if (h && *h) snprintf(out, n, "%s/.cache/fke/tags", h);
    else out[0] = 0;
}

/* Whether path holds t's tags' embeddings (K wide); fills t->emb then. */
static int cache_read(const char *path, fke_tagset *t, int K)
{
    fke_err e2 = {{0}};
    fke_h5r r;
    if (fke_h5r_open(&r, path, CACHE_FORMAT, 1, "tag cache", &e2) != FKE_OK) return 0;
    int n = 0, ok = 0;
    char **names = fke_h5r_strings(&r, r.f, "tags", t->n, &n);
    int dims[2] = {t->n, K};
    float *emb = names ? fke_h5r_array(&r, r.f, "emb", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dims, 0)
                       : NULL;
    fke_h5r_close(&r);
    if (r.st == FKE_OK && names && emb) {
        ok = 1;
        for (int i = 0; i < t->n && ok; i++) ok = strcmp(names[i], t->text[i]) == 0;
        for (size_t i = 0; ok && i < (size_t)t->n * K; i++) ok = isfinite(emb[i]);
    }
    if (ok)
        for (size_t i = 0; i < (size_t)t->n * K; i++) t->emb[i] = emb[i];
    fke_strings_free(names, -1);
    free(emb);
    return ok;
}

static fke_status cache_write(const char *path, const fke_tagset *t, fke_err *e)
{
    fke_h5w w;
    FKE_TRY(fke_h5w_create(&w, path, CACHE_FORMAT, 1, e));
    hsize_t dims[2] = {(hsize_t)t->n, (hsize_t)t->K};
    fke_h5w_strings(&w, w.f, "tags", t->text, t->n);
    fke_h5w_array(&w, w.f, "emb", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, t->emb, 0);
    return fke_h5w_commit(&w, "tag cache", e);
}

fke_status fke_tags_embed(fke_model *m, const char *ckpt, const char *tags_path,
                          fke_tagset *t, const char *cache_dir, int no_cache,
                          fke_tag_info *info, fke_err *e)
{
    int K = m->cfg.embed_dim;
    t->K = K;
    free(t->emb);
    free(t->stats);
    t->emb = malloc(sizeof(fke_real) * (size_t)t->n * K);
    t->stats = calloc((size_t)t->n, sizeof *t->stats);
    if (!t->emb || !t->stats) return fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    char dir[512] = "", path[700] = "";
    if (!no_cache) {
        if (cache_dir) snprintf(dir, sizeof dir, "%s", cache_dir);
        else default_cache_dir(dir, sizeof dir);
    }
    if (dir[0]) {
        char hc[64], ht[64], a[64], b[64];
        FKE_TRY(fke_file_hash(ckpt, hc, sizeof hc, NULL, e));
        FKE_TRY(fke_file_hash(tags_path, ht, sizeof ht, NULL, e));
        hash_hex(hc, a, sizeof a);
        hash_hex(ht, b, sizeof b);
        snprintf(path, sizeof path, "%s/%s-%s.h5", dir, a, b);
    }
    /* from the cache, only the tokenizer's counts (unknown words) are redone */
    int cached = path[0] && cache_read(path, t, K);
    fke_status st = embed_texts(m, ckpt, t->text, t->n, t->emb, t->stats, !cached, e);
    FKE_TRY(st);
    if (info) {
        info->tags = t->n;
        info->unknown_tags = 0;
        info->unknown[0] = 0;
        for (int i = 0; i < t->n; i++) {
            const fke_text_stats *ts = &t->stats[i];
            if (!ts->unknown) continue;
            info->unknown_tags++;
            size_t u = strlen(info->unknown);
            if (u + 80 < sizeof info->unknown)
                snprintf(info->unknown + u, sizeof info->unknown - u, "%s\"%.40s\" (line %d: %d "
                         "of %d words unknown)", u ? ", " : "", t->text[i], t->line[i],
                         ts->unknown, ts->words);
        }
        info->cached = cached;
        if (!path[0]) snprintf(info->cache, sizeof info->cache, "no cache%s",
                               no_cache ? " (--no-cache)" : " (no $HOME, $XDG_CACHE_HOME or $FKE_CACHE_DIR)");
        else snprintf(info->cache, sizeof info->cache, "%s", path);
    }
    if (!cached && path[0]) { /* best effort: a cache that cannot be written is skipped */
        fke_err e2 = {{0}};
        if (fke_mkdir_p(dir, &e2) != FKE_OK || cache_write(path, t, &e2) != FKE_OK) {
            if (info) snprintf(info->cache, sizeof info->cache, "not cached: %.600s", e2.msg);
        }
    }
    return FKE_OK;
}

/* ---- pictures ------------------------------------------------------------- */
static int is_picture_name(const char *n)
{
    const char *d = strrchr(n, '.');
    return d && (!strcasecmp(d, ".png") || !strcasecmp(d, ".jpg") || !strcasecmp(d, ".jpeg"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The inputs as picture paths: files as given, folders as their pictures
 * sorted by name. *paths malloc'ed (fke_strings_free(*paths, *n)). */
static fke_status picture_list(const char *const *in, int n_in, char ***paths, int *n,
                               fke_err *e)
{
    int cap = 16, k = 0;
    char **p = malloc(sizeof *p * (size_t)cap);
    if (!p) return fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    fke_status st = FKE_OK;
    for (int i = 0; st == FKE_OK && i < n_in; i++) {
        struct stat sb;
        if (stat(in[i], &sb) != 0) {
            st = fke_fail(e, FKE_ERR_IO, "%s: cannot read (%s)", in[i], strerror(errno));
            break;
        }
        int first = k;
        if (S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(in[i]);
            if (!d) {
                st = fke_fail(e, FKE_ERR_IO, "%s: cannot list the folder (%s)", in[i], strerror(errno));
                break;
            }
            struct dirent *de;
            while (st == FKE_OK && (de = readdir(d))) {
                if (de->d_name[0] == '.' || !is_picture_name(de->d_name)) continue;
                if (k + 1 >= cap) {
                    char **q = realloc(p, sizeof *p * (size_t)(cap *= 2));
                    if (!q) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
                    else p = q;
                }
                size_t len = strlen(in[i]) + strlen(de->d_name) + 2;
                if (st == FKE_OK && (p[k] = malloc(len))) snprintf(p[k++], len, "%s/%s", in[i], de->d_name);
                else if (st == FKE_OK) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
            }
            closedir(d);
            if (st == FKE_OK && k == first)
                st = fke_fail(e, FKE_ERR_ARG, "%s: a folder with no .png, .jpg or .jpeg file", in[i]);
            qsort(p + first, (size_t)(k - first), sizeof *p, cmp_str);
        } else {
            if (k + 1 >= cap) {
                char **q = realloc(p, sizeof *p * (size_t)(cap *= 2));
                if (!q) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
                else p = q;
            }
            if (st == FKE_OK && !(p[k++] = strdup(in[i]))) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
        }
    }
    if (st != FKE_OK) {
        fke_strings_free(p, k);
        return st;
    }
    *paths = p;
    *n = k;
    return FKE_OK;
}

/* One picture to its unit embedding out (K). */
static fke_status embed_picture(fke_model *m, const char *path, fke_real *out, fke_err *e)
{
    fke_image im;
    FKE_TRY(fke_image_read(path, &im, e));
    fke_batch b;
    const int32_t box[4] = {0, 0, im.w, im.h};
    fke_status st = fke_extract_image_batch(&m->cfg, &im, box, 1, NULL, 0, FKE_CROP_RESIZE, &b, e);
    fke_image_free(&im);
    if (st != FKE_OK) {
        char msg[FKE_ERRLEN];
        snprintf(msg, sizeof msg, "%s", e->msg);
        return fke_fail(e, st, "%s: %s", path, msg);
    }
    st = fke_clip_embed_images(m->clip, b.img_x, 1, out, e);
    fke_batch_free(&b);
    return st;
}

/* Embeddings (N, K) of the inputs or of the dataset's posts; names (N) for
 * pictures (NULL for a dataset). */
static fke_status embed_inputs(fke_model *m, const fke_tag_opts *o, fke_real **emb, int *N,
                               char ***names, fke_real **crop, int **ng, fke_err *e)
{
    int K = m->cfg.embed_dim;
    *emb = NULL;
    *names = NULL;
    if (crop) *crop = NULL, *ng = NULL;
    if (o->data) {
        fke_dataset d;
        FKE_TRY(fke_dataset_load(&d, o->data, e));
        fke_status st = fke_check_dataset(&m->cfg, &d, e);
        if (st == FKE_OK && !(*emb = malloc(sizeof(fke_real) * (size_t)d.N * K)))
            st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
        int G = m->cfg.G;
        if (st == FKE_OK && crop && m->cfg.clip_crops) { /* posts scored with their crops */
            *crop = malloc(sizeof(fke_real) * (size_t)d.N * G * K);
            *ng = malloc(sizeof(int) * (size_t)d.N);
            if (!*crop || !*ng) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
            for (int i = 0; st == FKE_OK && i < d.N; i++) (*ng)[i] = d.n_garments[i];
        }
        if (st == FKE_OK)
            st = fke_clip_embed_posts_crops(m->clip, &d, *emb, crop ? *crop : NULL, NULL, e);
        *N = d.N;
        fke_dataset_free(&d);
        return st;
    }
    FKE_TRY(picture_list(o->inputs, o->n_inputs, names, N, e));
    fke_status st = FKE_OK;
    if (!(*emb = malloc(sizeof(fke_real) * (size_t)*N * K)))
        st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    for (int i = 0; st == FKE_OK && i < *N; i++)
        st = embed_picture(m, (*names)[i], *emb + (size_t)i * K, e);
    return st;
}

/* ---- output ------------------------------------------------------------------ */
static double dot(const fke_real *a, const fke_real *b, int K)
{
    double d = 0;
    for (int q = 0; q < K; q++) d += (double)a[q] * b[q];
    return d;
}

/* The output stream: stdout, or a memory buffer written atomically to out. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
    const char *path;
} sink;

static fke_status sink_open(sink *s, const char *out, fke_err *e)
{
    memset(s, 0, sizeof *s);
    if (!out || !strcmp(out, "-")) {
        s->f = stdout;
        return FKE_OK;
    }
    s->path = out;
    s->f = open_memstream(&s->buf, &s->len);
    return s->f ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", out);
}

static fke_status sink_close(sink *s, fke_status st, fke_err *e)
{
    if (!s->path) {
        fflush(stdout);
        return st;
    }
    fclose(s->f);
    if (st == FKE_OK) st = fke_write_file(s->path, s->buf ? s->buf : "", "tag output", e);
    free(s->buf);
    return st;
}

static void put_line(FILE *f, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s) fprintf(f, "%s\n", s);
    free(s);
    cJSON_Delete(j);
}

/* One image's line: scores, softmax probabilities, top and threshold. */
static void tag_line(FILE *f, const fke_tag_opts *o, const fke_tagset *t, const fke_real *img,
                     const fke_real *crop, int ng, const fke_tag_calib *cal, double scale,
                     const char *name, long post, fke_scored *sc, double *prob)
{
    int n = t->n, K = t->K;
    double mx = -INFINITY, z = 0;
    for (int j = 0; j < n; j++) {
        sc[j].score = fke_clip_post_score(img, crop, ng, t->emb + (size_t)j * K, K);
        sc[j].id = j;
        if (scale * sc[j].score > mx) mx = scale * sc[j].score;
    }
    for (int j = 0; j < n; j++) z += prob[j] = exp(scale * sc[j].score - mx);
    fke_scored_sort(sc, (size_t)n, 1);
    cJSON *jl = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (name) cJSON_AddStringToObject(jl, "image", name);
    else cJSON_AddNumberToObject(jl, "post", (double)post);
    for (int r = 0; r < n && (o->top <= 0 || r < o->top); r++) {
        if (sc[r].score < o->threshold) break;
        cJSON *tj = cJSON_CreateObject();
        cJSON_AddStringToObject(tj, "tag", t->text[sc[r].id]);
        cJSON_AddNumberToObject(tj, "score", sc[r].score);
        cJSON_AddNumberToObject(tj, "prob", prob[sc[r].id] / z);
        if (cal) cJSON_AddNumberToObject(tj, "p", fke_tag_calib_prob(cal, sc[r].score));
        cJSON_AddItemToArray(arr, tj);
    }
    cJSON_AddItemToObject(jl, "tags", arr);
    put_line(f, jl);
}

fke_status fke_tag_run(const fke_tag_opts *o, fke_tag_info *info, fke_err *e)
{
    fke_tag_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    if (!o->data && o->n_inputs < 1)
        return fke_fail(e, FKE_ERR_ARG, "tag: no pictures and no --data to tag");
    fke_tagset t;
    FKE_TRY(fke_tags_read(o->tags, &t, e));
    fke_model m;
    fke_status st = load_clip(&m, o->ckpt, e);
    if (st != FKE_OK) {
        fke_tagset_free(&t);
        return st;
    }
    fke_tag_calib cal;
    int have_cal = 0;
    if (st == FKE_OK && o->calibration) {
        st = fke_tag_calib_read(o->calibration, o->ckpt, &cal, e);
        have_cal = st == FKE_OK;
    }
    if (st == FKE_OK)
        st = fke_tags_embed(&m, o->ckpt, o->tags, &t, o->cache_dir, o->no_cache, info, e);
    fke_real *emb = NULL, *crop = NULL;
    int *ng = NULL;
    char **names = NULL;
    int N = 0, G = m.cfg.G;
    if (st == FKE_OK) st = embed_inputs(&m, o, &emb, &N, &names, &crop, &ng, e);
    fke_scored *sc = malloc(sizeof *sc * (size_t)t.n);
    double *prob = malloc(sizeof *prob * (size_t)t.n);
    if (st == FKE_OK && (!sc || !prob)) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    sink s;
    if (st == FKE_OK && (st = sink_open(&s, o->out, e)) == FKE_OK) {
        double scale = fke_clip_temperature(m.clip);
        for (int i = 0; i < N; i++)
            tag_line(s.f, o, &t, emb + (size_t)i * t.K, crop ? crop + (size_t)i * G * t.K : NULL,
                     ng ? ng[i] : 0, have_cal ? &cal : NULL, scale, names ? names[i] : NULL, i,
                     sc, prob);
        st = sink_close(&s, st, e);
    }
    info->images = N;
    free(crop);
    free(ng);
    free(sc);
    free(prob);
    free(emb);
    if (names) fke_strings_free(names, N);
    fke_tagset_free(&t);
    fke_model_free(&m);
    return st;
}

/* ---- the index -------------------------------------------------------------- */
fke_status fke_tag_index_build(const fke_tag_opts *o, const char *path, fke_tag_info *info,
                               fke_err *e)
{
    if (!o->data && o->n_inputs < 1)
        return fke_fail(e, FKE_ERR_ARG, "tag --index: no pictures and no --data to index");
    char hash[64];
    FKE_TRY(fke_file_hash(o->ckpt, hash, sizeof hash, NULL, e));
    fke_model m;
    FKE_TRY(load_clip(&m, o->ckpt, e));
    fke_real *emb = NULL;
    char **names = NULL;
    int N = 0, K = m.cfg.embed_dim;
    fke_status st = embed_inputs(&m, o, &emb, &N, &names, NULL, NULL, e);
    if (st == FKE_OK && !names) { /* a dataset's posts: "post I" */
        names = calloc((size_t)N + 1, sizeof *names);
        for (int i = 0; names && i < N; i++) {
            char b[32];
            snprintf(b, sizeof b, "post %d", i);
            names[i] = strdup(b);
        }
        if (!names) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    }
    if (st == FKE_OK) {
        fke_h5w w;
        st = fke_h5w_create(&w, path, INDEX_FORMAT, 1, e);
        if (st == FKE_OK) {
            hsize_t dims[2] = {(hsize_t)N, (hsize_t)K};
            fke_h5w_array(&w, w.f, "emb", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, emb, 0);
            fke_h5w_strings(&w, w.f, "names", names, N);
            fke_h5w_attr_str(&w, w.f, "checkpoint", o->ckpt);
            fke_h5w_attr_str(&w, w.f, "checkpoint_hash", hash);
            st = fke_h5w_commit(&w, "tag index", e);
        }
    }
    if (info) info->images = N;
    free(emb);
    if (names) fke_strings_free(names, N);
    fke_model_free(&m);
    return st;
}

fke_status fke_tag_index_query(const fke_tag_opts *o, const char *path,
                               const char *const *queries, int nq, fke_err *e)
{
    if (nq < 1) return fke_fail(e, FKE_ERR_ARG, "tag --index %s: no --query text", path);
    fke_h5r r;
    FKE_TRY(fke_h5r_open(&r, path, INDEX_FORMAT, 1, "tag index", e));
    int n = 0, dims[2] = {-1, -1};
    char **names = fke_h5r_strings(&r, r.f, "names", -1, &n);
    float *emb = names ? fke_h5r_array(&r, r.f, "emb", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dims, 0)
                       : NULL;
    char *ck = fke_h5r_attr_str(r.f, "checkpoint"), *hash = fke_h5r_attr_str(r.f, "checkpoint_hash");
    fke_h5r_close(&r);
    fke_status st = r.st;
    if (st == FKE_OK && (dims[0] != n || !ck || !hash))
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: %d names for %d embeddings, or no checkpoint "
                      "attribute: not a whole tag index", path, n, dims[0]);
    const char *ckpt = o->ckpt ? o->ckpt : ck;
    char now[64];
    if (st == FKE_OK) st = fke_file_hash(ckpt, now, sizeof now, NULL, e);
    if (st == FKE_OK && strcmp(now, hash))
        st = fke_fail(e, FKE_ERR_ARG, "%s was built with a checkpoint of hash %s (%s); %s has "
                      "%s: build the index again with this model", path, hash, ck, ckpt, now);
    fke_model m;
    int have_m = 0;
    if (st == FKE_OK && (st = load_clip(&m, ckpt, e)) == FKE_OK) have_m = 1;
    if (st == FKE_OK && m.cfg.embed_dim != dims[1])
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: embeddings %d wide, the model's are %d", path,
                      dims[1], m.cfg.embed_dim);
    int K = dims[1];
    fke_real *q = st == FKE_OK ? malloc(sizeof(fke_real) * (size_t)K * nq) : NULL;
    fke_scored *sc = st == FKE_OK ? malloc(sizeof *sc * (size_t)(n > 0 ? n : 1)) : NULL;
    if (st == FKE_OK && (!q || !sc)) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    if (st == FKE_OK) st = embed_texts(&m, ckpt, (char *const *)queries, nq, q, NULL, 1, e);
    sink s;
    if (st == FKE_OK && (st = sink_open(&s, o->out, e)) == FKE_OK) {
        for (int k = 0; k < nq; k++) {
            for (int i = 0; i < n; i++) {
                double d = 0;
                for (int j = 0; j < K; j++) d += (double)emb[(size_t)i * K + j] * q[(size_t)k * K + j];
                sc[i].score = d;
                sc[i].id = i;
            }
            fke_scored_sort(sc, (size_t)n, 1);
            for (int rk = 0; rk < n && (o->top <= 0 || rk < o->top); rk++) {
                if (sc[rk].score < o->threshold) break;
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "query", queries[k]);
                cJSON_AddNumberToObject(j, "rank", rk + 1);
                cJSON_AddStringToObject(j, "image", names[sc[rk].id]);
                cJSON_AddNumberToObject(j, "score", sc[rk].score);
                put_line(s.f, j);
            }
        }
        st = sink_close(&s, st, e);
    }
    free(q);
    free(sc);
    if (have_m) fke_model_free(&m);
    fke_strings_free(names, -1);
    free(emb);
    free(ck);
    free(hash);
    return st;
}

/* ---- zero-shot ---------------------------------------------------------------- */
/* field name -> -1 occasion, -2 category, k >= 0 attribute k; *n classes */
static fke_status field_of(const fke_dataset *d, const char *name, int *f, int *n, fke_err *e)
{
    if (!strcmp(name, "occasion")) return *f = -1, *n = d->n_occ, FKE_OK;
    if (!strcmp(name, "category")) return *f = -2, *n = d->n_cat, FKE_OK;
    for (int k = 0; k < d->A; k++)
        if (d->attr_names && d->attr_names[k] && !strcmp(d->attr_names[k], name))
            return *f = k, *n = d->n_val[k], FKE_OK;
    char have[256] = "occasion, category";
    for (int k = 0; k < d->A && d->attr_names; k++) {
        size_t u = strlen(have);
        snprintf(have + u, sizeof have - u, ", %s", d->attr_names[k] ? d->attr_names[k] : "?");
    }
    return fke_fail(e, FKE_ERR_ARG, "%s: no field \"%s\" (it has %s)", d->path, name, have);
}

/* the true label of field f for post i, garment g (-1: unknown) */
static int truth_of(const fke_dataset *d, int f, int i, int g)
{
    if (f == -1) return d->occ[i];
    size_t dg = (size_t)i * d->G + g;
    if (f == -2) return d->cat_true && d->cat_true[dg] >= 0 ? d->cat_true[dg]
                        : d->clean[i]                     ? d->cat[dg] : -1;
    size_t da = dg * d->A + f;
    return d->attr_true && d->attr_true[da] >= 0 ? d->attr_true[da]
           : d->clean[i]                         ? d->attr[da] : -1;
}

/* garment g of post i: its crop stretched to the model's image side by the
 * one resize rule, normalised as the loader does, into x (3, S, S); px
 * holds (3, max(S, P)^2) bytes, hwc (P, P, 3) */
static fke_status crop_input(const fke_dataset *d, int S, int i, int g, uint8_t *px,
                             uint8_t *hwc, fke_real *x, fke_err *e)
{
    int P = d->crop;
    FKE_TRY(fke_dataset_pixels(d, i, 1 + g, px, e));
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < P * P; k++) hwc[(size_t)k * 3 + c] = px[(size_t)c * P * P + k];
    fke_image im = {.w = P, .h = P, .rgb = hwc};
    const int32_t box[4] = {0, 0, P, P};
    fke_image_resize_chw(&im, box, S, px);
    for (size_t k = 0; k < (size_t)3 * S * S; k++)
        x[k] = (fke_real)((px[k] / 255.0 - FKE_PIXEL_MEAN) / FKE_PIXEL_STD);
    return FKE_OK;
}

/* the tag of highest score for embedding a (first on ties) */
static int best_tag(const fke_real *a, const fke_real *temb, int n, int K)
{
    int best = 0;
    double bs = -INFINITY;
    for (int j = 0; j < n; j++) {
        double s = dot(a, temb + (size_t)j * K, K);
        if (s > bs) bs = s, best = j;
    }
    return best;
}

/* A batch of nb garment inputs x (crops at the crop side with mil, else
 * stretched to the image side) embedded into emb (nb, K): each counted, and
 * right when its best of the n tags temb is its class ys[q]. */
static fke_status garments_right(fke_model *m, int mil, const fke_real *x, int nb, fke_real *emb,
                                 const int *ys, const fke_real *temb, int n, long *right,
                                 long *counted, fke_err *e)
{
    int K = m->cfg.embed_dim;
    FKE_TRY(mil ? fke_clip_embed_crops(m->clip, x, nb, emb, e)
                : fke_clip_embed_images(m->clip, x, nb, emb, e));
    for (int q = 0; q < nb; q++) *right += best_tag(emb + (size_t)q * K, temb, n, K) == ys[q];
    *counted += nb;
    return FKE_OK;
}

/* the same for a post: its whole image and, with crop, its ng crops */
static int best_post_tag(const fke_real *img, const fke_real *crop, int ng, const fke_real *temb,
                         int n, int K)
{
    int best = 0;
    double bs = -INFINITY;
    for (int j = 0; j < n; j++) {
        double s = fke_clip_post_score(img, crop, ng, temb + (size_t)j * K, K);
        if (s > bs) bs = s, best = j;
    }
    return best;
}

static char **joined_pairs(const fke_tagset *a, const fke_tagset *b)
{
    char **t = calloc((size_t)a->n * b->n + 1, sizeof *t);
    for (int i = 0; t && i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            size_t n = strlen(a->text[i]) + strlen(b->text[j]) + 2;
            char *s = malloc(n);
            if (!s) {
                fke_strings_free(t, -1);
                return NULL;
            }
            snprintf(s, n, "%s %s", a->text[i], b->text[j]);
            t[(size_t)i * b->n + j] = s;
        }
    return t;
}

fke_status fke_tag_zeroshot(const char *ckpt, const char *data, const char *field_a,
                            const char *tags_a, const char *field_b, const char *tags_b,
                            fke_zeroshot_result *r, fke_err *e)
{
    memset(r, 0, sizeof *r);
    fke_dataset d;
    FKE_TRY(fke_dataset_load(&d, data, e));
    fke_tagset ta, tb;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    fke_model m;
    int have_m = 0, fa, fb = 0, na, nb = 1;
    fke_status st = field_of(&d, field_a, &fa, &na, e);
    if (st == FKE_OK && field_b) st = field_of(&d, field_b, &fb, &nb, e);
    if (st == FKE_OK) st = fke_tags_read(tags_a, &ta, e);
    if (st == FKE_OK && field_b) st = fke_tags_read(tags_b, &tb, e);
    if (st == FKE_OK && ta.n != na)
        st = fke_fail(e, FKE_ERR_ARG, "%s: %d tags, but field %s of %s has %d classes (one tag "
                      "a line, in its class order)", tags_a, ta.n, field_a, data, na);
    if (st == FKE_OK && field_b && tb.n != nb)
        st = fke_fail(e, FKE_ERR_ARG, "%s: %d tags, but field %s of %s has %d classes (one tag "
                      "a line, in its class order)", tags_b, tb.n, field_b, data, nb);
    if (st == FKE_OK && field_b && fb == -1)
        st = fke_fail(e, FKE_ERR_ARG, "pairs: the occasion goes first (%s %s)", field_b, field_a);
    if (st == FKE_OK && (st = load_clip(&m, ckpt, e)) == FKE_OK) have_m = 1;
    if (st == FKE_OK) st = fke_check_dataset(&m.cfg, &d, e);
    int K = have_m ? m.cfg.embed_dim : 1, n = na * nb;
    char **texts = NULL;
    if (st == FKE_OK && field_b && !(texts = joined_pairs(&ta, &tb)))
        st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    fke_real *temb = st == FKE_OK ? malloc(sizeof(fke_real) * (size_t)n * K) : NULL;
    fke_real *iemb = st == FKE_OK ? malloc(sizeof(fke_real) * (size_t)d.N * K) : NULL;
    fke_scored *sc = st == FKE_OK ? malloc(sizeof *sc * (size_t)n) : NULL;
    if (st == FKE_OK && (!temb || !iemb || !sc)) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    if (st == FKE_OK) st = embed_texts(&m, ckpt, texts ? texts : ta.text, n, temb, NULL, 1, e);
    r->classes = n;
    int per_garment = !field_b && fa != -1, mil = have_m && m.cfg.clip_crops, G = have_m ? m.cfg.G : 1;
    fke_real *icrop = NULL;
    if (st == FKE_OK && mil && !(icrop = malloc(sizeof(fke_real) * (size_t)d.N * G * K)))
        st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    if (st == FKE_OK && mil && d.crop != m.cfg.crop)
        st = fke_fail(e, FKE_ERR_ARG, "%s: crops of %d pixels; the model embeds crops of %d "
                      "(clip_crops)", data, d.crop, m.cfg.crop);
    if (st == FKE_OK && !per_garment) st = fke_clip_embed_posts_crops(m.clip, &d, iemb, icrop, NULL, e);
    if (st == FKE_OK && per_garment) { /* every garment's crop, in batches */
        /* clip_crops: at the crop side, as trained; else stretched to the image side */
        int S = mil ? d.crop : m.cfg.img, P = d.crop, side = S > P ? S : P, Bt = m.cfg.batch, nb = 0;
        size_t in = (size_t)3 * S * S;
        uint8_t *px = malloc((size_t)3 * side * side), *hwc = malloc((size_t)3 * P * P);
        fke_real *x = malloc(sizeof(fke_real) * in * Bt);
        fke_real *emb = malloc(sizeof(fke_real) * (size_t)K * Bt);
        int *ys = malloc(sizeof(int) * Bt);
        if (!px || !hwc || !x || !emb || !ys) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
        long right = 0;
        for (int i = 0; st == FKE_OK && i <= d.N; i++) {
            int ng = i < d.N ? d.n_garments[i] : 0;
            for (int g = 0; st == FKE_OK && g < ng; g++) {
                int y = truth_of(&d, fa, i, g);
                if (y < 0) continue;
                ys[nb] = y;
                st = crop_input(&d, S, i, g, px, hwc, x + in * nb++, e);
                if (st != FKE_OK || nb < Bt) continue;
                st = garments_right(&m, mil, x, nb, emb, ys, temb, n, &right, &r->n, e);
                nb = 0;
            }
            if (i == d.N && nb && st == FKE_OK) /* the last, partial batch */
                st = garments_right(&m, mil, x, nb, emb, ys, temb, n, &right, &r->n, e);
        }
        r->acc = r->n ? (double)right / r->n : NAN;
        r->chance = 1.0 / n;
        free(px);
        free(hwc);
        free(x);
        free(emb);
        free(ys);
    } else if (st == FKE_OK && !field_b) { /* occasion, per post */
        long right = 0;
        for (int i = 0; i < d.N; i++) {
            int y = truth_of(&d, -1, i, 0);
            if (y < 0) continue;
            right += best_post_tag(iemb + (size_t)i * K, icrop ? icrop + (size_t)i * G * K : NULL,
                                   d.n_garments[i], temb, n, K) == y;
            r->n++;
        }
        r->acc = r->n ? (double)right / r->n : NAN;
        r->chance = 1.0 / n;
    } else if (st == FKE_OK) { /* dynamic tags: pairs */
        uint8_t *has = malloc((size_t)n);
        double chance = 0;
        if (!has) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
        for (int i = 0; st == FKE_OK && i < d.N; i++) {
            memset(has, 0, (size_t)n);
            int ng = d.n_garments[i], nt = 0, known = ng > 0;
            for (int g = 0; g < ng; g++) {
                int a = truth_of(&d, fa, i, g), b = truth_of(&d, fb, i, g);
                if (a < 0 || b < 0) known = 0;
                else if (!has[a * nb + b]) has[a * nb + b] = 1, nt++;
            }
            if (!known) continue; /* a post with an unknown label: its truth is not whole */
            for (int j = 0; j < n; j++) {
                sc[j].score = fke_clip_post_score(iemb + (size_t)i * K,
                                                  icrop ? icrop + (size_t)i * G * K : NULL,
                                                  ng, temb + (size_t)j * K, K);
                sc[j].id = j;
            }
            fke_scored_sort(sc, (size_t)n, 1);
            for (int k = 0; k < ng && k < n; k++) r->right += has[sc[k].id];
            r->predicted += ng < n ? ng : n;
            r->truth += nt;
            chance += (double)nt / n;
            r->n++;
        }
        free(has);
        r->precision = r->predicted ? (double)r->right / r->predicted : NAN;
        r->recall = r->truth ? (double)r->right / r->truth : NAN;
        r->chance = r->n ? chance / r->n : NAN;
    }
    free(temb);
    free(iemb);
    free(icrop);
    free(sc);
    if (texts) fke_strings_free(texts, -1);
    if (have_m) fke_model_free(&m);
    fke_tagset_free(&ta);
    fke_tagset_free(&tb);
    fke_dataset_free(&d);
    return st;
}

/* ---- calibration ------------------------------------------------------------ */
#define CALIB_FORMAT "fke-tag-calibration"

double fke_tag_calib_prob(const fke_tag_calib *c, double score)
{
    double z = c->a * score + c->b;
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

fke_status fke_tag_calib_read(const char *path, const char *ckpt, fke_tag_calib *c, fke_err *e)
{
    cJSON *j;
    FKE_TRY(fke_read_json(path, (size_t)1 << 20, &j, e));
    const cJSON *f = cJSON_GetObjectItem(j, "format"), *v = cJSON_GetObjectItem(j, "version"),
                *a = cJSON_GetObjectItem(j, "a"), *b = cJSON_GetObjectItem(j, "b"),
                *h = cJSON_GetObjectItem(j, "checkpoint_hash");
    fke_status st = FKE_OK;
    if (!cJSON_IsString(f) || strcmp(f->valuestring, CALIB_FORMAT) || !cJSON_IsNumber(v) ||
        v->valueint != 1)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: not a tag calibration (format \"%s\" version 1, "
                      "from fke tag --calibrate)", path, CALIB_FORMAT);
    else if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !isfinite(a->valuedouble) ||
             !isfinite(b->valuedouble) || !cJSON_IsString(h))
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: \"a\", \"b\" (finite numbers) and "
                      "\"checkpoint_hash\" are required", path);
    char now[64];
    if (st == FKE_OK) st = fke_file_hash(ckpt, now, sizeof now, NULL, e);
    if (st == FKE_OK && strcmp(now, h->valuestring))
        st = fke_fail(e, FKE_ERR_ARG, "%s was fitted for a checkpoint of hash %s; %s has %s: "
                      "fit it again with this model (fke tag --calibrate)", path, h->valuestring,
                      ckpt, now);
    if (st == FKE_OK) c->a = a->valuedouble, c->b = b->valuedouble;
    cJSON_Delete(j);
    return st;
}

/* (score, truth) pairs of every post of d with every tag of one fit spec,
 * appended to s, y (grown as needed) */
typedef struct {
    double *s;
    uint8_t *y;
    long n, cap;
} pairs;

static fke_status pairs_push(pairs *p, double s, int y, fke_err *e)
{
    if (p->n == p->cap) {
        long cap = p->cap ? 2 * p->cap : 4096;
        double *ns = realloc(p->s, sizeof *ns * (size_t)cap);
        if (ns) p->s = ns;
        uint8_t *ny = ns ? realloc(p->y, (size_t)cap) : NULL;
        if (!ns || !ny) return fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
        p->y = ny, p->cap = cap;
    }
    p->s[p->n] = s, p->y[p->n++] = (uint8_t)y;
    return FKE_OK;
}

static fke_status fit_pairs(fke_model *m, const char *ckpt, const fke_dataset *d,
                            const fke_real *iemb, const fke_real *icrop, const char *spec,
                            pairs *p, fke_err *e)
{
    char field[64];
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof field || !eq[1])
        return fke_fail(e, FKE_ERR_ARG, "--fit %s: write FIELD=TAGS.txt (such as "
                        "occasion=experiments/tags/occasion.txt)", spec);
    snprintf(field, sizeof field, "%.*s", (int)(eq - spec), spec);
    int f, n, K = m->cfg.embed_dim, G = m->cfg.G;
    FKE_TRY(field_of(d, field, &f, &n, e));
    fke_tagset t;
    FKE_TRY(fke_tags_read(eq + 1, &t, e));
    fke_status st = FKE_OK;
    if (t.n != n)
        st = fke_fail(e, FKE_ERR_ARG, "%s: %d tags, but field %s of %s has %d classes (one tag "
                      "a line, in its class order)", eq + 1, t.n, field, d->path, n);
    fke_real *temb = st == FKE_OK ? malloc(sizeof(fke_real) * (size_t)n * K) : NULL;
    uint8_t *has = st == FKE_OK ? malloc((size_t)n) : NULL;
    if (st == FKE_OK && (!temb || !has)) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    if (st == FKE_OK) st = embed_texts(m, ckpt, t.text, n, temb, NULL, 1, e);
    for (int i = 0; st == FKE_OK && i < d->N; i++) {
        memset(has, 0, (size_t)n);
        int known = 1, ng = d->n_garments[i];
        if (f == -1) {
            int y = truth_of(d, -1, i, 0);
            known = y >= 0;
            if (known) has[y] = 1;
        } else {
            known = ng > 0;
            for (int g = 0; g < ng; g++) {
                int y = truth_of(d, f, i, g);
                if (y < 0) known = 0;
                else has[y] = 1;
            }
        }
        if (!known) continue; /* a post whose truth is not whole */
        for (int j = 0; st == FKE_OK && j < n; j++)
            st = pairs_push(p, fke_clip_post_score(iemb + (size_t)i * K,
                                                   icrop ? icrop + (size_t)i * G * K : NULL, ng,
                                                   temb + (size_t)j * K, K),
                            has[j], e);
    }
    free(temb);
    free(has);
    fke_tagset_free(&t);
    return st;
}

static double loglik(const pairs *p, double a, double b)
{
    double l = 0;
    for (long i = 0; i < p->n; i++) {
        double z = a * p->s[i] + b; /* log sigmoid(+-z), stably */
        double lp = z >= 0 ? -log1p(exp(-z)) : z - log1p(exp(z));
        l += p->y[i] ? lp : lp - z;
    }
    return l;
}

/* maximum-likelihood (a, b) by Newton's method with step halving */
static void fit_platt(const pairs *p, fke_tag_calib *c)
{
    long pos = 0;
    for (long i = 0; i < p->n; i++) pos += p->y[i];
    double rate = (pos + 0.5) / (p->n + 1.0);
    double a = 0, b = log(rate / (1 - rate)), l = loglik(p, a, b);
    for (int it = 0; it < 100; it++) {
        double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
        for (long i = 0; i < p->n; i++) {
            fke_tag_calib t = {a, b};
            double q = fke_tag_calib_prob(&t, p->s[i]), r = p->y[i] - q, w = q * (1 - q);
            ga += r * p->s[i], gb += r;
            haa += w * p->s[i] * p->s[i], hab += w * p->s[i], hbb += w;
        }
        double det = haa * hbb - hab * hab;
        if (!(det > 1e-300)) break;
        double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det, step = 1;
        double na = a, nb = b, nl = l;
        for (int h = 0; h < 40; h++, step /= 2) {
            na = a + step * da, nb = b + step * db;
            if ((nl = loglik(p, na, nb)) >= l) break;
        }
        if (!(nl >= l)) break;
        int done = fabs(na - a) < 1e-12 * (1 + fabs(a)) && fabs(nb - b) < 1e-12 * (1 + fabs(b));
        a = na, b = nb, l = nl;
        if (done) break;
    }
    c->a = a, c->b = b;
}

static void measure(const pairs *p, fke_calib_result *r)
{
    double sp = 0, br = 0;
    memset(r->bin_n, 0, sizeof r->bin_n);
    memset(r->bin_pos, 0, sizeof r->bin_pos);
    memset(r->bin_p, 0, sizeof r->bin_p);
    r->positives = 0;
    for (long i = 0; i < p->n; i++) {
        double q = fke_tag_calib_prob(&r->cal, p->s[i]);
        int k = (int)(q * FKE_CALIB_BINS);
        if (k >= FKE_CALIB_BINS) k = FKE_CALIB_BINS - 1;
        r->bin_n[k]++, r->bin_pos[k] += p->y[i], r->bin_p[k] += q;
        sp += q, br += (q - p->y[i]) * (q - p->y[i]), r->positives += p->y[i];
    }
    r->pairs = p->n;
    r->mean_p = p->n ? sp / p->n : NAN;
    r->brier = p->n ? br / p->n : NAN;
    r->loglik = loglik(p, r->cal.a, r->cal.b);
    double ece = 0;
    for (int k = 0; k < FKE_CALIB_BINS; k++)
        ece += fabs(r->bin_p[k] - (double)r->bin_pos[k]);
    r->ece = p->n ? ece / p->n : NAN;
}

fke_status fke_tag_calibrate(const fke_tag_opts *o, const char *const *fits, int nfit,
                             const char *out, fke_calib_result *r, fke_err *e)
{
    memset(r, 0, sizeof *r);
    if (!o->data || nfit < 1)
        return fke_fail(e, FKE_ERR_ARG, "tag calibration: needs --data DATA.h5 and at least one "
                        "--fit FIELD=TAGS.txt");
    if (!out && !o->calibration)
        return fke_fail(e, FKE_ERR_ARG, "tag calibration: --calibrate OUT.json fits one, "
                        "--calibration FILE measures one");
    fke_tag_calib given;
    if (!out) FKE_TRY(fke_tag_calib_read(o->calibration, o->ckpt, &given, e));
    fke_dataset d;
    FKE_TRY(fke_dataset_load(&d, o->data, e));
    fke_model m;
    int have_m = 0;
    fke_status st = load_clip(&m, o->ckpt, e);
    have_m = st == FKE_OK;
    if (st == FKE_OK) st = fke_check_dataset(&m.cfg, &d, e);
    int K = have_m ? m.cfg.embed_dim : 1, G = have_m ? m.cfg.G : 1;
    int mil = have_m && m.cfg.clip_crops;
    fke_real *iemb = st == FKE_OK ? malloc(sizeof(fke_real) * (size_t)d.N * K) : NULL;
    fke_real *icrop = st == FKE_OK && mil ? malloc(sizeof(fke_real) * (size_t)d.N * G * K) : NULL;
    if (st == FKE_OK && (!iemb || (mil && !icrop))) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
    if (st == FKE_OK) st = fke_clip_embed_posts_crops(m.clip, &d, iemb, icrop, NULL, e);
    pairs p = {0};
    for (int k = 0; st == FKE_OK && k < nfit; k++)
        st = fit_pairs(&m, o->ckpt, &d, iemb, icrop, fits[k], &p, e);
    if (st == FKE_OK && p.n == 0)
        st = fke_fail(e, FKE_ERR_ARG, "%s: no post with whole labels to calibrate on", o->data);
    if (st == FKE_OK) {
        if (out) fit_platt(&p, &r->cal);
        else r->cal = given;
        measure(&p, r);
    }
    if (st == FKE_OK && out) {
        char hash[64];
        st = fke_file_hash(o->ckpt, hash, sizeof hash, NULL, e);
        cJSON *j = cJSON_CreateObject(), *fl = cJSON_CreateArray();
        cJSON_AddStringToObject(j, "format", CALIB_FORMAT);
        cJSON_AddNumberToObject(j, "version", 1);
        cJSON_AddStringToObject(j, "checkpoint", o->ckpt);
        cJSON_AddStringToObject(j, "checkpoint_hash", st == FKE_OK ? hash : "");
        cJSON_AddStringToObject(j, "rule", "p = 1 / (1 + exp(-(a score + b))), Platt scaling "
                                "fitted by maximum likelihood on every (post, class tag) pair");
        const char *ab[] = {"a", "b"}; /* exactly: the calibration read back is this one */
        for (int k = 0; k < 2; k++) {
            double v = k ? r->cal.b : r->cal.a;
            char num[40];
            fke_format_real(v, num, sizeof num);
            if (isfinite(v)) cJSON_AddRawToObject(j, ab[k], num);
            else cJSON_AddNullToObject(j, ab[k]);
        }
        cJSON_AddStringToObject(j, "data", o->data);
        for (int k = 0; k < nfit; k++) cJSON_AddItemToArray(fl, cJSON_CreateString(fits[k]));
        cJSON_AddItemToObject(j, "fits", fl);
        cJSON_AddNumberToObject(j, "pairs", (double)r->pairs);
        cJSON_AddNumberToObject(j, "positives", (double)r->positives);
        cJSON_AddNumberToObject(j, "ece", r->ece);
        char *txt = cJSON_Print(j);
        cJSON_Delete(j);
        if (st == FKE_OK && !txt) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
        if (st == FKE_OK) {
            size_t L = strlen(txt);
            char *t2 = malloc(L + 2);
            if (!t2) st = fke_fail(e, FKE_ERR_NOMEM, "tag: out of memory");
            else {
                memcpy(t2, txt, L);
                t2[L] = '\n', t2[L + 1] = 0;
                st = fke_write_file(out, t2, "tag calibration", e);
                free(t2);
            }
        }
        free(txt);
    }
    free(p.s);
    free(p.y);
    free(iemb);
    free(icrop);
    if (have_m) fke_model_free(&m);
    fke_dataset_free(&d);
    return st;
}
