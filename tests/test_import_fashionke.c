/* test_import_fashionke.c - `fke data import fashionke` (data/import_fashionke.h)
 * on a FashionKE release tree this test writes itself, format-true to
 * datasets/README.md "FashionKE release" (the authors' loader's files): 32-hex post ids, images/<id>.jpg (Fashion-MNIST garments
 * pasted at known boxes on a 120x100 background), cloth_body_face_meta.json
 * with every post key of §1.3, the split lists, the pool, the code files,
 * the applicability file, the two confusion files and the captions' ids.
 * Planted in it: a missing picture, boxes past the border, empty boxes,
 * attribute keys outside code_attr.json, an empty caption, a post without
 * a caption entry, a cut and a padded caption, unknown / empty / null /
 * absent countries, two CRLF files, posts whose keys come in another order,
 * \u escapes (a category name, a value name, a surrogate pair in a
 * caption), 1 and fractional values, a repeated attribute, a float month,
 * more than G garments, an id listed twice, an id the meta lacks, a tie in
 * the garment order and garments whose box order differs from the body
 * order.
 *
 * Checked: post, garment and label counts and every counter of the report
 * against the planted numbers; every label (clean on pool posts, machine on
 * the others), person, box and token per post and per slot, in the stated
 * order; crops and whole images equal to fke_image_resize_chw on the JPEG
 * as decoded (exactly) and within a mean absolute error of 3 levels of the
 * pixels before JPEG; the extras; V from the whole caption file or from
 * word_embeds.npy; the T file against the confusion counts and through
 * fke_tmatrix_load; errors (truncated JSON, corrupt JPEG, wrong types, a
 * month 13, an unknown category, repeated codes) naming the file and the
 * record, and through the CLI exit 1 with nothing written; and end to end:
 * a tiny fke-small model trained on the imported train split (t_init = the
 * imported T) whose loss falls and whose category accuracy on the imported
 * test split, by `fke eval`, clears a bar. */
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/file.h"
#include "data/image.h"
#include "data/import_fashionke.h"
#include "data/tmatrix.h"
#include "data/text.h"
#include "test.h"
#include "test_fmnist.h"

/* ---- the release's label sets -------------------------------------------- */
#define W 120 /* picture size */
#define H 100
#define NCAT 6
#define NATTR 3
#define NOCC 10
#define NTRAIN 300 /* posts in train_ids_0.7.json (plus a repeat and an id the meta lacks) */
#define NTEST 100
#define NOUT 3     /* posts in the meta and in no list */
#define MAXG 8     /* garment entries a post of the fixture has at most */
#define G_SLOTS 5
#define CAT_BAR 0.60 /* category accuracy on the test split; see test_end_to_end */

enum { T_SHIRT, PANTS, SWEATER, DRESS, COAT, SHIRT };
static const char *const cat_names[NCAT] = {
    "upper_body_garment__t_shirt", "lower_body_garment__pants", "upper_body_garment__sweater",
    "full_body_garment__dress",    "upper_body_garment__coat",  "upper_body_garment__shirt"};
static const int cat_fm[NCAT] = {0, 1, 2, 3, 4, 6}; /* the Fashion-MNIST class drawn */
static const char *const attr_names[NATTR] = {"product_color", "sleeve_length",
                                              "upper_body_length"};
static const int n_val[NATTR] = {4, 3, 3};
#define ECRU "\xc3\xa9" "cru" /* é in UTF-8 */
static const char *const val_names[NATTR][4] = {{"black", "white", "red", ECRU},
                                                {"long", "short", "sleeveless"},
                                                {"crop", "hip_length", "thigh_length"}};
static const uint8_t tint[4][3] = {{25, 25, 25}, {235, 235, 235}, {220, 30, 30}, {225, 210, 170}};
static const char *const occ_names[NOCC] = {"conference", "work",  "date",          "prom",
                                            "shopping",   "party", "travel",        "wedding_guest",
                                            "sport",      "school"};
static const char *const countries[5] = {"TR", "US", "FR", "JP", "BR"}; /* codes 1..5 */
static const int ages[8] = {18, 24, 25, 39, 40, 59, 60, 70};
static const int age_bands[8] = {0, 0, 1, 1, 2, 2, 3, 3};

/* ---- the posts as written ------------------------------------------------- */
typedef struct {
    char key[64];
    int one; /* the value is written 1 (else a fraction) */
} fx_key;

typedef struct {
    int box[4];       /* as written */
    int col, row;     /* the wearer's column (body centre x = 40 col + 20) and the row tag */
    int empty;        /* the box leaves nothing inside the picture */
    int cat_true, cat_json;
    int attr[NATTR];  /* the values the importer must keep (-1 none) */
    int colour;       /* the tint drawn */
    int fm;           /* the Fashion-MNIST image */
    int gender;       /* -1 "" or null, 0 F, 1 M */
    int age;          /* index into ages, -1 null */
    int nk;
    fx_key keys[6];   /* the "<attribute>:<value>" keys, in the order written */
} fx_gar;

enum { CTRY_KNOWN, CTRY_EMPTY, CTRY_NULL, CTRY_ABSENT, CTRY_UNKNOWN };

typedef struct {
    char id[33];
    int list;         /* 0 train, 1 test, 2 none */
    int clean, has_image, occ, month, country, ctry_kind;
    int month_float;  /* written 7.0 */
    int reorder;      /* keys written in another order */
    int n;
    fx_gar g[MAXG];   /* in the JSON order of cloth_body_face */
    int n_ids, ids[24], has_text;
    int surrogate;    /* the raw text carries a \ud83d\udc57 */
    uint8_t *rgb;     /* (H, W, 3) before JPEG */
} fx_post;

/* specials: positions in the train list */
enum { S_KEYS, S_NOIMG, S_CLIP, S_EMPTY, S_UNKATTR, S_EMPTYCAP, S_CTRY_UNK, S_CTRY_EMPTY,
       S_CTRY_NULL, S_CTRY_ABSENT, S_OVERG, S_TIE, S_CENTRE, S_DUP, S_CUT, S_PAD, S_NOTEXT,
       S_GENDER, S_REPEAT, S_MONTH12, S_FMONTH, N_SPECIAL };

typedef struct {
    fx_post *p;  /* (np) train list order, then test, then unlisted */
    int np;
    int *fm_by_class[10], fm_n[10];
    char dir[512];
} fixture;

/* ---- small helpers ------------------------------------------------------------ */
typedef struct {
    char *s;
    size_t n, cap;
} sb;

static void sb_add(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
}

/* CRLF: every \n becomes \r\n */
static int write_sb(const char *path, const sb *b, int crlf)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    for (size_t i = 0; i < b->n; i++) {
        if (crlf && b->s[i] == '\n') fputc('\r', f);
        fputc(b->s[i], f);
    }
    return fclose(f) == 0;
}

