/* heatmap.c - see heatmap.h. */
#include "run/heatmap.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>

#include "core/file.h"

#define FONT 13.0
#define CELL_MIN 14
#define CELL_MAX 56

/* white -> dark blue */
static void colour(cairo_t *cr, double v)
{
    if (!isfinite(v)) {
        cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
        return;
    }
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    cairo_set_source_rgb(cr, 1 - 0.92 * v, 1 - 0.72 * v, 1 - 0.45 * v);
}

/* s placed with (ax, ay) of its box at (x, y); the box's height is the
 * font's (ascent + descent), not the ink's, so that names with and without
 * descenders sit on one line */
static void text(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    cairo_text_extents_t t;
    cairo_font_extents_t f;
    cairo_text_extents(cr, s, &t);
    cairo_font_extents(cr, &f);
    cairo_move_to(cr, x - ax * t.width - t.x_bearing, y + f.ascent - ay * (f.ascent + f.descent));
    cairo_show_text(cr, s);
}

static const char *name(char *const *names, int i, char *buf, size_t n)
{
    if (names && names[i]) return names[i];
    snprintf(buf, n, "%d", i);
    return buf;
}

fke_status fke_heatmap_write(const fke_heatmap *h, const char *path, fke_err *e)
{
    if (h->rows < 1 || h->cols < 1)
        return fke_fail(e, FKE_ERR_ARG, "%s: an empty %d x %d matrix", path, h->rows, h->cols);
    /* the label widths, measured with the font the picture uses */
    cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(probe);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT);
    double rw = 0, cw = 0;
    char buf[32];
    cairo_text_extents_t t;
    for (int i = 0; i < h->rows; i++)
        cairo_text_extents(cr, name(h->row_names, i, buf, sizeof buf), &t), rw = fmax(rw, t.x_advance);
    for (int j = 0; j < h->cols; j++)
        cairo_text_extents(cr, name(h->col_names, j, buf, sizeof buf), &t), cw = fmax(cw, t.x_advance);
    cairo_destroy(cr);
    cairo_surface_destroy(probe);
    rw = fmin(rw, 220), cw = fmin(cw, 220);
    int cell = CELL_MAX;
    while (cell > CELL_MIN && (cell * h->cols > 1600 || cell * h->rows > 1600)) cell--;
    double left = 40 + rw + 12, top = 56, gw = (double)cell * h->cols, gh = (double)cell * h->rows;
    double W = left + gw + 130, H = top + gh + cw + 50;
    if (W > FKE_HEATMAP_MAX_SIDE || H > FKE_HEATMAP_MAX_SIDE)
        return fke_fail(e, FKE_ERR_ARG, "%s: a %d x %d matrix needs a %.0f x %.0f picture, more than "
                        "%d pixels a side: too many classes to draw legibly (the CSV has them all)",
                        path, h->rows, h->cols, W, H, FKE_HEATMAP_MAX_SIDE);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)W, (int)H);
    cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT + 3);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, left + gw / 2, 14, h->title ? h->title : "", 0.5, 0);
    cairo_set_font_size(cr, FONT);
    for (int i = 0; i < h->rows; i++)
        for (int j = 0; j < h->cols; j++) {
            double v = h->v[(size_t)i * h->cols + j];
            colour(cr, v);
            cairo_rectangle(cr, left + j * cell, top + i * cell, cell, cell);
            cairo_fill(cr);
            const char *ct = h->cell_text ? h->cell_text[(size_t)i * h->cols + j] : NULL;
            if (ct && ct[0] && cell >= 24) {
                cairo_text_extents(cr, ct, &t);
                if (t.width < cell - 2) {
                    if (v > 0.55) cairo_set_source_rgb(cr, 1, 1, 1);
                    else cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
                    text(cr, left + (j + 0.5) * cell, top + (i + 0.5) * cell, ct, 0.5, 0.5);
                }
            }
        }
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left, top, gw, gh);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int i = 0; i < h->rows; i++)
        text(cr, left - 6, top + (i + 0.5) * cell, name(h->row_names, i, buf, sizeof buf), 1, 0.5);
    for (int j = 0; j < h->cols; j++) { /* column names written downwards */
        cairo_save(cr);
        cairo_translate(cr, left + (j + 0.5) * cell, top + gh + 6);
        cairo_rotate(cr, M_PI / 2);
        text(cr, 0, 0, name(h->col_names, j, buf, sizeof buf), 0, 0.5);
        cairo_restore(cr);
    }
    cairo_set_font_size(cr, FONT + 1);
    text(cr, left + gw / 2, H - 10, h->col_title ? h->col_title : "", 0.5, 1);
    cairo_save(cr);
    cairo_translate(cr, 16, top + gh / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, h->row_title ? h->row_title : "", 0.5, 0.5);
    cairo_restore(cr);
    /* the colour bar */
    double bx = left + gw + 24, bh = fmin(gh, 260), by = top;
    for (int k = 0; k < 100; k++) {
        colour(cr, 1 - k / 99.0);
        cairo_rectangle(cr, bx, by + bh * k / 100.0, 18, bh / 100.0 + 0.5);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_rectangle(cr, bx, by, 18, bh);
    cairo_stroke(cr);
    cairo_set_font_size(cr, FONT);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int k = 0; k <= 4; k++) {
        snprintf(buf, sizeof buf, "%.2g", 1 - k / 4.0);
        text(cr, bx + 24, by + bh * k / 4.0, buf, 0, 0.5);
    }
    cairo_save(cr);
    cairo_translate(cr, bx + 70, by + bh / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, h->scale_title ? h->scale_title : "", 0.5, 0.5);
    cairo_restore(cr);
    cairo_destroy(cr);
    fke_status st = fke_cairo_write_png(s, path, e);
    cairo_surface_destroy(s);
    return st;
}

fke_status fke_cairo_write_png(fke_cairo_surface *s, const char *path, fke_err *e)
{
    fke_atomic a;
    fke_status st = fke_atomic_name(&a, path, e);
    if (st == FKE_OK && cairo_surface_write_to_png(s, a.tmp) != CAIRO_STATUS_SUCCESS) {
        remove(a.tmp);
        st = fke_fail(e, FKE_ERR_IO, "%s: cannot write the picture", path);
    }
    return st == FKE_OK ? fke_atomic_commit(&a, "picture", e) : st;
}
