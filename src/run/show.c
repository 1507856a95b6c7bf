/* show.c - see show.h. */
#include "run/show.h"

#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "run/heatmap.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "model/model_io.h"
#include "run/extract.h"

#define FONT 13.0
#define ROW 18.0    /* a table row */
#define MARGIN 12.0
#define LEFT_MIN 300.0 /* the left column's width at least (the occasion, the wearer, the caption) */

static const char *const gender_names[2] = {"female", "male"};
static const char *const age_names[4] = {"<25", "25-39", "40-59", "60+"};

/* box colours, one per category (mod 8), dark enough on white */
static const double box_rgb[8][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                     {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76},
                                     {0.50, 0.50, 0.50}, {0.09, 0.75, 0.81}};

typedef struct {
    const fke_dataset *d;
    int p, pred;                  /* the post; 1 when predictions are drawn */
    const fke_extract_probs *pr;  /* with pred */
    int vrow[64];                 /* garment slot -> its row in pr (-1 none) */
    cJSON *list;                  /* the JSON predictions (NULL without --json) */
    int checked, mistakes;
} show_ctx;

/* ---- labels ------------------------------------------------------------------ */
/* task t: 0 the category, 1 + k attribute k; slot s = p * G + g */
static int task_n(const fke_dataset *d, int t) { return t ? d->n_val[t - 1] : d->n_cat; }
static const char *task_title(const fke_dataset *d, int t) { return t ? d->attr_names[t - 1] : "category"; }
static const char *label_name(const fke_dataset *d, int t, int v)
{
    if (v < 0 || v >= task_n(d, t)) return NULL;
    return t ? d->val_names[t - 1][v] : d->cat_names[v];
}

static int get(const int32_t *a, size_t i) { return a ? a[i] : -1; }

/* the true label (show.h): the kept true label, else a clean post's own */
static int truth_of(const fke_dataset *d, int p, int g, int t)
{
    size_t s = (size_t)p * d->G + g, A = (size_t)d->A;
    int v = t ? get(d->attr_true, s * A + t - 1) : get(d->cat_true, s);
    if (v < 0 && d->clean[p]) v = t ? get(d->attr, s * A + t - 1) : get(d->cat, s);
    return v;
}

/* the machine tagger's label: the kept one, else a machine post's own */
static int machine_of(const fke_dataset *d, int p, int g, int t)
{
    size_t s = (size_t)p * d->G + g, A = (size_t)d->A;
    int v = t ? get(d->attr_machine, s * A + t - 1) : get(d->cat_machine, s);
    if (v < 0 && !d->clean[p]) v = t ? get(d->attr, s * A + t - 1) : get(d->cat, s);
    return v;
}

static int has_machine_labels(const fke_dataset *d)
{
    for (int i = 0; i < d->N; i++)
        if (!d->clean[i]) return 1;
    return d->cat_machine && d->N && get(d->cat_machine, 0) >= 0;
}

/* the probabilities of task t for garment g (NULL when not predicted) */
static const fke_real *probs_of(const show_ctx *c, int g, int t)
{
    if (!c->pred || g < 0 || g >= 64 || c->vrow[g] < 0) return NULL;
    size_t v = (size_t)c->vrow[g];
    return t ? c->pr->att[t - 1] + v * c->d->n_val[t - 1] : c->pr->cat + v * c->d->n_cat;
}

static int argmax(const fke_real *p, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[b]) b = i;
    return b;
}

/* ---- drawing helpers --------------------------------------------------------- */
static double text_w(cairo_t *cr, const char *s)
{
    cairo_text_extents_t t;
    cairo_text_extents(cr, s ? s : "", &t);
    return t.x_advance;
}

/* s with its baseline at y */
static void text_at(cairo_t *cr, double x, double y, const char *s)
{
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s ? s : "");
}

static void rgb(cairo_t *cr, const double c[3]) { cairo_set_source_rgb(cr, c[0], c[1], c[2]); }

