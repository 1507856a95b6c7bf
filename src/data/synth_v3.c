/* synth_v3.c - FashionKE-synth version 3 (synth.h): FashionKE's label space
 * on real Fashion-MNIST garments. The rules, with the strength of every
 * dependency, are written out in datasets/README.md ("FashionKE-synth
 * version 3"); the tables below are those rules.
 *
 * A post is painted once, at FKE_SYNTH3_PIC px (4x the 64 px whole image),
 * each garment a 28x28 sprite (its Fashion-MNIST image with the attributes
 * drawn into it) stretched over its box. The dataset's whole image and
 * crops are then cut from that picture by image.h's rule, as `fke data
 * import fashionke` cuts them from a release's JPEGs: the whole image is
 * the picture shrunk 4x (box filter), each crop its box shrunk to 32 px, so
 * the crops are sharper than the garment in the whole image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/synth.h"

/* the Fashion-MNIST classes, in their order: category c is class c */
enum { TSHIRT, PANTS, SWEATER, DRESS, COAT, SANDAL, SHIRT, SNEAKER, BAG, BOOT };
enum { UBL, LBL, SLEEVE, STYLE, NECK, CLOSURE, SHAPE, COLOUR };
static const int n_val[FKE_SYNTH3_A] = {3, 4, 4, 3, 3, 3, 3, 10};

static const char *const occ_names[10] = {"conference", "work",  "date",          "prom",
                                          "shopping",   "party", "travel",        "wedding_guest",
                                          "sport",      "school"};
static const char *const cat_names[10] = {
    "upper_body_garment__t_shirt", "lower_body_garment__pants", "upper_body_garment__sweater",
    "full_body_garment__dress",    "upper_body_garment__coat",  "footwear__sandal",
    "upper_body_garment__shirt",   "footwear__sneaker",         "accessory__bag",
    "footwear__ankle_boot"};
static const char *const attr_names[FKE_SYNTH3_A] = {
    "upper_body_length", "lower_body_length", "sleeve_length",     "sleeve_style",
    "neckline",          "closure_type",      "dress_skirt_shape", "product_color"};
static const char *const v_ubl[3] = {"crop", "hip_length", "thigh_length"};
static const char *const v_lbl[4] = {"extra_short", "knee_length", "calf_length", "full_length"};
static const char *const v_sleeve[4] = {"long", "three_quarter", "short", "sleeveless"};
static const char *const v_style[3] = {"straight", "other", "na"}; /* na: no sleeve */
static const char *const v_neck[3] = {"round_neck", "v_neck", "collar"};
static const char *const v_closure[3] = {"pullover", "zip", "button"};
static const char *const v_shape[3] = {"a_line", "pencil", "mermaid"};
static const char *const v_colour[10] = {"black",  "white", "grey",  "red",  "pink",
                                         "purple", "yellow", "brown", "blue", "multi"};
static const char *const *const val_names[FKE_SYNTH3_A] = {
    v_ubl, v_lbl, v_sleeve, v_style, v_neck, v_closure, v_shape, v_colour};
enum { C_BLACK, C_WHITE, C_GREY, C_RED, C_PINK, C_PURPLE, C_YELLOW, C_BROWN, C_BLUE, C_MULTI };
static const uint8_t colour_rgb[10][3] = {
    {30, 30, 34},   {240, 240, 235}, {175, 175, 175}, {210, 35, 35}, {240, 140, 180},
    {130, 50, 190}, {235, 210, 40},  {130, 80, 40},   {40, 80, 210}, {0, 0, 0}};

/* which attribute applies to which category (FashionKE's
 * clothes_category_attribute_value.json): ubl lbl sleeve style neck closure
 * shape colour; sleeve_style goes with sleeve_length */
static const uint8_t applies[10][FKE_SYNTH3_A] = {
    /* t_shirt */ {1, 0, 1, 1, 1, 0, 0, 1}, /* pants */ {0, 1, 0, 0, 0, 0, 0, 1},
    /* sweater */ {1, 0, 1, 1, 1, 1, 0, 1}, /* dress */ {0, 1, 1, 1, 1, 0, 1, 1},
    /* coat    */ {1, 0, 1, 1, 0, 1, 0, 1}, /* sandal */ {0, 0, 0, 0, 0, 0, 0, 1},
    /* shirt   */ {1, 0, 1, 1, 1, 1, 0, 1}, /* sneaker */ {0, 0, 0, 0, 0, 0, 0, 1},
    /* bag     */ {0, 0, 0, 0, 0, 0, 0, 1}, /* boot */ {0, 0, 0, 0, 0, 0, 0, 1}};

int fke_synth3_applies(int c, int k)
{
    return c >= 0 && c < 10 && k >= 0 && k < FKE_SYNTH3_A && applies[c][k];
}

/* ---- outfit rules per occasion (as version 2's, renamed to FashionKE's
 * occasions); formal and sporty tilt closures, necklines and dress shapes */
