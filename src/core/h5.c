/* h5.c - see h5.h. */
#include "core/h5.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writing ------------------------------------------------------------ */
/* Every non-empty array is chunked and carries HDF5's Fletcher32 checksum
 * per chunk, which H5Dread verifies: a damaged block is an error, never a
 * silently different value. compress adds shuffle + deflate under it. */
static hid_t dcpl_for(int ndim, const hsize_t *dims, hid_t ftype, int compress)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(p, 0); /* same content, same bytes */
    int empty = ndim < 1;
    for (int i = 0; i < ndim; i++) empty |= dims[i] == 0;
    if (!empty && compress != FKE_H5_CONTIGUOUS) {
        hsize_t ch[8];
        size_t per = H5Tget_size(ftype);
        for (int i = 1; i < ndim; i++) per *= dims[i];
        hsize_t rows = per ? (hsize_t)((1u << 20) / per) : 1; /* about 1 MiB per chunk */
        if (rows < 1) rows = 1;
        ch[0] = rows < dims[0] ? rows : dims[0];
        for (int i = 1; i < ndim; i++) ch[i] = dims[i];
        H5Pset_chunk(p, ndim, ch);
        if (compress) {
            H5Pset_shuffle(p);
            H5Pset_deflate(p, 1);
        }
        H5Pset_fletcher32(p);
    }
    return p;
}

void fke_h5w_array(fke_h5w *w, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                    int ndim, const hsize_t *dims, const void *data, int compress)
{
    if (w->bad) return;
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t p = dcpl_for(ndim, dims, ftype, compress);
    hid_t ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, p, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) w->bad = 1;
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(p);
    H5Sclose(sp);
}

void fke_h5w_strings(fke_h5w *w, hid_t loc, const char *name, char *const *s, int n)
{
    if (w->bad) return;
    if (n < 0) n = 0;
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (s[i] && strlen(s[i]) + 1 > len) len = strlen(s[i]) + 1;
    char *buf = calloc(n > 0 ? (size_t)n : 1u, len);
    if (!buf) {
        w->bad = 1;
        return;
    }
    for (int i = 0; i < n; i++)
        if (s[i]) memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hsize_t dims[1] = {(hsize_t)n};
    fke_h5w_array(w, loc, name, t, t, 1, dims, buf, 0);
    H5Tclose(t);
    free(buf);
}

void fke_h5w_attr_str(fke_h5w *w, hid_t loc, const char *name, const char *s)
{
    if (w->bad) return;
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, s) < 0) w->bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

void fke_h5w_attr_int(fke_h5w *w, hid_t loc, const char *name, int v)
{
    if (w->bad) return;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &v) < 0) w->bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

hid_t fke_h5w_group(fke_h5w *w, hid_t loc, const char *name)
{
    if (w->bad) return -1;
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(p, 0);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, p, H5P_DEFAULT);
    H5Pclose(p);
    if (g < 0) w->bad = 1;
    return g;
}

void fke_h5w_attr_array(fke_h5w *w, hid_t loc, const char *name, hid_t type, const void *v, int n)
{
    if (w->bad) return;
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, type, v) < 0) w->bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

/* The memory of the core driver's file goes through these callbacks, so
 * that the bytes HDF5 leaves at H5Fclose (superblock finalised and
 * checksummed, as on disk) are kept for fke_h5w_commit instead of freed. */
typedef struct {
    unsigned char *mem;
    size_t size;
} h5mem;

static void *mem_malloc(size_t n, H5FD_file_image_op_t op, void *u)
{
    (void)op;
    h5mem *m = u;
    free(m->mem);
    m->mem = calloc(n ? n : 1, 1);
    m->size = m->mem ? n : 0;
    return m->mem;
}

static void *mem_memcpy(void *dst, const void *src, size_t n, H5FD_file_image_op_t op, void *u)
{
    (void)op, (void)u;
    return memcpy(dst, src, n);
}