static int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_cmd(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char *fke_bin(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/fke", fke_test_build_dir());
    return path;
}

static char *slurp(const char *path)
{
    char *buf = NULL;
    fke_err e = {{0}};
    if (fke_read_file(path, 0, &buf, NULL, &e) != FKE_OK) return NULL;
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* backslash-u sequences of a file (the fixture writes no escaped backslash) */
static long count_u(const char *path)
{
    char *s = slurp(path);
    long n = 0;
    for (char *p = s; p && (p = strstr(p, "\\u")); p += 2) n++;
    free(s);
    return n;
}

/* ---- making the posts ------------------------------------------------------------ */
static void add_key(fx_gar *g, const char *fmt, int one, const char *arg)
{
    fx_key *k = &g->keys[g->nk++];
    snprintf(k->key, sizeof k->key, fmt, arg);
    k->one = one;
}

/* A garment of category cat worn by the person in column col, row tag row,
 * box b; its attributes drawn, the keys written, machine flips on machine
 * posts. */
static fx_gar *add_gar(fixture *fx, fx_post *p, int col, int row, int cat, int x0, int y0,
                       int x1, int y1, fke_rng *r)
{
    fx_gar *g = &p->g[p->n++];
    memset(g, 0, sizeof *g);
    g->col = col, g->row = row;
    g->box[0] = x0, g->box[1] = y0, g->box[2] = x1, g->box[3] = y1;
    g->cat_true = cat;
    g->cat_json = cat;
    if (!p->clean && fke_rng_uniform(r) < 0.2) {
        static const int flip[NCAT] = {SHIRT, DRESS, COAT, COAT, SWEATER, T_SHIRT};
        g->cat_json = flip[cat];
    }
    int fc = cat_fm[cat];
    g->fm = fx->fm_by_class[fc][fke_rng_below(r, (uint32_t)fx->fm_n[fc])];
    for (int k = 0; k < NATTR; k++) g->attr[k] = -1;
    g->colour = (int)fke_rng_below(r, 4);
    /* écru: escaped in odd posts' keys, raw UTF-8 in even ones */
    const char *cname = g->colour == 3 ? ((p->id[31] & 1) ? "\\u00e9cru" : ECRU)
                                       : val_names[0][g->colour];
    add_key(g, "product_color:%s", fke_rng_uniform(r) < 0.5, cname);
    g->attr[0] = g->colour;
    if (cat != PANTS && fke_rng_uniform(r) < 0.8) {
        g->attr[1] = (int)fke_rng_below(r, 3);
        add_key(g, "sleeve_length:%s", fke_rng_uniform(r) < 0.5, val_names[1][g->attr[1]]);
    }
    if (cat != PANTS && cat != DRESS && fke_rng_uniform(r) < 0.6) {
        g->attr[2] = (int)fke_rng_below(r, 3);
        add_key(g, "upper_body_length:%s", fke_rng_uniform(r) < 0.5, val_names[2][g->attr[2]]);
    }
    return g;
}

/* A person in column col: an upper garment and pants, or a dress. */
static void add_person(fixture *fx, fx_post *p, int col, fke_rng *r)
{
    static const int uppers[5] = {T_SHIRT, SWEATER, DRESS, COAT, SHIRT};
    int up = uppers[fke_rng_below(r, 5)];
    int x = 40 * col;
    if (up == DRESS) {
        add_gar(fx, p, col, 0, DRESS, x + 6, 6, x + 34, 80, r);
    } else {
        add_gar(fx, p, col, 0, up, x + 6, 6, x + 34, 38, r);
        add_gar(fx, p, col, 1, PANTS, x + 6, 42, x + 34, 94, r);
    }
}

static void person_fields(fx_post *p, fke_rng *r)
{
    /* one wearer per column: the same gender and age for all his garments */
    int gender[3], age[3];
    for (int c = 0; c < 3; c++) {
        gender[c] = (int)fke_rng_below(r, 2);
        age[c] = (int)fke_rng_below(r, 8);
    }
    for (int j = 0; j < p->n; j++) p->g[j].gender = gender[p->g[j].col], p->g[j].age = age[p->g[j].col];
}

static void shuffle_garments(fx_post *p, fke_rng *r)
{
    for (int j = p->n - 1; j > 0; j--) {
        int k = (int)fke_rng_below(r, (uint32_t)j + 1);
        fx_gar t = p->g[j];
        p->g[j] = p->g[k];
        p->g[k] = t;
    }
}

static void make_post(fixture *fx, fx_post *p, int idx, int list, int special, fke_rng *r)
{
    memset(p, 0, sizeof *p);
    for (int k = 0; k < 32; k++) p->id[k] = "0123456789abcdef"[fke_rng_below(r, 16)];
    p->id[31] = "0123456789abcdef"[idx & 15]; /* parity drives the écru spelling */
    p->list = list;
    p->clean = list == 1 || (list == 0 && idx % 10 < 3);
    p->has_image = special != S_NOIMG;
    p->occ = (int)fke_rng_below(r, NOCC);
    p->month = 1 + (int)fke_rng_below(r, 11); /* 12 only in S_MONTH12 */
    p->ctry_kind = CTRY_KNOWN;
    p->country = 1 + (int)fke_rng_below(r, 5);
    p->reorder = idx % 7 == 3;
    p->has_text = 1;
    p->n_ids = 16;
    for (int k = 0; k < 24; k++) p->ids[k] = 1 + (int)fke_rng_below(r, 290);
    switch (special) {
    case S_KEYS: /* reordered keys, surrogate pair; person 1's pants boxed left of person 0 */
        p->reorder = 1;
        p->surrogate = 1;
        add_gar(fx, p, 1, 0, T_SHIRT, 46, 6, 74, 38, r);
        add_gar(fx, p, 1, 1, PANTS, 2, 60, 30, 98, r);
        add_gar(fx, p, 0, 0, SWEATER, 6, 6, 34, 38, r);
        add_gar(fx, p, 0, 1, PANTS, 6, 42, 34, 60, r);
        break;
    case S_CLIP: /* two boxes past the border */
        add_gar(fx, p, 2, 0, COAT, 86, -6, 114, 26, r);
        add_gar(fx, p, 2, 1, PANTS, 106, 42, 134, 94, r);
        break;
    case S_EMPTY: /* outside the picture, and zero wide */
        add_person(fx, p, 0, r);
        add_gar(fx, p, 1, 5, SHIRT, 125, 10, 140, 30, r)->empty = 1;
        add_gar(fx, p, 1, 6, T_SHIRT, 50, 50, 50, 70, r)->empty = 1;
        break;
    case S_OVERG:
        for (int c = 0; c < 3; c++) {
            int x = 40 * c;
            add_gar(fx, p, c, 0, c == 1 ? SHIRT : T_SHIRT, x + 6, 6, x + 34, 38, r);
            add_gar(fx, p, c, 1, PANTS, x + 6, 42, x + 34, 94, r);
        }
        break;
    case S_TIE: /* the same body and the same cloth centre y: JSON order, right one first */
        add_gar(fx, p, 1, 0, SHIRT, 60, 6, 78, 38, r);
        add_gar(fx, p, 1, 0, T_SHIRT, 42, 6, 60, 38, r);
        break;
    case S_CENTRE: /* by y1 the coat is first, by centre y the t-shirt */
        add_gar(fx, p, 0, 1, COAT, 4, 2, 36, 90, r);
        add_gar(fx, p, 0, 0, T_SHIRT, 8, 8, 32, 36, r);
        break;
    default: {
        int c0 = (int)fke_rng_below(r, 3);
        add_person(fx, p, c0, r);
        if (fke_rng_uniform(r) < 0.3) add_person(fx, p, (c0 + 1 + (int)fke_rng_below(r, 2)) % 3, r);
    }
    }
    if (special != S_KEYS && special != S_TIE && special != S_CENTRE) shuffle_garments(p, r);
    person_fields(p, r);
    switch (special) {
    case S_UNKATTR:
        add_key(&p->g[0], "pants_fit_type:%s", 1, "slim");
        add_key(&p->g[p->n - 1], "denim_wash_color:%s", 0, "dark");
        break;
    case S_EMPTYCAP: p->n_ids = 0; break;
    case S_CTRY_UNK: p->ctry_kind = CTRY_UNKNOWN; break;
    case S_CTRY_EMPTY: p->ctry_kind = CTRY_EMPTY; break;
    case S_CTRY_NULL: p->ctry_kind = CTRY_NULL; break;
    case S_CTRY_ABSENT: p->ctry_kind = CTRY_ABSENT; break;
    case S_CUT: p->n_ids = 20; break;
    case S_PAD: p->n_ids = 10; break;
    case S_NOTEXT: p->has_text = 0; break;
    case S_GENDER: p->g[0].gender = -1, p->g[0].age = -1; break;
    case S_REPEAT: /* a second colour: the later key wins */
        add_key(&p->g[0], "product_color:%s", 0, "white");
        p->g[0].attr[0] = 1;
        break;
    case S_MONTH12: p->month = 12; break;
    case S_FMONTH: p->month = 7, p->month_float = 1; break;
    }
    if (p->ctry_kind != CTRY_KNOWN) p->country = 0;
}

/* The picture: noise on grey, the garments in JSON order, each Fashion-MNIST
 * image stretched over its box (nearest), tinted, its grey level as alpha. */
static void paint(const fixture *fx, const fke_imageset *fm, fx_post *p, fke_rng *r)
{
    (void)fx;
    p->rgb = malloc((size_t)W * H * 3);
    for (int i = 0; i < W * H * 3; i++) p->rgb[i] = (uint8_t)(80 + fke_rng_below(r, 21));
    for (int j = 0; j < p->n; j++) {
        const fx_gar *g = &p->g[j];
        int bw = g->box[2] - g->box[0], bh = g->box[3] - g->box[1];
        if (bw <= 0 || bh <= 0) continue;
        const uint8_t *src = fm->images + (size_t)g->fm * 784;
        for (int y = g->box[1]; y < g->box[3]; y++)
            for (int x = g->box[0]; x < g->box[2]; x++) {
                if (x < 0 || y < 0 || x >= W || y >= H) continue;
                int sy = (y - g->box[1]) * 28 / bh, sx = (x - g->box[0]) * 28 / bw;
                double a = src[sy * 28 + sx] / 255.0;
                uint8_t *px = p->rgb + ((size_t)y * W + x) * 3;
                for (int ch = 0; ch < 3; ch++)
                    px[ch] = (uint8_t)lround(px[ch] * (1 - a) + tint[g->colour][ch] * a);
            }
    }
}

/* ---- writing the release ------------------------------------------------------------- */
static void json_cloth(sb *b, const fx_gar *g, int rev)
{
    sb_add(b, "{");
    const char *sep = "";
    if (rev) {
        for (int k = 0; k < g->nk; k++, sep = ", ")
            sb_add(b, "%s\"%s\": %s", sep, g->keys[k].key, g->keys[k].one ? "1" : "0.8835218548774719");
        sb_add(b, "%s\"category\": \"%s\", \"box\": [%d, %d, %d, %d]", sep, cat_names[g->cat_json],
               g->box[0], g->box[1], g->box[2], g->box[3]);
    } else {
        sb_add(b, "\"box\": [%d, %d, %d, %d], \"category\": \"%s\"", g->box[0], g->box[1],
               g->box[2], g->box[3], cat_names[g->cat_json]);
        for (int k = 0; k < g->nk; k++)
            sb_add(b, ", \"%s\": %s", g->keys[k].key, g->keys[k].one ? "1" : "0.15791237354278564");
    }
    sb_add(b, "}");
}

static void json_person(sb *b, const fx_gar *g)
{
    int x = 40 * g->col;
    sb_add(b, "\"body\": [%d.25, 2.5, %d.75, 98.0], \"face\": [%d.0, 3.0, %d.0, 20.0, 0.9998130202293396], ",
           x + 2, x + 37, x + 12, x + 28); /* centre x = 40 col + 20 */
    if (g->age < 0) sb_add(b, "\"age\": null, ");
    else sb_add(b, "\"age\": %d, ", ages[g->age]);
    sb_add(b, "\"gender\": \"%s\"", g->gender < 0 ? "" : g->gender ? "M" : "F");
}

static void json_post(sb *b, const fx_post *p)
{
    sb db = {0};
    /* the fields, each a piece of text, written in one order or the reverse */
    char occ[64], month[32], country[32];
    snprintf(occ, sizeof occ, "\"occasion\": \"%s\"", occ_names[p->occ]);
    snprintf(month, sizeof month, p->month_float ? "\"month\": %d.0" : "\"month\": %d", p->month);
    switch (p->ctry_kind) {
    case CTRY_KNOWN: snprintf(country, sizeof country, "\"country\": \"%s\"", countries[p->country - 1]); break;
    case CTRY_EMPTY: snprintf(country, sizeof country, "\"country\": \"\""); break;
    case CTRY_NULL: snprintf(country, sizeof country, "\"country\": null"); break;
    case CTRY_UNKNOWN: snprintf(country, sizeof country, "\"country\": \"ZZ\""); break;
    default: country[0] = 0;
    }
    sb cbf = {0}, bfc = {0};
    sb_add(&cbf, "\"cloth_body_face\": [");
    for (int j = 0; j < p->n; j++) {
        const fx_gar *g = &p->g[j];
        sb_add(&cbf, "%s{", j ? ", " : "");
        if (p->reorder) {
            json_person(&cbf, g);
            sb_add(&cbf, ", \"cloth\": ");
            json_cloth(&cbf, g, 1);
        } else {
            sb_add(&cbf, "\"cloth\": ");
            json_cloth(&cbf, g, 0);
            sb_add(&cbf, ", ");
            json_person(&cbf, g);
        }
        sb_add(&cbf, "}");
    }
    sb_add(&cbf, "]");
    /* persons in column order, then an empty duplicate of the first */
    sb_add(&bfc, "\"body_face_cloth\": [");
    int first = 1;
    for (int c = 0; c < 3; c++) {
        const fx_gar *any = NULL;
        for (int j = 0; j < p->n; j++)
            if (p->g[j].col == c) any = &p->g[j];
        if (!any) continue;
        sb_add(&bfc, "%s{", first ? "" : ", ");
        first = 0;
        json_person(&bfc, any);
        sb_add(&bfc, ", \"clothes\": [");
        int n = 0;
        for (int j = 0; j < p->n; j++)
            if (p->g[j].col == c) {
                sb_add(&bfc, "%s", n++ ? ", " : "");
                json_cloth(&bfc, &p->g[j], 0);
            }
        sb_add(&bfc, "]}");
        if (c == p->g[0].col) {
            sb_add(&bfc, ", {");
            json_person(&bfc, any);
            sb_add(&bfc, ", \"clothes\": []}");
        }
    }
    sb_add(&bfc, "]");
    char text[128];
    snprintf(text, sizeof text, "\"text\": \"%s\"",
             p->n_ids == 0 ? "" : p->surrogate ? "new dress \\ud83d\\udc57 #ootd" : "out today #ootd");
    const char *rest =
        "\"weekday\": 1, \"hour\": 11, \"indoor_outdoor\": \"indoor\", \"scene_cat\": "
        "\"clothing_store\", \"scene_attrs\": [\"no horizon\", \"man-made\", \"cloth\"], "
        "\"admin1\": \"Mugla\", \"admin2\": \"Fethiye\", \"latitude\": null, \"longitude\": null";
    const char *parts[7] = {occ, month, country, cbf.s, bfc.s, text, rest};
    sb_add(&db, "{");
    int n = 0;
    for (int k = 0; k < 7; k++) {
        const char *s = parts[p->reorder ? 6 - k : k];
        if (!s[0]) continue;
        sb_add(&db, "%s%s", n++ ? ", " : "", s);
    }
    sb_add(&db, "}");
    sb_add(b, "\"%s\": %s", p->id, db.s);
    free(db.s);
    free(cbf.s);
    free(bfc.s);
}

static void json_id_list(sb *b, const fixture *fx, int want_list, int pool)
{
    sb_add(b, "[");
    int n = 0;
    for (int i = 0; i < fx->np; i++) {
        const fx_post *p = &fx->p[i];
        if (pool ? !p->clean : p->list != want_list) continue;
        sb_add(b, "%s\n  \"%s\"", n++ ? "," : "", p->id);
    }
    if (!pool && want_list == 0) { /* a repeat and an id the meta lacks */
        sb_add(b, ",\n  \"%s\",\n  \"%s\"", fx->p[S_DUP].id, "ffffffffffffffffffffffffffffffff");
    }
    sb_add(b, "\n]\n");
}

static int write_release(fixture *fx, const fke_imageset *fm)
{
    fke_err e = {{0}};
    char path[700];
    snprintf(path, sizeof path, "%s/images", fx->dir);
    if (fke_mkdir_p(path, &e) != FKE_OK) return 0;
    int ok = 1;
    for (int i = 0; i < fx->np; i++) {
        fx_post *p = &fx->p[i];
        if (!p->has_image) continue;
        fke_image im = {W, H, p->rgb};
        snprintf(path, sizeof path, "%s/images/%s.jpg", fx->dir, p->id);
        ok &= fke_image_write_jpeg(path, &im, 95, &e) == FKE_OK;
    }
    (void)fm;
    /* the meta: one post a line, in an order that is not the lists' */
    sb b = {0};
    sb_add(&b, "{\n");
    for (int k = 0; k < fx->np; k++) {
        int i = (k * 37) % fx->np; /* np is not a multiple of 37 */
        sb_add(&b, "%s", k ? ",\n" : "");
        json_post(&b, &fx->p[i]);
    }
    sb_add(&b, "\n}\n");
    snprintf(path, sizeof path, "%s/cloth_body_face_meta.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    /* the lists; the pool with CRLF */
    const char *lists[2] = {"train_ids_0.7.json", "test_ids.json"};
    for (int l = 0; l < 2; l++) {
        b.n = 0;
        json_id_list(&b, fx, l, 0);
        snprintf(path, sizeof path, "%s/%s", fx->dir, lists[l]);
        ok &= write_sb(path, &b, 0);
    }
    b.n = 0;
    json_id_list(&b, fx, 0, 1);
    snprintf(path, sizeof path, "%s/labelled_pool.json", fx->dir);
    ok &= write_sb(path, &b, 1);
    /* code files: written in an order that is not the codes' */
    b.n = 0;
    sb_add(&b, "{");
    for (int c = NOCC - 1; c >= 0; c--) sb_add(&b, "\"%s\": %d%s", occ_names[c], c, c ? ", " : "}\n");
    snprintf(path, sizeof path, "%s/code_occasion.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    static const int cat_order[NCAT] = {3, 0, 5, 1, 4, 2};
    b.n = 0;
    sb_add(&b, "{\n");
    for (int k = 0; k < NCAT; k++) {
        int c = cat_order[k];
        sb_add(&b, "  \"%s\": %d%s\n", c == T_SHIRT ? "upper_body_garment__t\\u005fshirt" : cat_names[c],
               c, k + 1 < NCAT ? "," : "");
    }
    sb_add(&b, "}\n");
    snprintf(path, sizeof path, "%s/code_cat.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    b.n = 0;
    sb_add(&b, "{\"sleeve_length\": 1, \"upper_body_length\": 2, \"product_color\": 0}\n");
    snprintf(path, sizeof path, "%s/code_attr.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    b.n = 0; /* CRLF, values in reverse code order, écru escaped */
    sb_add(&b, "{\n");
    for (int k = 0; k < NATTR; k++) {
        sb_add(&b, "  \"%s\": {", attr_names[k]);
        for (int v = n_val[k] - 1; v >= 0; v--)
            sb_add(&b, "\"%s\": %d%s", k == 0 && v == 3 ? "\\u00e9cru" : val_names[k][v], v,
                   v ? ", " : "");
        sb_add(&b, "}%s\n", k + 1 < NATTR ? "," : "");
    }
    sb_add(&b, "}\n");
    snprintf(path, sizeof path, "%s/code_attr_val.json", fx->dir);
    ok &= write_sb(path, &b, 1);
    b.n = 0;
    sb_add(&b, "{\"TR\": 1, \"US\": 2, \"FR\": 3, \"JP\": 4, \"BR\": 5}\n");
    snprintf(path, sizeof path, "%s/code_country.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    /* applicability: pants have no sleeves; a hat and pants_fit_type are outside the codes */
    b.n = 0;
    sb_add(&b, "{\"upper_body_garment__t_shirt\": [{\"product_color\": [\"black\", \"red\"]}, "
               "{\"sleeve_length\": [\"short\"]}, {\"upper_body_length\": [\"crop\"]}],\n"
               " \"lower_body_garment__pants\": [{\"product_color\": [\"black\"]}, "
               "{\"pants_fit_type\": [\"slim\"]}],\n"
               " \"full_body_garment__dress\": [{\"product_color\": [\"red\"], \"sleeve_length\": "
               "[\"long\"]}],\n"
               " \"accessory__hat\": [{\"product_color\": [\"black\"]}],\n"
               " \"upper_body_garment__coat\": [{\"product_color\": [], \"sleeve_length\": [], "
               "\"upper_body_length\": []}]}\n");
    snprintf(path, sizeof path, "%s/clothes_category_attribute_value.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    /* confusion counts: shirt's row absent, a hat row and a hat column outside
     * the codes; sleeveless all zero; pants_fit_type outside the codes */
    b.n = 0;
    sb_add(&b, "{\"upper_body_garment__t_shirt\": {\"upper_body_garment__t_shirt\": 80, "
               "\"upper_body_garment__shirt\": 20},\n"
               " \"lower_body_garment__pants\": {\"lower_body_garment__pants\": 90, "
               "\"full_body_garment__dress\": 5, \"accessory__hat\": 5},\n"
               " \"upper_body_garment__sweater\": {\"upper_body_garment__sweater\": 3, "
               "\"upper_body_garment__coat\": 1},\n"
               " \"full_body_garment__dress\": {\"full_body_garment__dress\": 1},\n"
               " \"upper_body_garment__coat\": {\"upper_body_garment__coat\": 7, "
               "\"upper_body_garment__sweater\": 3},\n"
               " \"accessory__hat\": {\"accessory__hat\": 4}}\n");
    snprintf(path, sizeof path, "%s/category_confuse_mat.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    b.n = 0;
    sb_add(&b, "{\"product_color\": {\"black\": {\"black\": 9, \"white\": 1}, \"white\": {\"white\": 1}, "
               "\"red\": {\"red\": 1, \"black\": 1}, \"\\u00e9cru\": {\"\\u00e9cru\": 3, \"white\": 1}},\n"
               " \"sleeve_length\": {\"long\": {\"long\": 2, \"short\": 2}, \"short\": {\"short\": 5}, "
               "\"sleeveless\": {\"long\": 0, \"short\": 0, \"sleeveless\": 0}},\n"
               " \"upper_body_length\": {\"crop\": {\"crop\": 1}, \"hip_length\": {\"hip_length\": 1}, "
               "\"thigh_length\": {\"thigh_length\": 1, \"crop\": 1}},\n"
               " \"pants_fit_type\": {\"slim\": {\"slim\": 1}}}\n");
    snprintf(path, sizeof path, "%s/attribute_confuse_mat.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    /* captions; one unlisted post holds the largest id, 299 */
    b.n = 0;
    sb_add(&b, "{");
    int n = 0;
    for (int i = 0; i < fx->np; i++) {
        const fx_post *p = &fx->p[i];
        if (!p->has_text) continue;
        sb_add(&b, "%s\n\"%s\": {\"ids\": [", n++ ? "," : "", p->id);
        for (int k = 0; k < p->n_ids; k++) sb_add(&b, "%s%d", k ? ", " : "", p->ids[k]);
        sb_add(&b, "]}");
    }
    sb_add(&b, "\n}\n");
    snprintf(path, sizeof path, "%s/id_text_preprocessed.json", fx->dir);
    ok &= write_sb(path, &b, 0);
    free(b.s);
    return ok;
}

static int build_fixture(fixture *fx, const fke_imageset *fm, const char *dir)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "%s", dir);
    for (int c = 0; c < 10; c++) fx->fm_by_class[c] = malloc((size_t)fm->N * sizeof(int));
    for (int i = 0; i < fm->N; i++) {
        int c = fm->labels[i];
        fx->fm_by_class[c][fx->fm_n[c]++] = i;
    }
    fx->np = NTRAIN + NTEST + NOUT;
    fx->p = calloc((size_t)fx->np, sizeof *fx->p);
    fke_rng r;
    fke_rng_seed(&r, 2024);
    for (int i = 0; i < fx->np; i++) {
        int list = i < NTRAIN ? 0 : i < NTRAIN + NTEST ? 1 : 2;
        make_post(fx, &fx->p[i], i, list, list == 0 && i < N_SPECIAL ? i : -1, &r);
        paint(fx, fm, &fx->p[i], &r);
    }
    fx->p[fx->np - 1].ids[0] = 299;
    return write_release(fx, fm);
}

static void free_fixture(fixture *fx)
{
    for (int i = 0; i < fx->np; i++) free(fx->p[i].rgb);
    free(fx->p);
    for (int c = 0; c < 10; c++) free(fx->fm_by_class[c]);
}

/* ---- what the importer must make of it -------------------------------------------- */
/* The garments of p in slot order: non-empty ones by (column, row, JSON
 * position), the first G. Returns how many. */
static int expected_order(const fx_post *p, int *slot)
{
    int n = 0;
    for (int j = 0; j < p->n; j++)
        if (!p->g[j].empty) slot[n++] = j;
    for (int a = 1; a < n; a++) /* insertion: (col, row) then JSON position */
        for (int b = a; b > 0; b--) {
            const fx_gar *x = &p->g[slot[b - 1]], *y = &p->g[slot[b]];
            if (x->col < y->col || (x->col == y->col && x->row <= y->row)) break;
            int t = slot[b];
            slot[b] = slot[b - 1];
            slot[b - 1] = t;
        }
    return n < G_SLOTS ? n : G_SLOTS;
}

static void clip(const int *b, int *c)
{
    c[0] = b[0] < 0 ? 0 : b[0];
    c[1] = b[1] < 0 ? 0 : b[1];
    c[2] = b[2] > W ? W : b[2];
    c[3] = b[3] > H ? H : b[3];
}

/* the posts of list l that the importer keeps, in order */
static int kept_posts(const fixture *fx, int l, const fx_post **out)
{
    int n = 0;
    for (int i = 0; i < fx->np; i++)
        if (fx->p[i].list == l && fx->p[i].has_image) out[n++] = &fx->p[i];
    return n;
}

static double mean_abs(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

/* Every field of every post of d against the fixture (list l). */
static void check_posts(const fixture *fx, int l, const fke_dataset *d)
{
    const fx_post **kp = malloc((size_t)fx->np * sizeof *kp);
    int n = kept_posts(fx, l, kp);
    FKE_CHECK(d->N == n, "list %d: %d posts imported, %d expected", l, d->N, n);
    if (d->N != n) {
        free(kp);
        return;
    }
    const int S = d->img, P = d->crop, G = d->G, A = d->A;
    const fke_extra *season = fke_dataset_extra(d, "season"), *country = fke_dataset_extra(d, "country");
    const fke_extra *pid = fke_dataset_extra(d, "post_id");
    FKE_CHECK(season && season->ndim == 1 && season->dims[0] == n, "extra season missing or misshaped");
    FKE_CHECK(country && country->ndim == 1 && country->dims[0] == n, "extra country missing");
    FKE_CHECK(pid && pid->ndim == 2 && pid->dims[0] == n && pid->dims[1] == 4, "extra post_id missing");
    long bad_label = 0, bad_box = 0, bad_person = 0, bad_tok = 0, bad_exact = 0, bad_post = 0;
    double worst = 0;
    uint8_t *want = malloc((size_t)3 * S * S);
    for (int i = 0; i < n; i++) {
        const fx_post *p = kp[i];
        int slot[MAXG];
        int ng = expected_order(p, slot);
        bad_post += d->n_garments[i] != ng || d->occ[i] != p->occ || d->clean[i] != p->clean;
        if (season && country)
            bad_post += season->v[i] != (p->month - 1) / 3 || country->v[i] != p->country;
        if (pid) {
            char hex[40];
            snprintf(hex, sizeof hex, "%08x%08x%08x%08x", (uint32_t)pid->v[4 * i],
                     (uint32_t)pid->v[4 * i + 1], (uint32_t)pid->v[4 * i + 2], (uint32_t)pid->v[4 * i + 3]);
            bad_post += strcmp(hex, p->id) != 0;
        }
        for (int k = 0; k < d->L; k++) {
            int t = p->has_text && k < p->n_ids ? p->ids[k] : 0;
            bad_tok += d->tokens[(size_t)i * d->L + k] != t;
        }
        /* pixels: decode the file as written, resize by image.h's rule */
        fke_image im = {0};
        char path[700];
        fke_err e = {{0}};
        snprintf(path, sizeof path, "%s/images/%s.jpg", fx->dir, p->id);
        if (fke_image_read(path, &im, &e) != FKE_OK) {
            FKE_CHECK(0, "%s", e.msg);
            continue;
        }
        fke_image raw = {W, H, p->rgb};
        int32_t whole[4] = {0, 0, W, H};
        fke_image_resize_chw(&im, whole, S, want);
        bad_exact += memcmp(want, d->images + (size_t)i * 3 * S * S, (size_t)3 * S * S) != 0;
        fke_image_resize_chw(&raw, whole, S, want);
        double m = mean_abs(want, d->images + (size_t)i * 3 * S * S, (size_t)3 * S * S);
        if (m > worst) worst = m;
        for (int s = 0; s < G; s++) {
            size_t o = (size_t)i * G + s;
            if (s >= ng) { /* padding */
                bad_label += d->cat[o] != -1 || d->cat_true[o] != -1 || d->cat_machine[o] != -1;
                continue;
            }
            const fx_gar *g = &p->g[slot[s]];
            bad_label += d->cat[o] != g->cat_json;
            bad_label += d->cat_true[o] != (p->clean ? g->cat_json : -1);
            bad_label += d->cat_machine[o] != (p->clean ? -1 : g->cat_json);
            for (int k = 0; k < A; k++) {
                bad_label += d->attr[o * A + k] != g->attr[k];
                bad_label += d->attr_true[o * A + k] != (p->clean ? g->attr[k] : -1);
                bad_label += d->attr_machine[o * A + k] != (p->clean ? -1 : g->attr[k]);
            }
            bad_person += d->person[o * 2] != g->gender;
            bad_person += d->person[o * 2 + 1] != (g->age < 0 ? -1 : age_bands[g->age]);
            int c[4];
            clip(g->box, c);
            int32_t cb[4] = {c[0], c[1], c[2], c[3]};
            const int32_t *db = d->boxes + o * 4;
            bad_box += db[0] != c[0] * S / W || db[1] != c[1] * S / H ||
                       db[2] != (c[2] * S + W - 1) / W || db[3] != (c[3] * S + H - 1) / H;
            fke_image_resize_chw(&im, cb, P, want);
            bad_exact += memcmp(want, d->crops + o * 3 * P * P, (size_t)3 * P * P) != 0;
            fke_image_resize_chw(&raw, cb, P, want);
            m = mean_abs(want, d->crops + o * 3 * P * P, (size_t)3 * P * P);
            if (m > worst) worst = m;
        }
        fke_image_free(&im);
    }
    FKE_CHECK(bad_post == 0, "list %d: %ld post fields (n_garments, occasion, clean, season, "
              "country, post_id) differ", l, bad_post);
    FKE_CHECK(bad_label == 0, "list %d: %ld labels differ from what was written", l, bad_label);
    FKE_CHECK(bad_person == 0, "list %d: %ld person fields differ", l, bad_person);
    FKE_CHECK(bad_box == 0, "list %d: %ld boxes differ", l, bad_box);
    FKE_CHECK(bad_tok == 0, "list %d: %ld tokens differ", l, bad_tok);
    FKE_CHECK(bad_exact == 0, "list %d: %ld pictures or crops differ from the decoded JPEG "
              "resized by image.h's rule", l, bad_exact);
    FKE_CHECK(worst < 3.0, "list %d: a picture or crop is %.2f levels (mean abs) from the "
              "pixels before JPEG (bar 3)", l, worst);
    printf("  list %d: %d posts; worst mean abs error against the pixels before JPEG %.2f\n", l, n,
           worst);
    free(want);
    free(kp);
}

/* The report's counters against the fixture's planted numbers (list l). */
static void check_report(const fixture *fx, int l, const fke_fashionke_report *r)
{
    const fx_post **kp = malloc((size_t)fx->np * sizeof *kp);
    int n = kept_posts(fx, l, kp);
    long listed = 0, clean = 0, garments = 0, kept_g = 0, keys = 0, unknown = 0, one = 0,
         frac = 0, repeated = 0, gender_u = 0, age_u = 0, c_empty = 0, c_unknown = 0, cap_e = 0,
         cap_m = 0, cap_cut = 0, cap_pad = 0;
    for (int i = 0; i < fx->np; i++) listed += fx->p[i].list == l;
    if (l == 0) listed += 2;
    for (int i = 0; i < n; i++) {
        const fx_post *p = kp[i];
        int slot[MAXG];
        clean += p->clean;
        garments += p->n;
        kept_g += expected_order(p, slot);
        c_empty += p->ctry_kind == CTRY_EMPTY || p->ctry_kind == CTRY_NULL || p->ctry_kind == CTRY_ABSENT;
        c_unknown += p->ctry_kind == CTRY_UNKNOWN;
        cap_m += !p->has_text;
        cap_e += p->has_text && p->n_ids == 0;
        cap_cut += p->has_text && p->n_ids > 16;
        cap_pad += p->has_text && p->n_ids > 0 && p->n_ids < 16;
        for (int j = 0; j < p->n; j++) {
            const fx_gar *g = &p->g[j];
            gender_u += g->gender < 0;
            age_u += g->age < 0;
            int seen[NATTR] = {0};
            for (int k = 0; k < g->nk; k++) {
                int known = -1;
                for (int a = 0; a < NATTR; a++)
                    if (!strncmp(g->keys[k].key, attr_names[a], strlen(attr_names[a])) &&
                        g->keys[k].key[strlen(attr_names[a])] == ':')
                        known = a;
                if (known < 0) {
                    unknown++;
                    continue;
                }
                keys++;
                repeated += seen[known]++ > 0;
                one += g->keys[k].one;
                frac += !g->keys[k].one;
            }
        }
    }
    int with_empty = l == 0;   /* the specials are all in the train list */
    FKE_CHECK(r->listed == listed, "listed %ld, expected %ld", r->listed, listed);
    FKE_CHECK(r->kept == n, "kept %ld, expected %d", r->kept, n);
    FKE_CHECK(r->clean == clean && r->machine == n - clean, "clean %ld machine %ld, expected %ld %ld",
              r->clean, r->machine, clean, n - clean);
    FKE_CHECK(r->duplicates == with_empty && r->not_in_meta == with_empty &&
              r->no_image == with_empty, "duplicates %ld, not in meta %ld, no image %ld",
              r->duplicates, r->not_in_meta, r->no_image);
    if (l == 0)
        FKE_CHECK(!strcmp(r->first_missing_image, fx->p[S_NOIMG].id), "first missing image %s",
                  r->first_missing_image);
    FKE_CHECK(r->garments == garments && r->kept_garments == kept_g,
              "garments %ld kept %ld, expected %ld %ld", r->garments, r->kept_garments, garments,
              kept_g);
    FKE_CHECK(r->clipped == 2 * with_empty, "clipped %ld", r->clipped);
    FKE_CHECK(r->empty == 2 * with_empty, "empty %ld", r->empty);
    FKE_CHECK(r->over_G == with_empty && r->posts_over_G == with_empty, "over G %ld in %ld posts",
              r->over_G, r->posts_over_G);
    FKE_CHECK(r->no_garment == 0, "no garment %ld", r->no_garment);
    FKE_CHECK(r->attr_keys == keys && r->attr_unknown == unknown && r->attr_repeated == repeated,
              "attribute keys %ld unknown %ld repeated %ld, expected %ld %ld %ld", r->attr_keys,
              r->attr_unknown, r->attr_repeated, keys, unknown, repeated);
    FKE_CHECK(r->values_one == one && r->values_fraction == frac, "values 1: %ld, fractions %ld, "
              "expected %ld %ld", r->values_one, r->values_fraction, one, frac);
    if (l == 0)
        FKE_CHECK(r->attr_unknown == 2 && r->n_attr_unknown_names == 2 &&
                  !strcmp(r->attr_unknown_names[0], "pants_fit_type") &&
                  !strcmp(r->attr_unknown_names[1], "denim_wash_color"),
                  "unknown attributes %ld (%d names)", r->attr_unknown, r->n_attr_unknown_names);
    FKE_CHECK(r->gender_unknown == gender_u && r->age_unknown == age_u,
              "gender unknown %ld age unknown %ld, expected %ld %ld", r->gender_unknown,
              r->age_unknown, gender_u, age_u);
    FKE_CHECK(r->country_empty == c_empty && r->country_unknown == c_unknown,
              "country empty %ld unknown %ld, expected %ld %ld", r->country_empty,
              r->country_unknown, c_empty, c_unknown);
    if (l == 0) FKE_CHECK(c_empty == 3 && c_unknown == 1, "fixture: countries planted");
    FKE_CHECK(r->caption_empty == cap_e && r->caption_missing == cap_m && r->caption_cut == cap_cut &&
              r->caption_padded == cap_pad, "captions empty %ld missing %ld cut %ld padded %ld",
              r->caption_empty, r->caption_missing, r->caption_cut, r->caption_padded);
    if (l == 0) FKE_CHECK(cap_e == 1 && cap_m == 1 && cap_cut == 1 && cap_pad == 1, "fixture: captions");
    FKE_CHECK(r->V == 300 && !r->V_from_npy, "V %d (from npy %d), expected 300 from the largest id",
              r->V, r->V_from_npy);
    FKE_CHECK(r->crlf_files == 2, "%d CRLF files, expected 2 (pool, code_attr_val)", r->crlf_files);
    const char *read[] = {"code_occasion.json", "code_cat.json", "code_attr.json",
                          "code_attr_val.json", "code_country.json", "id_text_preprocessed.json",
                          l ? "test_ids.json" : "train_ids_0.7.json", "labelled_pool.json",
                          "cloth_body_face_meta.json", "clothes_category_attribute_value.json"};
    long u = 0;
    for (size_t k = 0; k < sizeof read / sizeof read[0]; k++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", fx->dir, read[k]);
        u += count_u(path);
    }
    FKE_CHECK(r->u_escapes == u && u > 3, "%ld \\u escapes counted, %ld written", r->u_escapes, u);
    FKE_CHECK(r->appl_cat_skipped == 1 && r->appl_attr_skipped == 1,
              "applicability skipped %ld categories %ld attributes", r->appl_cat_skipped,
              r->appl_attr_skipped);
    free(kp);
}

static void check_names(const fke_dataset *d)
{
    int ok = d->n_occ == NOCC && d->n_cat == NCAT && d->A == NATTR && d->V == 300 && d->L == 16 &&
             d->G == G_SLOTS && d->img == 64 && d->crop == 32;
    FKE_CHECK(ok, "sizes: n_occ %d n_cat %d A %d V %d L %d G %d img %d crop %d", d->n_occ, d->n_cat,
              d->A, d->V, d->L, d->G, d->img, d->crop);
    if (!ok) return;
    int bad = 0;
    for (int c = 0; c < NOCC; c++) bad += strcmp(d->occ_names[c], occ_names[c]) != 0;
    for (int c = 0; c < NCAT; c++) bad += strcmp(d->cat_names[c], cat_names[c]) != 0;
    for (int k = 0; k < NATTR; k++) {
        bad += strcmp(d->attr_names[k], attr_names[k]) != 0 || d->n_val[k] != n_val[k];
        for (int v = 0; v < n_val[k] && d->n_val[k] == n_val[k]; v++)
            bad += strcmp(d->val_names[k][v], val_names[k][v]) != 0;
    }
    FKE_CHECK(bad == 0, "%d names differ from the code files (in code order, \\u decoded)", bad);
    FKE_CHECK(!strcmp(d->vocab[0], "<0>") && !strcmp(d->vocab[299], "<299>"), "vocabulary names %s %s",
              d->vocab[0], d->vocab[299]);
    const fke_extra *a = fke_dataset_extra(d, "applicable");
    static const int32_t want[NCAT][NATTR] = {{1, 1, 1}, {1, 0, 0}, {0, 0, 0},
                                             {1, 1, 0}, {1, 1, 1}, {0, 0, 0}};
    FKE_CHECK(a && a->ndim == 2 && a->dims[0] == NCAT && a->dims[1] == NATTR &&
              FKE_SAME(a->v, &want[0][0], NCAT * NATTR), "extra applicable differs");
}

/* The JPEG store (the default, quality 92) against the raw import of the
 * same list: the same fields, and each picture and crop within JPEG's error
 * of the raw bytes; its file against the source JPEGs, at img/crop sizes. */
static long dir_jpeg_bytes(const fixture *fx, const fke_dataset *d)
{
    const fke_extra *pid = fke_dataset_extra(d, "post_id");
    long total = 0;
    for (int i = 0; pid && i < d->N; i++) {
        char path[700];
        struct stat sb;
        snprintf(path, sizeof path, "%s/images/%08x%08x%08x%08x.jpg", fx->dir,
                 (uint32_t)pid->v[4 * i], (uint32_t)pid->v[4 * i + 1], (uint32_t)pid->v[4 * i + 2],
                 (uint32_t)pid->v[4 * i + 3]);
        total += stat(path, &sb) == 0 ? (long)sb.st_size : 0;
    }
    return total;
}

static void check_jpeg_store(const fixture *fx, const fke_dataset *raw)
{
    for (int big = 0; big < 2; big++) {
        fke_fashionke_opts o;
        fke_fashionke_defaults(&o);
        o.dir = fx->dir;
        if (big) o.img = 224, o.crop = 224;
        fke_dataset d;
        fke_err e = {{0}};
        fke_status st = fke_import_fashionke(&o, &d, NULL, &e);
        FKE_CHECK(st == FKE_OK && d.jpeg_quality == 92 && !d.images && d.jpeg, "jpeg store: %s",
                  e.msg);
        if (st != FKE_OK) continue;
        const char *path = fke_test_path("jpeg%d.h5", big);
        st = fke_dataset_save(&d, path, &e);
        FKE_CHECK(st == FKE_OK, "save: %s", e.msg);
        struct stat sb;
        long fsz = stat(path, &sb) == 0 ? (long)sb.st_size : -1, src = dir_jpeg_bytes(fx, &d);
        printf("  JPEG store at img %d crop %d: file %ld bytes (pixels %lld), source JPEGs %ld "
               "bytes: %.2fx\n", d.img, d.crop, fsz, (long long)fke_dataset_pixel_bytes(&d), src,
               src > 0 ? (double)fsz / src : 0.0);
        if (big) {
            fke_dataset_free(&d);
            continue;
        }
        size_t N = (size_t)d.N, G = (size_t)d.G;
        FKE_CHECK(d.N == raw->N && FKE_SAME(d.n_garments, raw->n_garments, N) &&
                      FKE_SAME(d.boxes, raw->boxes, N * G * 4) && FKE_SAME(d.cat, raw->cat, N * G) &&
                      FKE_SAME(d.attr, raw->attr, N * G * d.A) &&
                      FKE_SAME(d.tokens, raw->tokens, N * d.L),
                  "the JPEG store's posts differ from the raw store's");
        uint8_t *px = malloc((size_t)3 * d.img * d.img);
        double worst = 0, all = 0;
        long bad = 0, streams = 0;
        for (int i = 0; px && i < d.N; i++)
            for (int s = 0; s <= d.n_garments[i]; s++) {
                size_t n = (size_t)3 * fke_dataset_side(&d, s) * fke_dataset_side(&d, s);
                if (fke_dataset_pixels(&d, i, s, px, &e) != FKE_OK) {
                    bad++;
                    continue;
                }
                const uint8_t *want = s ? raw->crops + ((size_t)i * G + s - 1) * n
                                        : raw->images + (size_t)i * n;
                double m = mean_abs(want, px, n);
                if (m > worst) worst = m;
                all += m, streams++;
            }
        free(px);
        all /= streams ? streams : 1;
        printf("  JPEG store vs raw store: mean abs error %.2f levels, worst picture or crop "
               "%.2f\n", all, worst);
        FKE_CHECK(bad == 0, "%ld JPEG streams do not decode: %s", bad, e.msg);
        /* the JPEG tolerance: q92 4:4:4 on these sharp-edged fixture garments */
        FKE_CHECK(all < 3.5 && worst < 6.0, "decoded pictures and crops are %.2f levels (mean "
                  "abs; worst %.2f) from the raw store's (bars 3.5 and 6)", all, worst);
        fke_dataset_free(&d);
    }
}

/* ---- the import itself ------------------------------------------------------------ */
static void test_import(const fixture *fx)
{
    for (int l = 0; l < 2; l++) {
        fke_fashionke_opts o;
        fke_fashionke_defaults(&o);
        o.dir = fx->dir;
        o.quality = 0; /* raw: the pixels are compared byte for byte */
        o.split = l ? FKE_FASHIONKE_TEST : FKE_FASHIONKE_TRAIN;
        fke_dataset d;
        fke_fashionke_report r;
        fke_err e = {{0}};
        fke_status st = fke_import_fashionke(&o, &d, &r, &e);
        FKE_CHECK(st == FKE_OK, "import list %d: %s", l, e.msg);
        if (st != FKE_OK) continue;
        check_names(&d);
        check_report(fx, l, &r);
        check_posts(fx, l, &d);
        if (l == 0) check_jpeg_store(fx, &d);
        /* the file round trip keeps the extras */
        const char *path = fke_test_path("lib%d.h5", l);
        st = fke_dataset_save(&d, path, &e);
        FKE_CHECK(st == FKE_OK, "save: %s", e.msg);
        fke_dataset back;
        st = fke_dataset_load(&back, path, &e);
        FKE_CHECK(st == FKE_OK, "load: %s", e.msg);
        if (st == FKE_OK) {
            const fke_extra *x = fke_dataset_extra(&back, "country"), *y = fke_dataset_extra(&d, "country");
            FKE_CHECK(back.n_extra == 4 && x && y && FKE_SAME(x->v, y->v, d.N),
                      "extras after the round trip: %d", back.n_extra);
            fke_dataset_free(&back);
        }
        /* the T matrices from the confusion counts */
        if (l == 0) {
            fke_tmatrices tm;
            st = fke_fashionke_tmatrix(fx->dir, &d, &tm, &r, &e);
            FKE_CHECK(st == FKE_OK, "tmatrix: %s", e.msg);
            if (st == FKE_OK) {
                FKE_CHECK(r.T_zero_rows == 2 && r.T_names_skipped == 3,
                          "zero rows %ld (expected 2), names skipped %ld (expected 3)", r.T_zero_rows,
                          r.T_names_skipped);
                const float *T = tm.T[0];
                int ok = tm.ntask == 4 && fabsf(T[0 * 6 + 0] - 0.8f) < 1e-6 &&
                         fabsf(T[0 * 6 + 5] - 0.2f) < 1e-6 && fabsf(T[1 * 6 + 1] - 90.f / 95) < 1e-6 &&
                         fabsf(T[1 * 6 + 3] - 5.f / 95) < 1e-6 && T[5 * 6 + 5] == 1.f &&
                         T[5 * 6 + 0] == 0.f && fabsf(T[4 * 6 + 2] - 0.3f) < 1e-6;
                ok &= fabsf(tm.T[1][3 * 4 + 3] - 0.75f) < 1e-6 && fabsf(tm.T[1][3 * 4 + 1] - 0.25f) < 1e-6;
                ok &= tm.T[2][2 * 3 + 2] == 1.f && fabsf(tm.T[2][0 * 3 + 1] - 0.5f) < 1e-6;
                FKE_CHECK(ok, "T entries differ from the normalised counts");
                fke_tmatrix_free(&tm);
            }
        }
        fke_dataset_free(&d);
    }
}

/* ---- variants: a copy of the release with one file replaced ------------------------ */
/* DIR/NAME: every entry of the fixture linked in, but `skip`. */
static const char *variant(const fixture *fx, const char *name, const char *skip)
{
    const char *dir = fke_test_path("%s", name);
    mkdir(dir, 0777);
    static const char *const files[] = {
        "images", "cloth_body_face_meta.json", "train_ids_0.7.json", "test_ids.json",
        "labelled_pool.json", "code_occasion.json", "code_cat.json", "code_attr.json",
        "code_attr_val.json", "code_country.json", "clothes_category_attribute_value.json",
        "category_confuse_mat.json", "attribute_confuse_mat.json", "id_text_preprocessed.json"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        if (skip && !strcmp(files[k], skip)) continue;
        char src[700], dst[700];
        snprintf(src, sizeof src, "%s/%s", fx->dir, files[k]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[k]);
        if (symlink(src, dst) != 0 && !exists(dst)) printf("  cannot link %s\n", dst);
    }
    return dir;
}

/* The meta with `from` replaced by `to` at its first place in the line of a
 * post that the train import reads (listed, with a picture) and whose keys
 * come in the usual order (so the place is in cloth_body_face, not in the
 * unread body_face_cloth); that post's id goes to id (one post a line). */
static int meta_variant(const fixture *fx, const char *dir, const char *from, const char *to,
                        char *id)
{
    char src[700], dst[700];
    snprintf(src, sizeof src, "%s/cloth_body_face_meta.json", fx->dir);
    snprintf(dst, sizeof dst, "%s/cloth_body_face_meta.json", dir);
    char *s = slurp(src);
    char *at = s;
    while (at && (at = strstr(at, from))) {
        char *line = at;
        while (line > s && line[-1] != '\n') line--;
        snprintf(id, 33, "%s", line + 1);
        const fx_post *p = NULL;
        for (int i = 0; i < fx->np; i++)
            if (!strcmp(fx->p[i].id, id)) p = &fx->p[i];
        if (strstr(line, from) == at && p && p->list == 0 && p->has_image && !p->reorder) break;
        at += strlen(from);
    }
    if (!at) {
        free(s);
        return 0;
    }
    sb b = {0};
    sb_add(&b, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    int ok = write_sb(dst, &b, 0);
    free(b.s);
    free(s);
    return ok;
}

static fke_status import_dir(const char *dir, fke_err *e)
{
    fke_fashionke_opts o;
    fke_fashionke_defaults(&o);
    o.dir = dir;
    fke_dataset d;
    fke_status st = fke_import_fashionke(&o, &d, NULL, e);
    if (st == FKE_OK) fke_dataset_free(&d);
    return st;
}

static void expect_error(const char *what, const char *dir, fke_status want, const char *a,
                         const char *b, const char *c)
{
    fke_err e = {{0}};
    fke_status st = import_dir(dir, &e);
    FKE_CHECK(st == want && strstr(e.msg, a) && (!b || strstr(e.msg, b)) && (!c || strstr(e.msg, c)),
              "%s: status %s, message '%s' (wanted %s naming %s %s %s)", what, fke_status_name(st),
              e.msg, fke_status_name(want), a, b ? b : "", c ? c : "");
}

/* word_embeds.npy as numpy writes it: (rows, 4) little-endian float32
 * (esz 4) or float64 (esz 8), value npy_value(k) at flat index k; cut drops
 * that many bytes off the end, nan puts a NaN at row 7, column 2. */
static float npy_value(int k)
{
    return (float)(k % 97) / 64.f - 0.75f;
}

static void write_npy(const char *path, int rows, int esz, int cut, int nan)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f%d', 'fortran_order': False, 'shape': (%d, 4), }",
                     esz, rows);
    int pad = 64 - (10 + n + 1) % 64;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    uint16_t hl = (uint16_t)(n + pad + 1);
    fputc(hl & 255, f), fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int k = 0; k < pad; k++) fputc(' ', f);
    fputc('\n', f);
    long bytes = (long)rows * 4 * esz - cut;
    for (int k = 0; k < rows * 4; k++) {
        unsigned char b[8];
        if (esz == 4) {
            float v = npy_value(k);
            memcpy(b, &v, 4);
        } else {
            double v = k == 7 * 4 + 2 && nan ? NAN : (double)npy_value(k);
            memcpy(b, &v, 8);
        }
        long room = bytes - (long)k * esz;
        if (room > 0) fwrite(b, 1, (size_t)(room < esz ? room : esz), f);
    }
    fclose(f);
}

static void test_errors(const fixture *fx)
{
    char path[700], id[40];
    /* a truncated meta */
    const char *tr = variant(fx, "truncated", "cloth_body_face_meta.json");
    char src[700];
    snprintf(src, sizeof src, "%s/cloth_body_face_meta.json", fx->dir);
    snprintf(path, sizeof path, "%s/cloth_body_face_meta.json", tr);
    struct stat st;
    stat(src, &st);
    fke_test_copy_prefix(src, path, (long)st.st_size / 2);
    expect_error("truncated meta", tr, FKE_ERR_FORMAT, path, "not valid JSON", NULL);
    /* a corrupt picture: images/ of links but one file cut short */
    const char *cj = variant(fx, "corrupt", "images");
    snprintf(path, sizeof path, "%s/images", cj);
    mkdir(path, 0777);
    for (int i = 0; i < fx->np; i++) {
        const fx_post *p = &fx->p[i];
        if (!p->has_image) continue;
        char s2[700], d2[700];
        snprintf(s2, sizeof s2, "%s/images/%s.jpg", fx->dir, p->id);
        snprintf(d2, sizeof d2, "%s/images/%s.jpg", cj, p->id);
        if (i == 40) fke_test_copy_prefix(s2, d2, 600);
        else if (symlink(s2, d2) != 0) printf("  cannot link %s\n", d2);
    }
    char bad_jpg[700];
    snprintf(bad_jpg, sizeof bad_jpg, "%s/images/%s.jpg", cj, fx->p[40].id);
    fke_err e = {{0}};
    fke_status s = import_dir(cj, &e);
    FKE_CHECK(s != FKE_OK && strstr(e.msg, bad_jpg), "corrupt JPEG: %s '%s'", fke_status_name(s), e.msg);
    /* wrong types and values in the meta, each naming the post and the key */
    struct {
        const char *name, *from, *to, *key;
    } m[] = {
        {"month_string", "\"month\": 12,", "\"month\": \"12\",", "month"},
        {"month_13", "\"month\": 12,", "\"month\": 13,", "month"},
        {"category", "\"category\": \"upper_body_garment__coat\"", "\"category\": \"upper_body_garment__cape\"",
         "upper_body_garment__cape"},
        {"box", "\"box\": [", "\"box\": [\"6\", ", ".cloth.box"},
        {"value", "\"sleeve_length:short\"", "\"sleeve_length:medium\"", "sleeve_length:medium"},
        {"attr_value_type", "\"sleeve_length:long\": 1", "\"sleeve_length:long\": \"1\"", "sleeve_length:long"},
        {"age", "\"age\": 24", "\"age\": \"24\"", "age"},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        const char *dir = variant(fx, m[k].name, "cloth_body_face_meta.json");
        int ok = meta_variant(fx, dir, m[k].from, m[k].to, id);
        FKE_CHECK(ok, "%s: no imported post has %s", m[k].name, m[k].from);
        if (!ok) continue;
        snprintf(path, sizeof path, "%s/cloth_body_face_meta.json", dir);
        char post[64];
        snprintf(post, sizeof post, "post %s", id);
        expect_error(m[k].name, dir, FKE_ERR_FORMAT, path, post, m[k].key);
    }
    /* a repeated code */
    const char *rc = variant(fx, "repeated_code", "code_cat.json");
    snprintf(path, sizeof path, "%s/code_cat.json", rc);
    fke_test_write_text(path, "{\"a\": 0, \"b\": 1, \"c\": 1}");
    expect_error("repeated code", rc, FKE_ERR_FORMAT, path, "\"c\"", NULL);
    /* a split list that is not a list of strings */
    const char *bl = variant(fx, "bad_list", "train_ids_0.7.json");
    snprintf(path, sizeof path, "%s/train_ids_0.7.json", bl);
    fke_test_write_text(path, "[\"abc\", 17]");
    expect_error("bad list", bl, FKE_ERR_FORMAT, path, "entry 1", NULL);
    /* a missing file */
    const char *mf = variant(fx, "no_pool", "labelled_pool.json");
    snprintf(path, sizeof path, "%s/labelled_pool.json", mf);
    expect_error("missing pool", mf, FKE_ERR_IO, path, NULL, NULL);
    /* a split file of another noise ratio */
    fke_fashionke_opts o;
    fke_fashionke_defaults(&o);
    o.dir = fx->dir;
    o.noise_ratio = 0.3;
    fke_dataset d;
    s = fke_import_fashionke(&o, &d, NULL, &e);
    FKE_CHECK(s == FKE_ERR_IO && strstr(e.msg, "train_ids_0.3.json"), "ratio 0.3: %s", e.msg);
    /* word_embeds.npy: its rows are V and its values the word vectors; too
     * few rows for the ids, a size that is not the header's, a NaN: refused */
    const char *np = variant(fx, "npy", NULL);
    snprintf(path, sizeof path, "%s/word_embeds.npy", np);
    struct {
        int rows, esz, cut, nan;
        fke_status want;
        const char *msg;
    } npys[] = {{200, 4, 0, 0, FKE_ERR_FORMAT, "299"},
                {512, 4, 3, 0, FKE_ERR_FORMAT, "promises 512 x 4"},
                {512, 8, 0, 1, FKE_ERR_FORMAT, "row 7, column 2"},
                {512, 8, 0, 0, FKE_OK, NULL},
                {512, 4, 0, 0, FKE_OK, NULL}}; /* the last one stays for test_word_vectors */
    for (size_t t = 0; t < sizeof npys / sizeof npys[0]; t++) {
        write_npy(path, npys[t].rows, npys[t].esz, npys[t].cut, npys[t].nan);
        o.dir = np;
        o.noise_ratio = 0.7;
        fke_fashionke_report r;
        s = fke_import_fashionke(&o, &d, &r, &e);
        if (npys[t].want == FKE_OK) {
            int same = s == FKE_OK && d.word_vectors && d.wv_dim == 4;
            for (int v = 0; same && v < 512 * 4; v++) same = d.word_vectors[v] == npy_value(v);
            FKE_CHECK(s == FKE_OK && r.V == 512 && r.V_from_npy && d.V == 512 && same,
                      "npy float%d: %s V %d, the vectors %s", 8 * npys[t].esz, e.msg, r.V,
                      same ? "as written" : "differ");
            if (s == FKE_OK) fke_dataset_free(&d);
        } else {
            FKE_CHECK(s == npys[t].want && strstr(e.msg, npys[t].msg) && strstr(e.msg, "word_embeds.npy"),
                      "npy case %zu: %s (want '%s')", t, e.msg, npys[t].msg);
        }
    }

    /* the CLI: exit 1, the file named, nothing written */
    const char *out = fke_test_path("never.h5"), *tout = fke_test_path("never.json");
    const char *err = fke_test_path("cli.err");
    const char *dirs[2] = {tr, cj};
    const char *named[2];
    char meta_path[700];
    snprintf(meta_path, sizeof meta_path, "%s/cloth_body_face_meta.json", tr);
    named[0] = meta_path, named[1] = bad_jpg;
    for (int k = 0; k < 2; k++) {
        int code = run_cmd("%s data import fashionke %s --out %s --t-out %s > /dev/null 2> %s", fke_bin(),
                           dirs[k], out, tout, err);
        char *msg = slurp(err);
        FKE_CHECK(code == 1 && msg && strstr(msg, named[k]) && !exists(out) && !exists(tout),
                  "CLI on %s: exit %d, '%s', output %s", dirs[k], code, msg ? msg : "",
                  exists(out) || exists(tout) ? "written" : "not written");
        free(msg);
    }
    int code = run_cmd("%s data import fashionke %s --split dev --out %s > /dev/null 2> %s", fke_bin(),
                       fx->dir, out, err);
    FKE_CHECK(code == 2, "CLI --split dev: exit %d, not 2", code);
    code = run_cmd("%s data import fashionke %s > /dev/null 2> %s", fke_bin(), fx->dir, err);
    FKE_CHECK(code == 2, "CLI without --out: exit %d, not 2", code);
}

/* ---- end to end ------------------------------------------------------------------ */
/* Training on a set with word vectors: D is taken from them (the config
 * gives neither D nor V) and the embedding starts from them: after one step
 * at a vanishing learning rate, last.h5's text.emb.weight equals the
 * vectors of word_embeds.npy (test_errors left a 512 x 4 one in "npy"). */
static void test_word_vectors(void)
{
    const char *dir = fke_test_path("npy"), *h5 = fke_test_path("wv.h5");
    const char *log = fke_test_path("wv.out"), *cfg = fke_test_path("wv.json");
    const char *run = fke_test_path("wv-run");
    int code = run_cmd("%s data import fashionke %s --out %s > %s 2>&1", fke_bin(), dir, h5, log);
    FKE_CHECK(code == 0, "import with word_embeds.npy: exit %d", code);
    if (code) return;
    char text[1024];
    snprintf(text, sizeof text,
             "{\"preset\": \"fke-small\", \"chans\": [4, 4, 8], \"F\": 8, \"H\": 4, \"H2\": 4, "
             "\"M\": 4, \"Co\": 2, \"T\": 4, \"train_data\": \"%s\", \"out_dir\": \"%s\", "
             "\"steps\": 1, \"lr\": 1e-9, \"threads\": 1, \"eval_every\": 100000}\n", h5, run);
    fke_test_write_text(cfg, text);
    code = run_cmd("%s train %s > %s 2>&1", fke_bin(), cfg, log);
    char *out = slurp(log);
    FKE_CHECK(code == 0 && out && strstr(out, "D 4") &&
                  strstr(out, "word embedding: starts from the 512 x 4 word vectors"),
              "fke train: exit %d, the log says where D and the embedding came from: %s", code,
              out ? out : "");
    free(out);
    char ck[700];
    snprintf(ck, sizeof ck, "%s/last.h5", run);
    float *w = calloc(512 * 4, sizeof *w);
    hid_t f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = f >= 0 ? H5Dopen2(f, "params/text.emb.weight", H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t dims[2] = {0, 0};
    int ok = w && sp >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) == 2 && dims[0] == 512 &&
             dims[1] == 4 && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0;
    double worst = 0;
    for (int k = 0; ok && k < 512 * 4; k++)
        worst = fmax(worst, fabs((double)w[k] - npy_value(k)));
    FKE_CHECK(ok && worst < 1e-5, "%s: text.emb.weight (%llu x %llu) against word_embeds.npy: "
              "largest difference %g", ck, (unsigned long long)dims[0], (unsigned long long)dims[1],
              worst);
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    if (f >= 0) H5Fclose(f);
    free(w);
    /* word_vectors off: the preset's D, a random start */
    code = run_cmd("%s train %s --set word_vectors=off --set out_dir=%s-off > %s 2>&1",
                   fke_bin(), cfg, run, log);
    out = slurp(log);
    FKE_CHECK(code == 0 && out && !strstr(out, "word embedding: starts") && !strstr(out, "D 4"),
              "word_vectors off: exit %d: %s", code, out ? out : "");
    free(out);
}

static void test_same_crops(const fixture *fx, const char *ck, const char *vocab);

/* id of word w in vocab (linear, as a check of the tokenizer's index), or -1 */
static int vocab_id(char *const *vocab, int V, const char *w)
{
    for (int i = 1; i < V; i++)
        if (!strcmp(vocab[i], w)) return i;
    return -1;
}

/* `fke data vocab` (release folder and text file), a bad vocabulary file,
 * the import with --vocab (each post's "text" tokenized: tokens checked
 * against the words of the text the fixture wrote), training on it, and
 * `fke extract` on the imported posts (season and country given) and on a
 * JPEG of the release with a text caption (names from the checkpoint). */
static void test_vocab_extract(const fixture *fx)
{
    const char *vf = fke_test_path("vocab.txt"), *log = fke_test_path("vocab.out");
    fke_err e = {{0}};
    int code = run_cmd("%s data vocab %s --out %s --min-count 1 > %s 2>&1", fke_bin(), fx->dir, vf, log);
    char *out = slurp(log);
    FKE_CHECK(code == 0 && out && strstr(out, "words"), "fke data vocab DIR: exit %d: %s", code,
              out ? out : "");
    free(out);
    char **v = NULL;
    int V = 0;
    fke_status st = fke_vocab_load(vf, &v, &V, &e);
    static const char *const words[] = {"#ootd", "out", "today", "new", "dress", "\xf0\x9f\x91\x97"};
    int have = st == FKE_OK && V == 8 && !strcmp(v[0], "<pad>") && !strcmp(v[1], "<unk>") &&
               !strcmp(v[2], "#ootd"); /* in every caption but the empty ones: the commonest */
    for (size_t k = 0; have && k < sizeof words / sizeof words[0]; k++)
        have = vocab_id(v, V, words[k]) > 1;
    FKE_CHECK(have, "%s: %s, %d entries: <pad>, <unk>, #ootd first, then the fixture's words", vf,
              st == FKE_OK ? "read" : e.msg, V);
    /* a text file, min count 2: ties in byte order, rare words left out */
    const char *lines = fke_test_path("captions.txt"), *vf2 = fke_test_path("vocab2.txt");
    fke_test_write_text(lines, "Red dress\r\nred DRESS!\nblue #Beach\n\n");
    code = run_cmd("%s data vocab %s --out %s > %s 2>&1", fke_bin(), lines, vf2, log);
    out = slurp(vf2);
    FKE_CHECK(code == 0 && out && !strcmp(out, "<pad>\n<unk>\ndress\nred\n"),
              "fke data vocab FILE: exit %d, wrote '%s'", code, out ? out : "");
    free(out);
    /* a vocabulary whose line is not one word: refused, the line named */
    const char *bad = fke_test_path("bad-vocab.txt");
    fke_test_write_text(bad, "<pad>\n<unk>\nRed Dress\n");
    char **bv = NULL;
    int bV = 0;
    st = fke_vocab_load(bad, &bv, &bV, &e);
    FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, "line 3") && strstr(e.msg, "bad-vocab.txt"),
              "bad vocabulary: %s", e.msg);
    code = run_cmd("%s data import fashionke %s --vocab %s --out %s > %s 2>&1", fke_bin(), fx->dir,
                   bad, fke_test_path("never-v.h5"), log);
    FKE_CHECK(code == 1 && !exists(fke_test_path("never-v.h5")), "import with a bad vocabulary: exit %d", code);
    /* the import with the vocabulary */
    const char *h5 = fke_test_path("vocab.h5");
    code = run_cmd("%s data import fashionke %s --vocab %s --out %s > %s 2>&1", fke_bin(), fx->dir,
                   vf, h5, log);
    out = slurp(log);
    FKE_CHECK(code == 0 && out && strstr(out, "0 of them not in the vocabulary"),
              "import --vocab: exit %d: %s", code, out ? out : "");
    free(out);
    fke_dataset d;
    st = code == 0 && have ? fke_dataset_load(&d, h5, &e) : FKE_ERR_ARG;
    if (st == FKE_OK) {
        const fx_post **kp = malloc((size_t)fx->np * sizeof *kp);
        int n = kept_posts(fx, 0, kp);
        long bad_tok = 0, same_vocab = d.V == V;
        for (int i = 0; same_vocab && i < V; i++) same_vocab = !strcmp(d.vocab[i], v[i]);
        for (int i = 0; n == d.N && i < n; i++) {
            static const char *const a[] = {"out", "today", "#ootd"};
            static const char *const b[] = {"new", "dress", "\xf0\x9f\x91\x97", "#ootd"};
            const char *const *w = kp[i]->n_ids == 0 ? NULL : kp[i]->surrogate ? b : a;
            int nw = !w ? 0 : w == b ? 4 : 3;
            for (int k = 0; k < d.L; k++)
                bad_tok += d.tokens[(size_t)i * d.L + k] != (k < nw ? vocab_id(v, V, w[k]) : 0);
        }
        FKE_CHECK(n == d.N && bad_tok == 0 && same_vocab, "import --vocab: %d posts (want %d), %ld "
                  "tokens differ from the fixture's text, vocabulary %s", d.N, n, bad_tok,
                  same_vocab ? "the file's" : "differs");
        free(kp);
        fke_dataset_free(&d);
    }
    fke_strings_free(v, -1);
    /* a few steps of training, then extract on the posts and on a JPEG */
    const char *cfg = fke_test_path("vocab.json"), *run = fke_test_path("vocab-run");
    char text[1024];
    snprintf(text, sizeof text,
             "{\"preset\": \"fke-small\", \"chans\": [4, 4, 8], \"F\": 8, \"H\": 4, \"H2\": 4, "
             "\"M\": 4, \"D\": 4, \"Co\": 2, \"T\": 4, \"train_data\": \"%s\", \"out_dir\": "
             "\"%s\", \"steps\": 20, \"threads\": 1, \"eval_every\": 100000}\n", h5, run);
    fke_test_write_text(cfg, text);
    code = run_cmd("%s train %s --quiet > %s 2>&1", fke_bin(), cfg, log);
    FKE_CHECK(code == 0, "train on the import with a vocabulary: exit %d", code);
    if (code) return;
    char ck[700];
    snprintf(ck, sizeof ck, "%s/last.h5", run);
    const char *lj = fke_test_path("extract.jsonl");
    code = run_cmd("%s extract %s %s --out %s > %s 2>&1", fke_bin(), ck, h5, lj, log);
    out = slurp(lj);
    int given = 0, lines_n = 0;
    for (const char *q = out; q && (q = strstr(q, "\"season\":")); q++) given++;
    for (const char *q = out; q && (q = strchr(q, '\n')); q++) lines_n++;
    FKE_CHECK(code == 0 && out && lines_n > 200 && given == lines_n && strstr(out, "\"country\":\"TR\"") &&
                  strstr(out, "\"given\":true") && strstr(out, "\"season\":\"July-September\""),
              "extract on the import: exit %d, %d lines, %d with a season", code, lines_n, given);
    free(out);
    /* the knowledge of those lines: the release's names in the tables */
    const char *kd = fke_test_path("knowledge");
    code = run_cmd("%s knowledge %s --out %s > %s 2>&1", fke_bin(), lj, kd, log);
    char csv[700];
    snprintf(csv, sizeof csv, "%s/occasion_category.csv", kd);
    out = slurp(csv);
    int kn = 0;
    int ko = 0;
    for (int c = 0; out && c < NCAT; c++) kn += strstr(out, cat_names[c]) != NULL;
    for (int c = 0; out && c < NOCC; c++) ko += strstr(out, occ_names[c]) != NULL;
    FKE_CHECK(code == 0 && out && ko > 0 && kn > 0,
              "fke knowledge on the extraction: exit %d, %s: %.200s", code, csv, out ? out : "(none)");
    free(out);
    test_same_crops(fx, ck, vf);
    /* a JPEG of the release with its first garment's box and a text caption */
    const fx_post *p = NULL;
    for (int i = 0; i < fx->np && !p; i++)
        if (fx->p[i].list == 0 && fx->p[i].has_image && fx->p[i].n > 0 && !fx->p[i].g[0].empty)
            p = &fx->p[i];
    if (!p) return;
    const char *bj = fke_test_path("boxes.json");
    snprintf(text, sizeof text, "{\"boxes\": [[%d, %d, %d, %d]], \"caption\": \"Out today #OOTD, "
             "sunny\"}\n", p->g[0].box[0], p->g[0].box[1], p->g[0].box[2], p->g[0].box[3]);
    fke_test_write_text(bj, text);
    const char *err = fke_test_path("extract.err");
    code = run_cmd("%s extract %s %s/images/%s.jpg --boxes %s > %s 2> %s", fke_bin(), ck, fx->dir,
                   p->id, bj, log, err);
    out = slurp(log);
    char *msg = slurp(err);
    int named = 0;
    for (int c = 0; out && c < NCAT; c++) {
        char want[96];
        snprintf(want, sizeof want, "\"category\":{\"label\":\"%s\"", cat_names[c]);
        named |= strstr(out, want) != NULL;
    }
    FKE_CHECK(code == 0 && named && msg && strstr(msg, "caption of 4 words, 1 unknown"),
              "extract on a JPEG with a text caption: exit %d, a category name %s; %s%s", code,
              named ? "printed" : "missing", out ? out : "", msg ? msg : "");
    free(out);
    free(msg);
}

/* The same post through both doors: `fke extract` on a raw-pixel import
 * (--store raw: the pixels exactly as cut) and on the post's JPEG with its
 * boxes as written and its text as the caption must give the same
 * probabilities: one rule cuts the crops (fke_image_resize_chw), one
 * tokenizes the caption. Posts with an empty box or more than G garments
 * are left out (the importer drops those garments; a picture's boxes are
 * taken as given). */
static void test_same_crops(const fixture *fx, const char *ck, const char *vocab)
{
    const char *raw = fke_test_path("vocab-raw.h5"), *log = fke_test_path("same.out");
    const char *lj = fke_test_path("same.jsonl"), *bj = fke_test_path("same-boxes.json");
    int code = run_cmd("%s data import fashionke %s --vocab %s --store raw --out %s > %s 2>&1",
                       fke_bin(), fx->dir, vocab, raw, log);
    code = code ? code : run_cmd("%s extract %s %s --out %s > %s 2>&1", fke_bin(), ck, raw, lj, log);
    char *all = slurp(lj);
    FKE_CHECK(code == 0 && all, "extract on the raw import: exit %d", code);
    if (code || !all) return free(all);
    const fx_post **kp = malloc((size_t)fx->np * sizeof *kp);
    int n = kept_posts(fx, 0, kp), tried = 0, label_diff = 0;
    double worst = 0;
    const char *line = all;
    for (int i = 0; i < n && line && tried < 12; i++, line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const fx_post *p = kp[i];
        int slot[MAXG], ng = expected_order(p, slot), bad = ng != p->n || ng == 0;
        for (int j = 0; j < p->n; j++) bad |= p->g[j].empty;
        if (bad) continue;
        sb b = {0};
        sb_add(&b, "{\"boxes\": [");
        for (int k = 0; k < ng; k++) {
            const int *x = p->g[slot[k]].box;
            sb_add(&b, "%s[%d, %d, %d, %d]", k ? ", " : "", x[0], x[1], x[2], x[3]);
        }
        sb_add(&b, "], \"caption\": \"%s\"}\n",
               p->n_ids == 0 ? "" : p->surrogate ? "new dress \\ud83d\\udc57 #ootd" : "out today #ootd");
        write_sb(bj, &b, 0);
        free(b.s);
        code = run_cmd("%s extract %s %s/images/%s.jpg --boxes %s > %s 2>/dev/null", fke_bin(), ck,
                       fx->dir, p->id, bj, log);
        char *pic = slurp(log);
        const char *nl = strchr(line, '\n');
        char *one = nl ? strndup(line, (size_t)(nl - line)) : NULL;
        cJSON *a = one ? cJSON_Parse(one) : NULL, *c = pic ? cJSON_Parse(pic) : NULL;
        const cJSON *ga = cJSON_GetObjectItemCaseSensitive(a, "garments");
        const cJSON *gc = cJSON_GetObjectItemCaseSensitive(c, "garments");
        int ok = code == 0 && cJSON_GetArraySize(ga) == ng && cJSON_GetArraySize(gc) == ng;
        const char *tasks[2] = {"occasion", "category"};
        for (int t = 0; ok && t < 2; t++)
            for (int k = 0; ok && k < (t ? ng : 1); k++) {
                const cJSON *x = t ? cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ga, k), tasks[t])
                                   : cJSON_GetObjectItemCaseSensitive(a, tasks[t]);
                const cJSON *y = t ? cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gc, k), tasks[t])
                                   : cJSON_GetObjectItemCaseSensitive(c, tasks[t]);
                const cJSON *lx = cJSON_GetObjectItemCaseSensitive(x, "label");
                const cJSON *ly = cJSON_GetObjectItemCaseSensitive(y, "label");
                const cJSON *px = cJSON_GetObjectItemCaseSensitive(x, "prob");
                const cJSON *py = cJSON_GetObjectItemCaseSensitive(y, "prob");
                ok = cJSON_IsString(lx) && cJSON_IsString(ly) && cJSON_IsNumber(px) && cJSON_IsNumber(py);
                if (ok) {
                    label_diff += strcmp(lx->valuestring, ly->valuestring) != 0;
                    worst = fmax(worst, fabs(px->valuedouble - py->valuedouble));
                }
            }
        FKE_CHECK(ok, "post %s: extract from its JPEG: exit %d, %d garments: %s", p->id, code, ng,
                  pic ? pic : "");
        tried++;
        cJSON_Delete(a), cJSON_Delete(c);
        free(one), free(pic);
    }
    FKE_CHECK(tried >= 10 && label_diff == 0 && worst < 1e-5,
              "%d posts from their JPEGs against the raw import: %d labels differ, the largest "
              "probability difference %g", tried, label_diff, worst);
    printf("  picture vs dataset: %d posts, %d labels differ, largest probability difference %.2g\n",
           tried, label_diff, worst);
    free(kp);
    free(all);
}

static double json_number(const char *text, const char *key)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(j);
    return x;
}

