/* cmd_card.c - `fke card`: a model card for a training run (run/card.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "core/version.h"
#include "run/card.h"

static const char usage[] =
    "fke card RUN [--out MODEL_CARD.md] [--data HELDOUT.h5]\n"
    "  writes a model card (Hugging Face layout: YAML front matter with a model-index,\n"
    "  then uses, training data and transition matrices, training procedure,\n"
    "  evaluation per task and per class, ablation, limitations, how to load the model)\n"
    "  for the run folder RUN of fke train. The numbers come from the code of fke eval\n"
    "  on RUN/best.h5 (else last.h5) and the held-out data: --data, else the config's\n"
    "  test_data, else its val_data. Default output: RUN/MODEL_CARD.md.\n";

int fke_cmd_card(int argc, char **argv)
{
    const char *pos[1], *out = NULL, *data = NULL;
    const fke_cli_opt opts[] = {
        {"--out", "FILE", FKE_CLI_STR, .dst = &out},
        {"--data", "HELDOUT.h5", FKE_CLI_STR, .dst = &data},
        {0}};
    const fke_cli cli = {"fke card", usage, opts, "RUN", 1, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {""};
    fke_card_info info;
    fke_card_opts o = {.run = pos[0], .out = out, .data = data, .version = fke_version()};
    if (fke_card_write(&o, &info, &e) != FKE_OK) {
        fprintf(stderr, "fke card: %s\n", e.msg);
        return 1;
    }
    printf("%s: model card of %s on %s (%ld posts)\n", info.out, info.ckpt, info.data, info.posts);
    return 0;
}
