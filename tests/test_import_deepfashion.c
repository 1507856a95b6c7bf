/* test_import_deepfashion.c - `fke data import deepfashion`
 * (data/import_deepfashion.h) on a DeepFashion Category and Attribute tree
 * this test writes in the release format (datasets/README.md "DeepFashion")
 * from Fashion-MNIST garments: DIR/Img/img/<Title_Words>/img_NNNNNNNN.jpg
 * with one garment pasted in its box, DIR/Anno/ the five lists with line 1
 * the count, line 2 the header and the real files' column layout (image
 * names left-justified to column 71, boxes zero-padded to 3 digits,
 * attribute values width 2 joined by spaces), DIR/Eval/list_eval_partition.txt.
 *
 * Six Fashion-MNIST classes stand for six DeepFashion categories (T-shirt
 * -> Tee, Trouser -> Jeans, Pullover -> Sweater, Dress -> Dress, Coat ->
 * Coat, Shirt -> Blouse); twenty attributes, four per type, whose names
 * hold spaces, follow the class or the garment's tint (two are noise).
 *
 * Planted quirks: list_attr_img.txt with CRLF line ends; list_bbox.txt with
 * trailing blanks and no final newline; list_category_cloth.txt the copy
 * that drops the four rows merged into Dress but keeps 50 on line 1 (the
 * labels stay 1-based rows of the full list); a listed image missing on
 * disk; a grayscale (one-component) JPEG; a box past the picture's border;
 * a box wholly outside it; attribute values 0 (unknown); a bbox row naming
 * an image the partition lacks; the rows of the per-image files in another
 * order than the partition's.
 *
 * Checked: image counts per split, the category histogram, the attribute
 * histogram per type and every multi-label label and mask exactly, the
 * counted quirks and their first names, boxes, names and types, the CLI's
 * summary and a bad attribute value or a missing list named with the file
 * (exit 1, no output). End to end (task multilabel): a model trained on
 * the train split learns; its category top-3 accuracy on the test split
 * beats the majority-class baseline's by a stated margin. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "data/fmnist.h"
#include "data/image.h"
#include "data/import_deepfashion.h"
#include "fixtures.h"
#include "test.h"

#define N_IMG 420 /* images of the partition */
#define TRAIN_STEPS 300
/* the last logged loss below this share of the first */
#define LOSS_FALL 0.75
/* category top-3 accuracy on the test split must beat the majority-class
 * baseline's (the 3 most frequent training categories for every image) by
 * this margin. Measured with training seeds 1..5 (the test uses 1): top-3
 * 0.917, 0.950, 0.933, 0.967, 0.917 against the baseline 0.483 (top-1
 * 0.57-0.63, recall@3 overall 0.50-0.53, recall@5 0.71-0.72) */
#define TOP3_MARGIN 0.3
#define M 20
#define QUALITY 95

static const int fm_class[6] = {0, 1, 2, 3, 4, 6};
static const int df_cat[6] = {18, 26, 16, 41, 39, 3}; /* 1-based rows of the full list */
static const char *const attr_name[M] = {
    "abstract chevron print", "floral", "paisley", "striped",          /* texture */
    "cotton knit", "denim", "faux leather", "chiffon",                 /* fabric */
    "a-line", "maxi length", "skinny", "boxy",                         /* shape */
    "v-neck", "long sleeve", "pocket", "button front",                 /* part */
    "boho chic", "sporty", "classic", "street"};                      /* style */
static const int attr_type[M] = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5};
static const int tints[3][3] = {{230, 60, 50}, {50, 80, 230}, {60, 200, 70}};

typedef struct {
    char name[96];
    int w, h, cls, tint, split; /* split 0 train 1 val 2 test */
    int32_t box[4];
    int y[M];      /* 1, 0, -1 (written as 0) */
    int missing;   /* no picture on disk */
    int gray;      /* one-component JPEG */
    int clipped, outside;
} fx_img;

static fx_img im[N_IMG];
static fke_imageset fm_tr, fm_te;
static fke_rng rng;

