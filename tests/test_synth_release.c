/* test_synth_release.c - FashionKE-synth version 3 (data/synth.h) and its
 * release tree (data/synth_release.h):
 *   - the tree written twice from the same seed is the same, file by file,
 *     byte for byte, and another seed changes it;
 *   - fke_import_fashionke reads back every post of both splits with the
 *     generated counts, occasions, categories, attributes (clean posts:
 *     the true labels, machine posts: the machine ones, absent attributes
 *     -1), clean flags, boxes, persons, captions, seasons and
 *     applicability, and pixels within 4 levels (JPEG) of the generated;
 *   - the transition initialisation from the confusion files has the
 *     tagger's lopsided rows;
 *   - the label space: an attribute is labelled exactly where it applies,
 *     and the stated dependencies show in the labels at about their
 *     strength;
 *   - the validation split uses only images no training post uses. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data/import_fashionke.h"
#include "data/synth_release.h"
#include "test_fmnist.h"

#define NTR 120
#define NTE 40

static int gen(const fke_imageset *fm, int split, int posts, uint64_t seed, fke_dataset *d,
               fke_synth_pictures *p)
{
    fke_synth_opts o;
    fke_synth_defaults(&o, split);
    o.version = 3, o.posts = posts, o.seed = seed;
    fke_err e = {{0}};
    fke_status st = fke_synth_generate(&o, fm, "fashion-mnist", d, p, &e);
    FKE_CHECK(st == FKE_OK, "generate: %s", e.msg);
    return st == FKE_OK;
}

static int write_tree(const fke_imageset *tr, const fke_imageset *te, uint64_t seed,
                      const char *dir, fke_dataset *d, fke_synth_pictures *p)
{
    if (!gen(tr, FKE_SYNTH_TRAIN, NTR, seed, &d[0], &p[0])) return 0;
    if (!gen(te, FKE_SYNTH_TEST, NTE, seed, &d[1], &p[1])) return 0;
    fke_err e = {{0}};
    fke_status st = fke_synth_release_write(dir, &d[0], &p[0], 0.7, &d[1], &p[1], seed, &e);
    FKE_CHECK(st == FKE_OK, "release: %s", e.msg);
    return st == FKE_OK;
}

/* Files of dir (and dir/images) equal to those of other: how many differ
 * or are missing; *n the number compared. */
static int compare_trees(const char *a, const char *b, int *n)
{
    int bad = 0;
    *n = 0;
    const char *sub[2] = {"", "/images"};
    for (int s = 0; s < 2; s++) {
        char da[600];
        snprintf(da, sizeof da, "%s%s", a, sub[s]);
        DIR *D = opendir(da);
        if (!D) return -1;
        struct dirent *x;
        while ((x = readdir(D))) {
            if (x->d_name[0] == '.' || !strcmp(x->d_name, "images")) continue;
            char pa[900], pb[900];
            snprintf(pa, sizeof pa, "%s%s/%s", a, sub[s], x->d_name);
            snprintf(pb, sizeof pb, "%s%s/%s", b, sub[s], x->d_name);
            char *ba = NULL, *bb = NULL;
            size_t na = 0, nb = 0;
            fke_err e = {{0}};
            int ok = fke_read_file(pa, 0, &ba, &na, &e) == FKE_OK &&
                     fke_read_file(pb, 0, &bb, &nb, &e) == FKE_OK && na == nb &&
                     !memcmp(ba, bb, na);
            if (!ok && bad < 3) printf("  differs: %s\n", x->d_name);
            bad += !ok;
            (*n)++;
            free(ba);
            free(bb);
        }
        closedir(D);
    }
    return bad;
}

static double mean_abs(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return n ? s / n : 0;
}

