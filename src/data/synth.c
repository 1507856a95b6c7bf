/* synth.c - see synth.h; the rules written out are in datasets/README.md. */
#include "data/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the Fashion-MNIST classes, in their order */
typedef enum { TSHIRT, TROUSER, PULLOVER, DRESS, COAT, SANDAL, SHIRT, SNEAKER, BAG, BOOT } category;
enum { A_COLOUR, A_PATTERN, A_SHADE, A_SCALE };
static const int n_val[FKE_SYNTH_A] = {8, 4, 3, 3};

static const char *const occ_names[FKE_SYNTH_OCC] = {
    "wedding", "office", "party", "beach", "sport",
    "casual",  "travel", "date",  "campus", "winter"};
static const char *const attr_names[FKE_SYNTH_A] = {"colour", "pattern", "shade", "scale"};
static const char *const val_colour[8] = {"red",  "orange", "yellow", "green",
                                          "teal", "blue",   "purple", "magenta"};
static const char *const val_pattern[4] = {"plain", "stripes", "dots", "checks"};
static const char *const val_shade[3] = {"light", "medium", "dark"};
static const char *const val_scale[3] = {"small", "medium", "large"};
static const char *const *const val_names[FKE_SYNTH_A] = {val_colour, val_pattern, val_shade,
                                                          val_scale};

/* ---- outfit rules per occasion ------------------------------------------
 * p_dress: dress + footwear instead of top + trousers + footwear;
 * top: preferred top (T-shirt, pullover or shirt), foot: preferred footwear;
 * the preferred choice is drawn with probability 0.85, each other with 0.075.
 * Every single choice is shared by several occasions; the combination (and
 * the attributes and the caption) separates them. */
typedef struct {
    double p_dress;
    int top, foot;
    double p_coat, p_bag;
    int palette[2];        /* preferred colours */
    double pattern[4];     /* plain, stripes, dots, checks */
    double shade[3];       /* light, medium, dark */
    double scale_mul[3];   /* small, medium, large */
    double p_female;       /* for top+trouser outfits (dresses: 0.9) */
    double age[4];
} occ_rule;

static const occ_rule rules[FKE_SYNTH_OCC] = {
    /* wedding */ {0.7, SHIRT, SANDAL, 0.2, 0.8, {7, 6}, {3, .5, 1, .5}, {3, 1, .5}, {1, 1, 1.5}, .5, {1, 2, 1.5, .7}},
    /* office  */ {0.2, SHIRT, BOOT, 0.7, 0.7, {5, 4}, {2, 1, .3, 2}, {.5, 1, 2.5}, {1, 1.5, 1}, .45, {.5, 2, 2, .5}},
    /* party   */ {0.7, TSHIRT, BOOT, 0.2, 0.7, {0, 6}, {1, 1, 2, .5}, {.3, 1, 3}, {1, 1, 1.3}, .55, {2, 1.5, .5, .1}},
    /* beach   */ {0.6, TSHIRT, SANDAL, 0.1, 0.2, {2, 4}, {1, 3, 1, .3}, {3, 1.5, .3}, {1.5, 1, 1}, .5, {1.5, 1.5, 1, .5}},
    /* sport   */ {0.1, TSHIRT, SNEAKER, 0.2, 0.2, {1, 3}, {2, 2, .3, .3}, {1, 2, 1}, {1.3, 1, 1}, .4, {2, 1.5, .7, .2}},
    /* casual  */ {0.3, TSHIRT, SNEAKER, 0.3, 0.5, {3, 5}, {1, 1, 1, 2}, {1, 2, 1}, {1, 1, 1}, .5, {1, 1, 1, 1}},
    /* travel  */ {0.2, PULLOVER, SNEAKER, 0.6, 0.8, {1, 5}, {1.5, 1, .5, 1.5}, {1, 2, 1.5}, {1, 1, 1}, .5, {1, 1.5, 1, .7}},
    /* date    */ {0.6, SHIRT, BOOT, 0.3, 0.6, {0, 7}, {1, .5, 2.5, .5}, {1, 1.5, 2}, {1, 1, 1}, .6, {1.5, 2, .7, .2}},
    /* campus  */ {0.2, PULLOVER, SNEAKER, 0.3, 0.7, {3, 2}, {1, 1.5, .5, 2}, {1.5, 2, 1}, {1, 1, 1}, .5, {4, 1, .2, .1}},
    /* winter  */ {0.2, PULLOVER, BOOT, 0.9, 0.3, {6, 4}, {1.5, .5, .5, 2.5}, {.5, 1, 3}, {1, 1, 2}, .5, {1, 1, 1, 1}},
};

/* category preferences: one favoured colour, pattern and shade multipliers,
 * and the scale distribution (the garment's drawn size). */
static const int cat_colour[10] = {2, 5, 3, 0, 6, 1, 4, 7, 0, 5};
static const double cat_pattern[10][4] = {
    {1, 2, 1, 1}, {2, 1, 1, 1}, {1, 1, 1, 1.5}, {1, 1, 2, 1}, {1.5, 1, 1, 1},
    {3, 1, 1, 1}, {1, 1, 1, 2}, {3, 1, 1, 1},   {3, 1, 1, 1}, {3, 1, 1, 1}};
