/* dataset.c - see dataset.h; the file layout is in datasets/README.md. */
#include "data/dataset.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/h5.h"
#include "data/image.h"

/* ---- the post dataset --------------------------------------------------- */
size_t fke_dataset_T_offset(const fke_dataset *d, int task)
{
    size_t off = 0;
    for (int t = 0; t < task; t++) {
        size_t n = (size_t)fke_dataset_T_side(d, t);
        off += n * n;
    }
    return off;
}

int fke_dataset_T_side(const fke_dataset *d, int task)
{
    return task == 0 ? d->n_cat : d->n_val[task - 1];
}

long fke_dataset_T_empirical(const fke_dataset *d, int task, float *out, long *counts)
{
    int n = fke_dataset_T_side(d, task);
    long *cnt = calloc((size_t)n * n, sizeof *cnt);
    if (!cnt) return -1;
    long used = 0;
    for (long i = 0; i < d->N; i++)
        for (int g = 0; g < d->n_garments[i]; g++) {
            int t, m;
            if (task == 0) {
                t = d->cat_true[i * d->G + g];
                m = d->cat_machine[i * d->G + g];
            } else {
                size_t o = ((size_t)i * d->G + g) * d->A + task - 1;
                t = d->attr_true[o];
                m = d->attr_machine[o];
            }
            if (t < 0 || m < 0) continue;
            cnt[t * n + m]++;
            used++;
        }
    for (int a = 0; a < n; a++) {
        long row = 0;
        for (int b = 0; b < n; b++) row += cnt[a * n + b];
        if (counts) counts[a] = row;
        for (int b = 0; b < n; b++) out[a * n + b] = row ? (float)cnt[a * n + b] / row : 0.f;
    }
    free(cnt);
    return used;
}

static size_t T_total(const fke_dataset *d)
{
    return fke_dataset_T_offset(d, d->A + 1);
}

fke_status fke_dataset_alloc(fke_dataset *d, fke_err *e)
{
    size_t N = (size_t)d->N, G = (size_t)d->G, A = (size_t)d->A;
    if (d->N < 0 || d->G < 1 || d->A < 0 || d->A > FKE_MAX_ATTR || d->L < 1 || d->img < 1 ||
        d->crop < 1 || d->C < 1)
        return fke_fail(e, FKE_ERR_ARG, "dataset: impossible sizes N=%d G=%d A=%d L=%d", d->N,
                        d->G, d->A, d->L);
    if (d->jpeg_quality < 0 || d->jpeg_quality > 100)
        return fke_fail(e, FKE_ERR_ARG, "dataset: JPEG quality %d is not 0 (raw) or 1..100",
                        d->jpeg_quality);
    size_t n1 = N ? N : 1;
    if (d->jpeg_quality) {
        d->jpeg_off = calloc(N * (G + 1) + 1, sizeof *d->jpeg_off);
        d->jpeg = NULL, d->jpeg_cap = 0, d->jpeg_next = 0;
        if (!d->jpeg_off)
            return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for %d posts", d->N);
    } else {
        d->images = calloc(n1 * d->C * d->img * d->img, 1);
        d->crops = calloc(n1 * G * d->C * d->crop * d->crop, 1);
        if (!d->images || !d->crops)
            return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for %d posts", d->N);
    }
    d->n_garments = calloc(n1, 4);
    d->boxes = calloc(n1 * G * 4, 4);
    d->tokens = calloc(n1 * d->L, 4);
    d->occ = malloc(n1 * 4);
    d->cat = malloc(n1 * G * 4);
    d->attr = malloc(n1 * G * (A ? A : 1) * 4);
    d->clean = calloc(n1, 1);
    d->cat_true = malloc(n1 * G * 4);
    d->attr_true = malloc(n1 * G * (A ? A : 1) * 4);
    d->cat_machine = malloc(n1 * G * 4);
    d->attr_machine = malloc(n1 * G * (A ? A : 1) * 4);
    d->person = malloc(n1 * G * 2 * 4);
    if (!d->n_garments || !d->boxes || !d->tokens || !d->occ ||
        !d->cat || !d->attr || !d->clean || !d->cat_true || !d->attr_true || !d->cat_machine ||
        !d->attr_machine || !d->person)
        return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for %d posts", d->N);
    memset(d->occ, 0xff, n1 * 4);
    memset(d->cat, 0xff, n1 * G * 4);
    memset(d->attr, 0xff, n1 * G * (A ? A : 1) * 4);
    memset(d->cat_true, 0xff, n1 * G * 4);
    memset(d->attr_true, 0xff, n1 * G * (A ? A : 1) * 4);
    memset(d->cat_machine, 0xff, n1 * G * 4);
    memset(d->attr_machine, 0xff, n1 * G * (A ? A : 1) * 4);
    memset(d->person, 0xff, n1 * G * 2 * 4);
    return FKE_OK;
}

void fke_dataset_free(fke_dataset *d)
{
    if (!d) return;
    free(d->images); free(d->crops); free(d->n_garments); free(d->boxes); free(d->tokens);
    free(d->occ); free(d->cat); free(d->attr); free(d->clean); free(d->cat_true);
    free(d->attr_true); free(d->cat_machine); free(d->attr_machine); free(d->person);
    free(d->T_true); free(d->word_vectors); free(d->src_index); free(d->jpeg); free(d->jpeg_off);
    free(d->jpeg_crc);
    if (d->jpeg_lazy) close(d->jpeg_fd);
    for (int i = 0; i < d->n_extra; i++) {
        free(d->extra[i].v);
        fke_strings_free(d->extra[i].names, d->extra[i].n_names);
    }
    fke_strings_free(d->occ_names, d->occ_names ? d->n_occ : 0);
    fke_strings_free(d->cat_names, d->cat_names ? d->n_cat : 0);
    if (d->val_names)
        for (int k = 0; k < d->A; k++) fke_strings_free(d->val_names[k], d->n_val[k]);
    free(d->val_names);
    fke_strings_free(d->attr_names, d->attr_names ? d->A : 0);
    fke_strings_free(d->vocab, d->vocab ? d->V : 0);
    fke_strings_free(d->ml_names, d->ml_names ? d->n_ml : 0);
    fke_strings_free(d->ml_type_names, d->ml_type_names ? d->n_ml_types : 0);
    memset(d, 0, sizeof *d);
}

/* ---- pixels: raw or JPEG ---------------------------------------------------- */
static int64_t n_streams(const fke_dataset *d) { return (int64_t)d->N * (d->G + 1); }

int fke_dataset_side(const fke_dataset *d, int slot) { return slot == 0 ? d->img : d->crop; }

int64_t fke_dataset_pixel_bytes(const fke_dataset *d)
{
    if (d->jpeg_quality) return d->jpeg_off ? d->jpeg_off[d->jpeg_next] : 0;
    return (int64_t)d->N * d->C * ((int64_t)d->img * d->img + (int64_t)d->G * d->crop * d->crop);
}

static int64_t lazy_above = (int64_t)256 << 20;
void fke_dataset_lazy_above(int64_t bytes) { lazy_above = bytes < 0 ? 0 : bytes; }

/* Stream k's bytes: in memory, or (lazy store) read from the file into
 * *owned (freed by the caller); checked against its CRC-32 when the file
 * has them, so a damaged stream is named, never decoded into a picture
 * that only looks right. */
static fke_status stream_bytes(const fke_dataset *d, int64_t k, const char *name,
                               const uint8_t **bytes, uint8_t **owned, fke_err *e)
{
    int64_t at = d->jpeg_off[k], n = d->jpeg_off[k + 1] - at;
    *owned = NULL;
    if (!d->jpeg_lazy) {
        *bytes = d->jpeg + at;
    } else {
        uint8_t *b = malloc((size_t)(n ? n : 1));
        if (!b) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for %lld bytes", name, (long long)n);
        int64_t got = 0;
        while (got < n) {
            ssize_t r = pread(d->jpeg_fd, b + got, (size_t)(n - got), (off_t)(d->jpeg_base + at + got));
            if (r <= 0) break;
            got += r;
        }
        if (got != n) {
            free(b);
            return fke_fail(e, FKE_ERR_IO, "%s: cannot read its %lld bytes from the file (was it "
                            "changed or cut while loaded?)", name, (long long)n);
        }
        *bytes = *owned = b;
    }
    if (d->jpeg_crc && (uint32_t)crc32(0L, *bytes, (uInt)n) != d->jpeg_crc[k]) {
        free(*owned);
        *owned = NULL;
        return fke_fail(e, FKE_ERR_FORMAT, "%s: the JPEG stream fails its CRC-32 (/jpeg/crc): "
                        "the file is damaged", name);
    }
    return FKE_OK;
}

