/* query.c - see query.h. */
#include "run/query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "run/eval.h"
#include "model/model_io.h"
#include "run/noise_estimate.h"

const char *const fke_query_strategy_names[FKE_QUERY_COUNT] = {"least", "margin", "entropy",
                                                                "random"};

fke_status fke_query_strategy_parse(const char *s, fke_query_strategy *out, fke_err *e)
{
    for (int i = 0; i < FKE_QUERY_COUNT; i++)
        if (s && !strcmp(s, fke_query_strategy_names[i])) {
            *out = (fke_query_strategy)i;
            return FKE_OK;
        }
    char list[128] = "";
    for (int i = 0; i < FKE_QUERY_COUNT; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, fke_query_strategy_names[i]);
    }
    return fke_fail(e, FKE_ERR_ARG, "query: unknown strategy '%s' (allowed: %s)", s ? s : "(none)",
                    list);
}

double fke_query_uncertainty(fke_query_strategy s, const float *p, int n)
{
    double p1 = -1, p2 = -1, h = 0;
    for (int j = 0; j < n; j++) {
        double v = p[j];
        if (v > p1) p2 = p1, p1 = v;
        else if (v > p2) p2 = v;
        if (v > 0) h -= v * log(v);
    }
    switch (s) {
    case FKE_QUERY_LEAST: return 1 - p1;
    case FKE_QUERY_MARGIN: return 1 - (p1 - (n > 1 ? p2 : 0));
    case FKE_QUERY_ENTROPY: return n > 1 ? h / log((double)n) : 0;
    case FKE_QUERY_RANDOM: /* not an uncertainty */
    case FKE_QUERY_COUNT: return 0;
    }
    return 0;
}

static int in_pool(const fke_dataset *d, long i) { return !d->clean[i] && d->n_garments[i] > 0; }

long fke_query_pool_size(const fke_dataset *d)
{
    long n = 0;
    for (long i = 0; i < d->N; i++) n += in_pool(d, i);
    return n;
}

static int cmp_item(const void *a, const void *b)
{
    const fke_query_item *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->post > y->post) - (x->post < y->post);
}

fke_status fke_query_rank(fke_model *m, const fke_dataset *d, fke_query_strategy s,
                          uint64_t seed, fke_query_item **items, long *n_items, fke_err *e)
{
    *items = NULL;
    *n_items = 0;
    if ((int)s < 0 || (int)s >= FKE_QUERY_COUNT) return fke_fail(e, FKE_ERR_ARG, "query: bad strategy %d", (int)s);
    if (s != FKE_QUERY_RANDOM && !m)
        return fke_fail(e, FKE_ERR_ARG, "query: strategy %s needs a model",
                        fke_query_strategy_names[s]);
    long n = fke_query_pool_size(d);
    fke_query_item *it = malloc((size_t)(n ? n : 1) * sizeof *it);
    uint8_t *posts = calloc((size_t)d->N + 1, 1);
    if (!it || !posts) {
        free(it), free(posts);
        return fke_fail(e, FKE_ERR_NOMEM, "query: out of memory");
    }
    long k = 0;
    for (long i = 0; i < d->N; i++)
        if (in_pool(d, i)) posts[i] = 1, it[k++] = (fke_query_item){(int32_t)i, 0};
    fke_status st = FKE_OK;
    if (s == FKE_QUERY_RANDOM) {
        fke_rng r;
        fke_rng_seed(&r, seed);
        for (long j = 0; j < n; j++) it[j].score = fke_rng_uniform(&r);
    } else if (n > 0) {
        fke_garment_probs gp;
        st = fke_garment_probs_compute(m, d, posts, NULL, &gp, e);
        for (long j = 0; st == FKE_OK && j < n; j++) {
            int post = it[j].post, ng = 0;
            double sum = 0;
            for (int g = 0; g < d->n_garments[post]; g++) {
                size_t sl = (size_t)post * d->G + g;
                if (!gp.have[sl]) continue;
                double task = 0;
                for (int t = 0; t < gp.ntask; t++)
                    task += fke_query_uncertainty(s, gp.p + sl * gp.W + gp.off[t], gp.n[t]);
                sum += task / gp.ntask;
                ng++;
            }
            it[j].score = ng ? sum / ng : 0;
        }
        if (st == FKE_OK) fke_garment_probs_free(&gp);
    }
    free(posts);
    if (st != FKE_OK) {
        free(it);
        return st;
    }
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    *items = it;
    *n_items = n;
    return FKE_OK;
}

static fke_status write_lines(const fke_query_item *it, long k, const char *out, fke_err *e)
{
    int to_stdout = !out || !strcmp(out, "-");
    fke_atomic a;
    FILE *f = stdout;
    if (!to_stdout) {
        FKE_TRY(fke_atomic_open(&a, out, e));
        f = a.f;
    }
    for (long r = 0; r < k; r++)
        fprintf(f, "{\"post\": %d, \"score\": %.9g, \"rank\": %ld}\n", it[r].post, it[r].score,
                r + 1);
    if (to_stdout) return fflush(f) == 0 ? FKE_OK : fke_fail(e, FKE_ERR_IO, "stdout: write failed");
    return fke_atomic_commit(&a, "query list", e);
}

fke_status fke_query_run(const fke_query_opts *o, long *written, fke_err *e)
{
    *written = 0;
    fke_query_strategy s;
    FKE_TRY(fke_query_strategy_parse(o->strategy, &s, e));
    if (o->budget <= 0)
        return fke_fail(e, FKE_ERR_ARG, "query: the budget must be at least 1 post, not %ld",
                        o->budget);
    if (!o->ckpt || !o->data) return fke_fail(e, FKE_ERR_ARG, "query: a checkpoint and a dataset are needed");
    if (access(o->ckpt, R_OK) != 0)
        return fke_fail(e, FKE_ERR_IO, "%s: cannot read the checkpoint (%s)", o->ckpt,
                        strerror(errno));
    fke_dataset d;
    FKE_TRY(fke_dataset_load(&d, o->data, e));
    fke_status st = FKE_OK;
    long pool = fke_query_pool_size(&d);
    if (o->budget > pool)
        st = fke_fail(e, FKE_ERR_ARG,
                      "%s: the budget of %ld posts is larger than the pool of %ld machine-labelled "
                      "posts (clean = 0, with garments)",
                      o->data, o->budget, pool);
    fke_model m;
    int loaded = 0;
    if (st == FKE_OK && (st = fke_model_load(&m, o->ckpt, 0, NULL, e)) == FKE_OK) {
        loaded = 1;
        fke_err why = {""};
        if ((st = fke_check_dataset(&m.cfg, &d, &why)) != FKE_OK)
            fke_fail(e, st, "%s does not fit the data: %s", o->ckpt, why.msg);
    }
    fke_query_item *it = NULL;
    long n = 0;
    if (st == FKE_OK) st = fke_query_rank(&m, &d, s, o->seed, &it, &n, e);
    if (loaded) fke_model_free(&m);
    fke_dataset_free(&d);
    if (st == FKE_OK) st = write_lines(it, o->budget, o->out, e);
    if (st == FKE_OK) *written = o->budget;
    free(it);
    return st;
}
