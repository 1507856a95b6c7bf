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
 *   - a calibration (Platt scaling, fke_tag_calibrate) fitted on the posts:
 *     its mean probability equals the positives' share (the likelihood's
 *     stationary point), measuring it again gives the same ECE, each tag's
 *     "p" is sigmoid(a score + b) and, like the score, does not move when a
 *     tag is added; a calibration of another checkpoint is refused;
 *   - a clip_crops model: a post's score for a tag is the highest cosine of
 *     its whole image and its garment crops, each embedded alone;
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
#include "model/model_io.h"
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

static double p_of(const cJSON *line, const char *tag)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(line, "tags"))
        if (!strcmp(cJSON_GetObjectItem(t, "tag")->valuestring, tag)) {
            const cJSON *p = cJSON_GetObjectItem(t, "p");
            return p ? p->valuedouble : NAN;
        }
    return NAN;
}

/* A short fke train run of task clip on posts.h5 into run; extra --set's. */
static int train_clip(const char *run, const char *extra, fke_err *e)
{
    fke_config c;
    fke_config_defaults(&c);
    const char *sets[] = {"task=clip", "batch=16", "D=16", "Co=16", "embed_dim=32",
                          "optimizer=adam", "lr=0.002", "weight_decay=0", "steps=6",
                          "eval_every=6", "bn_recalibrate=2", "val_split=0.2", "threads=2", extra};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (sets[i]) FKE_CHECK(fke_config_set(&c, sets[i], e) == FKE_OK, "--set %s: %s", sets[i], e->msg);
    snprintf(c.train_data, sizeof c.train_data, "%s", fke_test_path("posts.h5"));
    snprintf(c.out_dir, sizeof c.out_dir, "%s", run);
    fke_train_opts to = {.progress = NULL};
    fke_train_result tr;
    int ok = fke_train(&c, &to, &tr, e) == FKE_OK;
    FKE_CHECK(ok, "fke train, task clip (%s): %s", extra ? extra : "", e->msg);
    FKE_CHECK(!ok || (tr.steps == 6 && tr.best_step == 6 && tr.best_score >= 0),
              "run: %ld steps, best step %ld, score %g", tr.steps, tr.best_step, tr.best_score);
    return ok;
}

