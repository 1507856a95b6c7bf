/* cmd_data_import_deepfashion2.c - `fke data import deepfashion2`: DeepFashion2's
 * release folder as fke posts (data/import_deepfashion2.h), with a summary
 * of what was kept, clipped and dropped, and why. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "data/import_deepfashion2.h"

const char fke_data_import_deepfashion2_usage[] =
    "fke data import deepfashion2 DIR --split train|validation --out F.h5 [--img S]\n"
    "         [--crop P] [--garments G] [--limit N] [--store jpeg|raw] [--quality Q]\n"
    "         DeepFashion2 (DIR/SPLIT/annos/NNNNNN.json and image/NNNNNN.jpg) as fke\n"
    "         posts: one post per image, garments item1, item2, ... (the first G kept),\n"
    "         13 categories, attributes scale, occlusion, zoom_in, viewpoint; no\n"
    "         occasion or caption (masked). Defaults: fke-small's img 64, crop 32, G 5;\n"
    "         --limit keeps the first N posts (datasets/README.md \"DeepFashion2\");\n"
    "         --store: pixels as one JPEG per image and crop at quality Q (default\n"
    "         jpeg, Q 92) or as raw bytes (datasets/README.md, \"Pixel storage\")\n";

/* "  what: N (first NNNNNN.ext)", nothing when N is 0 */
static void line(const char *what, const fke_df2_count *c, const char *ext)
{
    if (c->n == 0) return;
    printf("  %s: %ld", what, c->n);
    if (c->first >= 0) printf(" (first %06ld%s)", c->first, ext);
    printf("\n");
}

int fke_cmd_data_import_deepfashion2(int argc, char **argv)
{
    static const char *const splits[] = {"train", "validation", NULL};
    fke_deepfashion2_opts o;
    fke_deepfashion2_defaults(&o);
    const char *pos[1], *out = NULL;
    int split = 0;
    long img = o.img, crop = o.crop, G = o.G, limit = 0, quality = o.quality;
    int store = 0;
    static const char *const stores[] = {"jpeg", "raw", NULL};
    const fke_cli_opt opts[] = {
        {"--split", "train|validation", FKE_CLI_CHOICE, .dst = &split, .choices = splits,
         .flags = FKE_CLI_REQUIRED},
        {"--out", "F.h5", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--img", "S", FKE_CLI_INT, .dst = &img, .lo = 8, .hi = 4096},
        {"--crop", "P", FKE_CLI_INT, .dst = &crop, .lo = 8, .hi = 4096},
        {"--garments", "G", FKE_CLI_INT, .dst = &G, .lo = 1, .hi = 64},
        {"--limit", "N", FKE_CLI_INT, .dst = &limit, .lo = 0, .hi = 0x7fffffffL},
        {"--store", "jpeg|raw", FKE_CLI_CHOICE, .dst = &store, .choices = stores},
        {"--quality", "Q", FKE_CLI_INT, .dst = &quality, .lo = 1, .hi = 100},
        {0}};
    const fke_cli cli = {"fke data import deepfashion2", fke_data_import_deepfashion2_usage,
                         opts, "DIR", 1, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    o.dir = pos[0];
    o.split = splits[split];
    o.img = (int)img, o.crop = (int)crop, o.G = (int)G, o.limit = limit;
    o.quality = store == 0 ? (int)quality : 0;

    fke_err e = {""};
    fke_dataset d;
    fke_deepfashion2_report r;
    fke_status st = fke_deepfashion2_import(&o, &d, &r, &e);
    long long px = st == FKE_OK ? (long long)fke_dataset_pixel_bytes(&d) : 0;
    if (st == FKE_OK) {
        st = fke_dataset_save(&d, out, &e);
        fke_dataset_free(&d);
    }
    if (st != FKE_OK) {
        fprintf(stderr, "fke data import deepfashion2: %s\n", e.msg);
        return 1;
    }
    printf("%s: %ld posts, %ld garments from %s/%s (%ld annotation files, %ld items)\n", out,
           r.posts, r.garments, o.dir, o.split, r.annos, r.items);
    printf("  images %dx%d, crops %dx%d, at most %d garments per post in item order; no "
           "occasion, no caption\n",
           o.img, o.img, o.crop, o.crop, o.G);
    if (o.quality) printf("  pixels: JPEG quality %d, %.1f MB\n", o.quality, px / 1e6);
    else printf("  pixels: raw, %.1f MB\n", px / 1e6);
    printf("  garments per category:");
    int first = 1;
    for (int c = 0; c < FKE_DF2_NCAT; c++) {
        if (!r.per_category[c]) continue;
        printf("%s %s %ld", first ? "" : ",", fke_deepfashion2_categories[c], r.per_category[c]);
        first = 0;
    }
    printf("\n");
    line("annotation without its image, post skipped", &r.no_image, ".json");
    line("image without an annotation, ignored", &r.no_anno, ".jpg");
    line("other file in annos/ or image/, ignored", &r.other_files, "");
    line("box past the image's border, clipped", &r.clipped, ".json");
    line("box empty after clipping, garment dropped", &r.empty, ".json");
    line("item without a bounding_box, garment dropped", &r.no_box, ".json");
    char cut[64];
    snprintf(cut, sizeof cut, "garment past G = %d, cut (the highest item numbers)", o.G);
    line(cut, &r.truncated, ".json");
    line("post left without a garment, kept", &r.no_garment, ".json");
    line("unknown key (not source, pair_id, item<k>), ignored", &r.unknown_keys, ".json");
    line("unknown item key, ignored", &r.unknown_item_keys, ".json");
    line("file with its items out of order, sorted by number", &r.out_of_order, ".json");
    line("category_name not the name of category_id, the id kept", &r.name_mismatch, ".json");
    line("item without category_id, category missing (-1)", &r.no_category, ".json");
    line("attribute value absent, missing (-1)", &r.no_attr, ".json");
    line("file without source or pair_id, -1", &r.no_source, ".json");
    line("landmark list not 3 x the category's points (landmarks are not read)", &r.landmarks,
         ".json");
    return 0;
}
