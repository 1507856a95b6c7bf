/* test_data.c - the data layer: HDF5 round trips, FashionKE-synth's
 * determinism and statistics, the train/test separation of its garments,
 * the loaders, PNG I/O, and every kind of bad input. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/fmnist.h"
#include "data/loader.h"
#include "data/png_io.h"
#include "data/synth.h"
#include "fixtures.h"
#include "test.h"

static fke_imageset fm_train, fm_test;

static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static int synth(int split, int posts, uint64_t seed, fke_dataset *d)
{
    fke_synth_opts o;
    fke_synth_defaults(&o, split);
    o.posts = posts;
    o.seed = seed;
    fke_err e = {""};
    fke_status s = fke_synth_generate(&o, split ? &fm_test : &fm_train, NULL, d, NULL, &e);
    if (s) printf("  synth: %s\n", e.msg);
    return s;
}

static int datasets_equal(const fke_dataset *a, const fke_dataset *b)
{
    if (a->N != b->N || a->G != b->G || a->A != b->A || a->L != b->L || a->img != b->img ||
        a->crop != b->crop || a->C != b->C || a->n_occ != b->n_occ || a->n_cat != b->n_cat ||
        a->V != b->V)
        return 0;
    size_t N = a->N, G = a->G, A = a->A;
    int ok = FKE_SAME(a->images, b->images, N * 3 * a->img * a->img) &&
             FKE_SAME(a->crops, b->crops, N * G * 3 * a->crop * a->crop) &&
             FKE_SAME(a->n_garments, b->n_garments, N) && FKE_SAME(a->boxes, b->boxes, N * G * 4) &&
             FKE_SAME(a->tokens, b->tokens, N * a->L) && FKE_SAME(a->occ, b->occ, N) &&
             FKE_SAME(a->cat, b->cat, N * G) && FKE_SAME(a->attr, b->attr, N * G * A) &&
             FKE_SAME(a->clean, b->clean, N) && FKE_SAME(a->cat_true, b->cat_true, N * G) &&
             FKE_SAME(a->attr_true, b->attr_true, N * G * A) &&
             FKE_SAME(a->cat_machine, b->cat_machine, N * G) &&
             FKE_SAME(a->attr_machine, b->attr_machine, N * G * A) &&
             FKE_SAME(a->person, b->person, N * G * 2) && !strcmp(a->generator, b->generator);
    ok = ok && (!a->T_true) == (!b->T_true) &&
         (!a->T_true || FKE_SAME(a->T_true, b->T_true, fke_synth_T_size()));
    ok = ok && (!a->src_index) == (!b->src_index) &&
         (!a->src_index || FKE_SAME(a->src_index, b->src_index, N * G));
    for (int k = 0; ok && k < a->A; k++) {
        ok = a->n_val[k] == b->n_val[k] && !strcmp(a->attr_names[k], b->attr_names[k]);
        for (int j = 0; ok && j < a->n_val[k]; j++) ok = !strcmp(a->val_names[k][j], b->val_names[k][j]);
    }
    for (int i = 0; ok && i < a->n_occ; i++) ok = !strcmp(a->occ_names[i], b->occ_names[i]);
    for (int i = 0; ok && i < a->n_cat; i++) ok = !strcmp(a->cat_names[i], b->cat_names[i]);
    for (int i = 0; ok && i < a->V; i++) ok = !strcmp(a->vocab[i], b->vocab[i]);
    return ok;
}

static void test_roundtrip(void)
{
    fke_dataset d, r;
    fke_err e = {""};
    const char *p = fke_test_path("rt.h5");
    FKE_CHECK(synth(0, 300, 7, &d) == 0, "synth");
    FKE_CHECK(fke_dataset_save(&d, p, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_dataset_load(&r, p, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(datasets_equal(&d, &r), "loaded dataset differs from the saved one");
    FKE_CHECK(!strcmp(r.path, p), "path %s", r.path);
    FKE_CHECK(strstr(r.generator, "seed=7") != NULL, "generator '%s'", r.generator);
    FKE_CHECK(r.n_extra == 0 && !fke_dataset_extra(&r, "season"), "no extra arrays: %d", r.n_extra);
    fke_dataset_free(&r);

    /* extra arrays: kept by name and shape, replaced by a second set */
    {
        int32_t season[300], style[300 * 5];
        for (int i = 0; i < 300; i++) season[i] = i % 4;
        for (int i = 0; i < 300 * 5; i++) style[i] = (i * 7) % 11 - 1;
        int d1[1] = {300}, d2[2] = {300, 5};
        const char *px = fke_test_path("extra.h5");
        fke_status st = fke_dataset_extra_set(&d, "season", 1, d1, style, &e);
        if (st == FKE_OK) st = fke_dataset_extra_set(&d, "style", 2, d2, style, &e);
        if (st == FKE_OK) st = fke_dataset_extra_set(&d, "season", 1, d1, season, &e);
        FKE_CHECK(st == FKE_OK && d.n_extra == 2, "extra_set: %s", e.msg);
        FKE_CHECK(fke_dataset_extra_set(&d, "a/b", 1, d1, season, &e) == FKE_ERR_ARG, "a name with /");
        FKE_CHECK(fke_dataset_save(&d, px, &e) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_dataset_load(&r, px, &e) == FKE_OK, "%s", e.msg);
        const fke_extra *xs = fke_dataset_extra(&r, "season"), *xt = fke_dataset_extra(&r, "style");
        FKE_CHECK(r.n_extra == 2 && xs && xs->ndim == 1 && xs->dims[0] == 300 &&
                      FKE_SAME(xs->v, season, 300) && xt && xt->ndim == 2 && xt->dims[1] == 5 &&
                      FKE_SAME(xt->v, style, 1500),
                  "extra arrays round trip");
        fke_dataset_free(&r);
        for (int i = 0; i < d.n_extra; i++) free(d.extra[i].v);
        d.n_extra = 0;
    }

    /* no temporary file left behind */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    FKE_CHECK(access(tmp, F_OK) != 0, "temporary file %s left behind", tmp);

    /* a dataset that fails validation is not written, the old file stays */
    long before = file_size(p);
    d.cat[0] = 99;
    FKE_CHECK(fke_dataset_save(&d, p, &e) == FKE_ERR_FORMAT, "saving a bad label");
    FKE_CHECK(strstr(e.msg, "labels/category") && strstr(e.msg, "out of range"), "%s", e.msg);
    d.cat[0] = d.clean[0] ? d.cat_true[0] : d.cat_machine[0];
    FKE_CHECK(file_size(p) == before, "the old file was touched");
    /* writing into a missing folder: an error, no file */
    const char *nowhere = fke_test_path("no/such/dir/x.h5");
    FKE_CHECK(fke_dataset_save(&d, nowhere, &e) == FKE_ERR_IO && strstr(e.msg, nowhere),
              "%s", e.msg);
    FKE_CHECK(access(nowhere, F_OK) != 0, "file appeared");
    fke_dataset_free(&d);

    /* image sets */
    fke_imageset s = {0}, t;
    s.N = 50, s.C = 1, s.H = 28, s.W = 28, s.n_cls = 10;
    s.images = fm_test.images;
    s.labels = fm_test.labels;
    s.class_names = fm_test.class_names;
    p = fke_test_path("img.h5");
    FKE_CHECK(fke_imageset_save(&s, p, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_imageset_load(&t, p, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(t.N == 50 && t.C == 1 && t.H == 28 && t.W == 28 && t.n_cls == 10 &&
                  FKE_SAME(t.images, s.images, 50 * 784) && FKE_SAME(t.labels, s.labels, 50) &&
                  !strcmp(t.class_names[9], "Ankle boot"),
              "image set round trip");
    fke_imageset_free(&t);
    /* a post file is not an image set and vice versa */
    fke_dataset dd;
    FKE_CHECK(fke_dataset_load(&dd, p, &e) == FKE_ERR_FORMAT && strstr(e.msg, "format"), "%s", e.msg);
}

static void test_determinism(void)
{
    fke_dataset a, b, c;
    fke_err e = {""};
    FKE_CHECK(synth(0, 400, 3, &a) == 0 && synth(0, 400, 3, &b) == 0 && synth(0, 400, 4, &c) == 0, "synth");
    FKE_CHECK(datasets_equal(&a, &b), "same seed gave different datasets");
    FKE_CHECK(!FKE_SAME(a.images, c.images, (size_t)400 * 3 * 64 * 64),
              "different seeds, same images");
    const char *pa = fke_test_path("det_a.h5"), *pb = fke_test_path("det_b.h5");
    FKE_CHECK(fke_dataset_save(&a, pa, &e) == 0 && fke_dataset_save(&b, pb, &e) == 0, "%s", e.msg);
    FKE_CHECK(same_file(pa, pb), "same seed, files differ in bytes");
    /* the rules: 2..5 garments, outfit structure, 30% clean at ratio 0.7 */
    int nc = 0, bad = 0;
    for (int i = 0; i < a.N; i++) {
        nc += a.clean[i];
        if (a.n_garments[i] < 2 || a.n_garments[i] > 5) bad++;
        int foot = 0, dress = 0, top = 0;
        for (int g = 0; g < a.n_garments[i]; g++) {
            int c0 = a.cat_true[i * 5 + g];
            foot += c0 == 5 || c0 == 7 || c0 == 9;
            dress += c0 == 3;
            top += c0 == 0 || c0 == 2 || c0 == 6;
        }
        if (foot != 1 || dress + top != 1) bad++;
        for (int t = 0; t < a.L; t++)
            if (a.tokens[i * a.L + t] == 0)
                for (int u = t; u < a.L; u++) bad += a.tokens[i * a.L + u] != 0;
    }
    FKE_CHECK(bad == 0, "%d posts break the outfit/caption rules", bad);
    FKE_CHECK(nc == 120, "%d clean posts of 400 at noise ratio 0.7", nc);
    fke_dataset_free(&a);
    fke_dataset_free(&b);
    fke_dataset_free(&c);
}

/* Machine labels follow T_true: counts over ~140,000 garments (10 seeds of
 * 4000 posts), every entry within 0.02. */
static void test_transitions(void)
{
    size_t nT = fke_synth_T_size();
    double *cnt = calloc(nT, sizeof *cnt);
    float *T = malloc(nT * sizeof *T);
    long garments = 0;
    fke_dataset d;
    fke_synth_opts def;
    fke_synth_defaults(&def, 0);
    fke_synth_transitions(def.flip_rate, T);
    for (int s = 0; s < 10; s++) {
        if (synth(0, 4000, 100 + s, &d)) break;
        for (int t = 0; t <= d.A; t++) {
            int n = fke_dataset_T_side(&d, t);
            float *Te = malloc((size_t)n * n * sizeof *Te);
            long *rows = malloc(n * sizeof *rows);
            long used = fke_dataset_T_empirical(&d, t, Te, rows);
            if (t == 0) garments += used;
            size_t off = fke_dataset_T_offset(&d, t);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) cnt[off + i * n + j] += Te[i * n + j] * rows[i];
            free(Te);
            free(rows);
        }
        if (s == 0) FKE_CHECK(FKE_SAME(d.T_true, T, nT), "T_true is not the documented matrix");
        fke_dataset_free(&d);
    }
    double worst = 0;
    int wt = -1;
    for (int t = 0; t <= 4; t++) {
        static const int side[5] = {10, 8, 4, 3, 3};
        int n = side[t];
        size_t off = 0;
        for (int u = 0; u < t; u++) off += (size_t)side[u] * side[u];
        for (int i = 0; i < n; i++) {
            double row = 0;
            for (int j = 0; j < n; j++) row += cnt[off + i * n + j];
            for (int j = 0; j < n; j++) {
                double err = fabs(cnt[off + i * n + j] / row - T[off + i * n + j]);
                if (err > worst) worst = err, wt = t;
            }
        }
    }
    printf("  transition matrices: %ld garments, largest |empirical - true| %.4f (task %d)\n",
           garments, worst, wt);
    FKE_CHECK(garments >= 20000, "only %ld garments", garments);
    FKE_CHECK(worst < 0.02, "empirical T off by %.4f", worst);
    /* rows are stochastic; row i keeps 1 - f * mult[i] on the diagonal and
     * gives 0.8 of the rest to its primary confusion (datasets/README.md):
     * T-shirt (mult 0.75) mostly stays, Shirt (1.75) often becomes T-shirt */
    double f = def.flip_rate;
    FKE_CHECK(fabs(T[0] - (1 - 0.75 * f)) < 1e-6 && fabs(T[6] - 0.8 * 0.75 * f) < 1e-6,
              "category row 0: %g %g", T[0], T[6]);
    FKE_CHECK(fabs(T[66] - (1 - 1.75 * f)) < 1e-6 && fabs(T[60] - 0.8 * 1.75 * f) < 1e-6,
              "category row 6 (Shirt): %g %g", T[66], T[60]);
    for (int t = 0, off = 0; t <= 4; off += (t == 0 ? 100 : t == 1 ? 64 : t == 2 ? 16 : 9), t++) {
        static const int side[5] = {10, 8, 4, 3, 3};
        for (int i = 0; i < side[t]; i++) {
            double row = 0;
            for (int j = 0; j < side[t]; j++) row += T[off + i * side[t] + j];
            FKE_CHECK(fabs(row - 1) < 1e-5, "task %d row %d sums to %g", t, i, row);
        }
    }
    free(cnt);
    free(T);
}

/* Training posts use training images only: sources are indices into the
 * training file, whose pixels are not those of any test image (duplicates
 * between the two Fashion-MNIST files excepted and counted). */
static uint64_t hash784(const uint8_t *p)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 784; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_split_separation(void)
{
    fke_dataset tr, te;
    FKE_CHECK(synth(0, 2000, 1, &tr) == 0 && synth(1, 500, 1, &te) == 0, "synth");
    uint64_t *th = malloc(fm_test.N * sizeof *th);
    for (int i = 0; i < fm_test.N; i++) th[i] = hash784(fm_test.images + (size_t)i * 784);
    qsort(th, fm_test.N, sizeof *th, cmp_u64);
    long bad_index = 0, bad_class = 0, shared = 0, n = 0;
    for (int i = 0; i < tr.N; i++)
        for (int g = 0; g < tr.n_garments[i]; g++) {
            int s = tr.src_index[i * tr.G + g];
            n++;
            if (s < 0 || s >= fm_train.N) { bad_index++; continue; }
            if (fm_train.labels[s] != tr.cat_true[i * tr.G + g]) bad_class++;
            uint64_t h = hash784(fm_train.images + (size_t)s * 784);
            if (bsearch(&h, th, fm_test.N, sizeof *th, cmp_u64)) shared++;
        }
    FKE_CHECK(bad_index == 0 && bad_class == 0, "%ld bad source indices, %ld wrong classes",
              bad_index, bad_class);
    FKE_CHECK(shared == 0, "%ld training garments have a test image's pixels", shared);
    FKE_CHECK(strstr(tr.src_file, "train-images") && strstr(te.src_file, "t10k-images"),
              "sources %s, %s", tr.src_file, te.src_file);
    long te_bad = 0, te_dirty = 0;
    for (int i = 0; i < te.N; i++) {
        te_dirty += te.clean[i] != 1;
        for (int g = 0; g < te.n_garments[i]; g++) {
            int s = te.src_index[i * te.G + g];
            if (s < 0 || s >= fm_test.N || fm_test.labels[s] != te.cat_true[i * te.G + g]) te_bad++;
            if (te.cat[i * te.G + g] != te.cat_true[i * te.G + g]) te_dirty++;
        }
    }
    FKE_CHECK(te_bad == 0 && te_dirty == 0, "test split: %ld bad sources, %ld not clean", te_bad, te_dirty);
    printf("  split separation: %ld training garments checked against %d test images\n", n, fm_test.N);
    free(th);
    fke_dataset_free(&tr);
    fke_dataset_free(&te);
}

static void test_loader(void)
{
    fke_dataset d;
    fke_err e = {""};
    if (synth(0, 203, 5, &d)) return;
    int nclean = 0;
    for (int i = 0; i < d.N; i++) nclean += d.clean[i];
    fke_loader a, b, c;
    FKE_CHECK(fke_loader_init(&a, &d, 20, 1, 1, 42, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_loader_init(&b, &d, 20, 1, 1, 42, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_loader_init(&c, &d, 20, 1, 1, 43, &e) == FKE_OK, "%s", e.msg);
    int half_bad = 0, differ_same = 0, differ_other = 0, norm_bad = 0, pad_bad = 0;
    int *seen_clean = calloc(d.N, sizeof(int));
    for (int k = 0; k < 30; k++) {
        fke_batch *x, *y, *z;
        fke_loader_next(&a, &x, &e);
        fke_loader_next(&b, &y, &e);
        fke_loader_next(&c, &z, &e);
        int cl = 0;
        for (int i = 0; i < x->B; i++) cl += x->clean[i];
        if (x->B != 20 || cl != 10) half_bad++;
        if (!FKE_SAME(x->index, y->index, 20) ||
            !FKE_SAME(x->img_x, y->img_x, (size_t)20 * 3 * 64 * 64))
            differ_same++;
        if (!FKE_SAME(x->index, z->index, 20)) differ_other++;
        /* the first clean pool pass (60 posts: 6 batches) has no repeat */
        if (k < nclean / 10)
            for (int i = 0; i < 10; i++) seen_clean[x->index[i]]++;
        int p = x->index[3];
        float want = (d.images[(size_t)p * 3 * 64 * 64 + 100] / 255.f - 0.5f) / 0.25f;
        if (fabsf(x->img_x[(size_t)3 * 3 * 64 * 64 + 100] - want) > 1e-6f) norm_bad++;
        if (x->cat[3 * 5 + 0] != d.cat[p * 5]) norm_bad++;
        for (int g = x->n_garments[3]; g < 5; g++) {
            if (x->cat[3 * 5 + g] != -1) pad_bad++;
            for (int q = 0; q < 3 * 32 * 32; q++)
                if (x->crop_x[((size_t)3 * 5 + g) * 3 * 32 * 32 + q] != 0.f) { pad_bad++; break; }
        }
    }
    int rep = 0;
    for (int i = 0; i < d.N; i++) rep += seen_clean[i] > 1;
    FKE_CHECK(half_bad == 0, "%d batches are not 10 clean + 10 machine", half_bad);
    FKE_CHECK(differ_same == 0, "same seed, %d batches differ", differ_same);
    FKE_CHECK(differ_other > 25, "other seed, only %d of 30 batches differ", differ_other);
    FKE_CHECK(norm_bad == 0 && pad_bad == 0, "normalisation %d, padding %d", norm_bad, pad_bad);
    FKE_CHECK(rep == 0, "%d clean posts repeated within one pass of the pool", rep);
    FKE_CHECK(fke_loader_batches_per_epoch(&a) == 11 && fke_loader_epoch(&a) == 2,
              "per epoch %lld, epoch %lld", fke_loader_batches_per_epoch(&a), fke_loader_epoch(&a));
    /* resuming: skip(k) then next == the (k+1)th batch */
    fke_loader s;
    fke_loader_init(&s, &d, 20, 1, 1, 42, &e);
    fke_loader_skip(&s, 29, &e);
    fke_batch *x;
    fke_loader_next(&s, &x, &e);
    fke_batch *last = &a.buf[1 - a.cur];
    FKE_CHECK(FKE_SAME(x->index, last->index, 20), "skip(29) + next is not batch 30");
    fke_loader_free(&s);
    fke_loader_free(&a);
    fke_loader_free(&b);
    fke_loader_free(&c);
    free(seen_clean);

    /* sequential: every post once, last batch partial, then NULL */
    fke_loader q;
    fke_loader_init(&q, &d, 20, 0, 1, 0, &e);
    for (int pass = 0; pass < 2; pass++) {
        int *seen = calloc(d.N, sizeof(int)), nb = 0, lastB = 0, order_bad = 0, next = 0;
        for (;;) {
            fke_batch *y;
            fke_loader_next(&q, &y, &e);
            if (!y) break;
            nb++;
            lastB = y->B;
            for (int i = 0; i < y->B; i++) {
                seen[y->index[i]]++;
                order_bad += y->index[i] != next++;
            }
        }
        int once = 1;
        for (int i = 0; i < d.N; i++) once &= seen[i] == 1;
        FKE_CHECK(once && nb == 11 && lastB == 3 && order_bad == 0,
                  "pass %d: every post once %d, %d batches, last %d", pass, once, nb, lastB);
        free(seen);
    }
    fke_loader_free(&q);

    /* all clean: paired falls back to plain batches */
    for (int i = 0; i < d.N; i++) d.clean[i] = 1;
    fke_loader u;
    fke_loader_init(&u, &d, 20, 1, 1, 1, &e);
    fke_loader_next(&u, &x, &e);
    FKE_CHECK(x && x->B == 20, "all-clean dataset gives no batch");
    fke_loader_free(&u);
    fke_dataset_free(&d);

    /* image loader: 28 -> 32 padding, training mean/std, epoch coverage */
    fke_imageset s5 = fm_test;
    s5.N = 130;
    float mean, std;
    fke_imageset_stats(&fm_train, &mean, &std);
    printf("  Fashion-MNIST training mean %.4f std %.4f\n", mean, std);
    FKE_CHECK(fabsf(mean - 0.2860f) < 2e-3f && fabsf(std - 0.3530f) < 2e-3f, "mean %g std %g", mean, std);
    fke_imageloader il;
    FKE_CHECK(fke_imageloader_init(&il, &s5, 64, 1, 2, mean, std, 9, &e) == FKE_OK, "%s", e.msg);
    int *seen = calloc(130, sizeof(int)), sizes[3] = {0}, bad = 0;
    for (int k = 0; k < 3; k++) {
        fke_imagebatch *ib;
        fke_imageloader_next(&il, &ib, &e);
        sizes[k] = ib->B;
        for (int i = 0; i < ib->B; i++) seen[ib->index[i]]++;
        if (ib->H != 32 || ib->W != 32) bad++;
        if (fabsf(ib->x[0] - (0 - mean) / std) > 1e-6f) bad++;
        int p = ib->index[0];
        float want = (fm_test.images[(size_t)p * 784 + 14 * 28 + 14] / 255.f - mean) / std;
        if (fabsf(ib->x[16 * 32 + 16] - want) > 1e-6f || ib->y[0] != fm_test.labels[p]) bad++;
    }
    int once = 1;
    for (int i = 0; i < 130; i++) once &= seen[i] == 1;
    FKE_CHECK(once && sizes[0] == 64 && sizes[1] == 64 && sizes[2] == 2 && bad == 0,
              "image epoch: once %d sizes %d %d %d bad %d", once, sizes[0], sizes[1], sizes[2], bad);
    free(seen);
    fke_imageloader_free(&il);
}

static void test_png(void)
{
    fke_err e = {""};
    const char *p = fke_test_path("a.png"), *q;
    int w = 37, h = 23;
    uint8_t *rgb = malloc((size_t)w * h * 3), *back = NULL;
    for (int i = 0; i < w * h * 3; i++) rgb[i] = (uint8_t)(i * 7 + i / 5);
    FKE_CHECK(fke_png_write(p, w, h, rgb, &e) == FKE_OK, "%s", e.msg);
    int w2 = 0, h2 = 0;
    FKE_CHECK(fke_png_read(p, &w2, &h2, &back, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(w2 == w && h2 == h && back && FKE_SAME(back, rgb, (size_t)w * h * 3),
              "PNG round trip");
    free(back);
    /* truncated */
    q = fke_test_path("trunc.png");
    fke_test_copy_prefix(p, q, file_size(p) / 2);
    back = NULL;
    FKE_CHECK(fke_png_read(q, &w2, &h2, &back, &e) == FKE_ERR_FORMAT && back == NULL &&
                  strstr(e.msg, q) && strstr(e.msg, "PNG"),
              "%s", e.msg);
    /* not a PNG */
    q = fke_test_path("junk.png");
    fke_test_write_text(q, "this is not a picture at all");
    FKE_CHECK(fke_png_read(q, &w2, &h2, &back, &e) == FKE_ERR_FORMAT && strstr(e.msg, "not a PNG"),
              "%s", e.msg);
    /* missing */
    q = fke_test_path("none.png");
    FKE_CHECK(fke_png_read(q, &w2, &h2, &back, &e) == FKE_ERR_IO && strstr(e.msg, "no such file"),
              "%s", e.msg);
    /* corrupt data after a good header: flip bytes in the middle */
    q = fke_test_path("flip.png");
    fke_test_copy_prefix(p, q, 1 << 20);
    FILE *f = fopen(q, "r+b");
    fseek(f, 60, SEEK_SET);
    for (int i = 0; i < 40; i++) fputc(0x5a, f);
    fclose(f);
    FKE_CHECK(fke_png_read(q, &w2, &h2, &back, &e) == FKE_ERR_FORMAT && strstr(e.msg, q),
              "%s", e.msg);
    free(rgb);
}

/* Writes a copy of src with dataset `field` removed or replaced. */
static void edit_copy(const char *src, const char *dst, const char *field, int mode)
{
    fke_test_copy_prefix(src, dst, 1L << 40);
    hid_t f = H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
    if (mode == 0) { /* remove */
        H5Ldelete(f, field, H5P_DEFAULT);
    } else if (mode == 1) { /* wrong dimension: (N - 1, 16) */
        hid_t ds = H5Dopen2(f, field, H5P_DEFAULT), sp = H5Dget_space(ds);
        hsize_t dims[2];
        H5Sget_simple_extent_dims(sp, dims, NULL);
        H5Sclose(sp);
        H5Dclose(ds);
        H5Ldelete(f, field, H5P_DEFAULT);
        dims[0] -= 1;
        int32_t *z = calloc(dims[0] * dims[1], 4);
        sp = H5Screate_simple(2, dims, NULL);
        ds = H5Dcreate2(f, field, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, z);
        H5Dclose(ds);
        H5Sclose(sp);
        free(z);
    } else { /* a label out of range: first garment's value set to 42 */
        hid_t ds = H5Dopen2(f, field, H5P_DEFAULT), sp = H5Dget_space(ds);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        int32_t *v = malloc(n * 4);
        H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        v[0] = 42;
        H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
        H5Sclose(sp);
        H5Dclose(ds);
    }
    H5Fclose(f);
}

static void expect_load_error(const char *file, fke_status want, const char *w1, const char *w2)
{
    fke_dataset d;
    fke_err e = {""};
    fke_status s = fke_dataset_load(&d, file, &e);
    FKE_CHECK(s == want && strstr(e.msg, file) && strstr(e.msg, w1) && (!w2 || strstr(e.msg, w2)),
              "load %s gave %d: %s", file, s, e.msg);
    FKE_CHECK(d.images == NULL && d.N == 0, "failed load left data behind");
}

static void test_bad_input(void)
{
    const char *good = fke_test_path("good.h5"), *p;
    fke_dataset d;
    fke_err e = {""};
    if (synth(0, 50, 2, &d)) return;
    fke_dataset_save(&d, good, &e);
    fke_dataset_free(&d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    p = fke_test_path("missing.h5");
    expect_load_error(p, FKE_ERR_IO, "no such file", NULL);
    p = fke_test_path("trunc.h5");
    fke_test_copy_prefix(good, p, file_size(good) / 2);
    expect_load_error(p, FKE_ERR_FORMAT, "truncated", NULL);
    fke_test_copy_prefix(good, p, 600);
    expect_load_error(p, FKE_ERR_FORMAT, "truncated", NULL);
    p = fke_test_path("text.h5");
    fke_test_write_text(p, "occasion,category\n1,2\n");
    expect_load_error(p, FKE_ERR_FORMAT, "not an HDF5 file", NULL);
    p = fke_test_path("nofield.h5");
    edit_copy(good, p, "labels/category", 0);
    expect_load_error(p, FKE_ERR_FORMAT, "/labels/category", "missing");
    edit_copy(good, p, "names/occasion", 0);
    expect_load_error(p, FKE_ERR_FORMAT, "/names/occasion", "missing");
    p = fke_test_path("wrongdim.h5");
    edit_copy(good, p, "tokens", 1);
    expect_load_error(p, FKE_ERR_FORMAT, "/tokens", "dimension 0");
    p = fke_test_path("range.h5");
    edit_copy(good, p, "labels/category", 2);
    expect_load_error(p, FKE_ERR_FORMAT, "/labels/category", "out of range");
    edit_copy(good, p, "labels/occasion", 2);
    expect_load_error(p, FKE_ERR_FORMAT, "/labels/occasion", "out of range");
    edit_copy(good, p, "labels/attribute_machine", 2);
    expect_load_error(p, FKE_ERR_FORMAT, "/labels/attribute_machine", "out of range");
    edit_copy(good, p, "tokens", 2); /* token 42 is fine: vocabulary 2000 */
    fke_dataset ok;
    FKE_CHECK(fke_dataset_load(&ok, p, &e) == FKE_OK, "%s", e.msg);
    fke_dataset_free(&ok);
    /* an image set: missing file and wrong format */
    fke_imageset s;
    FKE_CHECK(fke_imageset_load(&s, good, &e) == FKE_ERR_FORMAT && strstr(e.msg, "fke-images"), "%s", e.msg);

    /* IDX: bad magic, truncated, missing */
    int dims[3];
    uint8_t *data;
    p = fke_test_path("bad-idx3-ubyte.gz");
    gzFile g = gzopen(p, "wb");
    unsigned char hdr[16] = {0, 0, 8, 1, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
    gzwrite(g, hdr, 16);
    gzclose(g);
    FKE_CHECK(fke_idx_read(p, 3, dims, &data, &e) == FKE_ERR_FORMAT && strstr(e.msg, p) &&
                  strstr(e.msg, "bad IDX magic"),
              "%s", e.msg);
    hdr[3] = 3;
    g = gzopen(p, "wb");
    gzwrite(g, hdr, 16);
    gzwrite(g, hdr, 100); /* 100 of 1568 bytes */
    gzclose(g);
    FKE_CHECK(fke_idx_read(p, 3, dims, &data, &e) == FKE_ERR_FORMAT && strstr(e.msg, "truncated"),
              "%s", e.msg);
    p = fke_test_path("nodir");
    fke_imageset fs;
    FKE_CHECK(fke_fmnist_read(p, 0, &fs, &e) == FKE_ERR_IO && strstr(e.msg, "no such file"), "%s", e.msg);
}

int main(void)
{
    if (!fke_test_tmpdir("data")) return 1;
    fke_err e = {""};
    if (fke_fmnist_read(FKE_FMNIST_DIR, 0, &fm_train, &e) || fke_fmnist_read(FKE_FMNIST_DIR, 1, &fm_test, &e)) {
        FKE_CHECK(0, "Fashion-MNIST: %s", e.msg);
        return fke_test_finish("data");
    }
    FKE_CHECK(fm_train.N == 60000 && fm_test.N == 10000, "sizes %d %d", fm_train.N, fm_test.N);
    test_roundtrip();
    test_determinism();
    test_transitions();
    test_split_separation();
    test_loader();
    test_png();
    test_bad_input();
    fke_imageset_free(&fm_train);
    fke_imageset_free(&fm_test);
    return fke_test_finish("data");
}
