/* fuzz_tmatrix.c - a transition-matrix JSON (data/tmatrix.c, config key t_init). */
#include "core/config.h"
#include "data/tmatrix.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file(data, n, "json");
    fke_config c;
    fke_config_defaults(&c);
    c.n_cat = 3, c.n_attr = 1, c.n_val[0] = 2;
    fke_tmatrices tm;
    fke_err e = {""};
    if (fke_tmatrix_load(&tm, p, &c, &e) == FKE_OK)
        for (int t = 0; t < tm.ntask; t++) free(tm.T[t]);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    const char *a = "{\"format\": \"fke-transition\", \"tasks\": [{\"name\": \"category\", \"T\": "
                    "[[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0, 0, 1]]}, {\"name\": \"colour\", \"T\": "
                    "[[1, 0], [0.5, 0.5]]}]}";
    fuzz_seed(dir, "t.json", a, strlen(a));
}
