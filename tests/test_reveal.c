/* test_reveal.c - `fke data reveal` (reveal.h) on a small FashionKE-synth
 * set: the queried posts get exactly their true labels and become clean,
 * every other post and every other field stays byte for byte, the counts
 * of corrected labels are right, the written file loads back equal, OUT may
 * be DATA; and every refusal (ids out of range or repeated, a post already
 * clean, a malformed or empty query file, a dataset with no true labels, a
 * garment without a true attribute) names the problem and changes and
 * writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/fmnist.h"
#include "run/reveal.h"
#include "data/synth.h"
#include "test.h"
#include "test_fmnist.h"

/* every field but the garment training labels and the clean flags */
static int same_except_labels(const fke_dataset *x, const fke_dataset *y)
{
    size_t N = (size_t)x->N, NG = N * x->G, NGA = NG * x->A;
    return x->N == y->N && x->G == y->G && x->A == y->A &&
           FKE_SAME(x->images, y->images, N * x->C * x->img * x->img) &&
           FKE_SAME(x->crops, y->crops, NG * x->C * x->crop * x->crop) &&
           FKE_SAME(x->n_garments, y->n_garments, N) && FKE_SAME(x->boxes, y->boxes, NG * 4) &&
           FKE_SAME(x->tokens, y->tokens, N * x->L) && FKE_SAME(x->occ, y->occ, N) &&
           FKE_SAME(x->cat_true, y->cat_true, NG) && FKE_SAME(x->attr_true, y->attr_true, NGA) &&
           FKE_SAME(x->cat_machine, y->cat_machine, NG) &&
           FKE_SAME(x->attr_machine, y->attr_machine, NGA) &&
           FKE_SAME(x->person, y->person, NG * 2) &&
           (x->T_true == NULL) == (y->T_true == NULL) &&
           (!x->T_true || FKE_SAME(x->T_true, y->T_true, fke_synth_T_size()));
}

static int same_labels(const fke_dataset *x, const fke_dataset *y)
{
    size_t NG = (size_t)x->N * x->G;
    return FKE_SAME(x->clean, y->clean, x->N) && FKE_SAME(x->cat, y->cat, NG) &&
           FKE_SAME(x->attr, y->attr, NG * x->A);
}

/* the first k machine-labelled posts with at least one garment, from post `from` */
static int pick(const fke_dataset *d, int from, int k, int32_t *ids)
{
    int n = 0;
    for (int i = from; i < d->N && n < k; i++)
        if (!d->clean[i] && d->n_garments[i] > 0) ids[n++] = i;
    return n;
}

