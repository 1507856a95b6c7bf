/* fke.h - the core of fke: the scalar type, status codes and error text,
 * tensors, the per-step arena and the seeded random generator.
 *
 * Every library call returns an fke_status and, on failure, leaves a message
 * in the fke_err the caller passed (naming the operation or file, the field
 * and the problem). Only the command-line program prints it and exits.
 *
 * fke_real is float in the normal build and double when compiled with
 * -DFKE_DOUBLE (the build used by `fke gradcheck`, so finite differences are
 * taken in double precision on exactly the same kernels). */
#ifndef FKE_H
#define FKE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef FKE_DOUBLE
typedef double fke_real;
#define FKE_GEMM cblas_dgemm
#define FKE_GEMV cblas_dgemv
#define FKE_AXPY cblas_daxpy
#else
typedef float fke_real;
#define FKE_GEMM cblas_sgemm
#define FKE_GEMV cblas_sgemv
#define FKE_AXPY cblas_saxpy
#endif

typedef enum {
    FKE_OK = 0,
    FKE_ERR_ARG,    /* null pointer, bad option, impossible value */
    FKE_ERR_SHAPE,  /* tensor shapes do not match */
    FKE_ERR_NOMEM,  /* allocation or arena exhausted */
    FKE_ERR_IO,     /* file missing, unreadable, unwritable */
    FKE_ERR_FORMAT, /* file present but corrupt / wrong layout */
    FKE_ERR_CONFIG, /* bad configuration key or value */
    FKE_ERR_NUMERIC /* NaN or infinite value */
} fke_status;

#define FKE_ERRLEN 1024
typedef struct {
    char msg[FKE_ERRLEN];
} fke_err;

