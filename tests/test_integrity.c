/* test_integrity.c - fke never trusts a damaged file (issue 19): checksums on
 * every array, finite weights and a sane run state on load, strings as
 * other writers (h5py) store them, size claims bounded by the file, values
 * that do not fit refused, and every byte of a checkpoint or dataset
 * flipped in turn either refused or harmless. The files are made with the
 * fke program, then damaged with HDF5's own API or byte by byte. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/fmnist.h"
#include "fixtures.h"
#include "model/checkpoint.h"
#include "model/model_io.h"
#include "test.h"

static char out[1 << 16];

static unsigned char *slurp(const char *p, long *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) free(b), b = NULL;
    fclose(f);
    return b;
}

static int spill(const char *p, const unsigned char *b, long n)
{
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    int ok = fwrite(b, 1, (size_t)n, f) == (size_t)n;
    return fclose(f) == 0 && ok;
}

/* Rewrites root attribute name of file p as n values of type t. */
static int set_attr(const char *p, const char *name, hid_t t, const void *v, int n)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 0;
    H5Adelete(f, name);
    hsize_t d[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, t, v) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return H5Fclose(f) >= 0 && ok;
}

/* Replaces dataset name of file p by one of file type ft, dims, data (NULL:
 * chunked and never written). */
static int put_array(const char *p, const char *name, hid_t ft, hid_t mt, int nd,
                     const hsize_t *dims, const void *data)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 0;
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(nd, dims, NULL), dc = H5Pcreate(H5P_DATASET_CREATE);
    if (!data) {
        hsize_t ch[8];
        for (int i = 0; i < nd; i++) ch[i] = 1;
        H5Pset_chunk(dc, nd, ch);
    }
    hid_t ds = H5Dcreate2(f, name, ft, sp, H5P_DEFAULT, dc, H5P_DEFAULT);
    int ok = ds >= 0 && (!data || H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dc);
    H5Sclose(sp);
    return H5Fclose(f) >= 0 && ok;
}

/* Two h5py habits: str arrays as variable-length UTF-8, and fixed-length
 * names that fill their size with no terminator. */
static int put_strings(const char *p, const char *name, const char *const *s, int n, int vlen)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 0;
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) > len) len = strlen(s[i]);
    char *buf = calloc(n > 0 ? (size_t)n : 1u, len);
    if (vlen) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    } else {
        H5Tset_size(t, len);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
        for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    }
    hsize_t d[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = ds >= 0 && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vlen ? (void *)s : buf) >= 0;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
    return H5Fclose(f) >= 0 && ok;
}

static int put_vlen_attr(const char *p, const char *name, const char *v)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 0;
    H5Adelete(f, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, t, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return H5Fclose(f) >= 0 && ok;
}

static int copy(const char *a, const char *b)
{
    long n = 0;
    unsigned char *x = slurp(a, &n);
    int ok = x && spill(b, x, n);
    free(x);
    return ok;
}

/* Loads checkpoint p with its run state; the status, and the weights in *w. */
static fke_status load_ckpt(const char *p, float **w, size_t *n, fke_err *e)
{
    fke_model m;
    fke_ckpt_meta meta;
    fke_status st = fke_model_load(&m, p, 1, &meta, e);
    if (st != FKE_OK) return st;
    free(meta.config_json);
    if (w) {
        *n = m.P.total;
        *w = malloc(*n * sizeof **w);
        for (size_t k = 0; *w && k < *n; k++) (*w)[k] = (float)m.P.w[k];
    }
    fke_model_free(&m);
    return FKE_OK;
}

