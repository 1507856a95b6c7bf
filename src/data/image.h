/* image.h - pictures as RGB bytes: JPEG (libjpeg-turbo) and PNG files in,
 * JPEG out, and the one crop-and-resize rule that importers, the synthetic
 * data and extraction share.
 *
 *   fke_image im;
 *   FKE_TRY(fke_image_read("images/0001.jpg", &im, e));   JPEG or PNG, by signature
 *   uint8_t crop[3 * 64 * 64];
 *   int32_t box[4] = {10, 20, 110, 220};
 *   if (fke_box_clip(box, im.w, im.h) == FKE_BOX_EMPTY) ...drop the garment...
 *   fke_image_resize_chw(&im, box, 64, crop);
 *   fke_image_free(&im);
 *
 * Decoding: grayscale, CMYK/YCCK (Adobe inverted or not) and progressive
 * JPEGs all become 8-bit RGB. A corrupt or truncated file is an error naming
 * the file (FKE_ERR_FORMAT): every libjpeg warning that touches pixels
 * ("Premature end of JPEG file", "Corrupt JPEG data: bad Huffman code",
 * ...) is an error here, so never a crash, an exit, a message on stderr or a
 * partly grey picture. Three warnings that leave the pixels alone are let
 * through: stray bytes between marker segments (as phones write them), an
 * unknown JFIF revision, a bad ICC marker. Also refused: more
 * than FKE_IMAGE_MAX_PIXELS pixels (before any pixel memory is taken), a
 * progressive file of more than 500 scans, a file over 1 GiB.
 *
 * The resize rule (stated once, tested in tests/test_image.c): the box
 * [x0, y0, x1, y1) (x1, y1 exclusive, in picture pixels) is stretched to
 * S x S without keeping the aspect ratio, as the FashionKE loader's
 * Resize((224, 224)) does. Each axis on its own, with n source pixels
 * (the box's side) and S output pixels:
 *   n >= S: output pixel i is the average of the source span
 *     [i n/S, (i+1) n/S) it covers, each source pixel weighted by the part
 *     of it inside the span (exact box filter: antialiased when shrinking);
 *   n < S: bilinear between pixel centres, output pixel i's centre lying at
 *     source position (i + 1/2) n/S - 1/2, clamped to [0, n-1] (edges clamp).
 * Both give back the source when n == S. The weights are exact fractions
 * and the sums are done in integers, so each byte is the exact value
 * rounded to nearest (halves up), the same on every machine. */
#ifndef FKE_IMAGE_H
#define FKE_IMAGE_H
#include <stddef.h>
#include <stdint.h>

#include "core/fke.h"

#define FKE_IMAGE_MAX_PIXELS ((uint64_t)1 << 28) /* the largest picture decoded */
#define FKE_IMAGE_MAX_SIDE (1 << 20) /* the largest box side and S of the resize */

typedef struct {
    int w, h;
    uint8_t *rgb; /* (h, w, 3) row-major, malloc'ed */
} fke_image;

void fke_image_free(fke_image *im);
/* A JPEG or PNG file (told apart by its first bytes: FF D8 FF, \x89PNG) as
 * RGB. A missing file is FKE_ERR_IO, anything else (empty included)
 * FKE_ERR_FORMAT, each naming the file. On failure *im is empty (w = h = 0,
 * rgb = NULL), and fke_image_free on it is harmless. */
fke_status fke_image_read(const char *path, fke_image *im, fke_err *e);
/* A JPEG held in memory (name is used in messages); the same errors. */
fke_status fke_image_decode_jpeg(const uint8_t *buf, size_t n, const char *name, fke_image *im,
                                 fke_err *e);
/* JPEG encoding at quality 1..100 (4:2:0 below 90, 4:4:4 from 90), into a
 * malloc'ed buffer, or into a file written atomically (core/file.h). */
fke_status fke_image_encode_jpeg(const fke_image *im, int quality, uint8_t **buf, size_t *n,
                                 fke_err *e);
fke_status fke_image_write_jpeg(const char *path, const fke_image *im, int quality, fke_err *e);

/* Clips box to the w x h picture in place: FKE_BOX_KEPT when it was inside,
 * FKE_BOX_CLIPPED when it was cut to the border, FKE_BOX_EMPTY when nothing
 * (or a zero-area or inverted box) remains; an empty box is left as it was. */
enum { FKE_BOX_KEPT, FKE_BOX_CLIPPED, FKE_BOX_EMPTY };
int fke_box_clip(int32_t box[4], int w, int h);
/* The region box of im (already clipped, non-empty) resized to S x S by the
 * rule above, written as bytes in channel-major order: out (3, S, S).
 * 1 <= S <= FKE_IMAGE_MAX_SIDE, else nothing is written. A box that was not
 * clipped is clipped here; one that is empty (or has a side over
 * FKE_IMAGE_MAX_SIDE) gives zeros. */
void fke_image_resize_chw(const fke_image *im, const int32_t box[4], int S, uint8_t *out);
/* A clipped, non-empty box of a w x h picture in the S x S frame of that
 * picture resized whole to S: floor of the start, ceiling of the end
 * ([floor(x0 S/w), floor(y0 S/h), ceil(x1 S/w), ceil(y1 S/h))), so it is
 * never empty and never leaves the frame. The importers' one rule. */
void fke_box_to_frame(const int32_t box[4], int w, int h, int S, int32_t out[4]);
#endif
