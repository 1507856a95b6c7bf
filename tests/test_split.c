/* test_split.c - the validation split held out from a training set
 * (data/split.h, config val_split):
 *   - from a set with clean and machine-labelled posts, only clean posts are
 *     held out, round(fraction x clean) of them; the two parts together are
 *     the original set, each post once, each part in file order, every
 *     per-post field (pixels in either store, labels, tokens, extras) with it;
 *   - the split does not depend on anything but the set and the fraction
 *     (the same posts twice), and a set of only clean posts draws from all;
 *   - an image set is split the same way; a pool of one holds nothing out;
 *   - fke_dataset_subset keeps every field of fke_dataset (a size assert
 *     makes a new field fail to build here until it is checked): labels,
 *     persons, sources, T_true, word vectors, all names, the multi-label
 *     names, extras cut per post or kept whole, raw and lazy JPEG pixels
 *     with their CRC-32s; the subset validates, saves and loads back. */
#include <stdlib.h>
#include <string.h>

#include "data/split.h"
#include "test_fmnist.h"

/* post i of a and post j of b carry the same fields */
static int same_post(const fke_dataset *a, int i, const fke_dataset *b, int j)
{
    size_t G = (size_t)a->G, A = (size_t)a->A;
    int same = a->occ[i] == b->occ[j] && a->clean[i] == b->clean[j] &&
               a->n_garments[i] == b->n_garments[j] &&
               FKE_SAME(a->tokens + (size_t)i * a->L, b->tokens + (size_t)j * b->L, a->L) &&
               FKE_SAME(a->cat + i * G, b->cat + j * G, G) &&
               FKE_SAME(a->attr + i * G * A, b->attr + j * G * A, G * A) &&
               FKE_SAME(a->cat_true + i * G, b->cat_true + j * G, G) &&
               FKE_SAME(a->boxes + i * G * 4, b->boxes + j * G * 4, G * 4);
    uint8_t *pa = malloc((size_t)3 * a->img * a->img), *pb = malloc((size_t)3 * a->img * a->img);
    fke_err e = {{0}};
    for (int s = 0; same && s <= a->G; s++) {
        int S = fke_dataset_side(a, s);
        same = fke_dataset_pixels(a, i, s, pa, &e) == FKE_OK &&
               fke_dataset_pixels(b, j, s, pb, &e) == FKE_OK && FKE_SAME(pa, pb, 3 * S * S);
    }
    free(pa), free(pb);
    return same;
}

/* the original set o is train and val merged in file order */
static void check_parts(const char *what, const fke_dataset *o, const fke_dataset *tr,
                        const fke_dataset *va)
{
    FKE_CHECK(tr->N + va->N == o->N, "%s: %d + %d posts of %d", what, tr->N, va->N, o->N);
    int t = 0, v = 0, bad = 0;
    for (int i = 0; i < o->N; i++) {
        if (v < va->N && same_post(o, i, va, v)) v++;
        else if (t < tr->N && same_post(o, i, tr, t)) t++;
        else bad++;
    }
    FKE_CHECK(bad == 0 && t == tr->N && v == va->N, "%s: %d posts found in neither part", what, bad);
    int clean = 0;
    for (int j = 0; j < va->N; j++) clean += va->clean[j];
    FKE_CHECK(va->cat_names && va->vocab && !strcmp(va->cat_names[0], o->cat_names[0]),
              "%s: the held-out part keeps the names", what);
    const fke_extra *x = fke_dataset_extra(va, "applicable");
    FKE_CHECK(!fke_dataset_extra(o, "applicable") || x, "%s: extra arrays kept", what);
    printf("  %s: %d posts -> %d training + %d validation (%d of them clean)\n", what, o->N,
           tr->N, va->N, clean);
}

/* ---- fke_dataset_subset keeps every field ----------------------------- */
/* The fields compared below are all of fke_dataset's; a new field changes
 * its size and stops this test from building until it is checked here (and
 * copied in fke_dataset_subset, whose own assert says the same). */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(fke_dataset) == 3552,
               "fke_dataset has a new field: check it in check_every_field, then update this size");
#endif

static int same_strings(char **a, char **b, int n)
{
    if (!a || !b) return !a && !b;
    for (int i = 0; i < n; i++)
        if (strcmp(a[i], b[i])) return 0;
    return 1;
}