/* a tick (right) or a cross (wrong) in a 10 x 10 square at (x, y) */
static void mark(cairo_t *cr, double x, double y, int right)
{
    cairo_save(cr);
    cairo_set_line_width(cr, 2);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    if (right) {
        cairo_set_source_rgb(cr, 0.1, 0.6, 0.1);
        cairo_move_to(cr, x, y + 5), cairo_line_to(cr, x + 4, y + 9), cairo_line_to(cr, x + 10, y);
    } else {
        cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
        cairo_move_to(cr, x, y), cairo_line_to(cr, x + 10, y + 10);
        cairo_move_to(cr, x + 10, y), cairo_line_to(cr, x, y + 10);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* planar (3, side, side) bytes drawn k times larger at (x, y), pixels kept sharp */
static void picture(cairo_t *cr, const uint8_t *chw, int side, double k, double x, double y)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, side, side);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return;
    cairo_surface_flush(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    size_t plane = (size_t)side * side;
    for (int j = 0; j < side; j++) {
        uint32_t *row = (uint32_t *)(px + (size_t)j * stride);
        for (int i = 0; i < side; i++) {
            size_t q = (size_t)j * side + i;
            row[i] = (uint32_t)chw[q] << 16 | (uint32_t)chw[plane + q] << 8 | chw[2 * plane + q];
        }
    }
    cairo_surface_mark_dirty(s);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, k, k);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, side, side);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(s);
}

/* one prediction into the JSON list and the counts; returns 1 wrong, 0 right, -1 unknown */
static int judge(show_ctx *c, int g, const char *task, const char *truth, const char *pred,
                 double p, double p_truth)
{
    int wrong = truth ? strcmp(truth, pred) != 0 : -1;
    if (wrong >= 0) c->checked++, c->mistakes += wrong;
    if (c->list) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "garment", g);
        cJSON_AddStringToObject(o, "task", task);
        if (truth) cJSON_AddStringToObject(o, "truth", truth);
        else cJSON_AddNullToObject(o, "truth");
        cJSON_AddStringToObject(o, "predicted", pred);
        cJSON_AddNumberToObject(o, "prob", round(p * 1e6) / 1e6);
        if (truth) cJSON_AddNumberToObject(o, "truth_prob", round(p_truth * 1e6) / 1e6);
        if (wrong >= 0) cJSON_AddBoolToObject(o, "mistake", wrong);
        cJSON_AddItemToArray(c->list, o);
    }
    return wrong;
}

/* ---- the layout -------------------------------------------------------------- */
typedef struct {
    double k, ck;          /* image and crop magnification */
    double S, P;           /* drawn image and crop sides */
    double lw;             /* the left column's width */
    double col[4];         /* table columns: task, truth, tagger (0 without), predicted (0 without) */
    double block;          /* one garment's height on the right */
    double W, H;
} layout;

static void measure(cairo_t *cr, const fke_dataset *d, int pred, layout *L)
{
    L->k = d->img >= 256 ? 1 : floor(256.0 / d->img);
    L->ck = d->crop >= 96 ? 1 : floor(96.0 / d->crop);
    L->S = d->img * L->k, L->P = d->crop * L->ck;
    L->lw = fmax(L->S, LEFT_MIN);
    double tw = text_w(cr, "garment"), nw = text_w(cr, pred ? "truth (p)" : "truth");
    for (int k = 0; k < d->A; k++) tw = fmax(tw, text_w(cr, d->attr_names[k]));
    for (int t = 0; t <= d->A; t++)
        for (int v = 0; v < task_n(d, t); v++) nw = fmax(nw, text_w(cr, label_name(d, t, v)));
    nw = fmin(nw, 240);
    double pw = text_w(cr, " 0.00");
    L->col[0] = tw + 14;
    L->col[1] = nw + (pred ? pw : 0) + 14;
    L->col[2] = has_machine_labels(d) ? fmax(nw, text_w(cr, "tagger")) + 14 : 0;
    L->col[3] = pred ? fmax(nw + pw, text_w(cr, "predicted (p)")) + 30 : 0;
    L->block = fmax(L->P, (d->A + 2) * ROW) + 14;
    double right = L->P + 12 + L->col[0] + L->col[1] + L->col[2] + L->col[3];
    /* the left column: the image, then the occasion (a title, the truth and
     * up to 3 predictions), the wearer and 3 lines of caption */
    double left_h = 26 + L->S + 10 + (pred ? 5 : 2) * ROW + ROW + 3 * ROW;
    L->W = ceil(MARGIN + L->lw + 20 + right + MARGIN);
    L->H = ceil(MARGIN + fmax(left_h, 26 + d->G * L->block) + MARGIN);
}

/* the caption's words wrapped into at most `lines` lines of width w from (x, y) */
static void caption(cairo_t *cr, const fke_dataset *d, int p, double x, double y, double w,
                    int lines)
{
    double cx = x;
    int line = 0;
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    text_at(cr, cx, y, "caption:");
    cx += text_w(cr, "caption: ");
    for (int t = 0; t < d->L; t++) {
        int id = d->tokens[(size_t)p * d->L + t];
        if (id <= 0 || id >= d->V || !d->vocab) continue;
        const char *wd = d->vocab[id];
        double ww = text_w(cr, wd) + text_w(cr, " ");
        if (cx + ww > x + w && cx > x) {
            if (++line >= lines) {
                text_at(cr, cx, y, "...");
                return;
            }
            cx = x, y += ROW;
        }
        text_at(cr, cx, y, wd);
        cx += ww;
    }
}

