/* test_image.c - image.h: JPEG decoding of each colour layout and of
 * progressive files (written here with libjpeg directly), the encoder and
 * the atomic file write, PNG through fke_image_read, broken files refused
 * with the file's name, fke_box_clip, and the resize rule. Pictures are
 * Fashion-MNIST garments tiled and tinted into colour; every expected value
 * is computed here, from the rule in image.h, not by the code under test.
 *
 * Tolerances, on a 112 x 84 picture of twelve tinted garments that is
 * nearly all edges (measured with libjpeg-turbo 2.1.5 and printed by the
 * test): quality 95, 4:4:4: mean |error| 1.91, max 18, allowed 2.5 and 24;
 * quality 75, 4:2:0: mean 7.53, max 144 (colour edges lose to the chroma
 * subsampling), allowed 9 and 160; gray at 95: 0.94 and 7, allowed 1 and
 * 12; CMYK and YCCK patches at 100: max 1, allowed 2. A colour mix-up (RGB
 * order, inverted CMYK) is off by tens to hundreds. */
#include <stdio.h> /* before jpeglib.h */

#include <jpeglib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/fmnist.h"
#include "data/image.h"
#include "data/png_io.h"
#include "fixtures.h"
#include "test.h"

/* ---- helpers --------------------------------------------------------------- */
#define TW 4 /* tiles across */
#define TH 3 /* tiles down */
#define PW (28 * TW)
#define PH (28 * TH)

/* The garments 0..TW*TH-1 of fm, each tinted: ink colour on a background
 * colour, mixed by the garment's gray value. (PH, PW, 3) */
static void garment_picture(const fke_imageset *fm, uint8_t *rgb)
{
    static const uint8_t ink[6][3] = {{200, 30, 40},  {20, 160, 60},  {30, 60, 220},
                                      {240, 200, 20}, {120, 20, 160}, {10, 10, 10}};
    static const uint8_t bg[4][3] = {{250, 250, 250}, {40, 40, 60}, {200, 230, 255}, {90, 60, 30}};
    for (int t = 0; t < TW * TH; t++) {
        const uint8_t *g = fm->images + (size_t)t * 28 * 28, *a = ink[t % 6], *b = bg[t % 4];
        int ox = (t % TW) * 28, oy = (t / TW) * 28;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int v = g[y * 28 + x];
                uint8_t *p = rgb + ((size_t)(oy + y) * PW + ox + x) * 3;
                for (int c = 0; c < 3; c++)
                    p[c] = (uint8_t)((v * a[c] + (255 - v) * b[c] + 127) / 255);
            }
    }
}

static void diff_stats(const uint8_t *a, const uint8_t *b, size_t n, double *mean, int *max)
{
    double s = 0;
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        s += d;
        if (d > m) m = d;
    }
    *mean = n ? s / (double)n : 0;
    *max = m;
}

/* Writes a JPEG with libjpeg itself: comps samples per pixel in in_cs,
 * stored as jpeg_cs (JCS_UNKNOWN: libjpeg's default for in_cs); adobe 0
 * drops the Adobe marker libjpeg writes for CMYK and YCCK. */
static int write_raw_jpeg(const char *path, int w, int h, int comps, J_COLOR_SPACE in_cs,
                          J_COLOR_SPACE jpeg_cs, const uint8_t *pix, int quality, int progressive,
                          int adobe)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr); /* exits on error: a crash that run.sh counts as a failure */
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = comps;
    ci.in_color_space = in_cs;
    jpeg_set_defaults(&ci);
    if (jpeg_cs != JCS_UNKNOWN) jpeg_set_colorspace(&ci, jpeg_cs);
    if (!adobe) ci.write_Adobe_marker = FALSE;
    jpeg_set_quality(&ci, quality, TRUE);
    for (int c = 0; c < ci.num_components; c++) /* 4:4:4, so baseline and progressive compare */
        ci.comp_info[c].h_samp_factor = ci.comp_info[c].v_samp_factor = 1;
    if (progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(pix + (size_t)ci.next_scanline * w * comps);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f) == 0;
}

/* What libjpeg reads in a file's header (default error manager: the files
 * here are valid ones). */
typedef struct {
    int adobe, progressive, hs0, vs0, w, h;
    J_COLOR_SPACE cs;
} jpeg_head;
static int read_head(const char *path, jpeg_head *hd)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, f);
    jpeg_read_header(&ci, TRUE);
    hd->adobe = ci.saw_Adobe_marker;
    hd->progressive = ci.progressive_mode;
    hd->hs0 = ci.comp_info[0].h_samp_factor;
    hd->vs0 = ci.comp_info[0].v_samp_factor;
    hd->w = (int)ci.image_width;
    hd->h = (int)ci.image_height;
    hd->cs = ci.jpeg_color_space;
    jpeg_destroy_decompress(&ci);
    fclose(f);
    return 1;
}