static void checkpoints(const char *ck)
{
    fke_err e = {""};
    float *w0 = NULL;
    size_t n0 = 0;
    FKE_CHECK(load_ckpt(ck, &w0, &n0, &e) == FKE_OK, "the checkpoint loads: %s", e.msg);
    if (!w0) return;
    hid_t f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
    char first[128] = "";
    H5Lget_name_by_idx(f, "params", H5_INDEX_NAME, H5_ITER_INC, 0, first, sizeof first, H5P_DEFAULT);
    char full[160];
    snprintf(full, sizeof full, "params/%s", first);
    hid_t ds = H5Dopen2(f, full, H5P_DEFAULT);
    hid_t dc = ds >= 0 ? H5Dget_create_plist(ds) : -1;
    unsigned flags = 0, cd[4];
    size_t ncd = 4;
    FKE_CHECK(dc >= 0 && H5Pget_filter_by_id2(dc, H5Z_FILTER_FLETCHER32, &flags, &ncd, cd, 0,
                                              NULL, NULL) >= 0,
              "checkpoint tensors carry Fletcher32 checksums");
    if (dc >= 0) H5Pclose(dc);
    if (ds >= 0) H5Dclose(ds);
    H5Fclose(f);

    /* D3: a NaN weight written through HDF5 (checksum recomputed) */
    const char *p = fke_test_path("nan.h5");
    copy(ck, p);
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ds = H5Dopen2(f, full, H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hssize_t cnt = H5Sget_simple_extent_npoints(sp);
    float *v = calloc((size_t)cnt, sizeof *v);
    H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    v[cnt / 2] = NAN;
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
    fke_status st = load_ckpt(p, NULL, NULL, &e);
    FKE_CHECK(st == FKE_ERR_NUMERIC && strstr(e.msg, "nan.h5") && strstr(e.msg, first) &&
                  strstr(e.msg, "nan"),
              "a NaN weight is refused, naming the file and tensor: %s", e.msg);

    /* D3: one flipped exponent bit in the file's bytes */
    long n = 0;
    unsigned char *b = slurp(ck, &n);
    v[cnt / 2] = 0;
    f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
    ds = H5Dopen2(f, full, H5P_DEFAULT);
    H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Fclose(f);
    unsigned char *hit = b && cnt >= 4 ? memmem(b, (size_t)n, v, 4 * sizeof(float)) : NULL;
    FKE_CHECK(hit != NULL, "tensor %s found in the file's bytes", first);
    if (hit) {
        hit[3] ^= 0x40; /* bit 30: the exponent's top bit, -0.088 -> -3e37 */
        p = fke_test_path("bitflip.h5");
        spill(p, b, n);
        st = load_ckpt(p, NULL, NULL, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "bitflip.h5") && strstr(e.msg, first) &&
                      strstr(e.msg, "checksum"),
                  "a flipped bit is a checksum mismatch naming the tensor: %s", e.msg);
        hit[3] ^= 0x40;
    }
    free(v);

    /* 250 bytes spread over the file flipped in turn: refused, or the same weights */
    int refused = 0, same = 0, changed = 0;
    p = fke_test_path("flip.h5");
    for (long at = 7; b && at < n; at += n / 250 + 1) {
        b[at] ^= 0x5a;
        spill(p, b, n);
        b[at] ^= 0x5a;
        float *w = NULL;
        size_t nw = 0;
        if (load_ckpt(p, &w, &nw, &e) != FKE_OK) refused++;
        else if (w && nw == n0 && !memcmp(w, w0, n0 * sizeof *w)) same++;
        else changed++;
        free(w);
    }
    printf("  checkpoint of %ld bytes, 250 bytes flipped in turn: %d refused, %d harmless, %d "
           "changed weights\n", n, refused, same, changed);
    FKE_CHECK(changed == 0 && refused > 0, "no damaged checkpoint loads with other weights (%d)",
              changed);
    free(b);

    /* D4: impossible run states */
    long long big = 1000000000000000LL, neg = -5;
    uint64_t zero[4] = {0, 0, 0, 0};
    double nan = NAN;
    struct {
        const char *name;
        hid_t t;
        const void *v;
        int n;
    } bad[] = {{"step", H5T_NATIVE_LLONG, &big, 1},
               {"step", H5T_NATIVE_LLONG, &neg, 1},
               {"rng", H5T_NATIVE_UINT64, zero, 4},
               {"best", H5T_NATIVE_DOUBLE, &nan, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = fke_test_path("state%zu.h5", i);
        copy(ck, p);
        FKE_CHECK(set_attr(p, bad[i].name, bad[i].t, bad[i].v, bad[i].n), "rewrite %s",
                  bad[i].name);
        char want[64];
        snprintf(want, sizeof want, "attribute '%s'", bad[i].name);
        st = load_ckpt(p, NULL, NULL, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, want) && strstr(e.msg, p),
                  "run state %s refused: %s", bad[i].name, e.msg);
    }
    /* D13: a checkpoint without run state (the path ASan's leak check watches) */
    p = fke_test_path("nostate.h5");
    copy(ck, p);
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "best");
    H5Fclose(f);
    st = load_ckpt(p, NULL, NULL, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "run state"), "no run state: %s", e.msg);
    free(w0);
}

