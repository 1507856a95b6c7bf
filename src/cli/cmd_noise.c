/* cmd_noise.c - `fke noise estimate`: the transition matrices from the
 * clean/machine overlap of a dataset or from a model's anchor points
 * (run/noise_estimate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "run/noise_estimate.h"

static const char usage[] =
    "fke noise estimate DATA.h5 [--model CKPT] [--out T.json] [--alpha A]\n"
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
    fke_noise_opts o;
    fke_noise_defaults(&o);
    const fke_cli_opt opts[] = {
        {"--model", "CKPT", FKE_CLI_STR, .dst = &o.model},
        {"--out", "T.json", FKE_CLI_STR, .dst = &o.out},
        {"--alpha", "A", FKE_CLI_REAL, .dst = &o.alpha, .lo = 0, .hi = FKE_CLI_ANY},
        {"--quantile", "Q", FKE_CLI_REAL, .dst = &o.quantile, .lo = 0, .hi = 1},
        {0}};
    const fke_cli cli = {"fke noise estimate", usage, opts, "DATA.h5", 1, 1, &o.data, NULL};
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return fke_cli_help(&cli);
    if (argc < 2) {
        fprintf(stderr, "usage: %s", usage);
        return 2;
    }
    if (strcmp(argv[1], "estimate")) {
        fprintf(stderr, "fke noise: unknown action '%s' (the one action is estimate)\n", argv[1]);
        return 2;
    }
    int rc = fke_cli_parse(&cli, argc - 1, argv + 1);
    if (rc != FKE_CLI_RUN) return rc;
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
    switch (r.method) {
    case FKE_NOISE_OVERLAP:
        fprintf(rep, "%s: transition matrices from %ld garments with a clean and a machine "
                     "label (alpha %g)\n", o.data, r.garments, o.alpha);
        break;
    case FKE_NOISE_ANCHORS:
        fprintf(rep, "%s: transition matrices from anchor points of %s over %ld %s "
                     "(quantile %g)\n", o.data, o.model, r.garments,
                r.names[0] && !strcmp(r.names[0], "class") ? "images" : "machine-labelled garments",
                o.quantile);
        break;
    }
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

