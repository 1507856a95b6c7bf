/* fuzz_jsonl.c - extraction JSON lines as fke knowledge reads them (run/knowledge.c). */
#include "fuzz.h"
#include "run/knowledge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = fuzz_text(data, n);
    if (!s) return 0;
    fke_knowledge k;
    fke_knowledge_init(&k);
    fke_err e = {""};
    int line = 0;
    for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n")) {
        char where[32];
        snprintf(where, sizeof where, "fuzz:%d", ++line);
        fke_knowledge_add_line(&k, l, where, &e);
    }
    fke_knowledge_free(&k);
    free(s);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    const char *a =
        "{\"post\": 0, \"occasion\": {\"label\": \"beach\", \"p\": 0.9}, \"garments\": [{\"box\": "
        "[0, 0, 4, 4], \"category\": {\"label\": \"Dress\", \"p\": 0.8}, \"attributes\": "
        "{\"colour\": {\"label\": \"red\", \"p\": 0.7}}, \"person\": {\"gender\": 1}}]}\n"
        "{\"post\": 1, \"occasion\": {\"label\": \"sport\", \"p\": 0.5}, \"garments\": []}\n";
    fuzz_seed(dir, "lines.jsonl", a, strlen(a));
}
