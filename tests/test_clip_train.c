/* test_clip_train.c - task clip trains on FashionKE-synth posts and their
 * captions (3000 training posts drawn at 64 px and trained at 32, batch 32,
 * Adam 0.002). The CNN tower, 200 steps: the symmetric InfoNCE loss falls
 * (the mean of the last 10 steps at least 0.2 below the first 10, and below
 * log B, the loss of a guess), and on 400 held-out posts (the test split, on
 * Fashion-MNIST's test garments) the image->text recall@5 is at least
 * RECALL_X = 2 times chance (5 / 400). Measured here: loss 3.73 -> 3.14,
 * recall@5 0.045 (3.6 x chance), and zero-shot occasion accuracy from the
 * ten names as tags at least chance + ZS_MARGIN on ZS_POSTS other held-out
 * posts (on 400 posts the measurement's own spread, 0.018, made a 0.04 bar
 * fail for one seed in three: seeds 1-3 gave 0.152, 0.107, 0.175). The ViT tower from
 * scratch (patch 8, width 64, depth 2) with img_bn 1, 200 steps, the same
 * two bars: measured loss 3.99 -> 2.99, recall@5 0.035 (2.8 x chance);
 * without img_bn it stays at chance (docs/clip.md). Both are evaluated after
 * RECAL batch-norm passes, as fke train's bn_recalibrate.
 * The CNN tower with clip_crops 1 (each post's whole image and garment
 * crops, a caption scored by the best of them), CROPS_STEPS steps, not
 * strict: finite losses and every trainable tensor reached (the crops' path
 * included); numbers printed, with zero-shot category on the held-out
 * garments' crops (each embedded alone at the crop side). It learns more
 * slowly than the whole-image model: at 200 steps on these 3000 posts
 * category was still 0.125 and recall@5 0.022 (measured), so what it
 * gains is measured by experiments/tags.sh (20000 posts, 2000 steps) and
 * not required here.
 * Also: fke_model_init builds the same clip model as fke_clip_init, a ViT patch that does not divide
 * the image is refused, vit_act quick_gelu reaches every block and a checkpoint keeps it
 * (fke_model_save / fke_model_load, as fke tag and fke eval rebuild the model) while a
 * checkpoint's config without the key reads as gelu, and the first step changes every trainable tensor
 * (none is cut off from the loss).
 *
 *   build/tests/test_clip_train ["key=v key=v"] [cnn|vit] [STEPS]   (settings by hand) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/clip.h"
#include "model/model_io.h"
#include "model/model.h"
#include "data/text.h"
#include "nn/optim.h"
#include "test_fmnist.h"

#define TRAIN_POSTS 3000 /* about 1.6 epochs: captions cannot be memorised */
#define TEST_POSTS 400
#define RECALL_X 2.0 /* recall@5 >= 2 x chance */
#define CNN_STEPS 200
#define VIT_STEPS 200 /* with img_bn 1; without it the ViT stays at chance (docs/clip.md) */
#define SIDE 32       /* posts drawn at 64 px, trained at 32 (fke_dataset_rescale) */
#define RECAL 30 /* batch-norm recalibration passes before the held-out evaluation */
#define CROPS_STEPS 20
#define ZS_POSTS 2000 /* zero-shot occasion is measured on these held-out posts */
#define ZS_MARGIN 0.025 /* zero-shot occasion >= chance (0.1) + 0.025: 3.7 std of a guess on 2000 posts */

static const char *extra; /* argv[1]: one more --set, for trying settings by hand */