static uint8_t *read_bytes(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}
static int write_bytes(const char *path, const uint8_t *b, long n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(b, 1, (size_t)n, f) == (size_t)n;
    return fclose(f) == 0 && ok;
}

/* The offset just past the first SOS segment's header (where the entropy
 * coded data starts), or -1. */
static long sos_end(const uint8_t *b, long n)
{
    for (long i = 2; i + 3 < n; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xDA) return i + 2 + (b[i + 2] << 8 | b[i + 3]);
    return -1;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* fke_image_read on path must fail with status want and name the file. */
static void expect_refused(const char *path, fke_status want, const char *what)
{
    fke_image im = {0, 0, NULL};
    fke_err e = {{0}};
    fke_status st = fke_image_read(path, &im, &e);
    FKE_CHECK(st == want, "%s: status %s, expected %s (%s)", what, fke_status_name(st),
              fke_status_name(want), e.msg);
    FKE_CHECK(strstr(e.msg, path) != NULL, "%s: the message does not name the file: %s", what,
              e.msg);
    FKE_CHECK(im.rgb == NULL && im.w == 0 && im.h == 0, "%s: a failed read left a picture", what);
    printf("  %s: %s\n", what, e.msg);
    fke_image_free(&im);
}

/* ---- encoding and decoding ------------------------------------------------ */
static void test_round_trip(const uint8_t *pic)
{
    fke_image src = {PW, PH, (uint8_t *)pic};
    static const struct {
        int q;
        double mean;
        int max;
        int hs;
    } cases[] = {{95, 2.5, 24, 1}, {75, 9.0, 160, 2}};
    for (int c = 0; c < 2; c++) {
        fke_err e = {{0}};
        uint8_t *buf = NULL;
        size_t n = 0;
        fke_status st = fke_image_encode_jpeg(&src, cases[c].q, &buf, &n, &e);
        FKE_CHECK(st == FKE_OK && buf && n > 4, "encode q%d: %s", cases[c].q, e.msg);
        if (st != FKE_OK) continue;
        FKE_CHECK(buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF && buf[n - 2] == 0xFF &&
                      buf[n - 1] == 0xD9,
                  "q%d: not a JPEG stream (SOI ... EOI)", cases[c].q);
        fke_image out;
        st = fke_image_decode_jpeg(buf, n, "mem", &out, &e);
        FKE_CHECK(st == FKE_OK && out.w == PW && out.h == PH, "decode q%d: %s (%d x %d)",
                  cases[c].q, e.msg, out.w, out.h);
        if (st == FKE_OK) {
            double mean;
            int max;
            diff_stats(pic, out.rgb, (size_t)PW * PH * 3, &mean, &max);
            printf("  round trip q%d (%zu bytes): mean |error| %.3f, max %d\n", cases[c].q, n, mean,
                   max);
            FKE_CHECK(mean <= cases[c].mean && max <= cases[c].max,
                      "q%d: mean |error| %.3f (at most %.1f), max %d (at most %d)", cases[c].q,
                      mean, cases[c].mean, max, cases[c].max);
        }
        fke_image_free(&out);

        /* the same bytes through the file writer, and its sampling */
        const char *path = fke_test_path("q%d.jpg", cases[c].q);
        st = fke_image_write_jpeg(path, &src, cases[c].q, &e);
        FKE_CHECK(st == FKE_OK, "write q%d: %s", cases[c].q, e.msg);
        long fn = 0;
        uint8_t *fb = read_bytes(path, &fn);
        FKE_CHECK(fb && fn == (long)n && !memcmp(fb, buf, n),
                  "q%d: the file is not the bytes of fke_image_encode_jpeg", cases[c].q);
        free(fb);
        jpeg_head hd;
        FKE_CHECK(read_head(path, &hd) && hd.hs0 == cases[c].hs && hd.vs0 == cases[c].hs,
                  "q%d: luma sampled %dx%d, expected %dx%d", cases[c].q, hd.hs0, hd.vs0,
                  cases[c].hs, cases[c].hs);
        fke_image rd;
        st = fke_image_read(path, &rd, &e);
        FKE_CHECK(st == FKE_OK && rd.w == PW && rd.h == PH, "read q%d: %s", cases[c].q, e.msg);
        free(buf);
        fke_image_free(&rd);
    }
    /* the 4:2:0 / 4:4:4 switch is at 90 */
    fke_err e = {{0}};
    jpeg_head h89, h90;
    FKE_CHECK(fke_image_write_jpeg(fke_test_path("q89.jpg"), &src, 89, &e) == FKE_OK &&
                  fke_image_write_jpeg(fke_test_path("q90.jpg"), &src, 90, &e) == FKE_OK,
              "write q89/q90: %s", e.msg);
    FKE_CHECK(read_head(fke_test_path("q89.jpg"), &h89) && h89.hs0 == 2 && h89.vs0 == 2,
              "q89: luma %dx%d, expected 2x2 (4:2:0)", h89.hs0, h89.vs0);
    FKE_CHECK(read_head(fke_test_path("q90.jpg"), &h90) && h90.hs0 == 1 && h90.vs0 == 1,
              "q90: luma %dx%d, expected 1x1 (4:4:4)", h90.hs0, h90.vs0);

    /* bad arguments, and a folder that does not exist: nothing written */
    uint8_t *buf = NULL;
    size_t n = 0;
    FKE_CHECK(fke_image_encode_jpeg(&src, 0, &buf, &n, &e) == FKE_ERR_ARG && !buf,
              "quality 0 accepted");
    FKE_CHECK(fke_image_encode_jpeg(&src, 101, &buf, &n, &e) == FKE_ERR_ARG && !buf,
              "quality 101 accepted");
    fke_image none = {0, 0, NULL};
    FKE_CHECK(fke_image_encode_jpeg(&none, 90, &buf, &n, &e) == FKE_ERR_ARG && !buf,
              "an empty picture was encoded");
    const char *nodir = fke_test_path("no/such/folder/x.jpg");
    FKE_CHECK(fke_image_write_jpeg(nodir, &src, 90, &e) == FKE_ERR_IO && access(nodir, F_OK) != 0,
              "writing into a missing folder: %s", e.msg);
}

static void test_gray(const fke_imageset *fm)
{
    /* garments 20..23 as one 56 x 56 gray picture */
    enum { S = 56 };
    uint8_t gray[S * S];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            gray[y * S + x] =
                fm->images[(size_t)(20 + (y / 28) * 2 + x / 28) * 784 + (y % 28) * 28 + x % 28];
    const char *path = fke_test_path("gray.jpg");
    FKE_CHECK(write_raw_jpeg(path, S, S, 1, JCS_GRAYSCALE, JCS_UNKNOWN, gray, 95, 0, 1),
              "cannot write %s", path);
    jpeg_head hd;
    FKE_CHECK(read_head(path, &hd) && hd.cs == JCS_GRAYSCALE, "gray.jpg is stored as %d", hd.cs);
    fke_image im;
    fke_err e = {{0}};
    fke_status st = fke_image_read(path, &im, &e);
    FKE_CHECK(st == FKE_OK && im.w == S && im.h == S, "gray: %s", e.msg);
    if (st != FKE_OK) return;
    int same = 1, max = 0;
    double sum = 0;
    for (int i = 0; i < S * S; i++) {
        const uint8_t *p = im.rgb + 3 * i;
        same &= p[0] == p[1] && p[1] == p[2];
        int d = abs(p[0] - gray[i]);
        sum += d;
        if (d > max) max = d;
    }
    printf("  gray q95: mean |error| %.3f, max %d\n", sum / (S * S), max);
    FKE_CHECK(same, "gray: R, G and B differ");
    FKE_CHECK(sum / (S * S) <= 1.0 && max <= 12,
              "gray: mean |error| %.3f (at most 1), max %d (at most 12)", sum / (S * S), max);
    fke_image_free(&im);
}

/* Patches of 16 x 16 pixels (whole 8 x 8 blocks, so each is flat) given as
 * inks, 0 = none; the RGB each should give is (255 - C)(255 - K)/255, ... */
#define NP 9
static const uint8_t inks[NP][4] = {
    {0, 255, 255, 0},     /* red */
    {255, 0, 255, 0},     /* green */
    {255, 255, 0, 0},     /* blue */
    {0, 0, 0, 0},         /* white */
    {0, 0, 0, 255},       /* black */
    {255, 255, 255, 255}, /* all inks */
    {0, 0, 0, 128},       /* gray from K */
    {64, 128, 192, 32},   /* a mixture */
    {0, 255, 0, 100},     /* magenta under some black */
};

static void test_cmyk(void)
{
    enum { P = 16, W = P * NP, H = P };
    uint8_t plain[W * H * 4], inverted[W * H * 4], want[NP][3];
    for (int p = 0; p < NP; p++)
        for (int c = 0; c < 3; c++)
            want[p][c] = (uint8_t)lround((255.0 - inks[p][c]) * (255.0 - inks[p][3]) / 255.0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 4; c++) {
                size_t i = ((size_t)y * W + x) * 4 + c;
                plain[i] = inks[x / P][c];
                inverted[i] = (uint8_t)(255 - inks[x / P][c]);
            }
    /* libjpeg writes an Adobe marker for CMYK and YCCK unless told not to;
     * with it the samples are Adobe's inverted inks, without it plain inks */
    static const struct {
        const char *name;
        J_COLOR_SPACE cs;
        int adobe;
    } files[] = {{"cmyk-adobe.jpg", JCS_CMYK, 1},
                 {"cmyk-plain.jpg", JCS_CMYK, 0},
                 {"ycck-adobe.jpg", JCS_YCCK, 1}};
    for (int f = 0; f < 3; f++) {
        const char *path = fke_test_path("%s", files[f].name);
        FKE_CHECK(write_raw_jpeg(path, W, H, 4, JCS_CMYK, files[f].cs,
                                 files[f].adobe ? inverted : plain, 100, 0, files[f].adobe),
                  "cannot write %s", path);
        jpeg_head hd;
        FKE_CHECK(read_head(path, &hd) && hd.adobe == files[f].adobe && hd.cs == files[f].cs,
                  "%s: saw_Adobe_marker %d (expected %d), colour space %d (expected %d)",
                  files[f].name, hd.adobe, files[f].adobe, hd.cs, files[f].cs);
        printf("  %s: saw_Adobe_marker = %d\n", files[f].name, hd.adobe);
        fke_image im;
        fke_err e = {{0}};
        fke_status st = fke_image_read(path, &im, &e);
        FKE_CHECK(st == FKE_OK && im.w == W && im.h == H, "%s: %s", files[f].name, e.msg);
        if (st != FKE_OK) continue;
        int max = 0, worst = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) {
                    int d = abs(im.rgb[((size_t)y * W + x) * 3 + c] - want[x / P][c]);
                    if (d > max) max = d, worst = x / P;
                }
        printf("  %s: max |error| %d over %d patches\n", files[f].name, max, NP);
        FKE_CHECK(max <= 2, "%s: patch %d off by %d (got %d %d %d, expected %d %d %d)",
                  files[f].name, worst, max, im.rgb[worst * P * 3], im.rgb[worst * P * 3 + 1],
                  im.rgb[worst * P * 3 + 2], want[worst][0], want[worst][1], want[worst][2]);
        fke_image_free(&im);
    }
}

