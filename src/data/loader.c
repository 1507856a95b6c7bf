/* loader.c - see loader.h. The main thread plans which posts go into the
 * next batch (all random draws happen here, in order, so batches depend on
 * the seed only); a worker thread converts them to floats into the other of
 * two buffers while the caller works on the current one. */
#include "data/loader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- one-ahead prefetch ------------------------------------------------- */
static void *pf_main(void *arg)
{
    fke_prefetch *pf = arg;
    pf->fill(pf->owner, pf->slot);
    return NULL;
}

static void pf_start(fke_prefetch *pf, int slot)
{
    pf->slot = slot;
    if (pthread_create(&pf->th, NULL, pf_main, pf) == 0)
        pf->running = 1;
    else
        pf->fill(pf->owner, slot); /* no thread: fill now */
}

static void pf_wait(fke_prefetch *pf)
{
    if (pf->running) pthread_join(pf->th, NULL);
    pf->running = 0;
}

static void shuffle_ids(fke_rng *r, int32_t *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)fke_rng_below(r, (uint32_t)i + 1);
        int32_t x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

static void make_lut(float *lut, float mean, float std)
{
    for (int i = 0; i < 256; i++) lut[i] = ((float)i / 255.f - mean) / std;
}

/* ---- posts ---------------------------------------------------------------- */
static int32_t take(fke_loader *ld, int p)
{
    if (ld->pos[p] == 0) shuffle_ids(&ld->rng[p], ld->pool[p], ld->n_pool[p]);
    int32_t id = ld->pool[p][ld->pos[p]];
    if (++ld->pos[p] == ld->n_pool[p]) ld->pos[p] = 0;
    return id;
}

static void plan(fke_loader *ld, int slot)
{
    int32_t *ids = ld->ids[slot];
    if (ld->shuffle) {
        int B = ld->B;
        if (ld->n_pool[1] > 0) {
            for (int i = 0; i < B / 2; i++) ids[i] = take(ld, 0);
            for (int i = B / 2; i < B; i++) ids[i] = take(ld, 1);
        } else {
            for (int i = 0; i < B; i++) ids[i] = take(ld, 0);
        }
        ld->count[slot] = B;
        ld->epoch_of[slot] = ld->batches / ld->per_epoch;
        ld->batches++;
    } else {
        int n = ld->ds->N - ld->seq_pos;
        if (n > ld->B) n = ld->B;
        for (int i = 0; i < n; i++) ids[i] = ld->seq_pos + i;
        ld->count[slot] = n;
        ld->epoch_of[slot] = ld->seq_epoch;
        ld->seq_pos += n;
        if (n == 0) { /* end of the pass */
            ld->seq_pos = 0;
            ld->seq_epoch++;
        }
    }
}

fke_status fke_loader_applicable(const fke_dataset *d, const int32_t **mask, fke_err *e)
{
    *mask = NULL;
    const fke_extra *x = fke_dataset_extra(d, "applicable");
    if (!x) return FKE_OK;
    const char *path = d->path[0] ? d->path : "dataset";
    if (x->ndim != 2 || x->dims[0] != d->n_cat || x->dims[1] != d->A) {
        char shape[64];
        size_t n = (size_t)snprintf(shape, sizeof shape, "(%d", x->dims[0]);
        for (int k = 1; k < x->ndim && n < sizeof shape; k++)
            n += (size_t)snprintf(shape + n, sizeof shape - n, ", %d", x->dims[k]);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: /extra/applicable has shape %s), not (n_cat, A) = "
                        "(%d, %d)", path, shape, d->n_cat, d->A);
    }
    for (int i = 0; i < d->n_cat * d->A; i++)
        if (x->v[i] != 0 && x->v[i] != 1)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: /extra/applicable[%d][%d] is %d, not 0 or 1",
                            path, i / d->A, i % d->A, (int)x->v[i]);
    *mask = x->v;
    return FKE_OK;
}

/* Post p into row i of b; scratch (3, side, side) holds decoded bytes of a
 * JPEG store; appl NULL or (n_cat, A), the attributes each category admits. */
