/* dataset.h - the post format (docs/model.md "What goes in, what comes out") in memory and in HDF5,
 * and the plain image-classification set (Fashion-MNIST).
 *
 * A dataset file is read whole into an fke_dataset: fke_dataset_load checks
 * the format attribute, every field's presence, type and shape, and every
 * label against its range, and names the file, the field and the problem on
 * any failure. fke_dataset_save writes PATH.tmp.<pid>, fsyncs it and renames
 * it over PATH, so no half-written file ever carries the final name.
 * datasets/README.md describes the file field by field.
 *
 * Label convention: -1 means missing (that is the mask); padding garment
 * slots (index >= n_garments[i]) carry -1 labels, zero boxes and zero crops.
 *
 * Pixels are stored one of two ways (datasets/README.md, "Pixel storage"):
 * raw (images, crops as bytes; jpeg_quality = 0) or as JPEG streams
 * (jpeg_quality 1..100; images and crops NULL, jpeg and jpeg_off set): each
 * post's whole image and each valid garment crop, already at img x img and
 * crop x crop, encoded on its own. Whoever needs bytes of either kind calls
 * fke_dataset_pixels, which copies or decodes one of them (checking the
 * stream's CRC-32 when the file has them). A large JPEG store loads lazily
 * (fke_dataset_lazy_above): jpeg stays NULL and each stream is read from
 * the file when it is decoded. */
#ifndef FKE_DATASET_H
#define FKE_DATASET_H
#include "core/fke.h"

#define FKE_POSTS_FORMAT "fke-posts"
#define FKE_POSTS_VERSION 1
#define FKE_IMAGES_FORMAT "fke-images"
#define FKE_IMAGES_VERSION 1

/* A named integer array a format carries beyond the post fields, stored
 * under /extra/NAME: e.g. FashionKE's season and country per post (N),
 * DeepFashion2's source and pair id (N) and style (N, G), the category x
 * attribute applicability (n_cat, A). */
#define FKE_MAX_EXTRA 16
typedef struct {
    char name[32];
    int ndim, dims[3];
    int32_t *v; /* (dims[0], ..., dims[ndim-1]) */
    char **names; /* NULL or (n_names): what value k means (FashionKE's country and season) */
    int n_names;
} fke_extra;

typedef struct {
    int N, G, A, L;           /* posts, max garments, attributes, caption tokens */
    int img, crop, C;         /* image side, crop side, channels (3) */
    int n_occ, n_cat, n_val[FKE_MAX_ATTR], V; /* label counts, vocabulary size */
    uint8_t *images;          /* (N, C, img, img) */
    uint8_t *crops;           /* (N, G, C, crop, crop) zero for padding garments */
    int32_t *n_garments;      /* (N) 0..G, valid garments are slots 0..n-1 */
    int32_t *boxes;           /* (N, G, 4) x0,y0,x1,y1 in the whole image (x1,y1 exclusive) */
    int32_t *tokens;          /* (N, L) 0 = padding */
    int32_t *occ;             /* (N) occasion, -1 missing */
    int32_t *cat;             /* (N, G) training label: clean on clean posts, machine on machine posts; -1 missing */
    int32_t *attr;            /* (N, G, A) same convention */
    uint8_t *clean;           /* (N) 1 = labels checked by people, 0 = machine labels */
    int32_t *cat_true, *attr_true;       /* (N, G), (N, G, A) true labels where known, -1 unknown */
    int32_t *cat_machine, *attr_machine; /* (N, G), (N, G, A) machine labels where known, -1 unknown */
    int32_t *person;          /* (N, G, 2) gender (0/1), age band (0..3); -1 unknown */
    float *T_true;            /* NULL or true transition matrices: n_cat^2 then n_val[k]^2 per k */
    float *word_vectors;      /* NULL or (V, wv_dim) initial word embeddings (FashionKE's word_embeds.npy) */
    int wv_dim;               /* their width; 0 without */
    char **occ_names, **cat_names, **attr_names /* A */, ***val_names /* [A][n_val] */, **vocab /* V */;
    char path[512];
    /* additions */
    int32_t *src_index;       /* NULL or (N, G) index of the source image in src_file, -1 padding */
    char src_file[512];       /* "" or the image file the garments came from (synth) */
    char generator[1024];     /* "" or the generator's parameters, "key=value ..." */
    int n_extra;
    fke_extra extra[FKE_MAX_EXTRA];
    /* the JPEG store: stream k = i*(1+G) + s (s = 0 the whole image, 1+g
     * garment g) is jpeg[jpeg_off[k] .. jpeg_off[k+1]), empty on padding
     * slots; fke_dataset_jpeg_append builds it in that order */
    int jpeg_quality;         /* 0: raw pixels; 1..100: the quality the streams were encoded at */
    uint8_t *jpeg;            /* (jpeg_off[N*(1+G)]) the streams back to back */
    int64_t *jpeg_off;        /* (N*(1+G) + 1) */
    int64_t jpeg_cap;         /* bytes allocated in jpeg */
    long jpeg_next;           /* streams appended so far */
    uint32_t *jpeg_crc;       /* NULL or (N*(1+G)) CRC-32 of each stream, checked when decoded */
    int jpeg_lazy;            /* 1: jpeg is NULL; the streams stay in path, read with pread */
    int jpeg_fd;              /* the open file (jpeg_lazy only) */
    int64_t jpeg_base;        /* where /jpeg/bytes starts in it */
    /* multi-label attributes (DeepFashion's 1,000 binary ones; n_ml = 0
     * without): their names, and the names of their types; the labels are
     * the extra "ml_labels" (N, n_ml) 1 / 0 / -1 unknown, of the first
     * garment slot, and each one's type the extra "ml_type" (n_ml) */
    int n_ml, n_ml_types;
    char **ml_names;          /* (n_ml) /names/multilabel */
    char **ml_type_names;     /* (n_ml_types) /names/multilabel_type */
} fke_dataset;