static void *mem_realloc(void *p, size_t n, H5FD_file_image_op_t op, void *u)
{
    (void)op;
    h5mem *m = u;
    unsigned char *q = realloc(p, n ? n : 1);
    if (!q) return NULL;
    if (n > m->size) memset(q + m->size, 0, n - m->size); /* same content, same bytes */
    m->mem = q;
    m->size = n;
    return q;
}

static herr_t mem_free(void *p, H5FD_file_image_op_t op, void *u)
{
    h5mem *m = u;
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && p == m->mem) return 0; /* kept */
    if (p == m->mem) m->mem = NULL, m->size = 0;
    free(p);
    return 0;
}

static void *mem_udata_copy(void *u) { return u; }
static herr_t mem_udata_free(void *u)
{
    (void)u;
    return 0;
}

fke_status fke_h5w_create(fke_h5w *w, const char *path, const char *format, int version,
                          fke_err *e)
{
    memset(w, 0, sizeof *w);
    w->f = -1;
    FKE_TRY(fke_atomic_name(&w->at, path, e));
    w->mem = calloc(1, sizeof(h5mem));
    if (!w->mem) return fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* The file is built in memory (the core driver, no backing store) and
     * written out by fke_h5w_commit with plain checked writes: a full disk
     * is then one failed fwrite/fsync with its errno, and HDF5 never holds a
     * half-closed file on disk (which made its exit handler crash). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5FD_file_image_callbacks_t cb = {mem_malloc,     mem_memcpy,     mem_realloc, mem_free,
                                      mem_udata_copy, mem_udata_free, w->mem};
    H5Pset_fapl_core(fapl, (size_t)1 << 20, 0);
    H5Pset_file_image_callbacks(fapl, &cb);
    /* the latest format: checksummed superblock, object headers, indexes */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0); /* the root group too: same content, same bytes */
    w->f = H5Fcreate(w->at.tmp, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (w->f < 0) {
        free(w->mem);
        w->mem = NULL;
        return fke_fail(e, FKE_ERR_IO, "%s: cannot create the file in memory", path);
    }
    fke_h5w_attr_str(w, w->f, "format", format);
    fke_h5w_attr_int(w, w->f, "version", version);
    return FKE_OK;
}

fke_status fke_h5w_commit(fke_h5w *w, const char *what, fke_err *e)
{
    h5mem *m = w->mem;
    hsize_t n = 0;
    if (!w->bad && (H5Fflush(w->f, H5F_SCOPE_GLOBAL) < 0 || H5Fget_filesize(w->f, &n) < 0))
        w->bad = 1;
    if (H5Fclose(w->f) < 0) w->bad = 1; /* in memory: nothing on disk to leave behind */
    w->f = -1;
    w->mem = NULL;
    if (w->bad || !m->mem || n == 0 || n > m->size) {
        free(m->mem);
        free(m);
        return fke_fail(e, FKE_ERR_IO, "%s: building the %s in memory failed (out of memory?)",
                        w->at.path, what);
    }
    /* The core driver's buffer grows in 1 MiB steps: the file ends at the
     * end-of-file address of the superblock (version 2 or 3: 8 bytes at
     * offset 28, with 8-byte addresses). */
    if (m->size >= 48 && m->mem[8] >= 2 && m->mem[9] == 8) {
        uint64_t eof = 0;
        for (int i = 7; i >= 0; i--) eof = eof << 8 | m->mem[28 + i];
        if (eof > 0 && eof <= n) n = eof;
    }
    char path[FKE_PATHLEN];
    snprintf(path, sizeof path, "%s", w->at.path); /* fke_atomic_open clears w->at */
    fke_status st = fke_atomic_open(&w->at, path, e);
    if (st == FKE_OK) {
        fwrite(m->mem, 1, (size_t)n, w->at.f); /* errors are caught by the commit */
        st = fke_atomic_commit(&w->at, what, e);
    }
    free(m->mem);
    free(m);
    return st;
}

