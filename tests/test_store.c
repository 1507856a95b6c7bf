/* test_store.c - the JPEG pixel store of post datasets (dataset.h,
 * datasets/README.md "Pixel storage"): a compressed set round-trips through
 * its file, the loader's batches from it equal those of the same set decoded
 * to raw bytes (at 1 and 2 threads) and lie within JPEG's error of the raw
 * set's, a corrupt stream inside a file is an error naming the post, and raw
 * files are written as before.
 *
 *   test_store --bench FILE [BATCHES [B]]   the loader's posts/s on FILE
 *   (datasets/README.md quotes it at fke-paper sizes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data/dataset.h"
#include "data/image.h"
#include "data/fmnist.h"
#include "data/loader.h"
#include "data/synth.h"
#include "fixtures.h"
#include "test.h"

static uint8_t *read_all(const char *p, long *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) free(b), b = NULL;
    fclose(f);
    return b;
}

static int write_all(const char *p, const uint8_t *b, long n)
{
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    int ok = fwrite(b, 1, (size_t)n, f) == (size_t)n;
    return fclose(f) == 0 && ok;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Runs a shuffled, paired loader for nb batches; returns the batches'
 * pixels concatenated (img then crops, per batch), malloc'ed. */
static float *batches(const fke_dataset *d, int B, int nb, int threads, size_t *n, fke_err *e)
{
    fke_set_threads(threads);
    fke_loader ld;
    *n = 0;
    if (fke_loader_init(&ld, d, B, 1, 1, 7, e)) return NULL;
    size_t ni = (size_t)B * 3 * d->img * d->img, nc = (size_t)B * d->G * 3 * d->crop * d->crop;
    float *out = malloc((ni + nc) * nb * sizeof *out);
    for (int k = 0; out && k < nb; k++) {
        fke_batch *b;
        if (fke_loader_next(&ld, &b, e)) {
            free(out);
            out = NULL;
            break;
        }
        memcpy(out + k * (ni + nc), b->img_x, ni * sizeof *out);
        memcpy(out + k * (ni + nc) + ni, b->crop_x, nc * sizeof *out);
    }
    fke_loader_free(&ld);
    fke_set_threads(1);
    if (out) *n = (ni + nc) * nb;
    return out;
}

/* The lazy store (dataset.h fke_dataset_lazy_above): the same pixels and
 * batches as the loaded bytes, a save that gives the same file, and CRC-32s
 * that catch a flipped byte inside a stream, lazily and loaded, where the
 * JPEG decoder alone may not. j is the in-memory store saved as pj. */
