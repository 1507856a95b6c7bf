/* file.h - the file plumbing every writer and reader in fke shares.
 *
 * Atomic replacement: a file is written under a temporary name beside its
 * final one (PATH.tmp.<pid>), flushed and fsynced, renamed over PATH, and
 * then the folder is fsynced so that the rename itself survives a crash. A
 * reader therefore sees the old file or the new one, never half of one; a
 * failed write removes the temporary file and leaves the old file untouched.
 *
 *   fke_atomic a;
 *   FKE_TRY(fke_atomic_open(&a, path, e));          stdio: write to a.f
 *   fprintf(a.f, ...);
 *   FKE_TRY(fke_atomic_commit(&a, "report", e));    or fke_atomic_abort(&a)
 *
 * Writers that create the file themselves (HDF5, see h5.h) take only the
 * temporary name with fke_atomic_name and then call fke_atomic_commit, which
 * fsyncs the file by name. */
#ifndef FKE_FILE_H
#define FKE_FILE_H
#include <stddef.h>
#include <stdio.h>

#include "core/fke.h"

#define FKE_PATHLEN 4096

typedef struct {
    char path[FKE_PATHLEN]; /* the final name */
    char tmp[FKE_PATHLEN];  /* where the bytes go until the commit */
    FILE *f;                /* open on tmp after fke_atomic_open; NULL after fke_atomic_name */
} fke_atomic;

/* Names the temporary file of path (nothing is created). */
fke_status fke_atomic_name(fke_atomic *a, const char *path, fke_err *e);
/* Names it and opens it for binary writing in a->f. */
fke_status fke_atomic_open(fke_atomic *a, const char *path, fke_err *e);
/* Flushes, checks for write errors, fsyncs and closes a->f (or, without
 * a->f, fsyncs the file at a->tmp), renames it to a->path and fsyncs the
 * folder. On failure the temporary file is removed and the message names
 * path and what ("checkpoint", "dataset", ...). */
fke_status fke_atomic_commit(fke_atomic *a, const char *what, fke_err *e);
/* Closes and removes the temporary file; the final one is untouched. */
void fke_atomic_abort(fke_atomic *a);

/* The whole of text as the new content of path, atomically. */
fke_status fke_write_file(const char *path, const char *text, const char *what, fke_err *e);
/* path's old content (none when it does not exist) and then text, written
 * atomically as above: for JSON-lines reports that grow a line per run. */
fke_status fke_append_file(const char *path, const char *text, const char *what, fke_err *e);

/* Reads the whole file into a malloc'ed, NUL-terminated buffer; *len (may be
 * NULL) receives its size without the terminator. Files larger than max
 * bytes (max > 0) are refused. */
fke_status fke_read_file(const char *path, size_t max, char **buf, size_t *len, fke_err *e);

/* Reads and parses a JSON file (at most max bytes, max > 0); *root is freed
 * with cJSON_Delete. "PATH: not valid JSON" names the line of the error. */
struct cJSON;
fke_status fke_read_json(const char *path, size_t max, struct cJSON **root, fke_err *e);

/* v as the shortest of "%.15g" and "%.17g" that reads back as v, into buf
 * (n >= 32): what a JSON file must hold to give v back bit for bit (cJSON's
 * own printer keeps 15 digits when they are only "close enough"). */
void fke_format_real(double v, char *buf, size_t n);

/* The 64-bit FNV-1a hash of the file's bytes, as "fnv1a64:" and 16 hex
 * digits into out (at least 25 bytes): a data file's fingerprint in the
 * checkpoints trained on it. *bytes (may be NULL) receives its size. */
fke_status fke_file_hash(const char *path, char *out, size_t n, long long *bytes, fke_err *e);
/* rel as a path from the folder that holds file (a config's data paths are
 * its folder's): rel itself when it is absolute or empty or file names no
 * folder, else FOLDER/rel with "." and "DIR/.." parts folded lexically
 * ("configs/../data/x.h5" is "data/x.h5"). out has n bytes. */
fke_status fke_path_beside(const char *file, const char *rel, char *out, size_t n, fke_err *e);
/* The run folder's lock: creates dir (mkdir -p) and takes an exclusive
 * flock on the folder itself (no file is added to it), so that a second
 * trainer on the same folder stops with a clear message instead of racing
 * the first one's checkpoints. With the lock held, the temporary files
 * (NAME.tmp.<pid>) that a trainer killed inside a write left are removed.
 * *fd receives the lock (> 0); it goes with
 * fke_unlock_dir or with the process, kill -9 included. */
fke_status fke_lock_dir(const char *dir, int *fd, fke_err *e);
/* Releases a lock of fke_lock_dir (fd <= 0: none). */
void fke_unlock_dir(int fd);

/* mkdir -p: creates dir and every missing parent. */
fke_status fke_mkdir_p(const char *dir, fke_err *e);
#endif