fke_status fke_dataset_load(fke_dataset *d, const char *path, fke_err *e);
/* The same reader over a file's n bytes in memory (image; NULL: read path),
 * path naming it in messages (core/h5.h fke_h5r_open_image); never lazy. */
fke_status fke_dataset_load_image(fke_dataset *d, const char *path, const void *image, size_t n,
                                  fke_err *e);
/* JPEG stores of more than this many bytes (256 MiB unless set) load
 * lazily: the streams are not read into memory but read from the file when
 * a post is decoded (datasets/README.md, "Pixel storage"); the file must not
 * change while the dataset is loaded. 0: every JPEG store loads lazily (tests). */
void fke_dataset_lazy_above(int64_t bytes);
fke_status fke_dataset_save(const fke_dataset *d, const char *path, fke_err *e);
void fke_dataset_free(fke_dataset *d);
/* Allocates every per-post array for the sizes already set in d (N, G, A, L,
 * img, crop, C), zeroed, labels set to -1; names and T_true are left NULL.
 * With d->jpeg_quality > 0 set beforehand, images and crops stay NULL and an
 * empty JPEG store is made instead (fill it with fke_dataset_jpeg_append). */
fke_status fke_dataset_alloc(fke_dataset *d, fke_err *e);

/* The side of slot s of a post: img for s = 0 (the whole image), crop for
 * s = 1 + g (garment g). */
int fke_dataset_side(const fke_dataset *d, int slot);
/* The bytes (3, side, side) of post i, slot s (0 whole image, 1+g crop g),
 * into out, from either store: copied from raw pixels, or decoded from the
 * post's JPEG stream (zeros for a padding slot). A stream that does not
 * decode, or decodes to another size, is FKE_ERR_FORMAT naming the dataset's
 * path, the post and the slot. Safe to call from several threads at once. */
fke_status fke_dataset_pixels(const fke_dataset *d, long i, int slot, uint8_t *out, fke_err *e);
/* Appends the next stream of a JPEG store (posts in order, 1+G slots each:
 * n = 0 for a padding slot). */
fke_status fke_dataset_jpeg_append(fke_dataset *d, const uint8_t *bytes, size_t n, fke_err *e);
/* chw (3, side, side) as one JPEG stream at quality (1..100; 4:4:4 from 90,
 * image.h) into a malloc'ed *buf of *n bytes. */
fke_status fke_dataset_encode_pixels(const uint8_t *chw, int side, int quality, uint8_t **buf,
                                     size_t *n, fke_err *e);
/* The next post of a JPEG store from its bytes: img (3, img, img) and crops
 * (G, 3, crop, crop) of which the first ng are garments; encodes 1 + ng
 * streams at d->jpeg_quality and appends them with G - ng empty ones. */
fke_status fke_dataset_jpeg_append_post(fke_dataset *d, const uint8_t *img, const uint8_t *crops,
                                        int ng, fke_err *e);
/* Converts a raw dataset to the JPEG store at quality (images and crops
 * freed), or (quality 0) a JPEG store back to raw pixels (decoded). */
