/* image.c - see image.h.
 *
 * libjpeg reports a fatal error through error_exit, whose default calls
 * exit(); here it longjmps back instead, and a warning (corrupt or missing
 * data, which libjpeg would paper over with grey) takes the same way. Each
 * libjpeg job keeps everything it holds (the libjpeg struct, the buffers)
 * in a struct in its caller's frame and does its work in a function of its
 * own that calls setjmp. After a longjmp that function only returns, and
 * the caller frees what the struct holds: no local of the function that
 * called setjmp is read after the jump, so none needs to be volatile
 * (C11 7.13.2.1). */
#include "data/image.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: the message codes */
#include <limits.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data/png_io.h"

#define IMAGE_MAX_FILE ((size_t)1 << 30) /* bytes fke_image_read takes */
/* as TurboJPEG's TJFLAG_LIMITSCANS: a progressive file with more is hostile */
#define JPEG_MAX_SCANS 500

void fke_image_free(fke_image *im)
{
    if (!im) return;
    free(im->rgb);
    im->rgb = NULL;
    im->w = im->h = 0;
}

/* ---- libjpeg's errors --------------------------------------------------- */
typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg hands back &pub as c->err */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_errbox;

static void on_jpeg_error(j_common_ptr c)
{
    jpeg_errbox *b = (jpeg_errbox *)c->err;
    c->err->format_message(c, b->msg);
    longjmp(b->jb, 1);
}
/* level -1 is a warning ("Premature end of JPEG file", "Corrupt JPEG data:
 * ..."): the picture would be partly made up, so it is refused, except for
 * three that leave every pixel as it is: bytes between two marker segments
 * (phones and editors pad files so; libjpeg skips them), an unknown JFIF
 * revision and a bad ICC marker (fke reads no colour profile). Levels 0 and
 * up are trace messages: dropped. */
static void on_jpeg_message(j_common_ptr c, int level)
{
    int code = c->err->msg_code;
    if (level < 0 && code != JWRN_EXTRANEOUS_DATA && code != JWRN_JFIF_MAJOR && code != JWRN_BOGUS_ICC)
        on_jpeg_error(c);
}
static void on_jpeg_output(j_common_ptr c)
{
    (void)c; /* libjpeg never prints */
}
static struct jpeg_error_mgr *jpeg_errbox_init(jpeg_errbox *b)
{
    jpeg_std_error(&b->pub);
    b->pub.error_exit = on_jpeg_error;
    b->pub.emit_message = on_jpeg_message;
    b->pub.output_message = on_jpeg_output;
    b->msg[0] = 0;
    return &b->pub;
}
/* Called before each scan is consumed while decoding a multi-scan file. */
static void on_jpeg_progress(j_common_ptr c)
{
    if (!c->is_decompressor || ((j_decompress_ptr)c)->input_scan_number <= JPEG_MAX_SCANS) return;
    jpeg_errbox *b = (jpeg_errbox *)c->err;
    snprintf(b->msg, sizeof b->msg, "more than %d scans", JPEG_MAX_SCANS);
    longjmp(b->jb, 1);
}

/* ---- decoding ----------------------------------------------------------- */
typedef struct {
    struct jpeg_decompress_struct ci;
    jpeg_errbox err;
    struct jpeg_progress_mgr progress;
    uint8_t *rgb;  /* (h, w, 3) the picture */
    uint8_t *cmyk; /* (w, 4) one CMYK row, for CMYK and YCCK files */
    fke_status st; /* when fke (not libjpeg) refuses: the status ... */
    char why[160]; /* ... and the reason */
} jpeg_decoder;

/* round(a * b / 255) for a, b in 0..255 (255 is odd: no ties) */
static uint8_t mul255(int a, int b)
{
    return (uint8_t)((a * b + 127) / 255);
}

/* One row of CMYK samples as RGB. Adobe's files (those with an Adobe
 * marker, which libjpeg also writes for CMYK) store the inks inverted,
 * 255 = no ink; others store them straight. */
static void cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int w, int inverted)
{
    for (int x = 0; x < w; x++, cmyk += 4, rgb += 3) {
        int k = cmyk[3];
        for (int c = 0; c < 3; c++)
            rgb[c] = inverted ? mul255(cmyk[c], k) : mul255(255 - cmyk[c], 255 - k);
    }
}