static void test_reveal(const char *data)
{
    fke_err e = {{0}};
    fke_dataset d0, d;
    if (fke_dataset_load(&d0, data, &e) != FKE_OK) {
        FKE_CHECK(0, "load %s: %s", data, e.msg);
        return;
    }
    int32_t ids[12];
    int k = pick(&d0, 0, 12, ids);
    FKE_CHECK(k == 12, "12 machine-labelled posts in the set, found %d", k);
    /* the query file as fke query writes it, in a shuffled order, with a blank line */
    char q[2048] = "", line[128];
    for (int r = 0; r < k; r++) {
        int i = ids[(r * 5) % k];
        snprintf(line, sizeof line, "{\"post\": %d, \"score\": %.3f, \"rank\": %d}\n%s", i,
                 1.0 - r / 100.0, r + 1, r == 3 ? "\n" : "");
        strcat(q, line);
    }
    fke_test_write_text(fke_test_path("q.jsonl"), q);
    int32_t *got;
    long n;
    fke_status st = fke_reveal_read_ids(fke_test_path("q.jsonl"), &got, &n, &e);
    FKE_CHECK(st == FKE_OK && n == k, "read ids: %s (%ld)", e.msg, n);
    if (st == FKE_OK) {
        int okids = 1;
        for (int r = 0; r < k && r < n; r++) okids &= got[r] == ids[(r * 5) % k];
        FKE_CHECK(okids, "ids read in file order");
        free(got);
    }
    /* what the reveal must correct */
    long want_cat = 0, want_attr = 0, want_g = 0, clean0 = 0;
    for (int i = 0; i < d0.N; i++) clean0 += d0.clean[i];
    for (int r = 0; r < k; r++)
        for (int g = 0; g < d0.n_garments[ids[r]]; g++) {
            size_t o = (size_t)ids[r] * d0.G + g;
            want_g++;
            want_cat += d0.cat[o] != d0.cat_true[o];
            for (int a = 0; a < d0.A; a++)
                want_attr += d0.attr[o * d0.A + a] != d0.attr_true[o * d0.A + a];
        }
    FKE_CHECK(want_cat + want_attr > 0, "the chosen posts carry some wrong machine label "
              "(%ld category, %ld attribute)", want_cat, want_attr);

    fke_reveal_stats s;
    st = fke_reveal_run(data, fke_test_path("q.jsonl"), fke_test_path("out.h5"), &s, &e);
    FKE_CHECK(st == FKE_OK, "reveal: %s", e.msg);
    FKE_CHECK(s.posts == k && s.garments == want_g && s.cat_changed == want_cat &&
              s.attr_changed == want_attr && s.attr_labels == want_g * d0.A &&
              s.clean_after == clean0 + k,
              "stats: posts %ld garments %ld/%ld cat %ld/%ld attr %ld/%ld clean %ld/%ld", s.posts,
              s.garments, want_g, s.cat_changed, want_cat, s.attr_changed, want_attr,
              s.clean_after, clean0 + k);
    if (st != FKE_OK || fke_dataset_load(&d, fke_test_path("out.h5"), &e) != FKE_OK) {
        FKE_CHECK(0, "load the revealed set: %s", e.msg);
        fke_dataset_free(&d0);
        return;
    }
    FKE_CHECK(same_except_labels(&d0, &d), "images, captions, occasion, true and machine "
              "labels, persons and T_true unchanged");
    FKE_CHECK(!strcmp(d0.generator, d.generator), "generator attribute kept");
    int bad_rev = 0, bad_rest = 0;
    uint8_t *chosen = calloc((size_t)d.N, 1);
    for (int r = 0; r < k; r++) chosen[ids[r]] = 1;
    for (int i = 0; i < d.N; i++) {
        for (int g = 0; g < d.G; g++) {
            size_t o = (size_t)i * d.G + g;
            int32_t want = chosen[i] ? d0.cat_true[o] : d0.cat[o];
            bad_rev += chosen[i] && d.cat[o] != want;
            bad_rest += !chosen[i] && d.cat[o] != want;
            for (int a = 0; a < d.A; a++) {
                int32_t wa = chosen[i] ? d0.attr_true[o * d.A + a] : d0.attr[o * d.A + a];
                bad_rev += chosen[i] && d.attr[o * d.A + a] != wa;
                bad_rest += !chosen[i] && d.attr[o * d.A + a] != wa;
            }
            if (chosen[i] && g >= d.n_garments[i]) bad_rev += d.cat[o] != -1;
        }
        bad_rev += chosen[i] && d.clean[i] != 1;
        bad_rest += !chosen[i] && d.clean[i] != d0.clean[i];
    }
    FKE_CHECK(bad_rev == 0, "%d wrong labels or flags on the revealed posts", bad_rev);
    FKE_CHECK(bad_rest == 0, "%d labels or flags changed on other posts", bad_rest);
    free(chosen);

    /* the same query again: every post is clean now; nothing written */
    unlink(fke_test_path("again.h5"));
    st = fke_reveal_run(fke_test_path("out.h5"), fke_test_path("q.jsonl"),
                        fke_test_path("again.h5"), &s, &e);
    FKE_CHECK(st == FKE_ERR_ARG && strstr(e.msg, "already clean"), "second reveal: %s", e.msg);
    FKE_CHECK(access(fke_test_path("again.h5"), F_OK) != 0, "a refused reveal writes nothing");

    /* in place: OUT = DATA, a second round on the revealed set */
    int32_t more[3];
    int m = pick(&d, ids[k - 1] + 1, 3, more);
    snprintf(q, sizeof q, "{\"post\": %d}\n{\"post\": %d}\n{\"post\": %d}\n", more[0], more[1],
             more[2]);
    fke_test_write_text(fke_test_path("q2.jsonl"), q);
    st = fke_reveal_run(fke_test_path("out.h5"), fke_test_path("q2.jsonl"), fke_test_path("out.h5"),
                        &s, &e);
    FKE_CHECK(m == 3 && st == FKE_OK && s.posts == 3 && s.clean_after == clean0 + k + 3,
              "in-place second round: %s (clean %ld)", e.msg, s.clean_after);
    fke_dataset d2;
    if (fke_dataset_load(&d2, fke_test_path("out.h5"), &e) == FKE_OK) {
        FKE_CHECK(d2.clean[more[0]] && d2.clean[more[2]] && d2.clean[ids[0]],
                  "both rounds' posts clean after the in-place write");
        fke_dataset_free(&d2);
    } else {
        FKE_CHECK(0, "reload after the in-place write: %s", e.msg);
    }

    /* refusals on the in-memory set leave it unchanged */
    int32_t bad_ids[][2] = {{ids[0] /* clean now */, 0},
                            {more[1] /* fine */, -1},
                            {d.N, 0},
                            {more[1], more[1]}};
    const char *want_msg[] = {"already clean", "out of range", "out of range", "twice"};
    long bad_n[] = {1, 2, 1, 2};
    fke_dataset keep;
    memset(&keep, 0, sizeof keep);
    keep.N = d.N, keep.G = d.G, keep.A = d.A;
    keep.clean = malloc((size_t)d.N);
    keep.cat = malloc((size_t)d.N * d.G * 4);
    keep.attr = malloc((size_t)d.N * d.G * d.A * 4);
    memcpy(keep.clean, d.clean, (size_t)d.N);
    memcpy(keep.cat, d.cat, (size_t)d.N * d.G * 4);
    memcpy(keep.attr, d.attr, (size_t)d.N * d.G * d.A * 4);
    for (int c = 0; c < 4; c++) {
        e.msg[0] = 0;
        st = fke_reveal_apply(&d, bad_ids[c], bad_n[c], &s, &e);
        FKE_CHECK(st == FKE_ERR_ARG && strstr(e.msg, want_msg[c]), "case %d: %s", c, e.msg);
        FKE_CHECK(same_labels(&d, &keep), "case %d: a refused reveal changed the dataset", c);
    }
    /* a queried garment without a true attribute */
    size_t o = (size_t)more[1] * d.G;
    int32_t saved = d.attr_true[o * d.A + 2];
    d.attr_true[o * d.A + 2] = -1;
    st = fke_reveal_apply(&d, &more[1], 1, &s, &e);
    FKE_CHECK(st == FKE_ERR_ARG && strstr(e.msg, "garment 0 has no true"), "missing true "
              "attribute: %s", e.msg);
    FKE_CHECK(same_labels(&d, &keep), "missing true attribute: dataset changed");
    d.attr_true[o * d.A + 2] = saved;
    /* a dataset with no true labels at all */
    for (size_t i = 0; i < (size_t)d.N * d.G; i++) d.cat_true[i] = -1;
    for (size_t i = 0; i < (size_t)d.N * d.G * d.A; i++) d.attr_true[i] = -1;
    st = fke_reveal_apply(&d, &more[1], 1, &s, &e);
    FKE_CHECK(st == FKE_ERR_ARG && strstr(e.msg, "no true labels"), "no true labels: %s",
              e.msg);
    FKE_CHECK(same_labels(&d, &keep), "no true labels: dataset changed");
    st = fke_dataset_save(&d, fke_test_path("notrue.h5"), &e);
    FKE_CHECK(st == FKE_OK, "save notrue: %s", e.msg);
    snprintf(q, sizeof q, "{\"post\": %d}\n", more[1]);
    fke_test_write_text(fke_test_path("q3.jsonl"), q);
    unlink(fke_test_path("never.h5"));
    st = fke_reveal_run(fke_test_path("notrue.h5"), fke_test_path("q3.jsonl"),
                        fke_test_path("never.h5"), &s, &e);
    FKE_CHECK(st == FKE_ERR_ARG && strstr(e.msg, "notrue.h5") && strstr(e.msg, "no true labels"),
              "no true labels, from the file: %s", e.msg);
    FKE_CHECK(access(fke_test_path("never.h5"), F_OK) != 0,
              "nothing written for a set without true labels");
    free(keep.clean), free(keep.cat), free(keep.attr);
    fke_dataset_free(&d);
    fke_dataset_free(&d0);
}