static int write_gray_jpeg(const char *path, const fke_image *pic)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)pic->w, c.image_height = (JDIMENSION)pic->h;
    c.input_components = 1, c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, QUALITY, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)pic->w);
    while (c.next_scanline < c.image_height) {
        const uint8_t *s = pic->rgb + (size_t)c.next_scanline * pic->w * 3;
        for (int x = 0; x < pic->w; x++) row[x] = s[3 * x];
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(f) == 0;
}

/* The picture: noise, and the garment stretched into the box in its tint
 * (grey for the grayscale one), clipped to the picture. */
static int write_picture(const char *dir, const fx_img *p)
{
    const fke_imageset *fm = p->split == 2 ? &fm_te : &fm_tr;
    int idx;
    do idx = (int)fke_rng_below(&rng, (uint32_t)fm->N);
    while (fm->labels[idx] != fm_class[p->cls]);
    fke_image pic = {p->w, p->h, malloc((size_t)p->w * p->h * 3)};
    for (int i = 0; i < p->w * p->h; i++) {
        uint8_t v = (uint8_t)(50 + fke_rng_below(&rng, 24));
        for (int c = 0; c < 3; c++) pic.rgb[3 * i + c] = p->gray ? v : (uint8_t)(v + c);
    }
    int bw = p->box[2] - p->box[0], bh = p->box[3] - p->box[1];
    const uint8_t *src = fm->images + (size_t)idx * 28 * 28;
    for (int y = p->box[1]; y < p->box[3]; y++)
        for (int x = p->box[0]; x < p->box[2]; x++) {
            if (x >= p->w || y >= p->h) continue;
            double g = src[((y - p->box[1]) * 28 / bh) * 28 + (x - p->box[0]) * 28 / bw] / 255.0;
            uint8_t *o = pic.rgb + ((size_t)y * p->w + x) * 3;
            for (int c = 0; c < 3; c++) {
                int t = p->gray ? 200 : tints[p->tint][c];
                o[c] = (uint8_t)lround(o[c] * (1 - g) + g * t);
            }
        }
    char path[FKE_TEST_PATH_MAX + 128], folder[FKE_TEST_PATH_MAX + 128];
    snprintf(path, sizeof path, "%.500s/Img/%.96s", dir, p->name);
    memcpy(folder, path, sizeof folder);
    *strrchr(folder, '/') = 0;
    fke_err e = {{0}};
    int ok = fke_mkdir_p(folder, &e) == FKE_OK &&
             (p->gray ? write_gray_jpeg(path, &pic) : fke_image_write_jpeg(path, &pic, QUALITY, &e) == FKE_OK);
    free(pic.rgb);
    return ok;
}

static void make_images(void)
{
    static const char *const title[6] = {"Classic_Crew_Neck", "Mineral_Wash_Skinny", "Cable_Knit",
                                          "Floral_Print_Midi", "Double-Breasted_Wool",
                                          "Sheer_Pleated-Front"};
    static const char *const last[6] = {"Tee", "Jeans", "Sweater", "Dress", "Coat", "Blouse"};
    int per_folder[6] = {0};
    for (int i = 0; i < N_IMG; i++) {
        fx_img *p = &im[i];
        memset(p, 0, sizeof *p);
        p->cls = (int)fke_rng_below(&rng, 6);
        p->tint = (int)fke_rng_below(&rng, 3);
        p->split = i % 7 < 5 ? 0 : i % 7 == 5 ? 1 : 2; /* splits interleave within folders */
        snprintf(p->name, sizeof p->name, "img/%s_%s/img_%08d.jpg", title[p->cls], last[p->cls],
                 ++per_folder[p->cls]);
        p->w = 60 + (int)fke_rng_below(&rng, 41), p->h = 60 + (int)fke_rng_below(&rng, 41);
        p->box[0] = (int)fke_rng_below(&rng, 15), p->box[1] = (int)fke_rng_below(&rng, 15);
        p->box[2] = p->w - (int)fke_rng_below(&rng, 15), p->box[3] = p->h - (int)fke_rng_below(&rng, 15);
        int c = p->cls;
        /* classes: 0 Tee, 1 Jeans, 2 Sweater, 3 Dress, 4 Coat, 5 Blouse; tints 0 red, 1 blue, 2 green */
        int t = p->tint;
        int on[M] = {t == 1, t == 0, fke_rng_uniform(&rng) < 0.1, t == 2 && c == 0,
                     c == 2, c == 1, c == 4 && t == 0, c == 5,
                     c == 3, c == 3 || c == 4, c == 1, c == 0 || c == 2,
                     c == 0 || c == 5, c == 2 || c == 4 || c == 5, c == 1 || c == 4, c == 4 || c == 5,
                     fke_rng_uniform(&rng) < 0.2, t == 2, c == 4 || c == 5, c == 0 && t == 1};
        for (int k = 0; k < M; k++) p->y[k] = fke_rng_uniform(&rng) < 0.03 ? -1 : on[k];
    }
    /* the quirks, all in the train split */
    im[0].missing = 1;
    im[1].gray = 1;
    im[2].clipped = 1, im[2].box[2] = im[2].w + 20, im[2].box[3] = im[2].h + 9;
    im[3].outside = 1, im[3].box[0] = im[3].w + 5, im[3].box[2] = im[3].w + 40;
}