static void datasets(const char *data)
{
    fke_err e = {""};
    fke_dataset d0, d;
    FKE_CHECK(fke_dataset_load(&d0, data, &e) == FKE_OK, "the dataset loads: %s", e.msg);

    /* D5: strings as h5py writes them */
    const char *p = fke_test_path("h5py.h5");
    copy(data, p);
    const char *cats[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    int nc = d0.n_cat < 10 ? d0.n_cat : 10;
    const char *occ[64];
    char occbuf[64][16];
    int no = d0.n_occ < 64 ? d0.n_occ : 64;
    for (int i = 0; i < no; i++) {
        snprintf(occbuf[i], sizeof occbuf[i], i ? "o%d" : "caf\xc3\xa9", i);
        occ[i] = occbuf[i];
    }
    FKE_CHECK(put_strings(p, "names/category", cats, nc, 0) &&
                  put_strings(p, "names/occasion", occ, no, 1) &&
                  put_vlen_attr(p, "generator", "h5py \xe2\x9c\x93"),
              "h5py-style strings written");
    fke_status st = fke_dataset_load(&d, p, &e);
    FKE_CHECK(st == FKE_OK || strstr(e.msg, "names"), "h5py strings load: %s", e.msg);
    if (st == FKE_OK) {
        FKE_CHECK(!strcmp(d.cat_names[0], "T-shirt/top"),
                  "a fixed-length name filling its size keeps its last letter: '%s'",
                  d.cat_names[0]);
        FKE_CHECK(!strcmp(d.occ_names[0], "caf\xc3\xa9"), "UTF-8 variable-length names: '%s'",
                  d.occ_names[0]);
        FKE_CHECK(!strcmp(d.generator, "h5py \xe2\x9c\x93"),
                  "a variable-length string attribute: '%s'", d.generator);
        fke_dataset_free(&d);
    }

    /* D7: sizes that the file cannot hold */
    p = fke_test_path("huge.h5");
    copy(data, p);
    hsize_t hd[4] = {16, 3, (hsize_t)1 << 30, (hsize_t)1 << 30};
    FKE_CHECK(put_array(p, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, hd, NULL),
              "an image array claiming 16x3x2^30x2^30");
    st = fke_dataset_load(&d, p, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "huge.h5") && strstr(e.msg, "/images"),
              "refused: %s", e.msg);
    hsize_t hd2[4] = {(hsize_t)d0.N, 3, 1000, 1000};
    FKE_CHECK(put_array(p, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, hd2, NULL),
              "an image array claiming Nx3x1000x1000 with no data");
    st = fke_dataset_load(&d, p, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "claims") && strstr(e.msg, "/images"),
              "a claim beyond the file's bytes refused: %s", e.msg);

    /* D12: an int32 image holding 300 is not saturated to 255 */
    p = fke_test_path("int32.h5");
    copy(data, p);
    size_t ni = (size_t)d0.N * 3 * d0.img * d0.img;
    int32_t *im = malloc(ni * sizeof *im);
    for (size_t k = 0; im && k < ni; k++) im[k] = d0.images[k];
    if (im) im[5] = 300;
    hsize_t hd3[4] = {(hsize_t)d0.N, 3, (hsize_t)d0.img, (hsize_t)d0.img};
    FKE_CHECK(im && put_array(p, "images", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, hd3, im),
              "images as int32");
    st = fke_dataset_load(&d, p, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "/images") && strstr(e.msg, "fit"),
              "300 in a byte field refused: %s", e.msg);
    if (im) im[5] = 200;
    put_array(p, "images", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, hd3, im);
    st = fke_dataset_load(&d, p, &e);
    FKE_CHECK(st == FKE_OK && d.images[5] == 200, "int32 values that fit load: %s", e.msg);
    if (st == FKE_OK) fke_dataset_free(&d);
    free(im);

    /* D10: a name that is not UTF-8 */
    p = fke_test_path("latin1.h5");
    copy(data, p);
    snprintf(occbuf[0], sizeof occbuf[0], "caf\xe9");
    put_strings(p, "names/occasion", occ, no, 0);
    st = fke_dataset_load(&d, p, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "names/occasion") && strstr(e.msg, "UTF-8"),
              "a name that is not UTF-8 refused: %s", e.msg);

    /* 250 bytes spread over the file flipped in turn: refused, or the same content */
    long n = 0;
    unsigned char *b = slurp(data, &n);
    int refused = 0, same = 0, changed = 0;
    p = fke_test_path("dflip.h5");
    size_t NG = (size_t)d0.N * d0.G;
    for (long at = 3; b && at < n; at += n / 250 + 1) {
        b[at] ^= 0xa5;
        spill(p, b, n);
        b[at] ^= 0xa5;
        if (fke_dataset_load(&d, p, &e) != FKE_OK) {
            refused++;
            continue;
        }
        int eq = d.N == d0.N && d.G == d0.G && d.A == d0.A && d.L == d0.L &&
                 FKE_SAME(d.images, d0.images, (size_t)d0.N * 3 * d0.img * d0.img) &&
                 FKE_SAME(d.crops, d0.crops, NG * 3 * d0.crop * d0.crop) &&
                 FKE_SAME(d.cat, d0.cat, NG) && FKE_SAME(d.occ, d0.occ, d0.N) &&
                 FKE_SAME(d.attr, d0.attr, NG * d0.A) && FKE_SAME(d.tokens, d0.tokens, (size_t)d0.N * d0.L) &&
                 FKE_SAME(d.boxes, d0.boxes, NG * 4) && FKE_SAME(d.clean, d0.clean, d0.N) &&
                 !strcmp(d.generator, d0.generator);
        for (int i = 0; eq && i < d0.n_cat; i++) eq = !strcmp(d.cat_names[i], d0.cat_names[i]);
        for (int i = 0; eq && i < d0.V; i++) eq = !strcmp(d.vocab[i], d0.vocab[i]);
        if (eq) same++;
        else changed++;
        fke_dataset_free(&d);
    }
    printf("  dataset of %ld bytes, 250 bytes flipped in turn: %d refused, %d harmless, %d "
           "changed\n", n, refused, same, changed);
    FKE_CHECK(changed == 0 && refused > 0, "no damaged dataset loads with other content (%d)",
              changed);
    free(b);
    fke_dataset_free(&d0);
}