static void config(fke_config *c, int vit)
{
    int crops = vit == 2;
    if (crops) vit = 0;
    fke_err e = {{0}};
    fke_config_defaults(c);
    const char *sets[] = {"task=clip", "img=32", "crop=16", "batch=32", "D=32", "Co=32", "embed_dim=64",
                          "optimizer=adam", "lr=0.002", "weight_decay=0", "lr_cnn_mult=1",
                          "threads=2", vit ? "image_tower=vit" : "image_tower=cnn",
                          vit ? "img_bn=1" : "img_bn=0",
                          "vit_patch=8", "vit_width=64", "vit_depth=2", "vit_heads=4",
                          crops ? "clip_crops=1" : "clip_crops=0"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        FKE_CHECK(fke_config_set(c, sets[i], &e) == FKE_OK, "--set %s: %s", sets[i], e.msg);
    for (const char *p = extra; p && *p;) { /* comma-free list separated by spaces */
        char one[128];
        int n = 0;
        while (*p == ' ') p++;
        while (*p && *p != ' ' && n < 127) one[n++] = *p++;
        one[n] = 0;
        if (n) FKE_CHECK(fke_config_set(c, one, &e) == FKE_OK, "--set %s: %s", one, e.msg);
    }
}

/* unit embeddings of every post of ds, in order, into img (N, K) and txt (N, K) */
static fke_status embed_all(fke_clip *m, const fke_dataset *ds, fke_real *img, fke_real *txt,
                            fke_err *e)
{
    fke_loader ld;
    FKE_TRY(fke_loader_init(&ld, ds, m->cfg.batch, 0, 0, 1, e));
    int K = m->cfg.embed_dim, n = 0;
    fke_status st = FKE_OK;
    for (;;) {
        fke_batch *b;
        if ((st = fke_loader_next(&ld, &b, e)) != FKE_OK || !b) break;
        if ((st = fke_clip_forward(m, b, 0, e)) != FKE_OK) break;
        memcpy(img + (size_t)n * K, m->img_u.data, sizeof(fke_real) * b->B * K);
        memcpy(txt + (size_t)n * K, m->txt_u.data, sizeof(fke_real) * b->B * K);
        n += b->B;
    }
    fke_loader_free(&ld);
    if (st == FKE_OK && n != ds->N) st = fke_fail(e, FKE_ERR_ARG, "embedded %d of %d", n, ds->N);
    return st;
}

/* The mean cosine between the image embeddings of the first 64 posts of ds
 * (all pairs): near 1 when the tower maps every picture to one point. */
static double mean_cosine(fke_clip *m, const fke_dataset *ds)
{
    int K = m->cfg.embed_dim, N = ds->N < 64 ? ds->N : 64;
    fke_real *img = malloc(sizeof(fke_real) * (size_t)ds->N * K);
    fke_err e = {{0}};
    double sum = 0;
    long n = 0;
    if (img && fke_clip_embed_posts(m, ds, img, NULL, &e) == FKE_OK)
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++, n++) {
                double d = 0;
                for (int q = 0; q < K; q++) d += (double)img[i * K + q] * img[j * K + q];
                sum += d;
            }
    free(img);
    return n ? sum / n : NAN;
}

/* Zero-shot occasion accuracy over ds's posts, image embeddings img (N, K):
 * each post goes to the occasion whose name, as a tag text tokenised with
 * ds's vocabulary, scores highest (fke tag's rule). NAN on failure. */
static double zero_shot_occasion(fke_clip *m, const fke_dataset *ds, const fke_real *img,
                                 fke_err *e)
{
    int K = m->cfg.embed_dim, L = m->cfg.L, n = ds->n_occ, right = 0, counted = 0;
    fke_tokenizer tk;
    if (fke_tokenizer_init(&tk, ds->vocab, ds->V, e) != FKE_OK) return NAN;
    int32_t *tok = calloc((size_t)L, sizeof *tok);
    fke_real *t = malloc(sizeof(fke_real) * (size_t)n * K);
    fke_status st = tok && t ? FKE_OK : FKE_ERR_NOMEM;
    for (int j = 0; st == FKE_OK && j < n; j++) {
        fke_text_stats ts;
        st = fke_tokenizer_run(&tk, ds->occ_names[j], L, tok, &ts, e);
        if (st == FKE_OK) st = fke_clip_embed_texts(m, tok, 1, t + (size_t)j * K, e);
    }
    for (int i = 0; st == FKE_OK && i < ds->N; i++) {
        if (ds->occ[i] < 0) continue;
        int best = 0;
        double bs = -INFINITY;
        for (int j = 0; j < n; j++) {
            double d = 0;
            for (int q = 0; q < K; q++) d += (double)img[(size_t)i * K + q] * t[(size_t)j * K + q];
            if (d > bs) bs = d, best = j;
        }
        right += best == ds->occ[i];
        counted++;
    }
    fke_tokenizer_free(&tk);
    free(tok);
    free(t);
    return st == FKE_OK && counted ? (double)right / counted : NAN;
}

