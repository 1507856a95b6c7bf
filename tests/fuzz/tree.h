/* tree.h - the importers' fuzz targets (fuzz_fashionke.c, fuzz_deepfashion.c,
 * fuzz_deepfashion2.c): a small, valid release tree is written once per
 * process under $TMPDIR/fke-fuzz-<pid>-<kind>/, and each input replaces one
 * of its text files, the one its first byte picks (byte % the count of
 * fuzzed files), with the rest of its bytes; the importer then reads the
 * whole tree, as `fke data import` does, and the file is put back. A seed
 * is each fuzzed file of the template behind its index byte, so mutations
 * start from files the importer accepts. Pictures are tiny JPEGs that stay
 * as they are (fuzz_jpeg fuzzes the decoder).
 *
 *   static const fuzz_tree_file files[] = {{"a/x.json", "{...}", 0, 1}, ...};
 *   const char *dir = fuzz_tree(&tree, files, n, "kind", data, size);
 *   ...import dir...
 *   fuzz_tree_restore(&tree); */
#ifndef FKE_FUZZ_TREE_H
#define FKE_FUZZ_TREE_H
#include <ftw.h>
#include <sys/stat.h>

#include "core/file.h"
#include "data/image.h"
#include "fuzz.h"

typedef struct {
    const char *path; /* below the tree's folder */
    const char *text; /* its content; NULL: a 16 x 16 JPEG picture */
    size_t len;       /* its bytes; 0: strlen(text) */
    int fuzzed;       /* 1: an input may replace it */
} fuzz_tree_file;

typedef struct {
    char dir[512];
    const fuzz_tree_file *files;
    int n, ready, replaced; /* replaced: index of the file an input holds, or -1 */
} fuzz_tree_t;

static inline int fuzz_tree_rm(const char *p, const struct stat *s, int flag, struct FTW *f)
{
    (void)s, (void)flag, (void)f;
    return remove(p);
}

static char fuzz_tree_dirs[4][512]; /* removed at exit */
static inline void fuzz_tree_cleanup(void)
{
    for (int i = 0; i < 4; i++)
        if (fuzz_tree_dirs[i][0]) nftw(fuzz_tree_dirs[i], fuzz_tree_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static inline size_t fuzz_tree_len(const fuzz_tree_file *f)
{
    return f->len ? f->len : f->text ? strlen(f->text) : 0;
}

static inline int fuzz_tree_write(const fuzz_tree_t *t, int k, const void *b, size_t n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", t->dir, t->files[k].path);
    char *slash = strrchr(p, '/');
    if (!t->ready) { /* the folders, once */
        *slash = 0;
        fke_mkdir_p(p, NULL);
        *slash = '/';
    }
    if (t->files[k].text || b) {
        FILE *f = fopen(p, "wb");
        if (!f) return 0;
        if (n) fwrite(b, 1, n, f);
        return fclose(f) == 0;
    }
    fke_image im;
    memset(&im, 0, sizeof im);
    im.w = 16, im.h = 16;
    im.rgb = malloc(16 * 16 * 3);
    if (!im.rgb) return 0;
    for (int i = 0; i < 16 * 16 * 3; i++) im.rgb[i] = (uint8_t)(i * 13 + k * 50);
    int ok = fke_image_write_jpeg(p, &im, 90, NULL) == FKE_OK;
    free(im.rgb);
    return ok;
}

/* The i-th fuzzed file's index in files. */
static inline int fuzz_tree_pick(const fuzz_tree_file *files, int n, int i)
{
    int m = 0;
    for (int k = 0; k < n; k++) m += files[k].fuzzed;
    if (!m) return -1;
    i %= m;
    for (int k = 0; k < n; k++)
        if (files[k].fuzzed && i-- == 0) return k;
    return -1;
}

/* The tree's folder, with the input in the file it picks (NULL: no tree). */
static inline const char *fuzz_tree(fuzz_tree_t *t, const fuzz_tree_file *files, int n,
                                    const char *kind, const uint8_t *data, size_t size)
{
    if (!t->ready) {
        fke_set_threads(1); /* one input at a time: a thread pool only costs here */
        const char *tmp = getenv("TMPDIR");
        snprintf(t->dir, sizeof t->dir, "%s/fke-fuzz-%ld-%s", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid(), kind);
        t->files = files, t->n = n, t->replaced = -1;
        for (int i = 0; i < 4; i++)
            if (!fuzz_tree_dirs[i][0]) {
                snprintf(fuzz_tree_dirs[i], sizeof fuzz_tree_dirs[i], "%s", t->dir);
                if (i == 0) atexit(fuzz_tree_cleanup);
                break;
            }
        for (int k = 0; k < n; k++)
            if (!fuzz_tree_write(t, k, files[k].text, fuzz_tree_len(&files[k])))
                return NULL;
        t->ready = 1;
    }
    if (size < 1) return t->dir;
    int k = fuzz_tree_pick(files, n, data[0]);
    if (k < 0 || !fuzz_tree_write(t, k, data + 1, size - 1)) return NULL;
    t->replaced = k;
    return t->dir;
}

/* Puts the template's file back. */
static inline void fuzz_tree_restore(fuzz_tree_t *t)
{
    int k = t->replaced;
    if (k >= 0) fuzz_tree_write(t, k, t->files[k].text, fuzz_tree_len(&t->files[k]));
    t->replaced = -1;
}

/* The seeds: each fuzzed file behind its index byte, as dir/<kind>-<k>. */
static inline void fuzz_tree_seeds(const fuzz_tree_file *files, int n, const char *dir,
                                   const char *kind)
{
    int i = 0;
    for (int k = 0; k < n; k++) {
        if (!files[k].fuzzed) continue;
        size_t len = fuzz_tree_len(&files[k]);
        uint8_t *b = malloc(len + 1);
        if (!b) return;
        b[0] = (uint8_t)i;
        memcpy(b + 1, files[k].text, len);
        char name[64];
        snprintf(name, sizeof name, "%s-%d", kind, i++);
        fuzz_seed(dir, name, b, len + 1);
        free(b);
    }
}
#endif
