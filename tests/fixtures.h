/* fixtures.h - the plumbing fke's C tests share besides FKE_CHECK: a fresh
 * folder of their own, paths in it, small files, and the losses a training
 * run logged. A test is one translation unit (tests/test_x.c + libfke.a), so
 * everything here is static.
 *
 *     if (!fke_test_tmpdir("noise")) return 1;    // $TMPDIR/fke-noise.XXXXXX
 *     fke_dataset_save(&d, fke_test_path("big.h5"), &e);
 *     ...
 *     return fke_test_finish("noise");   // removes the folder if all passed
 *
 * The folder comes from mkdtemp, so two builds' tests (make test, make asan)
 * can run side by side; a failed test keeps it and says where. */
#ifndef FKE_TEST_FIXTURES_H
#define FKE_TEST_FIXTURES_H
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test.h"

#define FKE_TEST_PATH_MAX 512
#define FKE_TEST_PATHS 256 /* distinct paths one test may ask for */

/* true when the first n elements of a and b are the same bytes */
#define FKE_SAME(a, b, n) (memcmp((a), (b), (size_t)(n) * sizeof *(a)) == 0)

static char fke_test_dir_[FKE_TEST_PATH_MAX];
static char fke_test_paths_[FKE_TEST_PATHS][FKE_TEST_PATH_MAX];
static int fke_test_npaths_;

/* Makes this test's folder, $TMPDIR/fke-NAME.XXXXXX (/tmp without TMPDIR),
 * once per test. Returns it, or NULL (with a message) when it cannot. */
static inline const char *fke_test_tmpdir(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0]) tmp = "/tmp";
    int n = snprintf(fke_test_dir_, sizeof fke_test_dir_, "%s/fke-%s.XXXXXX", tmp, name);
    if (n < 0 || (size_t)n >= sizeof fke_test_dir_ || !mkdtemp(fke_test_dir_)) {
        printf("  cannot make a temporary folder %s\n", fke_test_dir_);
        fke_test_dir_[0] = 0;
        return NULL;
    }
    return fke_test_dir_;
}

/* The path of file NAME (printf-style) in the folder of fke_test_tmpdir. The
 * string lives until the test ends (asking twice gives the same one), so it
 * may be kept in an options struct. */
static inline const char *fke_test_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *fke_test_path(const char *fmt, ...)
{
    char name[FKE_TEST_PATH_MAX], p[FKE_TEST_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if ((size_t)snprintf(p, sizeof p, "%s/%s", fke_test_dir_, name) >= sizeof p) {
        fprintf(stderr, "fixtures: path %s/%s too long\n", fke_test_dir_, name);
        abort(); /* a bug in the test, which run.sh counts as a failure */
    }
    for (int i = 0; i < fke_test_npaths_; i++)
        if (!strcmp(fke_test_paths_[i], p)) return fke_test_paths_[i];
    if (fke_test_npaths_ == FKE_TEST_PATHS) {
        fprintf(stderr, "fixtures: more than %d paths; raise FKE_TEST_PATHS\n", FKE_TEST_PATHS);
        abort();
    }
    memcpy(fke_test_paths_[fke_test_npaths_], p, sizeof p);
    return fke_test_paths_[fke_test_npaths_++];
}

/* Writes text to path (the whole file); returns 0 when it cannot. */
static inline int fke_test_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Copies the first `keep` bytes of src (all of a shorter file) to dst. */
static inline void fke_test_copy_prefix(const char *src, const char *dst, long keep)
{
    FILE *f = fopen(src, "rb"), *g = fopen(dst, "wb");
    char buf[4096];
    while (f && g && keep > 0) {
        size_t n = fread(buf, 1, keep < (long)sizeof buf ? (size_t)keep : sizeof buf, f);
        if (n == 0) break;
        fwrite(buf, 1, n, g);
        keep -= (long)n;
    }
    if (f) fclose(f);
    if (g) fclose(g);
}

/* The first and last training loss a run logged in RUN/metrics.jsonl
 * (evaluation lines skipped). Returns how many it read: 0 when none, or
 * when there is no such file, and then first and last are left as they are. */
static inline int fke_test_losses(const char *run, double *first, double *last)
{
    char path[FKE_TEST_PATH_MAX + 16], line[2048];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "\"loss\": ");
        if (!p || strstr(line, "eval_step")) continue;
        double v = atof(p + 8);
        if (n++ == 0) *first = v;
        *last = v;
    }
    fclose(f);
    return n;
}

static inline int fke_test_rm_(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Ends a test that made a folder: removes it when every check passed, keeps
 * it (and says where) when one failed or FKE_TEST_KEEP is set (to look at
 * the fixtures a test writes), then prints the summary. */
static inline int fke_test_finish(const char *name)
{
    const char *keep = getenv("FKE_TEST_KEEP");
    if (fke_test_dir_[0] && fke_test_fail_ == 0 && !(keep && *keep)) {
        if (nftw(fke_test_dir_, fke_test_rm_, 16, FTW_DEPTH | FTW_PHYS) != 0)
            printf("  (could not remove %s)\n", fke_test_dir_);
    } else if (fke_test_dir_[0]) {
        printf("  files kept in %s\n", fke_test_dir_);
    }
    return fke_test_summary(name);
}
/* The fke binary's folder: $FKE_BUILD as tests/run.sh sets it, or build. */
static inline const char *fke_test_build_dir(void)
{
    const char *b = getenv("FKE_BUILD");
    return b && *b ? b : "build";
}

/* Runs a shell command; returns its exit status (-1 when it did not exit),
 * its stdout and stderr together in buf. */
static inline int fke_test_sh(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int fke_test_sh(char *buf, size_t len, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(buf, 1, len - 1, p);
    buf[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
#endif
