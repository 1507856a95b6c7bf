/* query.h - which machine-labelled posts people should check next (`fke
 * query`, uncertainty sampling for annotation).
 *
 * The pool is every post with clean == 0 and at least one garment (a post
 * with no garment has no garment label to check). Per valid garment and per
 * noisy task (category, then every attribute), from the model's softmax p:
 *
 *   least    1 - max_j p_j                        (least confidence)
 *   margin   1 - (p_(1) - p_(2))                  (two most likely classes)
 *   entropy  -sum_j p_j log p_j / log n           (normalised to [0, 1], so
 *                                                  tasks with more classes do
 *                                                  not dominate the mean)
 *
 * all in [0, 1], larger = less certain. A post's score is the mean over its
 * valid garments of the mean over the tasks. `random` scores every pool
 * post with a uniform draw from the seeded generator (pool order), which
 * ranks the pool in a seeded random permutation; the model is not run.
 * Ranking: descending score, ties by ascending post id.
 *
 *   fke_query_opts o = {.ckpt = "run/last.h5", .data = "train.h5",
 *                       .strategy = "entropy", .budget = 100, .out = "q.jsonl"};
 *   long n; if (fke_query_run(&o, &n, &e)) ... e.msg names the file or value
 *
 * Output: one JSON line per chosen post, best first,
 *   {"post": 17, "score": 0.734, "rank": 1}
 * (rank from 1), to OUT.tmp renamed over OUT, or to stdout. */
#ifndef FKE_QUERY_H
#define FKE_QUERY_H
#include "data/dataset.h"
#include "model/model.h"

typedef enum {
    FKE_QUERY_LEAST,
    FKE_QUERY_MARGIN,
    FKE_QUERY_ENTROPY,
    FKE_QUERY_RANDOM,
    FKE_QUERY_COUNT
} fke_query_strategy;

extern const char *const fke_query_strategy_names[FKE_QUERY_COUNT];

/* Parses a strategy name; an unknown one is an error listing the allowed. */
fke_status fke_query_strategy_parse(const char *s, fke_query_strategy *out, fke_err *e);
/* Uncertainty of one distribution p (n classes) under an uncertainty
 * strategy (not random). */
double fke_query_uncertainty(fke_query_strategy s, const float *p, int n);
/* Posts in the pool (clean == 0 with at least one garment). */
long fke_query_pool_size(const fke_dataset *d);

typedef struct {
    int32_t post;
    double score;
} fke_query_item;

/* Scores and ranks the whole pool: *items (malloc'ed, *n_items = pool size)
 * sorted best first. m may be NULL for random; otherwise it must fit d. */
fke_status fke_query_rank(fke_model *m, const fke_dataset *d, fke_query_strategy s,
                          uint64_t seed, fke_query_item **items, long *n_items, fke_err *e);

typedef struct {
    const char *ckpt, *data;
    const char *out;      /* NULL or "-": stdout */
    const char *strategy; /* least | margin | entropy | random */
    long budget;          /* K: posts to choose, 1..pool size */
    uint64_t seed;        /* random */
} fke_query_opts;

/* Loads, checks, ranks and writes the top budget posts; *written = lines. */
fke_status fke_query_run(const fke_query_opts *o, long *written, fke_err *e);
#endif