static void test_progressive(const uint8_t *pic)
{
    const char *base = fke_test_path("base.jpg"), *prog = fke_test_path("prog.jpg");
    FKE_CHECK(write_raw_jpeg(base, PW, PH, 3, JCS_RGB, JCS_UNKNOWN, pic, 95, 0, 1) &&
                  write_raw_jpeg(prog, PW, PH, 3, JCS_RGB, JCS_UNKNOWN, pic, 95, 1, 1),
              "cannot write the baseline and progressive files");
    jpeg_head hb, hp;
    FKE_CHECK(read_head(base, &hb) && read_head(prog, &hp) && !hb.progressive && hp.progressive,
              "progressive_mode: baseline %d, progressive %d", hb.progressive, hp.progressive);
    fke_image a, b;
    fke_err e = {{0}};
    fke_status sa = fke_image_read(base, &a, &e);
    FKE_CHECK(sa == FKE_OK, "baseline: %s", e.msg);
    fke_status sb = fke_image_read(prog, &b, &e);
    FKE_CHECK(sb == FKE_OK, "progressive: %s", e.msg);
    if (sa == FKE_OK && sb == FKE_OK) {
        double mean, mean0;
        int max, max0;
        diff_stats(a.rgb, b.rgb, (size_t)PW * PH * 3, &mean, &max);
        diff_stats(pic, b.rgb, (size_t)PW * PH * 3, &mean0, &max0);
        printf("  progressive vs baseline: mean |diff| %.3f, max %d; vs the picture: mean %.3f, "
               "max %d\n",
               mean, max, mean0, max0);
        FKE_CHECK(max <= 1, "progressive and baseline differ by up to %d", max);
        FKE_CHECK(mean0 <= 2.5 && max0 <= 24, "progressive: mean |error| %.3f, max %d", mean0,
                  max0);
        /* fke's encoder at 95 (4:4:4, the same tables) gives what libjpeg's
         * own baseline file gives: only the Huffman tables differ */
        fke_image f;
        fke_status sf = fke_image_read(fke_test_path("q95.jpg"), &f, &e);
        FKE_CHECK(sf == FKE_OK && FKE_SAME(f.rgb, a.rgb, (size_t)PW * PH * 3),
                  "fke's q95 JPEG decodes differently from libjpeg's own: %s", e.msg);
        fke_image_free(&f);
    }
    fke_image_free(&a);
    fke_image_free(&b);
}