static int jpeg_decode_run(jpeg_decoder *d, const uint8_t *buf, size_t n)
{
    d->ci.err = jpeg_errbox_init(&d->err);
    if (setjmp(d->err.jb)) return 0;
    jpeg_create_decompress(&d->ci);
    d->progress.progress_monitor = on_jpeg_progress;
    d->ci.progress = &d->progress;
    jpeg_mem_src(&d->ci, buf, (unsigned long)n);
    jpeg_read_header(&d->ci, TRUE);
    uint64_t px = (uint64_t)d->ci.image_width * d->ci.image_height;
    if (px > FKE_IMAGE_MAX_PIXELS) {
        snprintf(d->why, sizeof d->why, "JPEG of %u x %u pixels is too large (at most %llu pixels)",
                 (unsigned)d->ci.image_width, (unsigned)d->ci.image_height,
                 (unsigned long long)FKE_IMAGE_MAX_PIXELS);
        return 0;
    }
    int cmyk = 0;
    switch (d->ci.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        d->ci.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK: /* libjpeg turns YCCK back into CMYK */
        d->ci.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        snprintf(d->why, sizeof d->why, "JPEG colour space of %d components is not supported",
                 d->ci.num_components);
        return 0;
    }
    jpeg_start_decompress(&d->ci);
    int w = (int)d->ci.output_width;
    if (d->ci.output_components != (cmyk ? 4 : 3)) {
        snprintf(d->why, sizeof d->why, "libjpeg gave %d components", d->ci.output_components);
        return 0;
    }
    d->rgb = malloc((size_t)w * d->ci.output_height * 3);
    d->cmyk = cmyk ? malloc((size_t)w * 4) : NULL;
    if (!d->rgb || (cmyk && !d->cmyk)) {
        d->st = FKE_ERR_NOMEM;
        snprintf(d->why, sizeof d->why, "no memory for %u x %u pixels", (unsigned)w,
                 (unsigned)d->ci.output_height);
        return 0;
    }
    while (d->ci.output_scanline < d->ci.output_height) {
        uint8_t *dst = d->rgb + (size_t)d->ci.output_scanline * w * 3;
        JSAMPROW row = cmyk ? d->cmyk : dst;
        if (jpeg_read_scanlines(&d->ci, &row, 1) != 1) { /* cannot suspend on a memory source */
            snprintf(d->why, sizeof d->why, "libjpeg stopped at row %u",
                     (unsigned)d->ci.output_scanline);
            return 0;
        }
        if (cmyk) cmyk_row_to_rgb(d->cmyk, dst, w, d->ci.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&d->ci); /* reads up to EOI: a missing end is a warning, so refused */
    return 1;
}

fke_status fke_image_decode_jpeg(const uint8_t *buf, size_t n, const char *name, fke_image *im,
                                 fke_err *e)
{
    if (!name) name = "JPEG";
    if (!im) return fke_fail(e, FKE_ERR_ARG, "%s: no picture to decode into", name);
    memset(im, 0, sizeof *im);
    if (!buf || n == 0) return fke_fail(e, FKE_ERR_FORMAT, "%s: empty JPEG", name);
    if ((unsigned long)n != n)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: JPEG of %zu bytes is too large", name, n);
    jpeg_decoder d;
    memset(&d, 0, sizeof d);
    d.st = FKE_ERR_FORMAT;
    int ok = jpeg_decode_run(&d, buf, n);
    int w = (int)d.ci.output_width, h = (int)d.ci.output_height;
    jpeg_destroy_decompress(&d.ci);
    free(d.cmyk);
    if (!ok) {
        free(d.rgb);
        if (d.why[0]) return fke_fail(e, d.st, "%s: %s", name, d.why);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: corrupt or truncated JPEG (%s)", name,
                        d.err.msg[0] ? d.err.msg : "libjpeg error");
    }
    im->w = w;
    im->h = h;
    im->rgb = d.rgb;
    return FKE_OK;
}

fke_status fke_image_read(const char *path, fke_image *im, fke_err *e)
{
    if (!im) return fke_fail(e, FKE_ERR_ARG, "%s: no picture to read into", path ? path : "?");
    memset(im, 0, sizeof *im);
    char *text;
    size_t n;
    FKE_TRY(fke_read_file(path, IMAGE_MAX_FILE, &text, &n, e));
    const uint8_t *b = (const uint8_t *)text;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
        fke_status st = fke_image_decode_jpeg(b, n, path, im, e);
        free(text);
        return st;
    }
    int png = n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
    free(text);
    if (png) return fke_png_read(path, &im->w, &im->h, &im->rgb, e);
    if (n == 0) return fke_fail(e, FKE_ERR_FORMAT, "%s: empty file, not a JPEG or PNG file", path);
    return fke_fail(e, FKE_ERR_FORMAT, "%s: not a JPEG or PNG file", path);
}