fke_status fke_dataset_jpeg_stream(const fke_dataset *d, int64_t k, uint8_t **buf, size_t *n,
                                   fke_err *e)
{
    *buf = NULL, *n = 0;
    const char *path = d->path[0] ? d->path : "dataset";
    if (!d->jpeg_quality || !d->jpeg_off || k < 0 || k >= n_streams(d))
        return fke_fail(e, FKE_ERR_ARG, "%s: no JPEG stream %lld", path, (long long)k);
    char name[700];
    snprintf(name, sizeof name, "%s: post %lld slot %lld", path, (long long)(k / (d->G + 1)),
             (long long)(k % (d->G + 1)));
    const uint8_t *b;
    uint8_t *owned;
    FKE_TRY(stream_bytes(d, k, name, &b, &owned, e));
    size_t len = (size_t)(d->jpeg_off[k + 1] - d->jpeg_off[k]);
    if (!owned && !(owned = malloc(len ? len : 1)))
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", name);
    if (owned != b && len) memcpy(owned, b, len);
    *buf = owned, *n = len;
    return FKE_OK;
}

fke_status fke_dataset_pixels(const fke_dataset *d, long i, int slot, uint8_t *out, fke_err *e)
{
    const char *path = d->path[0] ? d->path : "dataset";
    if (i < 0 || i >= d->N || slot < 0 || slot > d->G)
        return fke_fail(e, FKE_ERR_ARG, "%s: no post %ld slot %d (%d posts, %d garment slots)",
                        path, i, slot, d->N, d->G);
    int S = fke_dataset_side(d, slot);
    size_t n = (size_t)3 * S * S;
    if (!d->jpeg_quality) {
        const uint8_t *src = slot == 0 ? d->images + (size_t)i * n
                                       : d->crops + ((size_t)i * d->G + slot - 1) * n;
        memcpy(out, src, n);
        return FKE_OK;
    }
    if (slot > d->n_garments[i]) {
        memset(out, 0, n);
        return FKE_OK;
    }
    int64_t k = (int64_t)i * (d->G + 1) + slot;
    char name[700];
    if (slot) snprintf(name, sizeof name, "%s: post %ld garment %d (crop)", path, i, slot - 1);
    else snprintf(name, sizeof name, "%s: post %ld (whole image)", path, i);
    const uint8_t *bytes;
    uint8_t *owned = NULL;
    FKE_TRY(stream_bytes(d, k, name, &bytes, &owned, e));
    fke_image im;
    fke_status st = fke_image_decode_jpeg(bytes, (size_t)(d->jpeg_off[k + 1] - d->jpeg_off[k]),
                                          name, &im, e);
    free(owned);
    FKE_TRY(st);
    if (im.w != S || im.h != S) {
        fke_image_free(&im);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: JPEG is %dx%d pixels, expected %dx%d", name, im.w,
                        im.h, S, S);
    }
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < (size_t)S * S; p++) out[c * (size_t)S * S + p] = im.rgb[3 * p + c];
    fke_image_free(&im);
    return FKE_OK;
}

fke_status fke_dataset_jpeg_append(fke_dataset *d, const uint8_t *bytes, size_t n, fke_err *e)
{
    if (!d->jpeg_quality || !d->jpeg_off || d->jpeg_next >= n_streams(d) || d->jpeg_lazy)
        return fke_fail(e, FKE_ERR_ARG, "dataset: JPEG stream %ld appended to a store of %lld",
                        d->jpeg_next, (long long)(d->jpeg_off ? n_streams(d) : 0));
    if (n > INT32_MAX)
        return fke_fail(e, FKE_ERR_ARG, "dataset: a JPEG stream of %zu bytes is too large", n);
    int64_t at = d->jpeg_off[d->jpeg_next];
    if (at + (int64_t)n > d->jpeg_cap) {
        int64_t cap = d->jpeg_cap + d->jpeg_cap / 2 + ((int64_t)1 << 16);
        if (cap < at + (int64_t)n) cap = at + (int64_t)n;
        uint8_t *p = realloc(d->jpeg, (size_t)cap);
        if (!p) return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for %lld bytes of JPEG",
                                (long long)cap);
        d->jpeg = p, d->jpeg_cap = cap;
    }
    if (n) memcpy(d->jpeg + at, bytes, n);
    d->jpeg_off[++d->jpeg_next] = at + (int64_t)n;
    return FKE_OK;
}

fke_status fke_dataset_encode_pixels(const uint8_t *chw, int side, int quality, uint8_t **buf,
                                     size_t *n, fke_err *e)
{
    size_t np = (size_t)side * side;
    fke_image im = {side, side, malloc(3 * np)};
    *buf = NULL, *n = 0;
    if (!im.rgb) return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory to encode a JPEG");
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < np; p++) im.rgb[3 * p + c] = chw[c * np + p];
    fke_status st = fke_image_encode_jpeg(&im, quality, buf, n, e);
    free(im.rgb);
    return st;
}

static fke_status append_pixels(fke_dataset *d, const uint8_t *chw, int side, fke_err *e)
{
    uint8_t *buf;
    size_t n;
    FKE_TRY(fke_dataset_encode_pixels(chw, side, d->jpeg_quality, &buf, &n, e));
    fke_status st = fke_dataset_jpeg_append(d, buf, n, e);
    free(buf);
    return st;
}

fke_status fke_dataset_jpeg_append_post(fke_dataset *d, const uint8_t *img, const uint8_t *crops,
                                        int ng, fke_err *e)
{
    size_t nc = (size_t)3 * d->crop * d->crop;
    FKE_TRY(append_pixels(d, img, d->img, e));
    for (int g = 0; g < d->G; g++)
        FKE_TRY(g < ng ? append_pixels(d, crops + g * nc, d->crop, e)
                       : fke_dataset_jpeg_append(d, NULL, 0, e));
    return FKE_OK;
}

fke_status fke_dataset_set_store(fke_dataset *d, int quality, fke_err *e)
{
    if (quality < 0 || quality > 100)
        return fke_fail(e, FKE_ERR_ARG, "dataset: JPEG quality %d is not 0 (raw) or 1..100",
                        quality);
    if (quality == d->jpeg_quality && quality == 0) return FKE_OK;
    size_t ni = (size_t)3 * d->img * d->img, nc = (size_t)3 * d->crop * d->crop;
    if (d->jpeg_quality) { /* decode to raw first */
        size_t n1 = d->N ? (size_t)d->N : 1;
        uint8_t *im = calloc(n1 * ni, 1), *cr = calloc(n1 * d->G * nc, 1);
        fke_status st = im && cr ? FKE_OK
                                 : fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory to decode");
        for (long i = 0; !st && i < d->N; i++)
            for (int s = 0; !st && s <= d->G; s++)
                st = fke_dataset_pixels(d, i, s, s ? cr + ((size_t)i * d->G + s - 1) * nc
                                                   : im + (size_t)i * ni, e);
        if (st) {
            free(im);
            free(cr);
            return st;
        }
        free(d->jpeg), free(d->jpeg_off), free(d->jpeg_crc);
        if (d->jpeg_lazy) close(d->jpeg_fd);
        d->jpeg = NULL, d->jpeg_off = NULL, d->jpeg_cap = 0, d->jpeg_next = 0;
        d->jpeg_crc = NULL, d->jpeg_lazy = 0;
        d->images = im, d->crops = cr, d->jpeg_quality = 0;
    }
    if (!quality) return FKE_OK;
    fke_dataset j = *d; /* the labels are shared; only the store is new */
    j.images = j.crops = NULL;
    j.jpeg = NULL, j.jpeg_cap = 0, j.jpeg_next = 0, j.jpeg_quality = quality;
    j.jpeg_crc = NULL, j.jpeg_lazy = 0;
    j.jpeg_off = calloc((size_t)n_streams(d) + 1, sizeof *j.jpeg_off);
    fke_status st = j.jpeg_off ? FKE_OK : fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory");
    for (long i = 0; !st && i < d->N; i++)
        st = fke_dataset_jpeg_append_post(&j, d->images + i * ni, d->crops + i * d->G * nc,
                                          d->n_garments[i], e);
    if (st) {
        free(j.jpeg);
        free(j.jpeg_off);
        return st;
    }
    free(d->images), free(d->crops);
    d->images = d->crops = NULL;
    d->jpeg = j.jpeg, d->jpeg_off = j.jpeg_off, d->jpeg_cap = j.jpeg_cap;
    d->jpeg_next = j.jpeg_next, d->jpeg_quality = quality;
    return FKE_OK;
}

/* The JPEG store against the sizes: complete, and streams exactly on the
 * valid slots. */