static void left_column(cairo_t *cr, show_ctx *c, const layout *L, const uint8_t *img)
{
    const fke_dataset *d = c->d;
    int p = c->p, G = d->G, ng = d->n_garments[p];
    double x0 = MARGIN, y0 = MARGIN + 26;
    picture(cr, img, d->img, L->k, x0, y0);
    /* the wearer: the region the garments cover */
    double ux0 = 1e9, uy0 = 1e9, ux1 = -1e9, uy1 = -1e9;
    for (int g = 0; g < ng; g++) {
        const int32_t *b = d->boxes + ((size_t)p * G + g) * 4;
        ux0 = fmin(ux0, b[0]), uy0 = fmin(uy0, b[1]), ux1 = fmax(ux1, b[2]), uy1 = fmax(uy1, b[3]);
    }
    const int32_t *pp = d->person + (size_t)p * G * 2;
    char wearer[128];
    int gen = ng ? pp[0] : -1, age = ng ? pp[1] : -1;
    snprintf(wearer, sizeof wearer, "wearer: %s, %s%s", gen >= 0 && gen < 2 ? gender_names[gen] : "gender unknown",
             age >= 0 && age < 4 ? age_names[age] : "age unknown",
             gen >= 0 || age >= 0 ? " (given)" : "");
    if (ng) {
        double dash[2] = {6, 4};
        cairo_save(cr);
        cairo_set_source_rgb(cr, 0.95, 0.75, 0.1);
        cairo_set_line_width(cr, 2);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_rectangle(cr, x0 + ux0 * L->k - 3, y0 + uy0 * L->k - 3, (ux1 - ux0) * L->k + 6,
                        (uy1 - uy0) * L->k + 6);
        cairo_stroke(cr);
        cairo_restore(cr);
    }
    for (int g = 0; g < ng; g++) {
        const int32_t *b = d->boxes + ((size_t)p * G + g) * 4;
        int cat = truth_of(d, p, g, 0);
        rgb(cr, box_rgb[(cat >= 0 ? cat : g) % 8]);
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, x0 + b[0] * L->k + 1, y0 + b[1] * L->k + 1, (b[2] - b[0]) * L->k - 2,
                        (b[3] - b[1]) * L->k - 2);
        cairo_stroke(cr);
        char num[16];
        snprintf(num, sizeof num, "%d", g);
        cairo_rectangle(cr, x0 + b[0] * L->k + 1, y0 + b[1] * L->k + 1, text_w(cr, num) + 6, 16);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        text_at(cr, x0 + b[0] * L->k + 4, y0 + b[1] * L->k + 14, num);
    }
    /* the occasion */
    double y = y0 + L->S + 10 + 13;
    int occ = d->occ[p] >= 0 && d->occ[p] < d->n_occ ? d->occ[p] : -1;
    const fke_real *po = c->pred ? c->pr->occ : NULL;
    char line[400];
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    text_at(cr, x0, y, "occasion");
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    y += ROW;
    if (po && occ >= 0) snprintf(line, sizeof line, "truth: %s (%.2f)", d->occ_names[occ], po[occ]);
    else snprintf(line, sizeof line, "truth: %s", occ >= 0 ? d->occ_names[occ] : "unknown");
    text_at(cr, x0, y, line);
    if (po) {
        y += ROW;
        text_at(cr, x0, y, "predicted:");
        int used[3] = {-1, -1, -1};
        for (int r = 0; r < 3 && r < d->n_occ; r++) {
            int best = -1;
            for (int q = 0; q < d->n_occ; q++)
                if (q != used[0] && q != used[1] && (best < 0 || po[q] > po[best])) best = q;
            used[r] = best;
            snprintf(line, sizeof line, "%s %.2f", d->occ_names[best], po[best]);
            int wrong = r == 0 ? judge(c, -1, "occasion", occ >= 0 ? d->occ_names[occ] : NULL,
                                       d->occ_names[best], po[best], occ >= 0 ? po[occ] : 0)
                               : -1;
            double tx = x0 + text_w(cr, "predicted: ");
            if (r) y += ROW;
            if (wrong == 1) cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
            else if (r) cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
            text_at(cr, tx, y, line);
            if (wrong >= 0) mark(cr, tx + text_w(cr, line) + 6, y - 10, !wrong);
            cairo_set_source_rgb(cr, 0, 0, 0);
        }
    }
    y += ROW;
    cairo_set_source_rgb(cr, 0.6, 0.45, 0.0);
    text_at(cr, x0, y, wearer);
    caption(cr, d, p, x0, y + ROW, L->lw, 3);
}

