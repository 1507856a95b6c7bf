/* cmd_data.c - `fke data ...`: the table of data subcommands and the small
 * ones: import Fashion-MNIST, generate FashionKE-synth, show a post as a
 * PNG, print a dataset's statistics. corrupt, reveal and import have files
 * of their own (cmd_data_corrupt.c, cmd_data_reveal.c, cmd_data_import*.c,
 * cmd_data_vocab.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "data/fmnist.h"
#include "data/synth.h"
#include "data/synth_release.h"
#include "run/show.h"

/* Each subcommand's usage (after "usage: ") is also its part of `fke data --help`. */
static const char fmnist_usage[] =
    "fke data fmnist [--dir DIR] --out DIR\n"
    "         import Fashion-MNIST (DIR default " FKE_FMNIST_DIR ")\n"
    "         into OUT/fmnist-train.h5 and OUT/fmnist-test.h5\n";
static const char synth_usage[] =
    "fke data synth --out FILE [--version 2|3] [--split train|test|val] [--posts N]\n"
    "         [--noise-ratio R] [--flip-rate F] [--missing M] [--seed S] [--dir DIR]\n"
    "         [--img S --crop P] [--store raw|jpeg] [--quality Q]\n"
    "         build FashionKE-synth (defaults: version 2; train 4000 posts, test 1000,\n"
    "         val 500; R 0.7; F 0.3). val: clean posts from the last 10,000 training\n"
    "         images, which version 3's training posts never use. Posts are 64 px with\n"
    "         32 px crops; --img/--crop resize them (e.g. 224 for fke-paper), --store\n"
    "         jpeg keeps the pixels as JPEG at Q (92)\n"
    "fke data synth --release DIR [--posts N] [--test-posts M] [--noise-ratio R]\n"
    "         [--flip-rate F] [--seed S] [--dir DIR]\n"
    "         version 3 as a FashionKE release tree (train N 4000, test M 1000) for\n"
    "         fke data import fashionke DIR\n";
static const char show_usage[] =
    "fke data show FILE --post I --out PNG [--pred CKPT] [--json]\n"
    "         draw post I (image, garment boxes, the wearer, crops, labels) into a PNG;\n"
    "         --pred: the model's predictions beside the truth, with probabilities,\n"
    "         mistakes marked; --json: the size and every prediction as JSON\n";
static const char info_usage[] =
    "fke data info FILE\n"
    "         sizes, label distributions, clean share, transition matrices\n";
/* reveal's own usage is longer (cmd_data_reveal.c) */
static const char reveal_summary[] =
    "fke data reveal FILE QUERY.jsonl OUT\n"
    "         the queried posts get their true labels and become clean (active learning)\n";

static int fail(const char *what, const fke_err *e)
{
    fprintf(stderr, "fke data %s: %s\n", what, e->msg);
    return 1;
}