static fke_status check_store(const fke_dataset *d, const char *path, fke_err *e)
{
    if (!d->jpeg_quality) {
        if (!d->images || !d->crops)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: the dataset has no pixels", path);
        return FKE_OK;
    }
    if (d->jpeg_quality < 0 || d->jpeg_quality > 100 || !d->jpeg_off ||
        d->jpeg_next != n_streams(d) || d->jpeg_off[0] != 0)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: /jpeg: the store is incomplete (quality %d, %ld "
                        "of %lld streams)", path, d->jpeg_quality, d->jpeg_next,
                        (long long)n_streams(d));
    for (long i = 0; i < d->N; i++)
        for (int s = 0; s <= d->G; s++) {
            int64_t k = (int64_t)i * (d->G + 1) + s, len = d->jpeg_off[k + 1] - d->jpeg_off[k];
            int valid = s <= d->n_garments[i];
            if (len < 0 || len > INT32_MAX || (valid && len == 0) || (!valid && len != 0))
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field /jpeg/sizes: post %ld slot %d has %lld bytes (%s)",
                                path, i, s, (long long)len,
                                valid ? "a whole image or garment needs a JPEG"
                                      : "a padding slot has none");
        }
    return FKE_OK;
}

/* (3, n, n) bytes as an RGB picture (rgb: room for n * n * 3) */
static void chw_to_image(const uint8_t *chw, int n, uint8_t *rgb, fke_image *im)
{
    for (int c = 0; c < 3; c++)
        for (size_t q = 0; q < (size_t)n * n; q++) rgb[q * 3 + c] = chw[(size_t)c * n * n + q];
    im->w = im->h = n, im->rgb = rgb;
}

fke_status fke_dataset_rescale(fke_dataset *d, int S, int P, int quality, fke_err *e)
{
    if (S < 1 || P < 1 || S > FKE_IMAGE_MAX_SIDE || P > FKE_IMAGE_MAX_SIDE || quality < 0 ||
        quality > 100)
        return fke_fail(e, FKE_ERR_ARG, "dataset: cannot rescale to image %d, crop %d, quality %d",
                        S, P, quality);
    if (d->C != 3) return fke_fail(e, FKE_ERR_ARG, "dataset: rescaling needs RGB posts, not %d channels", d->C);
    FKE_TRY(fke_dataset_set_store(d, 0, e)); /* the pixels as bytes */
    int S0 = d->img, P0 = d->crop, G = d->G;
    size_t ni0 = (size_t)3 * S0 * S0, nc0 = (size_t)3 * P0 * P0;
    size_t ni = (size_t)3 * S * S, nc = (size_t)3 * P * P, N = (size_t)d->N;
    fke_dataset j = *d; /* the labels are shared; only the pixels are new */
    j.img = S, j.crop = P, j.images = j.crops = NULL;
    j.jpeg = NULL, j.jpeg_off = NULL, j.jpeg_cap = 0, j.jpeg_next = 0, j.jpeg_quality = quality;
    j.jpeg_crc = NULL, j.jpeg_lazy = 0;
    uint8_t *rgb = malloc(ni0 > nc0 ? ni0 : nc0), *img = malloc(ni), *cr = malloc(nc * G);
    if (quality) j.jpeg_off = calloc((size_t)n_streams(d) + 1, sizeof *j.jpeg_off);
    else j.images = calloc(N ? N * ni : 1, 1), j.crops = calloc(N ? N * G * nc : 1, 1);
    fke_status st = rgb && img && cr && (quality ? j.jpeg_off != NULL : j.images && j.crops)
                        ? FKE_OK
                        : fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory to rescale");
    for (size_t i = 0; st == FKE_OK && i < N; i++) {
        fke_image im;
        const int32_t all0[4] = {0, 0, S0, S0}, crop0[4] = {0, 0, P0, P0};
        chw_to_image(d->images + i * ni0, S0, rgb, &im);
        fke_image_resize_chw(&im, all0, S, img);
        memset(cr, 0, nc * G);
        for (int g = 0; g < d->n_garments[i]; g++) {
            chw_to_image(d->crops + (i * G + g) * nc0, P0, rgb, &im);
            fke_image_resize_chw(&im, crop0, P, cr + (size_t)g * nc);
        }
        if (quality) {
            st = fke_dataset_jpeg_append_post(&j, img, cr, d->n_garments[i], e);
        } else {
            memcpy(j.images + i * ni, img, ni);
            memcpy(j.crops + i * G * nc, cr, nc * G);
        }
    }
    free(rgb), free(img), free(cr);
    if (st != FKE_OK) {
        free(j.jpeg), free(j.jpeg_off), free(j.images), free(j.crops);
        return st;
    }
    /* boxes to the new side, covering the garment: floor the start, ceil the end */
    for (size_t q = 0; q < N * G; q++) {
        int32_t *b = d->boxes + q * 4;
        if (q % G >= (size_t)d->n_garments[q / G]) continue;
        for (int k = 0; k < 4; k++) {
            double v = (double)b[k] * S / S0;
            b[k] = (int32_t)(k < 2 ? floor(v) : ceil(v));
            if (b[k] > S) b[k] = S;
        }
    }
    free(d->images), free(d->crops);
    d->images = j.images, d->crops = j.crops, d->img = S, d->crop = P;
    d->jpeg = j.jpeg, d->jpeg_off = j.jpeg_off, d->jpeg_cap = j.jpeg_cap;
    d->jpeg_next = j.jpeg_next, d->jpeg_quality = quality;
    size_t used = strlen(d->generator);
    snprintf(d->generator + used, sizeof d->generator - used, "%srescaled=%dx%d,%dx%d", used ? " " : "",
             S0, P0, S, P);
    return FKE_OK;
}

/* ---- a subset of the posts ---------------------------------------------- */
/* Every field of fke_dataset is copied below. A new field changes this size:
 * copy it in fke_dataset_subset (and check it in tests/test_split.c's
 * every-field test), then update the number. */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(fke_dataset) == 3552,
               "fke_dataset has a new field: copy it in fke_dataset_subset, then update this size");
#endif

#define SUBSET_ROWS(field, per)                                                                \
    do {                                                                                       \
        if (s->field && o->field)                                                              \
            memcpy(o->field + (size_t)j * (per), s->field + (size_t)i * (per),                 \
                   (size_t)(per) * sizeof *s->field);                                          \
    } while (0)

static char **dup_names(char *const *v, int n, int *bad)
{
    if (!v) return NULL;
    char **c = fke_strings_dup((const char *const *)v, n);
    if (!c) *bad = 1;
    return c;
}

/* An extra array over posts (first side N), cut with them; the arrays over
 * the label space (applicability, multi-label types) are kept whole even
 * when their first side happens to equal N. */
static int extra_per_post(const fke_dataset *s, const fke_extra *x)
{
    return x->dims[0] == s->N && strcmp(x->name, "applicable") != 0 &&
           strcmp(x->name, "ml_type") != 0;
}