/* Records a formatted message in e (may be NULL) and returns s. */
fke_status fke_fail(fke_err *e, fke_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *fke_status_name(fke_status s);

/* A global sum handed to a layer that needs one across processes (batch
 * norm's statistics under sync_bn, the loss's label counts) without seeing
 * MPI: sum(ctx, buf, n, e) replaces buf[0..n) by its sum over every process
 * (core/dist.h makes one). */
typedef struct {
    fke_status (*sum)(void *ctx, double *buf, int n, fke_err *e);
    void *ctx;
} fke_reducer;

/* ---- string lists (label names, vocabularies) ---------------------------- */
/* Frees a NULL-terminated or n-long array of strings (n < 0: NULL-terminated). */
void fke_strings_free(char **s, int n);
/* strdup of n strings into a fresh array (NULL on no memory). */
char **fke_strings_dup(const char *const *s, int n);
/* Whether s is valid UTF-8 (no overlong forms or surrogates) without control
 * characters below 0x20 or 0x7f: a name that JSON, CSV and file names take. */
int fke_text_valid(const char *s);

/* Writes s to f with each of its lines ('\n'-separated) cut at spaces into
 * lines of at most width columns (a column per UTF-8 character), never
 * inside a word: a word longer than width stands alone on its line. A
 * continuation line starts with its line's own leading spaces plus indent
 * more. The progress and header lines of `fke train` (80-column terminals). */
void fke_fputs_wrapped(FILE *f, const char *s, int width, int indent);

/* A string -> pointer map (open addressing, FNV-1a), sized once for n keys
 * (it never fills): the importers' joins by name (FashionKE's 80k post ids,
 * DeepFashion's 289k image names). The keys are borrowed, not copied.
 * fke_strmap_put adds or replaces (a later key wins, as in Python's json)
 * and returns 1 when k was new; fke_strmap_get gives NULL for an absent k.
 * init returns 0 when out of memory. */
typedef struct {
    const char **key; /* (cap) NULL = empty */
    void **val;       /* (cap) */
    size_t cap, n;
} fke_strmap;
int fke_strmap_init(fke_strmap *m, size_t n);
void fke_strmap_free(fke_strmap *m);
int fke_strmap_put(fke_strmap *m, const char *k, void *v);
void *fke_strmap_get(const fke_strmap *m, const char *k);

/* ---- ranking ------------------------------------------------------------ */
/* An item with a score; fke_scored_sort orders by score (descending when
 * desc, else ascending), ties by ascending id, so the order is total and
 * the same on every machine. */
typedef struct {
    double score;
    long id;
} fke_scored;
void fke_scored_sort(fke_scored *a, size_t n, int desc);

#define FKE_MAX_ATTR 8 /* most attributes per garment (docs/model.md uses 4) */

/* ---- tensors ---------------------------------------------------------- */
#define FKE_MAXDIM 5
typedef struct {
    fke_real *data; /* row-major, owned by whoever made it */
    int ndim;
    int shape[FKE_MAXDIM];
} fke_tensor;

size_t fke_numel(const fke_tensor *t);
/* Makes a tensor header over existing memory; ndim dims follow. */
fke_tensor fke_tensor_view(fke_real *data, int ndim, ...);
/* Writes "(2, 3, 4)" into buf. */
const char *fke_shape_str(const fke_tensor *t, char *buf, size_t len);

/* Checks t is non-null with ndim dims equal to dims[] (-1 = any).
 * op and name go into the message: "linear: x has shape (3, 4), expected (3, 5)". */
fke_status fke_expect(fke_err *e, const char *op, const char *name,
                      const fke_tensor *t, int ndim, const int *dims);
/* t non-null with exactly the shape of ref (ref already checked). */
fke_status fke_expect_like(fke_err *e, const char *op, const char *name, const fke_tensor *t,
                           const fke_tensor *ref);
/* The optional gradients dxs[0..n-1] of a list op: dxs itself must not be
 * NULL, each non-NULL dxs[i] has the shape of xs[i] ("gradient i"). */
fke_status fke_expect_grads_like(fke_err *e, const char *op, int n, fke_tensor *const *dxs,
                                 const fke_tensor *const *xs);
/* t non-null with 1..FKE_MAXDIM positive dimensions. */
fke_status fke_expect_any(fke_err *e, const char *op, const char *name, const fke_tensor *t);
#define FKE_EXPECT(e, op, name, t, ...)                                        \
    do {                                                                       \
        const int fke_d_[] = {__VA_ARGS__};                                    \
        fke_status fke_s_ = fke_expect(e, op, name, t,                         \
                                       (int)(sizeof fke_d_ / sizeof(int)),     \
                                       fke_d_);                                \
        if (fke_s_ != FKE_OK) return fke_s_;                                   \
    } while (0)
#define FKE_TRY(x)                                                             \
    do {                                                                       \
        fke_status fke_s_ = (x);                                               \
        if (fke_s_ != FKE_OK) return fke_s_;                                   \
    } while (0)

/* ---- arena: the activations of one step -------------------------------- */
typedef struct {
    char *base;
    size_t cap, used, peak;
} fke_arena;

fke_status fke_arena_init(fke_arena *a, size_t bytes, fke_err *e);
void fke_arena_free(fke_arena *a);
void fke_arena_reset(fke_arena *a);
/* Allocates a zeroed tensor of ndim dims (listed after ndim). Running out is
 * an FKE_ERR_NOMEM error, never an abort. */
fke_status fke_arena_tensor(fke_arena *a, fke_err *e, fke_tensor *out, int ndim, ...);
/* The same without zeroing, for a tensor its producer overwrites entirely
 * (zeroing megabytes that are written next costs memory bandwidth). */
fke_status fke_arena_tensor_raw(fke_arena *a, fke_err *e, fke_tensor *out, int ndim, ...);
/* Raw zeroed bytes, 64-byte aligned; NULL when full (e filled). */
void *fke_arena_alloc(fke_arena *a, fke_err *e, size_t bytes);
/* The same without zeroing, for buffers the caller overwrites entirely. */
void *fke_arena_alloc_raw(fke_arena *a, fke_err *e, size_t bytes);

/* ---- threads ---------------------------------------------------------- */
/* OpenMP owns the cores: sets its thread count (n <= 0: all cores) and keeps
 * OpenBLAS at one thread per call, so the two pools never oversubscribe.
 * Returns the thread count in use. */
int fke_set_threads(int n);
/* The threads the next parallel region takes (omp_get_max_threads). */
int fke_max_threads(void);

/* ---- random numbers (xoshiro256**, seeded by splitmix64) -------------- */
typedef struct {
    uint64_t s[4];
} fke_rng;

void fke_rng_seed(fke_rng *r, uint64_t seed);
uint64_t fke_rng_u64(fke_rng *r);
/* fke_rng_u64's step on a state array, inline for loops that draw a number
 * per element (dropout) on a local copy of the state, kept in registers. */
static inline uint64_t fke_rng_next(uint64_t s[4])
{
    uint64_t x = s[1] * 5, out = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return out;
}
/* fke_rng_uniform of a draw of fke_rng_next */
static inline double fke_rng_unit(uint64_t u) { return (double)(u >> 11) * 0x1.0p-53; }
double fke_rng_uniform(fke_rng *r);          /* [0, 1) */
double fke_rng_normal(fke_rng *r);           /* N(0, 1) */
uint32_t fke_rng_below(fke_rng *r, uint32_t n); /* [0, n) */

#endif