static fke_status fill_post(const fke_dataset *d, const int32_t *appl, fke_batch *b, int i, int p,
                            const float *lut, uint8_t *scratch, fke_err *e)
{
    int G = d->G, A = d->A;
    size_t ni = (size_t)3 * d->img * d->img, nc = (size_t)3 * d->crop * d->crop;
    b->index[i] = p;
    const uint8_t *im = d->images + (size_t)p * ni;
    if (d->jpeg_quality) {
        FKE_TRY(fke_dataset_pixels(d, p, 0, scratch, e));
        im = scratch;
    }
    for (size_t k = 0; k < ni; k++) b->img_x[i * ni + k] = lut[im[k]];
    int ng = d->n_garments[p];
    for (int g = 0; g < G; g++) {
        float *o = b->crop_x + ((size_t)i * G + g) * nc;
        if (g >= ng) {
            memset(o, 0, nc * sizeof *o);
            continue;
        }
        const uint8_t *cr = d->crops + ((size_t)p * G + g) * nc;
        if (d->jpeg_quality) {
            FKE_TRY(fke_dataset_pixels(d, p, 1 + g, scratch, e));
            cr = scratch;
        }
        for (size_t k = 0; k < nc; k++) o[k] = lut[cr[k]];
    }
    b->n_garments[i] = ng;
    memcpy(b->tokens + (size_t)i * d->L, d->tokens + (size_t)p * d->L, d->L * sizeof(int32_t));
    b->occ[i] = d->occ[p];
    memcpy(b->cat + (size_t)i * G, d->cat + (size_t)p * G, G * sizeof(int32_t));
    memcpy(b->attr + (size_t)i * G * A, d->attr + (size_t)p * G * A, (size_t)G * A * sizeof(int32_t));
    for (int g = 0; appl && g < ng; g++) { /* a value where none applies: missing */
        int cat = b->cat[(size_t)i * G + g];
        if (cat < 0 || cat >= d->n_cat) continue;
        for (int k = 0; k < A; k++)
            if (!appl[(size_t)cat * A + k]) b->attr[((size_t)i * G + g) * A + k] = -1;
    }
    memcpy(b->boxes + (size_t)i * G * 4, d->boxes + (size_t)p * G * 4, (size_t)G * 4 * sizeof(int32_t));
    memcpy(b->person + (size_t)i * G * 2, d->person + (size_t)p * G * 2, (size_t)G * 2 * sizeof(int32_t));
    b->clean[i] = d->clean[p];
    const fke_extra *ml = b->ml ? fke_dataset_extra(d, "ml_labels") : NULL;
    if (ml) memcpy(b->ml + (size_t)i * b->n_ml, ml->v + (size_t)p * b->n_ml, b->n_ml * sizeof(int32_t));
    return FKE_OK;
}

static void fill(void *owner, int slot)
{
    fke_loader *ld = owner;
    const fke_dataset *d = ld->ds;
    fke_batch *b = &ld->buf[slot];
    /* a shard (fke_loader_shard): posts r, r + N, r + 2N, ... of the planned batch */
    int N = ld->shard_n > 1 ? ld->shard_n : 1, r = N > 1 ? ld->shard_rank : 0;
    int all = ld->count[slot], n = all > r ? (all - r + N - 1) / N : 0;
    const int32_t *ids = ld->ids[slot];
    float lut[256];
    make_lut(lut, FKE_PIXEL_MEAN, FKE_PIXEL_STD);
    b->B = n;
    ld->st[slot] = FKE_OK;
    if (!d->jpeg_quality) {
        for (int i = 0; i < n; i++)
            fill_post(d, ld->applicable, b, i, ids[r + (size_t)i * N], lut, NULL, NULL);
        return;
    }
    /* decoding: posts over threads; of several bad posts the first of the
     * batch is reported, whatever the thread count */
    int side = d->img > d->crop ? d->img : d->crop, bad = n;
    size_t ns = (size_t)3 * side * side;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ld->threads)
    for (int i = 0; i < n; i++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        fke_err ei = {{0}};
        fke_status st = fill_post(d, ld->applicable, b, i, ids[r + (size_t)i * N], lut,
                                  ld->scratch + t * ns, &ei);
        if (st != FKE_OK) {
#pragma omp critical(fke_loader_err)
            if (i < bad) {
                bad = i;
                ld->st[slot] = st;
                ld->err[slot] = ei;
            }
        }
    }
}

void fke_batch_free(fke_batch *b)
{
    free(b->img_x); free(b->crop_x); free(b->n_garments); free(b->tokens); free(b->occ);
    free(b->cat); free(b->attr); free(b->clean); free(b->index); free(b->boxes); free(b->person);
    free(b->ml);
    memset(b, 0, sizeof *b);
}