typedef struct {
    double p_dress;
    int top, foot;
    double p_coat, p_bag;
    int palette[2];
    int formal, sporty;
    double p_female, age[4];
} occ_rule;

static const occ_rule rules[10] = {
    /* conference */ {0.25, SHIRT, BOOT, 0.6, 0.9, {C_GREY, C_BLUE}, 1, 0, .45, {.5, 2, 2, .7}},
    /* work       */ {0.2, SHIRT, BOOT, 0.5, 0.7, {C_BLACK, C_BLUE}, 1, 0, .45, {.5, 2, 2, .5}},
    /* date       */ {0.6, SHIRT, BOOT, 0.3, 0.6, {C_RED, C_BLACK}, 0, 0, .6, {1.5, 2, .7, .2}},
    /* prom       */ {0.85, TSHIRT, SANDAL, 0.1, 0.7, {C_PINK, C_PURPLE}, 1, 0, .7, {4, .5, .1, .1}},
    /* shopping   */ {0.3, TSHIRT, SNEAKER, 0.3, 0.9, {C_WHITE, C_BLUE}, 0, 0, .6, {1, 1, 1, 1}},
    /* party      */ {0.7, TSHIRT, BOOT, 0.2, 0.7, {C_BLACK, C_RED}, 0, 0, .55, {2, 1.5, .5, .1}},
    /* travel     */ {0.2, SWEATER, SNEAKER, 0.6, 0.8, {C_BROWN, C_BLUE}, 0, 1, .5, {1, 1.5, 1, .7}},
    /* wedding_g. */ {0.7, SHIRT, SANDAL, 0.2, 0.8, {C_PINK, C_WHITE}, 1, 0, .5, {1, 2, 1.5, .7}},
    /* sport      */ {0.1, TSHIRT, SNEAKER, 0.2, 0.2, {C_WHITE, C_MULTI}, 0, 1, .4, {2, 1.5, .7, .2}},
    /* school     */ {0.2, SWEATER, SNEAKER, 0.3, 0.7, {C_GREY, C_YELLOW}, 0, 1, .5, {4, 1, .2, .1}},
};
static const int cat_colour[10] = {C_WHITE, C_BLUE,  C_GREY,  C_RED,   C_BLACK,
                                   C_BROWN, C_WHITE, C_WHITE, C_BLACK, C_BLACK};
/* warmth of the season (month - 1) / 3: January-March cold, April-June
 * mild, July-September warm, October-December mild */
static const int season_warmth[4] = {0, 1, 2, 1};
static const double coat_mult[3] = {1.6, 1.0, 0.4};

/* base weights per category, then the multipliers of the dependencies */
static const double sleeve_base[10][4] = {
    [TSHIRT] = {0, 0, .7, .3},     [SWEATER] = {.85, .15, 0, 0}, [COAT] = {.9, .1, 0, 0},
    [SHIRT] = {.55, .15, .3, 0},   [DRESS] = {.15, .1, .35, .4}};
static const double sleeve_warmth[3][4] = {{2, 1.5, .6, .4}, {1, 1, 1, 1}, {.5, .7, 1.5, 2}};
static const double ubl_base[10][3] = {
    [TSHIRT] = {.25, .65, .1}, [SWEATER] = {.15, .6, .25}, [COAT] = {.05, .35, .6},
    [SHIRT] = {.1, .6, .3}};
static const double lbl_base[10][4] = {[PANTS] = {.2, .15, .15, .5}, [DRESS] = {.15, .4, .3, .15}};
static const double lbl_warmth[3][4] = {{.3, .6, 1, 2}, {1, 1, 1, 1}, {2, 1.5, 1, .5}};
/* lower length given the sleeve that goes with it (the top's, or the
 * dress's own): long sleeves with long legs, short ones with short */
static const double lbl_sleeve[4][4] = {{.5, .8, 1, 2}, {1, 1, 1, 1}, {2, 1.2, 1, .6}, {2, 1.2, 1, .6}};
/* sleeve style (straight, other = puffed/gathered) by category; short
 * and three-quarter sleeves are puffed more often, and dressy occasions
 * (date, prom, party, wedding_guest) double it; no sleeve: na */
static const double style_base[10][2] = {
    [TSHIRT] = {.75, .25}, [SWEATER] = {.85, .15}, [COAT] = {.9, .1}, [SHIRT] = {.7, .3},
    [DRESS] = {.55, .45}};
static const double neck_base[10][3] = {
    [TSHIRT] = {.75, .25, 0}, [SWEATER] = {.6, .3, .1}, [SHIRT] = {.05, .15, .8},
    [DRESS] = {.45, .4, .15}};
#define CLOSURE_SHOWN 0.6 /* a closure is drawn on 60 % of the garments that have one */

/* ---- the true transition matrices: category as version 2's; each
 * attribute confuses each value mostly with one neighbour */
