/* file.c - see file.h. */
#include "core/file.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

fke_status fke_atomic_name(fke_atomic *a, const char *path, fke_err *e)
{
    memset(a, 0, sizeof *a);
    if (!path || !*path) return fke_fail(e, FKE_ERR_ARG, "no output file name given");
    int n = snprintf(a->path, sizeof a->path, "%s", path);
    int m = snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || m < 0 || (size_t)m >= sizeof a->tmp)
        return fke_fail(e, FKE_ERR_ARG, "%.200s...: file name too long", path);
    return FKE_OK;
}

fke_status fke_atomic_open(fke_atomic *a, const char *path, fke_err *e)
{
    FKE_TRY(fke_atomic_name(a, path, e));
    a->f = fopen(a->tmp, "wb");
    if (!a->f)
        return fke_fail(e, FKE_ERR_IO, "%s: cannot create %s (%s)", path, a->tmp, strerror(errno));
    return FKE_OK;
}

/* Makes the rename durable: fsync of the folder that holds path. */
static int fsync_dir_of(const char *path)
{
    char dir[FKE_PATHLEN];
    snprintf(dir, sizeof dir, "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl == dir) dir[1] = 0;
    else if (sl) *sl = 0;
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

fke_status fke_atomic_commit(fke_atomic *a, const char *what, fke_err *e)
{
    int ok = 1, err = 0;
    if (a->f) {
        if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0) ok = 0, err = errno;
        if (fclose(a->f) != 0 && ok) ok = 0, err = errno;
        a->f = NULL;
    } else {
        int fd = open(a->tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) ok = 0, err = errno;
        if (fd >= 0) close(fd);
    }
    if (ok && rename(a->tmp, a->path) != 0) ok = 0, err = errno;
    if (!ok) {
        unlink(a->tmp);
        return fke_fail(e, FKE_ERR_IO, "%s: writing the %s failed (%s; disk full or not writable?)",
                        a->path, what ? what : "file", err ? strerror(err) : "write error");
    }
    fsync_dir_of(a->path); /* the new file is in place either way */
    return FKE_OK;
}

void fke_atomic_abort(fke_atomic *a)
{
    if (a->f) fclose(a->f);
    a->f = NULL;
    if (a->tmp[0]) unlink(a->tmp);
}

static fke_status write_parts(const char *path, const char *old, size_t nold, const char *text,
                              const char *what, fke_err *e)
{
    fke_atomic a;
    FKE_TRY(fke_atomic_open(&a, path, e));
    if (nold) fwrite(old, 1, nold, a.f);
    fputs(text, a.f);
    return fke_atomic_commit(&a, what, e);
}

fke_status fke_write_file(const char *path, const char *text, const char *what, fke_err *e)
{
    return write_parts(path, NULL, 0, text, what, e);
}

fke_status fke_append_file(const char *path, const char *text, const char *what, fke_err *e)
{
    char *old = NULL;
    size_t nold = 0;
    if (access(path, F_OK) == 0) FKE_TRY(fke_read_file(path, 0, &old, &nold, e));
    fke_status st = write_parts(path, old, nold, text, what, e);
    free(old);
    return st;
}

fke_status fke_read_file(const char *path, size_t max, char **buf, size_t *len, fke_err *e)
{
    *buf = NULL;
    if (len) *len = 0;
    if (!path) return fke_fail(e, FKE_ERR_ARG, "no file name given");
    FILE *f = fopen(path, "rb");
    if (!f) return fke_fail(e, FKE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fke_fail(e, FKE_ERR_IO, "%s: not a regular file", path);
    }
    size_t cap = (size_t)st.st_size + 64, n = 0, got;
    char *b = NULL;
    do { /* the size may have changed since stat: read to the end */
        if (!b || n + 1 >= cap) {
            char *nb = realloc(b, b ? cap *= 2 : cap);
            if (!nb) {
                free(b);
                fclose(f);
                return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for %zu bytes", path, cap);
            }
            b = nb;
        }
        got = fread(b + n, 1, cap - 1 - n, f);
        n += got;
        if (max && n > max) {
            free(b);
            fclose(f);
            return fke_fail(e, FKE_ERR_FORMAT, "%s: more than the %zu bytes this reader takes",
                            path, max);
        }
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return fke_fail(e, FKE_ERR_IO, "%s: read error", path);
    }
    b[n] = 0;
    *buf = b;
    if (len) *len = n;
    return FKE_OK;
}

void fke_format_real(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, n, "%.17g", v);
}