fke_status fke_dataset_subset(const fke_dataset *s, const uint8_t *keep, fke_dataset *o,
                              fke_err *e)
{
    memset(o, 0, sizeof *o);
    int n = 0;
    for (int i = 0; i < s->N; i++) n += !keep || keep[i];
    /* sizes, label counts, store kind, provenance */
    o->N = n, o->G = s->G, o->A = s->A, o->L = s->L;
    o->img = s->img, o->crop = s->crop, o->C = s->C;
    o->n_occ = s->n_occ, o->n_cat = s->n_cat, o->V = s->V;
    memcpy(o->n_val, s->n_val, sizeof o->n_val);
    o->jpeg_quality = s->jpeg_quality;
    memcpy(o->path, s->path, sizeof o->path);
    memcpy(o->src_file, s->src_file, sizeof o->src_file);
    memcpy(o->generator, s->generator, sizeof o->generator);
    fke_status st = fke_dataset_alloc(o, e);
    if (st != FKE_OK) goto fail;
    const size_t G = (size_t)s->G, A = (size_t)s->A, n1 = n ? (size_t)n : 1;
    const size_t im = (size_t)s->C * s->img * s->img, cr = G * s->C * s->crop * s->crop;
    if (s->src_index && !(o->src_index = malloc(n1 * G * sizeof *o->src_index))) goto nomem;
    if (s->jpeg_quality && s->jpeg_crc &&
        !(o->jpeg_crc = malloc(n1 * (G + 1) * sizeof *o->jpeg_crc)))
        goto nomem;
    /* the per-post arrays, post by post; a JPEG store's streams (read from
     * the file for a lazy store, checked against their CRC-32) into an
     * in-memory store */
    for (int i = 0, j = 0; i < s->N; i++) {
        if (keep && !keep[i]) continue;
        if (!s->jpeg_quality) {
            SUBSET_ROWS(images, im);
            SUBSET_ROWS(crops, cr);
        } else {
            for (int64_t k = (int64_t)i * (s->G + 1); k < ((int64_t)i + 1) * (s->G + 1); k++) {
                uint8_t *b;
                size_t nb;
                if (o->jpeg_crc) o->jpeg_crc[o->jpeg_next] = s->jpeg_crc[k];
                if ((st = fke_dataset_jpeg_stream(s, k, &b, &nb, e)) != FKE_OK) goto fail;
                st = fke_dataset_jpeg_append(o, b, nb, e);
                free(b);
                if (st != FKE_OK) goto fail;
            }
        }
        SUBSET_ROWS(n_garments, 1);
        SUBSET_ROWS(boxes, G * 4);
        SUBSET_ROWS(tokens, (size_t)s->L);
        SUBSET_ROWS(occ, 1);
        SUBSET_ROWS(clean, 1);
        SUBSET_ROWS(cat, G);
        SUBSET_ROWS(cat_true, G);
        SUBSET_ROWS(cat_machine, G);
        if (A) { /* A = 0: a loaded set holds no attribute bytes */
            SUBSET_ROWS(attr, G * A);
            SUBSET_ROWS(attr_true, G * A);
            SUBSET_ROWS(attr_machine, G * A);
        }
        SUBSET_ROWS(person, G * 2);
        SUBSET_ROWS(src_index, G);
        j++;
    }
    /* the label space: T_true, word vectors, every name list */
    if (s->T_true) {
        size_t nT = T_total(s);
        if (!(o->T_true = malloc(nT * sizeof *o->T_true))) goto nomem;
        memcpy(o->T_true, s->T_true, nT * sizeof *o->T_true);
    }
    if (s->word_vectors) {
        size_t nw = (size_t)s->V * s->wv_dim;
        if (!(o->word_vectors = malloc((nw ? nw : 1) * sizeof *o->word_vectors))) goto nomem;
        memcpy(o->word_vectors, s->word_vectors, nw * sizeof *o->word_vectors);
    }
    o->wv_dim = s->wv_dim;
    int bad = 0;
    o->occ_names = dup_names(s->occ_names, s->n_occ, &bad);
    o->cat_names = dup_names(s->cat_names, s->n_cat, &bad);
    o->attr_names = dup_names(s->attr_names, s->A, &bad);
    o->vocab = dup_names(s->vocab, s->V, &bad);
    o->n_ml = s->n_ml, o->n_ml_types = s->n_ml_types;
    o->ml_names = dup_names(s->ml_names, s->n_ml, &bad);
    o->ml_type_names = dup_names(s->ml_type_names, s->n_ml_types, &bad);
    if (bad) goto nomem;
    if (s->val_names) {
        if (!(o->val_names = calloc(A ? A : 1, sizeof *o->val_names))) goto nomem;
        for (size_t k = 0; k < A; k++)
            if (s->val_names[k] && !(o->val_names[k] = dup_names(s->val_names[k], s->n_val[k], &bad)))
                goto nomem;
    }
    /* the extra arrays: per-post ones cut, the others whole; their names */
    for (int x = 0; x < s->n_extra; x++) {
        const fke_extra *ex = &s->extra[x];
        int dims[3] = {ex->dims[0], ex->ndim > 1 ? ex->dims[1] : 0, ex->ndim > 2 ? ex->dims[2] : 0};
        const int32_t *v = ex->v;
        int32_t *cut = NULL;
        if (extra_per_post(s, ex)) {
            size_t row = 1;
            for (int k = 1; k < ex->ndim; k++) row *= (size_t)ex->dims[k];
            if (!(cut = malloc(n1 * row * sizeof *cut))) goto nomem;
            for (int i = 0, j = 0; i < s->N; i++)
                if (!keep || keep[i]) memcpy(cut + (size_t)j++ * row, ex->v + (size_t)i * row, row * sizeof *cut);
            dims[0] = n, v = cut;
        }
        st = fke_dataset_extra_set(o, ex->name, ex->ndim, dims, v, e);
        free(cut);
        if (st == FKE_OK)
            st = fke_dataset_extra_names(o, ex->name, (const char *const *)ex->names, ex->n_names, e);
        if (st != FKE_OK) goto fail;
    }
    return FKE_OK;
nomem:
    st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for a subset of %d posts", s->path, n);
fail:
    fke_dataset_free(o);
    return st;
}
fke_status fke_imageset_subset(const fke_imageset *s, const uint8_t *keep, fke_imageset *o,
                               fke_err *e)
{
    memset(o, 0, sizeof *o);
    int n = 0;
    for (int i = 0; i < s->N; i++) n += !keep || keep[i];
    *o = (fke_imageset){.N = n, .C = s->C, .H = s->H, .W = s->W, .n_cls = s->n_cls};
    memcpy(o->path, s->path, sizeof o->path);
    memcpy(o->noise, s->noise, sizeof o->noise);
    size_t px = (size_t)s->C * s->H * s->W, n1 = n ? (size_t)n : 1;
    o->images = malloc(n1 * px);
    o->labels = malloc(n1 * sizeof *o->labels);
    if (s->labels_true) o->labels_true = malloc(n1 * sizeof *o->labels_true);
    if (s->T_true) o->T_true = malloc((size_t)s->n_cls * s->n_cls * sizeof *o->T_true);
    if (s->class_names) o->class_names = fke_strings_dup((const char *const *)s->class_names, s->n_cls);
    if (!o->images || !o->labels || (s->labels_true && !o->labels_true) ||
        (s->T_true && !o->T_true) || (s->class_names && !o->class_names)) {
        fke_imageset_free(o);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for a subset of %d images", s->path, n);
    }
    if (s->T_true) memcpy(o->T_true, s->T_true, (size_t)s->n_cls * s->n_cls * sizeof *o->T_true);
    for (int i = 0, j = 0; i < s->N; i++) {
        if (keep && !keep[i]) continue;
        SUBSET_ROWS(images, px);
        SUBSET_ROWS(labels, 1);
        SUBSET_ROWS(labels_true, 1);
        j++;
    }
    return FKE_OK;
}

#undef SUBSET_ROWS

/* ---- extra arrays ----------------------------------------------------------- */
static size_t extra_numel(int ndim, const int *dims)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    return n;
}

fke_status fke_dataset_extra_set(fke_dataset *d, const char *name, int ndim, const int *dims,
                                 const int32_t *data, fke_err *e)
{
    if (!name || !*name || strlen(name) >= sizeof d->extra[0].name || strchr(name, '/'))
        return fke_fail(e, FKE_ERR_ARG, "dataset: extra array name '%s' is empty, too long or "
                        "has a '/'", name ? name : "(null)");
    if (ndim < 1 || ndim > 3)
        return fke_fail(e, FKE_ERR_ARG, "dataset: extra array %s has %d dimensions, not 1..3",
                        name, ndim);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0 || dims[i] > (1 << 30))
            return fke_fail(e, FKE_ERR_ARG, "dataset: extra array %s: size %d in dimension %d",
                            name, dims[i], i);
    int k = 0;
    while (k < d->n_extra && strcmp(d->extra[k].name, name)) k++;
    if (k == FKE_MAX_EXTRA)
        return fke_fail(e, FKE_ERR_ARG, "dataset: more than %d extra arrays", FKE_MAX_EXTRA);
    size_t n = extra_numel(ndim, dims);
    int32_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for extra array %s", name);
    if (n) memcpy(v, data, n * sizeof *v);
    fke_extra *x = &d->extra[k];
    if (k == d->n_extra) d->n_extra++;
    else free(x->v), fke_strings_free(x->names, x->n_names);
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->ndim = ndim;
    for (int i = 0; i < ndim; i++) x->dims[i] = dims[i];
    x->v = v;
    return FKE_OK;
}

fke_status fke_dataset_extra_names(fke_dataset *d, const char *name, const char *const *names,
                                   int n, fke_err *e)
{
    fke_extra *x = (fke_extra *)fke_dataset_extra(d, name);
    if (!x) return fke_fail(e, FKE_ERR_ARG, "dataset: no extra array %s to name the values of", name);
    char **c = n > 0 ? fke_strings_dup(names, n) : NULL;
    if (n > 0 && !c) return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for the names of %s", name);
    fke_strings_free(x->names, x->n_names);
    x->names = c, x->n_names = n > 0 ? n : 0;
    return FKE_OK;
}

const char *fke_extra_value_name(const fke_extra *x, int32_t v)
{
    return x && x->names && v >= 0 && v < x->n_names ? x->names[v] : NULL;
}

const fke_extra *fke_dataset_extra(const fke_dataset *d, const char *name)
{
    for (int k = 0; k < d->n_extra; k++)
        if (!strcmp(d->extra[k].name, name)) return &d->extra[k];
    return NULL;
}

