/* fuzz_set.c - --set KEY=VALUE assignments (core/config.c), one per line. */
#include "core/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = fuzz_text(data, n);
    if (!s) return 0;
    fke_config c;
    fke_config_defaults(&c);
    fke_err e = {""};
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) fke_config_set(&c, line, &e);
    fke_config_validate(&c, &e);
    free(s);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    const char *a = "steps=5\nlr=1e-3\nchans=[4,4,8]\nn_val=[2,3]\npreset=fke-small\ncell=gru\n";
    fuzz_seed(dir, "sets.txt", a, strlen(a));
}
