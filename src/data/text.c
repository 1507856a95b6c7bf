/* text.c - captions as text to token ids (text.h states the rules). */
#include "data/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

typedef struct fke_text_entry {
    const char *s;
    int id;
} entry;

static int by_word(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* the lowest id whose entry is w, or -1 (idx sorted by word, then id) */
static int find(const entry *idx, int n, const char *w)
{
    int lo = 0, hi = n; /* first entry >= w */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(idx[mid].s, w) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && !strcmp(idx[lo].s, w) ? idx[lo].id : -1;
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

const char *fke_text_word(const char *text, char *w, int *hash)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p && !(is_word_byte(*p) || (*p == '#' && is_word_byte(p[1])))) p++;
    if (!*p) return NULL;
    size_t k = 0;
    *hash = *p == '#';
    if (*hash) w[k++] = '#', p++;
    for (; is_word_byte(*p); p++) w[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    w[k] = 0;
    return (const char *)p;
}

fke_status fke_tokenizer_init(fke_tokenizer *t, char *const *vocab, int V, fke_err *e)
{
    memset(t, 0, sizeof *t);
    t->unk_id = -1;
    if (!vocab || V < 1) return fke_fail(e, FKE_ERR_ARG, "text: no vocabulary to tokenize with");
    entry *idx = malloc((size_t)V * sizeof *idx);
    if (!idx) return fke_fail(e, FKE_ERR_NOMEM, "text: no memory");
    int n = 0;
    for (int i = 1; i < V; i++) /* id 0 is the padding */
        if (vocab[i]) idx[n].s = vocab[i], idx[n].id = i, n++;
    qsort(idx, (size_t)n, sizeof *idx, by_word);
    t->idx = idx, t->n = n;
    t->unk_id = find(idx, n, "<unk>");
    return FKE_OK;
}

void fke_tokenizer_free(fke_tokenizer *t)
{
    free(t->idx);
    t->idx = NULL, t->n = 0;
}

fke_status fke_tokenizer_run(const fke_tokenizer *t, const char *text, int L, int32_t *tok,
                             fke_text_stats *stats, fke_err *e)
{
    fke_text_stats s = {0};
    s.unk_id = t->unk_id;
    if (stats) *stats = s;
    if (L < 1) return fke_fail(e, FKE_ERR_ARG, "text: caption length %d", L);
    memset(tok, 0, (size_t)L * sizeof *tok);
    const entry *idx = t->idx;
    int n = t->n;
    char small[256], *w = small;
    size_t need = strlen(text ? text : "") + 2;
    if (need > sizeof small && !(w = malloc(need))) return fke_fail(e, FKE_ERR_NOMEM, "text: no memory");
    const char *p = text ? text : "";
    int hash;
    while ((p = fke_text_word(p, w, &hash))) {
        s.words++;
        int id = find(idx, n, w);
        if (id < 0 && hash) id = find(idx, n, w + 1);
        if (id >= 0) s.known++;
        else s.unknown++, id = s.unk_id;
        if (id < 0) continue; /* no <unk>: dropped */
        if (s.n < L) tok[s.n++] = id;
        else s.truncated++;
    }
    if (w != small) free(w);
    if (stats) *stats = s;
    return FKE_OK;
}

fke_status fke_text_tokenize(const char *text, char *const *vocab, int V, int L, int32_t *tok,
                             fke_text_stats *stats, fke_err *e)
{
    if (stats) memset(stats, 0, sizeof *stats), stats->unk_id = -1;
    if (L < 1) return fke_fail(e, FKE_ERR_ARG, "text: caption length %d", L);
    memset(tok, 0, (size_t)L * sizeof *tok);
    fke_tokenizer t;
    FKE_TRY(fke_tokenizer_init(&t, vocab, V, e));
    fke_status st = fke_tokenizer_run(&t, text, L, tok, stats, e);
    fke_tokenizer_free(&t);
    return st;
}

/* ---- vocabularies ------------------------------------------------------------ */
typedef struct {
    char *w;
    long n;
} counted;

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int by_count(const void *a, const void *b)
{
    const counted *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->w, y->w);
}

