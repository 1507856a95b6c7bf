/* cmd_data_import.c - `fke data import FORMAT DIR --out F.h5 ...`: a
 * researcher's own data set as fke posts. One file per format does the work
 * (cmd_data_import_<format>.c over data/import_<format>.c); this file picks
 * the format. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} formats[] = {
    {"fashionke", fke_cmd_data_import_fashionke, fke_data_import_fashionke_usage},
    {"deepfashion2", fke_cmd_data_import_deepfashion2, fke_data_import_deepfashion2_usage},
    {"deepfashion", fke_cmd_data_import_deepfashion, fke_data_import_deepfashion_usage},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

const char fke_data_import_usage[] =
    "fke data import fashionke|deepfashion2|deepfashion DIR --out F.h5 [options]\n"
    "         a data set in its release format as fke posts (fke data import FORMAT\n"
    "         --help for each format's options)\n";

int fke_cmd_data_import(int argc, char **argv)
{
    FILE *f = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout
                                                                                   : stderr;
    if (argc >= 2)
        for (size_t i = 0; i < N_FORMATS; i++)
            if (!strcmp(argv[1], formats[i].name)) return formats[i].run(argc - 1, argv + 1);
    if (argc >= 2 && f == stderr)
        fprintf(f, argv[1][0] == '-' ? "fke data import: unknown option '%s'; options: -h/--help\n"
                                     : "fke data import: unknown format '%s'\n",
                argv[1]);
    fprintf(f, "usage: %s", fke_data_import_usage);
    for (size_t i = 0; i < N_FORMATS; i++) fprintf(f, "\nusage: %s", formats[i].usage);
    if (f == stdout) printf("\n%s\n", FKE_CLI_DOCS);
    return f == stdout ? 0 : 2;
}
