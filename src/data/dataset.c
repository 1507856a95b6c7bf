/* dataset.c - see dataset.h; the file layout is in datasets/README.md. */
#include "data/dataset.h"

#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- strings ----------------------------------------------------------- */
void fke_strings_free(char **s, int n)
{
    if (!s) return;
    for (int i = 0; n < 0 ? s[i] != NULL : i < n; i++) free(s[i]);
    free(s);
}

char **fke_strings_dup(const char *const *s, int n)
{
    char **o = calloc((size_t)n + 1, sizeof *o);
    if (!o) return NULL;
    for (int i = 0; i < n; i++)
        if (!(o[i] = strdup(s[i] ? s[i] : ""))) {
            fke_strings_free(o, i);
            return NULL;
        }
    return o;
}

/* ---- HDF5 writing helpers ---------------------------------------------- */
typedef struct {
    hid_t f;
    int bad;
} writer;

static hid_t dcpl_for(int ndim, const hsize_t *dims, int compress)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(p, 0); /* same content, same bytes */
    if (compress && dims[0] > 0) {
        hsize_t ch[8];
        size_t per = 1;
        for (int i = 1; i < ndim; i++) per *= dims[i];
        hsize_t rows = per ? (hsize_t)((1u << 20) / per) : 1; /* about 1 MiB per chunk */
        if (rows < 1) rows = 1;
        ch[0] = rows < dims[0] ? rows : dims[0];
        for (int i = 1; i < ndim; i++) ch[i] = dims[i];
        H5Pset_chunk(p, ndim, ch);
        H5Pset_shuffle(p);
        H5Pset_deflate(p, 1);
    }
    return p;
}

static void w_array(writer *w, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                    int ndim, const hsize_t *dims, const void *data, int compress)
{
    if (w->bad) return;
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t p = dcpl_for(ndim, dims, compress);
    hid_t ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, p, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) w->bad = 1;
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(p);
    H5Sclose(sp);
}

static void w_strings(writer *w, hid_t loc, const char *name, char *const *s, int n)
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
    w_array(w, loc, name, t, t, 1, dims, buf, 0);
    H5Tclose(t);
    free(buf);
}

static void w_str_attr(writer *w, hid_t loc, const char *name, const char *s)
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

static void w_int_attr(writer *w, hid_t loc, const char *name, int v)
{
    if (w->bad) return;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &v) < 0) w->bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

static hid_t w_group(writer *w, hid_t loc, const char *name)
{
    if (w->bad) return -1;
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(p, 0);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, p, H5P_DEFAULT);
    H5Pclose(p);
    if (g < 0) w->bad = 1;
    return g;
}

/* Creates PATH.tmp.<pid>; *tmp receives its name. */
static hid_t create_tmp(const char *path, char *tmp, size_t n)
{
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

/* Closes, fsyncs and renames the temporary file; removes it on failure. */
static fke_status finish_tmp(writer *w, const char *tmp, const char *path, const char *what,
                             fke_err *e)
{
    if (H5Fclose(w->f) < 0) w->bad = 1;
    if (!w->bad) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) w->bad = 1;
        if (fd >= 0) close(fd);
    }
    if (!w->bad && rename(tmp, path) != 0) w->bad = 1;
    if (w->bad) {
        unlink(tmp);
        return fke_fail(e, FKE_ERR_IO, "%s: writing the %s failed (disk full or not writable?)",
                        path, what);
    }
    /* make the rename itself durable */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl) *sl = 0; else strcpy(dir, ".");
    int dfd = open(dir[0] ? dir : "/", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return FKE_OK;
}

/* ---- HDF5 reading helpers ----------------------------------------------- */
typedef struct {
    hid_t f;
    const char *path;
    fke_err *e;
    fke_status st;
} reader;

