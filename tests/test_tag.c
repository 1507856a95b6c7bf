/* test_tag.c - fke tag (run/tag.h) on a task clip model made by fke train
 * (a short run on 200 FashionKE-synth posts at 32 px, so the run folder,
 * best.h5 and its vocabulary are fke train's own):
 *   - a PNG and a JPEG picture and the dataset's posts are tagged, one
 *     line each, tags by falling score, prob summing to 1 over all tags;
 *   - adding a tag to the file (in the middle) leaves every other tag's
 *     score unchanged, bitwise; the cached embeddings give the same bytes;
 *   - --top and --threshold cut the lists;
 *   - an index of the pictures, queried by a tag's text, gives that tag's
 *     scores;
 *   - a tag with an unknown word is counted;
 *   - bad inputs: a missing tag file, an empty one, one of blank lines, a
 *     non-UTF-8 line, an unreadable picture, a folder without pictures, a
 *     non-clip checkpoint: each refused with a message naming the file. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "data/image.h"
#include "data/png_io.h"
#include "run/tag.h"
#include "run/train.h"
#include "test_fmnist.h"

#define SIDE 32
#define POSTS 200

static int write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fputs(s, f);
    return fclose(f) == 0;
}

/* post i's whole image as an RGB picture (HWC) */
static void post_picture(const fke_dataset *d, int i, fke_image *im)
{
    int S = d->img;
    im->w = im->h = S;
    im->rgb = malloc((size_t)3 * S * S);
    const uint8_t *src = d->images + (size_t)i * 3 * S * S;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                im->rgb[((size_t)y * S + x) * 3 + c] = src[((size_t)c * S + y) * S + x];
}

/* Reads a JSON-lines output; returns the lines parsed (cJSON array). */
static cJSON *read_lines(const char *path)
{
    fke_err e = {{0}};
    char *buf;
    size_t len;
    if (fke_read_file(path, 0, &buf, &len, &e) != FKE_OK) return NULL;
    cJSON *arr = cJSON_CreateArray();
    for (char *p = buf, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        cJSON *j = cJSON_Parse(p);
        if (j) cJSON_AddItemToArray(arr, j);
    }
    free(buf);
    return arr;
}

/* The score of tag in line j (NAN when absent). */
static double score_of(const cJSON *line, const char *tag)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(line, "tags"))
        if (!strcmp(cJSON_GetObjectItem(t, "tag")->valuestring, tag))
            return cJSON_GetObjectItem(t, "score")->valuedouble;
    return NAN;
}

static char *slurp(const char *path)
{
    fke_err e = {{0}};
    char *buf = NULL;
    size_t len;
    if (fke_read_file(path, 0, &buf, &len, &e) != FKE_OK) return NULL;
    return buf;
}

static void check_refused(fke_tag_opts o, const char *tags, const char *want, const char *what)
{
    fke_err e = {{0}};
    o.tags = tags;
    fke_status st = fke_tag_run(&o, NULL, &e);
    FKE_CHECK(st != FKE_OK && strstr(e.msg, want), "%s: status %d, message '%s' (wanted '%s')",
              what, st, e.msg, want);
}