static int cmd_fmnist(int argc, char **argv)
{
    const char *dir = FKE_FMNIST_DIR, *out = NULL;
    const fke_cli_opt opts[] = {
        {"--dir", "DIR", FKE_CLI_STR, .dst = &dir},
        {"--out", "DIR", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {0}};
    const fke_cli cli = {"fke data fmnist", fmnist_usage, opts, "", 0, 0, NULL, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    mkdir(out, 0777);
    fke_err e = {""};
    for (int t = 0; t < 2; t++) {
        fke_imageset s;
        if (fke_fmnist_read(dir, t, &s, &e)) return fail("fmnist", &e);
        char path[1024];
        snprintf(path, sizeof path, "%s/fmnist-%s.h5", out, t ? "test" : "train");
        fke_status st = fke_imageset_save(&s, path, &e);
        int n = s.N;
        fke_imageset_free(&s);
        if (st) return fail("fmnist", &e);
        printf("%s: %d images 1x28x28, 10 classes\n", path, n);
    }
    return 0;
}

/* --release: version 3's train and test splits written as a release tree */
static int synth_release(const char *fm_dir, const char *dir, const fke_synth_opts *o_train,
                         long test_posts)
{
    fke_err e = {""};
    fke_dataset d[2];
    fke_synth_pictures p[2];
    memset(d, 0, sizeof d);
    memset(p, 0, sizeof p);
    fke_status st = FKE_OK;
    long ng = 0;
    for (int s = 0; s < 2 && !st; s++) {
        fke_synth_opts o = *o_train;
        if (s) {
            fke_synth_defaults(&o, FKE_SYNTH_TEST);
            o.version = 3, o.seed = o_train->seed, o.flip_rate = o_train->flip_rate;
            if (test_posts > 0) o.posts = (int)test_posts;
        }
        fke_imageset g;
        st = fke_fmnist_read(fm_dir, s, &g, &e);
        char src[600];
        fke_fmnist_image_path(fm_dir, s, src, sizeof src);
        if (!st) st = fke_synth_generate(&o, &g, src, &d[s], &p[s], &e);
        fke_imageset_free(&g);
        for (int i = 0; !st && i < d[s].N; i++) ng += d[s].n_garments[i];
    }
    if (!st)
        st = fke_synth_release_write(dir, &d[0], &p[0], o_train->noise_ratio, &d[1], &p[1],
                                     o_train->seed, &e);
    int nc = 0;
    for (int i = 0; !st && i < d[0].N; i++) nc += d[0].clean[i];
    if (!st)
        printf("%s: FashionKE-synth version 3 as a FashionKE release: %d training posts (%d "
               "clean, %d machine-labelled), %d test posts, %ld garments; train_ids_%.1f.json, "
               "test_ids.json\n",
               dir, d[0].N, nc, d[0].N - nc, d[1].N, ng, o_train->noise_ratio);
    for (int s = 0; s < 2; s++) {
        fke_dataset_free(&d[s]);
        fke_synth_pictures_free(&p[s]);
    }
    return st ? fail("synth", &e) : 0;
}

static int cmd_synth(int argc, char **argv)
{
    const char *dir = FKE_FMNIST_DIR, *out = NULL, *release = NULL;
    int split = 0, version_i = -1;
    long posts = -1, seed = 1, test_posts = -1;
    double nr = -1, fr = -1, miss = 0;
    long img = 0, crop = 0, quality = 92;
    int store = 0;
    const fke_cli_opt opts[] = {
        {"--out", "FILE", FKE_CLI_STR, .dst = &out},
        {"--release", "DIR", FKE_CLI_STR, .dst = &release},
        {"--version", "2|3", FKE_CLI_CHOICE, .dst = &version_i,
         .choices = (const char *const[]){"2", "3", NULL}},
        {"--test-posts", "M", FKE_CLI_INT, .dst = &test_posts, .lo = 1, .hi = 10000000},
        {"--dir", "DIR", FKE_CLI_STR, .dst = &dir},
        {"--img", "S", FKE_CLI_INT, .dst = &img, .lo = 8, .hi = 4096},
        {"--crop", "P", FKE_CLI_INT, .dst = &crop, .lo = 8, .hi = 4096},
        {"--store", "raw|jpeg", FKE_CLI_CHOICE, .dst = &store,
         .choices = (const char *const[]){"raw", "jpeg", NULL}},
        {"--quality", "Q", FKE_CLI_INT, .dst = &quality, .lo = 1, .hi = 100},
        {"--split", "train|test|val", FKE_CLI_CHOICE, .dst = &split,
         .choices = (const char *const[]){"train", "test", "val", NULL}},
        {"--posts", "N", FKE_CLI_INT, .dst = &posts, .lo = 1, .hi = 10000000},
        {"--seed", "S", FKE_CLI_INT, .dst = &seed, .lo = 0, .hi = 0x7fffffffL},
        {"--noise-ratio", "R", FKE_CLI_REAL, .dst = &nr, .lo = 0, .hi = 1},
        {"--flip-rate", "F", FKE_CLI_REAL, .dst = &fr, .lo = 0, .hi = 1, .flags = FKE_CLI_OPEN_HI},
        {"--missing", "M", FKE_CLI_REAL, .dst = &miss, .lo = 0, .hi = 1, .flags = FKE_CLI_OPEN_HI},
        {0}};
    const fke_cli cli = {"fke data synth", synth_usage, opts, "", 0, 0, NULL, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    if (!out == !release) return fke_cli_usage_error(&cli, "give --out FILE or --release DIR");
    if (release && (split || version_i == 0 || img || crop || store || miss > 0))
        return fke_cli_usage_error(&cli, "--release writes version 3's train and test splits; "
                                         "--split, --version 2, --img, --crop, --store and "
                                         "--missing go with --out");
    if (!release && test_posts > 0)
        return fke_cli_usage_error(&cli, "--test-posts goes with --release");
    split = split == 2 ? FKE_SYNTH_VAL : split;
    fke_synth_opts o;
    fke_synth_defaults(&o, split);
    o.version = release || version_i == 1 ? 3 : 2;
    if (posts > 0) o.posts = (int)posts;
    if (nr >= 0) o.noise_ratio = nr;
    if (split != FKE_SYNTH_TRAIN && o.noise_ratio > 0)
        return fke_cli_usage_error(&cli, "the test and val splits are all clean (--noise-ratio must be 0)");
    if (fr >= 0) o.flip_rate = fr;
    o.missing = split ? 0 : miss;
    o.seed = (uint64_t)seed;
    if (release) return synth_release(dir, release, &o, test_posts);
    fke_err e = {""};
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fke_imageset g;
    if (fke_fmnist_read(dir, split == FKE_SYNTH_TEST, &g, &e)) return fail("synth", &e);
    char src[600];
    fke_fmnist_image_path(dir, split == FKE_SYNTH_TEST, src, sizeof src);
    fke_dataset d;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fke_status st = fke_synth_generate(&o, &g, src, &d, NULL, &e);
    fke_imageset_free(&g);
    if (st) return fail("synth", &e);
    if (img || crop || store) {
        st = fke_dataset_rescale(&d, img ? (int)img : d.img, crop ? (int)crop : d.crop,
                                 store ? (int)quality : 0, &e);
        if (st) {
            fke_dataset_free(&d);
            return fail("synth", &e);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    st = fke_dataset_save(&d, out, &e);
    int nc = 0;
    long ng = 0;
    for (int i = 0; i < d.N; i++) nc += d.clean[i], ng += d.n_garments[i];
    fke_dataset_free(&d);
    if (st) return fail("synth", &e);
    struct timespec t3;
    clock_gettime(CLOCK_MONOTONIC, &t3);
#define SEC(a, b) ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9)
    printf("%s: FashionKE-synth version %d %s, %d posts (%d clean, %d machine-labelled), %ld garments, "
           "image %ld, crop %ld; read %.2f s, generate %.2f s, write %.2f s\n",
           out, o.version, split == FKE_SYNTH_TEST ? "test" : split == FKE_SYNTH_VAL ? "val" : "train", o.posts, nc, o.posts - nc, ng, img ? img : 64,
           crop ? crop : 32, SEC(t0, t1), SEC(t1, t2), SEC(t2, t3));
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *ckpt = NULL;
    long post = -1;
    int json = 0;
    const fke_cli_opt opts[] = {
        {"--post", "I", FKE_CLI_INT, .dst = &post, .lo = 0, .hi = 0x7fffffffL,
         .flags = FKE_CLI_REQUIRED},
        {"--out", "PNG", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--pred", "CKPT", FKE_CLI_STR, .dst = &ckpt},
        {"--json", NULL, FKE_CLI_FLAG, .dst = &json},
        {0}};
    const fke_cli cli = {"fke data show", show_usage, opts, "FILE", 1, 1, &file, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {""};
    fke_show_opts o = {.data = file, .post = post, .out = out, .ckpt = ckpt,
                       .json = json ? stdout : NULL};
    fke_show_result r;
    fke_status st = fke_show_post(&o, &r, &e);
    if (st) {
        fail("show", &e);
        return st == FKE_ERR_ARG ? 2 : 1;
    }
    if (json) return 0;
    if (ckpt)
        printf("%s: post %ld of %s, %dx%d; %s: %d garments, %d of %d predictions wrong "
               "(marked with a red cross)\n",
               out, post, file, r.w, r.h, ckpt, r.garments, r.mistakes, r.checked);
    else
        printf("%s: post %ld of %s, %dx%d\n", out, post, file, r.w, r.h);
    return 0;
}

static void print_dist(const char *title, char *const *names, const int32_t *v, size_t n,
                       size_t stride, int nc)
{
    long cnt[64] = {0}, miss = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        int x = v[i * stride];
        if (x == -2) continue;
        tot++;
        if (x < 0) miss++;
        else if (x < 64) cnt[x]++;
    }
    printf("  %-18s", title);
    for (int k = 0; k < nc && k < 64; k++)
        printf(" %s %.1f%%", names[k], tot ? 100.0 * cnt[k] / tot : 0.0);
    if (miss) printf("  missing %.1f%%", 100.0 * miss / tot);
    printf("\n");
}

static int cmd_info(int argc, char **argv)
{
    const char *file = NULL;
    const fke_cli cli = {"fke data info", info_usage, NULL, "FILE", 1, 1, &file, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {""};
    /* an image set or a post set? */
    fke_imageset s;
    if (fke_file_is_imageset(file)) { /* its own errors, not the post format's */
        if (fke_imageset_load(&s, file, &e)) return fail("info", &e);
        printf("%s: image set, %d images %dx%dx%d, %d classes\n", file, s.N, s.C, s.H, s.W, s.n_cls);
        print_dist("labels", s.class_names, s.labels, s.N, 1, s.n_cls);
        if (s.labels_true) {
            print_dist("true labels", s.class_names, s.labels_true, s.N, 1, s.n_cls);
            long changed = 0;
            for (int i = 0; i < s.N; i++) changed += s.labels[i] != s.labels_true[i];
            printf("  noisy labels (%s): %.2f%% changed\n", s.noise[0] ? s.noise : "?",
                   s.N ? 100.0 * changed / s.N : 0.0);
        }
        fke_imageset_free(&s);
        return 0;
    }
    fke_dataset d;
    if (fke_dataset_load(&d, file, &e)) return fail("info", &e);
    int G = d.G, A = d.A;
    long nc = 0, ng = 0, *hist = calloc((size_t)G + 1, sizeof *hist); /* 0..G garments */
    if (!hist) {
        fke_dataset_free(&d);
        fprintf(stderr, "fke data info: no memory\n");
        return 1;
    }
    for (int i = 0; i < d.N; i++) {
        nc += d.clean[i];
        ng += d.n_garments[i];
        hist[d.n_garments[i]]++; /* 0..G: the loader checked */
    }
    printf("%s: %d posts, %ld garments (G %d), image 3x%dx%d, crop 3x%dx%d, caption %d tokens, "
           "vocabulary %d\n",
           file, d.N, ng, G, d.img, d.img, d.crop, d.crop, d.L, d.V);
    if (d.generator[0]) printf("  generator: %s\n  source: %s\n", d.generator, d.src_file);
    if (d.jpeg_quality)
        printf("  pixels: JPEG quality %d, %lld bytes (%.1f kB a post; raw would be %lld)\n",
               d.jpeg_quality, (long long)fke_dataset_pixel_bytes(&d),
               d.N ? fke_dataset_pixel_bytes(&d) / 1000.0 / d.N : 0.0,
               (long long)d.N * 3 * ((long long)d.img * d.img + (long long)G * d.crop * d.crop));
    printf("  clean posts %ld (%.1f%%), machine-labelled %ld\n", nc, 100.0 * nc / d.N, d.N - nc);
    printf("  garments per post:");
    for (int k = 0; k <= G; k++) printf(" %d: %.1f%%", k, 100.0 * hist[k] / d.N);
    free(hist);
    printf("\n  label distributions (training labels, garments of every post):\n");
    print_dist("occasion", d.occ_names, d.occ, d.N, 1, d.n_occ);
    size_t NG = (size_t)d.N * G;
    int32_t *tmp = malloc(NG * sizeof *tmp);
    if (!tmp) {
        fke_dataset_free(&d);
        fprintf(stderr, "fke data info: no memory\n");
        return 1;
    }
    for (size_t i = 0; i < NG; i++) tmp[i] = (int)(i % G) < d.n_garments[i / G] ? d.cat[i] : -2;
    print_dist("category", d.cat_names, tmp, NG, 1, d.n_cat);
    for (int a = 0; a < A; a++) {
        for (size_t i = 0; i < NG; i++)
            tmp[i] = (int)(i % G) < d.n_garments[i / G] ? d.attr[i * A + a] : -2;
        print_dist(d.attr_names[a], d.val_names[a], tmp, NG, 1, d.n_val[a]);
    }
    free(tmp);
    printf("  transition matrices (garments with both a true and a machine label):\n");
    for (int t = 0; t <= A; t++) {
        int n = fke_dataset_T_side(&d, t);
        float *Te = calloc((size_t)n * n, sizeof(float));
        long used = Te ? fke_dataset_T_empirical(&d, t, Te, NULL) : -1;
        const char *nm = t ? d.attr_names[t - 1] : "category";
        if (used <= 0) {
            printf("    %-10s no garment carries both labels\n", nm);
        } else {
            double agree = 0;
            for (int i = 0; i < n; i++) agree += Te[i * n + i];
            printf("    %-10s %ld garments, mean diagonal (empirical) %.3f", nm, used, agree / n);
            if (d.T_true) {
                const float *Tt = d.T_true + fke_dataset_T_offset(&d, t);
                double mae = 0, mx = 0, dg = 0;
                for (int i = 0; i < n * n; i++) {
                    double df = Te[i] > Tt[i] ? Te[i] - Tt[i] : Tt[i] - Te[i];
                    mae += df;
                    if (df > mx) mx = df;
                }
                for (int i = 0; i < n; i++) dg += Tt[i * n + i];
                printf(", true %.3f; |empirical - true| mean %.4f max %.4f", dg / n, mae / (n * n), mx);
            }
            printf("\n");
        }
        free(Te);
    }
    fke_dataset_free(&d);
    return 0;
}

static const fke_command subcommands[] = {
    {"fmnist", cmd_fmnist, fmnist_usage},
    {"synth", cmd_synth, synth_usage},
    {"show", cmd_show, show_usage},
    {"info", cmd_info, info_usage},
    {"corrupt", fke_cmd_data_corrupt, fke_data_corrupt_usage},
    {"reveal", fke_cmd_data_reveal, reveal_summary},
    {"import", fke_cmd_data_import, fke_data_import_usage},
    {"vocab", fke_cmd_data_vocab, fke_data_vocab_usage},
};
#define N_SUB (sizeof subcommands / sizeof subcommands[0])

/* Every subcommand's lines, the first after "usage: ", the rest aligned under it. */
static void data_usage(FILE *f)
{
    for (size_t i = 0; i < N_SUB; i++) fprintf(f, "%s%s", i ? "       " : "usage: ", subcommands[i].help);
}

int fke_cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        data_usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        data_usage(stdout);
        printf("%s\n", FKE_CLI_DOCS);
        return 0;
    }
    for (size_t i = 0; i < N_SUB; i++)
        if (!strcmp(sub, subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "fke data: unknown subcommand '%s'\n", sub);
    data_usage(stderr);
    return 2;
}