/* ---- reading ------------------------------------------------------------ */
/* A conversion that does not fit (an int32 300 read as uint8, a double 1e300
 * read as float, a NaN read as an integer) aborts the read instead of
 * HDF5's default of saturating it. */
static H5T_conv_ret_t conv_refuse(H5T_conv_except_t ex, hid_t a, hid_t b, void *sb, void *db,
                                  void *flag)
{
    (void)a, (void)b, (void)sb, (void)db;
    if (ex == H5T_CONV_EXCEPT_RANGE_HI || ex == H5T_CONV_EXCEPT_RANGE_LOW ||
        ex == H5T_CONV_EXCEPT_TRUNCATE || ex == H5T_CONV_EXCEPT_PINF ||
        ex == H5T_CONV_EXCEPT_NINF || ex == H5T_CONV_EXCEPT_NAN) {
        if (ex == H5T_CONV_EXCEPT_TRUNCATE || ex == H5T_CONV_EXCEPT_PINF ||
            ex == H5T_CONV_EXCEPT_NINF || ex == H5T_CONV_EXCEPT_NAN)
            *(int *)flag = 2;
        else
            *(int *)flag = 1;
        return H5T_CONV_ABORT;
    }
    return H5T_CONV_UNHANDLED;
}

/* Whether the HDF5 error stack mentions a checksum (set by walk_why). */
static herr_t walk_why(unsigned n, const H5E_error2_t *err, void *data)
{
    (void)n;
    if (err->desc && strstr(err->desc, "checksum")) *(int *)data = 1;
    return 0;
}

static const char *why_failed(void)
{
    int sum = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_why, &sum);
    return sum ? "checksum mismatch: the file is damaged" : "truncated or corrupt file?";
}

int fke_h5r_read(hid_t ds, hid_t mtype, void *buf, const char **why)
{
    int flag = 0;
    hid_t x = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_type_conv_cb(x, conv_refuse, &flag);
    herr_t r = H5Dread(ds, mtype, H5S_ALL, H5S_ALL, x, buf);
    const char *w = r >= 0  ? NULL
                    : flag == 1 ? "a value does not fit the type fke reads it as"
                    : flag == 2 ? "a value is not a whole number in range"
                                : why_failed(); /* before the next call clears the stack */
    H5Pclose(x);
    if (why) *why = w;
    return r >= 0 ? 0 : -1;
}

/* An array may claim no more than its bytes in the file can hold: its
 * storage size when stored plainly, and 1100 times that (deflate cannot do
 * better than 1032:1) when filtered; and at most FKE_H5_MAX_BYTES in all.
 * A damaged header claiming 2^60 elements is then an error, not a huge
 * allocation. */
int fke_h5r_claim(fke_h5r *r, hid_t ds, const char *name, double bytes)
{
    hsize_t have = H5Dget_storage_size(ds);
    hid_t p = H5Dget_create_plist(ds);
    int nf = p >= 0 ? H5Pget_nfilters(p) : 0;
    H5D_layout_t lay = p >= 0 ? H5Pget_layout(p) : H5D_CONTIGUOUS;
    if (p >= 0) H5Pclose(p);
    double most = nf > 0 ? 1100.0 * (double)have + 4096 : (double)have;
    if (lay == H5D_VIRTUAL) most = 0;
    if (bytes > (double)FKE_H5_MAX_BYTES) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT,
                         "%s: field /%s claims %.0f bytes, more than the %.0f this reader takes "
                         "(FKE_H5_MAX_BYTES in core/h5.h)",
                         r->path, name, bytes, (double)FKE_H5_MAX_BYTES);
        return 0;
    }
    if (bytes > most) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT,
                         "%s: field /%s claims %.0f bytes but the file holds %llu bytes of it "
                         "(truncated or corrupt file?)",
                         r->path, name, bytes, (unsigned long long)have);
        return 0;
    }
    return 1;
}