static void save_extras(const fke_dataset *d, fke_h5w *w)
{
    if (!d->n_extra) return;
    hid_t g = fke_h5w_group(w, w->f, "extra");
    if (g < 0) return;
    for (int k = 0; k < d->n_extra; k++) {
        const fke_extra *x = &d->extra[k];
        hsize_t dims[3];
        for (int i = 0; i < x->ndim; i++) dims[i] = (hsize_t)x->dims[i];
        /* large ones (DeepFashion's ml_labels, N x 1000) deflate to a fraction */
        fke_h5w_array(w, g, x->name, H5T_STD_I32LE, H5T_NATIVE_INT32, x->ndim, dims, x->v,
                      extra_numel(x->ndim, x->dims) >= ((size_t)1 << 16));
    }
    H5Gclose(g);
    hid_t gn = -1;
    for (int k = 0; k < d->n_extra; k++) {
        const fke_extra *x = &d->extra[k];
        if (!x->names) continue;
        if (gn < 0 && (gn = fke_h5w_group(w, w->f, "extra_names")) < 0) return;
        fke_h5w_strings(w, gn, x->name, x->names, x->n_names);
    }
    if (gn >= 0) H5Gclose(gn);
}

static void load_extras(fke_dataset *d, fke_h5r *r)
{
    if (r->st || !fke_h5r_exists(r->f, "extra")) return;
    hid_t g = H5Gopen2(r->f, "extra", H5P_DEFAULT);
    H5G_info_t info;
    if (g < 0 || H5Gget_info(g, &info) < 0 || info.nlinks > FKE_MAX_EXTRA) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: group /extra is unreadable or holds more "
                         "than %d arrays", r->path, FKE_MAX_EXTRA);
        if (g >= 0) H5Gclose(g);
        return;
    }
    for (hsize_t i = 0; !r->st && i < info.nlinks; i++) {
        char name[64];
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0 || strlen(name) >= sizeof d->extra[0].name) {
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: /extra: array %d has a bad name",
                             r->path, (int)i);
            break;
        }
        int dims[3] = {-1, -1, -1}, ndim = 0;
        hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
        hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
        ndim = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (sp >= 0) H5Sclose(sp);
        if (ds >= 0) H5Dclose(ds);
        if (ndim < 1 || ndim > 3) {
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: /extra/%s must have 1..3 dimensions",
                             r->path, name);
            break;
        }
        int32_t *v = fke_h5r_array(r, g, name, H5T_INTEGER, H5T_NATIVE_INT32, ndim, dims, 0);
        if (v) {
            fke_extra *x = &d->extra[d->n_extra++];
            snprintf(x->name, sizeof x->name, "%s", name);
            x->ndim = ndim;
            for (int k = 0; k < ndim; k++) x->dims[k] = dims[k];
            x->v = v;
            char path[96];
            snprintf(path, sizeof path, "extra_names/%s", name);
            if (fke_h5r_exists(r->f, path))
                x->names = fke_h5r_strings(r, r->f, path, -1, &x->n_names);
        }
    }
    H5Gclose(g);
}

/* Checks that every value of field `name` (n values) lies in [lo, hi]. */
static fke_status check_range(const char *path, const char *name, const int32_t *v, size_t n,
                              int lo, int hi, int G, fke_err *e)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] < lo || v[i] > hi) {
            if (G > 0)
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field /%s: value %d at post %zu garment %zu is out of "
                                "range %d..%d",
                                path, name, v[i], i / G, i % G, lo, hi);
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /%s: value %d at position %zu is out of range %d..%d",
                            path, name, v[i], i, lo, hi);
        }
    return FKE_OK;
}

/* attr-like (N, G, A) array: value k must be in -1..n_val[k]-1 */
static fke_status check_attr(const fke_dataset *d, const char *path, const char *name,
                             const int32_t *v, fke_err *e)
{
    size_t n = (size_t)d->N * d->G;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < d->A; k++) {
            int x = v[i * d->A + k];
            if (x < -1 || x >= d->n_val[k])
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field /%s: attribute %d (%s) value %d at post %zu garment "
                                "%zu is out of range -1..%d",
                                path, name, k, d->attr_names ? d->attr_names[k] : "?", x,
                                i / d->G, i % d->G, d->n_val[k] - 1);
        }
    return FKE_OK;
}

/* The multi-label block (dataset.h): names, the extras ml_labels (N, n_ml)
 * in -1..1 and ml_type (n_ml) in 0..n_ml_types-1, all or none. */
static fke_status check_multilabel(const fke_dataset *d, const char *path, fke_err *e)
{
    const fke_extra *y = fke_dataset_extra(d, "ml_labels"), *t = fke_dataset_extra(d, "ml_type");
    if (!d->n_ml && !y && !t) return FKE_OK;
    if (d->n_ml < 1 || !d->ml_names || d->n_ml_types < 1 || !d->ml_type_names)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: /names/multilabel and /names/multilabel_type must "
                        "both be given (and not empty) with /extra/ml_labels", path);
    if (!y || y->ndim != 2 || y->dims[0] != d->N || y->dims[1] != d->n_ml)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: /extra/ml_labels must be (%d, %d): one label per "
                        "post and multi-label attribute", path, d->N, d->n_ml);
    if (!t || t->ndim != 1 || t->dims[0] != d->n_ml)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: /extra/ml_type must be (%d): the type of each "
                        "multi-label attribute", path, d->n_ml);
    FKE_TRY(check_range(path, "extra/ml_labels", y->v, (size_t)d->N * d->n_ml, -1, 1, 0, e));
    return check_range(path, "extra/ml_type", t->v, (size_t)d->n_ml, 0, d->n_ml_types - 1, 0, e);
}

/* Label names end up in JSON lines, CSV cells and file names: each must be
 * valid UTF-8 without control characters (fke_text_valid). */
static fke_status check_names(const char *path, const char *field, char *const *v, int n,
                              fke_err *e)
{
    for (int i = 0; v && i < n; i++)
        if (!fke_text_valid(v[i]))
            return fke_fail(e, FKE_ERR_FORMAT, "%s: field /%s: name %d is not valid UTF-8 text "
                            "(or holds a control character)", path, field, i);
    return FKE_OK;
}

