/* fuzz_boxes.c - fke extract's --boxes JSON (run/extract.c). */
#include "fuzz.h"
#include "run/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file(data, n, "json");
    int32_t *boxes, *tok;
    int nb, nt;
    char *text;
    fke_err e = {""};
    if (fke_extract_read_boxes(p, &boxes, &nb, &tok, &nt, &text, &e) == FKE_OK) {
        for (int i = 0; i < 4 * nb; i++) (void)boxes[i]; /* every box it claims is there */
        free(boxes), free(tok), free(text);
    }
    return 0;
}

void fuzz_seeds(const char *dir)
{
    const char *a = "{\"boxes\": [[0, 0, 10, 10], [2, 3, 8, 9]], \"caption\": [1, 2, 3]}";
    const char *b = "{\"boxes\": [[0, 0, 4, 4]], \"caption\": \"a #beach day\"}";
    fuzz_seed(dir, "ids.json", a, strlen(a));
    fuzz_seed(dir, "text.json", b, strlen(b));
}