/* D6: fke data info on a set of 20 garment slots (read past hist[16]) */
static void many_garments(const char *F)
{
    fke_err e = {""};
    fke_dataset d;
    memset(&d, 0, sizeof d);
    d.N = 4, d.G = 20, d.A = 1, d.L = 4, d.img = 8, d.crop = 4, d.C = 3;
    d.n_occ = 2, d.n_cat = 2, d.n_val[0] = 2, d.V = 3;
    FKE_CHECK(fke_dataset_alloc(&d, &e) == FKE_OK, "alloc: %s", e.msg);
    static const char *on[] = {"a", "b"}, *an[] = {"colour"}, *vn[] = {"v0", "v1", "v2"};
    d.occ_names = fke_strings_dup(on, 2);
    d.cat_names = fke_strings_dup(on, 2);
    d.attr_names = fke_strings_dup(an, 1);
    d.val_names = calloc(2, sizeof *d.val_names);
    d.val_names[0] = fke_strings_dup(vn, 2);
    d.vocab = fke_strings_dup(vn, 3);
    for (int i = 0; i < d.N; i++) {
        d.n_garments[i] = 17 + i % 4;
        for (int g = 0; g < d.n_garments[i]; g++) {
            int32_t *bx = d.boxes + ((size_t)i * d.G + g) * 4;
            bx[0] = 0, bx[1] = 0, bx[2] = 4, bx[3] = 4;
        }
    }
    const char *p = fke_test_path("g20.h5");
    FKE_CHECK(fke_dataset_save(&d, p, &e) == FKE_OK, "save G=20: %s", e.msg);
    fke_dataset_free(&d);
    int rc = fke_test_sh(out, sizeof out, "%s data info %s", F, p);
    FKE_CHECK(rc == 0 && strstr(out, "20: 25.0%") && strstr(out, "17: 25.0%"),
              "data info with G=20 (rc %d): %.300s", rc, out);
}