static const double cat_shade[10][3] = {
    {1.5, 1, 1}, {1, 1, 1.5}, {1, 1, 1}, {1, 1, 1}, {1, 1, 2},
    {1, 1, 1.5}, {1, 1, 1},   {1, 1, 1.5}, {1, 1, 1}, {1, 1, 1.5}};
static const double cat_scale[10][3] = {
    {2.2, 1.4, .4}, {.5, 1.5, 2}, {2.2, 1.4, .4}, {.5, 1, 2.5}, {.3, 1, 3},
    {2.2, 1.4, .4}, {2.2, 1.4, .4}, {2.2, 1.4, .4}, {3, 1, .3}, {2.2, 1.4, .4}};
static const int scale_px[3] = {18, 23, 28};

static const uint8_t colour_rgb[8][3] = {{220, 30, 30},  {245, 140, 20}, {240, 220, 40},
                                         {50, 170, 50},  {30, 170, 170}, {40, 80, 220},
                                         {130, 50, 200}, {220, 50, 170}};

/* ---- the true transition matrices ---------------------------------------
 * A tagger confuses each class mostly with one other, and some classes far
 * more than others (it barely knows "shirt" and calls many shirts T-shirts).
 * Row i moves f * mult[i] of its mass (at most 0.9) off the diagonal: 0.8 of
 * that to primary[i], the rest to the other classes in proportion to the
 * look-alike weights w. mult averages 1 in every task, so f is the mean
 * flip rate. At the default f = 0.3 every row keeps the most mass on its
 * diagonal, but barely for some (Shirt: 0.475 stays, 0.42 to T-shirt);
 * rows with f * mult > 5/9 give their primary confusion more than they
 * keep. */
static const int cat_primary[10] = {SHIRT, DRESS, COAT, COAT, PULLOVER,
                                    SNEAKER, TSHIRT, BOOT, SANDAL, SNEAKER};
static const double cat_mult[10] = {.75, .5, 1.5, 1, .75, 1.5, 1.75, 1, .5, .75};
static const double cat_confuse[][3] = {
    {TSHIRT, SHIRT, 4},     {PULLOVER, COAT, 4},  {PULLOVER, SHIRT, 2}, {COAT, SHIRT, 1.5},
    {SANDAL, SNEAKER, 3},   {SNEAKER, BOOT, 3},   {SANDAL, BOOT, 1.5},  {DRESS, COAT, 1.5},
    {DRESS, TSHIRT, 1},     {TSHIRT, PULLOVER, 1.5}, {TROUSER, DRESS, .5}};
static const int colour_primary[8] = {1, 2, 3, 4, 5, 6, 7, 0}; /* the next hue */
static const double colour_mult[8] = {1.5, .5, 1.5, .5, 1.5, .5, 1.5, .5};
static const int pattern_primary[4] = {2, 3, 0, 1};
static const double pattern_mult[4] = {.5, 1, 1, 1.5};
static const int shade_primary[3] = {1, 2, 1};
static const double shade_mult[3] = {.75, 1.5, .75};
static const int scale_primary[3] = {1, 2, 1};
static const double scale_mult[3] = {1.75, .5, .75};

size_t fke_synth_T_size(void) { return 100 + 64 + 16 + 9 + 9; }

void fke_synth_fill_T(float *T, int n, const int *primary, const double *mult, const double *w,
                      double f)
{
    for (int i = 0; i < n; i++) {
        double off = f * mult[i] > 0.9 ? 0.9 : f * mult[i], s = 0;
        for (int j = 0; j < n; j++)
            if (j != i && j != primary[i]) s += w[i * n + j];
        for (int j = 0; j < n; j++)
            T[i * n + j] = (float)(j == i            ? 1.0 - off
                                   : j == primary[i] ? 0.8 * off
                                                     : 0.2 * off * w[i * n + j] / s);
    }
}

void fke_synth_transitions(double f, float *T)
{
    double w[100];
    for (int i = 0; i < 100; i++) w[i] = 0.1;
    for (size_t k = 0; k < sizeof cat_confuse / sizeof cat_confuse[0]; k++) {
        int a = (int)cat_confuse[k][0], b = (int)cat_confuse[k][1];
        w[a * 10 + b] += cat_confuse[k][2];
        w[b * 10 + a] += cat_confuse[k][2];
    }
    fke_synth_fill_T(T, 10, cat_primary, cat_mult, w, f);
    T += 100;
    /* colour: neighbours on the hue circle */
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            int d = abs(i - j);
            d = d > 4 ? 8 - d : d;
            w[i * 8 + j] = d == 1 ? 3 : d == 2 ? .5 : .1;
        }
    fke_synth_fill_T(T, 8, colour_primary, colour_mult, w, f);
    T += 64;
    /* pattern: stripes/checks and dots/checks look alike */
    static const double wp[16] = {0, 1, .5, .5, 1, 0, .3, 2, .5, .3, 0, 1, .5, 2, 1, 0};
    fke_synth_fill_T(T, 4, pattern_primary, pattern_mult, wp, f);
    T += 16;
    /* shade and scale: neighbours */
    static const double wn[9] = {0, 3, .3, 3, 0, 3, .3, 3, 0};
    fke_synth_fill_T(T, 3, shade_primary, shade_mult, wn, f);
    fke_synth_fill_T(T + 9, 3, scale_primary, scale_mult, wn, f);
}

