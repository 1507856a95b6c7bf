/* plot.c - see plot.h. */
#include "run/plot.h"

#include <cairo.h>
#include <cairo-svg.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "run/heatmap.h"

enum { S_LOSS, S_LR, S_OCC, S_CAT, S_ATT, S_ACC, N_SERIES };
static const char *const series_key[N_SERIES] = {"loss", "lr", "occ_acc", "cat_acc", "att_acc", "acc"};
static const char *const series_name[N_SERIES] = {"loss", "lr", "occasion", "category",
                                                  "attributes", "accuracy"};

typedef struct {
    int n, cap;
    double *x, *y;
} series;

typedef struct {
    char name[256];
    series s[N_SERIES];
} run_curves;

static int push(series *s, double x, double y)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (!nx) return -1;
        s->x = nx;
        double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
        if (!ny) return -1;
        s->y = ny, s->cap = cap;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return 0;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static fke_status read_run(const char *dir, run_curves *rc, fke_err *e)
{
    char path[FKE_PATHLEN], *buf;
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    const char *base = strrchr(dir, '/');
    snprintf(rc->name, sizeof rc->name, "%s", base && base[1] ? base + 1 : dir);
    FKE_TRY(fke_read_file(path, 0, &buf, NULL, e));
    int points = 0, nomem = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line && !nomem; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        if (!j) continue; /* a line cut by a kill */
        double st = num(j, "step"), ev = num(j, "eval_step");
        if (isfinite(st)) {
            double l = num(j, "loss"), lr = num(j, "lr");
            if (isfinite(l)) nomem |= push(&rc->s[S_LOSS], st, l), points++;
            if (isfinite(lr)) nomem |= push(&rc->s[S_LR], st, lr);
        } else if (isfinite(ev)) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "val");
            for (int k = S_OCC; v && k < N_SERIES; k++) {
                double a = num(v, series_key[k]);
                if (isfinite(a)) nomem |= push(&rc->s[k], ev, a), points++;
            }
        }
        cJSON_Delete(j);
    }
    free(buf);
    if (nomem) return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for its curves", path);
    if (!points) return fke_fail(e, FKE_ERR_FORMAT, "%s: no training or validation line to draw", path);
    return FKE_OK;
}

/* ---- drawing ---------------------------------------------------------------- */
#define W 960
#define PANEL_H 300
#define LEFT 90
#define RIGHT 24
#define TOP 44
#define BOTTOM 56
#define FONT 14.0