/* D13: a bad label in an IDX pair (the path ASan's leak check watches) */
static void idx(void)
{
    fke_err e = {""};
    const char *dir = fke_test_path("fm");
    mkdir(dir, 0777);
    char p[600];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    gzFile g = gzopen(p, "wb");
    unsigned char h[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28}, px[2 * 784] = {0};
    gzwrite(g, h, 16), gzwrite(g, px, sizeof px), gzclose(g);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte.gz", dir);
    g = gzopen(p, "wb");
    unsigned char hl[10] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 12};
    gzwrite(g, hl, 10), gzclose(g);
    fke_imageset s;
    fke_status st = fke_fmnist_read(dir, 0, &s, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "label 12"), "a bad label: %s", e.msg);
    /* D15: a small file claiming 5e6 images is refused before any allocation */
    snprintf(p, sizeof p, "%s/big-idx3-ubyte.gz", dir);
    g = gzopen(p, "wb");
    unsigned char hb[16] = {0, 0, 8, 3, 0, 0x4c, 0x4b, 0x40, 0, 0, 0, 28, 0, 0, 0, 28};
    gzwrite(g, hb, 16), gzwrite(g, px, 100), gzclose(g);
    int dims[3];
    uint8_t *data = NULL;
    st = fke_idx_read(p, 3, dims, &data, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "claims") && !data,
              "a claim of 5e6 images in a small file: %s", e.msg);
    /* damaged gzip data is named as such, not as a truncated file */
    long n = 0;
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    unsigned char *b = slurp(p, &n);
    if (b && n > 30) {
        b[n - 6] ^= 0xff; /* the CRC of the gzip trailer */
        spill(p, b, n);
        st = fke_idx_read(p, 3, dims, &data, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "corrupt gzip"), "gzip damage: %s", e.msg);
        free(data);
    }
    free(b);
}

/* D10, D11: label names with '/', ',' and quotes in eval's file names and CSV cells */
static void names_out(const char *F, const char *data, const char *ck)
{
    fke_err e = {""};
    fke_dataset d;
    if (fke_dataset_load(&d, data, &e) != FKE_OK) return;
    const char *p = fke_test_path("named.h5"), *dir = fke_test_path("evalout");
    copy(data, p);
    const char *an[FKE_MAX_ATTR], *vn[64];
    char ab[FKE_MAX_ATTR][16], vb[64][16];
    for (int k = 0; k < d.A; k++) snprintf(ab[k], 16, k ? "attr%d" : "sha/de", k), an[k] = ab[k];
    for (int v = 0; v < d.n_val[0] && v < 64; v++)
        snprintf(vb[v], 16, v ? "v%d" : "dark, \"deep\"", v), vn[v] = vb[v];
    put_strings(p, "names/attribute", an, d.A, 0);
    put_strings(p, "names/values_0", vn, d.n_val[0], 0);
    int rc = fke_test_sh(out, sizeof out, "%s eval %s %s --out %s --json", F, ck, p, dir);
    char csv[700];
    snprintf(csv, sizeof csv, "%s/confusion_sha_de.csv", dir);
    long n = 0;
    char *t = (char *)slurp(csv, &n);
    if (t) t[n] = 0;
    FKE_CHECK(rc == 0 && t && strstr(t, ",\"dark, \"\"deep\"\"\","),
              "a name with '/' is a safe file name, a cell with ',' and '\"' is quoted (rc %d): "
              "%.200s", rc, t ? t : out);
    free(t);
    /* a CSV that cannot be written leaves nothing behind */
    rc = fke_test_sh(out, sizeof out, "sh -c \"trap '' XFSZ; ulimit -f 0; %s eval %s %s --out "
                     "%s/full 2>&1\"; echo LS:; ls %s/full", F, ck, p, dir, dir);
    const char *ls = strstr(out, "LS:");
    FKE_CHECK(strstr(out, "failed") && ls && !strstr(ls, ".csv"),
              "a failed CSV write leaves no file or temporary: %.300s", out);
    fke_dataset_free(&d);
}

/* The readers over file images in memory (fke_h5r_open_image, the fuzz
 * targets' way in) read what the file readers read, and refuse the same
 * damage with messages naming the name given. */
