/* cmd_data_import_fashionke.c - `fke data import fashionke`: a FashionKE
 * release folder as an fke post file (data/import_fashionke.h), with a
 * summary of what was kept, clipped and dropped and why, and optionally the
 * transition initialisation from the release's confusion counts. Nothing is
 * written unless everything was read and checked; each file is written
 * atomically, T first, and T is removed again when the dataset cannot be
 * written, so a failed run leaves neither. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "data/import_fashionke.h"

const char fke_data_import_fashionke_usage[] =
    "fke data import fashionke DIR --out F.h5 [--noise-ratio R] [--split train|test]\n"
    "         [--img S] [--crop P] [--garments G] [--len L] [--t-out T.json]\n"
    "         [--store jpeg|raw] [--quality Q] [--vocab VOCAB.txt]\n"
    "         a FashionKE release folder (cloth_body_face_meta.json, images/<id>.jpg,\n"
    "         train_ids_<R>.json or test_ids.json, labelled_pool.json, code_*.json, ...)\n"
    "         as fke posts (datasets/README.md, \"FashionKE release\"). Defaults: R 0.7,\n"
    "         split train, S 64, P 32, G 5, L 16 (preset fke-small). --t-out: the\n"
    "         transition initialisation from category_confuse_mat.json and\n"
    "         attribute_confuse_mat.json, for fke train --set t_init=T.json.\n"
    "         --store: pixels as one JPEG per image and crop at quality Q (default\n"
    "         jpeg, Q 92) or as raw bytes (datasets/README.md, \"Pixel storage\").\n"
    "         --vocab: captions from each post's \"text\", tokenized with the vocabulary\n"
    "         file that `fke data vocab DIR` makes (else id_text_preprocessed.json's ids)\n";

static const char *const split_names[] = {"train", "test", NULL};

static void summary(const fke_fashionke_opts *o, const fke_fashionke_report *r,
                    const fke_dataset *d, const char *out)
{
    printf("%s/%s: %ld posts listed, %ld kept (%ld clean, %ld machine-labelled)\n", o->dir,
           r->split_file, r->listed, r->kept, r->clean, r->machine);
    printf("  posts skipped: %ld without a picture", r->no_image);
    if (r->no_image) printf(" (first: images/%s.jpg)", r->first_missing_image);
    printf(", %ld listed twice, %ld not in cloth_body_face_meta.json; %ld kept with no garment\n",
           r->duplicates, r->not_in_meta, r->no_garment);
    printf("  garments: %ld in the kept posts, %ld kept in the order (body centre x, cloth "
           "centre y); %ld boxes clipped to the picture, %ld empty boxes dropped, %ld past "
           "G=%d dropped (in %ld posts)\n",
           r->garments, r->kept_garments, r->clipped, r->empty, r->over_G, o->G,
           r->posts_over_G);
    printf("  attribute keys: %ld kept (%ld valued 1, %ld fractions), %ld repeating an "
           "attribute; %ld keys of attributes outside code_attr.json skipped",
           r->attr_keys, r->values_one, r->values_fraction, r->attr_repeated, r->attr_unknown);
    for (int i = 0; i < r->n_attr_unknown_names; i++)
        printf("%s%s", i ? ", " : " (", r->attr_unknown_names[i]);
    printf("%s\n", r->n_attr_unknown_names ? ")" : "");
    printf("  person: %ld garments with gender unknown, %ld with age unknown; country: %ld "
           "empty or null, %ld not in code_country.json (both stored as 0)\n",
           r->gender_unknown, r->age_unknown, r->country_empty, r->country_unknown);
    if (o->vocab)
        printf("  captions: L=%d, V=%d (the words of %s); %ld words, %ld of them not in the "
               "vocabulary; %ld empty, %ld without text, %ld cut to L, %ld padded\n",
               o->L, r->V, o->vocab, r->words, r->words_unknown, r->caption_empty,
               r->caption_missing, r->caption_cut, r->caption_padded);
    else
        printf("  captions: L=%d, V=%d (%s); %ld empty, %ld without an entry, %ld cut to L, %ld "
               "padded%s\n",
               o->L, r->V, r->V_from_npy ? "rows of word_embeds.npy" : "largest token id + 1",
               r->caption_empty, r->caption_missing, r->caption_cut, r->caption_padded,
               r->wv_dim ? "; word vectors kept" : "");
    printf("  files: %d with \\r\\n line ends, %ld \\uXXXX escapes; applicability: %ld "
           "categories and %ld attributes outside the code files skipped\n",
           r->crlf_files, r->u_escapes, r->appl_cat_skipped, r->appl_attr_skipped);
    printf("%s: %d posts, image %d, crop %d, G %d, L %d, V %d, %d occasions, %d categories, "
           "%d attributes (", out, d->N, d->img, d->crop, d->G, d->L, d->V, d->n_occ, d->n_cat,
           d->A);
    for (int k = 0; k < d->A; k++) printf("%s%d", k ? ", " : "", d->n_val[k]);
    printf(" values); extras:");
    for (int k = 0; k < d->n_extra; k++) printf(" %s", d->extra[k].name);
    printf("\n");
    if (d->jpeg_quality)
        printf("  pixels: JPEG quality %d, %.1f MB (%.1f kB a post)\n", d->jpeg_quality,
               fke_dataset_pixel_bytes(d) / 1e6,
               d->N ? fke_dataset_pixel_bytes(d) / 1e3 / d->N : 0);
    else
        printf("  pixels: raw, %.1f MB\n", fke_dataset_pixel_bytes(d) / 1e6);
}

static const char *const store_names[] = {"jpeg", "raw", NULL};

int fke_cmd_data_import_fashionke(int argc, char **argv)
{
    const char *pos[1], *out = NULL, *t_out = NULL, *vocab = NULL;
    double ratio = 0.7;
    int split = FKE_FASHIONKE_TRAIN;
    long img = 64, crop = 32, G = 5, L = 16, quality = 92;
    int store = 0;
    const fke_cli_opt opts[] = {
        {"--out", "F.h5", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--noise-ratio", "R", FKE_CLI_REAL, .dst = &ratio, .lo = 0, .hi = 1},
        {"--split", "train|test", FKE_CLI_CHOICE, .dst = &split, .choices = split_names},
        {"--img", "S", FKE_CLI_INT, .dst = &img, .lo = 8, .hi = 4096},
        {"--crop", "P", FKE_CLI_INT, .dst = &crop, .lo = 8, .hi = 4096},
        {"--garments", "G", FKE_CLI_INT, .dst = &G, .lo = 1, .hi = 64},
        {"--len", "L", FKE_CLI_INT, .dst = &L, .lo = 5, .hi = 4096},
        {"--t-out", "T.json", FKE_CLI_STR, .dst = &t_out},
        {"--store", "jpeg|raw", FKE_CLI_CHOICE, .dst = &store, .choices = store_names},
        {"--quality", "Q", FKE_CLI_INT, .dst = &quality, .lo = 1, .hi = 100},
        {"--vocab", "VOCAB.txt", FKE_CLI_STR, .dst = &vocab},
        {0}};
    const fke_cli cli = {"fke data import fashionke", fke_data_import_fashionke_usage, opts,
                         "DIR", 1, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;

    fke_fashionke_opts o;
    fke_fashionke_defaults(&o);
    o.dir = pos[0];
    o.split = split;
    o.noise_ratio = ratio;
    o.img = (int)img, o.crop = (int)crop, o.G = (int)G, o.L = (int)L;
    o.quality = store == 0 ? (int)quality : 0;
    o.vocab = vocab;
    fke_err e = {{0}};
    fke_dataset d;
    fke_fashionke_report rep;
    fke_tmatrices tm = {0};
    fke_status st = fke_import_fashionke(&o, &d, &rep, &e);
    if (st == FKE_OK && t_out) st = fke_fashionke_tmatrix(o.dir, &d, &tm, &rep, &e);
    if (st == FKE_OK && t_out) {
        char *names[1 + FKE_MAX_ATTR] = {"category"};
        for (int k = 0; k < d.A; k++) names[k + 1] = d.attr_names[k];
        st = fke_tmatrix_save(&tm, t_out, names, &e);
    }
    if (st == FKE_OK) {
        st = fke_dataset_save(&d, out, &e);
        if (st != FKE_OK && t_out) remove(t_out); /* both files or neither */
    }
    if (st != FKE_OK) {
        fprintf(stderr, "fke data import fashionke: %s\n", e.msg);
        fke_tmatrix_free(&tm);
        fke_dataset_free(&d);
        return 1;
    }
    summary(&o, &rep, &d, out);
    if (t_out)
        printf("%s: transition initialisation (category + %d attributes, rows = true label); "
               "%ld rows without counts made identity rows, %ld names outside the code files "
               "skipped\n",
               t_out, d.A, rep.T_zero_rows, rep.T_names_skipped);
    fke_tmatrix_free(&tm);
    fke_dataset_free(&d);
    return 0;
}