/* clip_crops: zero-shot category accuracy over ds's garments with a true
 * category, each crop embedded alone at the crop side against the category
 * names as tags. NAN on failure. */
static double zero_shot_category(fke_clip *m, const fke_dataset *ds, fke_err *e)
{
    int K = m->cfg.embed_dim, L = m->cfg.L, n = ds->n_cat, P = ds->crop, right = 0, counted = 0;
    fke_tokenizer tk;
    if (fke_tokenizer_init(&tk, ds->vocab, ds->V, e) != FKE_OK) return NAN;
    int32_t *tok = calloc((size_t)L, sizeof *tok);
    fke_real *t = malloc(sizeof(fke_real) * (size_t)n * K), u[1024];
    fke_real *x = malloc(sizeof(fke_real) * 3 * P * P);
    uint8_t *px = malloc((size_t)3 * P * P);
    fke_status st = tok && t && x && px && K <= 1024 ? FKE_OK : FKE_ERR_NOMEM;
    for (int j = 0; st == FKE_OK && j < n; j++) {
        fke_text_stats ts;
        st = fke_tokenizer_run(&tk, ds->cat_names[j], L, tok, &ts, e);
        if (st == FKE_OK) st = fke_clip_embed_texts(m, tok, 1, t + (size_t)j * K, e);
    }
    for (int i = 0; st == FKE_OK && i < ds->N; i++)
        for (int g = 0; st == FKE_OK && g < ds->n_garments[i]; g++) {
            int y = ds->cat_true ? ds->cat_true[(size_t)i * ds->G + g] : ds->cat[(size_t)i * ds->G + g];
            if (y < 0) continue;
            st = fke_dataset_pixels(ds, i, 1 + g, px, e);
            for (int k = 0; st == FKE_OK && k < 3 * P * P; k++)
                x[k] = (fke_real)((px[k] / 255.0 - FKE_PIXEL_MEAN) / FKE_PIXEL_STD);
            if (st == FKE_OK) st = fke_clip_embed_crops(m, x, 1, u, e);
            int best = 0;
            double bs = -INFINITY;
            for (int j = 0; st == FKE_OK && j < n; j++) {
                double d = 0;
                for (int q = 0; q < K; q++) d += (double)u[q] * t[(size_t)j * K + q];
                if (d > bs) bs = d, best = j;
            }
            right += best == y;
            counted++;
        }
    fke_tokenizer_free(&tk);
    free(tok);
    free(t);
    free(x);
    free(px);
    return st == FKE_OK && counted ? (double)right / counted : NAN;
}

/* Trains one tower for steps steps; with strict, the loss must fall and
 * the held-out recall beat chance, otherwise training only has to run with
 * finite losses and reach every tensor (numbers printed either way). */