fke_status fke_dataset_set_store(fke_dataset *d, int quality, fke_err *e);
/* A copy of JPEG stream k (= post * (1 + G) + slot) of a JPEG store,
 * malloc'ed into *buf (*n bytes; empty slots give n = 0), read from the file
 * for a lazy store and checked against its CRC-32 when the file has them. */
fke_status fke_dataset_jpeg_stream(const fke_dataset *d, int64_t k, uint8_t **buf, size_t *n,
                                   fke_err *e);
/* Every post's pixels resized by image.h's rule (the whole image to S x S,
 * each crop to P x P, as drawn: no new cut) and stored raw (quality 0) or
 * as JPEG at quality; boxes scaled to S (start floored, end ceiled). For
 * posts made at one size and trained at another (fke data synth --img). */
fke_status fke_dataset_rescale(fke_dataset *d, int S, int P, int quality, fke_err *e);
/* Bytes that d's pixels take in memory (raw arrays or JPEG streams). */
int64_t fke_dataset_pixel_bytes(const fke_dataset *d);
/* The posts i with keep[i] != 0 (keep NULL: every post), in file order, as
 * a complete dataset o: every field of fke_dataset, including the names,
 * vocabulary, T_true, word vectors, the multi-label names, the extra arrays
 * (per-post ones cut, label-space ones such as "applicable" whole) and the
 * pixels of either store (a lazy JPEG store's streams are read and checked;
 * o's store is in memory, with the streams' CRC-32 where s has them). */
fke_status fke_dataset_subset(const fke_dataset *s, const uint8_t *keep, fke_dataset *o,
                              fke_err *e);
/* Adds (or replaces) the extra array name with a copy of data, ndim 1..3. */
fke_status fke_dataset_extra_set(fke_dataset *d, const char *name, int ndim, const int *dims,
                                 const int32_t *data, fke_err *e);
/* Names for the values of the extra array name (a copy; value k means
 * names[k]): stored under /extra_names/NAME. The array must exist. */
fke_status fke_dataset_extra_names(fke_dataset *d, const char *name, const char *const *names,
                                   int n, fke_err *e);
/* The name of value v of extra x, or NULL when x has no names or v is out of range. */
const char *fke_extra_value_name(const fke_extra *x, int32_t v);
/* The extra array name, or NULL when the dataset has none of that name. */
const fke_extra *fke_dataset_extra(const fke_dataset *d, const char *name);
/* Checks an in-memory dataset as the loader does (path used in messages). */
fke_status fke_dataset_validate(const fke_dataset *d, const char *path, fke_err *e);
/* Offset of task t's matrix in T_true (t = 0 category, 1 + k attribute k)
 * and its side. */
size_t fke_dataset_T_offset(const fke_dataset *d, int task);
int fke_dataset_T_side(const fke_dataset *d, int task);
/* Empirical transition matrix of task t from garments that carry both a true
 * and a machine label: out (n, n) row-normalised (rows with no garment stay
 * 0); counts (n) may be NULL. Returns the number of garments used. */
long fke_dataset_T_empirical(const fke_dataset *d, int task, float *out, long *counts);

/* ---- plain image classification (Fashion-MNIST) ---------------------- */
typedef struct {
    int N, C, H, W, n_cls;
    uint8_t *images;  /* (N, C, H, W) */
    int32_t *labels;  /* (N) 0..n_cls-1: the training labels (noisy ones in a corrupted set) */
    char **class_names; /* (n_cls) */
    char path[512];
    /* a set with known label noise (`fke data corrupt`, corrupt.h); all
     * three optional, NULL / "" on a clean set */
    int32_t *labels_true; /* NULL or (N) the labels before corruption */
    float *T_true;        /* NULL or (n_cls, n_cls) P(label j | true label i) */
    char noise[256];      /* "" or how the labels were corrupted, "kind=... rate=... seed=..." */
} fke_imageset;

fke_status fke_imageset_load(fke_imageset *s, const char *path, fke_err *e);
/* The same reader over a file's n bytes in memory (image; NULL: read path). */
fke_status fke_imageset_load_image(fke_imageset *s, const char *path, const void *image,
                                   size_t n, fke_err *e);
/* 1 when path is an HDF5 file whose format attribute says image set. */
int fke_file_is_imageset(const char *path);
fke_status fke_imageset_save(const fke_imageset *s, const char *path, fke_err *e);
/* The images i with keep[i] != 0 (keep NULL: every image), in file order,
 * with the class names, the true labels and T_true. */
fke_status fke_imageset_subset(const fke_imageset *s, const uint8_t *keep, fke_imageset *o,
                               fke_err *e);
void fke_imageset_free(fke_imageset *s);

#endif