static void file_images(const char *data, const char *ck)
{
    fke_err e = {""};
    long n = 0;
    unsigned char *b = slurp(data, &n);
    fke_dataset d0, d;
    FKE_CHECK(b && fke_dataset_load(&d0, data, &e) == FKE_OK, "dataset loads: %s", e.msg);
    fke_status st = fke_dataset_load_image(&d, "mem.h5", b, (size_t)n, &e);
    FKE_CHECK(st == FKE_OK, "dataset image loads: %s", e.msg);
    if (st == FKE_OK) {
        size_t NG = (size_t)d0.N * d0.G;
        FKE_CHECK(d.N == d0.N && d.G == d0.G && d.A == d0.A && d.L == d0.L &&
                      FKE_SAME(d.images, d0.images, (size_t)d0.N * 3 * d0.img * d0.img) &&
                      FKE_SAME(d.crops, d0.crops, NG * 3 * d0.crop * d0.crop) &&
                      FKE_SAME(d.cat, d0.cat, NG) && FKE_SAME(d.tokens, d0.tokens, (size_t)d0.N * d0.L) &&
                      !strcmp(d.cat_names[0], d0.cat_names[0]) && !strcmp(d.path, "mem.h5"),
                  "the image reads as the file does");
        fke_dataset_free(&d);
    }
    fke_dataset_free(&d0);
    st = fke_dataset_load_image(&d, "cut.h5", b, (size_t)n / 2, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "cut.h5"), "half an image: %s", e.msg);
    st = fke_dataset_load_image(&d, "text.h5", "{\"a\": 1}", 8, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "text.h5") && strstr(e.msg, "JSON"),
              "JSON bytes: %s", e.msg);
    st = fke_dataset_load_image(&d, "empty.h5", b, 0, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "empty"), "no bytes: %s", e.msg);
    fke_imageset s;
    st = fke_imageset_load_image(&s, "set.h5", b, (size_t)n, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "set.h5") && strstr(e.msg, "format"),
              "a dataset is not an image set: %s", e.msg);
    free(b);

    b = slurp(ck, &n);
    float *w0 = NULL;
    size_t n0 = 0;
    FKE_CHECK(b && load_ckpt(ck, &w0, &n0, &e) == FKE_OK, "checkpoint loads: %s", e.msg);
    fke_model m;
    fke_ckpt_meta meta, meta0;
    char *json = NULL;
    st = fke_checkpoint_read_config_image("mem.h5", b, (size_t)n, &json, &e);
    FKE_CHECK(st == FKE_OK && json, "config from the image: %s", e.msg);
    fke_config c;
    fke_config_defaults(&c);
    if (st == FKE_OK && fke_config_from_json(&c, json, "mem.h5", &e) == FKE_OK &&
        fke_model_init(&m, &c, &e) == FKE_OK) {
        st = fke_checkpoint_load_image("mem.h5", b, (size_t)n, &m.P, 1, &meta, &e);
        FKE_CHECK(st == FKE_OK && m.P.total == n0, "weights from the image: %s", e.msg);
        int same = st == FKE_OK;
        for (size_t k = 0; same && k < n0; k++) same = (float)m.P.w[k] == w0[k];
        FKE_CHECK(same, "the image's weights are the file's");
        fke_model_free(&m);
        fke_model_load(&m, ck, 1, &meta0, &e);
        FKE_CHECK(st == FKE_OK && meta.step == meta0.step && meta.rng[0] == meta0.rng[0],
                  "the image's run state is the file's");
        if (st == FKE_OK) free(meta.config_json);
        free(meta0.config_json);
        fke_model_free(&m);
    }
    free(json);
    fke_ckpt_names nm;
    int found = 0;
    st = fke_checkpoint_read_names_image("mem.h5", b, (size_t)n, &nm, &found, &e);
    FKE_CHECK(st == FKE_OK && found && nm.n_cat > 0, "names from the image: %s", e.msg);
    if (st == FKE_OK) fke_ckpt_names_free(&nm);
    st = fke_checkpoint_read_names_image("cut.h5", b, (size_t)n / 3, &nm, &found, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "cut.h5"), "a third of a checkpoint: %s",
              e.msg);
    free(w0);
    free(b);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!fke_test_tmpdir("integrity")) return 1;
    char F[600];
    snprintf(F, sizeof F, "%s/fke", fke_test_build_dir());
    const char *data = fke_test_path("a.h5"), *run = fke_test_path("run"),
               *cfg = fke_test_path("tiny.json");
    int rc = fke_test_sh(out, sizeof out, "%s data synth --out %s --posts 24 --seed 3", F, data);
    FKE_CHECK(rc == 0, "synth: %s", out);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"preset\": \"fke-small\", \"chans\": [4, 4, 8], \"F\": 8, \"H\": 8, \"H2\": 8, "
             "\"M\": 8, \"D\": 8, \"Co\": 4, \"T\": 8, \"train_data\": \"%s\", \"out_dir\": "
             "\"%s\", \"steps\": 2, \"threads\": 1, \"eval_every\": 1000, \"log_every\": 1000}",
             data, run);
    fke_test_write_text(cfg, json);
    rc = fke_test_sh(out, sizeof out, "%s train %s --quiet", F, cfg);
    FKE_CHECK(rc == 0, "tiny training: %s", out);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/last.h5", run);
    checkpoints(ck);
    names_out(F, data, ck);
    datasets(data);
    file_images(data, ck);
    many_garments(F);
    idx();
    return fke_test_finish("integrity");
}