/* the lists, in the real files' layout */
static int write_lists(const char *dir, int bad_value)
{
    char p[FKE_TEST_PATH_MAX + 64];
    FILE *f;
    int ok = 1;
    snprintf(p, sizeof p, "%s/Anno", dir);
    fke_err e = {{0}};
    ok &= fke_mkdir_p(p, &e) == FKE_OK;
    snprintf(p, sizeof p, "%s/Eval", dir);
    ok &= fke_mkdir_p(p, &e) == FKE_OK;
    /* the copy without the merged rows, 50 on line 1 */
    snprintf(p, sizeof p, "%s/Anno/list_category_cloth.txt", dir);
    ok &= (f = fopen(p, "w")) != NULL;
    if (!f) return 0;
    fprintf(f, "50\ncategory_name  category_type\n");
    for (int c = 0; c < FKE_DF_NCAT; c++) {
        const char *n = fke_deepfashion_categories[c];
        if (!strcmp(n, "Cape") || !strcmp(n, "Nightdress") || !strcmp(n, "Shirtdress") ||
            !strcmp(n, "Sundress"))
            continue;
        fprintf(f, "%-15s%d\n", n, c < 20 ? 1 : c < 36 ? 2 : 3);
    }
    ok &= fclose(f) == 0;
    snprintf(p, sizeof p, "%s/Anno/list_attr_cloth.txt", dir);
    ok &= (f = fopen(p, "w")) != NULL;
    if (!f) return 0;
    fprintf(f, "%d\nattribute_name  attribute_type\n", M);
    for (int k = 0; k < M; k++) fprintf(f, "%-29s%d\n", attr_name[k], attr_type[k]);
    ok &= fclose(f) == 0;
    /* per-image files: partition in order; the others from the last image back */
    snprintf(p, sizeof p, "%s/Eval/list_eval_partition.txt", dir);
    ok &= (f = fopen(p, "w")) != NULL;
    if (!f) return 0;
    static const char *const st[3] = {"train", "val", "test"};
    fprintf(f, "%d\nimage_name  evaluation_status\n", N_IMG);
    for (int i = 0; i < N_IMG; i++) fprintf(f, "%-70s %s\n", im[i].name, st[im[i].split]);
    ok &= fclose(f) == 0;
    snprintf(p, sizeof p, "%s/Anno/list_category_img.txt", dir);
    ok &= (f = fopen(p, "w")) != NULL;
    if (!f) return 0;
    fprintf(f, "%d\nimage_name  category_label\n", N_IMG);
    for (int i = N_IMG - 1; i >= 0; i--) fprintf(f, "%-70s %d\n", im[i].name, df_cat[im[i].cls]);
    ok &= fclose(f) == 0;
    snprintf(p, sizeof p, "%s/Anno/list_bbox.txt", dir);
    ok &= (f = fopen(p, "w")) != NULL;
    if (!f) return 0;
    fprintf(f, "%d\nimage_name  x_1  y_1  x_2  y_2\n", N_IMG + 1);
    for (int i = N_IMG - 1; i >= 0; i--)
        fprintf(f, "%-70s %03d %03d %03d %03d  \n", im[i].name, im[i].box[0], im[i].box[1],
                im[i].box[2], im[i].box[3]);
    fprintf(f, "%-70s 001 002 030 040", "img/Not_In_The_Partition_Tee/img_00000001.jpg");
    ok &= fclose(f) == 0;
    snprintf(p, sizeof p, "%s/Anno/list_attr_img.txt", dir);
    ok &= (f = fopen(p, "w")) != NULL;
    if (!f) return 0;
    fprintf(f, "%d\r\nimage_name  attribute_labels\r\n", N_IMG);
    for (int i = N_IMG - 1; i >= 0; i--) {
        fprintf(f, "%-70s", im[i].name);
        for (int k = 0; k < M; k++) {
            int v = im[i].y[k] == 1 ? 1 : im[i].y[k] == 0 ? -1 : 0;
            if (bad_value && i == 5 && k == 4) v = 2;
            fprintf(f, "%s%2d", k ? " " : "", v);
        }
        fprintf(f, "\r\n");
    }
    ok &= fclose(f) == 0;
    return ok;
}