/* ---- vocabulary ---------------------------------------------------------- */
static const char *const occ_words[FKE_SYNTH_OCC][3] = {
    {"wedding", "bride", "ceremony"}, {"office", "work", "meeting"},
    {"party", "club", "nightout"},    {"beach", "summer", "sea"},
    {"gym", "run", "workout"},        {"casual", "weekend", "everyday"},
    {"travel", "airport", "trip"},    {"date", "dinner", "romantic"},
    {"campus", "school", "class"},    {"winter", "snow", "cold"}};
static const char *const cat_words[10] = {"tshirt", "trousers", "pullover", "dress",
                                          "coat",   "sandals",  "shirt",    "sneakers",
                                          "bag",    "boots"};
static const char *const more_words[] = {
    "#ootd", "love", "today", "new", "look", "style", "outfit", "wearing", "my", "the",
    "a", "with", "and", "in", "for", "so", "happy", "day", "fashion", "#fashion",
    "#style", "cute", "vibes", "mood", "got", "this", "favourite", "perfect", "ready", "going"};
static const char *const syll[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa",
                                   "do", "fe", "gu", "hi", "ja", "ko", "le", "mu", "no", "pi"};

/* layout of the vocabulary: 0 <pad>, 1 <unk>, occasion words, colour,
 * pattern, shade, scale, category words, common words, generated words */
#define W_OCC 2
#define W_COLOUR (W_OCC + 30)
#define W_PATTERN (W_COLOUR + 8)
#define W_SHADE (W_PATTERN + 4)
#define W_SCALE (W_SHADE + 3)
#define W_CAT (W_SCALE + 3)
#define W_FILL (W_CAT + 10)
#define N_TOPIC 20 /* filler words that lean towards one occasion */

static char **make_vocab(void)
{
    char **v = calloc(FKE_SYNTH_V + 1, sizeof *v);
    if (!v) return NULL;
    int n = 0;
#define ADD(s) v[n++] = strdup(s)
    ADD("<pad>");
    ADD("<unk>");
    for (int o = 0; o < FKE_SYNTH_OCC; o++)
        for (int k = 0; k < 3; k++) ADD(occ_words[o][k]);
    for (int k = 0; k < FKE_SYNTH_A; k++)
        for (int j = 0; j < n_val[k]; j++) {
            static const char *const sw[3] = {"small", "regular", "oversized"};
            static const char *const pw[4] = {"plain", "striped", "dotted", "checked"};
            ADD(k == A_SCALE ? sw[j] : k == A_PATTERN ? pw[j] : val_names[k][j]);
        }
    for (int c = 0; c < 10; c++) ADD(cat_words[c]);
#undef ADD
    return fke_synth_vocab_finish(v, n);
}

char **fke_synth_vocab_finish(char **v, int n)
{
    char buf[32];
    for (size_t k = 0; k < sizeof more_words / sizeof more_words[0] && n < FKE_SYNTH_V; k++)
        v[n++] = strdup(more_words[k]);
    for (int i = 0; n < FKE_SYNTH_V; i++) {
        /* distinct made-up words from three syllables (8000 of them) */
        snprintf(buf, sizeof buf, "%s%s%s", syll[i % 20], syll[(i / 20) % 20],
                 syll[(i / 400) % 20]);
        v[n++] = strdup(buf);
    }
    for (int i = 0; i < FKE_SYNTH_V; i++)
        if (!v[i]) {
            fke_strings_free(v, FKE_SYNTH_V);
            return NULL;
        }
    return v;
}

/* ---- sampling helpers ---------------------------------------------------- */
int fke_synth_draw(fke_rng *r, const double *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += w[i];
    double u = fke_rng_uniform(r) * s;
    for (int i = 0; i < n; i++) {
        u -= w[i];
        if (u < 0) return i;
    }
    return n - 1;
}

int fke_synth_draw_f(fke_rng *r, const float *w, int n)
{
    double d[16];
    for (int i = 0; i < n; i++) d[i] = w[i];
    return fke_synth_draw(r, d, n);
}

int fke_synth_pick3(fke_rng *r, const int *opts, int pref)
{
    double w[3];
    for (int i = 0; i < 3; i++) w[i] = opts[i] == pref ? 0.85 : 0.075;
    return opts[fke_synth_draw(r, w, 3)];
}

/* ---- rendering ------------------------------------------------------------ */
typedef struct {
    int cat, attr[FKE_SYNTH_A], src, cx, cy, size;
    float tone; /* light: share of white; medium, dark: brightness factor */
} garment;

static float pattern_mask(int p, int u, int v)
{
    switch (p) {
    case 1: return (v % 6) >= 3 ? 0.3f : 1.f;                   /* horizontal stripes */
    case 2: return (u % 5 < 2 && v % 5 < 2) ? 0.25f : 1.f;      /* dots */
    case 3: return ((u / 4 + v / 4) % 2) ? 0.4f : 1.f;          /* checks */
    default: return 1.f;
    }
}