fke_status fke_batch_alloc(fke_batch *b, int B, int G, int A, int L, int C, int img, int crop,
                           fke_err *e)
{
    memset(b, 0, sizeof *b);
    size_t nB = (size_t)B, nG = (size_t)G, nA = (size_t)(A ? A : 1);
    b->B = B, b->G = G, b->A = A, b->L = L, b->img = img, b->crop = crop;
    b->img_x = calloc(nB * C * img * img, sizeof(float));
    b->crop_x = calloc(nB * nG * C * crop * crop, sizeof(float));
    b->n_garments = calloc(nB, sizeof(int32_t));
    b->tokens = calloc(nB * (L > 0 ? L : 1), sizeof(int32_t));
    b->occ = calloc(nB, sizeof(int32_t));
    b->cat = calloc(nB * nG, sizeof(int32_t));
    b->attr = calloc(nB * nG * nA, sizeof(int32_t));
    b->clean = calloc(nB, 1);
    b->index = calloc(nB, sizeof(int32_t));
    b->boxes = calloc(nB * nG * 4, sizeof(int32_t));
    b->person = calloc(nB * nG * 2, sizeof(int32_t));
    if (b->img_x && b->crop_x && b->n_garments && b->tokens && b->occ && b->cat && b->attr &&
        b->clean && b->index && b->boxes && b->person)
        return FKE_OK;
    fke_batch_free(b);
    return fke_fail(e, FKE_ERR_NOMEM, "batch of %d posts x %d garments: out of memory", B, G);
}

fke_status fke_batch_of_posts(const fke_dataset *d, const int32_t *ids, int n, fke_batch *b,
                             fke_err *e)
{
    memset(b, 0, sizeof *b);
    if (!d || n < 1) return fke_fail(e, FKE_ERR_ARG, "batch: no posts asked for");
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= d->N)
            return fke_fail(e, FKE_ERR_ARG, "%s: post %d is out of range 0..%d", d->path,
                            (int)ids[i], d->N - 1);
    const int32_t *appl;
    FKE_TRY(fke_loader_applicable(d, &appl, e));
    FKE_TRY(fke_batch_alloc(b, n, d->G, d->A, d->L, d->C, d->img, d->crop, e));
    size_t side = (size_t)(d->img > d->crop ? d->img : d->crop);
    uint8_t *scratch = d->jpeg_quality ? malloc(3 * side * side) : NULL;
    fke_status st = d->jpeg_quality && !scratch ? fke_fail(e, FKE_ERR_NOMEM, "batch: no memory")
                                                : FKE_OK;
    float lut[256];
    make_lut(lut, FKE_PIXEL_MEAN, FKE_PIXEL_STD);
    for (int i = 0; st == FKE_OK && i < n; i++) st = fill_post(d, appl, b, i, ids[i], lut, scratch, e);
    free(scratch);
    if (st != FKE_OK) fke_batch_free(b);
    return st;
}

fke_status fke_loader_init(fke_loader *ld, const fke_dataset *ds, int B, int shuffle, int paired,
                           uint64_t seed, fke_err *e)
{
    memset(ld, 0, sizeof *ld);
    if (!ds || ds->N < 1)
        return fke_fail(e, FKE_ERR_ARG, "%s: the dataset has no posts",
                        ds && ds->path[0] ? ds->path : "loader");
    if (B < 1 || (shuffle && paired && B < 2))
        return fke_fail(e, FKE_ERR_ARG, "loader: batch size %d is too small%s", B,
                        paired ? " (paired batches need at least 2)" : "");
    FKE_TRY(fke_loader_applicable(ds, &ld->applicable, e));
    ld->ds = ds;
    ld->B = B;
    ld->shuffle = shuffle;
    ld->per_epoch = (ds->N + B - 1) / B;
    fke_rng_seed(&ld->rng[0], seed * 2 + 1);
    fke_rng_seed(&ld->rng[1], seed * 2 + 2);
    int nc = 0;
    for (int i = 0; i < ds->N; i++) nc += ds->clean[i] != 0;
    ld->paired = shuffle && paired && nc > 0 && nc < ds->N;
    ld->threads = 1;
#ifdef _OPENMP
    ld->threads = omp_get_max_threads();
#endif
    if (ds->jpeg_quality) {
        size_t side = (size_t)(ds->img > ds->crop ? ds->img : ds->crop);
        ld->scratch = malloc((size_t)ld->threads * 3 * side * side);
        if (!ld->scratch) {
            fke_loader_free(ld);
            return fke_fail(e, FKE_ERR_NOMEM, "loader: no memory to decode %d threads' posts",
                            ld->threads);
        }
    }
    for (int p = 0; p < 2; p++) {
        ld->pool[p] = malloc((size_t)ds->N * sizeof(int32_t));
        ld->ids[p] = malloc((size_t)B * sizeof(int32_t));
        if (!ld->pool[p] || !ld->ids[p] ||
            fke_batch_alloc(&ld->buf[p], B, ds->G, ds->A, ds->L, ds->C, ds->img, ds->crop, e)) {
            fke_loader_free(ld);
            return fke_fail(e, FKE_ERR_NOMEM, "loader: no memory for batches of %d posts", B);
        }
        if (ds->n_ml > 0) {
            ld->buf[p].n_ml = ds->n_ml;
            if (!(ld->buf[p].ml = calloc((size_t)B * ds->n_ml, sizeof(int32_t)))) {
                fke_loader_free(ld);
                return fke_fail(e, FKE_ERR_NOMEM, "loader: no memory for batches of %d posts", B);
            }
        }
    }
    for (int i = 0; i < ds->N; i++) {
        int p = ld->paired ? (ds->clean[i] ? 0 : 1) : 0;
        ld->pool[p][ld->n_pool[p]++] = i;
    }
    ld->pf.owner = ld;
    ld->pf.fill = fill;
    plan(ld, 0);
    pf_start(&ld->pf, 0);
    ld->cur = 0; /* slot being prepared for the next call */
    return FKE_OK;
}