fke_status fke_dataset_validate(const fke_dataset *d, const char *path, fke_err *e)
{
    int G = d->G, A = d->A;
    size_t NG = (size_t)d->N * G;
    if (d->C != 3)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: field /images has %d channels, expected 3", path,
                        d->C);
    if (d->n_occ < 1 || d->n_cat < 1 || A < 0 || A > FKE_MAX_ATTR || d->V < 1)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: /names: %d occasions, %d categories, %d attributes (at most %d), "
                        "%d vocabulary words: each must be at least 1",
                        path, d->n_occ, d->n_cat, A, FKE_MAX_ATTR, d->V);
    for (int k = 0; k < A; k++)
        if (d->n_val[k] < 1)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute %d has no values", path, k);
    FKE_TRY(check_names(path, "names/occasion", d->occ_names, d->n_occ, e));
    FKE_TRY(check_names(path, "names/category", d->cat_names, d->n_cat, e));
    FKE_TRY(check_names(path, "names/attribute", d->attr_names, A, e));
    for (int k = 0; d->val_names && k < A; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "names/values_%d", k);
        FKE_TRY(check_names(path, nm, d->val_names[k], d->n_val[k], e));
    }
    FKE_TRY(check_range(path, "n_garments", d->n_garments, d->N, 0, G, 0, e));
    FKE_TRY(check_range(path, "tokens", d->tokens, (size_t)d->N * d->L, 0, d->V - 1, 0, e));
    FKE_TRY(check_range(path, "labels/occasion", d->occ, d->N, -1, d->n_occ - 1, 0, e));
    FKE_TRY(check_range(path, "labels/category", d->cat, NG, -1, d->n_cat - 1, G, e));
    FKE_TRY(check_range(path, "labels/category_true", d->cat_true, NG, -1, d->n_cat - 1, G, e));
    FKE_TRY(check_range(path, "labels/category_machine", d->cat_machine, NG, -1, d->n_cat - 1,
                        G, e));
    FKE_TRY(check_attr(d, path, "labels/attribute", d->attr, e));
    FKE_TRY(check_attr(d, path, "labels/attribute_true", d->attr_true, e));
    FKE_TRY(check_attr(d, path, "labels/attribute_machine", d->attr_machine, e));
    for (size_t i = 0; i < NG; i++) {
        if (d->person[2 * i] < -1 || d->person[2 * i] > 1 || d->person[2 * i + 1] < -1 ||
            d->person[2 * i + 1] > 3)
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /person: (%d, %d) at post %zu garment %zu is out of "
                            "range (gender -1..1, age band -1..3)",
                            path, d->person[2 * i], d->person[2 * i + 1], i / G, i % G);
    }
    for (int i = 0; i < d->N; i++) {
        if (d->clean[i] > 1)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: field /labels/clean: value %d at post %d is "
                            "not 0 or 1", path, d->clean[i], i);
        for (int g = 0; g < G; g++) {
            const int32_t *b = d->boxes + ((size_t)i * G + g) * 4;
            size_t o = (size_t)i * G + g;
            if (g < d->n_garments[i]) {
                if (b[0] < 0 || b[1] < 0 || b[2] > d->img || b[3] > d->img || b[0] >= b[2] ||
                    b[1] >= b[3])
                    return fke_fail(e, FKE_ERR_FORMAT,
                                    "%s: field /boxes: box (%d,%d,%d,%d) of post %d garment %d "
                                    "is empty or outside the %dx%d image",
                                    path, b[0], b[1], b[2], b[3], i, g, d->img, d->img);
            } else {
                int bad = d->cat[o] != -1 || d->cat_true[o] != -1 || d->cat_machine[o] != -1;
                for (int k = 0; k < A; k++)
                    bad |= d->attr[o * A + k] != -1 || d->attr_true[o * A + k] != -1 ||
                           d->attr_machine[o * A + k] != -1;
                if (bad)
                    return fke_fail(e, FKE_ERR_FORMAT,
                                    "%s: /labels: post %d has %d garments but slot %d carries a "
                                    "label (padding slots must be -1)",
                                    path, i, d->n_garments[i], g);
            }
        }
    }
    FKE_TRY(check_store(d, path, e));
    FKE_TRY(check_multilabel(d, path, e));
    if (d->src_index)
        FKE_TRY(check_range(path, "source_index", d->src_index, NG, -1, 1 << 30, G, e));
    if (d->T_true) {
        for (int t = 0; t <= A; t++) {
            int n = fke_dataset_T_side(d, t);
            const float *T = d->T_true + fke_dataset_T_offset(d, t);
            for (int a = 0; a < n; a++) {
                double s = 0;
                for (int b = 0; b < n; b++) {
                    if (!(T[a * n + b] >= 0.f && T[a * n + b] <= 1.f))
                        return fke_fail(e, FKE_ERR_FORMAT,
                                        "%s: field /T_true: task %d entry (%d,%d) = %g is not a "
                                        "probability",
                                        path, t, a, b, T[a * n + b]);
                    s += T[a * n + b];
                }
                if (fabs(s - 1.0) > 1e-3)
                    return fke_fail(e, FKE_ERR_FORMAT,
                                    "%s: field /T_true: task %d row %d sums to %g, not 1", path,
                                    t, a, s);
            }
        }
    }
    if (d->word_vectors) {
        if (d->wv_dim < 1 || d->wv_dim > 65536)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: field /word_vectors is %d wide, not 1..65536",
                            path, d->wv_dim);
        for (size_t i = 0; i < (size_t)d->V * (size_t)d->wv_dim; i++)
            if (!isfinite(d->word_vectors[i]))
                return fke_fail(e, FKE_ERR_FORMAT, "%s: field /word_vectors: entry (%zu,%zu) is "
                                "%g, not a finite number", path, i / (size_t)d->wv_dim,
                                i % (size_t)d->wv_dim, d->word_vectors[i]);
    }
    return FKE_OK;
}

/* /jpeg: bytes (M) u8, the streams back to back, uncompressed (JPEG does not
 * deflate); sizes (N, 1+G) int32; attributes quality, image_side, crop_side. */
static void save_store(const fke_dataset *d, fke_h5w *w)
{
    hid_t g = fke_h5w_group(w, w->f, "jpeg");
    if (g < 0) return;
    fke_h5w_attr_int(w, g, "quality", d->jpeg_quality);
    fke_h5w_attr_int(w, g, "image_side", d->img);
    fke_h5w_attr_int(w, g, "crop_side", d->crop);
    int64_t ns = n_streams(d);
    int32_t *sz = malloc((size_t)(ns ? ns : 1) * sizeof *sz);
    if (!sz) {
        w->bad = 1;
        H5Gclose(g);
        return;
    }
    for (int64_t k = 0; k < ns; k++) sz[k] = (int32_t)(d->jpeg_off[k + 1] - d->jpeg_off[k]);
    hsize_t ds[2] = {(hsize_t)d->N, (hsize_t)d->G + 1}, db[1] = {(hsize_t)d->jpeg_off[ns]};
    fke_h5w_array(w, g, "sizes", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, ds, sz, 0);
    /* a lazy store's streams come from its file, each checked on the way */
    uint8_t *all = d->jpeg_lazy ? malloc((size_t)(d->jpeg_off[ns] ? d->jpeg_off[ns] : 1)) : NULL;
    uint32_t *crc = malloc((size_t)(ns ? ns : 1) * sizeof *crc);
    if (!crc || (d->jpeg_lazy && !all)) w->bad = 1;
    for (int64_t k = 0; !w->bad && k < ns; k++) {
        const uint8_t *b;
        uint8_t *owned;
        fke_err e2;
        if (stream_bytes(d, k, d->path, &b, &owned, &e2) != FKE_OK) {
            w->bad = 1;
            break;
        }
        int64_t n = d->jpeg_off[k + 1] - d->jpeg_off[k];
        crc[k] = (uint32_t)crc32(0L, b, (uInt)n);
        if (all && n) memcpy(all + d->jpeg_off[k], b, (size_t)n);
        free(owned);
    }
    const void *bytes = all ? all : d->jpeg ? (const void *)d->jpeg : (const void *)sz; /* M = 0: any */
    /* contiguous, so that a lazy load reads each stream at a fixed offset;
     * each stream carries its own CRC-32 (below) instead of chunk checksums */
    fke_h5w_array(w, g, "bytes", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, db, bytes, FKE_H5_CONTIGUOUS);
    if (crc) fke_h5w_array(w, g, "crc", H5T_STD_U32LE, H5T_NATIVE_UINT32, 2, ds, crc, 0);
    free(sz);
    free(crc);
    free(all);
    H5Gclose(g);
}

/* Reads /jpeg into d: sizes, N and G from its shape, the sides and quality
 * from the attributes, then the bytes (any size: not through fke_h5r_array,
 * which stops at 2^30 per dimension), their count checked against the sizes. */
static void load_store(fke_dataset *d, fke_h5r *r)
{
    if (r->st) return;
    hid_t g = H5Gopen2(r->f, "jpeg", H5P_DEFAULT);
    int q = 0, S = 0, P = 0;
    if (g < 0 || fke_h5r_attr(g, "quality", H5T_NATIVE_INT, &q, 1) < 0 ||
        fke_h5r_attr(g, "image_side", H5T_NATIVE_INT, &S, 1) < 0 ||
        fke_h5r_attr(g, "crop_side", H5T_NATIVE_INT, &P, 1) < 0 || q < 1 || q > 100 || S < 1 ||
        S > 65500 || P < 1 || P > 65500) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: group /jpeg: unreadable, or its attributes "
                         "quality (1..100), image_side, crop_side (1..65500) are missing or out "
                         "of range", r->path);
        if (g >= 0) H5Gclose(g);
        return;
    }
    H5Gclose(g);
    d->jpeg_quality = q, d->img = S, d->crop = P, d->C = 3;
    int dz[2] = {-1, -1};
    int32_t *sz = fke_h5r_array(r, r->f, "jpeg/sizes", H5T_INTEGER, H5T_NATIVE_INT32, 2, dz, 0);
    if (!sz) return;
    d->N = dz[0], d->G = dz[1] - 1;
    int64_t ns = n_streams(d), total = 0;
    d->jpeg_off = malloc((size_t)(ns + 1) * sizeof *d->jpeg_off);
    if (!d->jpeg_off) {
        r->st = fke_fail(r->e, FKE_ERR_NOMEM, "%s: no memory for /jpeg/sizes", r->path);
        free(sz);
        return;
    }
    d->jpeg_off[0] = 0;
    for (int64_t k = 0; k < ns; k++) {
        if (sz[k] < 0) {
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /jpeg/sizes: post %lld slot %lld "
                             "has %d bytes", r->path, (long long)(k / (d->G + 1)),
                             (long long)(k % (d->G + 1)), sz[k]);
            free(sz);
            return;
        }
        d->jpeg_off[k + 1] = total += sz[k];
    }
    free(sz);
    d->jpeg_next = (long)ns;
    if (fke_h5r_exists(r->f, "jpeg/crc")) { /* files before the checksums have none */
        int dc[2] = {d->N, d->G + 1};
        d->jpeg_crc = fke_h5r_array(r, r->f, "jpeg/crc", H5T_INTEGER, H5T_NATIVE_UINT32, 2, dc, 0);
        if (!d->jpeg_crc) return;
    }
    hid_t ds = H5Dopen2(r->f, "jpeg/bytes", H5P_DEFAULT);
    hid_t t = ds >= 0 ? H5Dget_type(ds) : -1, sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t n = 0;
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1 &&
             H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1;
    if (!ok) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /jpeg/bytes is missing or not a 1-D "
                         "byte array", r->path);
    } else if ((int64_t)n != total) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /jpeg/bytes has %llu bytes, "
                         "/jpeg/sizes adds up to %lld", r->path, (unsigned long long)n,
                         (long long)total);
    } else if (!fke_h5r_claim(r, ds, "jpeg/bytes", (double)total)) {
        /* r->st says why: more bytes claimed than the file can hold */
    } else if (total > 0 && total >= lazy_above && !r->image && H5Dget_offset(ds) != HADDR_UNDEF &&
               (d->jpeg_fd = open(r->path, O_RDONLY | O_CLOEXEC)) >= 0) {
        /* contiguous bytes: left in the file, read post by post */
        d->jpeg_lazy = 1;
        d->jpeg_base = (int64_t)H5Dget_offset(ds);
    } else {
        d->jpeg = malloc((size_t)(total ? total : 1));
        d->jpeg_cap = total;
        const char *why = NULL;
        if (!d->jpeg)
            r->st = fke_fail(r->e, FKE_ERR_NOMEM, "%s: no memory for %lld bytes of JPEG", r->path,
                             (long long)total);
        else if (total && fke_h5r_read(ds, H5T_NATIVE_UINT8, d->jpeg, &why) < 0)
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /jpeg/bytes cannot be read (%s)",
                             r->path, why);
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
}

