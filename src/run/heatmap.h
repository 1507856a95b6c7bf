/* heatmap.h - a matrix as a heat-map picture, drawn with cairo: rows and
 * columns in the order given (the label order: two pictures compare cell
 * by cell), every row kept (a row of zeros stays white), a colour bar with
 * its scale, titles on both axes, each cell's text (a count or a share) when
 * the cells are big enough, text at least 12 px. The canvas is capped (at
 * most FKE_HEATMAP_MAX_SIDE pixels a side): a matrix with too many rows or
 * columns for legible cells is an error naming its size, not a giant file.
 *
 *   fke_heatmap h = {.title = "category: confusion", .rows = 10, .cols = 10,
 *                    .v = share, .cell_text = counts_as_text, .row_names = names,
 *                    .col_names = names, .row_title = "true", .col_title = "predicted",
 *                    .scale_title = "share of the row"};
 *   fke_heatmap_write(&h, "confusion_category.png", &e);
 *
 * v holds values in [0, 1] (rows x cols); NAN draws grey. */
#ifndef FKE_HEATMAP_H
#define FKE_HEATMAP_H
#include "core/fke.h"

#define FKE_HEATMAP_MAX_SIDE 4096

typedef struct {
    const char *title, *row_title, *col_title, *scale_title;
    int rows, cols;
    const double *v;                 /* (rows, cols) in [0, 1] */
    char *const *cell_text;          /* NULL or (rows, cols) strings drawn in the cells */
    char *const *row_names, *const *col_names; /* NULL: the index */
} fke_heatmap;

fke_status fke_heatmap_write(const fke_heatmap *h, const char *path, fke_err *e);

/* A drawn cairo image surface written to path as PNG, atomically (the one
 * PNG writer of every cairo picture: heat maps, plots, posts). */
typedef struct _cairo_surface fke_cairo_surface;
fke_status fke_cairo_write_png(fke_cairo_surface *s, const char *path, fke_err *e);
#endif