static int r_exists(hid_t loc, const char *name)
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
static void *r_array(reader *r, const char *name, H5T_class_t cls, hid_t mtype, int ndim,
                     int *dims, int optional)
{
    if (r->st) return NULL;
    if (!r_exists(r->f, name)) {
        if (!optional)
            r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s is missing", r->path, name);
        return NULL;
    }
    hid_t ds = H5Dopen2(r->f, name, H5P_DEFAULT);
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
        n *= hd[i];
    }
    buf = malloc((n ? n : 1) * H5Tget_size(mtype));
    if (!buf) {
        r->st = fke_fail(r->e, FKE_ERR_NOMEM, "%s: no memory for field /%s", r->path, name);
        goto out;
    }
    if (n && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
        r->st = fke_fail(r->e, FKE_ERR_FORMAT,
                         "%s: field /%s cannot be read (truncated or corrupt file?)", r->path,
                         name);
    }
out:
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return buf;
}

/* Reads a 1-D string field (fixed or variable length) into a NULL-terminated
 * array; *n receives the count (must equal want when want >= 0). */
static char **r_strings(reader *r, const char *name, int want, int *n)
{
    if (r->st) return NULL;
    if (!r_exists(r->f, name)) {
        r->st = fke_fail(r->e, FKE_ERR_FORMAT, "%s: field /%s is missing", r->path, name);
        return NULL;
    }
    hid_t ds = H5Dopen2(r->f, name, H5P_DEFAULT);
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
    out = calloc(cnt + 1, sizeof *out);
    if (!out) {
        r->st = fke_fail(r->e, FKE_ERR_NOMEM, "%s: no memory for /%s", r->path, name);
        goto out;
    }
    int ok = 1;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
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

static char *r_str_attr(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0) return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0) {
        size_t n = H5Tget_size(t);
        s = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n);
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

static int r_int_attr(hid_t loc, const char *name, int *v)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a);
    int ok = H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, H5T_NATIVE_INT, v) >= 0;
    H5Sclose(sp);
    H5Aclose(a);
    return ok ? 0 : -1;
}

/* Opens path read-only after checking it exists and is HDF5 with the given
 * format attribute and a version not newer than ours. */
static fke_status open_checked(const char *path, const char *format, int version, hid_t *f,
                               fke_err *e)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat stt;
    if (!path || stat(path, &stt) != 0)
        return fke_fail(e, FKE_ERR_IO, "%s: no such file", path ? path : "(null)");
    if (!S_ISREG(stt.st_mode)) return fke_fail(e, FKE_ERR_IO, "%s: not a regular file", path);
    if (access(path, R_OK) != 0) return fke_fail(e, FKE_ERR_IO, "%s: not readable", path);
    if (H5Fis_hdf5(path) <= 0)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not an HDF5 file (truncated or corrupt?)", path);
    *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: cannot open as HDF5 (truncated or corrupt file?)",
                        path);
    char *fmt = r_str_attr(*f, "format");
    int ver = 0;
    fke_status st = FKE_OK;
    if (!fmt || strcmp(fmt, format) != 0)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'format' is %s%s%s, expected \"%s\"",
                      path, fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "", format);
    else if (r_int_attr(*f, "version", &ver) != 0)
        st = fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'version' is missing", path);
    else if (ver < 1 || ver > version)
        st = fke_fail(e, FKE_ERR_FORMAT,
                      "%s: attribute 'version' is %d, this fke reads versions 1..%d", path, ver,
                      version);
    free(fmt);
    if (st) H5Fclose(*f);
    return st;
}

/* ---- the post dataset --------------------------------------------------- */
size_t fke_dataset_T_offset(const fke_dataset *d, int task)
{
    size_t off = 0;
    for (int t = 0; t < task; t++) {
        size_t n = (size_t)fke_dataset_T_side(d, t);
        off += n * n;
    }
    return off;
}

int fke_dataset_T_side(const fke_dataset *d, int task)
{
    return task == 0 ? d->n_cat : d->n_val[task - 1];
}

long fke_dataset_T_empirical(const fke_dataset *d, int task, float *out, long *counts)
{
    int n = fke_dataset_T_side(d, task);
    long *cnt = calloc((size_t)n * n, sizeof *cnt);
    if (!cnt) return -1;
    long used = 0;
    for (long i = 0; i < d->N; i++)
        for (int g = 0; g < d->n_garments[i]; g++) {
            int t, m;
            if (task == 0) {
                t = d->cat_true[i * d->G + g];
                m = d->cat_machine[i * d->G + g];
            } else {
                size_t o = ((size_t)i * d->G + g) * d->A + task - 1;
                t = d->attr_true[o];
                m = d->attr_machine[o];
            }
            if (t < 0 || m < 0) continue;
            cnt[t * n + m]++;
            used++;
        }
    for (int a = 0; a < n; a++) {
        long row = 0;
        for (int b = 0; b < n; b++) row += cnt[a * n + b];
        if (counts) counts[a] = row;
        for (int b = 0; b < n; b++) out[a * n + b] = row ? (float)cnt[a * n + b] / row : 0.f;
    }
    free(cnt);
    return used;
}

