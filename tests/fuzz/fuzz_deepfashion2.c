/* fuzz_deepfashion2.c - the DeepFashion2 importer's parser of per-image
 * annotation JSON (data/import_deepfashion2.c): an input replaces one of
 * three annotation files of a small valid release (tree.h; its first byte
 * picks the file), then the split is imported. */
#include "data/import_deepfashion2.h"
#include "tree.h"

static fuzz_tree_file files[] = {
    {"validation/annos/000001.json",
     "{\"source\": \"user\", \"pair_id\": 1, \"item1\": {\"segmentation\": [[1, 1, 12, 1, 12, 14]], "
     "\"scale\": 2, \"viewpoint\": 2, \"zoom_in\": 1, \"landmarks\": [3, 4, 2, 5, 6, 1], "
     "\"style\": 1, \"bounding_box\": [1, 1, 12, 14], \"occlusion\": 1, \"category_id\": 1, "
     "\"category_name\": \"short sleeve top\"}, \"item2\": {\"scale\": 3, \"viewpoint\": 1, "
     "\"zoom_in\": 2, \"style\": 0, \"bounding_box\": [8, 4, 30, 16], \"occlusion\": 2, "
     "\"category_id\": 8, \"category_name\": \"trousers\"}}", 0, 1},
    {"validation/annos/000002.json",
     "{\"item3\": {\"bounding_box\": [0, 0, 16, 16], \"category_id\": 13, \"scale\": 1}, "
     "\"item1\": {\"bounding_box\": [4, 4, 4, 9], \"category_id\": 7}, \"pair_id\": 2, "
     "\"source\": \"shop\", \"extra\": []}", 0, 1},
    {"validation/annos/000004.json", "{\"source\": \"user\"}\r\n", 0, 1},
    {"validation/image/000001.jpg", NULL, 0, 0},
    {"validation/image/000002.jpg", NULL, 0, 0},
    {"validation/image/000003.jpg", NULL, 0, 0},
};
#define NFILES ((int)(sizeof files / sizeof files[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static fuzz_tree_t tree;
    const char *dir = fuzz_tree(&tree, files, NFILES, "deepfashion2", data, n);
    if (!dir) return 0;
    fke_deepfashion2_opts o;
    fke_deepfashion2_defaults(&o);
    o.dir = dir, o.split = "validation", o.img = 16, o.crop = 8, o.G = 2, o.quality = 0;
    fke_dataset d;
    fke_deepfashion2_report r;
    fke_err e = {""};
    if (fke_deepfashion2_import(&o, &d, &r, &e) == FKE_OK) fke_dataset_free(&d);
    fuzz_tree_restore(&tree);
    return 0;
}

void fuzz_seeds(const char *dir) { fuzz_tree_seeds(files, NFILES, dir, "deepfashion2"); }
