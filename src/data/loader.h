/* loader.h - batches for training and evaluation, prepared one ahead in a
 * background thread (pthread) while the caller trains on the current one.
 *
 * Posts (fke_loader over an fke_dataset):
 *   fke_loader ld;
 *   fke_loader_init(&ld, ds, 20, 1, 1, seed, &e);   shuffled, paired
 *   for (...) { fke_batch *b; fke_loader_next(&ld, &b, &e); ...train on b... }
 *   fke_loader_free(&ld);
 *
 * Shuffled mode: every batch has exactly B posts. Paired (docs/model.md "Loss and
 * training"): B/2 clean and B - B/2 machine-labelled posts, when the dataset
 * has both kinds (otherwise all from the kind there is). Each pool is walked
 * in a permutation drawn from the seed and redrawn each time it is used up,
 * so the sequence of batches depends on the seed only. An epoch is
 * ceil(N / B) batches (N posts seen); fke_loader_epoch tells which one the
 * last batch returned belongs to.
 * Sequential mode (shuffle = 0): posts 0..N-1 in order, every post once, the
 * last batch partial; after the last batch of a pass the next call returns
 * *out = NULL (end of pass) and the call after that starts a new pass.
 *
 * Pixels: x = (p / 255 - 0.5) / 0.25 (fixed mean 0.5, std 0.25 on every
 * channel). The batch returned stays valid until the next call.
 *
 * Labels are the dataset's training labels, with one exception: where the
 * dataset has the extra array "applicable" (n_cat, A; datasets/README.md),
 * an attribute label of a garment whose category label does not admit that
 * attribute is -1 in the batch (docs/model.md "Loss"), so the loss never
 * sees it and the model needs no dataset at step time. A garment without a
 * category label keeps its attribute labels.
 *
 * A dataset with a multi-label block (dataset.h) also fills the batch's ml
 * (B, n_ml), allocated by fke_loader_init (fke_batch_free frees it).
 *
 * A dataset in the JPEG store (dataset.h) is decoded in the prefetch thread,
 * post by post (fke_dataset_pixels), over OpenMP with the thread count the
 * caller had at fke_loader_init (a fresh pthread would get OpenMP's default,
 * not fke_set_threads'); the bytes, and so the batch, do not depend on it.
 * A stream that does not decode makes fke_loader_next fail with the message
 * naming the dataset, the post and the slot (the first such post of the
 * batch), and every later call fails the same way. */
#ifndef FKE_LOADER_H
#define FKE_LOADER_H
#include <pthread.h>

#include "data/dataset.h"

#define FKE_PIXEL_MEAN 0.5f
#define FKE_PIXEL_STD 0.25f

typedef struct {
    int B, G, A, L, img, crop;
    float *img_x;         /* (B, 3, img, img) */
    float *crop_x;        /* (B, G, 3, crop, crop) zero for padding garments */
    int32_t *n_garments;  /* (B) */
    int32_t *tokens;      /* (B, L) */
    int32_t *occ;         /* (B) */
    int32_t *cat;         /* (B, G) -1 for padding and missing */
    int32_t *attr;        /* (B, G, A) -1 also where the category does not admit it */
    uint8_t *clean;       /* (B) */
    int32_t *index;       /* (B) post ids in the dataset */
    /* additions */
    int32_t *boxes;       /* (B, G, 4) */
    int32_t *person;      /* (B, G, 2) */
    int n_ml;             /* multi-label attributes; 0 and ml NULL when the data has none */
    int32_t *ml;          /* (B, n_ml) 1 / 0 / -1 unknown: the dataset's extra "ml_labels" */
} fke_batch;

/* Allocates every field of b, zeroed, for B posts of G garments with A
 * attributes (A = 0 still gets one slot per garment), L caption tokens,
 * C-channel images of img x img pixels and crops of crop x crop. On failure
 * nothing stays allocated. fke_batch_free frees the fields and zeroes b. */
fke_status fke_batch_alloc(fke_batch *b, int B, int G, int A, int L, int C, int img, int crop,
                           fke_err *e);
void fke_batch_free(fke_batch *b);
/* The posts ids (n) of d as one batch, filled as the loader fills its
 * batches (pixels normalised, labels a category does not admit masked):
 * for looking at a few chosen posts (`fke data show --pred`). Freed by
 * fke_batch_free. */
fke_status fke_batch_of_posts(const fke_dataset *d, const int32_t *ids, int n, fke_batch *b,
                             fke_err *e);

/* a one-ahead prefetcher shared by both loaders */
typedef struct {
    pthread_t th;
    int running, slot;
    void *owner;
    void (*fill)(void *owner, int slot);
} fke_prefetch;