static size_t T_total(const fke_dataset *d)
{
    return fke_dataset_T_offset(d, d->A + 1);
}

fke_status fke_dataset_alloc(fke_dataset *d, fke_err *e)
{
    size_t N = (size_t)d->N, G = (size_t)d->G, A = (size_t)d->A;
    if (d->N < 0 || d->G < 1 || d->A < 0 || d->A > FKE_MAX_ATTR || d->L < 1 || d->img < 1 ||
        d->crop < 1 || d->C < 1)
        return fke_fail(e, FKE_ERR_ARG, "dataset: impossible sizes N=%d G=%d A=%d L=%d", d->N,
                        d->G, d->A, d->L);
    size_t n1 = N ? N : 1;
    d->images = calloc(n1 * d->C * d->img * d->img, 1);
    d->crops = calloc(n1 * G * d->C * d->crop * d->crop, 1);
    d->n_garments = calloc(n1, 4);
    d->boxes = calloc(n1 * G * 4, 4);
    d->tokens = calloc(n1 * d->L, 4);
    d->occ = malloc(n1 * 4);
    d->cat = malloc(n1 * G * 4);
    d->attr = malloc(n1 * G * (A ? A : 1) * 4);
    d->clean = calloc(n1, 1);
    d->cat_true = malloc(n1 * G * 4);
    d->attr_true = malloc(n1 * G * (A ? A : 1) * 4);
    d->cat_machine = malloc(n1 * G * 4);
    d->attr_machine = malloc(n1 * G * (A ? A : 1) * 4);
    d->person = malloc(n1 * G * 2 * 4);
    if (!d->images || !d->crops || !d->n_garments || !d->boxes || !d->tokens || !d->occ ||
        !d->cat || !d->attr || !d->clean || !d->cat_true || !d->attr_true || !d->cat_machine ||
        !d->attr_machine || !d->person)
        return fke_fail(e, FKE_ERR_NOMEM, "dataset: no memory for %d posts", d->N);
    memset(d->occ, 0xff, n1 * 4);
    memset(d->cat, 0xff, n1 * G * 4);
    memset(d->attr, 0xff, n1 * G * (A ? A : 1) * 4);
    memset(d->cat_true, 0xff, n1 * G * 4);
    memset(d->attr_true, 0xff, n1 * G * (A ? A : 1) * 4);
    memset(d->cat_machine, 0xff, n1 * G * 4);
    memset(d->attr_machine, 0xff, n1 * G * (A ? A : 1) * 4);
    memset(d->person, 0xff, n1 * G * 2 * 4);
    return FKE_OK;
}

void fke_dataset_free(fke_dataset *d)
{
    if (!d) return;
    free(d->images); free(d->crops); free(d->n_garments); free(d->boxes); free(d->tokens);
    free(d->occ); free(d->cat); free(d->attr); free(d->clean); free(d->cat_true);
    free(d->attr_true); free(d->cat_machine); free(d->attr_machine); free(d->person);
    free(d->T_true); free(d->src_index);
    fke_strings_free(d->occ_names, d->occ_names ? d->n_occ : 0);
    fke_strings_free(d->cat_names, d->cat_names ? d->n_cat : 0);
    if (d->val_names)
        for (int k = 0; k < d->A; k++) fke_strings_free(d->val_names[k], d->n_val[k]);
    free(d->val_names);
    fke_strings_free(d->attr_names, d->attr_names ? d->A : 0);
    fke_strings_free(d->vocab, d->vocab ? d->V : 0);
    memset(d, 0, sizeof *d);
}