static void train(const char *name, int vit, int steps, int strict, const fke_dataset *tr,
                  const fke_dataset *te, const fke_dataset *zs)
{
    fke_err e = {{0}};
    fke_config c;
    config(&c, vit);
    fke_clip m;
    fke_status st = fke_clip_init(&m, &c, NULL, &e);
    if (st == FKE_OK) st = fke_clip_plan(&m, &e);
    FKE_CHECK(st == FKE_OK, "%s: init: %s", name, e.msg);
    if (st != FKE_OK) return;
    fke_set_threads(c.threads);
    fke_loader ld;
    st = fke_loader_init(&ld, tr, c.batch, 1, 0, c.seed, &e);
    FKE_CHECK(st == FKE_OK, "%s: loader: %s", name, e.msg);
    double cos0 = mean_cosine(&m, te);
    fke_optim o = {.lr = c.lr, .beta1 = c.adam_b1, .beta2 = c.adam_b2, .eps = c.adam_eps};
    double first = 0, last = 0, acc[2] = {0, 0};
    fke_real *w0 = malloc(sizeof(fke_real) * m.P->total);
    memcpy(w0, m.P->w, sizeof(fke_real) * m.P->total);
    for (int s = 0; st == FKE_OK && s < steps; s++) {
        fke_batch *b;
        double loss = NAN;
        st = fke_loader_next(&ld, &b, &e);
        if (st == FKE_OK) st = fke_clip_forward(&m, b, 1, &e);
        if (st == FKE_OK) st = fke_clip_loss(&m, &loss, acc, &e);
        fke_params_zero_grad(m.P);
        if (st == FKE_OK) st = fke_clip_backward(&m, &e);
        if (st == FKE_OK) st = fke_optim_check_finite(m.P, &e);
        if (st == FKE_OK) st = fke_optim_adam_step(m.P, &o, &e);
        fke_clip_clamp(&m);
        if (s == 0) { /* every trainable tensor moved: none is cut off from the loss */
            for (int i = 0; i < m.P->n; i++) {
                const fke_param_info *in = &m.P->info[i];
                if (!in->trainable) continue;
                int moved = 0;
                for (size_t k = 0; k < in->numel && !moved; k++)
                    moved = m.P->w[in->offset + k] != w0[in->offset + k];
                FKE_CHECK(moved, "%s: %s has no gradient", name, in->name);
            }
        }
        if (s < 10) first += loss / 10;
        if (s >= steps - 10) last += loss / 10;
    }
    FKE_CHECK(st == FKE_OK, "%s: training: %s", name, e.msg);
    /* precise batch norm before the evaluation, as fke train's bn_recalibrate:
     * forward passes in training mode at the final weights (the running
     * averages lag behind weights that moved) */
    for (int s = 0; st == FKE_OK && s < RECAL; s++) {
        fke_batch *b;
        st = fke_loader_next(&ld, &b, &e);
        if (st == FKE_OK) st = fke_clip_forward(&m, b, 1, &e);
    }
    fke_loader_free(&ld);
    free(w0);
    int K = c.embed_dim, N = te->N;
    fke_real *img = malloc(sizeof(fke_real) * N * K), *txt = malloc(sizeof(fke_real) * N * K);
    double r1 = 0, r5 = 0, r10 = 0, t5 = 0;
    if (st == FKE_OK) st = embed_all(&m, te, img, txt, &e);
    if (st == FKE_OK) st = fke_clip_recall(img, txt, N, K, 1, &r1, &e);
    if (st == FKE_OK) st = fke_clip_recall(img, txt, N, K, 5, &r5, &e);
    if (st == FKE_OK) st = fke_clip_recall(img, txt, N, K, 10, &r10, &e);
    if (st == FKE_OK) st = fke_clip_recall(txt, img, N, K, 5, &t5, &e);
    FKE_CHECK(st == FKE_OK, "%s: held-out: %s", name, e.msg);
    double chance = 5.0 / N, cos1 = mean_cosine(&m, te);
    printf("  %-4s mean cosine of image embeddings: %.3f at the start, %.3f at the end\n", name,
           cos0, cos1);
    printf("  %-4s %d steps of %d: loss %.3f -> %.3f (log B = %.3f); held-out %d posts: "
           "i->t R@1 %.3f R@5 %.3f R@10 %.3f, t->i R@5 %.3f (chance R@5 %.3f)\n",
           name, steps, c.batch, first, last, log((double)c.batch), N, r1, r5, r10, t5, chance);
    FKE_CHECK(isfinite(first) && isfinite(last), "%s: loss %g -> %g", name, first, last);
    if (strict) {
        FKE_CHECK(last < first - 0.2 && last < log((double)c.batch) - 0.05,
                  "%s: loss %.3f -> %.3f did not fall by 0.2 and below log B", name, first, last);
        FKE_CHECK(r5 >= RECALL_X * chance, "%s: image->text recall@5 %.3f < %.1f x chance %.3f",
                  name, r5, RECALL_X, chance);
    }
    if (vit == 2 && st == FKE_OK) { /* zero-shot category on the crops */
        double acc = zero_shot_category(&m, te, &e);
        printf("  %-4s zero-shot category on the held-out garments' crops (tags: the category "
               "names): accuracy %.3f, chance %.3f\n", name, acc, 1.0 / te->n_cat);
        FKE_CHECK(acc >= 0 && acc <= 1, "%s: zero-shot category on crops: %s", name, e.msg);
    }
    if (strict && vit != 1 && st == FKE_OK) { /* zero-shot occasion from tags of the names alone */
        fke_real *zimg = malloc(sizeof(fke_real) * (size_t)zs->N * K);
        double acc = zimg && fke_clip_embed_posts(&m, zs, zimg, NULL, &e) == FKE_OK
                         ? zero_shot_occasion(&m, zs, zimg, &e)
                         : NAN;
        printf("  %-4s zero-shot occasion on %d other held-out posts (tags: the occasion names): "
               "accuracy %.3f, chance %.3f\n", name, zs->N, acc, 1.0 / zs->n_occ);
        FKE_CHECK(acc >= 1.0 / zs->n_occ + ZS_MARGIN, "%s: zero-shot occasion accuracy %.3f is "
                  "not %.3f above chance %.3f (%s)", name, acc, ZS_MARGIN, 1.0 / zs->n_occ, e.msg);
        free(zimg);
    }
    free(img);
    free(txt);
    fke_clip_free(&m);
}