static void test_png(const uint8_t *pic)
{
    const char *path = fke_test_path("pic.png");
    fke_err e = {{0}};
    FKE_CHECK(fke_png_write(path, PW, PH, pic, &e) == FKE_OK, "png write: %s", e.msg);
    fke_image im;
    fke_status st = fke_image_read(path, &im, &e);
    FKE_CHECK(st == FKE_OK && im.w == PW && im.h == PH &&
                  FKE_SAME(im.rgb, pic, (size_t)PW * PH * 3),
              "a PNG through fke_image_read is not the picture: %s", e.msg);
    fke_image_free(&im);
}

/* ---- broken files ---------------------------------------------------------- */
static void test_broken(void)
{
    const char *good = fke_test_path("q95.jpg"); /* from test_round_trip */
    long n = 0;
    uint8_t *b = read_bytes(good, &n);
    FKE_CHECK(b && n > 1000, "cannot read %s", good);
    if (!b) return;
    long sos = sos_end(b, n);
    FKE_CHECK(sos > 0 && sos < n / 2, "no SOS segment in %s", good);
    uint8_t *c = malloc((size_t)n);
    uint32_t seed = 12345;

    /* the headers intact, the entropy-coded data random, EOI kept */
    memcpy(c, b, (size_t)n);
    for (long i = sos; i < n - 2; i++) c[i] = (uint8_t)lcg(&seed);
    const char *rnd = fke_test_path("random-data.jpg");
    write_bytes(rnd, c, n);
    expect_refused(rnd, FKE_ERR_FORMAT, "random data after a valid header");

    /* the signature, then random bytes */
    for (long i = 3; i < n; i++) c[i] = (uint8_t)lcg(&seed);
    const char *sig = fke_test_path("signature-only.jpg");
    write_bytes(sig, c, n);
    expect_refused(sig, FKE_ERR_FORMAT, "a JPEG signature and random bytes");

    /* the first half, the headers alone */
    const char *half = fke_test_path("half.jpg"), *head = fke_test_path("head.jpg");
    fke_test_copy_prefix(good, half, n / 2);
    fke_test_copy_prefix(good, head, sos);
    expect_refused(half, FKE_ERR_FORMAT, "first half of a JPEG");
    expect_refused(head, FKE_ERR_FORMAT, "headers without data");

    /* a few bytes flipped in the middle of the data: libjpeg may or may not
     * notice; either a refusal naming the file, or a whole picture, and no
     * crash (ASan watches the run) */
    int refused = 0, decoded = 0, trials = 40;
    for (int t = 0; t < trials; t++) {
        memcpy(c, b, (size_t)n);
        long mid = sos + (n - 2 - sos) / 2;
        for (int k = 0; k < 3; k++)
            c[mid + (long)(lcg(&seed) % 64) - 32] ^= (uint8_t)(1 + lcg(&seed) % 255);
        fke_image im;
        fke_err e = {{0}};
        fke_status st = fke_image_decode_jpeg(c, (size_t)n, "flipped.jpg", &im, &e);
        if (st == FKE_OK) {
            decoded += im.w == PW && im.h == PH && im.rgb;
        } else {
            refused += st == FKE_ERR_FORMAT && strstr(e.msg, "flipped.jpg") && !im.rgb;
        }
        fke_image_free(&im);
    }
    printf(
        "  bytes flipped in the data, %d trials: %d refused, %d decoded as a (damaged) picture\n",
        trials, refused, decoded);
    FKE_CHECK(refused + decoded == trials,
              "flipped bytes: %d of %d neither refused well nor decoded",
              trials - refused - decoded, trials);

    /* dimensions patched to 20000 x 20000 (over 2^28 pixels) in the SOF */
    memcpy(c, b, (size_t)n);
    long sof = -1;
    for (long i = 2; i + 8 < n && sof < 0; i++)
        if (c[i] == 0xFF && (c[i + 1] == 0xC0 || c[i + 1] == 0xC1 || c[i + 1] == 0xC2)) sof = i;
    FKE_CHECK(sof > 0, "no SOF in %s", good);
    if (sof > 0) {
        c[sof + 5] = 20000 >> 8, c[sof + 6] = 20000 & 255; /* height */
        c[sof + 7] = 20000 >> 8, c[sof + 8] = 20000 & 255; /* width */
        fke_image im;
        fke_err e = {{0}};
        fke_status st = fke_image_decode_jpeg(c, (size_t)n, "huge.jpg", &im, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "huge.jpg") && strstr(e.msg, "too large"),
                  "20000 x 20000: %s %s", fke_status_name(st), e.msg);
        printf("  %s\n", e.msg);
        fke_image_free(&im);
    }
    /* stray bytes between two marker segments (as some phones write them):
     * libjpeg warns and skips them; the pixels are the file's own, so the
     * picture is taken, equal to the unpadded one */
    if (sof > 0) {
        uint8_t *pad = malloc((size_t)n + 5);
        memcpy(pad, b, (size_t)sof);
        memset(pad + sof, 0, 5);
        memcpy(pad + sof + 5, b + sof, (size_t)(n - sof));
        fke_image a, p2;
        fke_err e = {{0}};
        fke_status s1 = fke_image_decode_jpeg(b, (size_t)n, "good.jpg", &a, &e);
        fke_status s2 = fke_image_decode_jpeg(pad, (size_t)n + 5, "padded.jpg", &p2, &e);
        FKE_CHECK(s1 == FKE_OK && s2 == FKE_OK && a.w == p2.w && a.h == p2.h &&
                      !memcmp(a.rgb, p2.rgb, (size_t)a.w * a.h * 3),
                  "5 stray bytes before the SOF: %s %s", fke_status_name(s2), e.msg);
        fke_image_free(&a);
        fke_image_free(&p2);
        free(pad);
    }
    free(c);
    free(b);

    const char *empty = fke_test_path("empty.jpg"), *text = fke_test_path("notes.jpg"),
               *fakepng = fke_test_path("fake.png");
    fke_test_write_text(empty, "");
    fke_test_write_text(text, "this is not a picture\n");
    fke_test_write_text(fakepng, "\x89PNG\r\n\x1a\nthen nothing of a PNG");
    expect_refused(empty, FKE_ERR_FORMAT, "empty file");
    expect_refused(text, FKE_ERR_FORMAT, "a text file");
    expect_refused(fakepng, FKE_ERR_FORMAT, "a PNG signature and text");
    expect_refused(fke_test_path("missing.jpg"), FKE_ERR_IO, "missing file");
    fke_image im;
    fke_err e = {{0}};
    FKE_CHECK(fke_image_decode_jpeg(NULL, 0, "nothing", &im, &e) == FKE_ERR_FORMAT && !im.rgb,
              "decoding nothing: %s", e.msg);
}