fke_status fke_loader_next(fke_loader *ld, fke_batch **out, fke_err *e)
{
    if (!ld || !ld->ds) return fke_fail(e, FKE_ERR_ARG, "loader: not initialised");
    pf_wait(&ld->pf);
    int r = ld->cur;
    if (ld->st[r]) { /* a post did not decode: this and every later call fail */
        if (e) *e = ld->err[r];
        return ld->st[r];
    }
    plan(ld, 1 - r);
    pf_start(&ld->pf, 1 - r);
    ld->cur = 1 - r;
    ld->epoch = ld->epoch_of[r];
    *out = ld->count[r] ? &ld->buf[r] : NULL;
    return FKE_OK;
}

fke_status fke_loader_skip(fke_loader *ld, long long n, fke_err *e)
{
    if (!ld->shuffle) return fke_fail(e, FKE_ERR_ARG, "loader: skip needs shuffled mode");
    if (n <= 0) return FKE_OK;
    pf_wait(&ld->pf);
    for (long long i = 0; i < n; i++) plan(ld, ld->cur); /* the planned batch is dropped too */
    pf_start(&ld->pf, ld->cur);
    return FKE_OK;
}

fke_status fke_loader_shard(fke_loader *ld, int rank, int n, fke_err *e)
{
    if (n < 1 || rank < 0 || rank >= n)
        return fke_fail(e, FKE_ERR_ARG, "loader: shard %d of %d", rank, n);
    if (ld->shuffle && n > ld->B)
        return fke_fail(e, FKE_ERR_CONFIG, "loader: a batch of %d posts cannot be split over %d "
                        "processes (batch must be at least the number of processes)", ld->B, n);
    pf_wait(&ld->pf);
    ld->shard_rank = rank;
    ld->shard_n = n;
    pf_start(&ld->pf, ld->cur); /* the batch in preparation again, as this rank's shard */
    return FKE_OK;
}

long long fke_loader_epoch(const fke_loader *ld) { return ld->epoch; }
long long fke_loader_batches_per_epoch(const fke_loader *ld) { return ld->per_epoch; }

void fke_loader_free(fke_loader *ld)
{
    if (!ld) return;
    pf_wait(&ld->pf);
    for (int p = 0; p < 2; p++) {
        free(ld->pool[p]);
        free(ld->ids[p]);
        fke_batch_free(&ld->buf[p]);
    }
    free(ld->scratch);
    memset(ld, 0, sizeof *ld);
}

/* ---- plain classification --------------------------------------------------- */
void fke_imageset_stats(const fke_imageset *s, float *mean, float *std)
{
    size_t n = (size_t)s->N * s->C * s->H * s->W;
    long long hist[256] = {0};
    for (size_t i = 0; i < n; i++) hist[s->images[i]]++;
    double m = 0, v = 0;
    for (int i = 0; i < 256; i++) m += hist[i] * (i / 255.0);
    m /= n ? (double)n : 1;
    for (int i = 0; i < 256; i++) v += hist[i] * (i / 255.0 - m) * (i / 255.0 - m);
    v /= n ? (double)n : 1;
    *mean = (float)m;
    *std = (float)sqrt(v);
}

