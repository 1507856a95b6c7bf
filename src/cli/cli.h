/* cli.h - subcommands of the fke program. Each cmd_*.c defines one or more
 * `int fke_cmd_<name>(int argc, char **argv)` (argv[0] is the subcommand
 * name), listed in main.c's table. Commands print errors and return an exit
 * status; the library below them never exits. */
#ifndef FKE_CLI_H
#define FKE_CLI_H

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} fke_command;

#endif
