/* h5.h - the HDF5 layer that every fke file shares (datasets, image sets,
 * checkpoints): one way to create, check, write and read them.
 *
 * The rules, in one place:
 *   - every file carries a string attribute "format" (e.g. "fke-posts") and
 *     an integer attribute "version"; a reader accepts versions 1..its own
 *     and names the file and both values otherwise;
 *   - no object timestamps (H5Pset_obj_track_times 0): the same content
 *     gives the same bytes, so a seeded run can be checked with a hash;
 *   - a file is built in memory (HDF5's core driver) and then written
 *     under a temporary name and committed atomically (file.h) with checked
 *     writes: a full disk or an interrupted write leaves the old file intact,
 *     no temporary file, and no half-closed HDF5 file (the cost: the file's
 *     bytes are held in memory once while it is written);
 *   - integrity: the latest file format (checksummed superblock, object
 *     headers and indexes) and a Fletcher32 checksum on every chunk of every
 *     array, verified on read; reads refuse values that do not fit the type
 *     read (no saturation) and arrays claiming more bytes than the file
 *     holds.
 *
 * Writing: the helpers remember the first failure in w->bad and skip the
 * rest, so a writer is a straight list of calls ending in fke_h5w_commit.
 *
 *   fke_h5w w;
 *   FKE_TRY(fke_h5w_create(&w, path, "fke-posts", 1, e));
 *   fke_h5w_array(&w, w.f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims, v, 0);
 *   return fke_h5w_commit(&w, "dataset", e);
 *
 * Reading: the same, with the first error in r->st (its message in r->e).
 *
 *   fke_h5r r;
 *   FKE_TRY(fke_h5r_open(&r, path, "fke-posts", 1, e));
 *   int32_t *v = fke_h5r_array(&r, r.f, "labels", H5T_INTEGER, H5T_NATIVE_INT32, 1, dims, 0);
 *   fke_h5r_close(&r);   then check r.st */
#ifndef FKE_H5_H
#define FKE_H5_H
#include <hdf5.h>

#include "core/file.h"
#include "core/fke.h"

/* ---- writing ------------------------------------------------------------ */
typedef struct {
    hid_t f;        /* the file being built, in memory */
    int bad;        /* a call failed: the rest are skipped, the commit fails */
    fke_atomic at;  /* final and temporary names */
    void *mem;      /* the file's bytes in memory (h5.c) */
} fke_h5w;

/* Creates path's temporary file with the format and version attributes. */
fke_status fke_h5w_create(fke_h5w *w, const char *path, const char *format, int version,
                          fke_err *e);
/* An n-dimensional array: ftype on disk, mtype in memory, in chunks of
 * about 1 MiB, each with a Fletcher32 checksum; compress adds shuffle +
 * deflate level 1 (images, tokens). compress = FKE_H5_CONTIGUOUS stores it
 * contiguous and unfiltered instead, at a fixed offset in the file that
 * readers may pread (the JPEG store's bytes, whose streams carry their own
 * CRC-32). */
#define FKE_H5_CONTIGUOUS (-1)
void fke_h5w_array(fke_h5w *w, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int ndim,
                   const hsize_t *dims, const void *data, int compress);
/* A 1-D array of n fixed-length, NUL-padded strings (NULL entries: ""). */
void fke_h5w_strings(fke_h5w *w, hid_t loc, const char *name, char *const *s, int n);
/* A NUL-terminated fixed-length string attribute. */
void fke_h5w_attr_str(fke_h5w *w, hid_t loc, const char *name, const char *s);
/* A scalar 32-bit integer attribute. */
void fke_h5w_attr_int(fke_h5w *w, hid_t loc, const char *name, int v);
/* A 1-D attribute of n values of type (native type, stored as is). */
void fke_h5w_attr_array(fke_h5w *w, hid_t loc, const char *name, hid_t type, const void *v, int n);
/* A group (close it with H5Gclose); -1 and w->bad on failure. */
hid_t fke_h5w_group(fke_h5w *w, hid_t loc, const char *name);
/* Closes the file and commits it under its final name; on any earlier
 * failure removes it and returns FKE_ERR_IO naming the path and what. */