/* The import of split s against the generated set g. */
static void check_import(const char *dir, int s, const fke_dataset *g)
{
    fke_fashionke_opts o;
    fke_fashionke_defaults(&o);
    o.dir = dir, o.split = s ? FKE_FASHIONKE_TEST : FKE_FASHIONKE_TRAIN, o.noise_ratio = 0.7;
    o.quality = 0;
    fke_dataset d;
    fke_fashionke_report rep;
    fke_err e = {{0}};
    fke_status st = fke_import_fashionke(&o, &d, &rep, &e);
    FKE_CHECK(st == FKE_OK, "import %s: %s", s ? "test" : "train", e.msg);
    if (st) return;
    FKE_CHECK(d.N == g->N && d.G == g->G && d.A == g->A && d.L == g->L && d.V == g->V,
              "sizes N %d/%d G %d A %d V %d", d.N, g->N, d.G, d.A, d.V);
    FKE_CHECK(d.n_cat == g->n_cat && d.n_occ == g->n_occ, "label counts");
    int names = 1;
    for (int c = 0; c < g->n_cat; c++) names &= !strcmp(d.cat_names[c], g->cat_names[c]);
    for (int a = 0; a < g->A; a++) {
        names &= !strcmp(d.attr_names[a], g->attr_names[a]) && d.n_val[a] == g->n_val[a];
        for (int v = 0; names && v < g->n_val[a]; v++)
            names &= !strcmp(d.val_names[a][v], g->val_names[a][v]);
    }
    FKE_CHECK(names, "names in code order");
    if (d.N != g->N || d.A != g->A || d.G != g->G) {
        fke_dataset_free(&d);
        return;
    }
    const int G = g->G, A = g->A;
    long bad_post = 0, bad_gar = 0, bad_attr = 0, ng = 0, na = 0, labelled = 0;
    double px_img = 0, px_crop = 0;
    for (int i = 0; i < g->N; i++) {
        bad_post += d.n_garments[i] != g->n_garments[i] || d.occ[i] != g->occ[i] ||
                    d.clean[i] != g->clean[i] ||
                    !FKE_SAME(d.tokens + (size_t)i * d.L, g->tokens + (size_t)i * g->L, d.L);
        size_t ni = (size_t)3 * g->img * g->img, nc = (size_t)3 * g->crop * g->crop;
        px_img += mean_abs(d.images + i * ni, g->images + i * ni, ni);
        for (int k = 0; k < g->n_garments[i] && k < d.n_garments[i]; k++) {
            size_t q = (size_t)i * G + k;
            ng++;
            int c = g->clean[i];
            bad_gar += d.cat[q] != g->cat[q] || d.cat_true[q] != (c ? g->cat_true[q] : -1) ||
                       d.cat_machine[q] != (c ? -1 : g->cat_machine[q]) ||
                       !FKE_SAME(d.boxes + q * 4, g->boxes + q * 4, 4) ||
                       !FKE_SAME(d.person + q * 2, g->person + q * 2, 2);
            for (int a = 0; a < A; a++, na++) {
                size_t j = q * A + a;
                bad_attr += d.attr[j] != g->attr[j] ||
                            d.attr_true[j] != (c ? g->attr_true[j] : -1) ||
                            d.attr_machine[j] != (c ? -1 : g->attr_machine[j]);
                labelled += d.attr[j] >= 0;
            }
            px_crop += mean_abs(d.crops + q * nc, g->crops + q * nc, nc);
        }
    }
    FKE_CHECK(bad_post == 0, "%ld posts differ (garment count, occasion, clean, caption)", bad_post);
    FKE_CHECK(bad_gar == 0, "%ld of %ld garments differ (category, box, person)", bad_gar, ng);
    FKE_CHECK(bad_attr == 0 && labelled > ng, "%ld of %ld attribute labels differ (%ld labelled)",
              bad_attr, na, labelled);
    px_img /= g->N, px_crop /= ng ? ng : 1;
    printf("  %s: %d posts, %ld garments, %ld attribute labels equal; pixels |import - generated| "
           "%.2f (image), %.2f (crops)\n",
           s ? "test" : "train", d.N, ng, labelled, px_img, px_crop);
    FKE_CHECK(px_img < 4 && px_crop < 4, "pixels off by %.2f / %.2f", px_img, px_crop);
    FKE_CHECK(px_img > 0 || px_crop > 0, "pixels identical through JPEG: not read from the pictures?");
    const fke_extra *ga = fke_dataset_extra(g, "applicable"), *da = fke_dataset_extra(&d, "applicable");
    FKE_CHECK(ga && da && da->dims[0] == 10 && da->dims[1] == A && FKE_SAME(ga->v, da->v, 10 * A),
              "applicability");
    const fke_extra *gs = fke_dataset_extra(g, "season"), *ds = fke_dataset_extra(&d, "season");
    FKE_CHECK(gs && ds && FKE_SAME(gs->v, ds->v, g->N), "season");
    FKE_CHECK(rep.clean == (s ? NTE : lrint(0.3 * NTR)) && rep.values_one + rep.values_fraction == labelled,
              "report: %ld clean, %ld + %ld values", rep.clean, rep.values_one, rep.values_fraction);
    if (!s) { /* the confusion counts: T's rows lean off the diagonal where the tagger's do */
        fke_tmatrices tm;
        st = fke_fashionke_tmatrix(dir, &d, &tm, &rep, &e);
        FKE_CHECK(st == FKE_OK, "tmatrix: %s", e.msg);
        if (!st) {
            /* T_true's worst rows (shirt 0.475 kept, sweater and sandal
             * 0.55) against its best (pants and bag 0.85), pooled: the 36
             * clean posts hold only a few garments of each category */
            const float *T = tm.T[0];
            float worst = (T[6 * 11] + T[2 * 11] + T[5 * 11]) / 3, best = (T[1 * 11] + T[8 * 11]) / 2;
            FKE_CHECK(worst < best - 0.05f, "T from counts: shirt, sweater, sandal keep %.2f, "
                      "pants and bag %.2f", worst, best);
            fke_tmatrix_free(&tm);
        }
    }
    fke_dataset_free(&d);
}

