/* fuzz_config.c - a config JSON (core/config.c): parse, validate, write back. */
#include <cjson/cJSON.h>

#include "core/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = fuzz_text(data, n);
    if (!s) return 0;
    fke_config c;
    fke_config_defaults(&c);
    fke_err e = {""};
    if (fke_config_from_json(&c, s, "fuzz.json", &e) == FKE_OK && fke_config_validate(&c, &e) == FKE_OK) {
        char *j = fke_config_to_json(&c);
        fke_config d;
        fke_config_defaults(&d);
        if (j && fke_config_from_json(&d, j, "again", &e) != FKE_OK) abort(); /* it wrote what it cannot read */
        free(j);
    }
    free(s);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    const char *a = "{\"preset\": \"fke-small\", \"chans\": [4, 4, 8], \"F\": 8, \"lr\": 0.01, "
                    "\"train_data\": \"x.h5\", \"steps\": 3, \"n_val\": [3, 4], \"task\": \"fke\"}";
    const char *b = "{\"preset\": \"fke-paper\", \"cnn\": \"resnet18\", \"batch\": 8, \"cell\": \"gru\"}";
    fuzz_seed(dir, "small.json", a, strlen(a));
    fuzz_seed(dir, "paper.json", b, strlen(b));
}
