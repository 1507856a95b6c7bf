/* cmd_data_corrupt.c - `fke data corrupt`: an image set's training labels
 * redrawn with known noise (data/corrupt.h), the true labels and T kept in
 * the file, T optionally written as a t_init matrix file. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "data/corrupt.h"
#include "run/metrics.h"

const char fke_data_corrupt_usage[] =
    "fke data corrupt IN.h5 OUT.h5 --noise symmetric|pairflip --rate R [--seed S]\n"
    "         [--limit N] [--t-out T.json]\n"
    "         an image set's labels redrawn with known noise (the first N images; all by\n"
    "         default): symmetric: with prob. R one of the other classes, uniformly\n"
    "         (R < (n-1)/n); pairflip: with prob. R class i becomes i+1 mod n (R < 0.5).\n"
    "         OUT keeps the true labels and T_true; --t-out writes T_true as a t_init file\n";

int fke_cmd_data_corrupt(int argc, char **argv)
{
    const char *pos[2], *kind_s = NULL, *t_out = NULL;
    long seed = 1, limit = 0;
    double rate = 0;
    /* the kind's names are data/corrupt.h's; the rate's range depends on the kind */
    const fke_cli_opt opts[] = {
        {"--noise", "symmetric|pairflip", FKE_CLI_STR, .dst = &kind_s, .flags = FKE_CLI_REQUIRED},
        {"--rate", "R", FKE_CLI_REAL, .dst = &rate, .lo = -FKE_CLI_ANY, .hi = FKE_CLI_ANY,
         .flags = FKE_CLI_REQUIRED},
        {"--seed", "S", FKE_CLI_INT, .dst = &seed, .lo = 0, .hi = 0x7fffffffL},
        {"--limit", "N", FKE_CLI_INT, .dst = &limit, .lo = 0, .hi = 0x7fffffffL},
        {"--t-out", "T.json", FKE_CLI_STR, .dst = &t_out},
        {0}};
    const fke_cli cli = {"fke data corrupt", fke_data_corrupt_usage, opts, "IN.h5 OUT.h5", 2, 2,
                         pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    const char *in = pos[0], *out = pos[1];
    int kind = fke_noise_kind_parse(kind_s);
    if (kind < 0)
        return fke_cli_usage_error(&cli, "--noise must be symmetric or pairflip, not '%s'", kind_s);

    fke_err e = {""};
    fke_imageset s, o;
    if (fke_imageset_load(&s, in, &e)) {
        fprintf(stderr, "fke data corrupt: %s\n", e.msg);
        return 1;
    }
    fke_status st = fke_corrupt_labels(&s, (fke_noise_kind)kind, rate, (uint64_t)seed, limit, &o, &e);
    fke_imageset_free(&s);
    if (st == FKE_OK) {
        st = fke_imageset_save(&o, out, &e);
        if (st == FKE_OK && t_out) {
            fke_tmatrices tm;
            char *names[1] = {"class"};
            st = fke_corrupt_tmatrix(&o, &tm, &e);
            if (st == FKE_OK) st = fke_tmatrix_save(&tm, t_out, names, &e);
            fke_tmatrix_free(&tm);
        }
    }
    if (st != FKE_OK) {
        if (o.labels) fke_imageset_free(&o);
        fprintf(stderr, "fke data corrupt: %s\n", e.msg);
        return 1;
    }
    int n = o.n_cls;
    float *Te = malloc((size_t)n * n * sizeof(float));
    double changed = Te ? fke_corrupt_empirical(&o, Te) : -1;
    printf("%s: %d images, %s noise at rate %g (seed %ld): %.2f%% of labels changed",
           out, o.N, kind_s, rate, seed, 100 * changed);
    if (Te) printf(", |empirical T - T| mean %.4f", fke_matrix_mae(Te, o.T_true, n));
    printf("\n");
    if (t_out) printf("%s: T_true as a t_init matrix file\n", t_out);
    free(Te);
    fke_imageset_free(&o);
    return 0;
}