fke_status fke_h5w_commit(fke_h5w *w, const char *what, fke_err *e);

/* ---- reading ------------------------------------------------------------ */
typedef struct {
    hid_t f;
    const char *path;
    fke_err *e;
    fke_status st; /* the first failure; later reads return NULL */
    int image;     /* opened from bytes in memory: there is no file to pread */
} fke_h5r;

/* Opens path read-only after checking that it is a readable HDF5 file whose
 * "format" is format and whose "version" is 1..version. what names the kind
 * of file in the messages ("dataset", "checkpoint"). */
fke_status fke_h5r_open(fke_h5r *r, const char *path, const char *format, int version,
                        const char *what, fke_err *e);
/* The same, over an HDF5 file's n bytes in memory (HDF5's core driver on a
 * copy of them; nothing touches the disk), path naming it in messages: the
 * fuzz targets' way in (tests/fuzz/), and every reader's through its
 * *_image sibling. */
fke_status fke_h5r_open_image(fke_h5r *r, const char *path, const void *image, size_t n,
                              const char *format, int version, const char *what, fke_err *e);
void fke_h5r_close(fke_h5r *r);
/* The format attribute of path when it is a readable HDF5 file, else NULL
 * (malloc'ed): to tell kinds of file apart without an error. */
char *fke_h5_format_of(const char *path);
/* The most bytes one array may claim (16 GiB): beyond that, or beyond what
 * its bytes in the file can hold, a read is refused with a message. */
#define FKE_H5_MAX_BYTES ((double)((size_t)1 << 34))
/* H5Dread of the whole of ds into buf as mtype, refusing conversions that
 * do not fit (an int32 300 read as uint8) instead of saturating them, and
 * verifying the Fletcher32 checksums. -1 on failure, with *why (may be NULL)
 * saying why: a checksum mismatch, a value out of range, or damage. */
int fke_h5r_read(hid_t ds, hid_t mtype, void *buf, const char **why);
/* Whether array ds (named name) may claim bytes: at most FKE_H5_MAX_BYTES,
 * and at most what its storage in the file can hold (its size unfiltered,
 * 1100 times it compressed: deflate does not pass 1032:1). 0 with r->st
 * set when not. fke_h5r_array checks this itself. */
int fke_h5r_claim(fke_h5r *r, hid_t ds, const char *name, double bytes);
/* Whether the link "a/b/c" exists below loc (each part checked in turn). */
int fke_h5r_exists(hid_t loc, const char *name);
/* Reads array name below loc, of class cls (H5T_INTEGER / H5T_FLOAT), with
 * ndim dimensions; dims[i] >= 0 must match, dims[i] < 0 is filled in.
 * Returns a malloc'ed buffer of mtype elements, or NULL with r->st set. A
 * missing array with optional != 0 returns NULL without error. */
void *fke_h5r_array(fke_h5r *r, hid_t loc, const char *name, H5T_class_t cls, hid_t mtype,
                    int ndim, int *dims, int optional);
/* A 1-D string array (fixed or variable length) as a NULL-terminated,
 * malloc'ed array (fke_strings_free); *n receives the count, which must
 * equal want when want >= 0. */
char **fke_h5r_strings(fke_h5r *r, hid_t loc, const char *name, int want, int *n);
/* A scalar string attribute (fixed or variable length), malloc'ed; NULL when
 * absent or not a string. */
char *fke_h5r_attr_str(hid_t loc, const char *name);
/* n values of an attribute into v (type: the native memory type); -1 when
 * absent or of another size. */
int fke_h5r_attr(hid_t loc, const char *name, hid_t type, void *v, int n);

#endif