int main(void)
{
    fke_imageset fm;
    if (!fke_test_start("tag", &fm)) return fke_test_finish("tag");
    fke_err e = {{0}};
    fke_dataset d;
    int ok = fke_test_synth(&fm, 0, POSTS, 0.0, 41, fke_test_path("raw.h5"), &d);
    fke_imageset_free(&fm);
    if (ok) {
        ok = fke_dataset_rescale(&d, SIDE, SIDE / 2, 0, &e) == FKE_OK &&
             fke_dataset_save(&d, fke_test_path("posts.h5"), &e) == FKE_OK;
        FKE_CHECK(ok, "rescale and save: %s", e.msg);
    }
    /* a task clip model by fke train */
    const char *run = fke_test_path("run");
    if (ok) {
        fke_config c;
        fke_config_defaults(&c);
        const char *sets[] = {"task=clip", "batch=16", "D=16", "Co=16", "embed_dim=32",
                              "optimizer=adam", "lr=0.002", "weight_decay=0", "steps=6",
                              "eval_every=6", "bn_recalibrate=2", "val_split=0.2", "threads=2"};
        for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
            FKE_CHECK(fke_config_set(&c, sets[i], &e) == FKE_OK, "--set %s: %s", sets[i], e.msg);
        snprintf(c.train_data, sizeof c.train_data, "%s", fke_test_path("posts.h5"));
        snprintf(c.out_dir, sizeof c.out_dir, "%s", run);
        fke_train_opts to = {.progress = NULL};
        fke_train_result tr;
        ok = fke_train(&c, &to, &tr, &e) == FKE_OK;
        FKE_CHECK(ok, "fke train, task clip: %s", e.msg);
        FKE_CHECK(!ok || (tr.steps == 6 && tr.best_step == 6 && tr.best_score >= 0),
                  "run: %ld steps, best step %ld, score %g", tr.steps, tr.best_step, tr.best_score);
    }
    const char *ckpt = fke_test_path("run/best.h5"), *png = fke_test_path("a.png"),
               *jpg = fke_test_path("b.jpg");
    if (ok) {
        fke_image im;
        post_picture(&d, 0, &im);
        ok = fke_png_write(png, im.w, im.h, im.rgb, &e) == FKE_OK;
        fke_image_free(&im);
        post_picture(&d, 1, &im);
        ok = ok && fke_image_write_jpeg(jpg, &im, 95, &e) == FKE_OK;
        fke_image_free(&im);
        FKE_CHECK(ok, "pictures: %s", e.msg);
    }
    const char *tA = fke_test_path("a.txt"), *tB = fke_test_path("b.txt");
    ok = ok && write_text(tA, "red dress\nbeach\n\n  blue coat \nwinter\n") &&
         write_text(tB, "red dress\nstriped shirt\nbeach\nblue coat\nwinter\r\n");
    const char *inputs[] = {png, jpg};
    fke_tag_opts o = {.ckpt = ckpt, .tags = tA, .inputs = inputs, .n_inputs = 2,
                      .out = fke_test_path("a.jsonl"), .threshold = -INFINITY,
                      .cache_dir = fke_test_path("cache")};
    if (ok) {
        fke_tag_info info;
        FKE_CHECK(fke_tag_run(&o, &info, &e) == FKE_OK, "tag a.txt: %s", e.msg);
        FKE_CHECK(info.tags == 4 && info.images == 2 && !info.cached && info.unknown_tags == 0,
                  "a.txt: %d tags, %ld images, cached %d, unknown %d", info.tags, info.images,
                  info.cached, info.unknown_tags);
        o.tags = tB, o.out = fke_test_path("b.jsonl");
        FKE_CHECK(fke_tag_run(&o, &info, &e) == FKE_OK, "tag b.txt: %s", e.msg);
        FKE_CHECK(!info.cached && info.tags == 5, "b.txt: cached %d, %d tags", info.cached, info.tags);
        o.out = fke_test_path("b2.jsonl"); /* again: from the cache, the same bytes */
        FKE_CHECK(fke_tag_run(&o, &info, &e) == FKE_OK && info.cached, "b.txt again: %s (cached %d)",
                  e.msg, info.cached);
        char *b1 = slurp(fke_test_path("b.jsonl")), *b2 = slurp(fke_test_path("b2.jsonl"));
        FKE_CHECK(b1 && b2 && !strcmp(b1, b2), "the cached tags gave other output");
        free(b1);
        free(b2);
        cJSON *A = read_lines(fke_test_path("a.jsonl")), *B = read_lines(fke_test_path("b.jsonl"));
        FKE_CHECK(A && B && cJSON_GetArraySize(A) == 2 && cJSON_GetArraySize(B) == 2,
                  "one line per picture");
        const char *kept[] = {"red dress", "beach", "blue coat", "winter"};
        for (int i = 0; A && B && i < 2 && i < cJSON_GetArraySize(A); i++) {
            const cJSON *la = cJSON_GetArrayItem(A, i), *lb = cJSON_GetArrayItem(B, i);
            FKE_CHECK(!strcmp(cJSON_GetObjectItem(la, "image")->valuestring, inputs[i]),
                      "line %d is not %s", i, inputs[i]);
            for (int k = 0; k < 4; k++) {
                double sa = score_of(la, kept[k]), sb = score_of(lb, kept[k]);
                FKE_CHECK(sa == sb && fabs(sa) <= 1, "%s, tag '%s': score %.17g alone, %.17g with "
                          "one more tag", inputs[i], kept[k], sa, sb);
            }
            FKE_CHECK(!isnan(score_of(lb, "striped shirt")), "the new tag is scored");
            double prev = INFINITY, psum = 0;
            const cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItem(lb, "tags")) {
                double s = cJSON_GetObjectItem(t, "score")->valuedouble;
                FKE_CHECK(s <= prev, "tags not by falling score");
                prev = s;
                psum += cJSON_GetObjectItem(t, "prob")->valuedouble;
            }
            FKE_CHECK(fabs(psum - 1) < 1e-9, "probabilities sum to %.12f", psum);
        }
        /* --top and --threshold */
        o.top = 2, o.out = fke_test_path("top.jsonl");
        FKE_CHECK(fke_tag_run(&o, NULL, &e) == FKE_OK, "--top: %s", e.msg);
        cJSON *T = read_lines(o.out);
        FKE_CHECK(T && cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(T, 0), "tags")) == 2,
                  "--top 2 did not give 2 tags");
        cJSON_Delete(T);
        o.top = 0, o.threshold = 2, o.out = fke_test_path("thr.jsonl");
        FKE_CHECK(fke_tag_run(&o, NULL, &e) == FKE_OK, "--threshold: %s", e.msg);
        T = read_lines(o.out);
        FKE_CHECK(T && cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(T, 0), "tags")) == 0,
                  "--threshold 2 (above every cosine) kept tags");
        cJSON_Delete(T);
        o.threshold = -INFINITY;
        /* an index of the pictures, queried by a tag's text, gives its scores */
        const char *idx = fke_test_path("index.h5"), *q[] = {"beach"};
        FKE_CHECK(fke_tag_index_build(&o, idx, NULL, &e) == FKE_OK, "index: %s", e.msg);
        fke_tag_opts qo = {.out = fke_test_path("q.jsonl"), .threshold = -INFINITY};
        FKE_CHECK(fke_tag_index_query(&qo, idx, q, 1, &e) == FKE_OK, "query: %s", e.msg);
        cJSON *Q = read_lines(qo.out);
        FKE_CHECK(Q && cJSON_GetArraySize(Q) == 2, "query: one line per indexed picture");
        for (int r = 0; Q && B && r < cJSON_GetArraySize(Q); r++) {
            const cJSON *l = cJSON_GetArrayItem(Q, r);
            const char *img = cJSON_GetObjectItem(l, "image")->valuestring;
            int which = !strcmp(img, inputs[1]);
            double s = cJSON_GetObjectItem(l, "score")->valuedouble;
            double want = score_of(cJSON_GetArrayItem(B, which), "beach");
            FKE_CHECK(fabs(s - want) < 1e-7, "query 'beach' on %s: %.9f, the tag's score %.9f", img,
                      s, want);
        }
        cJSON_Delete(Q);
        cJSON_Delete(A);
        cJSON_Delete(B);
        /* the dataset's posts */
        fke_tag_opts od = o;
        od.inputs = NULL, od.n_inputs = 0, od.data = fke_test_path("posts.h5");
        od.out = fke_test_path("posts.jsonl");
        FKE_CHECK(fke_tag_run(&od, &info, &e) == FKE_OK && info.images == POSTS,
                  "--data: %s (%ld posts)", e.msg, info.images);
        cJSON *P = read_lines(od.out);
        FKE_CHECK(P && cJSON_GetArraySize(P) == POSTS, "--data: %d lines",
                  P ? cJSON_GetArraySize(P) : -1);
        cJSON_Delete(P);
        /* an unknown word is counted */
        const char *tu = fke_test_path("u.txt");
        write_text(tu, "zzqxv dress\nbeach\n");
        o.tags = tu, o.out = fke_test_path("u.jsonl");
        FKE_CHECK(fke_tag_run(&o, &info, &e) == FKE_OK && info.unknown_tags == 1 &&
                      strstr(info.unknown, "zzqxv"),
                  "unknown word: %s, %d tags with unknown words (%s)", e.msg, info.unknown_tags,
                  info.unknown);
    }
    /* bad inputs */
    if (ok) {
        o.out = fke_test_path("bad.jsonl");
        const char *missing = fke_test_path("missing.txt"), *empty = fke_test_path("empty.txt"),
                   *blank = fke_test_path("blank.txt"), *latin = fke_test_path("latin1.txt");
        write_text(empty, "");
        write_text(blank, "\n  \n\r\n");
        write_text(latin, "red dress\ncaf\xe9 noir\n");
        check_refused(o, missing, "missing.txt", "missing tag file");
        check_refused(o, empty, "empty", "empty tag file");
        check_refused(o, blank, "no tags", "blank tag file");
        check_refused(o, latin, "line 2 is not UTF-8", "Latin-1 tag file");
        const char *bad = fke_test_path("bad.png"), *nopic = fke_test_path("nopics");
        write_text(bad, "this is not a picture");
        mkdir(nopic, 0700);
        write_text(fke_test_path("nopics/readme.txt"), "x");
        const char *in1[] = {bad}, *in2[] = {nopic}, *in3[] = {fke_test_path("gone.png")};
        fke_tag_opts b = o;
        b.inputs = in1, b.n_inputs = 1;
        check_refused(b, tA, "bad.png", "unreadable picture");
        b.inputs = in2;
        check_refused(b, tA, "no .png, .jpg or .jpeg", "folder without pictures");
        b.inputs = in3;
        check_refused(b, tA, "gone.png", "missing picture");
        b = o;
        b.ckpt = fke_test_path("posts.h5");
        check_refused(b, tA, "posts.h5", "a dataset as the checkpoint");
        struct stat sb;
        FKE_CHECK(stat(o.out, &sb) != 0, "a refused run left %s", o.out);
    }
    fke_dataset_free(&d);
    return fke_test_finish("tag");
}
