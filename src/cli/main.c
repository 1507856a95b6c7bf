/* main.c - the fke command-line program: one binary, one subcommand per job.
 * The only place in fke that prints an error and exits. */
#include "cli/cli.h"
#include "core/fke.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Runs fke-gradcheck (the double-precision build) from fke's own folder. */
static int cmd_gradcheck(int argc, char **argv)
{
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
    (void)argc;
    return 1;
}

static int cmd_help(int argc, char **argv);
int fke_cmd_data(int argc, char **argv);
int fke_cmd_extract(int argc, char **argv);
int fke_cmd_knowledge(int argc, char **argv);
int fke_cmd_train(int argc, char **argv);
int fke_cmd_eval(int argc, char **argv);
int fke_cmd_bench(int argc, char **argv);
int fke_cmd_noise(int argc, char **argv);
int fke_cmd_query(int argc, char **argv);

static const fke_command commands[] = {
    {"help", cmd_help, "list the subcommands"},
    {"gradcheck", cmd_gradcheck, "check every backward against finite differences (double)"},
    {"data", fke_cmd_data, "make, import and show datasets"},
    {"extract", fke_cmd_extract, "posts (dataset or PNG + boxes) to JSON lines of knowledge"},
    {"knowledge", fke_cmd_knowledge, "aggregate extractions: occasion x category, attributes, co-occurrence"},
    {"train", fke_cmd_train, "train a model from a JSON config (or --resume a run)"},
    {"eval", fke_cmd_eval, "accuracy, macro-F1, confusion matrices and T error of a checkpoint"},
    {"noise", fke_cmd_noise, "estimate the label-transition matrices (clean/machine overlap or anchor points)"},
    {"query", fke_cmd_query, "rank machine-labelled posts for human checking (least, margin, entropy, random)"},
    {"bench", fke_cmd_bench, "time a training step and inference of a preset (vs PyTorch)"},
};

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("fke - weakly-supervised fashion knowledge extraction, in C\n\n"
           "usage: fke COMMAND [ARGS]   (fke COMMAND --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-12s %s\n", commands[i].name, commands[i].help);
    return 0;
}

int main(int argc, char **argv)
{
    fke_set_threads(0);
    if (argc < 2) return cmd_help(argc, argv), 2;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return cmd_help(argc, argv);
    fprintf(stderr, "fke: unknown command '%s' (fke help lists them)\n", argv[1]);
    return 2;
}