/* vit_act quick_gelu: the blocks use it, a checkpoint keeps it, a config without it is gelu */
static void vit_act_kept(const fke_config *base)
{
    fke_err e = {{0}};
    fke_config c = *base;
    FKE_CHECK(fke_config_set(&c, "vit_act=quick_gelu", &e) == FKE_OK, "%s", e.msg);
    fke_model m, back;
    memset(&back, 0, sizeof back);
    const char *ck = fke_test_path("vit_quick_gelu.h5");
    fke_status st = fke_model_init(&m, &c, &e);
    FKE_CHECK(st == FKE_OK, "vit_act quick_gelu: init: %s", e.msg);
    if (st != FKE_OK) return;
    FKE_CHECK(m.clip && m.clip->vit.quick_gelu == 1, "vit_act quick_gelu did not reach the ViT");
    st = fke_model_save(&m, ck, NULL, &e);
    FKE_CHECK(st == FKE_OK, "save: %s", e.msg);
    if (st == FKE_OK) st = fke_model_load(&back, ck, 0, NULL, &e);
    FKE_CHECK(st == FKE_OK, "load %s: %s", ck, e.msg);
    if (st == FKE_OK) {
        FKE_CHECK(back.cfg.vit_act == FKE_VIT_ACT_QUICK_GELU && back.clip &&
                      back.clip->vit.quick_gelu == 1,
                  "the checkpoint lost vit_act quick_gelu (cfg %d)", (int)back.cfg.vit_act);
        fke_model_free(&back);
    }
    /* an older checkpoint's config, without the key, as fke_model_load reads it */
    char *json = fke_config_to_json(&m.cfg);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    FKE_CHECK(j && cJSON_GetObjectItemCaseSensitive(j, "vit_act"), "no vit_act in %s",
              json ? json : "(null)");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "vit_act");
    char *old = j ? cJSON_PrintUnformatted(j) : NULL;
    fke_config o;
    fke_config_defaults(&o);
    FKE_CHECK(old && fke_config_from_json(&o, old, "old checkpoint", &e) == FKE_OK &&
                  o.vit_act == FKE_VIT_ACT_GELU && o.image_tower == FKE_TOWER_VIT,
              "a config without vit_act: %s", e.msg);
    printf("  vit_act quick_gelu kept by %s; a config without the key reads as gelu\n", ck);
    free(old), cJSON_Delete(j), free(json);
    fke_model_free(&m);
}