fke_status fke_dataset_save(const fke_dataset *d, const char *path, fke_err *e)
{
    if (!d || !path) return fke_fail(e, FKE_ERR_ARG, "dataset save: null argument");
    FKE_TRY(fke_dataset_validate(d, path, e));
    fke_h5w w;
    hsize_t N = (hsize_t)d->N, G = (hsize_t)d->G, A = (hsize_t)d->A;
    hsize_t C = (hsize_t)d->C, I = (hsize_t)d->img, P = (hsize_t)d->crop;
    FKE_TRY(fke_h5w_create(&w, path, FKE_POSTS_FORMAT, FKE_POSTS_VERSION, e));
    if (d->generator[0]) fke_h5w_attr_str(&w, w.f, "generator", d->generator);
    if (d->src_file[0]) fke_h5w_attr_str(&w, w.f, "source_file", d->src_file);
    if (d->jpeg_quality) {
        save_store(d, &w);
    } else {
        hsize_t dm[4] = {N, C, I, I};
        fke_h5w_array(&w, w.f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dm, d->images, 1);
        hsize_t dc[5] = {N, G, C, P, P};
        fke_h5w_array(&w, w.f, "crops", H5T_STD_U8LE, H5T_NATIVE_UINT8, 5, dc, d->crops, 1);
    }
    hsize_t d1[1] = {N}, d2[2] = {N, G}, d3[3] = {N, G, A}, db[3] = {N, G, 4}, dp[3] = {N, G, 2};
    hsize_t dt[2] = {N, (hsize_t)d->L};
    hid_t i32 = H5T_STD_I32LE, n32 = H5T_NATIVE_INT32;
    fke_h5w_array(&w, w.f, "n_garments", i32, n32, 1, d1, d->n_garments, 0);
    fke_h5w_array(&w, w.f, "boxes", i32, n32, 3, db, d->boxes, 0);
    fke_h5w_array(&w, w.f, "tokens", i32, n32, 2, dt, d->tokens, 1);
    fke_h5w_array(&w, w.f, "person", i32, n32, 3, dp, d->person, 0);
    if (d->src_index) fke_h5w_array(&w, w.f, "source_index", i32, n32, 2, d2, d->src_index, 0);
    save_extras(d, &w);
    hid_t gl = fke_h5w_group(&w, w.f, "labels");
    if (gl >= 0) {
        fke_h5w_array(&w, gl, "occasion", i32, n32, 1, d1, d->occ, 0);
        fke_h5w_array(&w, gl, "clean", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, d->clean, 0);
        fke_h5w_array(&w, gl, "category", i32, n32, 2, d2, d->cat, 0);
        fke_h5w_array(&w, gl, "category_true", i32, n32, 2, d2, d->cat_true, 0);
        fke_h5w_array(&w, gl, "category_machine", i32, n32, 2, d2, d->cat_machine, 0);
        fke_h5w_array(&w, gl, "attribute", i32, n32, 3, d3, d->attr, 0);
        fke_h5w_array(&w, gl, "attribute_true", i32, n32, 3, d3, d->attr_true, 0);
        fke_h5w_array(&w, gl, "attribute_machine", i32, n32, 3, d3, d->attr_machine, 0);
        H5Gclose(gl);
    }
    hid_t gn = fke_h5w_group(&w, w.f, "names");
    if (gn >= 0) {
        fke_h5w_strings(&w, gn, "occasion", d->occ_names, d->n_occ);
        fke_h5w_strings(&w, gn, "category", d->cat_names, d->n_cat);
        fke_h5w_strings(&w, gn, "attribute", d->attr_names, d->A);
        for (int k = 0; k < d->A; k++) {
            char nm[32];
            snprintf(nm, sizeof nm, "values_%d", k);
            fke_h5w_strings(&w, gn, nm, d->val_names[k], d->n_val[k]);
        }
        if (d->n_ml) {
            fke_h5w_strings(&w, gn, "multilabel", d->ml_names, d->n_ml);
            fke_h5w_strings(&w, gn, "multilabel_type", d->ml_type_names, d->n_ml_types);
        }
        H5Gclose(gn);
    }
    fke_h5w_strings(&w, w.f, "vocab", d->vocab, d->V);
    if (d->T_true) {
        hsize_t dT[1] = {(hsize_t)T_total(d)};
        fke_h5w_array(&w, w.f, "T_true", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dT, d->T_true, 0);
    }
    if (d->word_vectors) {
        hsize_t dw[2] = {(hsize_t)d->V, (hsize_t)d->wv_dim};
        fke_h5w_array(&w, w.f, "word_vectors", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dw,
                      d->word_vectors, 1);
    }
    return fke_h5w_commit(&w, "dataset", e);
}

fke_status fke_dataset_load(fke_dataset *d, const char *path, fke_err *e)
{
    return fke_dataset_load_image(d, path, NULL, 0, e);
}

