/* driver.c - runs a fuzz target without libFuzzer (make test; tests/fuzz/fuzz.h):
 *
 *   fuzz_X --seeds DIR                 writes the target's seeds into DIR
 *   fuzz_X [--mutate N] FILE|DIR ...   runs each input, and N deterministic
 *                                      mutations of each (flips, cuts, inserts)
 *
 * Prints "inputs N" and exits 0 when nothing crashed (a crash is the
 * sanitizer's or the kernel's exit status). */
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz.h"

static long runs;

static void one(const uint8_t *d, size_t n)
{
    LLVMFuzzerTestOneInput(d, n);
    runs++;
}

static void mutate(const uint8_t *d, size_t n, long times, uint64_t *s)
{
    uint8_t *b = malloc(n + 16);
    if (!b) return;
    for (long t = 0; t < times; t++) {
        memcpy(b, d, n);
        size_t m = n;
        int edits = 1 + (int)(*s % 4);
        for (int k = 0; k < edits; k++) {
            *s = *s * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t r = *s >> 17;
            size_t at = m ? (size_t)(r % m) : 0;
            switch (r % 5) {
            case 0: if (m) b[at] ^= (uint8_t)(1u << (r >> 8) % 8); break;        /* a bit */
            case 1: if (m) b[at] = (uint8_t)(r >> 12); break;                     /* a byte */
            case 2: m = at; break;                                                /* cut */
            case 3: if (m) b[at] = (uint8_t)((r >> 20) % 2 ? 0xff : 0); break;    /* extremes */
            default: if (m + 1 <= n + 16) { memmove(b + at + 1, b + at, m - at); b[at] = (uint8_t)r; m++; }
            }
        }
        one(b, m);
    }
    free(b);
}

static void run_file(const char *p, long times, uint64_t *s)
{
    FILE *f = fopen(p, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1u);
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n) {
        one(b, (size_t)n);
        mutate(b, (size_t)n, times, s);
    }
    free(b);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--seeds")) {
        mkdir(argv[2], 0777);
        fuzz_seeds(argv[2]);
        return 0;
    }
    long times = 0;
    uint64_t s = 0x2545f4914f6cdd1dull;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mutate") && i + 1 < argc) {
            times = atol(argv[++i]);
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) != 0) continue;
        if (!S_ISDIR(st.st_mode)) {
            run_file(argv[i], times, &s);
            continue;
        }
        DIR *d = opendir(argv[i]);
        for (struct dirent *x; d && (x = readdir(d)) != NULL;) {
            if (x->d_name[0] == '.') continue;
            char p[2048];
            snprintf(p, sizeof p, "%s/%s", argv[i], x->d_name);
            run_file(p, times, &s);
        }
        if (d) closedir(d);
    }
    printf("inputs %ld\n", runs);
    const char *t = getenv("TMPDIR");
    char p[512];
    const char *exts[] = {"json", "png", "idx", "h5"};
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/fke-fuzz-%ld.%s", t && *t ? t : "/tmp", (long)getpid(), exts[k]);
        remove(p);
    }
    return 0;
}