int main(int argc, char **argv)
{
    extra = argc > 1 ? argv[1] : NULL;
    const char *only = argc > 2 ? argv[2] : NULL;
    int steps = argc > 3 ? atoi(argv[3]) : 0; /* by hand: the steps of the chosen tower */
    fke_imageset fm, fmt;
    fke_dataset tr, te, zs;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    memset(&zs, 0, sizeof zs);
    if (!fke_test_start("clip_train", &fm)) return fke_test_finish("clip_train");
    fke_err e = {{0}};
    int ok = fke_fmnist_read(FKE_FMNIST_DIR, 1, &fmt, &e) == FKE_OK;
    FKE_CHECK(ok, "Fashion-MNIST test split: %s", e.msg);
    ok = ok && fke_test_synth(&fm, 0, TRAIN_POSTS, 0.0, 31, fke_test_path("train.h5"), &tr) &&
         fke_test_synth(&fmt, 1, TEST_POSTS, 0.0, 32, fke_test_path("test.h5"), &te) &&
         fke_test_synth(&fmt, 1, ZS_POSTS, 0.0, 33, fke_test_path("zero_shot.h5"), &zs);
    if (ok) {
        ok = fke_dataset_rescale(&tr, SIDE, SIDE / 2, 0, &e) == FKE_OK &&
             fke_dataset_rescale(&te, SIDE, SIDE / 2, 0, &e) == FKE_OK &&
             fke_dataset_rescale(&zs, SIDE, SIDE / 2, 0, &e) == FKE_OK;
        FKE_CHECK(ok, "rescale: %s", e.msg);
    }
    if (ok) {
        /* refusals */
        fke_config c;
        config(&c, 1);
        /* fke_model_init builds task clip over its own P: the same table and
         * initial weights as fke_clip_init (fke train goes through it) */
        fke_model fm_model;
        fke_clip alone;
        FKE_CHECK(fke_model_init(&fm_model, &c, &e) == FKE_OK, "fke_model_init, task clip: %s",
                  e.msg);
        FKE_CHECK(fke_clip_init(&alone, &c, NULL, &e) == FKE_OK, "fke_clip_init: %s", e.msg);
        FKE_CHECK(fm_model.clip && fm_model.P.total == alone.P->total &&
                      fm_model.P.n == alone.P->n &&
                      !memcmp(fm_model.P.w, alone.P->w, sizeof(fke_real) * alone.P->total),
                  "fke_model_init's task clip differs from fke_clip_init's");
        fke_clip_free(&alone);
        fke_model_free(&fm_model);
        vit_act_kept(&c);
        FKE_CHECK(fke_config_set(&c, "vit_patch=7", &e) == FKE_OK, "%s", e.msg);
        fke_clip m;
        FKE_CHECK(fke_clip_init(&m, &c, NULL, &e) == FKE_ERR_CONFIG && strstr(e.msg, "vit_patch"),
                  "vit_patch 7 with img 64 accepted: %s", e.msg);
        fke_clip_free(&m);
        if (!only || !strcmp(only, "cnn")) train("cnn", 0, steps ? steps : CNN_STEPS, 1, &tr, &te, &zs);
        if (!only || !strcmp(only, "vit")) train("vit", 1, steps ? steps : VIT_STEPS, 1, &tr, &te, &zs);
        if (!only || !strcmp(only, "crops"))
            train("crops", 2, steps ? steps : CROPS_STEPS, 0, &tr, &te, &zs);
    }
    fke_dataset_free(&tr);
    fke_dataset_free(&te);
    fke_dataset_free(&zs);
    return fke_test_finish("clip_train");
}