/* ---- boxes and the resize rule --------------------------------------------- */
static void check_clip(int32_t x0, int32_t y0, int32_t x1, int32_t y1, int want, int32_t w0,
                       int32_t w1, int32_t w2, int32_t w3, const char *what)
{
    int32_t box[4] = {x0, y0, x1, y1}, exp[4] = {w0, w1, w2, w3};
    int r = fke_box_clip(box, 100, 50);
    FKE_CHECK(r == want && FKE_SAME(box, exp, 4), "%s: %d [%d %d %d %d], expected %d [%d %d %d %d]",
              what, r, box[0], box[1], box[2], box[3], want, w0, w1, w2, w3);
}

static void test_clip(void)
{
    /* on a 100 x 50 picture */
    check_clip(10, 5, 60, 40, FKE_BOX_KEPT, 10, 5, 60, 40, "inside");
    check_clip(0, 0, 100, 50, FKE_BOX_KEPT, 0, 0, 100, 50, "the whole picture");
    check_clip(-5, 5, 60, 40, FKE_BOX_CLIPPED, 0, 5, 60, 40, "out on the left");
    check_clip(10, -7, 60, 40, FKE_BOX_CLIPPED, 10, 0, 60, 40, "out at the top");
    check_clip(10, 5, 130, 40, FKE_BOX_CLIPPED, 10, 5, 100, 40, "out on the right");
    check_clip(10, 5, 60, 51, FKE_BOX_CLIPPED, 10, 5, 60, 50, "out at the bottom");
    check_clip(-1, -1, 101, 51, FKE_BOX_CLIPPED, 0, 0, 100, 50, "out on every side");
    check_clip(100, 5, 120, 40, FKE_BOX_EMPTY, 100, 5, 120, 40, "wholly right of it");
    check_clip(-30, 5, 0, 40, FKE_BOX_EMPTY, -30, 5, 0, 40, "wholly left of it");
    check_clip(10, 50, 60, 70, FKE_BOX_EMPTY, 10, 50, 60, 70, "wholly below it");
    check_clip(10, -20, 60, -1, FKE_BOX_EMPTY, 10, -20, 60, -1, "wholly above it");
    check_clip(10, 5, 10, 40, FKE_BOX_EMPTY, 10, 5, 10, 40, "zero width");
    check_clip(10, 5, 60, 5, FKE_BOX_EMPTY, 10, 5, 60, 5, "zero height");
    check_clip(60, 5, 10, 40, FKE_BOX_EMPTY, 60, 5, 10, 40, "inverted");
    int32_t box[4] = {0, 0, 1, 1};
    FKE_CHECK(fke_box_clip(box, 0, 0) == FKE_BOX_EMPTY, "a box on an empty picture");
}