int fke_h5r_exists(hid_t loc, const char *name)
{
    /* H5Lexists on "a/b" needs "a" to exist first */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", name);
    for (char *p = buf; (p = strchr(p, '/')) != NULL; p++) {
        *p = 0;
        if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
        *p = '/';
    }
    return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

/* Reads field `name` of class cls (H5T_INTEGER/H5T_FLOAT) with ndim dims;
 * dims[i] >= 0 must match, dims[i] < 0 is filled in. Returns a malloc'ed
 * buffer of elements of mtype, or NULL with r->st set. optional: a missing
 * field returns NULL without error. */
void *fke_h5r_array(fke_h5r *r, hid_t loc, const char *name, H5T_class_t cls, hid_t mtype,
                    int ndim, int *dims, int optional)
{
    if (r->st) return NULL;
    if (!fke_h5r_exists(loc, name)) {
        if (!optional)
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s is missing", r->path, name);
        return NULL;
    }
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s cannot be opened (corrupt file?)",
                         r->path, name);
        return NULL;
    }
    void *buf = NULL;
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t hd[8] = {0};
    if (t < 0 || sp < 0 || nd < 0 || nd > 8) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s is unreadable (corrupt file?)",
                         r->path, name);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, hd, NULL);
    if (H5Tget_class(t) != cls) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s has the wrong type (expected %s)",
                         r->path, name, cls == H5T_INTEGER ? "integers" : "floats");
        goto out;
    }
    if (nd != ndim) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s has %d dimensions, expected %d",
                         r->path, name, nd, ndim);
        goto out;
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] >= 0 && hd[i] != (hsize_t)dims[i]) {
            r->st = fke_fail(r->e, FKE_ERR_FORMAT,
                             "%s: field /%s has size %llu in dimension %d, expected %d", r->path,
                             name, (unsigned long long)hd[i], i, dims[i]);
            goto out;
        }
        if (hd[i] > (1u << 30)) {
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s has an absurd size %llu",
                             r->path, name, (unsigned long long)hd[i]);
            goto out;
        }
        dims[i] = (int)hd[i];
        if (hd[i] && n > ((size_t)1 << 40) / hd[i]) { /* the product would overflow */
            n = ((size_t)1 << 40) + 1;
            break;
        }
        n *= hd[i];
    }
    if (n > ((size_t)1 << 40) || !fke_h5r_claim(r, ds, name, (double)n * (double)H5Tget_size(t)))
    {
        if (!r->st)
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s has an absurd size", r->path,
                             name);
        goto out;
    }
    buf = malloc((n ? n : 1) * H5Tget_size(mtype));
    if (!buf) {
        r->st = fke_fail(r->e, FKE_ERR_NOMEM, "%s: no memory for field /%s", r->path, name);
        goto out;
    }
    const char *why = NULL;
    if (n && fke_h5r_read(ds, mtype, buf, &why) < 0) {
        free(buf);
        buf = NULL;
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s cannot be read (%s)", r->path,
                         name, why);
    }
out:
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return buf;
}

/* Reads a 1-D string field (fixed or variable length) into a NULL-terminated
 * array; *n receives the count (must equal want when want >= 0). */