static const double colours[FKE_PLOT_MAX_RUNS][3] = {
    {0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
    {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}};

/* a round step for about n ticks over [lo, hi] */
static double tick_step(double lo, double hi, int n)
{
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

static void text(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    cairo_text_extents_t t;
    cairo_text_extents(cr, s, &t);
    cairo_move_to(cr, x - ax * t.width - t.x_bearing, y - ay * t.height - t.y_bearing);
    cairo_show_text(cr, s);
}

/* one panel at y0: series k of every run (several k for the accuracy panel) */
static void panel(cairo_t *cr, double y0, const char *title, const char *ylabel, int logy,
                  const run_curves *rc, int nr, const int *ks, int nk)
{
    double x0 = LEFT, x1 = W - RIGHT, py0 = y0 + TOP, py1 = y0 + PANEL_H - BOTTOM;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int r = 0; r < nr; r++)
        for (int q = 0; q < nk; q++) {
            const series *s = &rc[r].s[ks[q]];
            for (int i = 0; i < s->n; i++) {
                double y = logy ? log10(fmax(s->y[i], 1e-30)) : s->y[i];
                xmin = fmin(xmin, s->x[i]), xmax = fmax(xmax, s->x[i]);
                ymin = fmin(ymin, y), ymax = fmax(ymax, y);
            }
        }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, FONT + 2);
    text(cr, (x0 + x1) / 2, y0 + 14, title, 0.5, 0);
    cairo_set_font_size(cr, FONT);
    if (!(xmax >= xmin)) {
        text(cr, (x0 + x1) / 2, (py0 + py1) / 2, "(nothing logged)", 0.5, 0.5);
        return;
    }
    if (xmax == xmin) xmin -= 1, xmax += 1;
    if (ymax - ymin < 1e-9) ymin -= 0.5, ymax += 0.5;
    double pad = 0.05 * (ymax - ymin);
    ymin -= pad, ymax += pad;
    if (!logy && ks[0] >= S_OCC) ymin = fmax(ymin, 0), ymax = fmin(ymax, 1);
#define PX(v) (x0 + ((v) - xmin) / (xmax - xmin) * (x1 - x0))
#define PY(v) (py1 - ((v) - ymin) / (ymax - ymin) * (py1 - py0))
    /* grid, ticks and their labels */
    cairo_set_line_width(cr, 1);
    char lab[64];
    double st = tick_step(xmin, xmax, 8);
    for (double v = ceil(xmin / st) * st; v <= xmax + 1e-9; v += st) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, PX(v), py0), cairo_line_to(cr, PX(v), py1), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(lab, sizeof lab, "%g", v);
        text(cr, PX(v), py1 + 6, lab, 0.5, 0);
    }
    st = logy ? fmax(1, round(tick_step(ymin, ymax, 5))) : tick_step(ymin, ymax, 5);
    for (double v = ceil(ymin / st) * st; v <= ymax + 1e-9; v += st) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, x0, PY(v)), cairo_line_to(cr, x1, PY(v)), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(lab, sizeof lab, logy ? "1e%g" : "%g", logy ? v : round(v / st) * st);
        text(cr, x0 - 6, PY(v), lab, 1, 0.5);
    }
    cairo_rectangle(cr, x0, py0, x1 - x0, py1 - py0);
    cairo_stroke(cr);
    text(cr, (x0 + x1) / 2, py1 + 28, "step", 0.5, 0);
    cairo_save(cr);
    cairo_translate(cr, 18, (py0 + py1) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, ylabel, 0.5, 0.5);
    cairo_restore(cr);
    /* the curves: colour = run, dash = task */
    static const double dashes[3][2] = {{1, 0}, {8, 4}, {2, 3}};
    cairo_rectangle(cr, x0, py0, x1 - x0, py1 - py0);
    cairo_save(cr);
    cairo_clip(cr);
    cairo_set_line_width(cr, 2);
    for (int r = 0; r < nr; r++)
        for (int q = 0; q < nk; q++) {
            const series *s = &rc[r].s[ks[q]];
            if (!s->n) continue;
            cairo_set_source_rgb(cr, colours[r][0], colours[r][1], colours[r][2]);
            cairo_set_dash(cr, dashes[q % 3], q % 3 ? 2 : 0, 0);
            for (int i = 0; i < s->n; i++) {
                double y = logy ? log10(fmax(s->y[i], 1e-30)) : s->y[i];
                if (i == 0) cairo_move_to(cr, PX(s->x[i]), PY(y));
                else cairo_line_to(cr, PX(s->x[i]), PY(y));
            }
            if (s->n == 1) cairo_rel_line_to(cr, 0.1, 0), cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
            cairo_stroke(cr);
            if (s->n < 40) /* few evaluations: mark them */
                for (int i = 0; i < s->n; i++) {
                    double y = logy ? log10(fmax(s->y[i], 1e-30)) : s->y[i];
                    cairo_arc(cr, PX(s->x[i]), PY(y), 3, 0, 2 * M_PI);
                    cairo_fill(cr);
                }
        }
    cairo_restore(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    /* the task legend (dash styles), top right inside the panel */
    if (nk > 1) {
        double lx = x1 - 150, ly = py0 + 14;
        int shown = 0;
        for (int q = 0; q < nk; q++)
            for (int r = 0, any = 0; r < nr && !any; r++) any = rc[r].s[ks[q]].n > 0, shown += any;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85); /* a box behind it, over the curves */
        cairo_rectangle(cr, lx - 8, ly - 11, 146, 20.0 * shown + 2);
        cairo_fill(cr);
        for (int q = 0; q < nk; q++) {
            int any = 0;
            for (int r = 0; r < nr; r++) any |= rc[r].s[ks[q]].n > 0;
            if (!any) continue;
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            cairo_set_line_width(cr, 2);
            cairo_set_dash(cr, dashes[q % 3], q % 3 ? 2 : 0, 0);
            cairo_move_to(cr, lx, ly), cairo_line_to(cr, lx + 34, ly), cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            text(cr, lx + 42, ly, series_name[ks[q]], 0, 0.5);
            ly += 20;
        }
    }
