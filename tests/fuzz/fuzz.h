/* fuzz.h - what every fuzz target shares. A target is one file
 * tests/fuzz/fuzz_NAME.c defining
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);   one input
 *   void fuzz_seeds(const char *dir);        writes its seed inputs to dir
 *
 * It is built two ways: with clang's libFuzzer under ASan+UBSan (`make
 * fuzz`, build-fuzz/), and with tests/fuzz/driver.c and gcc (`make test`,
 * build/fuzz/), which replays seeds, every input in tests/fuzz/crashes/NAME/
 * and a few thousand deterministic mutations of them. The HDF5 readers take
 * the input as a file image in memory (their *_image entry points, core/h5.h
 * fke_h5r_open_image): no file per input. Parsers that only read a file by
 * name get the input through fuzz_file: a file of this process in $TMPDIR. */
#ifndef FKE_FUZZ_H
#define FKE_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
void fuzz_seeds(const char *dir);

/* The input as the file $TMPDIR/fke-fuzz-<pid>.<ext>; its path. */
static inline const char *fuzz_file(const uint8_t *data, size_t n, const char *ext)
{
    static char path[512];
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fke-fuzz-%ld.%s", t && *t ? t : "/tmp", (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f) return path;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

/* The input as a NUL-terminated string (malloc'ed). */
static inline char *fuzz_text(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, data, n);
    s[n] = 0;
    return s;
}

/* A seed file dir/name with n bytes. */
static inline void fuzz_seed(const char *dir, const char *name, const void *data, size_t n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* A seed copied from a file the library wrote (path), then removed. */
static inline void fuzz_seed_from(const char *dir, const char *name, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(n > 0 ? (size_t)n : 1u);
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n) fuzz_seed(dir, name, b, (size_t)n);
    free(b);
    fclose(f);
    remove(path);
}
#endif