static int kept(const fx_img *p) { return !p->missing && !p->outside; }

static void check_split(const char *dir, const char *split, int s)
{
    fke_deepfashion_opts o;
    fke_deepfashion_defaults(&o);
    o.dir = dir, o.split = split, o.quality = 0; /* raw: the crops compared exactly */
    fke_dataset d;
    fke_deepfashion_report r;
    fke_err e = {{0}};
    fke_status st = fke_deepfashion_import(&o, &d, &r, &e);
    FKE_CHECK(st == FKE_OK, "import %s: %s", split, e.msg);
    if (st != FKE_OK) return;
    int want_n = 0, listed = 0;
    long cat_hist[FKE_DF_NCAT] = {0}, pos[5] = {0}, neg[5] = {0};
    for (int i = 0; i < N_IMG; i++) {
        if (im[i].split != s) continue;
        listed++;
        if (!kept(&im[i])) continue;
        want_n++;
        cat_hist[df_cat[im[i].cls] - 1]++;
        for (int k = 0; k < M; k++) {
            pos[attr_type[k] - 1] += im[i].y[k] == 1;
            neg[attr_type[k] - 1] += im[i].y[k] == 0;
        }
    }
    printf("  split %-5s: %d listed, %d kept (%ld imported)\n", split, listed, want_n, r.posts);
    FKE_CHECK(d.N == want_n && r.posts == want_n && r.in_split == listed,
              "%s: %d posts (want %d), %ld in the split (want %d)", split, d.N, want_n, r.in_split, listed);
    FKE_CHECK(r.listed == N_IMG && r.split_count[0] + r.split_count[1] + r.split_count[2] == N_IMG,
              "%s: %ld listed", split, r.listed);
    FKE_CHECK(d.n_cat == FKE_DF_NCAT && !strcmp(d.cat_names[40], "Dress") &&
                  !strcmp(d.cat_names[37], "Cape") && r.merged_rows.n == 4,
              "%s: 50 categories restored (%d, row 41 %s, merged %ld)", split, d.n_cat,
              d.n_cat > 40 ? d.cat_names[40] : "?", r.merged_rows.n);
    int hist_ok = 1;
    for (int c = 0; c < FKE_DF_NCAT; c++) hist_ok &= r.per_category[c] == cat_hist[c];
    long from_data[FKE_DF_NCAT] = {0};
    for (int i = 0; i < d.N; i++)
        if (d.cat[i] >= 0 && d.cat[i] < FKE_DF_NCAT) from_data[d.cat[i]]++;
    for (int c = 0; c < FKE_DF_NCAT; c++) hist_ok &= from_data[c] == cat_hist[c];
    FKE_CHECK(hist_ok && r.unused_categories == FKE_DF_NCAT - 6, "%s: category histogram (unused %d)",
              split, r.unused_categories);
    int type_ok = 1;
    for (int t = 0; t < 5; t++) type_ok &= r.attr_pos[t] == pos[t] && r.attr_neg[t] == neg[t];
    FKE_CHECK(type_ok, "%s: attribute histogram per type (texture %ld/%ld, want %ld/%ld)", split,
              r.attr_pos[0], r.attr_neg[0], pos[0], neg[0]);
    const fke_extra *y = fke_dataset_extra(&d, "ml_labels"), *ty = fke_dataset_extra(&d, "ml_type"),
                    *sp = fke_dataset_extra(&d, "split"), *row = fke_dataset_extra(&d, "image_row");
    FKE_CHECK(y && ty && sp && row && d.n_ml == M && d.n_ml_types == 5 && y->dims[1] == M,
              "%s: the multi-label block", split);
    if (!(y && ty && sp && row && d.n_ml == M)) {
        fke_dataset_free(&d);
        return;
    }
    int names_ok = 1;
    for (int k = 0; k < M; k++)
        names_ok &= !strcmp(d.ml_names[k], attr_name[k]) && ty->v[k] == attr_type[k] - 1;
    FKE_CHECK(names_ok && !strcmp(d.ml_type_names[2], "shape"), "%s: attribute names with spaces and "
              "types (%s, %d)", split, d.ml_names[0], ty->v[0]);
    int labels_ok = 1, boxes_ok = 1, unknown = 0;
    for (int n = 0; n < d.N; n++) {
        const fx_img *p = &im[row->v[n]];
        labels_ok &= sp->v[n] == s && d.cat[n] == df_cat[p->cls] - 1 && d.cat_true[n] == d.cat[n] &&
                     d.n_garments[n] == 1 && d.clean[n] == 1;
        for (int k = 0; k < M; k++) {
            labels_ok &= y->v[(size_t)n * M + k] == p->y[k];
            unknown += p->y[k] == -1;
        }
        int32_t b[4] = {p->box[0], p->box[1], p->box[2], p->box[3]}, f[4];
        fke_box_clip(b, p->w, p->h);
        fke_box_to_frame(b, p->w, p->h, d.img, f);
        boxes_ok &= FKE_SAME(f, d.boxes + (size_t)n * 4, 4);
    }
    FKE_CHECK(labels_ok, "%s: every category, split and multi-label label (1 / 0 / -1 mask)", split);
    FKE_CHECK(boxes_ok, "%s: boxes in the image frame", split);
    FKE_CHECK(r.unknown_attr.n == unknown, "%s: %ld values 0 counted, %d in the kept images", split,
              r.unknown_attr.n, unknown);
    FKE_CHECK(r.crlf.n >= 1 && !strcmp(r.crlf.first, "list_attr_img.txt"), "%s: CRLF file counted (%s)",
              split, r.crlf.first);
    FKE_CHECK(r.not_listed.n == 1 && strstr(r.not_listed.first, "Not_In_The_Partition"),
              "%s: the row outside the partition counted", split);
    FKE_CHECK(r.count_mismatch.n == 1 && !strcmp(r.count_mismatch.first, "list_category_cloth.txt"),
              "%s: the one file whose line 1 is not its rows (%ld, %s)", split, r.count_mismatch.n,
              r.count_mismatch.first);
    if (s == 0) {
        FKE_CHECK(r.no_image.n == 1 && !strcmp(r.no_image.first, im[0].name), "missing picture: %ld %s",
                  r.no_image.n, r.no_image.first);
        FKE_CHECK(r.grey.n == 1 && !strcmp(r.grey.first, im[1].name), "grayscale JPEG: %ld %s",
                  r.grey.n, r.grey.first);
        FKE_CHECK(r.clipped.n == 1 && !strcmp(r.clipped.first, im[2].name), "clipped box: %ld",
                  r.clipped.n);
        FKE_CHECK(r.empty.n == 1 && !strcmp(r.empty.first, im[3].name), "box outside: %ld", r.empty.n);
        /* the grayscale picture's crop: R = G = B */
        int g = 0;
        while (g < d.N && row->v[g] != 1) g++;
        int same = g < d.N;
        size_t nc = (size_t)d.crop * d.crop;
        for (size_t q = 0; same && q < nc; q++)
            same = d.crops[(size_t)g * 3 * nc + q] == d.crops[(size_t)g * 3 * nc + nc + q];
        FKE_CHECK(same, "the grayscale picture comes out as RGB with equal channels");
    } else {
        FKE_CHECK(r.no_image.n == 0 && r.clipped.n == 0 && r.empty.n == 0, "%s: no picture quirk", split);
    }
    fke_dataset_free(&d);
}