static const int pr_ubl[3] = {1, 2, 1}, pr_lbl[4] = {1, 2, 3, 2}, pr_sleeve[4] = {1, 0, 3, 2},
                 pr_style[3] = {1, 0, 0}, pr_neck[3] = {1, 0, 1}, pr_closure[3] = {2, 2, 1}, pr_shape[3] = {1, 0, 0},
                 pr_colour[10] = {C_GREY, C_GREY, C_BLACK, C_PINK, C_PURPLE,
                                  C_PINK, C_WHITE, C_BLACK, C_PURPLE, C_BLACK};
static const double mu_ubl[3] = {1.5, .75, .75}, mu_lbl[4] = {.5, 1.5, 1.5, .5},
                    mu_sleeve[4] = {.5, 1.75, .75, 1}, mu_style[3] = {.75, 1.5, .75}, mu_neck[3] = {.75, 1.5, .75},
                    mu_closure[3] = {.5, 1.5, 1}, mu_shape[3] = {.75, .75, 1.5},
                    mu_colour[10] = {.5, .75, 1.5, .75, 1.5, 1, 1, 1.25, .5, 1.25};
static const int *const primary[FKE_SYNTH3_A] = {pr_ubl,  pr_lbl,     pr_sleeve, pr_style,
                                                 pr_neck, pr_closure, pr_shape,  pr_colour};
static const double *const mult[FKE_SYNTH3_A] = {mu_ubl,  mu_lbl,     mu_sleeve, mu_style,
                                                 mu_neck, mu_closure, mu_shape,  mu_colour};

static size_t T_size(void)
{
    size_t n = 100;
    for (int k = 0; k < FKE_SYNTH3_A; k++) n += (size_t)n_val[k] * n_val[k];
    return n;
}

static void transitions(double f, float *T)
{
    float *v2 = malloc(fke_synth_T_size() * sizeof *v2);
    if (v2) { /* version 2's category block comes first */
        fke_synth_transitions(f, v2);
        memcpy(T, v2, 100 * sizeof *T);
        free(v2);
    }
    T += 100;
    double w[100];
    for (int i = 0; i < 100; i++) w[i] = 1;
    for (int k = 0; k < FKE_SYNTH3_A; k++) {
        fke_synth_fill_T(T, n_val[k], primary[k], mult[k], w, f);
        T += n_val[k] * n_val[k];
    }
}

/* ---- vocabulary and captions ------------------------------------------- */
static const char *const occ_words[10][3] = {
    {"conference", "talk", "summit"}, {"work", "office", "meeting"}, {"date", "dinner", "romantic"},
    {"prom", "promnight", "dance"},   {"shopping", "mall", "haul"},  {"party", "club", "nightout"},
    {"travel", "airport", "trip"},    {"wedding", "bride", "ceremony"}, {"gym", "run", "workout"},
    {"school", "campus", "class"}};
static const char *const season_words[4] = {"winter", "spring", "summer", "autumn"};
static const char *const cat_words[10] = {"tshirt", "pants",  "sweater", "dress", "coat",
                                          "sandals", "shirt", "sneakers", "bag",  "boots"};
/* one word per value of the attributes but colour, in attribute order */
static const char *const value_words[] = {
    "cropped", "hiplength", "long",   "shorts",  "knee",    "midi",   "maxi",   "longsleeve",
    "threequarter", "shortsleeve", "sleeveless", "straightsleeve", "puffsleeve", "nosleeve", "crewneck", "vneck", "collar", "pullover",
    "zip", "buttons", "aline", "pencil", "mermaid"};
#define N_VALUE_WORDS (int)(sizeof value_words / sizeof value_words[0])
#define W_OCC 2
#define W_SEASON (W_OCC + 30)
#define W_COLOUR (W_SEASON + 4)
#define W_VALUE (W_COLOUR + 10)
#define W_CAT (W_VALUE + N_VALUE_WORDS)
#define W_FILL (W_CAT + 10) /* then synth.c's common and made-up words */

static char **make_vocab(void)
{
    char **v = calloc(FKE_SYNTH_V + 1, sizeof *v);
    if (!v) return NULL;
    int n = 0;
#define ADD(s) v[n++] = strdup(s)
    ADD("<pad>");
    ADD("<unk>");
    for (int o = 0; o < 10; o++)
        for (int k = 0; k < 3; k++) ADD(occ_words[o][k]);
    for (int s = 0; s < 4; s++) ADD(season_words[s]);
    for (int c = 0; c < 10; c++) ADD(v_colour[c]);
    for (int k = 0; k < N_VALUE_WORDS; k++) ADD(value_words[k]);
    for (int c = 0; c < 10; c++) ADD(cat_words[c]);
#undef ADD
    return fke_synth_vocab_finish(v, n);
}

/* ---- a garment ------------------------------------------------------------ */
typedef struct {
    int cat, attr[FKE_SYNTH3_A], src, cx, cy, size, closure_shown;
    float tone; /* brightness 0.7..1 */
    int32_t box[4]; /* in the 64 px frame, clipped */
} garment;