char **fke_h5r_strings(fke_h5r *r, hid_t loc, const char *name, int want, int *n)
{
    if (r->st) return NULL;
    if (!fke_h5r_exists(loc, name)) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s is missing", r->path, name);
        return NULL;
    }
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s cannot be opened", r->path, name);
        return NULL;
    }
    char **out = NULL;
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    hsize_t cnt = 0;
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_ndims(sp) != 1) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s must be a 1-D array of strings",
                         r->path, name);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, &cnt, NULL);
    if ((want >= 0 && cnt != (hsize_t)want) || cnt > (1u << 24)) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s has %llu names, expected %d",
                         r->path, name, (unsigned long long)cnt, want);
        goto out;
    }
    if (!fke_h5r_claim(r, ds, name, (double)cnt * (double)H5Tget_size(t))) goto out;
    out = calloc(cnt + 1, sizeof *out);
    if (!out) {
        r->st = fke_fail(r->e, FKE_ERR_NOMEM, "%s: no memory for /%s", r->path, name);
        goto out;
    }
    int ok = 1;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes str as UTF-8: no conversion */
        char **tmp = calloc(cnt + 1, sizeof *tmp);
        if (!tmp || (cnt && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0)) ok = 0;
        for (hsize_t i = 0; ok && i < cnt; i++)
            if (!(out[i] = strdup(tmp[i] ? tmp[i] : ""))) ok = 0;
        if (tmp && cnt) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
        free(tmp);
        H5Tclose(mt);
    } else {
        size_t len = H5Tget_size(t);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len);
        H5Tset_strpad(mt, H5T_STR_NULLPAD); /* a name filling all len bytes keeps its last letter */
        H5Tset_cset(mt, H5Tget_cset(t));
        char *buf = calloc(cnt ? cnt : 1, len + 1);
        if (!buf || (cnt && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) ok = 0;
        for (hsize_t i = 0; ok && i < cnt; i++) {
            char *s = malloc(len + 1);
            if (!s) { ok = 0; break; }
            memcpy(s, buf + i * len, len);
            s[len] = 0;
            out[i] = s;
        }
        free(buf);
        H5Tclose(mt);
    }
    if (!ok) {
        fke_strings_free(out, -1);
        out = NULL;
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s cannot be read (corrupt file?)",
                         r->path, name);
        goto out;
    }
    *n = (int)cnt;
out:
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(ds);
    return out;
}

char *fke_h5r_attr_str(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0) return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    hid_t sp = H5Aget_space(a);
    int one = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1;
    if (sp >= 0) H5Sclose(sp);
    if (one && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
        /* h5py's default for a str attribute */
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        char *v = NULL;
        if (H5Aread(a, mt, &v) >= 0 && v) {
            s = strdup(v);
            H5free_memory(v);
        }
        H5Tclose(mt);
    } else if (one && H5Tget_class(t) == H5T_STRING && H5Tget_size(t) < (1u << 26)) {
        size_t n = H5Tget_size(t);
        s = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1); /* room for a terminator the writer may have left out */
        H5Tset_cset(mt, H5Tget_cset(t));
        if (s && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

int fke_h5r_attr(hid_t loc, const char *name, hid_t type, void *v, int n)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a);
    int ok = H5Sget_simple_extent_npoints(sp) == n && H5Aread(a, type, v) >= 0;
    H5Sclose(sp);
    H5Aclose(a);
    return ok ? 0 : -1;
}

/* What bytes that are not HDF5 are instead, from the first got of them: a
 * picture, JSON, text or unknown bytes, for the message of a wrong file. */
static void sniff(const unsigned char *b, size_t got, char *what, size_t n)
{
    int text = got > 0;
    for (size_t i = 0; i < got; i++)
        text &= b[i] == '\n' || b[i] == '\r' || b[i] == '\t' || (b[i] >= 32 && b[i] < 127) || b[i] >= 0x80;
    if (got == 0) snprintf(what, n, "it is empty");
    else if (got >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) snprintf(what, n, "it is a PNG picture");
    else if (got >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) snprintf(what, n, "it is a JPEG picture");
    else if (text && (b[0] == '{' || b[0] == '[')) snprintf(what, n, "it is JSON text");
    else if (text) {
        size_t k = 0;
        while (k < got && k < 24 && b[k] >= 32 && b[k] < 127) k++;
        snprintf(what, n, "it is text (starting \"%.*s\")", (int)k, (const char *)b);
    } else snprintf(what, n, "its first bytes are not HDF5's (truncated or corrupt?)");
}

/* Whether n bytes begin an HDF5 file: its signature at offset 0, 512,
 * 1024, 2048, ... (where H5Fis_hdf5 looks for a user block's end). */
static int is_hdf5_image(const unsigned char *b, size_t n)
{
    for (size_t at = 0; at + 8 <= n; at = at ? 2 * at : 512)
        if (!memcmp(b + at, "\x89HDF\r\n\x1a\n", 8)) return 1;
    return 0;
}