fke_status fke_read_json(const char *path, size_t max, cJSON **root, fke_err *e)
{
    char *text;
    *root = NULL;
    FKE_TRY(fke_read_file(path, max, &text, NULL, e));
    const char *end = NULL;
    *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!*root) {
        int line = 1;
        for (const char *p = text; end && p < end && *p; p++) line += *p == '\n';
        free(text);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not valid JSON (line %d)", path, line);
    }
    free(text);
    return FKE_OK;
}

fke_status fke_mkdir_p(const char *dir, fke_err *e)
{
    char buf[FKE_PATHLEN];
    if (!dir || !*dir) return fke_fail(e, FKE_ERR_ARG, "no folder name given");
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return fke_fail(e, FKE_ERR_ARG, "%.200s...: folder name too long", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return fke_fail(e, FKE_ERR_IO, "%s: cannot create folder (%s)", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return fke_fail(e, FKE_ERR_IO, "%s: cannot create folder (%s)", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return fke_fail(e, FKE_ERR_IO, "%s: exists and is not a folder", buf);
    return FKE_OK;
}

fke_status fke_file_hash(const char *path, char *out, size_t n, long long *bytes, fke_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fke_fail(e, FKE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned char buf[1 << 16];
    size_t k;
    long long total = 0;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < k; i++) h = (h ^ buf[i]) * 0x100000001b3ULL;
        total += (long long)k;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) return fke_fail(e, FKE_ERR_IO, "%s: read error", path);
    snprintf(out, n, "fnv1a64:%016llx", (unsigned long long)h);
    if (bytes) *bytes = total;
    return FKE_OK;
}

fke_status fke_path_beside(const char *file, const char *rel, char *out, size_t n, fke_err *e)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    int len;
    if (!rel[0] || rel[0] == '/' || !slash) len = snprintf(out, n, "%s", rel);
    else len = snprintf(out, n, "%.*s/%s", (int)(slash - file), file, rel);
    if (len < 0 || (size_t)len >= n)
        return fke_fail(e, FKE_ERR_ARG, "%s: path \"%.200s\" is too long beside it", file, rel);
    /* lexically: drop "./" parts and fold "DIR/.." (DIR not itself "..") */
    char *seg[256];
    int k = 0, abs = out[0] == '/';
    char buf[FKE_PATHLEN];
    snprintf(buf, sizeof buf, "%s", out);
    char *save = NULL;
    for (char *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (!strcmp(p, ".")) continue;
        if (!strcmp(p, "..") && k > 0 && strcmp(seg[k - 1], "..")) {
            k--;
            continue;
        }
        if (!strcmp(p, "..") && abs) continue; /* "/.." is "/" */
        if (k == 256) return FKE_OK; /* too deep to fold: keep it as joined */
        seg[k++] = p;
    }
    size_t w = 0;
    if (abs) out[w++] = '/';
    for (int i = 0; i < k; i++) w += (size_t)snprintf(out + w, n - w, "%s%s", i ? "/" : "", seg[i]);
    if (w == 0) snprintf(out, n, ".");
    return FKE_OK;
}

fke_status fke_lock_dir(const char *dir, int *fd, fke_err *e)
{
    *fd = -1;
    FKE_TRY(fke_mkdir_p(dir, e));
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return fke_fail(e, FKE_ERR_IO, "%s: cannot open the folder (%s)", dir, strerror(errno));
    if (flock(d, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(d);
        if (err == EWOULDBLOCK)
            return fke_fail(e, FKE_ERR_IO, "%s: another fke train is using this run folder (it "
                            "holds the folder's lock); wait for it or use another out_dir", dir);
        return fke_fail(e, FKE_ERR_IO, "%s: cannot lock the folder (%s)", dir, strerror(err));
    }
    *fd = d;
    /* the folder is ours: temporary files (NAME.tmp.<pid>) left by a trainer
     * that was killed inside a write go */
    DIR *dd = opendir(dir);
    for (struct dirent *x; dd && (x = readdir(dd)) != NULL;) {
        const char *t = strstr(x->d_name, ".tmp.");
        if (!t || !t[5] || strspn(t + 5, "0123456789") != strlen(t + 5)) continue;
        char p[FKE_PATHLEN];
        if (snprintf(p, sizeof p, "%s/%s", dir, x->d_name) < (int)sizeof p) unlink(p);
    }
    if (dd) closedir(dd);
    return FKE_OK;
}

void fke_unlock_dir(int fd)
{
    if (fd > 0) close(fd); /* closing drops the flock */
}
