/* test_split.c - the validation split held out from a training set
 * (data/split.h, config val_split):
 *   - from a set with clean and machine-labelled posts, only clean posts are
 *     held out, round(fraction x clean) of them; the two parts together are
 *     the original set, each post once, each part in file order, every
 *     per-post field (pixels in either store, labels, tokens, extras) with it;
 *   - the split does not depend on anything but the set and the fraction
 *     (the same posts twice), and a set of only clean posts draws from all;
 *   - an image set is split the same way; a pool of one holds nothing out. */
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
    fke_dataset_free(&orig);
    fke_imageset_free(&fm);
    return fke_test_finish("split");
}