/* Checks that every value of field `name` (n values) lies in [lo, hi]. */
static fke_status check_range(const char *path, const char *name, const int32_t *v, size_t n,
                              int lo, int hi, int G, fke_err *e)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] < lo || v[i] > hi) {
            if (G > 0)
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field /%s: value %d at post %zu garment %zu is out of "
                                "range %d..%d",
                                path, name, v[i], i / G, i % G, lo, hi);
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /%s: value %d at position %zu is out of range %d..%d",
                            path, name, v[i], i, lo, hi);
        }
    return FKE_OK;
}

/* attr-like (N, G, A) array: value k must be in -1..n_val[k]-1 */
static fke_status check_attr(const fke_dataset *d, const char *path, const char *name,
                             const int32_t *v, fke_err *e)
{
    size_t n = (size_t)d->N * d->G;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < d->A; k++) {
            int x = v[i * d->A + k];
            if (x < -1 || x >= d->n_val[k])
                return fke_fail(e, FKE_ERR_FORMAT,
                                "%s: field /%s: attribute %d (%s) value %d at post %zu garment "
                                "%zu is out of range -1..%d",
                                path, name, k, d->attr_names ? d->attr_names[k] : "?", x,
                                i / d->G, i % d->G, d->n_val[k] - 1);
        }
    return FKE_OK;
}

fke_status fke_dataset_validate(const fke_dataset *d, const char *path, fke_err *e)
{
    int G = d->G, A = d->A;
    size_t NG = (size_t)d->N * G;
    if (d->C != 3)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: field /images has %d channels, expected 3", path,
                        d->C);
    if (d->n_occ < 1 || d->n_cat < 1 || A < 0 || A > FKE_MAX_ATTR || d->V < 1)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: /names: %d occasions, %d categories, %d attributes (at most %d), "
                        "%d vocabulary words: each must be at least 1",
                        path, d->n_occ, d->n_cat, A, FKE_MAX_ATTR, d->V);
    for (int k = 0; k < A; k++)
        if (d->n_val[k] < 1)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute %d has no values", path, k);
    FKE_TRY(check_range(path, "n_garments", d->n_garments, d->N, 0, G, 0, e));
    FKE_TRY(check_range(path, "tokens", d->tokens, (size_t)d->N * d->L, 0, d->V - 1, 0, e));
    FKE_TRY(check_range(path, "labels/occasion", d->occ, d->N, -1, d->n_occ - 1, 0, e));
    FKE_TRY(check_range(path, "labels/category", d->cat, NG, -1, d->n_cat - 1, G, e));
    FKE_TRY(check_range(path, "labels/category_true", d->cat_true, NG, -1, d->n_cat - 1, G, e));
    FKE_TRY(check_range(path, "labels/category_machine", d->cat_machine, NG, -1, d->n_cat - 1,
                        G, e));
    FKE_TRY(check_attr(d, path, "labels/attribute", d->attr, e));
    FKE_TRY(check_attr(d, path, "labels/attribute_true", d->attr_true, e));
    FKE_TRY(check_attr(d, path, "labels/attribute_machine", d->attr_machine, e));
    for (size_t i = 0; i < NG; i++) {
        if (d->person[2 * i] < -1 || d->person[2 * i] > 1 || d->person[2 * i + 1] < -1 ||
            d->person[2 * i + 1] > 3)
            return fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /person: (%d, %d) at post %zu garment %zu is out of "
                            "range (gender -1..1, age band -1..3)",
                            path, d->person[2 * i], d->person[2 * i + 1], i / G, i % G);
    }
    for (int i = 0; i < d->N; i++) {
        if (d->clean[i] > 1)
            return fke_fail(e, FKE_ERR_FORMAT, "%s: field /labels/clean: value %d at post %d is "
                            "not 0 or 1", path, d->clean[i], i);
        for (int g = 0; g < G; g++) {
            const int32_t *b = d->boxes + ((size_t)i * G + g) * 4;
            size_t o = (size_t)i * G + g;
            if (g < d->n_garments[i]) {
                if (b[0] < 0 || b[1] < 0 || b[2] > d->img || b[3] > d->img || b[0] >= b[2] ||
                    b[1] >= b[3])
                    return fke_fail(e, FKE_ERR_FORMAT,
                                    "%s: field /boxes: box (%d,%d,%d,%d) of post %d garment %d "
                                    "is empty or outside the %dx%d image",
                                    path, b[0], b[1], b[2], b[3], i, g, d->img, d->img);
            } else {
                int bad = d->cat[o] != -1 || d->cat_true[o] != -1 || d->cat_machine[o] != -1;
                for (int k = 0; k < A; k++)
                    bad |= d->attr[o * A + k] != -1 || d->attr_true[o * A + k] != -1 ||
                           d->attr_machine[o * A + k] != -1;
                if (bad)
                    return fke_fail(e, FKE_ERR_FORMAT,
                                    "%s: /labels: post %d has %d garments but slot %d carries a "
                                    "label (padding slots must be -1)",
                                    path, i, d->n_garments[i], g);
            }
        }
    }
    if (d->src_index)
        FKE_TRY(check_range(path, "source_index", d->src_index, NG, -1, 1 << 30, G, e));
    if (d->T_true) {
        for (int t = 0; t <= A; t++) {
            int n = fke_dataset_T_side(d, t);
            const float *T = d->T_true + fke_dataset_T_offset(d, t);
            for (int a = 0; a < n; a++) {
                double s = 0;
                for (int b = 0; b < n; b++) {
                    if (!(T[a * n + b] >= 0.f && T[a * n + b] <= 1.f))
                        return fke_fail(e, FKE_ERR_FORMAT,
                                        "%s: field /T_true: task %d entry (%d,%d) = %g is not a "
                                        "probability",
                                        path, t, a, b, T[a * n + b]);
                    s += T[a * n + b];
                }
                if (fabs(s - 1.0) > 1e-3)
                    return fke_fail(e, FKE_ERR_FORMAT,
                                    "%s: field /T_true: task %d row %d sums to %g, not 1", path,
                                    t, a, s);
            }
        }
    }
    return FKE_OK;
}