/* o = subset of s by keep: every field, post by post */
static void compare_subset(const char *what, const fke_dataset *s, const uint8_t *keep,
                           const fke_dataset *o)
{
    int n = 0, bad = 0;
    for (int i = 0; i < s->N; i++) n += keep[i];
    FKE_CHECK(o->N == n && o->G == s->G && o->A == s->A && o->L == s->L && o->img == s->img &&
                  o->crop == s->crop && o->C == s->C && o->n_occ == s->n_occ &&
                  o->n_cat == s->n_cat && o->V == s->V &&
                  !memcmp(o->n_val, s->n_val, sizeof o->n_val),
              "%s: sizes", what);
    FKE_CHECK(!strcmp(o->path, s->path) && !strcmp(o->src_file, s->src_file) &&
                  !strcmp(o->generator, s->generator) && o->generator[0],
              "%s: path, source file, generator", what);
    size_t G = (size_t)s->G, A = (size_t)s->A;
    for (int i = 0, j = 0; i < s->N; i++) {
        if (!keep[i]) continue;
        bad += !same_post(s, i, o, j); /* pixels, occasion, clean, tokens, cat, attr, boxes */
        bad += !FKE_SAME(s->attr_true + i * G * A, o->attr_true + j * G * A, G * A);
        bad += !FKE_SAME(s->cat_machine + i * G, o->cat_machine + j * G, G);
        bad += !FKE_SAME(s->attr_machine + i * G * A, o->attr_machine + j * G * A, G * A);
        bad += !FKE_SAME(s->person + i * G * 2, o->person + j * G * 2, G * 2);
        bad += !s->src_index || !o->src_index ||
               !FKE_SAME(s->src_index + i * G, o->src_index + j * G, G);
        j++;
    }
    FKE_CHECK(bad == 0, "%s: %d per-post fields differ", what, bad);
    FKE_CHECK(s->T_true && o->T_true &&
                  FKE_SAME(s->T_true, o->T_true, fke_dataset_T_offset(s, s->A + 1)),
              "%s: T_true", what);
    FKE_CHECK(o->wv_dim == s->wv_dim && s->wv_dim > 0 && o->word_vectors &&
                  FKE_SAME(s->word_vectors, o->word_vectors, (size_t)s->V * s->wv_dim),
              "%s: word vectors", what);
    int names = same_strings(s->occ_names, o->occ_names, s->n_occ) &&
                same_strings(s->cat_names, o->cat_names, s->n_cat) &&
                same_strings(s->attr_names, o->attr_names, s->A) &&
                same_strings(s->vocab, o->vocab, s->V) && s->val_names && o->val_names;
    for (int k = 0; names && k < s->A; k++)
        names = same_strings(s->val_names[k], o->val_names[k], s->n_val[k]);
    FKE_CHECK(names, "%s: occasion, category, attribute, value names and vocabulary", what);
    FKE_CHECK(o->n_ml == s->n_ml && o->n_ml_types == s->n_ml_types && s->n_ml > 0 &&
                  same_strings(s->ml_names, o->ml_names, s->n_ml) &&
                  same_strings(s->ml_type_names, o->ml_type_names, s->n_ml_types),
              "%s: multi-label names", what);
    /* extras: per-post ones cut, label-space ones (applicable is (n_cat, A),
     * its first side here equal to N) whole, names kept */
    FKE_CHECK(o->n_extra == s->n_extra, "%s: %d of %d extra arrays", what, o->n_extra, s->n_extra);
    for (int x = 0; x < s->n_extra && x < o->n_extra; x++) {
        const fke_extra *a = &s->extra[x], *b = fke_dataset_extra(o, a->name);
        int per_post = a->dims[0] == s->N && strcmp(a->name, "applicable") && strcmp(a->name, "ml_type");
        size_t row = 1;
        for (int k = 1; k < a->ndim; k++) row *= (size_t)a->dims[k];
        int ok = b && b->ndim == a->ndim && b->dims[0] == (per_post ? n : a->dims[0]) &&
                 b->n_names == a->n_names && same_strings(a->names, b->names, a->n_names);
        for (int i = 0, j = 0; ok && i < s->N; i++) {
            if (!per_post) break;
            if (!keep[i]) continue;
            ok = FKE_SAME(a->v + i * row, b->v + (size_t)j++ * row, row);
        }
        if (ok && !per_post) ok = FKE_SAME(a->v, b->v, (size_t)a->dims[0] * row);
        FKE_CHECK(ok, "%s: extra array %s", what, a->name);
    }
    FKE_CHECK(o->jpeg_quality == s->jpeg_quality && !o->jpeg_lazy, "%s: store kind", what);
    if (s->jpeg_quality) {
        FKE_CHECK(o->jpeg_next == (long)n * (s->G + 1) && o->jpeg_crc && s->jpeg_crc,
                  "%s: JPEG streams and their CRC-32", what);
        long bad_crc = 0;
        for (int i = 0, j = 0; o->jpeg_crc && i < s->N; i++) {
            if (!keep[i]) continue;
            for (size_t k = 0; k <= G; k++)
                bad_crc += s->jpeg_crc[i * (G + 1) + k] != o->jpeg_crc[j * (G + 1) + k];
            j++;
        }
        FKE_CHECK(bad_crc == 0, "%s: %ld CRC-32 differ", what, bad_crc);
    }
    fke_err e = {{0}};
    fke_status st = fke_dataset_validate(o, "subset", &e);
    FKE_CHECK(st == FKE_OK, "%s: the subset validates: %s", what, e.msg);
    if (s->jpeg_quality) { /* and it saves and loads back */
        fke_dataset back;
        st = fke_dataset_save(o, fke_test_path("sub.h5"), &e);
        if (st == FKE_OK) st = fke_dataset_load(&back, fke_test_path("sub.h5"), &e);
        FKE_CHECK(st == FKE_OK, "%s: save and load: %s", what, e.msg);
        if (st == FKE_OK) {
            int same = back.N == o->N;
            for (int j = 0; same && j < o->N; j++) same = same_post(o, j, &back, j);
            FKE_CHECK(same, "%s: loaded back the same", what);
            fke_dataset_free(&back);
        }
    }
}

