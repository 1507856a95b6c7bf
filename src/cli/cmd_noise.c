/* cmd_noise.c - `fke noise estimate` (transition matrices from clean/machine
 * overlap or from a model's anchor points) and `fke query` (which
 * machine-labelled posts to check next). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "run/t_estimate.h"
#include "run/query.h"

static const char *noise_usage =
    "usage: fke noise estimate DATA.h5 [--model CKPT] [--out T.json] [--alpha A]\n"
    "                          [--quantile Q]\n"
    "  Estimates the transition matrix T[i][j] = P(machine label j | true label i)\n"
    "  of the category and of every attribute, in the file format `fke train`\n"
    "  reads as its initial T (config key t_init); prints, per task, the mean\n"
    "  absolute error per entry against the data's true matrices when it has them.\n"
    "  default      from garments with both a clean (true) and a machine label:\n"
    "               T[i][j] = (count_ij + A/n) / (count_i + A)   (--alpha A, default 1)\n"
    "  --model CKPT anchor points (Patrini et al. 2017) of a model trained on the\n"
    "               machine labels alone (e.g. --set correction=none): row i of T\n"
    "               is the model's p(.|x) at the garment x whose p(i|x) is at the\n"
    "               quantile Q over all machine-labelled garments (--quantile Q,\n"
    "               default 0.97; 1 = the most confident garment)\n"
    "  --out T.json where the matrices go (default: stdout, the report to stderr)\n"
    "  DATA may also be an image set (task classify, e.g. from `fke data corrupt`):\n"
    "  one matrix over its classes, by anchor points of --model CKPT (a classify\n"
    "  model trained with correction=none on its labels) over every image; the\n"
    "  error is against the set's T_true.\n";

static const char *query_usage =
    "usage: fke query CKPT DATA.h5 --strategy least|margin|entropy|random --budget K\n"
    "                 [--out FILE.jsonl] [--seed S]\n"
    "  Ranks the machine-labelled posts (clean = 0, with garments) of DATA for human\n"
    "  checking and writes the top K as JSON lines {\"post\": id, \"score\": s, \"rank\": r}\n"
    "  (stdout without --out). Per garment and task (category, every attribute):\n"
    "    least    1 - max p          margin   1 - (p1 - p2)\n"
    "    entropy  -sum p log p / log n (normalised to [0, 1])\n"
    "  a post's score is the mean over its garments of the mean over the tasks;\n"
    "  random scores posts with seeded uniform draws (--seed S, default 1).\n";

static int parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *v = x;
    return 0;
}

static int parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end) return -1;
    *v = x;
    return 0;
}

/* Copies the matrices file at path to stdout. */
static int cat_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return fflush(stdout);
}

int fke_cmd_noise(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(noise_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "estimate")) {
        fprintf(stderr, "fke noise: unknown action '%s' (the one action is estimate)\n", argv[1]);
        return 2;
    }
    fke_noise_opts o;
    fke_noise_defaults(&o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(noise_usage, stdout);
            return 0;
        }
        if (a[0] == '-' && a[1]) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                fprintf(stderr, "fke noise estimate: option %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--model")) o.model = v;
            else if (!strcmp(a, "--out")) o.out = v;
            else if (!strcmp(a, "--alpha")) {
                if (parse_double(v, &o.alpha) || !(o.alpha >= 0)) {
                    fprintf(stderr, "fke noise estimate: --alpha must be a number >= 0, not '%s'\n", v);
                    return 2;
                }
            } else if (!strcmp(a, "--quantile")) {
                if (parse_double(v, &o.quantile) || !(o.quantile >= 0 && o.quantile <= 1)) {
                    fprintf(stderr, "fke noise estimate: --quantile must be in [0, 1], not '%s'\n", v);
                    return 2;
                }
            } else {
                fprintf(stderr, "fke noise estimate: unknown option '%s' (fke noise --help)\n", a);
                return 2;
            }
        } else if (!o.data) {
            o.data = a;
        } else {
            fprintf(stderr, "fke noise estimate: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!o.data) {
        fputs(noise_usage, stderr);
        return 2;
    }
    /* without --out the matrices go to stdout: written by fke_tmatrix_save
     * to a private file first, so stdout gets exactly the file format */
    char tmp[64] = "";
    int to_stdout = !o.out || !strcmp(o.out, "-");
    if (to_stdout) {
        strcpy(tmp, "/tmp/fke-noise-XXXXXX");
        int fd = mkstemp(tmp);
        if (fd < 0) {
            fprintf(stderr, "fke noise estimate: cannot make a temporary file in /tmp\n");
            return 1;
        }
        close(fd);
        o.out = tmp;
    }
    fke_err e = {""};
    fke_noise_report r;
    fke_status st = fke_noise_estimate(&o, &r, &e);
    if (st == FKE_OK && to_stdout && cat_file(tmp) != 0)
        st = fke_fail(&e, FKE_ERR_IO, "stdout: write failed");
    if (to_stdout) unlink(tmp);
    if (st != FKE_OK) {
        fprintf(stderr, "fke noise estimate: %s\n", e.msg);
        return 1;
    }
    FILE *rep = to_stdout ? stderr : stdout;
    if (r.method == FKE_NOISE_OVERLAP)
        fprintf(rep, "%s: transition matrices from %ld garments with a clean and a machine "
                     "label (alpha %g)\n", o.data, r.garments, o.alpha);
    else
        fprintf(rep, "%s: transition matrices from anchor points of %s over %ld %s "
                     "(quantile %g)\n", o.data, o.model, r.garments,
                r.names[0] && !strcmp(r.names[0], "class") ? "images" : "machine-labelled garments",
                o.quantile);
    if (r.has_true) {
        for (int t = 0; t < r.tm.ntask; t++)
            fprintf(rep, "  %-12s %2dx%-2d  mean abs error vs T_true %.4f\n", r.names[t],
                    r.tm.n[t], r.tm.n[t], r.mae[t]);
        fprintf(rep, "  %-12s        mean abs error vs T_true %.4f (mean over tasks)\n", "overall",
                r.mae_mean);
    } else {
        fprintf(rep, "  (the data has no true matrices: no error to report)\n");
    }
    if (!to_stdout) fprintf(rep, "written %s\n", o.out);
    fke_noise_report_free(&r);
    return 0;
}

int fke_cmd_query(int argc, char **argv)
{
    fke_query_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    const char *pos[2] = {NULL, NULL};
    int np = 0, have_budget = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(query_usage, stdout);
            return 0;
        }
        if (a[0] == '-' && a[1]) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            long n;
            if (!v) {
                fprintf(stderr, "fke query: option %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--strategy")) o.strategy = v;
            else if (!strcmp(a, "--out")) o.out = v;
            else if (!strcmp(a, "--budget")) {
                if (parse_long(v, &n)) {
                    fprintf(stderr, "fke query: --budget must be a whole number, not '%s'\n", v);
                    return 2;
                }
                o.budget = n, have_budget = 1;
            } else if (!strcmp(a, "--seed")) {
                if (parse_long(v, &n) || n < 0) {
                    fprintf(stderr, "fke query: --seed must be a non-negative integer, not '%s'\n", v);
                    return 2;
                }
                o.seed = (uint64_t)n;
            } else {
                fprintf(stderr, "fke query: unknown option '%s' (fke query --help)\n", a);
                return 2;
            }
        } else if (np < 2) {
            pos[np++] = a;
        } else {
            fprintf(stderr, "fke query: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (np < 2 || !o.strategy || !have_budget) {
        fputs(query_usage, stderr);
        return 2;
    }
    o.ckpt = pos[0], o.data = pos[1];
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