static void test_end_to_end(const fixture *fx)
{
    const char *tr = fke_test_path("train.h5"), *te = fke_test_path("test.h5");
    const char *T = fke_test_path("T.json"), *log = fke_test_path("import.out");
    int code = run_cmd("%s data import fashionke %s --out %s --t-out %s > %s 2>&1", fke_bin(), fx->dir,
                       tr, T, log);
    char *sum = slurp(log);
    FKE_CHECK(code == 0, "CLI import: exit %d: %s", code, sum ? sum : "");
    if (sum) printf("%s", sum);
    static const char *const want[] = {"302 posts listed, 299 kept", "1 without a picture",
                                       "1 listed twice", "1 not in cloth_body_face_meta.json",
                                       "2 boxes clipped", "2 empty boxes dropped",
                                       "1 past G=5 dropped (in 1 posts)",
                                       "(pants_fit_type, denim_wash_color)",
                                       "1 not in code_country.json", "1 empty, 1 without an entry, 1 cut",
                                       "2 with \\r\\n line ends",
                                       "extras: season country applicable post_id",
                                       "2 rows without counts made identity rows, 3 names"};
    for (size_t k = 0; sum && k < sizeof want / sizeof want[0]; k++)
        FKE_CHECK(strstr(sum, want[k]), "the summary lacks '%s'", want[k]);
    free(sum);
    code = run_cmd("%s data import fashionke %s --split test --out %s > %s 2>&1", fke_bin(), fx->dir, te, log);
    FKE_CHECK(code == 0, "CLI import --split test: exit %d", code);
    if (code) return;
    /* the T file as fke train reads it */
    fke_config c;
    fke_config_defaults(&c);
    c.n_cat = NCAT, c.n_attr = NATTR, c.n_occ = NOCC, c.V = 300;
    for (int k = 0; k < NATTR; k++) c.n_val[k] = n_val[k];
    fke_tmatrices tm;
    fke_err e = {{0}};
    fke_status st = fke_tmatrix_load(&tm, T, &c, &e);
    FKE_CHECK(st == FKE_OK, "T file: %s", e.msg);
    if (st == FKE_OK) fke_tmatrix_free(&tm);
    /* a tiny fke-small model (widths of tests/lib.sh tiny_model, a little wider) */
    const char *cfg = fke_test_path("tiny.json"), *run = fke_test_path("run");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"preset\": \"fke-small\", \"chans\": [8, 8, 16], \"F\": 16, \"H\": 16, \"H2\": 16, "
             "\"M\": 16, \"D\": 8, \"Co\": 4, \"T\": 8, \"n_occ\": %d, \"n_cat\": %d, \"n_val\": "
             "[%d, %d, %d], \"V\": 300, \"G\": 5, \"img\": 64, \"crop\": 32, \"L\": 16,\n"
             " \"train_data\": \"%s\", \"out_dir\": \"%s\", \"steps\": 600, \"lr\": 0.05, "
             "\"lr_step_epochs\": 0, \"threads\": 1, \"eval_every\": 100000, \"log_every\": 20, "
             "\"seed\": 3}\n",
             NOCC, NCAT, n_val[0], n_val[1], n_val[2], tr, run);
    fke_test_write_text(cfg, text);
    code = run_cmd("%s train %s --quiet --set t_init=%s > %s 2>&1", fke_bin(), cfg, T, log);
    sum = slurp(log);
    FKE_CHECK(code == 0, "fke train: exit %d: %s", code, sum ? sum : "");
    free(sum);
    if (code) return;
    double first = NAN, last = NAN;
    fke_test_losses(run, &first, &last);
    FKE_CHECK(last < first - 0.3, "loss fell from %.4f to %.4f (by at least 0.3)", first, last);
    char ck[700];
    snprintf(ck, sizeof ck, "%s/last.h5", run);
    code = run_cmd("%s eval %s %s --json --out %s > %s 2>&1", fke_bin(), ck, te, run, log);
    sum = slurp(log);
    double acc = json_number(sum, "cat_acc");
    FKE_CHECK(code == 0 && acc >= CAT_BAR, "fke eval: exit %d, category accuracy %.4f (bar %.2f): %s",
              code, acc, CAT_BAR, sum ? sum : "");
    /* the bar against always answering the commonest category (pants) */
    fke_dataset d;
    double major = NAN;
    if (fke_dataset_load(&d, te, &e) == FKE_OK) {
        long cnt[NCAT] = {0}, all = 0, top = 0;
        for (long i = 0; i < (long)d.N * d.G; i++)
            if (d.cat_true[i] >= 0) cnt[d.cat_true[i]]++, all++;
        for (int k = 0; k < NCAT; k++) top = cnt[k] > top ? cnt[k] : top;
        major = all ? (double)top / all : NAN;
        fke_dataset_free(&d);
    }
    FKE_CHECK(major < CAT_BAR - 0.1, "the commonest category is %.4f of the test garments: the "
              "bar %.2f proves little", major, CAT_BAR);
    printf("  end to end: loss %.4f -> %.4f, test category accuracy %.4f (bar %.2f; the "
           "commonest category alone %.4f)\n", first, last, acc, CAT_BAR, major);
    free(sum);
}

int main(void)
{
    fke_imageset fm;
    if (!fke_test_start("import_fashionke", &fm)) return fke_test_finish("import_fashionke");
    fixture fx;
    const char *dir = fke_test_path("release");
    int ok = build_fixture(&fx, &fm, dir);
    FKE_CHECK(ok, "cannot write the release tree in %s", dir);
    if (ok) {
        test_import(&fx);
        test_errors(&fx);
        test_word_vectors();
        test_vocab_extract(&fx);
        test_end_to_end(&fx);
    }
    free_fixture(&fx);
    fke_imageset_free(&fm);
    return fke_test_finish("import_fashionke");
}