fke_status fke_dataset_load_image(fke_dataset *d, const char *path, const void *image, size_t n,
                                  fke_err *e)
{
    memset(d, 0, sizeof *d);
    fke_h5r r;
    FKE_TRY(fke_h5r_open_image(&r, path, image, n, FKE_POSTS_FORMAT, FKE_POSTS_VERSION,
                               "dataset", e));
    hid_t f = r.f;
    snprintf(d->path, sizeof d->path, "%s", path);
    /* names first: they fix the label counts */
    d->occ_names = fke_h5r_strings(&r, f, "names/occasion", -1, &d->n_occ);
    d->cat_names = fke_h5r_strings(&r, f, "names/category", -1, &d->n_cat);
    d->attr_names = fke_h5r_strings(&r, f, "names/attribute", -1, &d->A);
    if (!r.st && d->A > FKE_MAX_ATTR)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /names/attribute has %d names, at most %d",
                        path, d->A, FKE_MAX_ATTR);
    if (!r.st) {
        d->val_names = calloc((size_t)d->A + 1, sizeof *d->val_names);
        if (!d->val_names) r.st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    }
    for (int k = 0; k < d->A && !r.st; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "names/values_%d", k);
        d->val_names[k] = fke_h5r_strings(&r, f, nm, -1, &d->n_val[k]);
    }
    d->vocab = fke_h5r_strings(&r, f, "vocab", -1, &d->V);
    if (!r.st && fke_h5r_exists(f, "names/multilabel")) {
        d->ml_names = fke_h5r_strings(&r, f, "names/multilabel", -1, &d->n_ml);
        d->ml_type_names = fke_h5r_strings(&r, f, "names/multilabel_type", -1, &d->n_ml_types);
    }
    if (!r.st && !fke_h5r_exists(f, "images") && fke_h5r_exists(f, "jpeg")) {
        load_store(d, &r);
    } else {
        int dm[4] = {-1, 3, -1, -1};
        d->images = fke_h5r_array(&r, f, "images", H5T_INTEGER, H5T_NATIVE_UINT8, 4, dm, 0);
        if (!r.st && dm[2] != dm[3])
            r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /images is %dx%d, expected square "
                            "images", path, dm[2], dm[3]);
        d->N = dm[0];
        d->C = dm[1];
        d->img = dm[2];
        int dc[5] = {d->N, -1, 3, -1, -1};
        d->crops = fke_h5r_array(&r, f, "crops", H5T_INTEGER, H5T_NATIVE_UINT8, 5, dc, 0);
        if (!r.st && dc[3] != dc[4])
            r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /crops is %dx%d, expected square crops",
                            path, dc[3], dc[4]);
        d->G = dc[1];
        d->crop = dc[3];
    }
    int d1[1] = {d->N}, d2[2] = {d->N, d->G}, d3[3] = {d->N, d->G, d->A};
    int db[3] = {d->N, d->G, 4}, dp[3] = {d->N, d->G, 2}, dt[2] = {d->N, -1};
    hid_t n32 = H5T_NATIVE_INT32;
    d->n_garments = fke_h5r_array(&r, f, "n_garments", H5T_INTEGER, n32, 1, d1, 0);
    d->boxes = fke_h5r_array(&r, f, "boxes", H5T_INTEGER, n32, 3, db, 0);
    d->tokens = fke_h5r_array(&r, f, "tokens", H5T_INTEGER, n32, 2, dt, 0);
    d->L = dt[1];
    d->person = fke_h5r_array(&r, f, "person", H5T_INTEGER, n32, 3, dp, 0);
    d->src_index = fke_h5r_array(&r, f, "source_index", H5T_INTEGER, n32, 2, d2, 1);
    load_extras(d, &r);
    d->occ = fke_h5r_array(&r, f, "labels/occasion", H5T_INTEGER, n32, 1, d1, 0);
    d->clean = fke_h5r_array(&r, f, "labels/clean", H5T_INTEGER, H5T_NATIVE_UINT8, 1, d1, 0);
    d->cat = fke_h5r_array(&r, f, "labels/category", H5T_INTEGER, n32, 2, d2, 0);
    d->cat_true = fke_h5r_array(&r, f, "labels/category_true", H5T_INTEGER, n32, 2, d2, 0);
    d->cat_machine = fke_h5r_array(&r, f, "labels/category_machine", H5T_INTEGER, n32, 2, d2, 0);
    d->attr = fke_h5r_array(&r, f, "labels/attribute", H5T_INTEGER, n32, 3, d3, 0);
    d->attr_true = fke_h5r_array(&r, f, "labels/attribute_true", H5T_INTEGER, n32, 3, d3, 0);
    d->attr_machine = fke_h5r_array(&r, f, "labels/attribute_machine", H5T_INTEGER, n32, 3, d3, 0);
    if (!r.st && d->L < 1)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /tokens has 0 tokens per post", path);
    if (!r.st && d->G < 1)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /crops has 0 garment slots", path);
    if (!r.st) {
        int dT[1] = {(int)T_total(d)};
        d->T_true = fke_h5r_array(&r, f, "T_true", H5T_FLOAT, H5T_NATIVE_FLOAT, 1, dT, 1);
        int dw[2] = {d->V, -1};
        d->word_vectors = fke_h5r_array(&r, f, "word_vectors", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dw, 1);
        d->wv_dim = d->word_vectors ? dw[1] : 0;
    }
    if (!r.st) {
        char *g = fke_h5r_attr_str(f, "generator"), *s = fke_h5r_attr_str(f, "source_file");
        if (g) snprintf(d->generator, sizeof d->generator, "%s", g);
        if (s) snprintf(d->src_file, sizeof d->src_file, "%s", s);
        free(g);
        free(s);
    }
    fke_h5r_close(&r);
    if (!r.st) r.st = fke_dataset_validate(d, path, e);
    if (r.st) fke_dataset_free(d);
    return r.st;
}

/* ---- image classification sets ------------------------------------------ */
/* The optional noise fields: true labels in range, T_true row-stochastic. */
static fke_status check_noise(const fke_imageset *s, const char *path, fke_status st,
                              fke_err *e)
{
    int n = s->n_cls;
    if (s->labels_true)
        for (int i = 0; i < s->N; i++)
            if (s->labels_true[i] < 0 || s->labels_true[i] >= n)
                return fke_fail(e, st, "%s: field /labels_true: value %d at position %d is out "
                                "of range 0..%d", path, s->labels_true[i], i, n - 1);
    if (s->T_true)
        for (int a = 0; a < n; a++) {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                float v = s->T_true[a * n + b];
                if (!(v >= 0.f && v <= 1.f))
                    return fke_fail(e, st, "%s: field /T_true: entry (%d,%d) = %g is not a "
                                    "probability", path, a, b, v);
                sum += v;
            }
            if (fabs(sum - 1.0) > 1e-3)
                return fke_fail(e, st, "%s: field /T_true: row %d sums to %g, not 1", path, a,
                                sum);
        }
    return FKE_OK;
}

int fke_file_is_imageset(const char *path)
{
    char *fmt = fke_h5_format_of(path);
    int yes = fmt && !strcmp(fmt, FKE_IMAGES_FORMAT);
    free(fmt);
    return yes;
}

void fke_imageset_free(fke_imageset *s)
{
    if (!s) return;
    free(s->images);
    free(s->labels);
    free(s->labels_true);
    free(s->T_true);
    fke_strings_free(s->class_names, s->class_names ? s->n_cls : 0);
    memset(s, 0, sizeof *s);
}

fke_status fke_imageset_save(const fke_imageset *s, const char *path, fke_err *e)
{
    if (!s || !path) return fke_fail(e, FKE_ERR_ARG, "imageset save: null argument");
    for (int i = 0; i < s->N; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->n_cls)
            return fke_fail(e, FKE_ERR_ARG, "%s: label %d of image %d is out of range 0..%d",
                            path, s->labels[i], i, s->n_cls - 1);
    FKE_TRY(check_noise(s, path, FKE_ERR_ARG, e));
    fke_h5w w;
    FKE_TRY(fke_h5w_create(&w, path, FKE_IMAGES_FORMAT, FKE_IMAGES_VERSION, e));
    hsize_t di[4] = {(hsize_t)s->N, (hsize_t)s->C, (hsize_t)s->H, (hsize_t)s->W};
    hsize_t dl[1] = {(hsize_t)s->N};
    fke_h5w_array(&w, w.f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, di, s->images, 1);
    fke_h5w_array(&w, w.f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dl, s->labels, 0);
    fke_h5w_strings(&w, w.f, "class_names", s->class_names, s->n_cls);
    if (s->labels_true)
        fke_h5w_array(&w, w.f, "labels_true", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dl, s->labels_true, 0);
    if (s->T_true) {
        hsize_t dT[2] = {(hsize_t)s->n_cls, (hsize_t)s->n_cls};
        fke_h5w_array(&w, w.f, "T_true", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dT, s->T_true, 0);
    }
    if (s->noise[0]) fke_h5w_attr_str(&w, w.f, "noise", s->noise);
    return fke_h5w_commit(&w, "image set", e);
}

fke_status fke_imageset_load(fke_imageset *s, const char *path, fke_err *e)
{
    return fke_imageset_load_image(s, path, NULL, 0, e);
}

fke_status fke_imageset_load_image(fke_imageset *s, const char *path, const void *image,
                                   size_t n, fke_err *e)
{
    memset(s, 0, sizeof *s);
    fke_h5r r;
    FKE_TRY(fke_h5r_open_image(&r, path, image, n, FKE_IMAGES_FORMAT, FKE_IMAGES_VERSION,
                               "image set", e));
    hid_t f = r.f;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->class_names = fke_h5r_strings(&r, f, "class_names", -1, &s->n_cls);
    int di[4] = {-1, -1, -1, -1};
    s->images = fke_h5r_array(&r, f, "images", H5T_INTEGER, H5T_NATIVE_UINT8, 4, di, 0);
    s->N = di[0], s->C = di[1], s->H = di[2], s->W = di[3];
    int dl[1] = {s->N};
    s->labels = fke_h5r_array(&r, f, "labels", H5T_INTEGER, H5T_NATIVE_INT32, 1, dl, 0);
    s->labels_true = fke_h5r_array(&r, f, "labels_true", H5T_INTEGER, H5T_NATIVE_INT32, 1, dl, 1);
    int dT[2] = {s->n_cls, s->n_cls};
    s->T_true = fke_h5r_array(&r, f, "T_true", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dT, 1);
    if (!r.st) {
        char *nz = fke_h5r_attr_str(f, "noise");
        if (nz) snprintf(s->noise, sizeof s->noise, "%s", nz);
        free(nz);
    }
    fke_h5r_close(&r);
    if (!r.st && s->n_cls < 1)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /class_names is empty", path);
    if (!r.st) r.st = check_noise(s, path, FKE_ERR_FORMAT, e);
    for (int i = 0; !r.st && i < s->N; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->n_cls)
            r.st = fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /labels: value %d at position %d is out of range 0..%d",
                            path, s->labels[i], i, s->n_cls - 1);
    if (r.st) fke_imageset_free(s);
    return r.st;
}