#undef PX
#undef PY
}

static void draw(cairo_t *cr, const run_curves *rc, int nr, double height)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    int loss = S_LOSS, lr = S_LR, acc[4] = {S_OCC, S_CAT, S_ATT, S_ACC};
    panel(cr, 0, "training loss (mean since the previous line)", "loss", 0, rc, nr, &loss, 1);
    panel(cr, PANEL_H, "learning rate", "lr (log scale)", 1, rc, nr, &lr, 1);
    panel(cr, 2 * PANEL_H, "validation accuracy", "accuracy", 0, rc, nr, acc, 4);
    /* the run legend, under the panels */
    double x = LEFT, y = 3 * PANEL_H + 18;
    cairo_set_font_size(cr, FONT);
    for (int r = 0; r < nr; r++) {
        cairo_text_extents_t t;
        cairo_text_extents(cr, rc[r].name, &t);
        if (x + 40 + t.x_advance > W - RIGHT) x = LEFT, y += 22;
        cairo_set_source_rgb(cr, colours[r][0], colours[r][1], colours[r][2]);
        cairo_rectangle(cr, x, y - 6, 28, 12);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, x + 34, y, rc[r].name, 0, 0.5);
        x += 34 + t.x_advance + 24;
    }
    (void)height;
}

fke_status fke_plot_runs(const char *const *runs, int n, const char *out_png, fke_err *e)
{
    if (n < 1 || n > FKE_PLOT_MAX_RUNS)
        return fke_fail(e, FKE_ERR_ARG, "fke plot: %d runs; it draws 1 to %d", n, FKE_PLOT_MAX_RUNS);
    run_curves *rc = calloc((size_t)n, sizeof *rc);
    if (!rc) return fke_fail(e, FKE_ERR_NOMEM, "out of memory");
    fke_status st = FKE_OK;
    for (int r = 0; r < n && st == FKE_OK; r++) st = read_run(runs[r], &rc[r], e);
    double H = 3 * PANEL_H + 40 + 22 * (n / 4);
    if (st == FKE_OK) {
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, (int)H);
        cairo_t *cr = cairo_create(s);
        draw(cr, rc, n, H);
        cairo_destroy(cr);
        st = fke_cairo_write_png(s, out_png, e);
        cairo_surface_destroy(s);
    }
    if (st == FKE_OK) { /* the same drawing as SVG, beside it */
        char svg[FKE_PATHLEN];
        snprintf(svg, sizeof svg, "%s", out_png);
        size_t l = strlen(svg);
        if (l > 4 && !strcmp(svg + l - 4, ".png")) svg[l - 4] = 0;
        strncat(svg, ".svg", sizeof svg - strlen(svg) - 1);
        fke_atomic a;
        st = fke_atomic_name(&a, svg, e);
        if (st == FKE_OK) {
            cairo_surface_t *s = cairo_svg_surface_create(a.tmp, W, H);
            cairo_t *cr = cairo_create(s);
            draw(cr, rc, n, H);
            cairo_destroy(cr);
            cairo_surface_finish(s);
            int ok = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS;
            cairo_surface_destroy(s);
            if (!ok) remove(a.tmp), st = fke_fail(e, FKE_ERR_IO, "%s: cannot write the SVG", svg);
            else st = fke_atomic_commit(&a, "picture", e);
        }
    }
    for (int r = 0; r < n; r++)
        for (int k = 0; k < N_SERIES; k++) free(rc[r].s[k].x), free(rc[r].s[k].y);
    free(rc);
    return st;
}
