/* core.c - errors, tensor headers, the arena and the random generator. */
#include "core/fke.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fke_status fke_fail(fke_err *e, fke_status s, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

const char *fke_status_name(fke_status s)
{
    static const char *names[] = {"ok",          "bad argument", "shape mismatch",
                                  "out of memory", "i/o error",  "bad file format",
                                  "bad config",  "numeric error"};
    if ((unsigned)s < sizeof names / sizeof names[0]) return names[s];
    return "unknown error";
}

size_t fke_numel(const fke_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

fke_tensor fke_tensor_view(fke_real *data, int ndim, ...)
{
    fke_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.ndim = ndim;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim && i < FKE_MAXDIM; i++) t.shape[i] = va_arg(ap, int);
    va_end(ap);
    return t;
}

const char *fke_shape_str(const fke_tensor *t, char *buf, size_t len)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "(");
    for (int i = 0; i < t->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ", %d" : "%d", t->shape[i]);
    if (k < len) snprintf(buf + k, len - k, ")");
    return buf;
}

fke_status fke_expect(fke_err *e, const char *op, const char *name,
                      const fke_tensor *t, int ndim, const int *dims)
{
    char want[96], got[96];
    size_t k = 0;
    k += (size_t)snprintf(want + k, sizeof want - k, "(");
    for (int i = 0; i < ndim && k < sizeof want; i++) {
        if (dims[i] < 0)
            k += (size_t)snprintf(want + k, sizeof want - k, i ? ", *" : "*");
        else
            k += (size_t)snprintf(want + k, sizeof want - k, i ? ", %d" : "%d", dims[i]);
    }
    if (k < sizeof want) snprintf(want + k, sizeof want - k, ")");
    if (!t || !t->data)
        return fke_fail(e, FKE_ERR_ARG, "%s: %s is a null tensor, expected shape %s",
                        op, name, want);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        if (t->shape[i] <= 0 || (dims[i] >= 0 && t->shape[i] != dims[i])) ok = 0;
    if (!ok)
        return fke_fail(e, FKE_ERR_SHAPE, "%s: %s has shape %s, expected %s", op, name,
                        fke_shape_str(t, got, sizeof got), want);
    return FKE_OK;
}

fke_status fke_expect_like(fke_err *e, const char *op, const char *name, const fke_tensor *t,
                           const fke_tensor *ref)
{
    return fke_expect(e, op, name, t, ref->ndim, ref->shape);
}

fke_status fke_expect_grads_like(fke_err *e, const char *op, int n, fke_tensor *const *dxs,
                                 const fke_tensor *const *xs)
{
    if (!dxs) return fke_fail(e, FKE_ERR_ARG, "%s: the gradient list is NULL", op);
    for (int i = 0; i < n; i++) {
        if (!dxs[i]) continue;
        char name[32];
        snprintf(name, sizeof name, "gradient %d", i);
        FKE_TRY(fke_expect_like(e, op, name, dxs[i], xs[i]));
    }
    return FKE_OK;
}

fke_status fke_expect_any(fke_err *e, const char *op, const char *name, const fke_tensor *t)
{
    if (!t || !t->data) return fke_fail(e, FKE_ERR_ARG, "%s: %s is a null tensor", op, name);
    int dims[FKE_MAXDIM] = {-1, -1, -1, -1, -1};
    if (t->ndim < 1 || t->ndim > FKE_MAXDIM)
        return fke_fail(e, FKE_ERR_SHAPE, "%s: %s has %d dimensions", op, name, t->ndim);
    return fke_expect(e, op, name, t, t->ndim, dims);
}

/* ---- arena ------------------------------------------------------------- */
fke_status fke_arena_init(fke_arena *a, size_t bytes, fke_err *e)
{
    memset(a, 0, sizeof *a);
    bytes = (bytes + 63) & ~(size_t)63;
    a->base = aligned_alloc(64, bytes ? bytes : 64);
    if (!a->base)
        return fke_fail(e, FKE_ERR_NOMEM, "arena: cannot allocate %zu bytes", bytes);
    a->cap = bytes;
    return FKE_OK;
}

void fke_arena_free(fke_arena *a)
{
    free(a->base);
    memset(a, 0, sizeof *a);
}

void fke_arena_reset(fke_arena *a) { a->used = 0; }