static void test_lazy(const fke_dataset *j, const char *pj, int post, int slot)
{
    fke_err e = {""};
    fke_dataset_lazy_above(0);
    fke_dataset l;
    fke_status st = fke_dataset_load(&l, pj, &e);
    fke_dataset_lazy_above((int64_t)256 << 20);
    FKE_CHECK(st == FKE_OK && l.jpeg_lazy && !l.jpeg && l.jpeg_crc, "lazy load: %s", e.msg);
    if (st != FKE_OK) return;
    long same = 0, all = 0;
    uint8_t a[3 * 64 * 64], b[3 * 64 * 64];
    for (int i = 0; i < j->N; i++)
        for (int s = 0; s <= j->n_garments[i]; s++, all++) {
            size_t n = (size_t)3 * fke_dataset_side(j, s) * fke_dataset_side(j, s);
            same += fke_dataset_pixels(j, i, s, a, &e) == FKE_OK &&
                    fke_dataset_pixels(&l, i, s, b, &e) == FKE_OK && !memcmp(a, b, n);
        }
    FKE_CHECK(same == all, "lazy pixels: %ld of %ld pictures and crops as the loaded store's", same, all);
    size_t na = 0, nb = 0;
    float *xa = batches(j, 16, 3, 2, &na, &e), *xb = batches(&l, 16, 3, 2, &nb, &e);
    FKE_CHECK(xa && xb && na == nb && !memcmp(xa, xb, na * sizeof *xa),
              "lazy batches (2 threads) equal the loaded store's");
    free(xa), free(xb);
    const char *p2 = fke_test_path("lazy-saved.h5");
    FKE_CHECK(fke_dataset_save(&l, p2, &e) == FKE_OK, "save a lazy store: %s", e.msg);
    long n1 = 0, n2 = 0;
    uint8_t *f1 = read_all(pj, &n1), *f2 = read_all(p2, &n2);
    FKE_CHECK(f1 && f2 && n1 == n2 && !memcmp(f1, f2, (size_t)n1), "a lazy store saves the same file");
    /* one bit flipped in the middle of a stream: the CRC names it */
    long k = (long)post * (j->G + 1) + slot;
    long at = (long)(l.jpeg_base + j->jpeg_off[k] + (j->jpeg_off[k + 1] - j->jpeg_off[k]) / 2);
    fke_dataset_free(&l);
    const char *pf = fke_test_path("flipped.h5");
    if (f1 && at < n1) {
        f1[at] ^= 0x10;
        write_all(pf, f1, n1);
        char want[64];
        snprintf(want, sizeof want, "post %d garment %d", post, slot - 1);
        for (int lazy = 0; lazy < 2; lazy++) {
            fke_dataset_lazy_above(lazy ? 0 : (int64_t)256 << 20);
            fke_dataset c;
            fke_status ld = fke_dataset_load(&c, pf, &e);
            uint8_t px[3 * 64 * 64];
            st = ld == FKE_OK ? fke_dataset_pixels(&c, post, slot, px, &e) : ld;
            FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "CRC-32") && strstr(e.msg, want) &&
                          strstr(e.msg, "flipped.h5"),
                      "%s: a flipped bit in a stream: %s", lazy ? "lazy" : "loaded", e.msg);
            if (ld == FKE_OK) fke_dataset_free(&c);
        }
        fke_dataset_lazy_above((int64_t)256 << 20);
    }
    free(f1), free(f2);
}