/* ---- encoding ----------------------------------------------------------- */
typedef struct {
    struct jpeg_compress_struct ci;
    jpeg_errbox err;
    unsigned char *mem; /* malloc'ed by jpeg_mem_dest, which replaces it as it grows */
    unsigned long size;
} jpeg_encoder;

static int jpeg_encode_run(jpeg_encoder *j, const fke_image *im, int quality)
{
    j->ci.err = jpeg_errbox_init(&j->err);
    if (setjmp(j->err.jb)) return 0;
    jpeg_create_compress(&j->ci);
    jpeg_mem_dest(&j->ci, &j->mem, &j->size);
    j->ci.image_width = (JDIMENSION)im->w;
    j->ci.image_height = (JDIMENSION)im->h;
    j->ci.input_components = 3;
    j->ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&j->ci); /* YCbCr, luma sampled 2x2 (4:2:0) */
    jpeg_set_quality(&j->ci, quality, TRUE);
    if (quality >= 90) j->ci.comp_info[0].h_samp_factor = j->ci.comp_info[0].v_samp_factor = 1;
    j->ci.optimize_coding = TRUE;
    jpeg_start_compress(&j->ci, TRUE);
    while (j->ci.next_scanline < j->ci.image_height) {
        JSAMPROW row = (JSAMPROW)(im->rgb + (size_t)j->ci.next_scanline * im->w * 3);
        jpeg_write_scanlines(&j->ci, &row, 1);
    }
    jpeg_finish_compress(&j->ci);
    return 1;
}

static fke_status encode(const char *name, const fke_image *im, int quality, uint8_t **buf,
                         size_t *n, fke_err *e)
{
    *buf = NULL;
    *n = 0;
    if (quality < 1 || quality > 100)
        return fke_fail(e, FKE_ERR_ARG, "%s: JPEG quality %d is not in 1..100", name, quality);
    if (!im || !im->rgb || im->w < 1 || im->h < 1 || im->w > JPEG_MAX_DIMENSION ||
        im->h > JPEG_MAX_DIMENSION)
        return fke_fail(e, FKE_ERR_ARG, "%s: a JPEG is 1..%d pixels a side, not %d x %d", name,
                        (int)JPEG_MAX_DIMENSION, im ? im->w : 0, im ? im->h : 0);
    jpeg_encoder j;
    memset(&j, 0, sizeof j);
    int ok = jpeg_encode_run(&j, im, quality);
    jpeg_destroy_compress(&j.ci);
    if (!ok) {
        free(j.mem);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: JPEG encoding failed (%s)", name,
                        j.err.msg[0] ? j.err.msg : "libjpeg error");
    }
    *buf = j.mem;
    *n = j.size;
    return FKE_OK;
}

fke_status fke_image_encode_jpeg(const fke_image *im, int quality, uint8_t **buf, size_t *n,
                                 fke_err *e)
{
    if (!buf || !n) return fke_fail(e, FKE_ERR_ARG, "JPEG encoding: no buffer to write into");
    return encode("JPEG encoding", im, quality, buf, n, e);
}

fke_status fke_image_write_jpeg(const char *path, const fke_image *im, int quality, fke_err *e)
{
    if (!path) return fke_fail(e, FKE_ERR_ARG, "JPEG: no file name given");
    uint8_t *buf;
    size_t n;
    FKE_TRY(encode(path, im, quality, &buf, &n, e));
    fke_atomic a;
    fke_status st = fke_atomic_open(&a, path, e);
    if (st != FKE_OK) {
        free(buf);
        return st;
    }
    size_t put = fwrite(buf, 1, n, a.f);
    free(buf);
    if (put != n) {
        fke_atomic_abort(&a);
        return fke_fail(e, FKE_ERR_IO, "%s: cannot write the JPEG", path);
    }
    return fke_atomic_commit(&a, "JPEG", e);
}

/* ---- crop and resize ---------------------------------------------------- */
int fke_box_clip(int32_t box[4], int w, int h)
{
    if (w < 1 || h < 1 || box[2] <= box[0] || box[3] <= box[1]) return FKE_BOX_EMPTY;
    int32_t c[4] = {box[0] < 0 ? 0 : box[0], box[1] < 0 ? 0 : box[1], box[2] > w ? w : box[2],
                    box[3] > h ? h : box[3]};
    if (c[2] <= c[0] || c[3] <= c[1]) return FKE_BOX_EMPTY;
    int kept = !memcmp(c, box, sizeof c);
    memcpy(box, c, sizeof c);
    return kept ? FKE_BOX_KEPT : FKE_BOX_CLIPPED;
}

