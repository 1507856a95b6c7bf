/* png_io.h - PNG files through libpng (the pictures fke draws are cairo's:
 * run/heatmap.h, run/plot.h, run/show.h).
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

#endif