fke_status fke_vocab_build(const char *const *texts, long n, int min_count, int max_words,
                           char ***vocab, int *V, fke_vocab_stats *stats, fke_err *e)
{
    *vocab = NULL, *V = 0;
    memset(stats, 0, sizeof *stats);
    if (min_count < 1 || max_words < 3)
        return fke_fail(e, FKE_ERR_ARG, "vocabulary: min count %d (at least 1), at most %d words "
                        "(at least 3)", min_count, max_words);
    /* every word of every text, as one array of copies */
    size_t cap = 1024, used = 0, longest = 0;
    for (long i = 0; i < n; i++)
        if (texts[i] && strlen(texts[i]) > longest) longest = strlen(texts[i]);
    char **all = malloc(cap * sizeof *all), *w = malloc(longest + 2);
    fke_status st = all && w ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
    for (long i = 0; st == FKE_OK && i < n; i++) {
        const char *p = texts[i] ? texts[i] : "";
        int hash;
        stats->texts++;
        while (st == FKE_OK && (p = fke_text_word(p, w, &hash))) {
            if (used == cap) {
                char **grown = realloc(all, 2 * cap * sizeof *all);
                if (!grown) st = fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
                else all = grown, cap *= 2;
            }
            if (st == FKE_OK && !(all[used] = strdup(w)))
                st = fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
            if (st == FKE_OK) used++;
        }
    }
    free(w);
    /* distinct words with their counts, the most frequent first */
    counted *d = NULL;
    size_t nd = 0;
    if (st == FKE_OK) {
        qsort(all, used, sizeof *all, by_text);
        d = malloc((used + 1) * sizeof *d);
        if (!d) st = fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
        for (size_t i = 0; d && i < used;) {
            size_t j = i;
            while (j < used && !strcmp(all[j], all[i])) j++;
            d[nd].w = all[i], d[nd].n = (long)(j - i), nd++;
            i = j;
        }
        if (d) qsort(d, nd, sizeof *d, by_count);
    }
    stats->words = (long)used, stats->distinct = (long)nd;
    char **v = NULL;
    int k = 2;
    if (st == FKE_OK && !(v = calloc((size_t)max_words + 1, sizeof *v)))
        st = fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
    if (st == FKE_OK && (!(v[0] = strdup("<pad>")) || !(v[1] = strdup("<unk>"))))
        st = fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
    for (size_t i = 0; st == FKE_OK && i < nd; i++) {
        if (d[i].n >= min_count && k < max_words && strcmp(d[i].w, "<unk>")) {
            if (!(v[k++] = strdup(d[i].w))) st = fke_fail(e, FKE_ERR_NOMEM, "vocabulary: no memory");
            stats->kept_words += d[i].n;
        } else {
            stats->dropped_distinct++;
        }
    }
    for (size_t i = 0; all && i < used; i++) free(all[i]);
    free(all);
    free(d);
    if (st != FKE_OK) return fke_strings_free(v, -1), st;
    *vocab = v, *V = k;
    return FKE_OK;
}

fke_status fke_vocab_save(const char *path, char *const *vocab, int V, fke_err *e)
{
    size_t len = 1;
    for (int i = 0; i < V; i++) len += strlen(vocab[i] ? vocab[i] : "") + 1;
    char *t = malloc(len), *q = t;
    if (!t) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    for (int i = 0; i < V; i++) q += sprintf(q, "%s\n", vocab[i] ? vocab[i] : "");
    fke_status st = fke_write_file(path, t, "vocabulary", e);
    free(t);
    return st;
}

fke_status fke_vocab_load(const char *path, char ***vocab, int *V, fke_err *e)
{
    *vocab = NULL, *V = 0;
    char *t;
    size_t len;
    FKE_TRY(fke_read_file(path, 1 << 30, &t, &len, e));
    long lines = 0;
    for (size_t i = 0; i < len; i++) lines += t[i] == '\n';
    if (len && t[len - 1] != '\n') lines++;
    fke_status st = FKE_OK;
    if (memchr(t, 0, len)) st = fke_fail(e, FKE_ERR_FORMAT, "%s: holds a NUL byte: not a word list", path);
    else if (lines < 2 || lines > 10000000)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: %ld lines; a vocabulary has the padding on line 1, "
                      "then 1 to 9999999 words, one a line", path, lines);
    char **v = st == FKE_OK ? calloc((size_t)lines + 1, sizeof *v) : NULL;
    if (st == FKE_OK && !v) st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    char *w = st == FKE_OK ? malloc(len + 2) : NULL;
    if (st == FKE_OK && !w) st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    char *p = t;
    for (long i = 0; st == FKE_OK && i < lines; i++) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r') p[--n] = 0; /* CRLF files */
        int hash;
        const char *after = i ? fke_text_word(p, w, &hash) : NULL;
        /* every word after the padding must be one word by the rules, as
         * fke_text_word gives it: else no caption could ever match it */
        if (i && strcmp(p, "<unk>") && (!after || *after || strcmp(w, p)))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: line %ld: '%.80s' is not one lowercase word "
                          "by the tokenizer's rules (datasets/README.md, \"Captions as text\")",
                          path, i + 1, p);
        else if (!(v[i] = strdup(p)))
            st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
        p = nl ? nl + 1 : p + n;
    }
    free(w);
    free(t);
    if (st != FKE_OK) return fke_strings_free(v, -1), st;
    *vocab = v, *V = (int)lines;
    return FKE_OK;
}