static void test_store(const fke_imageset *fm)
{
    fke_err e = {""};
    fke_synth_opts so;
    fke_synth_defaults(&so, 0);
    so.posts = 64;
    so.seed = 5;
    fke_dataset raw;
    if (fke_synth_generate(&so, fm, NULL, &raw, NULL, &e)) {
        FKE_CHECK(0, "synth: %s", e.msg);
        return;
    }
    /* raw files: written as before, and a raw set's store is left alone */
    const char *praw = fke_test_path("raw.h5"), *praw2 = fke_test_path("raw2.h5");
    FKE_CHECK(fke_dataset_save(&raw, praw, &e) == FKE_OK, "%s", e.msg);
    fke_dataset r1;
    FKE_CHECK(fke_dataset_load(&r1, praw, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(r1.jpeg_quality == 0 && r1.images && r1.crops && !r1.jpeg, "raw set loads raw");
    FKE_CHECK(fke_dataset_set_store(&r1, 0, &e) == FKE_OK && r1.images, "raw to raw: no change");
    FKE_CHECK(fke_dataset_save(&r1, praw2, &e) == FKE_OK, "%s", e.msg);
    long n1 = 0, n2 = 0;
    uint8_t *b1 = read_all(praw, &n1), *b2 = read_all(praw2, &n2);
    FKE_CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, (size_t)n1), "raw file re-saved: same bytes");
    free(b1), free(b2);
    fke_dataset_free(&r1);

    /* a compressed set: save, load, same streams and labels */
    fke_dataset j;
    FKE_CHECK(fke_dataset_load(&j, praw, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_dataset_set_store(&j, 92, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(!j.images && !j.crops && j.jpeg && j.jpeg_quality == 92, "compressed in memory");
    const char *pj = fke_test_path("jpeg.h5");
    FKE_CHECK(fke_dataset_save(&j, pj, &e) == FKE_OK, "%s", e.msg);
    fke_dataset j2;
    FKE_CHECK(fke_dataset_load(&j2, pj, &e) == FKE_OK, "%s", e.msg);
    long ns = (long)j.N * (j.G + 1);
    int same = j2.N == j.N && j2.G == j.G && j2.img == j.img && j2.crop == j.crop &&
               j2.jpeg_quality == 92 && FKE_SAME(j2.jpeg_off, j.jpeg_off, ns + 1) &&
               FKE_SAME(j2.jpeg, j.jpeg, j.jpeg_off[ns]) &&
               FKE_SAME(j2.n_garments, j.n_garments, j.N) &&
               FKE_SAME(j2.boxes, j.boxes, (size_t)j.N * j.G * 4) &&
               FKE_SAME(j2.cat, j.cat, (size_t)j.N * j.G) &&
               FKE_SAME(j2.attr, j.attr, (size_t)j.N * j.G * j.A) &&
               FKE_SAME(j2.tokens, j.tokens, (size_t)j.N * j.L) && FKE_SAME(j2.occ, j.occ, j.N) &&
               !strcmp(j2.generator, j.generator);
    FKE_CHECK(same, "compressed set round-trips through its file");
    long fr = 0, fj = 0;
    free(read_all(praw, &fr));
    free(read_all(pj, &fj));
    printf("  %d posts at %d/%d px: raw file %ld bytes, JPEG q92 file %ld (pixels %lld of %lld)\n",
           j.N, j.img, j.crop, fr, fj, (long long)fke_dataset_pixel_bytes(&j),
           (long long)fke_dataset_pixel_bytes(&raw));

    /* decoded: within JPEG q92 4:4:4 error of the raw bytes */
    fke_dataset dec;
    FKE_CHECK(fke_dataset_load(&dec, pj, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_dataset_set_store(&dec, 0, &e) == FKE_OK && dec.images && !dec.jpeg, "%s",
              e.msg);
    double sum = 0;
    int mx = 0;
    size_t np = (size_t)raw.N * 3 * raw.img * raw.img;
    for (size_t k = 0; k < np; k++) {
        int df = abs((int)dec.images[k] - raw.images[k]);
        sum += df;
        if (df > mx) mx = df;
    }
    double mean = sum / np;
    printf("  decoded whole images vs raw: mean |diff| %.3f, max %d (of 255)\n", mean, mx);
    FKE_CHECK(mean < 1.5 && mx < 64, "JPEG error: mean %.3f max %d", mean, mx);
    size_t bad_pad = 0;
    size_t nc = (size_t)3 * raw.crop * raw.crop;
    for (int i = 0; i < raw.N; i++)
        for (int g = raw.n_garments[i]; g < raw.G; g++)
            for (size_t k = 0; k < nc; k++) bad_pad += dec.crops[((size_t)i * raw.G + g) * nc + k];
    FKE_CHECK(bad_pad == 0, "padding crops decode to zeros");

    /* loader: compressed == decoded, at 1 and 2 threads; near the raw set */
    size_t na = 0, nb = 0, nc2 = 0, nr = 0;
    float *xa = batches(&j2, 16, 3, 1, &na, &e);
    FKE_CHECK(xa != NULL, "loader on the compressed set: %s", e.msg);
    float *xb = batches(&j2, 16, 3, 2, &nb, &e);
    float *xc = batches(&dec, 16, 3, 1, &nc2, &e);
    float *xr = batches(&raw, 16, 3, 1, &nr, &e);
    FKE_CHECK(xa && xb && na == nb && !memcmp(xa, xb, na * sizeof *xa),
              "compressed batches: 1 and 2 threads agree bit for bit");
    FKE_CHECK(xa && xc && na == nc2 && !memcmp(xa, xc, na * sizeof *xa),
              "compressed batches equal those of the set decoded to raw");
    double dm = 0;
    for (size_t k = 0; xa && xr && k < na; k++) dm += fabs(xa[k] - xr[k]);
    dm /= na ? (double)na : 1;
    FKE_CHECK(xa && xr && na == nr && dm < 1.5 / 255 / FKE_PIXEL_STD,
              "compressed batches within JPEG error of the raw set's: mean %.4f", dm);
    free(xa), free(xb), free(xc), free(xr);

    /* a corrupt stream inside the file: post 7, garment 1's crop */
    int post = 7, slot = 2;
    while (j.n_garments[post] < 2) post++;
    long k = (long)post * (j.G + 1) + slot;
    long at = (long)j.jpeg_off[k], len = (long)(j.jpeg_off[k + 1] - j.jpeg_off[k]);
    long fn = 0;
    uint8_t *f = read_all(pj, &fn), *hit = NULL;
    if (f) hit = memmem(f, (size_t)fn, j.jpeg + at, (size_t)len);
    FKE_CHECK(hit != NULL, "the stream is in the file as it is");
    const char *pbad = fke_test_path("corrupt.h5"), *pdam = fke_test_path("damaged.h5");
    if (hit) {
        /* damaged in the file: the stream's CRC-32 names it when it is decoded
         * (the bytes are contiguous, for the lazy store, so no chunk checksum) */
        memset(hit, 0, (size_t)len);
        FKE_CHECK(write_all(pdam, f, fn), "write %s", pdam);
        fke_dataset c;
        fke_status sd = fke_dataset_load(&c, pdam, &e);
        FKE_CHECK(sd == FKE_OK, "the damaged file's other fields load: %s", e.msg);
        if (sd == FKE_OK) {
            uint8_t px[3 * 64 * 64];
            char want_d[64];
            snprintf(want_d, sizeof want_d, "post %d garment 1", post);
            FKE_CHECK(fke_dataset_pixels(&c, post, slot, px, &e) == FKE_ERR_FORMAT &&
                          strstr(e.msg, "damaged.h5") && strstr(e.msg, "CRC-32") &&
                          strstr(e.msg, want_d),
                      "a damaged stream is refused when decoded: %s", e.msg);
            fke_dataset_free(&c);
        }
        /* a broken stream that was written so (checksums match): the decoder refuses it */
        uint8_t *keep = malloc((size_t)len);
        if (keep) memcpy(keep, j.jpeg + at, (size_t)len);
        memset(j.jpeg + at, 0, (size_t)len);
        FKE_CHECK(fke_dataset_save(&j, pbad, &e) == FKE_OK, "write %s: %s", pbad, e.msg);
        if (keep) memcpy(j.jpeg + at, keep, (size_t)len);
        free(keep);
        FKE_CHECK(fke_dataset_load(&c, pbad, &e) == FKE_OK, "the file itself loads: %s", e.msg);
        fke_loader ld;
        fke_batch *b = NULL;
        fke_status st = fke_loader_init(&ld, &c, 16, 0, 0, 1, &e);
        char want[64];
        snprintf(want, sizeof want, "post %d garment 1", post);
        if (st == FKE_OK) st = fke_loader_next(&ld, &b, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, want) && strstr(e.msg, "corrupt.h5"),
                  "loader: %d %s", st, e.msg);
        e.msg[0] = 0;
        st = fke_loader_next(&ld, &b, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, want), "and again: %s", e.msg);
        fke_loader_free(&ld);
        uint8_t px[3 * 32 * 32];
        st = fke_dataset_pixels(&c, post, slot, px, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, want), "pixels: %s", e.msg);
        FKE_CHECK(fke_dataset_set_store(&c, 0, &e) == FKE_ERR_FORMAT && c.jpeg,
                  "decoding the set fails and leaves it: %s", e.msg);
        fke_dataset_free(&c);
    }
    free(f);
    test_lazy(&j, pj, post, slot);
    /* a store whose sizes disagree with the garments is refused on save */
    j.jpeg_off[k + 1] = j.jpeg_off[k]; /* garment 1 without a stream */
    for (long t = k + 1; t < ns; t++) j.jpeg_off[t + 1] -= len;
    FKE_CHECK(fke_dataset_save(&j, fke_test_path("bad.h5"), &e) == FKE_ERR_FORMAT &&
                  strstr(e.msg, "jpeg/sizes"),
              "%s", e.msg);
    fke_dataset_free(&dec);
    fke_dataset_free(&j2);
    fke_dataset_free(&j);
    fke_dataset_free(&raw);
}

/* The loader's posts/s on a file (sequential passes, B posts a batch). */
/* fke_dataset_rescale: raw pixels equal image.h's resize of the drawn
 * pixels, boxes scaled by the stated rule, labels untouched; the JPEG form
 * near the raw one; and `fke data synth --img 224 --crop 224` trains
 * configs/fke-paper.json (a step) with the sizes taken from the data. */
static void test_rescale(const fke_imageset *fm)
{
    fke_err e = {""};
    fke_synth_opts so;
    fke_synth_defaults(&so, 0);
    so.posts = 12;
    so.seed = 9;
    fke_dataset a, b;
    if (fke_synth_generate(&so, fm, NULL, &a, NULL, &e) || fke_synth_generate(&so, fm, NULL, &b, NULL, &e)) {
        FKE_CHECK(0, "synth: %s", e.msg);
        return;
    }
    const int S = 100, P = 48;
    fke_status st = fke_dataset_rescale(&b, S, P, 0, &e);
    FKE_CHECK(st == FKE_OK && b.img == S && b.crop == P && b.images && !b.jpeg, "rescale raw: %s", e.msg);
    long bad_px = 0, bad_box = 0, bad_lab = 0;
    uint8_t *rgb = malloc((size_t)3 * 64 * 64), *want = malloc((size_t)3 * S * S);
    for (int i = 0; st == FKE_OK && i < a.N; i++) {
        for (int s = 0; s <= a.n_garments[i]; s++) {
            int n0 = s ? a.crop : a.img, n1 = s ? P : S;
            const uint8_t *src = s ? a.crops + ((size_t)i * a.G + s - 1) * 3 * n0 * n0
                                   : a.images + (size_t)i * 3 * n0 * n0;
            const uint8_t *got = s ? b.crops + ((size_t)i * b.G + s - 1) * 3 * n1 * n1
                                   : b.images + (size_t)i * 3 * n1 * n1;
            for (int c = 0; c < 3; c++)
                for (int q = 0; q < n0 * n0; q++) rgb[q * 3 + c] = src[c * n0 * n0 + q];
            fke_image im = {n0, n0, rgb};
            const int32_t box[4] = {0, 0, n0, n0};
            fke_image_resize_chw(&im, box, n1, want);
            bad_px += memcmp(want, got, (size_t)3 * n1 * n1) != 0;
        }
        for (int g = 0; g < a.n_garments[i]; g++) {
            const int32_t *x = a.boxes + ((size_t)i * a.G + g) * 4, *y = b.boxes + ((size_t)i * b.G + g) * 4;
            for (int k = 0; k < 4; k++) {
                double v = (double)x[k] * S / a.img;
                int32_t w = (int32_t)(k < 2 ? floor(v) : ceil(v));
                bad_box += y[k] != (w > S ? S : w);
            }
            bad_lab += a.cat[i * a.G + g] != b.cat[i * b.G + g];
        }
        bad_lab += a.occ[i] != b.occ[i];
    }
    FKE_CHECK(bad_px == 0 && bad_box == 0 && bad_lab == 0, "rescaled: %ld pictures differ from "
              "image.h's resize, %ld box corners from the rule, %ld labels changed", bad_px, bad_box,
              bad_lab);
    FKE_CHECK(fke_dataset_validate(&b, "rescaled", &e) == FKE_OK, "rescaled set: %s", e.msg);
    free(rgb), free(want);
    /* the JPEG form decodes near the raw one */
    fke_dataset c;
    st = fke_synth_generate(&so, fm, NULL, &c, NULL, &e);
    if (st == FKE_OK) st = fke_dataset_rescale(&c, S, P, 92, &e);
    FKE_CHECK(st == FKE_OK && c.jpeg && c.jpeg_quality == 92, "rescale to JPEG: %s", e.msg);
    double err = 0;
    long n = 0;
    uint8_t *px = malloc((size_t)3 * S * S);
    for (int i = 0; st == FKE_OK && i < c.N; i++)
        if (fke_dataset_pixels(&c, i, 0, px, &e) == FKE_OK)
            for (size_t q = 0; q < (size_t)3 * S * S; q++, n++)
                err += fabs((double)px[q] - b.images[(size_t)i * 3 * S * S + q]);
    FKE_CHECK(n > 0 && err / n < 3.0, "rescaled JPEG vs raw: mean abs error %.2f levels (bar 3)",
              n ? err / n : -1.0);
    free(px);
    if (st == FKE_OK) fke_dataset_free(&c);
    fke_dataset_free(&a);
    fke_dataset_free(&b);
    /* fke-paper on 224 px synth, one step */
    const char *h5 = fke_test_path("s224.h5"), *run = fke_test_path("paper-run");
    char out[8192];
    int rc = fke_test_sh(out, sizeof out, "%s/fke data synth --posts 8 --img 224 --crop 224 --store "
                         "jpeg --out %s && %s/fke train configs/fke-paper.json --set train_data=%s "
                         "--set test_data= --set out_dir=%s --set steps=1 --set batch=2 --set threads=1",
                         fke_test_build_dir(), h5, fke_test_build_dir(), h5, run);
    FKE_CHECK(rc == 0 && strstr(out, "img 224, crop 224"), "fke-paper on 224 px synth: exit %d: %s",
              rc, out);
}

static int bench(const char *path, int nbatch, int B, int lazy)
{
    fke_err e = {""};
    fke_dataset d;
    if (lazy) fke_dataset_lazy_above(0);
    if (fke_dataset_load(&d, path, &e)) {
        printf("%s\n", e.msg);
        return 1;
    }
    int threads = fke_set_threads(0);
    fke_loader ld;
    if (fke_loader_init(&ld, &d, B, 1, 1, 1, &e)) {
        printf("%s\n", e.msg);
        return 1;
    }
    fke_batch *b;
    fke_loader_next(&ld, &b, &e); /* the first batch was filled during init */
    double t0 = now();
    long posts = 0;
    for (int k = 0; k < nbatch; k++) {
        if (fke_loader_next(&ld, &b, &e)) {
            printf("%s\n", e.msg);
            return 1;
        }
        posts += b->B;
    }
    double t = now() - t0;
    printf("%s: %d posts, img %d crop %d G %d, %s, %d threads: %ld posts in %.2f s = %.1f "
           "posts/s\n", path, d.N, d.img, d.crop, d.G,
           d.jpeg_lazy ? "JPEG, lazy" : d.jpeg_quality ? "JPEG" : "raw", threads,
           posts, t, posts / t);
    fke_loader_free(&ld);
    fke_dataset_free(&d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--bench"))
        return bench(argv[2], argc > 3 ? atoi(argv[3]) : 20, argc > 4 ? atoi(argv[4]) : 20,
                     argc > 5 && !strcmp(argv[5], "lazy"));
    if (!fke_test_tmpdir("store")) return 1;
    fke_err e = {""};
    fke_imageset fm;
    if (fke_fmnist_read(FKE_FMNIST_DIR, 0, &fm, &e)) {
        FKE_CHECK(0, "Fashion-MNIST: %s", e.msg);
        return fke_test_finish("store");
    }
    fke_set_threads(1);
    test_store(&fm);
    test_rescale(&fm);
    fke_imageset_free(&fm);
    return fke_test_finish("store");
}
