/* fmnist.c - see fmnist.h. IDX: a big-endian magic 0x000008NN (unsigned
 * bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes. */
#include "data/fmnist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

const char *const fke_fmnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};

/* 0: read; -1: the file ended first; -2: not a valid gzip stream. */
static int read_all(gzFile g, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(g, p, chunk), err = 0;
        if (got < 0 || (gzerror(g, &err), err != Z_OK && err != Z_BUF_ERROR)) return -2;
        if (got == 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static const char *damage(int rd)
{
    return rd == -2 ? "corrupt gzip data (not a valid compressed IDX file)" : "truncated IDX file";
}

fke_status fke_idx_read(const char *path, int want_ndim, int dims[3], uint8_t **data,
                        fke_err *e)
{
    *data = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return fke_fail(e, FKE_ERR_IO, "%s: no such file", path);
    gzFile g = gzopen(path, "rb"); /* reads plain files too */
    if (!g) return fke_fail(e, FKE_ERR_IO, "%s: cannot open", path);
    unsigned char h[16];
    fke_status s = FKE_OK;
    int rd = read_all(g, h, 4);
    if (rd != 0) {
        s = fke_fail(e, FKE_ERR_FORMAT, "%s: %s (no header)", path, damage(rd));
        goto out;
    }
    uint32_t magic = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (magic != (0x0800u | (uint32_t)want_ndim)) {
        s = fke_fail(e, FKE_ERR_FORMAT,
                     "%s: bad IDX magic number 0x%08x, expected 0x%08x (unsigned bytes, %d "
                     "dimension%s)",
                     path, magic, 0x0800u | (uint32_t)want_ndim, want_ndim,
                     want_ndim > 1 ? "s" : "");
        goto out;
    }
    if ((rd = read_all(g, h, 4u * (unsigned)want_ndim)) != 0) {
        s = fke_fail(e, FKE_ERR_FORMAT, "%s: %s (header sizes)", path, damage(rd));
        goto out;
    }
    size_t n = 1;
    for (int i = 0; i < want_ndim; i++) {
        uint32_t v = (uint32_t)h[4 * i] << 24 | (uint32_t)h[4 * i + 1] << 16 |
                     (uint32_t)h[4 * i + 2] << 8 | h[4 * i + 3];
        if (v == 0 || v > 10000000u) {
            s = fke_fail(e, FKE_ERR_FORMAT, "%s: IDX dimension %d has an impossible size %u",
                         path, i, v);
            goto out;
        }
        dims[i] = (int)v;
        n *= v;
    }
    if (n > (size_t)1 << 32) {
        s = fke_fail(e, FKE_ERR_FORMAT, "%s: IDX data too large (%zu bytes)", path, n);
        goto out;
    }
    /* the claim must fit the file: its size when plain, 1100 times it when
     * gzip'ed (deflate does not pass 1032:1), so that a damaged header
     * cannot ask for gigabytes */
    double most = gzdirect(g) ? (double)st.st_size : 1100.0 * (double)st.st_size;
    if ((double)n > most) {
        s = fke_fail(e, FKE_ERR_FORMAT, "%s: the IDX header claims %zu data bytes, more than "
                     "this %lld-byte file can hold (truncated or corrupt?)", path, n,
                     (long long)st.st_size);
        goto out;
    }
    *data = malloc(n);
    if (!*data) {
        s = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for %zu bytes", path, n);
        goto out;
    }
    rd = read_all(g, *data, n);
    if (rd == 0 && !gzdirect(g)) { /* the gzip CRC is checked only at the stream's end */
        unsigned char more;
        int err = Z_OK;
        if (gzread(g, &more, 1) < 0 || (gzerror(g, &err), err != Z_OK && err != Z_BUF_ERROR))
            rd = -2;
    }
    if (rd != 0) {
        s = fke_fail(e, FKE_ERR_FORMAT, "%s: %s (expected %zu data bytes)", path, damage(rd), n);
        free(*data);
        *data = NULL;
    }
out:
    gzclose(g);
    return s;
}

static void path_of(const char *dir, int test, int labels, char *out, size_t n)
{
    snprintf(out, n, "%s/%s-%s-idx%d-ubyte.gz", dir, test ? "t10k" : "train",
             labels ? "labels" : "images", labels ? 1 : 3);
}

void fke_fmnist_image_path(const char *dir, int test, char *out, size_t n)
{
    path_of(dir, test, 0, out, n);
}

fke_status fke_fmnist_read(const char *dir, int test, fke_imageset *s, fke_err *e)
{
    memset(s, 0, sizeof *s);
    char pi[500], pl[500];
    path_of(dir, test, 0, pi, sizeof pi);
    path_of(dir, test, 1, pl, sizeof pl);
    int di[3], dl[3];
    uint8_t *img, *lab;
    FKE_TRY(fke_idx_read(pi, 3, di, &img, e));
    fke_status st = fke_idx_read(pl, 1, dl, &lab, e);
    if (st) {
        free(img);
        return st;
    }
    if (dl[0] != di[0] || di[1] != 28 || di[2] != 28) {
        free(img);
        free(lab);
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: %d labels for %d images of %dx%d (expected 28x28, as many labels "
                        "as images in %s)",
                        pl, dl[0], di[0], di[1], di[2], pi);
    }
    s->labels = malloc((size_t)dl[0] * sizeof *s->labels);
    s->class_names = fke_strings_dup(fke_fmnist_classes, 10);
    s->n_cls = 10; /* so that fke_imageset_free frees the names on the error paths below */
    if (!s->labels || !s->class_names) {
        free(img);
        free(lab);
        fke_imageset_free(s);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", pl);
    }
    for (int i = 0; i < dl[0]; i++) {
        if (lab[i] > 9) {
            int v = lab[i];
            free(img);
            free(lab);
            fke_imageset_free(s);
            return fke_fail(e, FKE_ERR_FORMAT, "%s: label %d of image %d is out of range 0..9",
                            pl, v, i);
        }
        s->labels[i] = lab[i];
    }
    free(lab);
    s->images = img;
    s->N = di[0];
    s->C = 1;
    s->H = di[1];
    s->W = di[2];
    s->n_cls = 10;
    snprintf(s->path, sizeof s->path, "%s", pi);
    return FKE_OK;
}
