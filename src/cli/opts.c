/* opts.c - the option parser every fke command uses (cli.h): one table of
 * options per command, positionals, -h/--help, and the usage errors. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_OPTS 64 /* options in one table */

int fke_cli_help(const fke_cli *c)
{
    printf("usage: %s%s\n", c->usage, FKE_CLI_DOCS);
    return 0;
}

int fke_cli_usage_error(const fke_cli *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (%s --help)\n", c->cmd);
    return 2;
}

/* "CMD: missing 'WHAT'" and the usage, to stderr. */
static int missing(const fke_cli *c, const char *kind, const char *what, int len)
{
    fprintf(stderr, "%s: missing %s'%.*s'\nusage: %s", c->cmd, kind, len, what, c->usage);
    return 2;
}

static int unknown_option(const fke_cli *c, const char *a)
{
    fprintf(stderr, "%s: unknown option '%s'; options:", c->cmd, a);
    for (const fke_cli_opt *o = c->opts; o && o->name; o++) fprintf(stderr, " %s,", o->name);
    fprintf(stderr, " -h/--help\n");
    return 2;
}

/* "an integer in 1..8", "a number in [0, 1)", "train or test", ... */
static void describe(const fke_cli_opt *o, char *buf, size_t n)
{
    int lo = o->lo > -FKE_CLI_ANY, hi = o->hi < FKE_CLI_ANY;
    if (o->kind == FKE_CLI_CHOICE) {
        size_t k = 0, used = 0;
        while (o->choices[k]) k++;
        buf[0] = 0;
        for (size_t i = 0; i < k && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s",
                                     i == 0 ? "" : i + 1 < k ? ", " : " or ", o->choices[i]);
    } else if (o->kind == FKE_CLI_INT) {
        if (!lo && !hi) snprintf(buf, n, "a whole number");
        else if (o->lo == 0 && !hi) snprintf(buf, n, "a non-negative integer");
        else if (o->lo == 0) snprintf(buf, n, "a non-negative integer up to %.0f", o->hi);
        else if (!hi) snprintf(buf, n, "an integer >= %.0f", o->lo);
        else snprintf(buf, n, "an integer in %.0f..%.0f", o->lo, o->hi);
    } else {
        if (!lo && !hi) snprintf(buf, n, "a number");
        else if (!hi) snprintf(buf, n, "a number >= %g", o->lo);
        else snprintf(buf, n, "a number in [%g, %g%c", o->lo, o->hi,
                      o->flags & FKE_CLI_OPEN_HI ? ')' : ']');
    }
}

/* The one number reader of the program: v as a whole number (INT) or a real
 * number (REAL), whole string, in o's range. */
static int read_number(const fke_cli_opt *o, const char *v)
{
    char *end;
    double x;
    long l = 0;
    errno = 0;
    if (o->kind == FKE_CLI_INT) x = (double)(l = strtol(v, &end, 10));
    else x = strtod(v, &end);
    int ok = !errno && end != v && !*end && x >= o->lo &&
             (o->flags & FKE_CLI_OPEN_HI ? x < o->hi : x <= o->hi); /* NaN fails */
    if (!ok) return -1;
    if (o->kind == FKE_CLI_INT) *(long *)o->dst = l;
    else *(double *)o->dst = x;
    return 0;
}

/* Stores the value v of option o; 0, or the exit status of a usage error. */
static int take_value(const fke_cli *c, const fke_cli_opt *o, const char *v)
{
    char allowed[256];
    switch (o->kind) {
    case FKE_CLI_STR:
        *(const char **)o->dst = v;
        return 0;
    case FKE_CLI_LIST: {
        fke_cli_list *l = o->dst;
        if (l->n == FKE_CLI_LIST_MAX)
            return fke_cli_usage_error(c, "%s given more than %d times", o->name, FKE_CLI_LIST_MAX);
        l->v[l->n++] = v;
        return 0;
    }
    case FKE_CLI_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (!strcmp(v, o->choices[i])) {
                *(int *)o->dst = i;
                return 0;
            }
        break;
    case FKE_CLI_INT:
    case FKE_CLI_REAL:
        if (read_number(o, v) == 0) return 0;
        break;
    case FKE_CLI_FLAG:
        break;
    }
    describe(o, allowed, sizeof allowed);
    return fke_cli_usage_error(c, "%s must be %s, not '%s'", o->name, allowed, v);
}

static int is_help(const char *a) { return !strcmp(a, "-h") || !strcmp(a, "--help"); }

/* The k-th space-separated word of names (the last one when there are fewer). */
static const char *word(const char *names, int k, int *len)
{
    const char *w = names;
    for (int i = 0; i < k; i++) {
        const char *sp = strchr(w, ' ');
        if (!sp) break;
        w = sp + 1;
    }
    *len = (int)strcspn(w, " ");
    return w;
}

int fke_cli_parse(const fke_cli *c, int argc, char **argv)
{
    unsigned char given[MAX_OPTS] = {0};
    int nopt = 0, np = 0, only_pos = 0;
    while (c->opts && c->opts[nopt].name) nopt++;
    if (nopt > MAX_OPTS) { /* a table too long for this parser: a bug in the command */
        fprintf(stderr, "%s: %d options, the parser takes %d\n", c->cmd, nopt, MAX_OPTS);
        return 2;
    }
    /* --help wins over every error, wherever it stands (but not as a value) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || !(a[0] == '-' && a[1])) continue;
        if (!strcmp(a, "--")) only_pos = 1;
        else if (is_help(a)) return fke_cli_help(c);
        else
            for (int k = 0; k < nopt; k++)
                if (!strcmp(a, c->opts[k].name) && c->opts[k].kind != FKE_CLI_FLAG) i++;
    }
    only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || !(a[0] == '-' && a[1])) {
            if (c->max_args >= 0 && np == c->max_args)
                return fke_cli_usage_error(c, "unexpected argument '%s'", a);
            c->pos[np++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        int k = 0;
        while (k < nopt && strcmp(a, c->opts[k].name)) k++;
        if (k == nopt) return unknown_option(c, a);
        const fke_cli_opt *o = &c->opts[k];
        given[k] = 1;
        if (o->kind == FKE_CLI_FLAG) {
            *(int *)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) return fke_cli_usage_error(c, "option %s needs a value (%s)", a, o->arg);
        int rc = take_value(c, o, argv[++i]);
        if (rc) return rc;
    }
    if (c->npos) *c->npos = np;
    int len;
    if (np < c->min_args) {
        const char *w = word(c->args, np, &len);
        return missing(c, "", w, len);
    }
    for (int k = 0; k < nopt; k++)
        if (c->opts[k].flags & FKE_CLI_REQUIRED && !given[k]) {
            char what[128];
            const fke_cli_opt *o = &c->opts[k];
            snprintf(what, sizeof what, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
            /* one line that names it, not a usage the eye has to search */
            return fke_cli_usage_error(c, "missing option '%s', which is required", what);
        }
    return FKE_CLI_RUN;
}