static int sample_outfit(fke_rng *r, const occ_rule *R, int warmth, garment *gs)
{
    static const int tops[3] = {TSHIRT, SWEATER, SHIRT}, feet[3] = {SANDAL, SNEAKER, BOOT};
    int n = 0, dress = fke_rng_uniform(r) < R->p_dress;
    double pc = R->p_coat * coat_mult[warmth];
    if (fke_rng_uniform(r) < (pc > 0.95 ? 0.95 : pc)) gs[n++].cat = COAT;
    if (dress) {
        gs[n++].cat = DRESS;
    } else {
        gs[n++].cat = fke_synth_pick3(r, tops, R->top);
        gs[n++].cat = PANTS;
    }
    gs[n++].cat = fke_synth_pick3(r, feet, R->foot);
    if (fke_rng_uniform(r) < R->p_bag) gs[n++].cat = BAG;
    return n;
}

/* The attributes of garment g of a post; top is the post's top or dress
 * (NULL before it is drawn). The order of the draws is fixed: sleeve,
 * sleeve style, upper length, lower length, neckline, closure, shape,
 * colour. */
static void sample_attrs(fke_rng *r, int occ, int warmth, const garment *top, garment *g)
{
    const occ_rule *R = &rules[occ];
    int c = g->cat;
    double w[10];
    for (int k = 0; k < FKE_SYNTH3_A; k++) g->attr[k] = -1;
    if (applies[c][SLEEVE]) {
        for (int v = 0; v < 4; v++) w[v] = sleeve_base[c][v] * sleeve_warmth[warmth][v];
        g->attr[SLEEVE] = fke_synth_draw(r, w, 4);
    }
    int sl = g->attr[SLEEVE];
    if (applies[c][STYLE]) {
        w[0] = style_base[c][0], w[1] = style_base[c][1], w[2] = 0;
        if (sl == 1 || sl == 2) w[1] *= 1.5;
        if (occ == 2 || occ == 3 || occ == 5 || occ == 7) w[1] *= 2;
        if (sl == 3) w[0] = w[1] = 0, w[2] = 1; /* sleeveless: na */
        g->attr[STYLE] = fke_synth_draw(r, w, 3);
    }
    if (applies[c][UBL]) {
        for (int v = 0; v < 3; v++) w[v] = ubl_base[c][v];
        if (sl >= 2) w[0] *= 2.5;                /* short or no sleeves: cropped */
        if (sl == 0) w[0] *= 0.5, w[2] *= 1.5;   /* long sleeves: longer */
        g->attr[UBL] = fke_synth_draw(r, w, 3);
    }
    if (applies[c][LBL]) {
        int with = c == DRESS ? sl : top && top->attr[SLEEVE] >= 0 ? top->attr[SLEEVE] : 1;
        for (int v = 0; v < 4; v++)
            w[v] = lbl_base[c][v] * lbl_warmth[warmth][v] * lbl_sleeve[with][v];
        g->attr[LBL] = fke_synth_draw(r, w, 4);
    }
    if (applies[c][NECK]) {
        for (int v = 0; v < 3; v++) w[v] = neck_base[c][v];
        if (R->formal) w[2] *= 1.5;
        g->attr[NECK] = fke_synth_draw(r, w, 3);
    }
    if (applies[c][CLOSURE]) {
        int nk = g->attr[NECK];
        if (c == SWEATER) { /* a v-neck sweater is often a cardigan */
            w[0] = .75, w[1] = .1, w[2] = nk == 1 ? .6 : .15;
        } else if (c == SHIRT) { /* a collar comes with buttons */
            if (nk == 2) w[0] = .1, w[1] = 0, w[2] = .9;
            else w[0] = .5, w[1] = .05, w[2] = .45;
        } else { /* coat */
            w[0] = 0, w[1] = R->sporty ? 1 : .5, w[2] = R->formal ? 1 : .5;
        }
        g->attr[CLOSURE] = fke_synth_draw(r, w, 3);
        g->closure_shown = fke_rng_uniform(r) < CLOSURE_SHOWN;
    }
    if (applies[c][SHAPE]) {
        int lb = g->attr[LBL];
        w[0] = .55, w[1] = .3, w[2] = .15;
        if (lb == 0) w[1] *= .5, w[2] = 0; /* no mermaid mini dress */
        if (lb == 1) w[1] *= 2;             /* pencil to the knee */
        if (lb == 3) w[2] *= 3;             /* mermaid to the floor */
        if (R->formal) w[1] *= 1.5;
        if (occ == 3 || occ == 7) w[2] *= 2; /* prom, wedding guest */
        g->attr[SHAPE] = fke_synth_draw(r, w, 3);
    }
    for (int v = 0; v < 10; v++)
        w[v] = 0.3 + 2.0 * (v == R->palette[0] || v == R->palette[1]) + 1.5 * (v == cat_colour[c]);
    if (c == PANTS && top && (top->cat == TSHIRT || top->cat == SHIRT)) w[C_BLUE] += 3; /* jeans */
    g->attr[COLOUR] = fke_synth_draw(r, w, 10);
    g->tone = 0.7f + 0.3f * (float)fke_rng_uniform(r);
}

/* v2's layout: the coat in the left column, the body in the middle, the
 * bag right; sizes per category, jittered */