/* post i's crop of garment g, normalised as the loader does, into x (3, P, P) */
static void crop_pixels(const fke_dataset *d, int i, int g, fke_real *x)
{
    fke_err e = {{0}};
    int P = d->crop;
    uint8_t *px = malloc((size_t)3 * P * P);
    FKE_CHECK(px && fke_dataset_pixels(d, i, 1 + g, px, &e) == FKE_OK, "crop pixels: %s", e.msg);
    for (int k = 0; px && k < 3 * P * P; k++)
        x[k] = (fke_real)((px[k] / 255.0 - FKE_PIXEL_MEAN) / FKE_PIXEL_STD);
    free(px);
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
    if (ok) ok = train_clip(run, NULL, &e);
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
    /* a calibration fitted on the posts */
    const char *calf = fke_test_path("cal.json"), *tocc = fke_test_path("occ.txt"),
               *tcat = fke_test_path("cat.txt");
    if (ok) {
        write_text(tocc, "wedding\noffice\nparty\nbeach\nsport\ncasual\ntravel\ndate\ncampus\nwinter\n");
        write_text(tcat, "tshirt\ntrousers\npullover\ndress\ncoat\nsandals\nshirt\nsneakers\nbag\nboots\n");
        char f1[600], f2[600];
        snprintf(f1, sizeof f1, "occasion=%s", tocc);
        snprintf(f2, sizeof f2, "category=%s", tcat);
        const char *fits[] = {f1, f2};
        fke_tag_opts co = {.ckpt = ckpt, .data = fke_test_path("posts.h5"), .threshold = -INFINITY};
        fke_calib_result r, r2;
        FKE_CHECK(fke_tag_calibrate(&co, fits, 2, calf, &r, &e) == FKE_OK, "calibrate: %s", e.msg);
        FKE_CHECK(r.pairs == 20L * POSTS && r.positives > 0 && r.positives < r.pairs,
                  "calibration: %ld pairs (want %d), %ld positives", r.pairs, 20 * POSTS, r.positives);
        FKE_CHECK(isfinite(r.cal.a) && isfinite(r.cal.b) &&
                      fabs(r.mean_p - (double)r.positives / r.pairs) < 1e-6,
                  "calibration a %g b %g: mean p %.9f, positives' share %.9f", r.cal.a, r.cal.b,
                  r.mean_p, (double)r.positives / r.pairs);
        co.calibration = calf;
        FKE_CHECK(fke_tag_calibrate(&co, fits, 2, NULL, &r2, &e) == FKE_OK &&
                      r2.cal.a == r.cal.a && r2.cal.b == r.cal.b && fabs(r2.ece - r.ece) < 1e-12,
                  "the calibration read back: %s (a %g / %g, ece %g / %g)", e.msg, r2.cal.a,
                  r.cal.a, r2.ece, r.ece);
        /* "p" beside every tag, from the score alone */
        fke_tag_opts pc = o;
        pc.calibration = calf;
        pc.tags = tA, pc.out = fke_test_path("pa.jsonl");
        FKE_CHECK(fke_tag_run(&pc, NULL, &e) == FKE_OK, "tag with a calibration: %s", e.msg);
        pc.tags = tB, pc.out = fke_test_path("pb.jsonl");
        FKE_CHECK(fke_tag_run(&pc, NULL, &e) == FKE_OK, "tag b.txt with a calibration: %s", e.msg);
        cJSON *A = read_lines(fke_test_path("pa.jsonl")), *B = read_lines(fke_test_path("pb.jsonl"));
        const char *kept[] = {"red dress", "beach", "blue coat", "winter"};
        for (int i = 0; A && B && i < cJSON_GetArraySize(A); i++) {
            const cJSON *la = cJSON_GetArrayItem(A, i), *lb = cJSON_GetArrayItem(B, i);
            for (int k = 0; k < 4; k++) {
                double sc = score_of(la, kept[k]), pa = p_of(la, kept[k]), pb = p_of(lb, kept[k]);
                double want = 1 / (1 + exp(-(r.cal.a * sc + r.cal.b)));
                FKE_CHECK(fabs(pa - want) < 1e-9 && pa == pb, "%s '%s': p %.12g, sigmoid %.12g, "
                          "with one more tag %.12g", inputs[i], kept[k], pa, want, pb);
            }
        }
        cJSON_Delete(A);
        cJSON_Delete(B);
    }
    /* a clip_crops model: posts scored by their whole image and crops */
    const char *run2 = fke_test_path("run_crops"), *ck2 = fke_test_path("run_crops/best.h5");
    if (ok && train_clip(run2, "clip_crops=1", &e)) {
        fke_tag_opts mo = o;
        mo.ckpt = ck2, mo.inputs = NULL, mo.n_inputs = 0, mo.data = fke_test_path("posts.h5");
        mo.tags = tA, mo.out = fke_test_path("crops.jsonl");
        FKE_CHECK(fke_tag_run(&mo, NULL, &e) == FKE_OK, "tag --data, clip_crops: %s", e.msg);
        cJSON *M = read_lines(mo.out);
        FKE_CHECK(M && cJSON_GetArraySize(M) == POSTS, "clip_crops: one line per post");
        fke_model m;
        int have = fke_model_load(&m, ck2, 0, NULL, &e) == FKE_OK;
        FKE_CHECK(have && m.cfg.clip_crops, "load %s: %s", ck2, e.msg);
        fke_tagset ts;
        int have_t = have && fke_tags_read(tA, &ts, &e) == FKE_OK &&
                     fke_tags_embed(&m, ck2, tA, &ts, NULL, 1, NULL, &e) == FKE_OK;
        FKE_CHECK(have_t, "tags: %s", e.msg);
        int K = have ? m.cfg.embed_dim : 1, S = d.img, from_crop = 0;
        fke_real *x = malloc(sizeof(fke_real) * 3 * S * S), *u = malloc(sizeof(fke_real) * K * 6);
        for (int i = 0; have_t && M && i < 8; i++) { /* the first posts, one by one */
            fke_batch b;
            int32_t id = i;
            FKE_CHECK(fke_batch_of_posts(&d, &id, 1, &b, &e) == FKE_OK, "batch: %s", e.msg);
            FKE_CHECK(fke_clip_embed_images(m.clip, b.img_x, 1, u, &e) == FKE_OK, "image: %s", e.msg);
            fke_batch_free(&b);
            int ng = d.n_garments[i];
            for (int g = 0; g < ng; g++) {
                crop_pixels(&d, i, g, x);
                FKE_CHECK(fke_clip_embed_crops(m.clip, x, 1, u + (size_t)(1 + g) * K, &e) == FKE_OK,
                          "crop: %s", e.msg);
            }
            for (int k = 0; k < ts.n; k++) {
                double best = -INFINITY;
                int arg = 0;
                for (int r = 0; r <= ng; r++) {
                    double dd = 0;
                    for (int q = 0; q < K; q++) dd += (double)u[(size_t)r * K + q] * ts.emb[(size_t)k * K + q];
                    if (dd > best) best = dd, arg = r;
                }
                from_crop += arg > 0;
                double got = score_of(cJSON_GetArrayItem(M, i), ts.text[k]);
                FKE_CHECK(fabs(got - best) < 1e-5, "post %d, tag '%s': score %.9f, the best of "
                          "its image and %d crops %.9f", i, ts.text[k], got, ng, best);
            }
        }
        FKE_CHECK(from_crop > 0, "no post score came from a crop");
        free(x);
        free(u);
        if (have_t) fke_tagset_free(&ts);
        if (have) fke_model_free(&m);
        cJSON_Delete(M);
        fke_zeroshot_result zr;
        FKE_CHECK(fke_tag_zeroshot(ck2, mo.data, "category", tcat, NULL, NULL, &zr, &e) == FKE_OK &&
                      zr.n > POSTS && zr.acc >= 0 && zr.acc <= 1,
                  "zero-shot category on crops: %s (%ld garments, acc %g)", e.msg, zr.n, zr.acc);
        /* a calibration of the other checkpoint is refused */
        fke_tag_opts bo = mo;
        bo.calibration = calf;
        check_refused(bo, tA, "cal.json was fitted for a checkpoint", "another model's calibration");
        write_text(fke_test_path("notcal.json"), "{\"a\": 1}");
        bo.calibration = fke_test_path("notcal.json");
        check_refused(bo, tA, "notcal.json: not a tag calibration", "a JSON file not a calibration");
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