fke_status fke_dataset_save(const fke_dataset *d, const char *path, fke_err *e)
{
    if (!d || !path) return fke_fail(e, FKE_ERR_ARG, "dataset save: null argument");
    FKE_TRY(fke_dataset_validate(d, path, e));
    char tmp[1100];
    writer w = {create_tmp(path, tmp, sizeof tmp), 0};
    if (w.f < 0) return fke_fail(e, FKE_ERR_IO, "%s: cannot create %s", path, tmp);
    hsize_t N = (hsize_t)d->N, G = (hsize_t)d->G, A = (hsize_t)d->A;
    hsize_t C = (hsize_t)d->C, I = (hsize_t)d->img, P = (hsize_t)d->crop;
    w_str_attr(&w, w.f, "format", FKE_POSTS_FORMAT);
    w_int_attr(&w, w.f, "version", FKE_POSTS_VERSION);
    if (d->generator[0]) w_str_attr(&w, w.f, "generator", d->generator);
    if (d->src_file[0]) w_str_attr(&w, w.f, "source_file", d->src_file);
    {
        hsize_t dm[4] = {N, C, I, I};
        w_array(&w, w.f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dm, d->images, 1);
        hsize_t dc[5] = {N, G, C, P, P};
        w_array(&w, w.f, "crops", H5T_STD_U8LE, H5T_NATIVE_UINT8, 5, dc, d->crops, 1);
    }
    hsize_t d1[1] = {N}, d2[2] = {N, G}, d3[3] = {N, G, A}, db[3] = {N, G, 4}, dp[3] = {N, G, 2};
    hsize_t dt[2] = {N, (hsize_t)d->L};
    hid_t i32 = H5T_STD_I32LE, n32 = H5T_NATIVE_INT32;
    w_array(&w, w.f, "n_garments", i32, n32, 1, d1, d->n_garments, 0);
    w_array(&w, w.f, "boxes", i32, n32, 3, db, d->boxes, 0);
    w_array(&w, w.f, "tokens", i32, n32, 2, dt, d->tokens, 1);
    w_array(&w, w.f, "person", i32, n32, 3, dp, d->person, 0);
    if (d->src_index) w_array(&w, w.f, "source_index", i32, n32, 2, d2, d->src_index, 0);
    hid_t gl = w_group(&w, w.f, "labels");
    if (gl >= 0) {
        w_array(&w, gl, "occasion", i32, n32, 1, d1, d->occ, 0);
        w_array(&w, gl, "clean", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, d->clean, 0);
        w_array(&w, gl, "category", i32, n32, 2, d2, d->cat, 0);
        w_array(&w, gl, "category_true", i32, n32, 2, d2, d->cat_true, 0);
        w_array(&w, gl, "category_machine", i32, n32, 2, d2, d->cat_machine, 0);
        w_array(&w, gl, "attribute", i32, n32, 3, d3, d->attr, 0);
        w_array(&w, gl, "attribute_true", i32, n32, 3, d3, d->attr_true, 0);
        w_array(&w, gl, "attribute_machine", i32, n32, 3, d3, d->attr_machine, 0);
        H5Gclose(gl);
    }
    hid_t gn = w_group(&w, w.f, "names");
    if (gn >= 0) {
        w_strings(&w, gn, "occasion", d->occ_names, d->n_occ);
        w_strings(&w, gn, "category", d->cat_names, d->n_cat);
        w_strings(&w, gn, "attribute", d->attr_names, d->A);
        for (int k = 0; k < d->A; k++) {
            char nm[32];
            snprintf(nm, sizeof nm, "values_%d", k);
            w_strings(&w, gn, nm, d->val_names[k], d->n_val[k]);
        }
        H5Gclose(gn);
    }
    w_strings(&w, w.f, "vocab", d->vocab, d->V);
    if (d->T_true) {
        hsize_t dT[1] = {(hsize_t)T_total(d)};
        w_array(&w, w.f, "T_true", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dT, d->T_true, 0);
    }
    return finish_tmp(&w, tmp, path, "dataset", e);
}