/* *f: the file opened (name, or image when not NULL), read-only; checked to
 * be HDF5 first, with a message saying what it is instead. */
static fke_status open_file(const char *name, const void *image, size_t n, hid_t *f, fke_err *e)
{
    *f = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    unsigned char b[64];
    const unsigned char *head = b; /* the first bytes, when not HDF5 */
    size_t got = 0;
    int not_hdf5 = 0;
    if (!image) {
        struct stat stt;
        if (stat(name, &stt) != 0) return fke_fail(e, FKE_ERR_IO, "%s: no such file", name);
        if (!S_ISREG(stt.st_mode)) return fke_fail(e, FKE_ERR_IO, "%s: not a regular file", name);
        if (access(name, R_OK) != 0) return fke_fail(e, FKE_ERR_IO, "%s: not readable", name);
        if (H5Fis_hdf5(name) > 0) {
            *f = H5Fopen(name, H5F_ACC_RDONLY, H5P_DEFAULT);
        } else {
            FILE *fp = fopen(name, "rb");
            if (fp) got = fread(b, 1, sizeof b, fp), fclose(fp);
            not_hdf5 = 1;
        }
    } else if (is_hdf5_image(image, n)) {
        /* the core driver over a copy of the bytes, no backing store:
         * nothing is read from or written to the disk */
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 16, 0) >= 0 &&
            H5Pset_file_image(fapl, (void *)image, n) >= 0)
            *f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
        if (fapl >= 0) H5Pclose(fapl);
    } else {
        head = image, got = n < sizeof b ? n : sizeof b, not_hdf5 = 1;
    }
    if (*f >= 0) return FKE_OK;
    if (not_hdf5) {
        char what[160];
        sniff(head, got, what, sizeof what);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not an HDF5 file: %s", name, what);
    }
    return fke_fail(e, FKE_ERR_FORMAT, "%s: cannot open as HDF5 (truncated or corrupt file?)",
                    name);
}

fke_status fke_h5r_open_image(fke_h5r *r, const char *path, const void *image, size_t n,
                              const char *format, int version, const char *what, fke_err *e)
{
    memset(r, 0, sizeof *r);
    r->f = -1;
    r->path = path;
    r->e = e;
    r->image = image != NULL;
    if (!path) return fke_fail(e, FKE_ERR_IO, "(null): no such file");
    hid_t f;
    FKE_TRY(open_file(path, image, n, &f, e));
    char *fmt = fke_h5r_attr_str(f, "format");
    int ver = 0;
    fke_status st = FKE_OK;
    if (!fmt || strcmp(fmt, format) != 0)
        st = fke_fail(e, FKE_ERR_FORMAT,
                      "%s: not an fke %s: attribute 'format' is %s%s%s, expected \"%s\"", path,
                      what, fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "", format);
    else if (fke_h5r_attr(f, "version", H5T_NATIVE_INT, &ver, 1) != 0)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'version' is missing", path);
    else if (ver < 1 || ver > version)
        st = fke_fail(e, FKE_ERR_FORMAT,
                      "%s: attribute 'version' is %d, this fke reads %s versions 1..%d", path, ver,
                      what, version);
    free(fmt);
    if (st) {
        H5Fclose(f);
        return st;
    }
    r->f = f;
    return FKE_OK;
}

fke_status fke_h5r_open(fke_h5r *r, const char *path, const char *format, int version,
                        const char *what, fke_err *e)
{
    return fke_h5r_open_image(r, path, NULL, 0, format, version, what, e);
}

void fke_h5r_close(fke_h5r *r)
{
    if (r->f >= 0) H5Fclose(r->f);
    r->f = -1;
}

char *fke_h5_format_of(const char *path)
{
    hid_t f = -1;
    if (!path || open_file(path, NULL, 0, &f, NULL) != FKE_OK) return NULL;
    char *fmt = fke_h5r_attr_str(f, "format");
    H5Fclose(f);
    return fmt;
}