static void test_query_files(const char *data)
{
    struct {
        const char *text, *msg;
    } cases[] = {
        {"", "no post ids"},
        {"\n  \n", "no post ids"},
        {"{\"post\": 1}\nnot json\n", "line 2 is not a JSON object"},
        {"[1, 2]\n", "line 1 is not a JSON object"},
        {"{\"id\": 1}\n", "line 1 has no \"post\""},
        {"{\"post\": \"1\"}\n", "line 1: \"post\" is not an integer"},
        {"{\"post\": 1.5}\n", "line 1: \"post\" is not an integer"},
        {"{\"post\": 1e12}\n", "line 1: \"post\" is not an integer"},
    };
    fke_err e = {{0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fke_test_write_text(fke_test_path("bad.jsonl"), cases[c].text);
        int32_t *ids = NULL;
        long n = -1;
        e.msg[0] = 0;
        fke_status st = fke_reveal_read_ids(fke_test_path("bad.jsonl"), &ids, &n, &e);
        FKE_CHECK(st == FKE_ERR_FORMAT && strstr(e.msg, cases[c].msg) &&
                      strstr(e.msg, "bad.jsonl") && !ids && n == 0,
                  "query file case %zu: status %d, message '%s' (want '%s')", c, (int)st, e.msg,
                  cases[c].msg);
        free(ids);
    }
    int32_t *ids = NULL;
    long n;
    fke_status st = fke_reveal_read_ids(fke_test_path("none.jsonl"), &ids, &n, &e);
    FKE_CHECK(st == FKE_ERR_IO && strstr(e.msg, "none.jsonl"), "missing query file: %s", e.msg);
    fke_reveal_stats s;
    fke_test_write_text(fke_test_path("ok.jsonl"), "{\"post\": 1}\n");
    st = fke_reveal_run(fke_test_path("none.h5"), fke_test_path("ok.jsonl"), fke_test_path("x.h5"),
                        &s, &e);
    FKE_CHECK(st != FKE_OK && strstr(e.msg, "none.h5"), "missing dataset: %s", e.msg);
    st = fke_reveal_run(data, fke_test_path("ok.jsonl"), fke_test_path("no/such/dir/x.h5"), &s, &e);
    FKE_CHECK(st != FKE_OK && strstr(e.msg, "no/such/dir"), "unwritable output: %s", e.msg);
}

int main(void)
{
    fke_imageset tr;
    if (!fke_test_start("reveal", &tr)) return fke_test_finish("reveal");
    fke_synth_opts o;
    fke_synth_defaults(&o, 0);
    o.posts = 200;
    o.noise_ratio = 0.7;
    o.flip_rate = 0.5;
    o.missing = 0.1;
    o.seed = 7;
    int ok = fke_test_synth_opts(&o, &tr, fke_test_path("d.h5"), NULL);
    fke_imageset_free(&tr);
    if (ok) {
        test_reveal(fke_test_path("d.h5"));
        test_query_files(fke_test_path("d.h5"));
    }
    return fke_test_finish("reveal");
}
