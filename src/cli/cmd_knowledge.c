/* cmd_knowledge.c - `fke knowledge`: `fke extract` lines aggregated into
 * tables and heat maps (run/knowledge.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "run/knowledge.h"

static const char usage[] =
    "fke knowledge EXTRACT.jsonl [EXTRACT2.jsonl ...] --out DIR [--labels CKPT|DATA.h5]\n"
    "              [--sort] [--top K]\n"
    "  aggregates `fke extract` lines: DIR/occasion_category.csv, attributes.csv,\n"
    "  cooccurrence.csv, occasion_category.png, cooccurrence.png; prints the top K\n"
    "  (default 3) categories of every occasion. Rows and columns: with --labels the\n"
    "  label order of the checkpoint or dataset, every label kept (zeros where no\n"
    "  garment has it), so two runs compare cell by cell; without, the names seen,\n"
    "  by name; --sort: by number of garments, most first\n";

int fke_cmd_knowledge(int argc, char **argv)
{
    const char *out = NULL, *labels = NULL, **in = malloc((size_t)(argc + 1) * sizeof *in);
    long top = 3;
    int nin = 0, sort = 0;
    const fke_cli_opt opts[] = {
        {"--out", "DIR", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--top", "K", FKE_CLI_INT, .dst = &top, .lo = 1, .hi = 8},
        {"--labels", "CKPT|DATA.h5", FKE_CLI_STR, .dst = &labels},
        {"--sort", NULL, FKE_CLI_FLAG, .dst = &sort},
        {0}};
    const fke_cli cli = {"fke knowledge", usage, opts, "EXTRACT.jsonl", 1, -1, in, &nin};
    int rc = in ? fke_cli_parse(&cli, argc, argv) : 1;
    if (rc != FKE_CLI_RUN) {
        free(in);
        return rc;
    }
    fke_knowledge k;
    fke_knowledge_init(&k);
    fke_err e = {""};
    fke_status st = labels ? fke_knowledge_labels_from(&k, labels, &e) : FKE_OK;
    k.sort = sort;
    for (int i = 0; st == FKE_OK && i < nin; i++) st = fke_knowledge_add_file(&k, in[i], &e);
    if (st == FKE_OK) st = fke_knowledge_write(&k, out, &e);
    if (st == FKE_OK) fke_knowledge_print(&k, stdout, (int)top);
    fke_knowledge_free(&k);
    free(in);
    if (st != FKE_OK) {
        fprintf(stderr, "fke knowledge: %s\n", e.msg);
        return 1;
    }
    return 0;
}
