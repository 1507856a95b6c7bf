/* main.c - the fke command-line program: one binary, one command per job
 * (cli.h). The table of commands, `fke help` and `fke --version`; each
 * command's code is in its cmd_<name>.c. */
#include "cli/cli.h"
#include "core/cpu.h"
#include "core/fke.h"
#include "core/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


static const fke_command commands[] = {
    {"help", fke_cmd_help, "list the subcommands (fke help COMMAND: its options)"},
    {"version", fke_cmd_version, "the version and the git commit fke was built from"},
    {"gradcheck", fke_cmd_gradcheck, "check every backward against finite differences (double)"},
    {"data", fke_cmd_data, "make, import and show datasets"},
    {"extract", fke_cmd_extract, "posts (dataset or PNG + boxes) to JSON lines of knowledge"},
    {"tag", fke_cmd_tag, "tag pictures or posts with free-text tags by image-text matching (task clip); search an index by text"},
    {"knowledge", fke_cmd_knowledge, "aggregate extractions: occasion x category, attributes, co-occurrence"},
    {"plot", fke_cmd_plot, "curves of runs: loss, learning rate, validation accuracy (PNG, SVG)"},
    {"train", fke_cmd_train, "train a model from a JSON config (or --resume a run)"},
    {"eval", fke_cmd_eval, "accuracy, macro-F1, confusion matrices and T error of a checkpoint"},
    {"noise", fke_cmd_noise, "estimate the label-transition matrices (clean/machine overlap or anchor points)"},
    {"query", fke_cmd_query, "rank machine-labelled posts for human checking (least, margin, entropy, random)"},
    {"bench", fke_cmd_bench, "time a training step and inference of a preset (vs PyTorch)"},
    {"card", fke_cmd_card, "a model card (Hugging Face layout) for a training run, numbers from fke eval"},
    {"export", fke_cmd_export, "a checkpoint as an ONNX model (for ONNX Runtime and others)"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const fke_command *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name)) return &commands[i];
    return NULL;
}

static void list_commands(void)
{
    printf("fke - weakly-supervised fashion knowledge extraction, in C\n\n"
           "usage: fke COMMAND [ARGS]   (fke COMMAND --help for its options)\n\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("  %-12s %s\n", commands[i].name, commands[i].help);
    printf("\n%s\n", FKE_CLI_DOCS);
}

static const char help_usage[] =
    "fke help [COMMAND]\n"
    "  lists the commands; with COMMAND, prints its options\n"
    "  (the same as fke COMMAND --help)\n";
static const char version_usage[] =
    "fke version   (or fke --version)\n"
    "  prints fke's version and the git commit it was built from\n"
    "  (\"-dirty\": the tree had uncommitted changes), and the GEMM kernels in use\n";

int fke_cmd_help(int argc, char **argv)
{
    const char *pos[1] = {NULL};
    const fke_cli cli = {"fke help", help_usage, NULL, "COMMAND", 0, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    if (!pos[0]) {
        list_commands();
        return 0;
    }
    const fke_command *c = find(pos[0]);
    if (!c) return fke_cli_usage_error(&cli, "unknown command '%s'", pos[0]);
    char name[64], help[] = "--help";
    snprintf(name, sizeof name, "%s", c->name);
    char *args[] = {name, help, NULL};
    return c->run(2, args);
}

int fke_cmd_version(int argc, char **argv)
{
    const fke_cli cli = {"fke version", version_usage, NULL, "", 0, 0, NULL, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    printf("fke %s\n", fke_version());
    char blas[256];
    fke_cpu_describe(blas, sizeof blas);
    printf("%s\n", blas);
    return 0;
}

/* OpenBLAS chose its kernels when it loaded, from the CPU model or from
 * OPENBLAS_CORETYPE (core/cpu.h). When that is not the core this CPU's
 * features want (FKE_BLAS_CORE overrides; "keep" keeps OpenBLAS's), the
 * program runs itself again, once, with OPENBLAS_CORETYPE set: the only
 * moment before OpenBLAS loads. If that fails, the run goes on with what
 * OpenBLAS chose, and the headers say so. */
static void choose_blas(char **argv)
{
    if (getenv("FKE_BLAS_EXEC")) { /* this is the second run: never a third */
        unsetenv("FKE_BLAS_EXEC");
        return;
    }
    const char *mine = getenv("FKE_BLAS_CORE");
    if (mine && !strcmp(mine, "keep")) return;
    fke_cpu_features f;
    fke_cpu_read(&f);
    const char *want = mine && *mine ? mine : fke_cpu_blas_core(&f);
    if (!want || !strcasecmp(want, fke_cpu_blas_running())) return;
    if (setenv("OPENBLAS_CORETYPE", want, 1) || setenv("FKE_BLAS_EXEC", "1", 1)) return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    unsetenv("FKE_BLAS_EXEC"); /* no /proc: OpenBLAS's choice stays */
}

int main(int argc, char **argv)
{
    choose_blas(argv);
    fke_set_threads(0);
    if (argc < 2) return list_commands(), 2;
    const fke_command *c = find(argv[1]);
    if (c) return c->run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return list_commands(), 0;
    if (!strcmp(argv[1], "--version")) return fke_cmd_version(1, argv + 1);
    fprintf(stderr, "fke: unknown command '%s' (fke help lists them)\n", argv[1]);
    return 2;
}