static void iplan(fke_imageloader *ld, int slot)
{
    int N = ld->s->N;
    if (!ld->shuffle && ld->pos == N) { /* end of the pass */
        ld->count[slot] = 0;
        ld->epoch_of[slot] = ld->epoch;
        ld->pos = 0;
        ld->epoch++;
        return;
    }
    if (ld->shuffle && ld->pos == 0) shuffle_ids(&ld->rng, ld->perm, N);
    int n = N - ld->pos < ld->B ? N - ld->pos : ld->B;
    for (int i = 0; i < n; i++) ld->ids[slot][i] = ld->perm[ld->pos + i];
    ld->count[slot] = n;
    ld->epoch_of[slot] = ld->epoch;
    ld->pos += n;
    ld->batches++;
    if (ld->shuffle && ld->pos == N) {
        ld->pos = 0;
        ld->epoch++;
    }
}

static void ifill(void *owner, int slot)
{
    fke_imageloader *ld = owner;
    const fke_imageset *s = ld->s;
    fke_imagebatch *b = &ld->buf[slot];
    float lut[256];
    make_lut(lut, ld->mean, ld->std);
    float zero = lut[0];
    int H = b->H, W = b->W, pad = ld->pad;
    b->B = ld->count[slot];
    for (int i = 0; i < b->B; i++) {
        int p = ld->ids[slot][i];
        b->index[i] = p;
        b->y[i] = s->labels[p];
        for (int c = 0; c < s->C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int sy = y - pad, sx = x - pad;
                    float v = zero;
                    if (sy >= 0 && sx >= 0 && sy < s->H && sx < s->W)
                        v = lut[s->images[(((size_t)p * s->C + c) * s->H + sy) * s->W + sx]];
                    b->x[(((size_t)i * s->C + c) * H + y) * W + x] = v;
                }
    }
}

fke_status fke_imageloader_init(fke_imageloader *ld, const fke_imageset *s, int B, int shuffle,
                                int pad, float mean, float std, uint64_t seed, fke_err *e)
{
    memset(ld, 0, sizeof *ld);
    if (!s || s->N < 1) return fke_fail(e, FKE_ERR_ARG, "image loader: the set has no images");
    if (B < 1 || pad < 0 || !(std > 0))
        return fke_fail(e, FKE_ERR_ARG, "image loader: batch %d, pad %d, std %g: impossible", B,
                        pad, std);
    ld->s = s, ld->B = B, ld->shuffle = shuffle, ld->pad = pad, ld->mean = mean, ld->std = std;
    fke_rng_seed(&ld->rng, seed);
    ld->perm = malloc((size_t)s->N * sizeof(int32_t));
    int H = s->H + 2 * pad, W = s->W + 2 * pad;
    for (int k = 0; k < 2; k++) {
        fke_imagebatch *b = &ld->buf[k];
        b->B = B, b->C = s->C, b->H = H, b->W = W;
        b->x = malloc((size_t)B * s->C * H * W * sizeof(float));
        b->y = malloc((size_t)B * 4);
        b->index = malloc((size_t)B * 4);
        ld->ids[k] = malloc((size_t)B * 4);
        if (!b->x || !b->y || !b->index || !ld->ids[k] || !ld->perm) {
            fke_imageloader_free(ld);
            return fke_fail(e, FKE_ERR_NOMEM, "image loader: no memory for batches of %d", B);
        }
    }
    for (int i = 0; i < s->N; i++) ld->perm[i] = i;
    ld->pf.owner = ld;
    ld->pf.fill = ifill;
    iplan(ld, 0);
    pf_start(&ld->pf, 0);
    ld->cur = 0;
    return FKE_OK;
}

fke_status fke_imageloader_next(fke_imageloader *ld, fke_imagebatch **out, fke_err *e)
{
    if (!ld || !ld->s) return fke_fail(e, FKE_ERR_ARG, "image loader: not initialised");
    pf_wait(&ld->pf);
    int r = ld->cur;
    iplan(ld, 1 - r);
    pf_start(&ld->pf, 1 - r);
    ld->cur = 1 - r;
    ld->primed = (int)ld->epoch_of[r]; /* epoch of the batch returned */
    *out = ld->count[r] ? &ld->buf[r] : NULL;
    return FKE_OK;
}

long long fke_imageloader_epoch(const fke_imageloader *ld) { return ld->primed; }

void fke_imageloader_free(fke_imageloader *ld)
{
    if (!ld) return;
    pf_wait(&ld->pf);
    free(ld->perm);
    for (int k = 0; k < 2; k++) {
        free(ld->buf[k].x);
        free(ld->buf[k].y);
        free(ld->buf[k].index);
        free(ld->ids[k]);
    }
    memset(ld, 0, sizeof *ld);
}
