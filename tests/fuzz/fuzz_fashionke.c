/* fuzz_fashionke.c - the FashionKE importer's parsers (data/import_fashionke.c):
 * cloth_body_face_meta.json, the code maps, the split files, the pool,
 * id_text_preprocessed.json, word_embeds.npy's header, the applicability
 * and confusion files, and a vocabulary file (data/text.c). An input
 * replaces one file of a small valid release (tree.h); its first byte picks
 * the file, and its top bit imports with the vocabulary (captions from
 * "text") instead of the ids. Then the test split, the captions (fke data
 * vocab) and the transition initialisation are read too. */
#include "data/import_fashionke.h"
#include "tree.h"

#define P1 "00000000000000000000000000000001"
#define P2 "0000000000000000000000000000000a"
#define P3 "ffffffffffffffffffffffffffffffff"

/* word_embeds.npy: (6, 2) float32, a version 1.0 header of 118 bytes */
#define NPY_HEAD "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 2), }"
static char npy[10 + 118 + 48];

static fuzz_tree_file files[] = {
    {"cloth_body_face_meta.json",
     "{\"" P1 "\": {\"occasion\": \"work\", \"month\": 6, \"country\": \"US\", \"cloth_body_face\": "
     "[{\"cloth\": {\"box\": [2, 2, 10, 12], \"category\": \"top\", \"colour:red\": 1, "
     "\"size:s\": 1}, \"body\": [0, 0, 16, 16], \"face\": [4, 0, 8, 4, 0.99], \"age\": 30, "
     "\"gender\": \"F\"}, {\"cloth\": {\"box\": [-3, 8, 20, 16.4], \"category\": \"pants\", "
     "\"colour:blue\": 0.6, \"colour:red\": 1}, \"body\": [0, 0, 16, 16], \"age\": null, "
     "\"gender\": \"M\"}], \"text\": \"A red #top \\u00e9t\\u00e9\"},\r\n"
     "\"" P2 "\": {\"occasion\": \"party\", \"month\": 12, \"country\": \"\", \"cloth_body_face\": "
     "[{\"cloth\": {\"box\": [5, 5, 5, 9], \"category\": \"top\"}, \"body\": [1, 1, 9, 9]}], "
     "\"text\": null},\n"
     "\"" P3 "\": {\"occasion\": \"work\", \"month\": 1, \"cloth_body_face\": [], \"text\": "
     "\"blue pants\"}}", 0, 1},
    {"train_ids_0.7.json", "[\"" P1 "\", \"" P2 "\", \"" P1 "\", \"missing\"]", 0, 1},
    {"test_ids.json", "[\"" P3 "\", \"" P2 "\"]", 0, 1},
    {"labelled_pool.json", "[\"" P1 "\", \"" P3 "\"]", 0, 1},
    {"code_occasion.json", "{\"work\": 0, \"party\": 1}", 0, 1},
    {"code_cat.json", "{\"top\": 0, \"pants\": 1}", 0, 1},
    {"code_attr.json", "{\"colour\": 0}", 0, 1},
    {"code_attr_val.json", "{\"colour\": {\"red\": 0, \"blue\": 1}}", 0, 1},
    {"code_country.json", "{\"US\": 1, \"FR\": 2}", 0, 1},
    {"id_text_preprocessed.json",
     "{\"" P1 "\": {\"ids\": [1, 2, 3, 0, 0, 5]}, \"" P2 "\": {\"ids\": []}}", 0, 1},
    {"clothes_category_attribute_value.json",
     "{\"top\": [{\"colour\": [\"red\", \"blue\"]}], \"pants\": [{\"colour\": [\"red\"]}, "
     "{\"size\": [\"s\"]}], \"hat\": []}", 0, 1},
    {"category_confuse_mat.json", "{\"top\": {\"top\": 3, \"pants\": 1}, \"pants\": {}, \"hat\": {}}",
     0, 1},
    {"attribute_confuse_mat.json",
     "{\"colour\": {\"red\": {\"red\": 2, \"blue\": 1}, \"blue\": {\"blue\": 0}}}", 0, 1},
    {"vocab.txt", "<pad>\n<unk>\na\nred\n#top\nblue\n", 0, 1},
    {"word_embeds.npy", npy, sizeof npy, 1},
    {"images/" P1 ".jpg", NULL, 0, 0},
    {"images/" P2 ".jpg", NULL, 0, 0},
    {"images/" P3 ".jpg", NULL, 0, 0},
};
#define NFILES ((int)(sizeof files / sizeof files[0]))

static void make_npy(void)
{
    memcpy(npy, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(npy + 10, ' ', 118);
    memcpy(npy + 10, NPY_HEAD, strlen(NPY_HEAD));
    npy[10 + 117] = '\n';
    for (int i = 0; i < 12; i++) {
        float v = 0.25f * (float)(i - 5);
        memcpy(npy + 128 + 4 * i, &v, 4);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static fuzz_tree_t tree;
    make_npy();
    const char *dir = fuzz_tree(&tree, files, NFILES, "fashionke", data, n);
    if (!dir) return 0;
    char vocab[600];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    fke_fashionke_opts o;
    fke_fashionke_defaults(&o);
    o.dir = dir, o.img = 16, o.crop = 8, o.G = 2, o.L = 4, o.quality = 0;
    o.vocab = n && data[0] & 0x80 ? vocab : NULL;
    fke_err e = {""};
    for (int split = 0; split < 2; split++) {
        o.split = split ? FKE_FASHIONKE_TEST : FKE_FASHIONKE_TRAIN;
        fke_dataset d;
        fke_fashionke_report rep;
        if (fke_import_fashionke(&o, &d, &rep, &e) != FKE_OK) continue;
        fke_tmatrices tm;
        if (fke_fashionke_tmatrix(dir, &d, &tm, &rep, &e) == FKE_OK) fke_tmatrix_free(&tm);
        fke_dataset_free(&d);
    }
    char **texts = NULL;
    long nt = 0;
    if (fke_fashionke_captions(&o, &texts, &nt, &e) == FKE_OK) fke_strings_free(texts, -1);
    fuzz_tree_restore(&tree);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    make_npy();
    fuzz_tree_seeds(files, NFILES, dir, "fashionke");
}
