/* text.c - captions as text to token ids (text.h states the rules). */
#include "data/text.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
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

fke_status fke_text_tokenize(const char *text, char *const *vocab, int V, int L, int32_t *tok,
                             fke_text_stats *stats, fke_err *e)
{
    fke_text_stats s = {0};
    s.unk_id = -1;
    if (stats) *stats = s;
    if (L < 1) return fke_fail(e, FKE_ERR_ARG, "text: caption length %d", L);
    memset(tok, 0, (size_t)L * sizeof *tok);
    if (!vocab || V < 1) return fke_fail(e, FKE_ERR_ARG, "text: no vocabulary to tokenize with");
    entry *idx = malloc((size_t)V * sizeof *idx);
    size_t cap = strlen(text ? text : "") + 2;
    char *w = malloc(cap);
    if (!idx || !w) {
        free(idx), free(w);
        return fke_fail(e, FKE_ERR_NOMEM, "text: no memory");
    }
    int n = 0;
    for (int i = 1; i < V; i++) /* id 0 is the padding */
        if (vocab[i]) idx[n].s = vocab[i], idx[n].id = i, n++;
    qsort(idx, (size_t)n, sizeof *idx, by_word);
    s.unk_id = find(idx, n, "<unk>");
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    while (*p) {
        int hash = *p == '#' && is_word_byte(p[1]);
        if (!hash && !is_word_byte(*p)) {
            p++;
            continue;
        }
        size_t k = 0;
        if (hash) w[k++] = '#', p++;
        for (; is_word_byte(*p); p++)
            w[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        w[k] = 0;
        s.words++;
        int id = find(idx, n, w);
        if (id < 0 && hash) id = find(idx, n, w + 1);
        if (id >= 0) s.known++;
        else s.unknown++, id = s.unk_id;
        if (id < 0) continue; /* no <unk>: dropped */
        if (s.n < L) tok[s.n++] = id;
        else s.truncated++;
    }
    free(idx), free(w);
    if (stats) *stats = s;
    return FKE_OK;
}