/* A version-3 set of N = 10 posts (10 categories: "applicable" is (10, A))
 * with word vectors and multi-label attributes added, in a lazy JPEG store
 * with CRC-32s, and raw. */
static void check_every_field(const fke_imageset *fm)
{
    fke_synth_opts so;
    fke_synth_defaults(&so, 0);
    so.version = 3, so.posts = 10, so.seed = 7;
    fke_dataset d;
    if (!fke_test_synth_opts(&so, fm, fke_test_path("v3.h5"), &d)) return;
    fke_err e = {{0}};
    d.wv_dim = 4;
    d.word_vectors = malloc((size_t)d.V * 4 * sizeof *d.word_vectors);
    for (int i = 0; d.word_vectors && i < d.V * 4; i++) d.word_vectors[i] = (float)i / 7.f;
    static const char *const ml[3] = {"floral", "denim", "lace"}, *const mt[2] = {"texture", "fabric"};
    d.n_ml = 3, d.n_ml_types = 2;
    d.ml_names = fke_strings_dup(ml, 3), d.ml_type_names = fke_strings_dup(mt, 2);
    int32_t y[30], t[3] = {0, 1, 1};
    for (int i = 0; i < 30; i++) y[i] = i % 3 - 1;
    fke_status st = fke_dataset_extra_set(&d, "ml_labels", 2, (const int[]){10, 3}, y, &e);
    if (!st) st = fke_dataset_extra_set(&d, "ml_type", 1, (const int[]){3}, t, &e);
    if (!st) st = fke_dataset_validate(&d, "test", &e);
    FKE_CHECK(st == FKE_OK && d.word_vectors, "the every-field set: %s", e.msg);
    FKE_CHECK(fke_dataset_extra(&d, "applicable") && fke_dataset_extra(&d, "applicable")->dims[0] == d.N &&
                  fke_dataset_extra(&d, "season") && d.src_index && d.T_true,
              "the every-field set has applicability (first side N), season, sources and T");
    uint8_t keep[10] = {1, 0, 0, 1, 1, 0, 1, 0, 1, 1};
    fke_dataset o, lazy;
    if (!st && fke_dataset_subset(&d, keep, &o, &e) == FKE_OK) {
        compare_subset("raw", &d, keep, &o);
        fke_dataset_free(&o);
    } else FKE_CHECK(0, "subset: %s", e.msg);
    /* the lazy JPEG store (streams read from the file, with CRC-32s) */
    st = fke_dataset_set_store(&d, 90, &e);
    if (!st) st = fke_dataset_save(&d, fke_test_path("v3j.h5"), &e);
    fke_dataset_lazy_above(0);
    if (!st) st = fke_dataset_load(&lazy, fke_test_path("v3j.h5"), &e);
    fke_dataset_lazy_above((int64_t)256 << 20);
    FKE_CHECK(st == FKE_OK && lazy.jpeg_lazy && lazy.jpeg_crc, "a lazy JPEG store: %s", e.msg);
    if (!st) {
        if (fke_dataset_subset(&lazy, keep, &o, &e) == FKE_OK) {
            compare_subset("lazy JPEG", &lazy, keep, &o);
            fke_dataset_free(&o);
        } else FKE_CHECK(0, "subset of a lazy store: %s", e.msg);
        fke_dataset_free(&lazy);
    }
    fke_dataset_free(&d);
}

static int count_clean(const fke_dataset *d)
{
    int n = 0;
    for (int i = 0; i < d->N; i++) n += d->clean[i];
    return n;
}

