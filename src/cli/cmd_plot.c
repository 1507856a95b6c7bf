/* cmd_plot.c - `fke plot`: the curves of one or several runs (run/plot.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "run/plot.h"

static const char usage[] =
    "fke plot RUN_DIR [RUN_DIR ...] [--out FILE.png]\n"
    "  Draws, from each run's metrics.jsonl, the training loss, the learning rate and\n"
    "  the validation accuracy of every task against the step, the runs overlaid in\n"
    "  colours with a legend (at most 8). Writes FILE.png (default curves.png) and\n"
    "  the same drawing as FILE.svg.\n";

int fke_cmd_plot(int argc, char **argv)
{
    const char *pos[FKE_PLOT_MAX_RUNS + 1], *out = "curves.png";
    int n = 0;
    const fke_cli_opt opts[] = {{"--out", "FILE.png", FKE_CLI_STR, .dst = &out}, {0}};
    const fke_cli cli = {"fke plot", usage, opts, "RUN_DIR", 1, FKE_PLOT_MAX_RUNS, pos, &n};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {{0}};
    if (fke_plot_runs(pos, n, out, &e) != FKE_OK) {
        fprintf(stderr, "fke plot: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s and its .svg: loss, learning rate and validation accuracy of %d run%s\n", out,
           n, n == 1 ? "" : "s");
    return 0;
}
