/* cmd_tag.c - `fke tag`: tags by image-text matching with a task clip model,
 * from a tag file read at run time, and search by text over an index
 * (run/tag.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "run/tag.h"

static const char usage[] =
    "fke tag CKPT IMAGE... --tags TAGS.txt [--top K] [--threshold S] [--out FILE.jsonl]\n"
    "       fke tag CKPT --data DATA.h5 --tags TAGS.txt [...]\n"
    "       fke tag CKPT (IMAGE|FOLDER)... --index INDEX.h5      (or --data DATA.h5)\n"
    "       fke tag [CKPT] --index INDEX.h5 --query TEXT [--query TEXT] [--top K]\n"
    "       fke tag CKPT --data DATA.h5 --zero-shot FIELD --tags TAGS.txt\n"
    "                    [--pair FIELD2 --tags2 TAGS2.txt]\n"
    "       fke tag CKPT --data VAL.h5 --calibrate CALIB.json --fit FIELD=TAGS.txt...\n"
    "       fke tag CKPT --data TEST.h5 --calibration CALIB.json --fit FIELD=TAGS.txt...\n"
    "  CKPT is a task clip checkpoint (configs/clip-synth.json). TAGS.txt holds one\n"
    "  tag a line, free UTF-8 text (\"red dress\", \"beach\"), read by the caption\n"
    "  rules with the checkpoint's vocabulary: unknown words become <unk> and are\n"
    "  reported. Pictures are JPEG or PNG files, or folders of them (*.png, *.jpg,\n"
    "  *.jpeg, by name).\n"
    "  One JSON line per picture or post: its tags by falling score, each with the\n"
    "  cosine \"score\" of picture and tag embeddings (a tag's score never depends\n"
    "  on the other tags) and \"prob\", the softmax over all the file's tags with\n"
    "  the model's learned temperature (which does); with --calibration, \"p\",\n"
    "  the tag's own calibrated probability sigmoid(a score + b) (which does not).\n"
    "  --top K          the K best tags (default all)\n"
    "  --threshold S    only tags with score >= S (cosine, -1..1)\n"
    "  --cache DIR      where tag embeddings are cached, by the hashes of the\n"
    "                   checkpoint and the tag file (default $FKE_CACHE_DIR, else\n"
    "                   $XDG_CACHE_HOME/fke/tags, else ~/.cache/fke/tags)\n"
    "  --no-cache       neither read nor write the cache\n"
    "  --index FILE     without --query: embed the pictures (or --data's posts) once\n"
    "                   into FILE; with --query: rank FILE's pictures by each text\n"
    "                   (CKPT defaults to the checkpoint the index was built with)\n"
    "  --zero-shot FIELD  accuracy against DATA's labels: FIELD is occasion (each\n"
    "                   post's image), category or an attribute such as colour (each\n"
    "                   garment's crop); TAGS.txt has one line per class, in the\n"
    "                   dataset's order. With --pair FIELD2 --tags2 TAGS2.txt: dynamic\n"
    "                   tags \"A B\" of every pair of lines (\"blue coat\"), each post's\n"
    "                   best n_garments pairs against the pairs it has (precision,\n"
    "                   recall, and random picks' precision). One JSON line.\n"
    "  --calibrate OUT.json  fits p = sigmoid(a score + b) by maximum likelihood on\n"
    "                   every (post, class tag) pair of DATA for the --fit tag files\n"
    "                   (positive: the post has that class), and writes it to OUT\n"
    "  --calibration FILE   adds \"p\" to each tag; with --fit and no --tags: measures\n"
    "                   FILE on DATA (expected calibration error over 10 bins, Brier\n"
    "                   score, reliability bins). One JSON line.\n"
    "  --fit FIELD=TAGS.txt  a field (occasion, category, colour, ...) and its class\n"
    "                   tags, one line per class in the dataset's order (repeatable)\n";

static void print_calib(const char *data, const char *file, const fke_calib_result *r)
{
    printf("{\"data\": \"%s\", \"calibration\": \"%s\", \"a\": %.6f, \"b\": %.6f, "
           "\"pairs\": %ld, \"positives\": %ld, \"base_rate\": %.6f, \"mean_p\": %.6f, "
           "\"ece\": %.6f, \"brier\": %.6f, \"bins\": [", data, file, r->cal.a, r->cal.b,
           r->pairs, r->positives, r->pairs ? (double)r->positives / r->pairs : 0, r->mean_p,
           r->ece, r->brier);
    for (int k = 0; k < FKE_CALIB_BINS; k++)
        printf("%s{\"lo\": %.1f, \"n\": %ld, \"mean_p\": %.6f, \"positive\": %.6f}",
               k ? ", " : "", (double)k / FKE_CALIB_BINS, r->bin_n[k],
               r->bin_n[k] ? r->bin_p[k] / r->bin_n[k] : 0,
               r->bin_n[k] ? (double)r->bin_pos[k] / r->bin_n[k] : 0);
    printf("]}\n");
}

int fke_cmd_tag(int argc, char **argv)
{
    fke_tag_opts o;
    memset(&o, 0, sizeof o);
    o.threshold = -INFINITY;
    const char *pos[1024];
    int npos = 0, no_cache = 0;
    long top = 0;
    double thr = -INFINITY;
    const char *index = NULL;
    fke_cli_list queries = {{0}, 0};
    const char *zs = NULL, *pair = NULL, *tags2 = NULL, *calibrate = NULL;
    fke_cli_list fits = {{0}, 0};
    const fke_cli_opt opts[] = {
        {"--tags", "TAGS.txt", FKE_CLI_STR, .dst = &o.tags},
        {"--top", "K", FKE_CLI_INT, .dst = &top, .lo = 1, .hi = 1000000},
        {"--threshold", "S", FKE_CLI_REAL, .dst = &thr, .lo = -1, .hi = 1},
        {"--data", "DATA.h5", FKE_CLI_STR, .dst = &o.data},
        {"--out", "FILE.jsonl", FKE_CLI_STR, .dst = &o.out},
        {"--cache", "DIR", FKE_CLI_STR, .dst = &o.cache_dir},
        {"--no-cache", NULL, FKE_CLI_FLAG, .dst = &no_cache},
        {"--index", "INDEX.h5", FKE_CLI_STR, .dst = &index},
        {"--query", "TEXT", FKE_CLI_LIST, .dst = &queries},
        {"--zero-shot", "FIELD", FKE_CLI_STR, .dst = &zs},
        {"--pair", "FIELD2", FKE_CLI_STR, .dst = &pair},
        {"--tags2", "TAGS2.txt", FKE_CLI_STR, .dst = &tags2},
        {"--calibrate", "OUT.json", FKE_CLI_STR, .dst = &calibrate},
        {"--calibration", "CALIB.json", FKE_CLI_STR, .dst = &o.calibration},
        {"--fit", "FIELD=TAGS.txt", FKE_CLI_LIST, .dst = &fits},
        {0}};
    const fke_cli cli = {"fke tag", usage, opts, "CKPT IMAGE...", 0, 1024, pos, &npos};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    o.top = (int)top;
    o.threshold = thr;
    o.no_cache = no_cache;
    fke_err e = {""};
    fke_tag_info info;
    memset(&info, 0, sizeof info);
    if (index && queries.n) { /* search by text */
        if (npos > 1)
            return fke_cli_usage_error(&cli, "--query takes no pictures, only the index (and "
                                       "optionally CKPT)");
        if (o.tags || o.data || o.calibration)
            return fke_cli_usage_error(&cli, "--query ranks the index's pictures: no --tags, "
                                       "--data or --calibration");
        o.ckpt = npos ? pos[0] : NULL;
        if (fke_tag_index_query(&o, index, queries.v, queries.n, &e) != FKE_OK) {
            fprintf(stderr, "fke tag: %s\n", e.msg);
            return 1;
        }
        return 0;
    }
    if (queries.n) return fke_cli_usage_error(&cli, "--query needs --index INDEX.h5");
    if (npos < 1) return fke_cli_usage_error(&cli, "missing CKPT (a task clip checkpoint)");
    o.ckpt = pos[0];
    o.inputs = pos + 1;
    o.n_inputs = npos - 1;
    if (o.data && o.n_inputs)
        return fke_cli_usage_error(&cli, "pictures or --data DATA.h5, not both");
    if (!o.data && !o.n_inputs)
        return fke_cli_usage_error(&cli, "nothing to tag: give pictures, folders or --data DATA.h5");
    if (calibrate || (fits.n && !o.tags)) { /* fit or measure a calibration */
        if (!o.data || o.n_inputs || !fits.n || o.tags || zs || index)
            return fke_cli_usage_error(&cli, "--calibrate OUT.json (or --calibration FILE) with "
                                       "--fit needs --data DATA.h5 and --fit FIELD=TAGS.txt, no "
                                       "pictures, --tags, --zero-shot or --index");
        if (calibrate && o.calibration)
            return fke_cli_usage_error(&cli, "--calibrate fits a new calibration; --calibration "
                                       "reads one: not both");
        fke_calib_result r;
        if (fke_tag_calibrate(&o, fits.v, fits.n, calibrate, &r, &e) != FKE_OK) {
            fprintf(stderr, "fke tag: %s\n", e.msg);
            return 1;
        }
        print_calib(o.data, calibrate ? calibrate : o.calibration, &r);
        return 0;
    }
    if (fits.n) return fke_cli_usage_error(&cli, "--fit goes with --calibrate or --calibration, "
                                           "without --tags");
    if (o.calibration && (zs || pair || tags2 || index)) /* it would change nothing there */
        return fke_cli_usage_error(&cli, "--calibration goes with --tags (adds \"p\") or with "
                                   "--fit (measures it), not with --zero-shot or --index");
    if (zs || pair || tags2) {
        if (!zs || !o.data || !o.tags || o.n_inputs || !pair != !tags2)
            return fke_cli_usage_error(&cli, "--zero-shot FIELD needs --data DATA.h5 and --tags "
                                       "TAGS.txt (and --pair with --tags2), no pictures");
        fke_zeroshot_result r;
        if (fke_tag_zeroshot(o.ckpt, o.data, zs, o.tags, pair, tags2, &r, &e) != FKE_OK) {
            fprintf(stderr, "fke tag: %s\n", e.msg);
            return 1;
        }
        if (pair)
            printf("{\"data\": \"%s\", \"fields\": \"%s %s\", \"pairs\": %d, \"posts\": %ld, "
                   "\"precision\": %.6f, \"recall\": %.6f, \"chance_precision\": %.6f, "
                   "\"predicted\": %ld, \"right\": %ld, \"true_pairs\": %ld}\n",
                   o.data, zs, pair, r.classes, r.n, r.precision, r.recall, r.chance, r.predicted,
                   r.right, r.truth);
        else
            printf("{\"data\": \"%s\", \"field\": \"%s\", \"classes\": %d, \"%s\": %ld, "
                   "\"accuracy\": %.6f, \"chance\": %.6f}\n", o.data, zs, r.classes,
                   strcmp(zs, "occasion") ? "garments" : "posts", r.n, r.acc, r.chance);
        return 0;
    }
    if (index) {
        if (o.tags) return fke_cli_usage_error(&cli, "--index builds an index: no --tags");
        if (fke_tag_index_build(&o, index, &info, &e) != FKE_OK) {
            fprintf(stderr, "fke tag: %s\n", e.msg);
            return 1;
        }
        fprintf(stderr, "%s: %ld %s embedded\n", index, info.images, o.data ? "posts" : info.images == 1 ? "picture" : "pictures");
        return 0;
    }
    if (!o.tags) return fke_cli_usage_error(&cli, "missing --tags TAGS.txt (one tag a line)");
    if (fke_tag_run(&o, &info, &e) != FKE_OK) {
        fprintf(stderr, "fke tag: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "%s: %d tags (%s%s), %ld %s tagged\n", o.tags, info.tags,
            info.cached ? "embeddings from the cache " : "cache ", info.cache, info.images,
            o.data ? "posts" : info.images == 1 ? "picture" : "pictures");
    if (info.unknown_tags)
        fprintf(stderr, "%s: %d tags with words not in the model's vocabulary (read as <unk>, "
                "or dropped without one): %s\n", o.tags, info.unknown_tags, info.unknown);
    return 0;
}