int main(void)
{
    fke_imageset fm;
    if (!fke_test_start("split", &fm)) return fke_test_finish("split");
    fke_err e = {{0}};
    fke_dataset orig, d, val, d2, val2;
    if (!fke_test_synth(&fm, 0, 200, 0.7, 5, fke_test_path("s.h5"), &orig))
        return fke_test_finish("split");
    int clean = count_clean(&orig), held = 0;
    FKE_CHECK(clean > 20 && clean < orig.N, "the set has both kinds (%d clean)", clean);

    /* clean posts only, round(0.1 x clean), in order, complete */
    FKE_CHECK(fke_dataset_load(&d, fke_test_path("s.h5"), &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_dataset_holdout(&d, 0.1, &val, &held, &e) == FKE_OK, "holdout: %s", e.msg);
    FKE_CHECK(held == (int)(0.1 * clean + 0.5) && val.N == held, "held out %d of %d clean", held, clean);
    FKE_CHECK(count_clean(&val) == val.N, "only clean posts held out (%d of %d)", count_clean(&val), val.N);
    FKE_CHECK(count_clean(&d) == clean - held, "the training part keeps the other clean posts");
    check_parts("raw pixels", &orig, &d, &val);
    /* the same posts again, and in the JPEG store */
    FKE_CHECK(fke_dataset_load(&d2, fke_test_path("s.h5"), &e) == FKE_OK &&
              fke_dataset_set_store(&d2, 90, &e) == FKE_OK, "%s", e.msg);
    fke_dataset o2;
    FKE_CHECK(fke_dataset_load(&o2, fke_test_path("s.h5"), &e) == FKE_OK &&
              fke_dataset_set_store(&o2, 90, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_dataset_holdout(&d2, 0.1, &val2, &held, &e) == FKE_OK, "holdout: %s", e.msg);
    int same = val2.N == val.N;
    for (int j = 0; same && j < val.N; j++)
        same = val.occ[j] == val2.occ[j] && FKE_SAME(val.tokens + (size_t)j * val.L,
                                                     val2.tokens + (size_t)j * val.L, val.L);
    FKE_CHECK(same, "the split is the same twice (and in either store)");
    check_parts("JPEG store", &o2, &d2, &val2);
    fke_dataset_free(&d), fke_dataset_free(&val), fke_dataset_free(&d2), fke_dataset_free(&val2);
    fke_dataset_free(&o2);

    /* every post clean: the pool is every post */
    fke_dataset all, allv;
    if (fke_test_synth(&fm, 0, 50, 0.0, 6, fke_test_path("c.h5"), &all)) {
        fke_dataset cp;
        FKE_CHECK(fke_dataset_load(&cp, fke_test_path("c.h5"), &e) == FKE_OK, "%s", e.msg);
        FKE_CHECK(fke_dataset_holdout(&cp, 0.2, &allv, &held, &e) == FKE_OK && held == 10,
                  "all-clean set: %d of 50 held out", held);
        if (held) check_parts("all clean", &all, &cp, &allv), fke_dataset_free(&allv);
        fke_dataset_free(&cp);
        fke_dataset_free(&all);
    }

    /* an image set; a pool of one */
    fke_imageset s = fm, sv;
    s.N = 100;
    FKE_CHECK(fke_imageset_save(&s, fke_test_path("fm.h5"), &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_imageset_load(&s, fke_test_path("fm.h5"), &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_imageset_holdout(&s, 0.2, &sv, &held, &e) == FKE_OK && held == 20 &&
                  s.N == 80 && sv.N == 20, "image set: %d held out, %d left", held, s.N);
    size_t px = (size_t)fm.C * fm.H * fm.W;
    int t = 0, v = 0, lost = 0;
    for (int i = 0; i < 100; i++) {
        if (v < sv.N && sv.labels[v] == fm.labels[i] && FKE_SAME(sv.images + v * px, fm.images + i * px, px)) v++;
        else if (t < s.N && s.labels[t] == fm.labels[i] && FKE_SAME(s.images + t * px, fm.images + i * px, px)) t++;
        else lost++;
    }
    FKE_CHECK(lost == 0, "image set: %d images in neither part", lost);
    fke_imageset_free(&s), fke_imageset_free(&sv);
    fke_imageset one = fm;
    one.N = 1;
    FKE_CHECK(fke_imageset_save(&one, fke_test_path("one.h5"), &e) == FKE_OK &&
              fke_imageset_load(&one, fke_test_path("one.h5"), &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_imageset_holdout(&one, 0.5, &sv, &held, &e) == FKE_OK && held == 0 && one.N == 1,
              "a pool of one holds nothing out (%d)", held);
    fke_imageset_free(&one);
    check_every_field(&fm);
    fke_dataset_free(&orig);
    fke_imageset_free(&fm);
    return fke_test_finish("split");
}