/* share of garments of category c whose attribute a is v, among those
 * where cond holds */
typedef int (*pred)(const fke_dataset *d, int i, int g);
static double share(const fke_dataset *d, int c, int a, int v, pred cond, long *n)
{
    long k = 0, m = 0;
    for (int i = 0; i < d->N; i++)
        for (int g = 0; g < d->n_garments[i]; g++) {
            size_t s = (size_t)i * d->G + g;
            if (d->cat_true[s] != c || !cond(d, i, g)) continue;
            m++;
            k += d->attr_true[s * d->A + a] == v;
        }
    *n = m;
    return m ? (double)k / m : -1;
}
/* version 3's attribute order (FashionKE's) */
enum { UBL, LBL, SLEEVE, STYLE, NECK, CLOSURE, SHAPE, COLOUR };
static int top_sleeve(const fke_dataset *d, int i, int want)
{
    for (int g = 0; g < d->n_garments[i]; g++) {
        size_t s = (size_t)i * d->G + g;
        int c = d->cat_true[s];
        if (c == 0 || c == 2 || c == 6) return want ? d->attr_true[s * d->A + SLEEVE] == 0
                                                    : d->attr_true[s * d->A + SLEEVE] >= 2;
    }
    return 0;
}
static int top_long(const fke_dataset *d, int i, int g) { (void)g; return top_sleeve(d, i, 1); }
static int top_short(const fke_dataset *d, int i, int g) { (void)g; return top_sleeve(d, i, 0); }
static int collar(const fke_dataset *d, int i, int g)
{
    return d->attr_true[((size_t)i * d->G + g) * d->A + NECK] == 2;
}
static int no_collar(const fke_dataset *d, int i, int g) { return !collar(d, i, g); }

/* sleeve_style: na exactly on sleeveless garments; "other" (puffed) shows
 * in the crop as dark bands across the sleeves: on short-sleeved T-shirts
 * the sleeve rows' brightness swings from row to row, relative to the
 * body's, far more than on straight ones. */
static void check_style(const fke_dataset *d)
{
    FKE_CHECK(d->A == 8 && !strcmp(d->attr_names[STYLE], "sleeve_style") &&
                  !strcmp(d->val_names[STYLE][2], "na"),
              "sleeve_style is attribute 3 with na last");
    long bad = 0, n[2] = {0, 0};
    double swing[2] = {0, 0};
    const int P = d->crop;
    for (int i = 0; i < d->N; i++)
        for (int g = 0; g < d->n_garments[i]; g++) {
            size_t s = (size_t)i * d->G + g;
            int sl = d->attr_true[s * d->A + SLEEVE], st = d->attr_true[s * d->A + STYLE];
            if (sl >= 0) bad += (sl == 3) != (st == 2);
            if (d->cat_true[s] != 0 || sl != 2 || st > 1) continue;
            const uint8_t *cr = d->crops + s * 3 * P * P; /* (3, P, P) */
            /* the sleeves: x < 7 and x >= 21 of the 28 px sprite, rows 0..8 */
            double row[12] = {0}, body = 0;
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < P; x++)
                    for (int c = 0; c < 3; c++) {
                        double v = cr[((size_t)c * P + y) * P + x];
                        if (x < 7 * P / 28 || x >= 21 * P / 28) row[y] += v;
                        else body += v;
                    }
            double sw = 0;
            for (int y = 1; y < 10; y++) sw += fabs(row[y] - row[y - 1]);
            swing[st] += sw / (body + 1);
            n[st]++;
        }
    FKE_CHECK(bad == 0, "%ld garments: sleeve_style na and sleeveless disagree", bad);
    for (int k = 0; k < 2; k++) swing[k] /= n[k] ? n[k] : 1;
    printf("  short-sleeved T-shirts: sleeve row swing %.3f straight (%ld), %.3f other (%ld)\n",
           swing[0], n[0], swing[1], n[1]);
    FKE_CHECK(n[0] > 30 && n[1] > 30 && swing[1] > 1.5 * swing[0],
              "sleeve_style other not visible in the crops");
}

