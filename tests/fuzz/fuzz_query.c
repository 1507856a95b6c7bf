/* fuzz_query.c - the JSON lines fke query writes, as fke data reveal reads
 * them (run/reveal.c): the post ids, then applied to a tiny dataset whose
 * machine-labelled posts have true labels (every check of the reveal). */
#include "fuzz.h"
#include "run/reveal.h"
#include "tiny.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static fke_dataset d;
    static int ready = 0;
    if (!ready) {
        ready = fuzz_tiny_dataset(&d) ? 1 : -1;
        for (long i = 0; ready == 1 && i < (long)d.N * d.G; i++)
            d.cat_true[i] = i % 3 == 2 ? -1 : d.cat[i];
        for (long i = 0; ready == 1 && i < (long)d.N * d.G * d.A; i++) d.attr_true[i] = d.attr[i];
    }
    const char *p = fuzz_file(data, n, "json");
    int32_t *ids = NULL;
    long k = 0;
    fke_err e = {""};
    if (fke_reveal_read_ids(p, &ids, &k, &e) != FKE_OK) return 0;
    if (ready == 1) {
        /* on a copy of the labels the reveal may change */
        size_t NG = (size_t)d.N * d.G, NGA = NG * d.A;
        uint8_t clean[8];
        int32_t *cat = malloc(NG * sizeof *cat), *attr = malloc(NGA * sizeof *attr);
        if (cat && attr && d.N <= 8) {
            memcpy(clean, d.clean, (size_t)d.N);
            memcpy(cat, d.cat, NG * sizeof *cat);
            memcpy(attr, d.attr, NGA * sizeof *attr);
            fke_reveal_stats st;
            fke_reveal_apply(&d, ids, k, &st, &e);
            memcpy(d.clean, clean, (size_t)d.N);
            memcpy(d.cat, cat, NG * sizeof *cat);
            memcpy(d.attr, attr, NGA * sizeof *attr);
        }
        free(cat), free(attr);
    }
    free(ids);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    const char *a = "{\"post\": 0, \"score\": 0.9, \"strategy\": \"least\"}\n\n"
                    "{\"post\": 2, \"score\": 0.1}\r\n";
    const char *b = "{\"post\": 1}\n{\"post\": 1}\n";
    fuzz_seed(dir, "q.jsonl", a, strlen(a));
    fuzz_seed(dir, "twice.jsonl", b, strlen(b));
}