typedef struct {
    const fke_dataset *ds;
    int B, shuffle, paired;
    fke_rng rng[2];          /* pool 0: clean (or all), pool 1: machine */
    int32_t *pool[2];        /* post ids of each pool */
    int n_pool[2], pos[2];   /* pool sizes, position in the current permutation */
    long long batches;       /* batches planned so far */
    long long per_epoch;     /* ceil(N / B) */
    int seq_pos, seq_end;    /* sequential mode */
    long long epoch_of[2];   /* epoch of the batch in each slot */
    int count[2];            /* posts in each slot (0: end of pass) */
    int32_t *ids[2];         /* (B) post ids planned for each slot */
    fke_batch buf[2];
    int cur;                 /* slot the caller holds */
    int primed;
    long long epoch;         /* epoch of the last batch returned */
    long long seq_epoch;
    fke_prefetch pf;
    int threads;             /* OpenMP threads for decoding a JPEG store */
    uint8_t *scratch;        /* (threads, 3, side, side) decoded bytes, side = max(img, crop) */
    const int32_t *applicable; /* NULL or (n_cat, A) 0/1: attribute labels kept in batches */
    fke_status st[2];        /* how filling each slot went */
    fke_err err[2];
    int shard_rank, shard_n; /* fke_loader_shard (0, 0: the whole batch) */
} fke_loader;

/* The dataset's "applicable" array (n_cat, A), 1 where category c admits
 * attribute k, into *mask; *mask = NULL when d has none. A shape other than
 * (n_cat, A) or a value other than 0 and 1 is FKE_ERR_FORMAT naming the
 * file. fke_loader_init and fke_evaluate read it through this one check. */
fke_status fke_loader_applicable(const fke_dataset *d, const int32_t **mask, fke_err *e);
fke_status fke_loader_init(fke_loader *ld, const fke_dataset *ds, int B, int shuffle, int paired,
                           uint64_t seed, fke_err *e);
fke_status fke_loader_next(fke_loader *ld, fke_batch **out, fke_err *e);
/* Data-parallel training (run/train.c) and evaluation: from now on each
 * batch returned holds only this process's shard of the batch planned,
 * posts rank, rank + n, rank + 2n, ... (B of the batch is their count, which
 * may be 0 in a short last batch of sequential mode). The planned batch,
 * and so the union of the shards, is the same whatever n is; a paired batch
 * (B/2 clean first) gives every shard both kinds. Shuffled mode needs
 * B >= n. */
fke_status fke_loader_shard(fke_loader *ld, int rank, int n, fke_err *e);
/* Skips n batches without preparing them (to resume a run); shuffled mode. */
fke_status fke_loader_skip(fke_loader *ld, long long n, fke_err *e);
long long fke_loader_epoch(const fke_loader *ld);
long long fke_loader_batches_per_epoch(const fke_loader *ld);
void fke_loader_free(fke_loader *ld);

/* ---- plain classification batches (fke_imageset) ------------------------ */
typedef struct {
    int B, C, H, W;   /* H, W after padding */
    float *x;         /* (B, C, H, W) */
    int32_t *y;       /* (B) */
    int32_t *index;   /* (B) */
} fke_imagebatch;

typedef struct {
    const fke_imageset *s;
    int B, shuffle, pad;
    float mean, std;
    fke_rng rng;
    int32_t *perm;
    int pos;
    long long batches, epoch;
    int count[2];
    int32_t *ids[2];
    long long epoch_of[2];
    fke_imagebatch buf[2];
    int cur, primed;
    fke_prefetch pf;
} fke_imageloader;

/* Mean and standard deviation of all pixels / 255 (the training set's, as
 * tools/torch_fmnist.py normalises). */
void fke_imageset_stats(const fke_imageset *s, float *mean, float *std);
/* pad: zero pixels added on every side before normalising (2: 28 -> 32).
 * Shuffled mode: a fresh permutation per epoch, the last partial batch of
 * an epoch kept (as the PyTorch DataLoader does); sequential mode: in
 * order, *out = NULL at the end of each pass. */
fke_status fke_imageloader_init(fke_imageloader *ld, const fke_imageset *s, int B, int shuffle,
                                int pad, float mean, float std, uint64_t seed, fke_err *e);
fke_status fke_imageloader_next(fke_imageloader *ld, fke_imagebatch **out, fke_err *e);
long long fke_imageloader_epoch(const fke_imageloader *ld);
void fke_imageloader_free(fke_imageloader *ld);
#endif
