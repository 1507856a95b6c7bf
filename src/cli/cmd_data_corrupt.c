/* cmd_labelnoise.c - `fke data corrupt`: an image set's training labels
 * redrawn with known noise (labelnoise.h), the true labels and T kept in the
 * file, T optionally written as a t_init matrix file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/corrupt.h"
#include "run/metrics.h"

static int usage_err(const char *msg, const char *arg)
{
    fprintf(stderr, "fke data corrupt: %s '%s' (fke data --help)\n", msg, arg);
    return 2;
}

int fke_cmd_data_corrupt(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *kind_s = NULL, *rate_s = NULL, *t_out = NULL;
    long seed = 1, limit = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            char *end;
            if (!v) return usage_err("option needs a value", a);
            if (!strcmp(a, "--noise")) kind_s = v;
            else if (!strcmp(a, "--rate")) rate_s = v;
            else if (!strcmp(a, "--t-out")) t_out = v;
            else if (!strcmp(a, "--seed") || !strcmp(a, "--limit")) {
                errno = 0;
                long x = strtol(v, &end, 10);
                if (errno || end == v || *end || x < 0 || x > 0x7fffffffL)
                    return usage_err(!strcmp(a, "--seed") ? "--seed must be a non-negative integer, not"
                                                          : "--limit must be a non-negative integer, not", v);
                if (!strcmp(a, "--seed")) seed = x;
                else limit = x;
            } else return usage_err("unknown option", a);
        } else if (!in) in = a;
        else if (!out) out = a;
        else return usage_err("unexpected argument", a);
    }
    if (!in || !out) return usage_err("usage: fke data corrupt IN.h5 OUT.h5 --noise KIND --rate R; missing", !in ? "IN.h5" : "OUT.h5");
    if (!kind_s) return usage_err("missing option", "--noise symmetric|pairflip");
    if (!rate_s) return usage_err("missing option", "--rate R");
    int kind = fke_noise_kind_parse(kind_s);
    if (kind < 0) return usage_err("--noise must be symmetric or pairflip, not", kind_s);
    char *end;
    errno = 0;
    double rate = strtod(rate_s, &end);
    if (errno || end == rate_s || *end) return usage_err("--rate must be a number, not", rate_s);

    fke_err e = {""};
    fke_imageset s, o;
    if (fke_imageset_load(&s, in, &e)) {
        fprintf(stderr, "fke data corrupt: %s\n", e.msg);
        return 1;
    }
    fke_status st = fke_labelnoise_corrupt(&s, (fke_noise_kind)kind, rate, (uint64_t)seed, limit, &o, &e);
    fke_imageset_free(&s);
    if (st == FKE_OK) {
        st = fke_imageset_save(&o, out, &e);
        if (st == FKE_OK && t_out) {
            fke_tmatrices tm;
            char *names[1] = {"class"};
            st = fke_labelnoise_tmatrix(&o, &tm, &e);
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
    double changed = Te ? fke_labelnoise_empirical(&o, Te) : -1;
    printf("%s: %d images, %s noise at rate %g (seed %ld): %.2f%% of labels changed",
           out, o.N, kind_s, rate, seed, 100 * changed);
    if (Te) printf(", |empirical T - T| mean %.4f", fke_matrix_mae(Te, o.T_true, n));
    printf("\n");
    if (t_out) printf("%s: T_true as a t_init matrix file\n", t_out);
    free(Te);
    fke_imageset_free(&o);
    return 0;
}