fke_status fke_dataset_load(fke_dataset *d, const char *path, fke_err *e)
{
    memset(d, 0, sizeof *d);
    hid_t f;
    FKE_TRY(open_checked(path, FKE_POSTS_FORMAT, FKE_POSTS_VERSION, &f, e));
    snprintf(d->path, sizeof d->path, "%s", path);
    reader r = {f, path, e, FKE_OK};
    /* names first: they fix the label counts */
    d->occ_names = r_strings(&r, "names/occasion", -1, &d->n_occ);
    d->cat_names = r_strings(&r, "names/category", -1, &d->n_cat);
    d->attr_names = r_strings(&r, "names/attribute", -1, &d->A);
    if (!r.st && d->A > FKE_MAX_ATTR)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /names/attribute has %d names, at most %d",
                        path, d->A, FKE_MAX_ATTR);
    if (!r.st) {
        d->val_names = calloc((size_t)d->A + 1, sizeof *d->val_names);
        if (!d->val_names) r.st = fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    }
    for (int k = 0; k < d->A && !r.st; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "names/values_%d", k);
        d->val_names[k] = r_strings(&r, nm, -1, &d->n_val[k]);
    }
    d->vocab = r_strings(&r, "vocab", -1, &d->V);
    int dm[4] = {-1, 3, -1, -1};
    d->images = r_array(&r, "images", H5T_INTEGER, H5T_NATIVE_UINT8, 4, dm, 0);
    if (!r.st && dm[2] != dm[3])
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /images is %dx%d, expected square images",
                        path, dm[2], dm[3]);
    d->N = dm[0];
    d->C = dm[1];
    d->img = dm[2];
    int dc[5] = {d->N, -1, 3, -1, -1};
    d->crops = r_array(&r, "crops", H5T_INTEGER, H5T_NATIVE_UINT8, 5, dc, 0);
    if (!r.st && dc[3] != dc[4])
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /crops is %dx%d, expected square crops",
                        path, dc[3], dc[4]);
    d->G = dc[1];
    d->crop = dc[3];
    int d1[1] = {d->N}, d2[2] = {d->N, d->G}, d3[3] = {d->N, d->G, d->A};
    int db[3] = {d->N, d->G, 4}, dp[3] = {d->N, d->G, 2}, dt[2] = {d->N, -1};
    hid_t n32 = H5T_NATIVE_INT32;
    d->n_garments = r_array(&r, "n_garments", H5T_INTEGER, n32, 1, d1, 0);
    d->boxes = r_array(&r, "boxes", H5T_INTEGER, n32, 3, db, 0);
    d->tokens = r_array(&r, "tokens", H5T_INTEGER, n32, 2, dt, 0);
    d->L = dt[1];
    d->person = r_array(&r, "person", H5T_INTEGER, n32, 3, dp, 0);
    d->src_index = r_array(&r, "source_index", H5T_INTEGER, n32, 2, d2, 1);
    d->occ = r_array(&r, "labels/occasion", H5T_INTEGER, n32, 1, d1, 0);
    d->clean = r_array(&r, "labels/clean", H5T_INTEGER, H5T_NATIVE_UINT8, 1, d1, 0);
    d->cat = r_array(&r, "labels/category", H5T_INTEGER, n32, 2, d2, 0);
    d->cat_true = r_array(&r, "labels/category_true", H5T_INTEGER, n32, 2, d2, 0);
    d->cat_machine = r_array(&r, "labels/category_machine", H5T_INTEGER, n32, 2, d2, 0);
    d->attr = r_array(&r, "labels/attribute", H5T_INTEGER, n32, 3, d3, 0);
    d->attr_true = r_array(&r, "labels/attribute_true", H5T_INTEGER, n32, 3, d3, 0);
    d->attr_machine = r_array(&r, "labels/attribute_machine", H5T_INTEGER, n32, 3, d3, 0);
    if (!r.st && d->L < 1)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /tokens has 0 tokens per post", path);
    if (!r.st && d->G < 1)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /crops has 0 garment slots", path);
    if (!r.st) {
        int dT[1] = {(int)T_total(d)};
        d->T_true = r_array(&r, "T_true", H5T_FLOAT, H5T_NATIVE_FLOAT, 1, dT, 1);
    }
    if (!r.st) {
        char *g = r_str_attr(f, "generator"), *s = r_str_attr(f, "source_file");
        if (g) snprintf(d->generator, sizeof d->generator, "%s", g);
        if (s) snprintf(d->src_file, sizeof d->src_file, "%s", s);
        free(g);
        free(s);
    }
    H5Fclose(f);
    if (!r.st) r.st = fke_dataset_validate(d, path, e);
    if (r.st) {
        char keep[FKE_ERRLEN];
        snprintf(keep, sizeof keep, "%s", e ? e->msg : "");
        fke_dataset_free(d);
        if (e) snprintf(e->msg, sizeof e->msg, "%s", keep);
    }
    return r.st;
}