void *fke_arena_alloc(fke_arena *a, fke_err *e, size_t bytes)
{
    void *p = fke_arena_alloc_raw(a, e, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void *fke_arena_alloc_raw(fke_arena *a, fke_err *e, size_t bytes)
{
    size_t need = (bytes + 63) & ~(size_t)63;
    if (!a->base || a->used + need > a->cap) {
        fke_fail(e, FKE_ERR_NOMEM,
                 "arena: out of space (%zu of %zu bytes used, %zu more requested)",
                 a->used, a->cap, need);
        return NULL;
    }
    void *p = a->base + a->used;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

static fke_status arena_tensor(fke_arena *a, fke_err *e, int zero, fke_tensor *out, int ndim,
                               va_list ap)
{
    if (ndim < 1 || ndim > FKE_MAXDIM)
        return fke_fail(e, FKE_ERR_ARG, "arena: %d dimensions (1..%d allowed)", ndim,
                        FKE_MAXDIM);
    memset(out, 0, sizeof *out);
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) out->shape[i] = va_arg(ap, int);
    for (int i = 0; i < ndim; i++)
        if (out->shape[i] <= 0)
            return fke_fail(e, FKE_ERR_ARG, "arena: dimension %d is %d", i, out->shape[i]);
    size_t bytes = fke_numel(out) * sizeof(fke_real);
    out->data = zero ? fke_arena_alloc(a, e, bytes) : fke_arena_alloc_raw(a, e, bytes);
    return out->data ? FKE_OK : FKE_ERR_NOMEM;
}

fke_status fke_arena_tensor(fke_arena *a, fke_err *e, fke_tensor *out, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    fke_status st = arena_tensor(a, e, 1, out, ndim, ap);
    va_end(ap);
    return st;
}

fke_status fke_arena_tensor_raw(fke_arena *a, fke_err *e, fke_tensor *out, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    fke_status st = arena_tensor(a, e, 0, out, ndim, ap);
    va_end(ap);
    return st;
}

/* ---- random numbers ---------------------------------------------------- */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void fke_rng_seed(fke_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t fke_rng_u64(fke_rng *r) { return fke_rng_next(r->s); }

double fke_rng_uniform(fke_rng *r) { return fke_rng_unit(fke_rng_next(r->s)); }

double fke_rng_normal(fke_rng *r)
{
    double u1 = fke_rng_uniform(r), u2 = fke_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t fke_rng_below(fke_rng *r, uint32_t n)
{
    return n ? (uint32_t)(((fke_rng_u64(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

/* ---- threads ------------------------------------------------------------ */

int fke_set_threads(int n)
{
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
    return n;
}

int fke_max_threads(void) { return omp_get_max_threads(); }

/* ---- strings ----------------------------------------------------------- */
void fke_strings_free(char **s, int n)
{
    if (!s) return;
    for (int i = 0; n < 0 ? s[i] != NULL : i < n; i++) free(s[i]);
    free(s);
}

/* columns of the n bytes at p: UTF-8 continuation bytes take none */
static int columns(const char *p, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

void fke_fputs_wrapped(FILE *f, const char *s, int width, int indent)
{
    while (*s) {
        const char *end = strchr(s, '\n');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        size_t lead = 0;
        while (lead < len && s[lead] == ' ') lead++;
        fwrite(s, 1, lead, f);
        int col = (int)lead, words = 0;
        size_t i = lead;
        while (i < len) {
            size_t gap = i; /* the spaces before the word */
            while (i < len && s[i] == ' ') i++;
            size_t w = i;
            while (i < len && s[i] != ' ') i++;
            if (w == i) break; /* trailing spaces */
            int wc = columns(s + w, i - w), gc = (int)(w - gap);
            if (words && col + gc + wc > width) {
                fprintf(f, "\n%*s", (int)lead + indent, "");
                col = (int)lead + indent;
            } else {
                fwrite(s + gap, 1, w - gap, f);
                col += gc;
            }
            fwrite(s + w, 1, i - w, f);
            col += wc;
            words++;
        }
        if (end) fputc('\n', f);
        s += len + (end != NULL);
    }
}

int fke_text_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!p) return 0;
    while (*p) {
        unsigned c = *p++;
        if (c < 0x20 || c == 0x7f) return 0;
        if (c < 0x80) continue;
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
        if (more < 0 || c > 0xf4 || c == 0xc0 || c == 0xc1) return 0;
        unsigned cp = c & (0x3fu >> more);
        for (int k = 0; k < more; k++, p++) {
            if ((*p & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (*p & 0x3fu);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

char **fke_strings_dup(const char *const *s, int n)
{
    char **o = calloc((size_t)n + 1, sizeof *o);
    if (!o) return NULL;
    for (int i = 0; i < n; i++)
        if (!(o[i] = strdup(s[i] ? s[i] : ""))) {
            fke_strings_free(o, i);
            return NULL;
        }
    return o;
}

/* ---- ranking ----------------------------------------------------------- */
static int by_score_up(const void *pa, const void *pb)
{
    const fke_scored *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int by_score_down(const void *pa, const void *pb)
{
    const fke_scored *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

void fke_scored_sort(fke_scored *a, size_t n, int desc)
{
    qsort(a, n, sizeof *a, desc ? by_score_down : by_score_up);
}

/* ---- string -> pointer map -------------------------------------------- */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

int fke_strmap_init(fke_strmap *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n + 1) m->cap *= 2;
    m->n = 0;
    m->key = calloc(m->cap, sizeof *m->key);
    m->val = calloc(m->cap, sizeof *m->val);
    return m->key && m->val;
}

void fke_strmap_free(fke_strmap *m)
{
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof *m);
}

static size_t strmap_slot(const fke_strmap *m, const char *k)
{
    size_t i = (size_t)hash_str(k) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], k)) i = (i + 1) & (m->cap - 1);
    return i;
}

int fke_strmap_put(fke_strmap *m, const char *k, void *v)
{
    size_t i = strmap_slot(m, k);
    int fresh = !m->key[i];
    m->key[i] = k;
    m->val[i] = v;
    m->n += fresh;
    return fresh;
}

void *fke_strmap_get(const fke_strmap *m, const char *k)
{
    if (!m->cap) return NULL;
    size_t i = strmap_slot(m, k);
    return m->key[i] ? m->val[i] : NULL;
}

