/* fuzz_deepfashion.c - the DeepFashion importer's parsers of the list_*.txt
 * files (data/import_deepfashion.c): an input replaces one of the six lists
 * of a small valid benchmark folder (tree.h; its first byte picks the file),
 * then every split is imported. */
#include "data/import_deepfashion.h"
#include "tree.h"

#define I1 "img/Floral_Dress/img_00000001.jpg"
#define I2 "img/Denim_Shorts/img_00000002.jpg"
#define I3 "img/Denim_Shorts/img_00000003.jpg"

static fuzz_tree_file files[] = {
    {"Anno/list_category_cloth.txt",
     "3\ncategory_name  category_type\nAnorak                       1\nShorts  2\n"
     "Dress                     3\n", 0, 1},
    {"Anno/list_category_img.txt",
     "3\r\nimage_name  category_label\r\n" I1 "  3\r\n" I2 "\t2\r\n" I3 " 2", 0, 1},
    {"Anno/list_attr_cloth.txt",
     "3\nattribute_name  attribute_type\na-line                       3\nfloral print  1\n"
     "denim 2\n", 0, 1},
    {"Anno/list_attr_img.txt",
     "2\nimage_name  attribute_labels\n" I1 " 1 1 -1\n" I2 " -1 -1 0\n", 0, 1},
    {"Anno/list_bbox.txt",
     "3\nimage_name  x_1  y_1  x_2  y_2\n" I1 "  001 002 014 015\n" I2 " 0 0 40 9\n"
     I3 " 5 5 5 9\n", 0, 1},
    {"Eval/list_eval_partition.txt",
     "4\nimage_name  evaluation_status\n" I1 "  train\n" I2 " val\n" I3 " test\n"
     "img/Gone/img_00000009.jpg train\n", 0, 1},
    {"Img/" I1, NULL, 0, 0},
    {"Img/" I2, NULL, 0, 0},
    {"Img/" I3, NULL, 0, 0},
};
#define NFILES ((int)(sizeof files / sizeof files[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static fuzz_tree_t tree;
    const char *dir = fuzz_tree(&tree, files, NFILES, "deepfashion", data, n);
    if (!dir) return 0;
    static const char *splits[] = {"all", "train", "val", "test"};
    fke_deepfashion_opts o;
    fke_deepfashion_defaults(&o);
    o.dir = dir, o.split = splits[n > 1 ? data[1] % 4 : 0], o.img = 16, o.crop = 8;
    o.quality = 0;
    fke_dataset d;
    fke_deepfashion_report r;
    fke_err e = {""};
    if (fke_deepfashion_import(&o, &d, &r, &e) == FKE_OK) fke_dataset_free(&d);
    fuzz_tree_restore(&tree);
    return 0;
}

void fuzz_seeds(const char *dir) { fuzz_tree_seeds(files, NFILES, dir, "deepfashion"); }