/* the truth and prediction columns' titles */
static const char *pred_head(const show_ctx *c, int col)
{
    if (col == 1) return c->pred ? "truth (p)" : "truth";
    return "predicted (p)";
}

static void garment_block(cairo_t *cr, show_ctx *c, const layout *L, int g, const uint8_t *crop,
                          double x, double y)
{
    const fke_dataset *d = c->d;
    int p = c->p;
    int cat = truth_of(d, p, g, 0);
    picture(cr, crop, d->crop, L->ck, x, y);
    rgb(cr, box_rgb[(cat >= 0 ? cat : g) % 8]);
    cairo_set_line_width(cr, 3);
    cairo_rectangle(cr, x - 1.5, y - 1.5, L->P + 3, L->P + 3);
    cairo_stroke(cr);
    char num[16];
    snprintf(num, sizeof num, "%d", g);
    cairo_rectangle(cr, x - 3, y - 3, text_w(cr, num) + 6, 16);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    text_at(cr, x, y + 10, num);
    double tx = x + L->P + 12, cx[4];
    cx[0] = tx;
    for (int q = 1; q < 4; q++) cx[q] = cx[q - 1] + L->col[q - 1];
    const char *head[4] = {"garment", pred_head(c, 1), "tagger", pred_head(c, 3)};
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int q = 0; q < 4; q++)
        if (L->col[q] > 0) text_at(cr, cx[q], y + 13, head[q]);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    char buf[400];
    for (int t = 0; t <= d->A; t++) {
        double ty = y + 13 + (t + 1) * ROW;
        if (t % 2 == 0) { /* banded rows */
            cairo_set_source_rgb(cr, 0.95, 0.96, 0.98);
            cairo_rectangle(cr, tx - 4, ty - 13, L->col[0] + L->col[1] + L->col[2] + L->col[3], ROW);
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        text_at(cr, cx[0], ty, task_title(d, t));
        int tv = truth_of(d, p, g, t), mv = machine_of(d, p, g, t);
        const fke_real *pr = probs_of(c, g, t);
        const char *tn = label_name(d, t, tv);
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (tn && pr) snprintf(buf, sizeof buf, "%s %.2f", tn, pr[tv]);
        else snprintf(buf, sizeof buf, "%s", tn ? tn : "-");
        text_at(cr, cx[1], ty, buf);
        if (L->col[2] > 0 && mv >= 0 && mv != tv) {
            cairo_set_source_rgb(cr, 0.55, 0.35, 0.1);
            text_at(cr, cx[2], ty, label_name(d, t, mv));
        }
        if (pr) {
            int pv = argmax(pr, task_n(d, t));
            const char *pn = label_name(d, t, pv);
            int wrong = judge(c, g, task_title(d, t), tn, pn, pr[pv], tn ? pr[tv] : 0);
            snprintf(buf, sizeof buf, "%s %.2f", pn, pr[pv]);
            if (wrong == 1) cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
            else cairo_set_source_rgb(cr, 0, 0, 0);
            text_at(cr, cx[3], ty, buf);
            if (wrong >= 0) mark(cr, cx[3] + L->col[3] - 22, ty - 10, !wrong);
        }
    }
}

static fke_status draw(show_ctx *c, const uint8_t *px, const char *path, fke_show_result *r,
                       fke_err *e)
{
    const fke_dataset *d = c->d;
    cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(probe);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT);
    layout L;
    measure(cr, d, c->pred, &L);
    cairo_destroy(cr);
    cairo_surface_destroy(probe);
    if (L.W > 8192 || L.H > 8192)
        return fke_fail(e, FKE_ERR_ARG, "%s: a %.0f x %.0f picture is too large to draw", path,
                        L.W, L.H);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)L.W, (int)L.H);
    cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, FONT + 2);
    cairo_set_source_rgb(cr, 0, 0, 0);
    const char *base = strrchr(d->path, '/');
    char title[4096];
    snprintf(title, sizeof title, "post %d of %s: %s%s", c->p, base ? base + 1 : d->path,
             d->clean[c->p] ? "labels checked by people" : "machine labels",
             c->pred ? "; the model's predictions beside the truth" : "");
    text_at(cr, MARGIN, MARGIN + 14, title);
    cairo_set_font_size(cr, FONT);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    size_t ni = (size_t)3 * d->img * d->img, nc = (size_t)3 * d->crop * d->crop;
    left_column(cr, c, &L, px);
    double rx = MARGIN + L.lw + 20 + 3, ry = MARGIN + 26 + 3;
    for (int g = 0; g < d->n_garments[c->p]; g++)
        garment_block(cr, c, &L, g, px + ni + (size_t)g * nc, rx, ry + g * L.block);
    cairo_destroy(cr);
    r->w = (int)L.W, r->h = (int)L.H;
    fke_status st = fke_cairo_write_png(s, path, e);
    cairo_surface_destroy(s);
    return st;
}