/* Draws garment g (source 28x28 gray image src) onto the (3, S, S) canvas. */
static void draw_garment(uint8_t *img, int S, const garment *g, const uint8_t *src)
{
    float col[3];
    for (int c = 0; c < 3; c++) {
        float v = colour_rgb[g->attr[A_COLOUR]][c];
        col[c] = g->attr[A_SHADE] == 0 ? (1 - g->tone) * v + g->tone * 255.f : g->tone * v;
    }
    int sz = g->size, x0 = g->cx - sz / 2, y0 = g->cy - sz / 2;
    for (int y = 0; y < sz; y++)
        for (int x = 0; x < sz; x++) {
            int X = x0 + x, Y = y0 + y;
            if (X < 0 || Y < 0 || X >= S || Y >= S) continue;
            /* bilinear sample of the 28x28 source at the pixel centre */
            float fu = (x + 0.5f) * 28.f / sz - 0.5f, fv = (y + 0.5f) * 28.f / sz - 0.5f;
            int u0 = (int)floorf(fu), v0 = (int)floorf(fv);
            float au = fu - u0, av = fv - v0, s = 0;
            for (int dv = 0; dv < 2; dv++)
                for (int du = 0; du < 2; du++) {
                    int uu = u0 + du, vv = v0 + dv;
                    float w = (du ? au : 1 - au) * (dv ? av : 1 - av);
                    if (uu >= 0 && vv >= 0 && uu < 28 && vv < 28) s += w * src[vv * 28 + uu];
                }
            float gray = s / 255.f;
            if (gray <= 0.f) continue;
            int su = (int)(fu + 0.5f), sv = (int)(fv + 0.5f);
            float m = pattern_mask(g->attr[A_PATTERN], su < 0 ? 0 : su, sv < 0 ? 0 : sv);
            float alpha = gray * 3.f > 1.f ? 1.f : gray * 3.f;
            for (int c = 0; c < 3; c++) {
                uint8_t *p = img + ((size_t)c * S + Y) * S + X;
                float v = (0.35f + 0.65f * gray) * m * col[c];
                *p = (uint8_t)lrintf(alpha * v + (1 - alpha) * *p);
            }
        }
}

/* The whole image as a thumbnail of the post: averaged over THUMB x THUMB
 * blocks and scaled back up (bilinear), so it keeps the colours and the
 * layout but garment shapes blur and patterns vanish; they show only in the
 * crops. */
#define THUMB 4
static void thumbnail(uint8_t *img, int S)
{
    enum { H = FKE_SYNTH_IMG / THUMB };
    int h = S / THUMB;
    float small[3][H][H];
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < h; x++) {
                float sum = 0;
                for (int v = 0; v < THUMB; v++)
                    for (int u = 0; u < THUMB; u++)
                        sum += img[((size_t)c * S + THUMB * y + v) * S + THUMB * x + u];
                small[c][y][x] = sum / (THUMB * THUMB);
            }
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                float fy = (y + 0.5f) / THUMB - 0.5f, fx = (x + 0.5f) / THUMB - 0.5f;
                fy = fy < 0 ? 0 : fy > h - 1 ? h - 1 : fy;
                fx = fx < 0 ? 0 : fx > h - 1 ? h - 1 : fx;
                int y0 = (int)fy, x0 = (int)fx, y1 = y0 + 1 < h ? y0 + 1 : y0,
                    x1 = x0 + 1 < h ? x0 + 1 : x0;
                float ay = fy - y0, ax = fx - x0;
                float v = (1 - ay) * ((1 - ax) * small[c][y0][x0] + ax * small[c][y0][x1]) +
                          ay * ((1 - ax) * small[c][y1][x0] + ax * small[c][y1][x1]);
                img[((size_t)c * S + y) * S + x] = (uint8_t)lrintf(v);
            }
}

/* ---- the generator --------------------------------------------------------- */
void fke_synth_defaults(fke_synth_opts *o, int split)
{
    o->version = 2;
    o->split = split;
    o->posts = split == FKE_SYNTH_TRAIN ? 4000 : split == FKE_SYNTH_VAL ? 500 : 1000;
    o->noise_ratio = split ? 0.0 : 0.7;
    o->flip_rate = 0.3;
    o->missing = 0.0;
    o->seed = 1;
}