/* ---- image classification sets ------------------------------------------ */
/* The optional noise fields: true labels in range, T_true row-stochastic. */
static fke_status check_noise(const fke_imageset *s, const char *path, fke_status st,
                              fke_err *e)
{
    int n = s->n_cls;
    if (s->labels_true)
        for (int i = 0; i < s->N; i++)
            if (s->labels_true[i] < 0 || s->labels_true[i] >= n)
                return fke_fail(e, st, "%s: field /labels_true: value %d at position %d is out "
                                "of range 0..%d", path, s->labels_true[i], i, n - 1);
    if (s->T_true)
        for (int a = 0; a < n; a++) {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                float v = s->T_true[a * n + b];
                if (!(v >= 0.f && v <= 1.f))
                    return fke_fail(e, st, "%s: field /T_true: entry (%d,%d) = %g is not a "
                                    "probability", path, a, b, v);
                sum += v;
            }
            if (fabs(sum - 1.0) > 1e-3)
                return fke_fail(e, st, "%s: field /T_true: row %d sums to %g, not 1", path, a,
                                sum);
        }
    return FKE_OK;
}

int fke_file_is_imageset(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat stt;
    if (!path || stat(path, &stt) != 0 || !S_ISREG(stt.st_mode) || H5Fis_hdf5(path) <= 0)
        return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 0;
    char *fmt = r_str_attr(f, "format");
    int yes = fmt && !strcmp(fmt, FKE_IMAGES_FORMAT);
    free(fmt);
    H5Fclose(f);
    return yes;
}