static void check_cli(const char *dir)
{
    char out[8192];
    const char *h5 = fke_test_path("cli-train.h5");
    int rc = fke_test_sh(out, sizeof out, "%s/fke data import deepfashion %s --split train --out %s",
                         fke_test_build_dir(), dir, h5);
    FKE_CHECK(rc == 0 && strstr(out, "box past the picture's border, clipped: 1") &&
                  strstr(out, "picture missing on disk, image skipped: 1") &&
                  strstr(out, "category rows merged into Dress missing from the list, restored: 4"),
              "CLI: exit %d: %s", rc, out);
    fke_dataset d;
    fke_err e = {{0}};
    FKE_CHECK(fke_dataset_load(&d, h5, &e) == FKE_OK && d.n_ml == M && d.jpeg_quality == 92,
              "the CLI's file loads with its multi-label block: %s", e.msg);
    fke_dataset_free(&d);
    rc = fke_test_sh(out, sizeof out, "%s/fke data import deepfashion --help", fke_test_build_dir());
    FKE_CHECK(rc == 0 && strstr(out, "--split train|val|test|all"), "--help: %d", rc);
}

static void check_broken(const char *dir)
{
    char out[4096];
    FKE_CHECK(write_lists(dir, 1), "rewrite the lists");
    const char *h5 = fke_test_path("broken.h5");
    int rc = fke_test_sh(out, sizeof out, "%s/fke data import deepfashion %s --split val --out %s",
                         fke_test_build_dir(), dir, h5);
    FKE_CHECK(rc == 1 && strstr(out, "list_attr_img.txt: line") && strstr(out, "(cotton knit) is '2'") &&
                  access(h5, F_OK) != 0,
              "a bad attribute value: exit %d: %s", rc, out);
    FKE_CHECK(write_lists(dir, 0), "rewrite the lists");
    char p[FKE_TEST_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/Anno/list_bbox.txt", dir);
    char q[FKE_TEST_PATH_MAX + 64];
    snprintf(q, sizeof q, "%s/Anno/list_bbox.txt.away", dir);
    rename(p, q);
    rc = fke_test_sh(out, sizeof out, "%s/fke data import deepfashion %s --split val --out %s",
                     fke_test_build_dir(), dir, h5);
    FKE_CHECK(rc == 1 && strstr(out, "list_bbox.txt") && access(h5, F_OK) != 0,
              "a missing list: exit %d: %s", rc, out);
    rename(q, p);
}

/* Task multilabel on the imported train split (JPEG store), evaluated with
 * fke eval --json on the test split (Fashion-MNIST test garments). */
static void check_train(const char *dir)
{
    static char out[16384];
    const char *tr = fke_test_path("cli-train.h5"), *te = fke_test_path("cli-test.h5");
    int rc = fke_test_sh(out, sizeof out, "%s/fke data import deepfashion %s --split test --out %s",
                         fke_test_build_dir(), dir, te);
    FKE_CHECK(rc == 0, "import the test split: %s", out);
    const char *run = fke_test_path("run"), *cfg = fke_test_path("ml.json");
    char json[2048];
    snprintf(json, sizeof json,
             "{\"preset\": \"fke-small\", \"task\": \"multilabel\", \"chans\": [8, 16, 32], "
             "\"F\": 32, \"G\": 1, \"img\": 64, \"crop\": 32, \"pos_weight\": 4, "
             "\"train_data\": \"%s\", \"out_dir\": \"%s\", \"steps\": %d, \"batch\": 20, "
             "\"optimizer\": \"adam\", \"lr\": 0.005, \"lr_step_epochs\": 0, \"seed\": 1, "
             "\"threads\": 1, \"eval_every\": 100000, \"log_every\": 10}\n",
             tr, run, TRAIN_STEPS);
    fke_test_write_text(cfg, json);
    rc = fke_test_sh(out, sizeof out, "%s/fke train %s --quiet", fke_test_build_dir(), cfg);
    FKE_CHECK(rc == 0, "fke train (task multilabel): exit %d: %s", rc, out);
    double first = NAN, last = NAN;
    int n = fke_test_losses(run, &first, &last);
    printf("  training: %d loss lines, first %.4f, last %.4f\n", n, first, last);
    FKE_CHECK(n >= 2 && isfinite(first) && isfinite(last) && last < LOSS_FALL * first,
              "the loss falls below %.2f of its first value: %g -> %g", LOSS_FALL, first, last);
    /* the majority-class baseline: the 3 most frequent training categories */
    long freq[6] = {0};
    for (int i = 0; i < N_IMG; i++)
        if (im[i].split == 0 && kept(&im[i])) freq[im[i].cls]++;
    int top[3] = {-1, -1, -1};
    for (int q = 0; q < 3; q++)
        for (int c = 0; c < 6; c++)
            if ((q < 1 || c != top[0]) && (q < 2 || c != top[1]) && (top[q] < 0 || freq[c] > freq[top[q]]))
                top[q] = c;
    long hit = 0, tot = 0;
    for (int i = 0; i < N_IMG; i++)
        if (im[i].split == 2) {
            tot++;
            hit += im[i].cls == top[0] || im[i].cls == top[1] || im[i].cls == top[2];
        }
    double base = (double)hit / tot;
    char ck[FKE_TEST_PATH_MAX + 16];
    snprintf(ck, sizeof ck, "%s/last.h5", run);
    rc = fke_test_sh(out, sizeof out, "%s/fke eval %s %s --json --out %s", fke_test_build_dir(), ck,
                     te, fke_test_path("eval"));
    FKE_CHECK(rc == 0, "fke eval on the test split: exit %d: %s", rc, out);
    printf("  fke eval on the test split: %s", out);
    cJSON *j = cJSON_Parse(strchr(out, '{') ? strchr(out, '{') : out);
    cJSON *t3 = cJSON_GetObjectItemCaseSensitive(j, "cat_top3");
    cJSON *r3 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "recall3"), "all");
    cJSON *r5 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "recall5"), "style");
    double top3 = cJSON_IsNumber(t3) ? t3->valuedouble : -1;
    FKE_CHECK(top3 >= base + TOP3_MARGIN, "category top-3 %.4f, majority baseline %.4f + margin %.2f",
              top3, base, TOP3_MARGIN);
    FKE_CHECK(cJSON_IsNumber(r3) && r3->valuedouble > 0 && r3->valuedouble <= 1 && cJSON_IsNumber(r5),
              "recall@3 overall and recall@5 of a type in the JSON");
    printf("  category top-3 %.4f against the majority-class baseline %.4f\n", top3, base);
    cJSON_Delete(j);
    char prf[FKE_TEST_PATH_MAX + 32];
    snprintf(prf, sizeof prf, "%s/category_prf.csv", fke_test_path("eval"));
    FKE_CHECK(access(prf, R_OK) == 0, "per-category precision/recall/F1 in %s", prf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!fke_test_tmpdir("df")) return fke_test_finish("test_import_deepfashion");
    fke_err e = {{0}};
    if (fke_fmnist_read(FKE_FMNIST_DIR, 0, &fm_tr, &e) || fke_fmnist_read(FKE_FMNIST_DIR, 1, &fm_te, &e)) {
        FKE_CHECK(0, "Fashion-MNIST: %s", e.msg);
        return fke_test_finish("test_import_deepfashion");
    }
    fke_rng_seed(&rng, 3);
    make_images();
    const char *dir = fke_test_path("DeepFashion");
    int ok = write_lists(dir, 0);
    for (int i = 0; ok && i < N_IMG; i++)
        if (!im[i].missing) ok = write_picture(dir, &im[i]);
    FKE_CHECK(ok, "write the DeepFashion tree in %s", dir);
    if (ok) {
        check_split(dir, "train", 0);
        check_split(dir, "val", 1);
        check_split(dir, "test", 2);
        check_cli(dir);
        check_train(dir);
        check_broken(dir);
    }
    fke_imageset_free(&fm_tr);
    fke_imageset_free(&fm_te);
    return fke_test_finish("test_import_deepfashion");
}