static fke_status set_names(fke_dataset *d, fke_err *e)
{
    d->occ_names = fke_strings_dup(occ_names, FKE_SYNTH_OCC);
    d->cat_names = fke_strings_dup((const char *const *)cat_words, 10);
    d->attr_names = fke_strings_dup(attr_names, FKE_SYNTH_A);
    d->val_names = calloc(FKE_SYNTH_A + 1, sizeof *d->val_names);
    d->vocab = make_vocab();
    d->T_true = malloc(fke_synth_T_size() * sizeof(float));
    if (!d->occ_names || !d->cat_names || !d->attr_names || !d->val_names || !d->vocab ||
        !d->T_true)
        return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    for (int k = 0; k < FKE_SYNTH_A; k++)
        if (!(d->val_names[k] = fke_strings_dup(val_names[k], n_val[k])))
            return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    /* category names as Fashion-MNIST spells them */
    static const char *const fm[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    fke_strings_free(d->cat_names, 10);
    d->cat_names = fke_strings_dup(fm, 10);
    if (!d->cat_names) return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    return FKE_OK;
}

/* Samples the outfit of one post: garments in sequence order (outer layer,
 * top or dress, trousers, footwear, bag = left to right, top to bottom). */
static int sample_outfit(fke_rng *r, int occ, garment *gs)
{
    const occ_rule *R = &rules[occ];
    static const int tops[3] = {TSHIRT, PULLOVER, SHIRT}, feet[3] = {SANDAL, SNEAKER, BOOT};
    int n = 0, dress = fke_rng_uniform(r) < R->p_dress;
    if (fke_rng_uniform(r) < R->p_coat) gs[n++].cat = COAT;
    if (dress) {
        gs[n++].cat = DRESS;
    } else {
        gs[n++].cat = fke_synth_pick3(r, tops, R->top);
        gs[n++].cat = TROUSER;
    }
    gs[n++].cat = fke_synth_pick3(r, feet, R->foot);
    if (fke_rng_uniform(r) < R->p_bag) gs[n++].cat = BAG;
    return n;
}

static void sample_attrs(fke_rng *r, int occ, garment *g)
{
    const occ_rule *R = &rules[occ];
    int c = g->cat;
    double w[8];
    for (int k = 0; k < 8; k++)
        w[k] = 0.3 + 2.0 * (k == R->palette[0] || k == R->palette[1]) + 1.5 * (k == cat_colour[c]);
    g->attr[A_COLOUR] = fke_synth_draw(r, w, 8);
    for (int k = 0; k < 4; k++) w[k] = R->pattern[k] * cat_pattern[c][k];
    g->attr[A_PATTERN] = fke_synth_draw(r, w, 4);
    for (int k = 0; k < 3; k++) w[k] = R->shade[k] * cat_shade[c][k];
    g->attr[A_SHADE] = fke_synth_draw(r, w, 3);
    for (int k = 0; k < 3; k++) w[k] = R->scale_mul[k] * cat_scale[c][k];
    g->attr[A_SCALE] = fke_synth_draw(r, w, 3);
    /* drawn size and tone vary within a value, and neighbouring values
     * overlap: the image does not always decide shade and scale */
    g->size = scale_px[g->attr[A_SCALE]] - 3 + (int)fke_rng_below(r, 7);
    static const float tone_lo[3] = {0.1f, 0.55f, 0.3f}, tone_hi[3] = {0.5f, 1.0f, 0.8f};
    int sh = g->attr[A_SHADE];
    g->tone = tone_lo[sh] + (tone_hi[sh] - tone_lo[sh]) * (float)fke_rng_uniform(r);
}

/* Positions: outer layer in the left column, the body (top/dress,
 * trousers, footwear) in the middle column top to bottom, the bag right. */
static void place(fke_rng *r, garment *gs, int n)
{
    int dress = 0;
    for (int i = 0; i < n; i++) dress |= gs[i].cat == DRESS;
    for (int i = 0; i < n; i++) {
        int x = 0, y = 0; /* every case sets both */
        switch ((category)gs[i].cat) {
        case COAT: x = 14, y = 22; break;
        case BAG: x = 51, y = 38; break;
        case DRESS: x = 33, y = 18; break;
        case TROUSER: x = 33, y = 33; break;
        case SANDAL: case SNEAKER: case BOOT: x = 33, y = dress ? 49 : 54; break;
        case TSHIRT: case PULLOVER: case SHIRT: x = 33, y = 12; break;
        }
        gs[i].cx = x + (int)fke_rng_below(r, 5) - 2;
        gs[i].cy = y + (int)fke_rng_below(r, 5) - 2;
    }
}

static void caption(fke_rng *r, int occ, const garment *gs, int n, int32_t *tok)
{
    int32_t t[32];
    int k = 0, len = 6 + (int)fke_rng_below(r, 11); /* 6..16 words */
    if (fke_rng_uniform(r) < 0.6) {                 /* the occasion is named ... */
        int o = occ;
        if (fke_rng_uniform(r) < 0.3)               /* ... sometimes wrongly */
            o = (occ + 1 + (int)fke_rng_below(r, FKE_SYNTH_OCC - 1)) % FKE_SYNTH_OCC;
        t[k++] = W_OCC + 3 * o + (int)fke_rng_below(r, 3);
    }
    if (fke_rng_uniform(r) < 0.15) /* an unrelated occasion word */
        t[k++] = W_OCC + (int)fke_rng_below(r, 30);
    if (fke_rng_uniform(r) < 0.5) { /* one garment described */
        const garment *g = &gs[fke_rng_below(r, (uint32_t)n)];
        int col = g->attr[A_COLOUR];
        if (fke_rng_uniform(r) < 0.2) col = (col + (fke_rng_below(r, 2) ? 1 : 7)) % 8;
        t[k++] = W_COLOUR + col;
        if (fke_rng_uniform(r) < 0.5) t[k++] = W_PATTERN + g->attr[A_PATTERN];
        if (fke_rng_uniform(r) < 0.3) t[k++] = W_SHADE + g->attr[A_SHADE];
        if (fke_rng_uniform(r) < 0.2) t[k++] = W_SCALE + g->attr[A_SCALE];
        t[k++] = W_CAT + g->cat;
    }
    fke_synth_caption_finish(r, occ, FKE_SYNTH_OCC, W_FILL, t, k, len, tok);
}

void fke_synth_caption_finish(fke_rng *r, int occ, int n_occ, int w_fill, int32_t *t, int k,
                              int len, int32_t *tok)
{
    int nfill = FKE_SYNTH_V - w_fill - n_occ * N_TOPIC;
    while (k < len) {
        if (fke_rng_uniform(r) < 0.15) { /* a word this occasion's posts favour */
            t[k++] = w_fill + occ * N_TOPIC + (int)fke_rng_below(r, N_TOPIC);
        } else { /* Zipf-like over the remaining words */
            double u = fke_rng_uniform(r);
            int w = (int)(exp(u * log((double)nfill + 1)) - 1);
            t[k++] = w_fill + n_occ * N_TOPIC + (w < nfill ? w : nfill - 1);
        }
    }
    for (int i = k - 1; i > 0; i--) { /* words in random order */
        int j = (int)fke_rng_below(r, (uint32_t)i + 1);
        int32_t x = t[i];
        t[i] = t[j];
        t[j] = x;
    }
    for (int i = 0; i < FKE_SYNTH_L; i++) tok[i] = i < k ? t[i] : 0;
}

static fke_status check_opts(const fke_synth_opts *o, const fke_imageset *gar, fke_err *e)
{
    if (o->posts < 1 || o->posts > 10000000)
        return fke_fail(e, FKE_ERR_ARG, "synth: --posts %d must be 1..10000000", o->posts);
    if (!(o->noise_ratio >= 0 && o->noise_ratio <= 1))
        return fke_fail(e, FKE_ERR_ARG, "synth: --noise-ratio %g must be in 0..1",
                        o->noise_ratio);
    if (!(o->flip_rate >= 0 && o->flip_rate < 1))
        return fke_fail(e, FKE_ERR_ARG, "synth: --flip-rate %g must be in 0..1 (1 excluded)",
                        o->flip_rate);
    if (!(o->missing >= 0 && o->missing < 1))
        return fke_fail(e, FKE_ERR_ARG, "synth: --missing %g must be in 0..1", o->missing);
    if (o->split != FKE_SYNTH_TRAIN && o->split != FKE_SYNTH_TEST && o->split != FKE_SYNTH_VAL)
        return fke_fail(e, FKE_ERR_ARG, "synth: split must be train, test or val");
    if (o->version != 2 && o->version != 3)
        return fke_fail(e, FKE_ERR_ARG, "synth: version %d: there are versions 2 and 3",
                        o->version);
    if (o->split == FKE_SYNTH_VAL && gar && gar->N <= FKE_SYNTH_VAL_FROM)
        return fke_fail(e, FKE_ERR_ARG,
                        "synth: the validation split needs Fashion-MNIST's training images "
                        "(%s has %d, not more than %d)",
                        gar->path, gar->N, FKE_SYNTH_VAL_FROM);
    if (!gar || gar->C != 1 || gar->H != 28 || gar->W != 28 || gar->n_cls != 10)
        return fke_fail(e, FKE_ERR_ARG,
                        "synth: the garment images must be Fashion-MNIST (1x28x28, 10 classes)");
    return FKE_OK;
}

fke_status fke_synth_index_build(const fke_imageset *gar, int lo, int hi, fke_synth_index *ci,
                                 fke_err *e)
{
    memset(ci, 0, sizeof *ci);
    if (hi > gar->N) hi = gar->N;
    for (int i = lo; i < hi; i++) ci->n[gar->labels[i]]++;
    for (int c = 0; c < 10; c++)
        if (!ci->n[c])
            return fke_fail(e, FKE_ERR_ARG, "synth: %s has no image of class %d among images %d..%d",
                            gar->path, c, lo, hi - 1);
    for (int c = 0; c < 10; c++) {
        ci->idx[c] = malloc((size_t)ci->n[c] * sizeof(int));
        ci->n[c] = 0;
    }
    for (int i = lo; i < hi; i++) {
        int c = gar->labels[i];
        if (ci->idx[c]) ci->idx[c][ci->n[c]++] = i;
    }
    for (int c = 0; c < 10; c++)
        if (!ci->idx[c]) {
            fke_synth_index_free(ci);
            return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
        }
    return FKE_OK;
}

void fke_synth_index_free(fke_synth_index *ci)
{
    for (int c = 0; c < 10; c++) free(ci->idx[c]), ci->idx[c] = NULL;
}

void fke_synth_pictures_free(fke_synth_pictures *p)
{
    if (!p) return;
    for (int i = 0; p->jpeg && i < p->N; i++) free(p->jpeg[i]);
    free(p->jpeg);
    free(p->n);
    memset(p, 0, sizeof *p);
}

/* Sizes, buffers, names, true transition matrices and provenance of d. */
static fke_status init_dataset(fke_dataset *d, const fke_synth_opts *o, const fke_imageset *gar,
                               const char *src_file, fke_err *e)
{
    d->N = o->posts, d->G = FKE_SYNTH_G, d->A = FKE_SYNTH_A, d->L = FKE_SYNTH_L;
    d->img = FKE_SYNTH_IMG, d->crop = FKE_SYNTH_CROP, d->C = 3;
    d->n_occ = FKE_SYNTH_OCC, d->n_cat = 10, d->V = FKE_SYNTH_V;
    for (int k = 0; k < FKE_SYNTH_A; k++) d->n_val[k] = n_val[k];
    FKE_TRY(fke_dataset_alloc(d, e));
    FKE_TRY(set_names(d, e));
    if (!(d->src_index = malloc((size_t)d->N * d->G * sizeof(int32_t))))
        return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    fke_synth_transitions(o->flip_rate, d->T_true);
    fke_synth_describe(d, o, src_file ? src_file : gar->path);
    return FKE_OK;
}

void fke_synth_describe(fke_dataset *d, const fke_synth_opts *o, const char *src_file)
{
    snprintf(d->src_file, sizeof d->src_file, "%s", src_file);
    snprintf(d->generator, sizeof d->generator,
             "fke-synth version=%d split=%s posts=%d noise_ratio=%g flip_rate=%g missing=%g "
             "seed=%llu",
             o->version, o->split == FKE_SYNTH_TEST ? "test" : o->split == FKE_SYNTH_VAL ? "val" : "train",
             o->posts, o->noise_ratio, o->flip_rate, o->missing, (unsigned long long)o->seed);
}

/* Which posts are clean: exactly round((1 - ratio) N) of them, a random
 * subset (every post outside the training split). */
fke_status fke_synth_choose_clean(fke_dataset *d, const fke_synth_opts *o, fke_rng *r, fke_err *e)
{
    int n_clean = o->split != FKE_SYNTH_TRAIN ? d->N : (int)lrint((1.0 - o->noise_ratio) * d->N);
    int *perm = malloc((size_t)d->N * sizeof *perm);
    if (!perm) return fke_fail(e, FKE_ERR_NOMEM, "synth: no memory");
    for (int i = 0; i < d->N; i++) perm[i] = i;
    for (int i = d->N - 1; i > 0; i--) {
        int j = (int)fke_rng_below(r, (uint32_t)i + 1), x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    for (int i = 0; i < n_clean; i++) d->clean[perm[i]] = 1;
    free(perm);
    return FKE_OK;
}

/* The garments of a post of occasion occ: outfit, attributes, source image
 * of each, positions. Returns how many. */
static int sample_garments(fke_rng *r, int occ, const fke_synth_index *ci, garment *gs)
{
    memset(gs, 0, FKE_SYNTH_G * sizeof *gs);
    int n = sample_outfit(r, occ, gs);
    for (int g = 0; g < n; g++) {
        sample_attrs(r, occ, &gs[g]);
        gs[g].src = ci->idx[gs[g].cat][fke_rng_below(r, (uint32_t)ci->n[gs[g].cat])];
    }
    place(r, gs, n);
    return n;
}

/* A dark gray background of level bg with a little noise, on the (3, S, S)
 * image. */
static void fill_background(uint8_t *img, int S, int bg, fke_rng *r)
{
    for (int p = 0; p < S * S; p++) {
        int v = bg + (int)fke_rng_below(r, 9) - 4;
        for (int c = 0; c < 3; c++) img[(size_t)c * S * S + p] = (uint8_t)v;
    }
}

/* The whole image of a post (3, S, S): the background, the garments in
 * paint order (outer layer behind, body, bag in front), then blurred to a
 * thumbnail. */
static void paint_image(uint8_t *im, int S, const garment *gs, int n, int bg,
                        const uint8_t *images, fke_rng *r)
{
    fill_background(im, S, bg, r);
    for (int g = 0; g < n; g++)
        if (gs[g].cat == COAT) draw_garment(im, S, &gs[g], images + (size_t)gs[g].src * 784);
    for (int g = 0; g < n; g++)
        if (gs[g].cat != COAT && gs[g].cat != BAG)
            draw_garment(im, S, &gs[g], images + (size_t)gs[g].src * 784);
    for (int g = 0; g < n; g++)
        if (gs[g].cat == BAG) draw_garment(im, S, &gs[g], images + (size_t)gs[g].src * 784);
    thumbnail(im, S);
}

/* Garment slot s: its box in the whole image, clipped to it, and its crop:
 * the garment alone, drawn from its source at the crop's full resolution
 * (as crops cut from a large photo are), so its drawn size does not show in
 * it. */
static void box_and_crop(fke_dataset *d, size_t s, const garment *g, int bg,
                         const uint8_t *images, fke_rng *r)
{
    const int S = d->img, P = d->crop;
    int32_t *b = d->boxes + s * 4;
    int x0 = g->cx - g->size / 2, y0 = g->cy - g->size / 2;
    b[0] = x0 < 0 ? 0 : x0;
    b[1] = y0 < 0 ? 0 : y0;
    b[2] = x0 + g->size > S ? S : x0 + g->size;
    b[3] = y0 + g->size > S ? S : y0 + g->size;
    uint8_t *cr = d->crops + s * 3 * P * P;
    fill_background(cr, P, bg, r);
    garment one = *g;
    one.cx = one.cy = P / 2, one.size = P - 2;
    draw_garment(cr, P, &one, images + (size_t)one.src * 784);
}

/* Garment slot s of a post (clean or not): the true labels, the machine
 * labels drawn from the true transition matrices, the training labels (the
 * true ones of a clean post, else the machine ones) and, in the training
 * split, the labels that go missing. */
static void label_garment(fke_dataset *d, const fke_synth_opts *o, size_t s, const garment *g,
                          int clean, fke_rng *r)
{
    const int A = d->A;
    d->cat_true[s] = g->cat;
    d->cat_machine[s] = fke_synth_draw_f(r, d->T_true + g->cat * 10, 10);
    for (int k = 0; k < A; k++) {
        d->attr_true[s * A + k] = g->attr[k];
        const float *T = d->T_true + fke_dataset_T_offset(d, k + 1);
        d->attr_machine[s * A + k] = fke_synth_draw_f(r, T + g->attr[k] * n_val[k], n_val[k]);
    }
    d->cat[s] = clean ? d->cat_true[s] : d->cat_machine[s];
    for (int k = 0; k < A; k++)
        d->attr[s * A + k] = clean ? d->attr_true[s * A + k] : d->attr_machine[s * A + k];
    if (!o->split && o->missing > 0) {
        if (fke_rng_uniform(r) < o->missing) d->cat[s] = -1;
        for (int k = 0; k < A; k++)
            if (fke_rng_uniform(r) < o->missing) d->attr[s * A + k] = -1;
    }
}

/* Post i, drawn from r. The order of the draws is part of the dataset
 * format: the same seed must give the same bytes, so a new draw goes after
 * the existing ones (or behind a new generator version). */
static void make_post(fke_dataset *d, const fke_synth_opts *o, const fke_synth_index *ci,
                      const uint8_t *images, fke_rng *r, int i)
{
    const int S = d->img, G = d->G;
    int occ = (int)fke_rng_below(r, FKE_SYNTH_OCC);
    garment gs[FKE_SYNTH_G];
    int n = sample_garments(r, occ, ci, gs);
    int bg = 10 + (int)fke_rng_below(r, 30);
    paint_image(d->images + (size_t)i * 3 * S * S, S, gs, n, bg, images, r);
    /* person: one wearer per post */
    int dress = 0;
    for (int g = 0; g < n; g++) dress |= gs[g].cat == DRESS;
    int gender = fke_rng_uniform(r) < (dress ? 0.9 : rules[occ].p_female) ? 0 : 1;
    int age = fke_synth_draw(r, rules[occ].age, 4);
    d->n_garments[i] = n;
    d->occ[i] = occ;
    caption(r, occ, gs, n, d->tokens + (size_t)i * d->L);
    if (!o->split && fke_rng_uniform(r) < o->missing) d->occ[i] = -1;
    for (int g = 0; g < G; g++) d->src_index[(size_t)i * G + g] = -1;
    for (int g = 0; g < n; g++) {
        size_t s = (size_t)i * G + g;
        box_and_crop(d, s, &gs[g], bg, images, r);
        d->src_index[s] = gs[g].src;
        d->person[s * 2] = gender;
        d->person[s * 2 + 1] = age;
        label_garment(d, o, s, &gs[g], d->clean[i], r);
    }
}

fke_status fke_synth_generate(const fke_synth_opts *o, const fke_imageset *gar,
                              const char *src_file, fke_dataset *d, fke_synth_pictures *pics,
                              fke_err *e)
{
    memset(d, 0, sizeof *d);
    FKE_TRY(check_opts(o, gar, e));
    if (o->version == 3) return fke_synth3_generate(o, gar, src_file, d, pics, e);
    if (pics)
        return fke_fail(e, FKE_ERR_ARG, "synth: version 2 has no pictures (a release tree needs version 3)");
    fke_synth_index ci;
    /* version 2's training split uses every training image, as it always did */
    int lo = o->split == FKE_SYNTH_VAL ? FKE_SYNTH_VAL_FROM : 0;
    fke_status st = fke_synth_index_build(gar, lo, gar->N, &ci, e);
    if (!st) st = init_dataset(d, o, gar, src_file, e);
    fke_rng r;
    fke_rng_seed(&r, o->seed ^ (o->split == FKE_SYNTH_TEST  ? 0x9e3779b97f4a7c15ull
                                : o->split == FKE_SYNTH_VAL ? 0x3c6ef372fe94f82bull
                                                            : 0));
    if (!st) st = fke_synth_choose_clean(d, o, &r, e);
    for (int i = 0; !st && i < d->N; i++) make_post(d, o, &ci, gar->images, &r, i);
    if (!st) st = fke_dataset_validate(d, "synth", e);
    fke_synth_index_free(&ci);
    if (st) fke_synth_discard(d, NULL, e);
    return st;
}

void fke_synth_discard(fke_dataset *d, fke_synth_pictures *pics, fke_err *e)
{
    char keep[FKE_ERRLEN]; /* the message may name a field the free clears */
    snprintf(keep, sizeof keep, "%s", e ? e->msg : "");
    fke_dataset_free(d);
    fke_synth_pictures_free(pics);
    if (e) snprintf(e->msg, sizeof e->msg, "%s", keep);
}