void fke_imageset_free(fke_imageset *s)
{
    if (!s) return;
    free(s->images);
    free(s->labels);
    free(s->labels_true);
    free(s->T_true);
    fke_strings_free(s->class_names, s->class_names ? s->n_cls : 0);
    memset(s, 0, sizeof *s);
}

fke_status fke_imageset_save(const fke_imageset *s, const char *path, fke_err *e)
{
    if (!s || !path) return fke_fail(e, FKE_ERR_ARG, "imageset save: null argument");
    for (int i = 0; i < s->N; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->n_cls)
            return fke_fail(e, FKE_ERR_ARG, "%s: label %d of image %d is out of range 0..%d",
                            path, s->labels[i], i, s->n_cls - 1);
    FKE_TRY(check_noise(s, path, FKE_ERR_ARG, e));
    char tmp[1100];
    writer w = {create_tmp(path, tmp, sizeof tmp), 0};
    if (w.f < 0) return fke_fail(e, FKE_ERR_IO, "%s: cannot create %s", path, tmp);
    w_str_attr(&w, w.f, "format", FKE_IMAGES_FORMAT);
    w_int_attr(&w, w.f, "version", FKE_IMAGES_VERSION);
    hsize_t di[4] = {(hsize_t)s->N, (hsize_t)s->C, (hsize_t)s->H, (hsize_t)s->W};
    hsize_t dl[1] = {(hsize_t)s->N};
    w_array(&w, w.f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, di, s->images, 1);
    w_array(&w, w.f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dl, s->labels, 0);
    w_strings(&w, w.f, "class_names", s->class_names, s->n_cls);
    if (s->labels_true)
        w_array(&w, w.f, "labels_true", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dl, s->labels_true, 0);
    if (s->T_true) {
        hsize_t dT[2] = {(hsize_t)s->n_cls, (hsize_t)s->n_cls};
        w_array(&w, w.f, "T_true", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dT, s->T_true, 0);
    }
    if (s->noise[0]) w_str_attr(&w, w.f, "noise", s->noise);
    return finish_tmp(&w, tmp, path, "image set", e);
}

fke_status fke_imageset_load(fke_imageset *s, const char *path, fke_err *e)
{
    memset(s, 0, sizeof *s);
    hid_t f;
    FKE_TRY(open_checked(path, FKE_IMAGES_FORMAT, FKE_IMAGES_VERSION, &f, e));
    snprintf(s->path, sizeof s->path, "%s", path);
    reader r = {f, path, e, FKE_OK};
    s->class_names = r_strings(&r, "class_names", -1, &s->n_cls);
    int di[4] = {-1, -1, -1, -1};
    s->images = r_array(&r, "images", H5T_INTEGER, H5T_NATIVE_UINT8, 4, di, 0);
    s->N = di[0], s->C = di[1], s->H = di[2], s->W = di[3];
    int dl[1] = {s->N};
    s->labels = r_array(&r, "labels", H5T_INTEGER, H5T_NATIVE_INT32, 1, dl, 0);
    s->labels_true = r_array(&r, "labels_true", H5T_INTEGER, H5T_NATIVE_INT32, 1, dl, 1);
    int dT[2] = {s->n_cls, s->n_cls};
    s->T_true = r_array(&r, "T_true", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, dT, 1);
    if (!r.st) {
        char *nz = r_str_attr(f, "noise");
        if (nz) snprintf(s->noise, sizeof s->noise, "%s", nz);
        free(nz);
    }
    H5Fclose(f);
    if (!r.st && s->n_cls < 1)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /class_names is empty", path);
    if (!r.st) r.st = check_noise(s, path, FKE_ERR_FORMAT, e);
    for (int i = 0; !r.st && i < s->N; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->n_cls)
            r.st = fke_fail(e, FKE_ERR_FORMAT,
                            "%s: field /labels: value %d at position %d is out of range 0..%d",
                            path, s->labels[i], i, s->n_cls - 1);
    if (r.st) {
        char keep[FKE_ERRLEN];
        snprintf(keep, sizeof keep, "%s", e ? e->msg : "");
        fke_imageset_free(s);
        if (e) snprintf(e->msg, sizeof e->msg, "%s", keep);
    }
    return r.st;
}