static void place(fke_rng *r, garment *gs, int n)
{
    int dress = 0;
    for (int i = 0; i < n; i++) dress |= gs[i].cat == DRESS;
    for (int i = 0; i < n; i++) {
        int x = 33, y = 12, sz = 23;
        switch (gs[i].cat) {
        case COAT: x = 14, y = 22, sz = 27; break;
        case BAG: x = 51, y = 38, sz = 18; break;
        case DRESS: x = 33, y = 20, sz = 28; break;
        case PANTS: x = 33, y = 34, sz = 25; break;
        case SANDAL: case SNEAKER: case BOOT: x = 33, y = dress ? 50 : 55, sz = 17; break;
        default: break; /* tops */
        }
        garment *g = &gs[i];
        g->size = sz - 2 + (int)fke_rng_below(r, 5);
        g->cx = x + (int)fke_rng_below(r, 5) - 2;
        g->cy = y + (int)fke_rng_below(r, 5) - 2;
        int x0 = g->cx - g->size / 2, y0 = g->cy - g->size / 2;
        g->box[0] = x0 < 0 ? 0 : x0;
        g->box[1] = y0 < 0 ? 0 : y0;
        g->box[2] = x0 + g->size > 64 ? 64 : x0 + g->size;
        g->box[3] = y0 + g->size > 64 ? 64 : y0 + g->size;
    }
}

/* One wearer: the garments top to bottom by the centre of their box (a
 * stable sort), which is the order fke data import fashionke gives a
 * release's garments of one person. */
static void order_garments(garment *gs, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int a = gs[j - 1].box[1] + gs[j - 1].box[3], b = gs[j].box[1] + gs[j].box[3];
            if (a <= b) break;
            garment t = gs[j];
            gs[j] = gs[j - 1];
            gs[j - 1] = t;
        }
}

/* ---- rendering ------------------------------------------------------------- */
/* The garment's sprite: rgb (28, 28, 3) and alpha (28, 28) from its
 * Fashion-MNIST image, with the attributes drawn (datasets/README.md). */
static void make_sprite(const garment *g, const uint8_t *src, float *rgb, float *alpha)
{
    int c = g->cat;
    const uint8_t *tint = colour_rgb[g->attr[COLOUR]];
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            float v = src[y * 28 + x] / 255.f;
            int p = y * 28 + x;
            alpha[p] = v * 2 > 1 ? 1 : v * 2;
            const uint8_t *t = tint;
            if (g->attr[COLOUR] == C_MULTI) { /* bands of red, blue, yellow */
                static const int band[3] = {C_RED, C_BLUE, C_YELLOW};
                t = colour_rgb[band[(y / 4) % 3]];
            }
            for (int k = 0; k < 3; k++) rgb[p * 3 + k] = g->tone * (0.35f + 0.65f * v) * t[k];
        }
#define CUT(cond)                                                                       \
    for (int y = 0; y < 28; y++)                                                        \
        for (int x = 0; x < 28; x++)                                                    \
            if (cond) alpha[y * 28 + x] = 0
    int side_l = 7, side_r = 21; /* sleeve columns x < 7, x >= 21 */
    if (g->attr[SLEEVE] >= 0) {
        static const int from_d[4] = {12, 9, 5, 0}, from_t[4] = {28, 17, 9, 0};
        int dr = c == DRESS, f = dr ? from_d[g->attr[SLEEVE]] : from_t[g->attr[SLEEVE]];
        int l = dr ? 8 : side_l, rr = dr ? 20 : side_r; /* dress: the bodice's sides, rows 0..11 */
        CUT((x < l || x >= rr) && y >= f && (!dr || y < 12));
        if (g->attr[STYLE] == 1) /* other (puffed, gathered): dark 2-row bands every 4 rows */
            for (int y = 0; y < f; y++)
                for (int x = 0; x < 28; x++)
                    if ((x < l || x >= rr) && y % 4 < 2)
                        for (int k = 0; k < 3; k++) rgb[(y * 28 + x) * 3 + k] *= 0.35f;
    }
    if (g->attr[UBL] >= 0) {
        static const int end[3] = {18, 23, 28};
        int f = end[g->attr[UBL]];
        CUT(y >= f);
    }
    if (g->attr[LBL] >= 0) {
        static const int end_p[4] = {9, 15, 21, 28}, end_d[4] = {14, 19, 24, 28};
        int f = c == DRESS ? end_d[g->attr[LBL]] : end_p[g->attr[LBL]];
        CUT(y >= f);
    }
    if (g->attr[SHAPE] == 1) CUT(y >= 14 && (x < 9 || x >= 19));            /* pencil */
    if (g->attr[SHAPE] == 2) CUT(y >= 14 && y < 22 && (x < 9 || x >= 19)); /* mermaid */
    if (g->attr[NECK] == 0) CUT((x - 13.5) * (x - 13.5) + y * y < 10);       /* round */
    if (g->attr[NECK] == 1) CUT(y < 7 && fabs(x - 13.5) < (7 - y) / 1.5);    /* v */
    if (g->attr[NECK] == 2) {                                                /* collar */
        for (int y = 0; y < 4; y++)
            for (int x = 9; x < 19; x++) {
                int p = y * 28 + x;
                int mid = x == 13 || x == 14;
                alpha[p] = mid ? 0 : 1;
                for (int k = 0; k < 3; k++) rgb[p * 3 + k] = 245;
            }
    }
    if (g->attr[CLOSURE] > 0 && g->closure_shown)
        for (int y = 4; y < 27; y++)
            for (int x = 13; x < 15; x++) {
                int p = y * 28 + x;
                if (alpha[p] < 0.3f) continue;
                if (g->attr[CLOSURE] == 1) { /* zip: a light line */
                    for (int k = 0; k < 3; k++) rgb[p * 3 + k] = 215;
                } else if (y % 5 < 2) { /* buttons: dark dots */
                    for (int k = 0; k < 3; k++) rgb[p * 3 + k] = 20;
                }
            }
