/* cmd_query.c - `fke query`: which machine-labelled posts people should
 * check next (run/query.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "run/query.h"

static const char usage[] =
    "fke query CKPT DATA.h5 --strategy least|margin|entropy|random --budget K\n"
    "                 [--out FILE.jsonl] [--seed S]\n"
    "  Ranks the machine-labelled posts (clean = 0, with garments) of DATA for human\n"
    "  checking and writes the top K as JSON lines {\"post\": id, \"score\": s, \"rank\": r}\n"
    "  (stdout without --out). Per garment and task (category, every attribute):\n"
    "    least    1 - max p          margin   1 - (p1 - p2)\n"
    "    entropy  -sum p log p / log n (normalised to [0, 1])\n"
    "  a post's score is the mean over its garments of the mean over the tasks;\n"
    "  random scores posts with seeded uniform draws (--seed S, default 1).\n";

int fke_cmd_query(int argc, char **argv)
{
    fke_query_opts o;
    memset(&o, 0, sizeof o);
    const char *pos[2];
    long seed = 1;
    /* the strategy's name and the budget's range are checked by fke_query_run */
    const fke_cli_opt opts[] = {
        {"--strategy", "least|margin|entropy|random", FKE_CLI_STR, .dst = &o.strategy,
         .flags = FKE_CLI_REQUIRED},
        {"--budget", "K", FKE_CLI_INT, .dst = &o.budget, .lo = -FKE_CLI_ANY, .hi = FKE_CLI_ANY,
         .flags = FKE_CLI_REQUIRED},
        {"--out", "FILE.jsonl", FKE_CLI_STR, .dst = &o.out},
        {"--seed", "S", FKE_CLI_INT, .dst = &seed, .lo = 0, .hi = FKE_CLI_ANY},
        {0}};
    const fke_cli cli = {"fke query", usage, opts, "CKPT DATA.h5", 2, 2, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    o.ckpt = pos[0], o.data = pos[1];
    o.seed = (uint64_t)seed;
    fke_err e = {""};
    long n = 0;
    if (fke_query_run(&o, &n, &e) != FKE_OK) {
        fprintf(stderr, "fke query: %s\n", e.msg);
        return 1;
    }
    if (o.out && strcmp(o.out, "-"))
        fprintf(stderr, "%s: %ld posts chosen by %s\n", o.out, n, o.strategy);
    return 0;
}