static void check_rules(const fke_imageset *tr)
{
    fke_dataset d, v;
    memset(&v, 0, sizeof v);
    if (!gen(tr, FKE_SYNTH_TRAIN, 1500, 3, &d, NULL)) return;
    long wrong = 0, n = 0;
    for (int i = 0; i < d.N; i++)
        for (int g = 0; g < d.n_garments[i]; g++) {
            size_t s = (size_t)i * d.G + g;
            for (int a = 0; a < d.A; a++, n++)
                wrong += (d.attr_true[s * d.A + a] >= 0) != fke_synth3_applies(d.cat_true[s], a);
        }
    FKE_CHECK(wrong == 0, "%ld of %ld true attribute labels disagree with the applicability", wrong, n);
    long n1, n2;
    /* pants: full length with a long-sleeved top, extra short with a short-sleeved one */
    double full_l = share(&d, 1, LBL, 3, top_long, &n1), full_s = share(&d, 1, LBL, 3, top_short, &n2);
    printf("  pants full length: %.2f with a long-sleeved top (%ld), %.2f with a short-sleeved one (%ld)\n",
           full_l, n1, full_s, n2);
    FKE_CHECK(n1 > 50 && n2 > 50 && full_l > full_s + 0.15, "sleeve -> length dependency");
    double b_c = share(&d, 6, CLOSURE, 2, collar, &n1), b_n = share(&d, 6, CLOSURE, 2, no_collar, &n2);
    printf("  shirts with buttons: %.2f with a collar (%ld), %.2f without (%ld)\n", b_c, n1, b_n, n2);
    FKE_CHECK(n1 > 50 && b_c > 0.8 && b_c > b_n + 0.3, "collar -> buttons dependency");
    check_style(&d);
    /* the validation split: images no training post uses */
    if (gen(tr, FKE_SYNTH_VAL, 200, 3, &v, NULL)) {
        int lo_tr = 1 << 30, hi_tr = -1, lo_v = 1 << 30;
        for (size_t k = 0; k < (size_t)d.N * d.G; k++)
            if (d.src_index[k] >= 0) {
                if (d.src_index[k] > hi_tr) hi_tr = d.src_index[k];
                if (d.src_index[k] < lo_tr) lo_tr = d.src_index[k];
            }
        long nv = 0, clean = 0;
        for (size_t k = 0; k < (size_t)v.N * v.G; k++)
            if (v.src_index[k] >= 0) {
                nv++;
                if (v.src_index[k] < lo_v) lo_v = v.src_index[k];
            }
        for (int i = 0; i < v.N; i++) clean += v.clean[i];
        printf("  training images %d..%d, validation images from %d (%ld garments)\n", lo_tr, hi_tr,
               lo_v, nv);
        FKE_CHECK(hi_tr < FKE_SYNTH_VAL_FROM && lo_v >= FKE_SYNTH_VAL_FROM && nv > 0,
                  "validation images overlap the training ones");
        FKE_CHECK(clean == v.N, "validation posts all clean (%ld of %d)", clean, v.N);
        fke_dataset_free(&v);
    }
    fke_dataset_free(&d);
}

int main(void)
{
    fke_imageset tr, te;
    memset(&te, 0, sizeof te);
    if (!fke_test_start("synth_release", &tr)) return fke_test_finish("synth_release");
    fke_err e = {{0}};
    FKE_CHECK(fke_fmnist_read(FKE_FMNIST_DIR, 1, &te, &e) == FKE_OK, "test images: %s", e.msg);
    fke_dataset d[2], d2[2], d3[2];
    fke_synth_pictures p[2], p2[2], p3[2];
    memset(d, 0, sizeof d), memset(d2, 0, sizeof d2), memset(d3, 0, sizeof d3);
    memset(p, 0, sizeof p), memset(p2, 0, sizeof p2), memset(p3, 0, sizeof p3);
    const char *A = fke_test_path("a"), *B = fke_test_path("b"), *C = fke_test_path("c");
    if (te.N && write_tree(&tr, &te, 5, A, d, p) && write_tree(&tr, &te, 5, B, d2, p2) &&
        write_tree(&tr, &te, 6, C, d3, p3)) {
        int n = 0, bad = compare_trees(A, B, &n);
        printf("  same seed: %d files compared, %d differ\n", n, bad);
        FKE_CHECK(bad == 0 && n == 14 + NTR + NTE, "same seed, same tree: %d of %d differ", bad, n);
        bad = compare_trees(A, C, &n);
        FKE_CHECK(bad > 0, "another seed gives the same tree");
        check_import(A, 0, &d[0]);
        check_import(A, 1, &d[1]);
    }
    for (int s = 0; s < 2; s++) {
        fke_dataset_free(&d[s]), fke_dataset_free(&d2[s]), fke_dataset_free(&d3[s]);
        fke_synth_pictures_free(&p[s]), fke_synth_pictures_free(&p2[s]), fke_synth_pictures_free(&p3[s]);
    }
    check_rules(&tr);
    fke_imageset_free(&tr);
    fke_imageset_free(&te);
    return fke_test_finish("synth_release");
}