static void test_resize(const uint8_t *pic)
{
    fke_image src = {PW, PH, (uint8_t *)pic};
    enum { S = 28 };
    uint8_t out[3 * 112 * 112];

    /* identity: a square picture, the whole box, S its side; and a box of
     * side S inside a bigger picture is its crop; channel-major either way */
    {
        uint8_t sq[56 * 56 * 3];
        for (int y = 0; y < 56; y++) memcpy(sq + y * 56 * 3, pic + (size_t)y * PW * 3, 56 * 3);
        fke_image im = {56, 56, sq};
        int32_t whole[4] = {0, 0, 56, 56};
        fke_image_resize_chw(&im, whole, 56, out);
        int bad = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 56; y++)
                for (int x = 0; x < 56; x++)
                    bad += out[(c * 56 + y) * 56 + x] != sq[(y * 56 + x) * 3 + c];
        FKE_CHECK(bad == 0, "identity: %d bytes differ", bad);
        int32_t crop[4] = {31, 17, 31 + S, 17 + S};
        fke_image_resize_chw(&src, crop, S, out);
        bad = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++)
                    bad +=
                        out[(c * S + y) * S + x] != pic[((size_t)(17 + y) * PW + 31 + x) * 3 + c];
        FKE_CHECK(bad == 0, "a crop of side S: %d bytes differ", bad);
    }
    /* a constant picture stays constant, shrunk, enlarged, stretched */
    {
        enum { W = 37, H = 23 };
        uint8_t k[W * H * 3];
        for (int i = 0; i < W * H; i++) k[3 * i] = 10, k[3 * i + 1] = 200, k[3 * i + 2] = 77;
        fke_image im = {W, H, k};
        static const int32_t boxes[][4] = {
            {0, 0, W, H}, {3, 2, 30, 21}, {5, 5, 6, 7}, {0, 0, 2, 23}};
        static const int sides[] = {1, 7, 16, 29, 100};
        int bad = 0;
        for (int bi = 0; bi < 4; bi++)
            for (int si = 0; si < 5; si++) {
                int s = sides[si];
                fke_image_resize_chw(&im, boxes[bi], s, out);
                for (int c = 0; c < 3; c++)
                    for (int i = 0; i < s * s; i++) bad += out[c * s * s + i] != k[c];
            }
        FKE_CHECK(bad == 0, "a constant picture: %d bytes changed", bad);
    }
    /* shrinking by 2: each output is the average of its 2x2 block (rounded
     * half up), on a one-pixel checkerboard (which a nearest-neighbour or
     * point-sampled resize would keep at 0 or 255) and on garments */
    {
        enum { N = 16 };
        uint8_t cb[N * N * 3];
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                uint8_t *p = cb + (y * N + x) * 3;
                p[0] = (x + y) % 2 ? 255 : 0;
                p[1] = (x + y) % 2 ? 0 : 255;
                p[2] = (x + y) % 2 ? 100 : 50;
            }
        fke_image im = {N, N, cb};
        int32_t whole[4] = {0, 0, N, N};
        fke_image_resize_chw(&im, whole, N / 2, out);
        int bad = 0;
        for (int i = 0; i < 3 * (N / 2) * (N / 2); i++) {
            static const uint8_t want[3] = {128, 128, 75}; /* 127.5 -> 128, 75 */
            bad += out[i] != want[i / ((N / 2) * (N / 2))];
        }
        FKE_CHECK(bad == 0, "checkerboard halved: %d bytes are not the 2x2 averages", bad);

        int32_t sqbox[4] = {0, 0, 84, 84}; /* 84 x 84 of garments -> 42 x 42 */
        fke_image_resize_chw(&src, sqbox, 42, out);
        bad = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 42; y++)
                for (int x = 0; x < 42; x++) {
                    int s = 0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            s += pic[((size_t)(2 * y + dy) * PW + 2 * x + dx) * 3 + c];
                    bad += out[(c * 42 + y) * 42 + x] != (s + 2) / 4;
                }
        FKE_CHECK(bad == 0, "garments halved: %d bytes are not the 2x2 averages", bad);
    }
    /* fractional coverage, 3 -> 2 across: output 0 takes pixel 0 whole and
     * half of pixel 1, so (2 p0 + p1) / 3; and 6 -> 2 down: rows in threes */
    {
        uint8_t g[6 * 3 * 3];
        static const int v[3] = {0, 90, 240};
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 3; x++)
                for (int c = 0; c < 3; c++)
                    g[(y * 3 + x) * 3 + c] = (uint8_t)(c == 0 ? v[x] : c == 1 ? 40 * y : 7);
        fke_image im = {3, 6, g};
        int32_t whole[4] = {0, 0, 3, 6};
        uint8_t o[3 * 2 * 2];
        fke_image_resize_chw(&im, whole, 2, o);
        int want_r[2] = {(int)floor((2.0 * v[0] + v[1]) / 3 + 0.5),
                         (int)floor((v[1] + 2.0 * v[2]) / 3 + 0.5)};
        /* down: 6 -> 2, rows 0..2 and 3..5 averaged: 40 * (0+1+2)/3 = 40, 160 */
        int want_g[2] = {40, 160};
        int bad = 0;
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++) {
                bad += o[0 * 4 + y * 2 + x] != want_r[x];
                bad += o[1 * 4 + y * 2 + x] != want_g[y];
                bad += o[2 * 4 + y * 2 + x] != 7;
            }
        FKE_CHECK(bad == 0, "3 -> 2 and 6 -> 2: got R %d %d G %d %d, expected R %d %d G %d %d",
                  o[0], o[1], o[4], o[6], want_r[0], want_r[1], want_g[0], want_g[1]);
    }
    /* enlarging a 2 x 1 gradient to 8 x 8: bilinear between the two pixel
     * centres, clamped beyond them; monotone; every row the same */
    {
        uint8_t g[2 * 3] = {0, 255, 100, 255, 0, 100};
        fke_image im = {2, 1, g};
        int32_t whole[4] = {0, 0, 2, 1};
        enum { E = 8 };
        fke_image_resize_chw(&im, whole, E, out);
        int bad = 0, mono = 1;
        for (int x = 0; x < E; x++) {
            double u = (x + 0.5) * 2 / E - 0.5;
            if (u < 0) u = 0;
            if (u > 1) u = 1;
            int want[3] = {(int)floor(255 * u + 0.5), (int)floor(255 * (1 - u) + 0.5), 100};
            for (int y = 0; y < E; y++)
                for (int c = 0; c < 3; c++) bad += out[(c * E + y) * E + x] != want[c];
            if (x > 0) mono &= out[x] >= out[x - 1] && out[E * E + x] <= out[E * E + x - 1];
        }
        printf("  2 -> 8 gradient, red: %d %d %d %d %d %d %d %d\n", out[0], out[1], out[2], out[3],
               out[4], out[5], out[6], out[7]);
        FKE_CHECK(bad == 0, "2 -> 8 gradient: %d bytes are not the bilinear values", bad);
        FKE_CHECK(mono && out[0] == 0 && out[E - 1] == 255,
                  "2 -> 8 gradient is not monotone 0..255");
    }
    /* channel-major: R = x, G = y, B = 255 - x, enlarged 40 x 30 -> 64:
     * each plane holds its own channel (R grows across, G grows down) */
    {
        enum { W = 40, H = 30, E = 64 };
        uint8_t g[W * H * 3];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *p = g + (y * W + x) * 3;
                p[0] = (uint8_t)(6 * x), p[1] = (uint8_t)(8 * y), p[2] = (uint8_t)(255 - 6 * x);
            }
        fke_image im = {W, H, g};
        int32_t whole[4] = {0, 0, W, H};
        fke_image_resize_chw(&im, whole, E, out);
        int bad = 0;
        const uint8_t *R = out, *G = out + E * E, *B = out + 2 * E * E;
        for (int y = 0; y < E; y++)
            for (int x = 0; x < E; x++) {
                double ux = (x + 0.5) * W / E - 0.5, uy = (y + 0.5) * H / E - 0.5;
                ux = ux < 0 ? 0 : ux > W - 1 ? W - 1 : ux;
                uy = uy < 0 ? 0 : uy > H - 1 ? H - 1 : uy;
                bad += abs(R[y * E + x] - (int)floor(6 * ux + 0.5)) > 0;
                bad += abs(G[y * E + x] - (int)floor(8 * uy + 0.5)) > 0;
                bad += R[y * E + x] + B[y * E + x] != 255;
            }
        FKE_CHECK(bad == 0, "channel-major planes: %d bytes wrong", bad);
    }
    /* a stretched box (aspect not kept): 4 x 2 -> 2 x 2 halves across only */
    {
        uint8_t g[4 * 2 * 3];
        for (int i = 0; i < 8; i++) g[3 * i] = g[3 * i + 1] = g[3 * i + 2] = (uint8_t)(30 * i);
        fke_image im = {4, 2, g};
        int32_t whole[4] = {0, 0, 4, 2};
        uint8_t o[12];
        fke_image_resize_chw(&im, whole, 2, o);
        /* row 0: (0+30)/2 = 15, (60+90)/2 = 75; row 1: 135, 195 */
        FKE_CHECK(o[0] == 15 && o[1] == 75 && o[2] == 135 && o[3] == 195 && o[8] == 15 &&
                      o[11] == 195,
                  "4 x 2 -> 2: %d %d %d %d", o[0], o[1], o[2], o[3]);
    }
    /* an unclipped box is clipped, an empty one gives zeros */
    {
        int32_t over[4] = {-10, -10, 40, 40}, in[4] = {0, 0, 40, 40}, none[4] = {PW, 0, PW + 5, 5};
        uint8_t a[3 * 20 * 20], b2[3 * 20 * 20];
        fke_image_resize_chw(&src, over, 20, a);
        fke_image_resize_chw(&src, in, 20, b2);
        FKE_CHECK(FKE_SAME(a, b2, sizeof a), "an unclipped box differs from the clipped one");
        memset(a, 1, sizeof a);
        fke_image_resize_chw(&src, none, 20, a);
        int nz = 0;
        for (size_t i = 0; i < sizeof a; i++) nz += a[i] != 0;
        FKE_CHECK(nz == 0, "an empty box: %d bytes not zero", nz);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!fke_test_tmpdir("image")) return 1;
    fke_imageset fm;
    memset(&fm, 0, sizeof fm);
    fke_err e = {{0}};
    int ok = fke_fmnist_read(FKE_FMNIST_DIR, 1, &fm, &e) == FKE_OK;
    FKE_CHECK(ok, "Fashion-MNIST: %s", e.msg);
    if (!ok) return fke_test_finish("image");
    uint8_t *pic = malloc((size_t)PW * PH * 3);
    garment_picture(&fm, pic);

    test_round_trip(pic);
    test_gray(&fm);
    test_cmyk();
    test_progressive(pic);
    test_png(pic);
    test_broken();
    test_clip();
    test_resize(pic);

    free(pic);
    fke_imageset_free(&fm);
    return fke_test_finish("image");
}
