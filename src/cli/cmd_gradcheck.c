/* cmd_gradcheck.c - `fke gradcheck`: runs fke-gradcheck, the double-precision
 * build of the operations (src/gradcheck/), from fke's own folder. The options
 * are checked here first, so --help and the usage errors read as every other
 * command's; fke-gradcheck then gets the arguments as they were. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char usage[] =
    "fke gradcheck [--only NAME] [--sabotage NAME] [--seed N] [--verbose]\n"
    "  Checks every backward against central finite differences in double precision\n"
    "  (the fke-gradcheck program beside fke); one line per operation, exit 1 when\n"
    "  any disagrees.\n"
    "  --only NAME      check only that operation\n"
    "  --sabotage NAME  perturb NAME's analytic gradient: its check must then FAIL\n"
    "  --seed N         random inputs from seed N (default 1234)\n"
    "  --verbose        the error of every checked variable\n";

int fke_cmd_gradcheck(int argc, char **argv)
{
    const char *only = NULL, *sabotage = NULL;
    long seed = 0;
    int verbose = 0;
    const fke_cli_opt opts[] = {
        {"--only", "NAME", FKE_CLI_STR, .dst = &only},
        {"--sabotage", "NAME", FKE_CLI_STR, .dst = &sabotage},
        {"--seed", "N", FKE_CLI_INT, .dst = &seed, .lo = 0, .hi = FKE_CLI_ANY},
        {"--verbose", NULL, FKE_CLI_FLAG, .dst = &verbose},
        {0}};
    const fke_cli cli = {"fke gradcheck", usage, opts, "", 0, 0, NULL, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;

    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) {
        fprintf(stderr, "fke gradcheck: cannot find fke's own folder\n");
        return 1;
    }
    path[n] = 0;
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "fke-gradcheck");
    argv[0] = path;
    fflush(stdout);
    execv(path, argv);
    fprintf(stderr, "fke gradcheck: cannot run %s (build it with make)\n", path);
    return 1;
}
