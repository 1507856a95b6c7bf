/* gc_main.c - the fke-gradcheck program (double precision build), run by
 * `fke gradcheck`. Prints one line per operation and exits non-zero if any
 * backward disagrees with central finite differences.
 *
 *   fke-gradcheck [--only NAME] [--sabotage NAME] [--seed N] [--verbose]
 *
 * --sabotage NAME perturbs NAME's analytic gradient after its backward ran:
 * the checker must then report FAIL (tests/test_gradcheck.sh shows it). */
#include "gradcheck/gradcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FKE_DOUBLE
#error "gradcheck must be built with -DFKE_DOUBLE"
#endif

extern const fke_gc_case fke_gc_linear_cases[];
extern const fke_gc_case fke_gc_cnn_cases[];
extern const fke_gc_case fke_gc_rnn_cases[];
extern const fke_gc_case fke_gc_text_cases[];
extern const fke_gc_case fke_gc_loss_cases[];
extern const fke_gc_case fke_gc_gather_cases[];
extern const fke_gc_case fke_gc_transformer_cases[];
extern const fke_gc_case fke_gc_contrastive_cases[];

static const fke_gc_case *const groups[] = {fke_gc_linear_cases, fke_gc_cnn_cases,
                                            fke_gc_rnn_cases, fke_gc_text_cases,
                                            fke_gc_loss_cases, fke_gc_gather_cases,
                                            fke_gc_transformer_cases,
                                            fke_gc_contrastive_cases};

int main(int argc, char **argv)
{
    const char *only = NULL;
    fke_gc g;
    memset(&g, 0, sizeof g);
    unsigned long long seed = 1234;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--sabotage") && i + 1 < argc) g.sabotage = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--verbose")) g.verbose = 1;
        else {
            fprintf(stderr, "fke gradcheck: unknown option '%s'\n"
                            "usage: fke gradcheck [--only NAME] [--sabotage NAME] "
                            "[--seed N] [--verbose]\n", argv[i]);
            return 2;
        }
    }
    if (fke_arena_init(&g.arena, (size_t)64 << 20, &g.err) != FKE_OK) {
        fprintf(stderr, "fke gradcheck: %s\n", g.err.msg);
        return 1;
    }
    g.eps = 1e-6;
    fke_set_threads(0);
    int known = !only;
    for (size_t k = 0; !known && k < sizeof groups / sizeof groups[0]; k++)
        for (const fke_gc_case *c = groups[k]; c->name; c++) known |= !strcmp(only, c->name);
    if (known)
        printf("%-22s %12s  %s\n", "operation", "max rel err", "result (tolerance 1e-6, double)");
    int ran = 0, failed = 0;
    for (size_t k = 0; known && k < sizeof groups / sizeof groups[0]; k++) {
        for (const fke_gc_case *c = groups[k]; c->name; c++) {
            if (only && strcmp(only, c->name) != 0) continue;
            fke_arena_reset(&g.arena);
            fke_rng_seed(&g.rng, seed + 7919u * (unsigned)ran);
            g.nvar = g.nout = g.overflow = 0;
            g.err.msg[0] = 0;
            failed += c->run(&g) != 0;
            ran++;
        }
    }
    fke_arena_free(&g.arena);
    if (ran == 0) {
        fprintf(stderr, "fke gradcheck: no operation named '%s'; the operations:", only ? only : "");
        for (size_t k = 0; k < sizeof groups / sizeof groups[0]; k++)
            for (const fke_gc_case *c = groups[k]; c->name; c++)
                fprintf(stderr, "%s %s", k == 0 && c == groups[0] ? "" : ",", c->name);
        fprintf(stderr, "\n");
        return 2;
    }
    printf("gradcheck: %d operations, %d failed\n", ran, failed);
    return failed ? 1 : 0;
}