/* One axis of the resize, n source pixels to S output pixels. Output pixel i
 * takes source pixels j0..j1 (from the box's start) with integer weights
 * over the axis's denominator:
 *   n >= S, box filter: in units of 1/S pixel, output i covers [i n, (i+1) n)
 *     and source j covers [j S, (j+1) S); the weight is their overlap, over n;
 *   n < S, bilinear: output i's centre sits at source position
 *     u = (i + 1/2) n / S - 1/2 = ((2i+1) n - S) / 2S, clamped to [0, n-1];
 *     pixels floor(u) and floor(u)+1 get 1 - frac(u) and frac(u), over 2S.
 * Both are the identity when n == S. */
static int64_t axis_den(int n, int S)
{
    return n >= S ? n : 2 * (int64_t)S;
}
static void axis_span(int n, int S, int i, int *j0, int *j1)
{
    if (n >= S) {
        int64_t a = (int64_t)i * n, b = a + n;
        *j0 = (int)(a / S);
        *j1 = (int)((b + S - 1) / S) - 1;
        return;
    }
    int64_t u2 = (int64_t)(2 * i + 1) * n - S, k = u2 / (2 * (int64_t)S);
    if (u2 <= 0)
        *j0 = *j1 = 0;
    else if (k >= n - 1)
        *j0 = *j1 = n - 1;
    else
        *j0 = (int)k, *j1 = (int)k + 1;
}
static int64_t axis_weight(int n, int S, int i, int j)
{
    if (n >= S) {
        int64_t lo = (int64_t)j * S, hi = lo + S, a = (int64_t)i * n, b = a + n;
        if (a > lo) lo = a;
        if (b < hi) hi = b;
        return hi > lo ? hi - lo : 0;
    }
    int64_t S2 = 2 * (int64_t)S, u2 = (int64_t)(2 * i + 1) * n - S, k = u2 / S2;
    if (u2 <= 0) return j == 0 ? S2 : 0;
    if (k >= n - 1) return j == n - 1 ? S2 : 0;
    int64_t f = u2 - k * S2;
    return j == k ? S2 - f : j == k + 1 ? f : 0;
}

void fke_image_resize_chw(const fke_image *im, const int32_t box[4], int S, uint8_t *out)
{
    if (!out || S < 1 || S > FKE_IMAGE_MAX_SIDE) return;
    size_t plane = (size_t)S * S;
    int32_t b[4] = {0, 0, 0, 0};
    if (box) memcpy(b, box, sizeof b);
    if (!im || !im->rgb || !box || fke_box_clip(b, im->w, im->h) == FKE_BOX_EMPTY ||
        b[2] - b[0] > FKE_IMAGE_MAX_SIDE || b[3] - b[1] > FKE_IMAGE_MAX_SIDE) {
        memset(out, 0, 3 * plane);
        return;
    }
    int nx = b[2] - b[0], ny = b[3] - b[1];
    /* sums stay below 255 * den <= 255 * (2^21)^2 < 2^50 */
    int64_t den = axis_den(nx, S) * axis_den(ny, S);
    for (int oy = 0; oy < S; oy++) {
        int y0, y1;
        axis_span(ny, S, oy, &y0, &y1);
        for (int ox = 0; ox < S; ox++) {
            int x0, x1;
            axis_span(nx, S, ox, &x0, &x1);
            int64_t acc[3] = {0, 0, 0};
            for (int j = y0; j <= y1; j++) {
                int64_t wy = axis_weight(ny, S, oy, j);
                if (!wy) continue;
                const uint8_t *row = im->rgb + ((size_t)(b[1] + j) * im->w + b[0]) * 3;
                int64_t sx[3] = {0, 0, 0};
                for (int k = x0; k <= x1; k++) {
                    int64_t wx = axis_weight(nx, S, ox, k);
                    for (int c = 0; c < 3; c++) sx[c] += wx * row[3 * k + c];
                }
                for (int c = 0; c < 3; c++) acc[c] += wy * sx[c];
            }
            for (int c = 0; c < 3; c++)
                out[c * plane + (size_t)oy * S + ox] = (uint8_t)((acc[c] + den / 2) / den);
        }
    }
}

void fke_box_to_frame(const int32_t box[4], int w, int h, int S, int32_t out[4])
{
    out[0] = (int32_t)((int64_t)box[0] * S / w);
    out[1] = (int32_t)((int64_t)box[1] * S / h);
    out[2] = (int32_t)(((int64_t)box[2] * S + w - 1) / w);
    out[3] = (int32_t)(((int64_t)box[3] * S + h - 1) / h);
}
