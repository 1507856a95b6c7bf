/* cmd_data_import_deepfashion.c - `fke data import deepfashion`: DeepFashion's
 * Category and Attribute Prediction Benchmark as fke posts
 * (data/import_deepfashion.h), with a summary of what was kept, clipped and
 * dropped, and why. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "data/import_deepfashion.h"

const char fke_data_import_deepfashion_usage[] =
    "fke data import deepfashion DIR --split train|val|test|all --out F.h5 [--img S]\n"
    "         [--crop P] [--limit N] [--store jpeg|raw] [--quality Q]\n"
    "         DeepFashion's Category and Attribute Prediction Benchmark (DIR/Anno or\n"
    "         Anno_coarse, DIR/Eval, DIR/Img) as fke posts: one post per image, its box\n"
    "         as the one garment, 50 categories, the 1,000 attributes as multi-label\n"
    "         labels (1 / 0 / -1 unknown) with their names and types, the partition as\n"
    "         the extra 'split'. Defaults: fke-small's img 64, crop 32; --limit keeps\n"
    "         the first N images of the split (datasets/README.md \"DeepFashion\");\n"
    "         --store as for deepfashion2 (JPEG quality 92 by default)\n";

/* "  what: N (first NAME)", nothing when N is 0 */
static void line(const char *what, const fke_df_count *c)
{
    if (c->n == 0) return;
    printf("  %s: %ld", what, c->n);
    if (c->first[0]) printf(" (first %s)", c->first);
    printf("\n");
}

int fke_cmd_data_import_deepfashion(int argc, char **argv)
{
    static const char *const splits[] = {"train", "val", "test", "all", NULL};
    static const char *const stores[] = {"jpeg", "raw", NULL};
    fke_deepfashion_opts o;
    fke_deepfashion_defaults(&o);
    const char *pos[1], *out = NULL;
    int split = 0, store = 0;
    long img = o.img, crop = o.crop, limit = 0, quality = o.quality;
    const fke_cli_opt opts[] = {
        {"--split", "train|val|test|all", FKE_CLI_CHOICE, .dst = &split, .choices = splits,
         .flags = FKE_CLI_REQUIRED},
        {"--out", "F.h5", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--img", "S", FKE_CLI_INT, .dst = &img, .lo = 8, .hi = 4096},
        {"--crop", "P", FKE_CLI_INT, .dst = &crop, .lo = 8, .hi = 4096},
        {"--limit", "N", FKE_CLI_INT, .dst = &limit, .lo = 0, .hi = 0x7fffffffL},
        {"--store", "jpeg|raw", FKE_CLI_CHOICE, .dst = &store, .choices = stores},
        {"--quality", "Q", FKE_CLI_INT, .dst = &quality, .lo = 1, .hi = 100},
        {0}};
    const fke_cli cli = {"fke data import deepfashion", fke_data_import_deepfashion_usage, opts,
                         "DIR", 1, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    o.dir = pos[0];
    o.split = splits[split];
    o.img = (int)img, o.crop = (int)crop, o.limit = limit;
    o.quality = store == 0 ? (int)quality : 0;

    fke_err e = {""};
    fke_dataset d;
    fke_deepfashion_report r;
    fke_status st = fke_deepfashion_import(&o, &d, &r, &e);
    long long px = st == FKE_OK ? (long long)fke_dataset_pixel_bytes(&d) : 0;
    if (st == FKE_OK) {
        st = fke_dataset_save(&d, out, &e);
        fke_dataset_free(&d);
    }
    if (st != FKE_OK) {
        fprintf(stderr, "fke data import deepfashion: %s\n", e.msg);
        return 1;
    }
    printf("%s: %ld images of split %s from %s (%ld listed: %ld train, %ld val, %ld test)\n",
           out, r.posts, o.split, o.dir, r.listed, r.split_count[0], r.split_count[1],
           r.split_count[2]);
    printf("  images %dx%d, box crops %dx%d; %d categories (%d without an image here), %d "
           "attributes\n", o.img, o.img, o.crop, o.crop, r.n_cat, r.unused_categories, r.n_attr);
    if (o.quality) printf("  pixels: JPEG quality %d, %.1f MB\n", o.quality, px / 1e6);
    else printf("  pixels: raw, %.1f MB\n", px / 1e6);
    printf("  attribute labels kept, positive / negative:");
    for (int t = 0; t < FKE_DF_NTYPES; t++)
        printf("%s %s %ld / %ld", t ? "," : "", fke_deepfashion_types[t], r.attr_pos[t], r.attr_neg[t]);
    printf("\n");
    line("file with \\r\\n line ends, read", &r.crlf);
    line("file whose line 1 is not the number of rows read, rows kept", &r.count_mismatch);
    line("category rows merged into Dress missing from the list, restored", &r.merged_rows);
    line("picture missing on disk, image skipped", &r.no_image);
    line("picture without colour (grayscale), made RGB", &r.grey);
    line("box past the picture's border, clipped", &r.clipped);
    line("box empty after clipping, image dropped", &r.empty);
    line("image without a box, the whole picture used", &r.no_box);
    line("image without a category label, category missing (-1)", &r.no_category);
    line("image without attribute labels, all unknown (-1)", &r.no_attr);
    line("attribute value 0, unknown (-1)", &r.unknown_attr);
    line("row naming an image the partition lacks, ignored", &r.not_listed);
    return 0;
}