/* ---- the whole job ----------------------------------------------------------- */
static fke_status predict_post(const fke_show_opts *o, const fke_dataset *d, int p,
                               fke_extract_probs *pr, fke_err *e)
{
    fke_model m;
    FKE_TRY(fke_model_load(&m, o->ckpt, 0, NULL, e));
    fke_status st = FKE_OK;
    if (m.cfg.task != FKE_TASK_FKE)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: field config.task is not \"fke\"; --pred needs a "
                      "FashionKE model", o->ckpt);
    if (st == FKE_OK) st = fke_extract_check_dataset(&m.cfg, d, o->data, e);
    fke_batch b;
    int32_t id = p;
    if (st == FKE_OK && (st = fke_batch_of_posts(d, &id, 1, &b, e)) == FKE_OK) {
        st = fke_extract_predict(&m, &b, pr, e);
        fke_batch_free(&b);
    }
    fke_model_free(&m);
    return st;
}

fke_status fke_show_post(const fke_show_opts *o, fke_show_result *r, fke_err *e)
{
    memset(r, 0, sizeof *r);
    fke_dataset d;
    FKE_TRY(fke_dataset_load(&d, o->data, e));
    fke_status st = FKE_OK;
    uint8_t *px = NULL;
    fke_extract_probs pr;
    memset(&pr, 0, sizeof pr);
    show_ctx c = {.d = &d, .p = (int)o->post, .pred = o->ckpt != NULL, .pr = &pr};
    if (o->post < 0 || o->post >= d.N) {
        st = fke_fail(e, FKE_ERR_ARG, "%s: --post %ld is out of range 0..%d", o->data, o->post,
                      d.N - 1);
        goto done;
    }
    if (d.C != 3 || d.G > 64) {
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: %d-channel pictures, %d garment slots: only RGB "
                      "posts of at most 64 garments are drawn", o->data, d.C, d.G);
        goto done;
    }
    if (c.pred && (st = predict_post(o, &d, c.p, &pr, e)) != FKE_OK) goto done;
    for (int g = 0; g < 64; g++) c.vrow[g] = -1;
    for (int v = 0; c.pred && v < pr.nv; v++) c.vrow[pr.gidx[v] % d.G] = v;
    size_t ni = (size_t)3 * d.img * d.img, nc = (size_t)3 * d.crop * d.crop;
    if (!(px = malloc(ni + (size_t)d.G * nc))) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for post %d's pixels", o->data, c.p);
        goto done;
    }
    for (int s = 0; st == FKE_OK && s <= d.G; s++)
        st = fke_dataset_pixels(&d, c.p, s, s ? px + ni + (size_t)(s - 1) * nc : px, e);
    if (st != FKE_OK) goto done;
    cJSON *j = o->json ? cJSON_CreateObject() : NULL;
    if (j) c.list = cJSON_AddArrayToObject(j, "predictions");
    st = draw(&c, px, o->out, r, e);
    r->garments = d.n_garments[c.p], r->checked = c.checked, r->mistakes = c.mistakes;
    if (st == FKE_OK && j) {
        cJSON_AddStringToObject(j, "out", o->out);
        cJSON_AddNumberToObject(j, "post", c.p);
        cJSON_AddNumberToObject(j, "width", r->w);
        cJSON_AddNumberToObject(j, "height", r->h);
        cJSON_AddNumberToObject(j, "garments", r->garments);
        cJSON_AddNumberToObject(j, "checked", r->checked);
        cJSON_AddNumberToObject(j, "mistakes", r->mistakes);
        char *s = cJSON_Print(j);
        if (!s || fprintf(o->json, "%s\n", s) < 0)
            st = fke_fail(e, FKE_ERR_IO, "show: cannot write the JSON");
        free(s);
    }
    cJSON_Delete(j);
done:
    free(px);
    fke_extract_probs_free(&pr);
    fke_dataset_free(&d);
    return st;
}
