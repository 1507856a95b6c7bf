/* cli.h - the fke program's commands and their one option parser.
 *
 * Each cmd_<name>.c defines `int fke_cmd_<name>(int argc, char **argv)`
 * (argv[0] is the command's name), listed in main.c's table (`fke data`
 * has its own table of subcommands in cmd_data.c). Commands print errors and
 * return an exit status: 0 done, 1 the work failed (the library's message),
 * 2 a usage error. The library below them never prints or exits.
 *
 * How a command reads its arguments: a table of options pointing at its own
 * variables, and one call.
 *
 *   const char *pos[2], *out = NULL;
 *   long batch = 0;
 *   const fke_cli_opt opts[] = {
 *       {"--out", "FILE", FKE_CLI_STR, .dst = &out},
 *       {"--batch", "N", FKE_CLI_INT, .dst = &batch, .lo = 1, .hi = 1000000},
 *       {0}};
 *   const fke_cli cli = {"fke extract", usage, opts, "CKPT INPUT", 2, 2, pos};
 *   int rc = fke_cli_parse(&cli, argc, argv);
 *   if (rc != FKE_CLI_RUN) return rc;    0 after --help, 2 after a usage error
 *
 * -h and --help print the usage and the docs line (FKE_CLI_DOCS) to stdout
 * anywhere among the arguments. An option's value is the next argument,
 * whatever it looks like (--seed -3 is a bad seed, not an unknown option);
 * "--" ends the options; "-" alone is a positional argument. Errors name the
 * command, the option and what is allowed:
 *
 *   fke eval: unknown option '--jsn'; options: --out, --json, -h/--help
 *   fke extract: --batch must be an integer in 1..1000000, not '0' (fke extract --help)
 *
 * and a missing positional or required option prints its name and then the
 * usage, all to stderr. */
#ifndef FKE_CLI_H
#define FKE_CLI_H

#include <math.h>

/* The last line of every --help: where the network and the configs are described. */
#define FKE_CLI_DOCS "the network fke trains: docs/model.md; configs: configs/README.md"

typedef enum {
    FKE_CLI_FLAG,   /* no value; int *dst = 1 */
    FKE_CLI_STR,    /* const char **dst = the value */
    FKE_CLI_LIST,   /* repeatable; the value appended to fke_cli_list *dst */
    FKE_CLI_INT,    /* long *dst, a whole number in [lo, hi] */
    FKE_CLI_REAL,   /* double *dst, a number in [lo, hi] ([lo, hi) with FKE_CLI_OPEN_HI) */
    FKE_CLI_CHOICE, /* int *dst = the value's index in choices */
} fke_cli_kind;

enum {
    FKE_CLI_REQUIRED = 1, /* missing: an error, with the usage */
    FKE_CLI_OPEN_HI = 2,  /* REAL: hi itself is not allowed */
};

/* No bound, for lo or hi: -FKE_CLI_ANY, FKE_CLI_ANY. */
#define FKE_CLI_ANY INFINITY

typedef struct {
    const char *name;           /* "--out" */
    const char *arg;            /* what the value is, for messages: "FILE" (flags: NULL) */
    fke_cli_kind kind;
    void *dst;                  /* where the value goes; its type follows kind */
    double lo, hi;              /* INT and REAL: the allowed range */
    int flags;                  /* FKE_CLI_REQUIRED | FKE_CLI_OPEN_HI */
    const char *const *choices; /* CHOICE: the allowed values, NULL-terminated */
} fke_cli_opt;

#define FKE_CLI_LIST_MAX 64
typedef struct {
    const char *v[FKE_CLI_LIST_MAX];
    int n;
} fke_cli_list;

typedef struct {
    const char *cmd;        /* "fke data synth": starts every message */
    const char *usage;      /* the help text after "usage: ", ending in a newline */
    const fke_cli_opt *opts;    /* ends with {0}; NULL: no options */
    const char *args;       /* the positionals' names, space-separated: "CKPT DATA.h5" */
    int min_args, max_args; /* how many positionals; max_args < 0: no limit */
    const char **pos;       /* receives them: room for max_args (no limit: argc) */
    int *npos;              /* receives their count; may be NULL */
} fke_cli;

#define FKE_CLI_RUN (-1) /* fke_cli_parse: the arguments are good, run the command */

/* Parses argv[1..argc-1] into the table's variables (left as they are when
 * not given). Returns FKE_CLI_RUN, or the exit status after printing: 0 for
 * -h/--help, 2 for a usage error. */
int fke_cli_parse(const fke_cli *c, int argc, char **argv);
/* Prints "usage: ", c's usage and FKE_CLI_DOCS to stdout; returns 0. */
int fke_cli_help(const fke_cli *c);
/* Prints "CMD: MESSAGE (CMD --help)" to stderr; returns 2. For the checks a
 * command makes after fke_cli_parse (one option or the other, ...). */
int fke_cli_usage_error(const fke_cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the commands (main.c's table) ---------------------------------------- */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help; /* one line for the list, or (fke data) the usage lines */
} fke_command;

int fke_cmd_help(int argc, char **argv);      /* main.c */
int fke_cmd_version(int argc, char **argv);   /* main.c */
int fke_cmd_gradcheck(int argc, char **argv); /* cmd_gradcheck.c */
int fke_cmd_data(int argc, char **argv);      /* cmd_data.c */
int fke_cmd_extract(int argc, char **argv);   /* cmd_extract.c */
int fke_cmd_knowledge(int argc, char **argv); /* cmd_knowledge.c */
int fke_cmd_plot(int argc, char **argv);      /* cmd_plot.c */
int fke_cmd_train(int argc, char **argv);     /* cmd_train.c */
int fke_cmd_eval(int argc, char **argv);      /* cmd_eval.c */
int fke_cmd_noise(int argc, char **argv);     /* cmd_noise.c */
int fke_cmd_query(int argc, char **argv);     /* cmd_query.c */
int fke_cmd_bench(int argc, char **argv);     /* cmd_bench.c */
int fke_cmd_export(int argc, char **argv);    /* cmd_export.c */
int fke_cmd_card(int argc, char **argv);      /* cmd_card.c */
int fke_cmd_tag(int argc, char **argv);       /* cmd_tag.c */

/* `fke data` subcommands in files of their own (cmd_data.c has the rest). */
int fke_cmd_data_corrupt(int argc, char **argv); /* cmd_data_corrupt.c */
int fke_cmd_data_reveal(int argc, char **argv);  /* cmd_data_reveal.c */
int fke_cmd_data_import(int argc, char **argv);  /* cmd_data_import.c */
int fke_cmd_data_import_fashionke(int argc, char **argv);    /* cmd_data_import_fashionke.c */
int fke_cmd_data_import_deepfashion2(int argc, char **argv); /* cmd_data_import_deepfashion2.c */
int fke_cmd_data_vocab(int argc, char **argv);   /* cmd_data_vocab.c */
int fke_cmd_data_import_deepfashion(int argc, char **argv); /* cmd_data_import_deepfashion.c */
/* Usages (after "usage: "), which are also their parts of `fke data --help`. */
extern const char fke_data_corrupt_usage[];
extern const char fke_data_import_usage[];
extern const char fke_data_import_fashionke_usage[];
extern const char fke_data_import_deepfashion2_usage[];
extern const char fke_data_vocab_usage[];
extern const char fke_data_import_deepfashion_usage[];

#endif
