/* png_io.h - PNG files through libpng, and the little drawing `fke data
 * show` needs (nearest-neighbour blits, box outlines, a 3x5 pixel font).
 *
 * Pictures here are interleaved 8-bit RGB, (h, w, 3), row-major. Reading
 * accepts any PNG (gray, palette, 16-bit, alpha: alpha is composed over
 * black) and returns RGB; a missing, truncated or corrupt file is an error
 * naming the file. Writing goes to PATH.tmp.<pid> and is renamed over PATH
 * only when complete. */
#ifndef FKE_PNG_IO_H
#define FKE_PNG_IO_H
#include "core/fke.h"

/* *rgb is malloc'ed (h, w, 3). */
fke_status fke_png_read(const char *path, int *w, int *h, uint8_t **rgb, fke_err *e);
fke_status fke_png_write(const char *path, int w, int h, const uint8_t *rgb, fke_err *e);

typedef struct {
    int w, h;
    uint8_t *rgb; /* (h, w, 3) */
} fke_canvas;

fke_status fke_canvas_init(fke_canvas *c, int w, int h, const uint8_t bg[3], fke_err *e);
void fke_canvas_free(fke_canvas *c);
/* Draws a planar (3, sh, sw) picture scaled by integer factor k at (x, y). */
void fke_canvas_blit_planar(fke_canvas *c, const uint8_t *chw, int sw, int sh, int k, int x,
                            int y);
/* Outline of the rectangle [x0, x1) x [y0, y1), t pixels thick, inside it. */
void fke_canvas_rect(fke_canvas *c, int x0, int y0, int x1, int y1, int t, const uint8_t col[3]);
void fke_canvas_fill(fke_canvas *c, int x0, int y0, int x1, int y1, const uint8_t col[3]);
/* Text in a 3x5 font scaled by k (A-Z, 0-9, a few signs; lower case is
 * drawn as upper case, anything else as a blank). Returns the x after it. */
int fke_canvas_text(fke_canvas *c, int x, int y, int k, const char *s, const uint8_t col[3]);
#endif