#undef CUT
}

/* The sprite stretched over the garment's square (4x its 64 px box) on the
 * (Q, Q, 3) picture, bilinear, alpha-blended. */
static void draw_sprite(uint8_t *pic, int Q, const garment *g, const float *rgb,
                        const float *alpha)
{
    int k = Q / 64, sz = g->size * k, x0 = (g->cx - g->size / 2) * k, y0 = (g->cy - g->size / 2) * k;
    for (int y = 0; y < sz; y++)
        for (int x = 0; x < sz; x++) {
            int X = x0 + x, Y = y0 + y;
            if (X < 0 || Y < 0 || X >= Q || Y >= Q) continue;
            float fu = (x + 0.5f) * 28.f / sz - 0.5f, fv = (y + 0.5f) * 28.f / sz - 0.5f;
            int u0 = (int)floorf(fu), v0 = (int)floorf(fv);
            float au = fu - u0, av = fv - v0, a = 0, c[3] = {0, 0, 0};
            for (int dv = 0; dv < 2; dv++)
                for (int du = 0; du < 2; du++) {
                    int uu = u0 + du, vv = v0 + dv;
                    uu = uu < 0 ? 0 : uu > 27 ? 27 : uu;
                    vv = vv < 0 ? 0 : vv > 27 ? 27 : vv;
                    float w = (du ? au : 1 - au) * (dv ? av : 1 - av), al = alpha[vv * 28 + uu];
                    a += w * al;
                    for (int ch = 0; ch < 3; ch++) c[ch] += w * al * rgb[(vv * 28 + uu) * 3 + ch];
                }
            if (a <= 0) continue;
            uint8_t *p = pic + ((size_t)Y * Q + X) * 3;
            for (int ch = 0; ch < 3; ch++) {
                float v = (1 - a) * p[ch] + c[ch]; /* c is premultiplied */
                p[ch] = (uint8_t)lrintf(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
}

/* The post's picture (Q, Q, 3): a grey noisy background, the garments in
 * paint order (coat behind, body, bag in front). */
static void paint(uint8_t *pic, int Q, const garment *gs, int n, int bg, const uint8_t *images,
                  fke_rng *r)
{
    for (int p = 0; p < Q * Q; p++) {
        int v = bg + (int)fke_rng_below(r, 9) - 4;
        pic[p * 3] = pic[p * 3 + 1] = pic[p * 3 + 2] = (uint8_t)v;
    }
    float rgb[28 * 28 * 3], alpha[28 * 28];
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < n; i++) {
            int layer = gs[i].cat == COAT ? 0 : gs[i].cat == BAG ? 2 : 1;
            if (layer != pass) continue;
            make_sprite(&gs[i], images + (size_t)gs[i].src * 784, rgb, alpha);
            draw_sprite(pic, Q, &gs[i], rgb, alpha);
        }
}

/* ---- the caption ------------------------------------------------------------ */
static void caption(fke_rng *r, int occ, int season, const garment *gs, int n, int32_t *tok)
{
    int32_t t[32];
    int k = 0, len = 6 + (int)fke_rng_below(r, 11);
    if (fke_rng_uniform(r) < 0.6) {
        int o = occ;
        if (fke_rng_uniform(r) < 0.3) o = (occ + 1 + (int)fke_rng_below(r, 9)) % 10;
        t[k++] = W_OCC + 3 * o + (int)fke_rng_below(r, 3);
    }
    if (fke_rng_uniform(r) < 0.15) t[k++] = W_OCC + (int)fke_rng_below(r, 30);
    if (fke_rng_uniform(r) < 0.3) t[k++] = W_SEASON + season;
    if (fke_rng_uniform(r) < 0.5) { /* one garment described */
        const garment *g = &gs[fke_rng_below(r, (uint32_t)n)];
        int col = g->attr[COLOUR];
        if (fke_rng_uniform(r) < 0.2) col = (int)fke_rng_below(r, 10);
        t[k++] = W_COLOUR + col;
        if (fke_rng_uniform(r) < 0.4) { /* and one of its other attributes */
            int a = (int)fke_rng_below(r, FKE_SYNTH3_A - 1), base = 0;
            for (int j = 0; j < a; j++) base += n_val[j];
            if (g->attr[a] >= 0) t[k++] = W_VALUE + base + g->attr[a];
        }
        t[k++] = W_CAT + g->cat;
    }
    fke_synth_caption_finish(r, occ, 10, W_FILL, t, k, len, tok);
}

/* ---- the generator ------------------------------------------------------------ */
static fke_status init_dataset(fke_dataset *d, const fke_synth_opts *o, const fke_imageset *gar,
                               const char *src_file, fke_err *e)
{
    d->N = o->posts, d->G = FKE_SYNTH_G, d->A = FKE_SYNTH3_A, d->L = FKE_SYNTH_L;
    d->img = FKE_SYNTH_IMG, d->crop = FKE_SYNTH_CROP, d->C = 3;
    d->n_occ = 10, d->n_cat = 10, d->V = FKE_SYNTH_V;
    for (int k = 0; k < FKE_SYNTH3_A; k++) d->n_val[k] = n_val[k];
    FKE_TRY(fke_dataset_alloc(d, e));
    d->occ_names = fke_strings_dup(occ_names, 10);
    d->cat_names = fke_strings_dup(cat_names, 10);
    d->attr_names = fke_strings_dup(attr_names, FKE_SYNTH3_A);
    d->val_names = calloc(FKE_SYNTH3_A + 1, sizeof *d->val_names);
    d->vocab = make_vocab();
    d->T_true = malloc(T_size() * sizeof(float));
    d->src_index = malloc((size_t)d->N * d->G * sizeof(int32_t));
    if (!d->occ_names || !d->cat_names || !d->attr_names || !d->val_names || !d->vocab ||
        !d->T_true || !d->src_index)
        return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    for (int k = 0; k < FKE_SYNTH3_A; k++)
        if (!(d->val_names[k] = fke_strings_dup(val_names[k], n_val[k])))
            return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    transitions(o->flip_rate, d->T_true);
    int32_t appl[10 * FKE_SYNTH3_A];
    for (int c = 0; c < 10; c++)
        for (int k = 0; k < FKE_SYNTH3_A; k++) appl[c * FKE_SYNTH3_A + k] = applies[c][k];
    FKE_TRY(fke_dataset_extra_set(d, "applicable", 2, (const int[]){10, FKE_SYNTH3_A}, appl, e));
    fke_synth_describe(d, o, src_file ? src_file : gar->path);
    return FKE_OK;
}

/* Labels of slot s: true, machine (from T_true; only the attributes that
 * apply), the training ones, the missing ones. */
static void label_garment(fke_dataset *d, const fke_synth_opts *o, size_t s, const garment *g,
                          int clean, fke_rng *r)
{
    const int A = d->A;
    d->cat_true[s] = g->cat;
    d->cat_machine[s] = fke_synth_draw_f(r, d->T_true + g->cat * 10, 10);
    for (int k = 0; k < A; k++) {
        d->attr_true[s * A + k] = g->attr[k];
        d->attr_machine[s * A + k] = -1;
        if (g->attr[k] < 0) continue;
        const float *T = d->T_true + fke_dataset_T_offset(d, k + 1);
        d->attr_machine[s * A + k] = fke_synth_draw_f(r, T + g->attr[k] * n_val[k], n_val[k]);
    }
    d->cat[s] = clean ? d->cat_true[s] : d->cat_machine[s];
    for (int k = 0; k < A; k++)
        d->attr[s * A + k] = clean ? d->attr_true[s * A + k] : d->attr_machine[s * A + k];
    if (o->split == FKE_SYNTH_TRAIN && o->missing > 0)
        for (int k = 0; k < A; k++)
            if (d->attr[s * A + k] >= 0 && fke_rng_uniform(r) < o->missing) d->attr[s * A + k] = -1;
}

/* Post i: the draws of the post from r, then its picture, its whole image
 * and crops (cut from the picture), and, with pics, the picture as JPEG. */
static fke_status make_post(fke_dataset *d, const fke_synth_opts *o, const fke_synth_index *ci,
                            const uint8_t *images, fke_rng *r, int i, uint8_t *pic,
                            fke_synth_pictures *pics, int32_t *month, fke_err *e)
{
    const int G = d->G, Q = FKE_SYNTH3_PIC;
    int occ = (int)fke_rng_below(r, 10);
    int mon = 1 + (int)fke_rng_below(r, 12), season = (mon - 1) / 3;
    int warmth = season_warmth[season];
    garment gs[FKE_SYNTH_G];
    memset(gs, 0, sizeof gs);
    int n = sample_outfit(r, &rules[occ], warmth, gs);
    const garment *top = NULL;
    for (int g = 0; g < n; g++) {
        sample_attrs(r, occ, warmth, top, &gs[g]);
        if (gs[g].cat == DRESS || gs[g].cat == TSHIRT || gs[g].cat == SWEATER || gs[g].cat == SHIRT)
            top = &gs[g];
        gs[g].src = ci->idx[gs[g].cat][fke_rng_below(r, (uint32_t)ci->n[gs[g].cat])];
    }
    place(r, gs, n);
    order_garments(gs, n);
    int bg = 85 + (int)fke_rng_below(r, 30); /* mid grey: black and white garments show */
    paint(pic, Q, gs, n, bg, images, r);
    int dress = 0;
    for (int g = 0; g < n; g++) dress |= gs[g].cat == DRESS;
    int gender = fke_rng_uniform(r) < (dress ? 0.9 : rules[occ].p_female) ? 0 : 1;
    int age = fke_synth_draw(r, rules[occ].age, 4);
    d->n_garments[i] = n;
    d->occ[i] = occ;
    month[i] = mon;
    caption(r, occ, season, gs, n, d->tokens + (size_t)i * d->L);
    if (o->split == FKE_SYNTH_TRAIN && fke_rng_uniform(r) < o->missing) d->occ[i] = -1;
    fke_image im = {Q, Q, pic};
    int32_t whole[4] = {0, 0, Q, Q};
    fke_image_resize_chw(&im, whole, d->img, d->images + (size_t)i * 3 * d->img * d->img);
    for (int g = 0; g < G; g++) d->src_index[(size_t)i * G + g] = -1;
    for (int g = 0; g < n; g++) {
        size_t s = (size_t)i * G + g;
        int k = Q / d->img;
        int32_t b[4] = {gs[g].box[0] * k, gs[g].box[1] * k, gs[g].box[2] * k, gs[g].box[3] * k};
        memcpy(d->boxes + s * 4, gs[g].box, sizeof gs[g].box);
        fke_image_resize_chw(&im, b, d->crop, d->crops + s * 3 * d->crop * d->crop);
        d->src_index[s] = gs[g].src;
        d->person[s * 2] = gender;
        d->person[s * 2 + 1] = age;
        label_garment(d, o, s, &gs[g], d->clean[i], r);
    }
    if (pics) FKE_TRY(fke_image_encode_jpeg(&im, pics->quality, &pics->jpeg[i], &pics->n[i], e));
    return FKE_OK;
}

fke_status fke_synth3_generate(const fke_synth_opts *o, const fke_imageset *gar,
                               const char *src_file, fke_dataset *d, fke_synth_pictures *pics,
                               fke_err *e)
{
    memset(d, 0, sizeof *d);
    if (pics) memset(pics, 0, sizeof *pics);
    /* training posts never use the validation split's images */
    int lo = o->split == FKE_SYNTH_VAL ? FKE_SYNTH_VAL_FROM : 0;
    int hi = o->split == FKE_SYNTH_TRAIN ? FKE_SYNTH_VAL_FROM : gar->N;
    fke_synth_index ci;
    FKE_TRY(fke_synth_index_build(gar, lo, hi, &ci, e));
    fke_status st = init_dataset(d, o, gar, src_file, e);
    uint8_t *pic = malloc((size_t)FKE_SYNTH3_PIC * FKE_SYNTH3_PIC * 3);
    int32_t *month = malloc((size_t)o->posts * sizeof *month);
    if (!st && (!pic || !month)) st = fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    if (!st && pics) {
        pics->N = o->posts, pics->side = FKE_SYNTH3_PIC, pics->quality = 90;
        pics->jpeg = calloc((size_t)o->posts, sizeof *pics->jpeg);
        pics->n = calloc((size_t)o->posts, sizeof *pics->n);
        if (!pics->jpeg || !pics->n) st = fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    }
    fke_rng r;
    fke_rng_seed(&r, o->seed ^ (o->split == FKE_SYNTH_TEST  ? 0x9e3779b97f4a7c15ull
                                : o->split == FKE_SYNTH_VAL ? 0x3c6ef372fe94f82bull
                                                            : 0) ^ 0x5eed0003ull);
    if (!st) st = fke_synth_choose_clean(d, o, &r, e);
    for (int i = 0; !st && i < d->N; i++)
        st = make_post(d, o, &ci, gar->images, &r, i, pic, pics, month, e);
    if (!st) {
        int32_t *season = malloc((size_t)d->N * sizeof *season);
        if (!season) st = fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
        for (int i = 0; !st && i < d->N; i++) season[i] = (month[i] - 1) / 3;
        if (!st) st = fke_dataset_extra_set(d, "month", 1, (const int[]){d->N}, month, e);
        if (!st) st = fke_dataset_extra_set(d, "season", 1, (const int[]){d->N}, season, e);
        static const char *const sn[4] = {"January-March", "April-June", "July-September",
                                          "October-December"};
        if (!st) st = fke_dataset_extra_names(d, "season", sn, 4, e);
        free(season);
    }
    if (!st) st = fke_dataset_validate(d, "synth", e);
    free(pic);
    free(month);
    fke_synth_index_free(&ci);
    if (st) fke_synth_discard(d, pics, e);
    return st;
}
