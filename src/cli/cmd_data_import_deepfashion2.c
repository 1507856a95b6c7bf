/* cmd_data_import_deepfashion2.c - `fke data import deepfashion2`: a placeholder until the
 * importer lands (data/import_deepfashion2.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char fke_data_import_deepfashion2_usage[] = "fke data import deepfashion2 DIR --out F.h5\n"
                                              "         (not built yet)\n";

int fke_cmd_data_import_deepfashion2(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: %s\n%s\n", fke_data_import_deepfashion2_usage, FKE_CLI_DOCS);
        return 0;
    }
    fprintf(stderr, "fke data import deepfashion2: not built yet\n");
    return 2;
}
