/* checkpoint.c - see checkpoint.h. */
#include "model/checkpoint.h"

#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKPT_FORMAT "fke-checkpoint"
#define CKPT_VERSION 1

static fke_status set_attr(hid_t loc, const char *name, hid_t type, const void *v, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return r < 0 ? FKE_ERR_IO : FKE_OK;
}

static fke_status set_str_attr(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, t, s);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return r < 0 ? FKE_ERR_IO : FKE_OK;
}

/* Reads a string attribute into a malloc'ed buffer; NULL if absent/bad. */
static char *get_str_attr(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0) return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
        size_t n = H5Tget_size(t);
        s = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1); /* room for a terminator the writer may have left out */
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

static int get_attr(hid_t loc, const char *name, hid_t type, void *v, int n)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a);
    hssize_t got = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    herr_t r = got == n ? H5Aread(a, type, v) : -1;
    H5Aclose(a);
    return r < 0 ? -1 : 0;
}

static fke_status write_block(hid_t grp, const fke_params *p, const fke_real *block)
{
    float *buf = NULL;
    size_t cap = 0;
    fke_status st = FKE_OK;
    for (int i = 0; i < p->n && st == FKE_OK; i++) {
        const fke_param_info *in = &p->info[i];
        hsize_t dims[FKE_MAXDIM];
        for (int d = 0; d < in->ndim; d++) dims[d] = (hsize_t)in->shape[d];
        if (in->numel > cap) {
            free(buf);
            cap = in->numel;
            buf = malloc(cap * sizeof(float));
            if (!buf) return FKE_ERR_NOMEM;
        }
        for (size_t k = 0; k < in->numel; k++) buf[k] = (float)block[in->offset + k];
        hid_t sp = H5Screate_simple(in->ndim, dims, NULL);
        hid_t ds = H5Dcreate2(grp, in->name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            st = FKE_ERR_IO;
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(sp);
    }
    free(buf);
    return st;
}

fke_status fke_checkpoint_save(const char *path, const fke_params *p,
                               const fke_ckpt_meta *meta, fke_err *e)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return fke_fail(e, FKE_ERR_IO, "%s: cannot create checkpoint file", tmp);
    fke_status st = FKE_OK;
    int version = CKPT_VERSION;
    if (set_str_attr(f, "format", CKPT_FORMAT) || set_attr(f, "version", H5T_NATIVE_INT, &version, 1))
        st = FKE_ERR_IO;
    if (st == FKE_OK && meta) {
        long long step = meta->step, pos = meta->pos;
        if (set_attr(f, "step", H5T_NATIVE_LLONG, &step, 1) ||
            set_attr(f, "epoch", H5T_NATIVE_INT, &meta->epoch, 1) ||
            set_attr(f, "pos", H5T_NATIVE_LLONG, &pos, 1) ||
            set_attr(f, "rng", H5T_NATIVE_UINT64, meta->rng, 4) ||
            set_attr(f, "best", H5T_NATIVE_DOUBLE, &meta->best, 1) ||
            (meta->config_json && set_str_attr(f, "config", meta->config_json)))
            st = FKE_ERR_IO;
    }
    if (st == FKE_OK) {
        long long ostep = p->step;
        if (set_attr(f, "optim_step", H5T_NATIVE_LLONG, &ostep, 1)) st = FKE_ERR_IO;
    }
    hid_t gp = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t go = H5Gcreate2(f, "optim", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gm = go >= 0 ? H5Gcreate2(go, "m", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    hid_t gv = go >= 0 ? H5Gcreate2(go, "v", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (gp < 0 || gm < 0 || gv < 0) st = FKE_ERR_IO;
    if (st == FKE_OK) st = write_block(gp, p, p->w);
    if (st == FKE_OK && p->m) st = write_block(gm, p, p->m);
    if (st == FKE_OK && p->v) st = write_block(gv, p, p->v);
    if (gv >= 0) H5Gclose(gv);
    if (gm >= 0) H5Gclose(gm);
    if (go >= 0) H5Gclose(go);
    if (gp >= 0) H5Gclose(gp);
    if (H5Fclose(f) < 0) st = FKE_ERR_IO;
    if (st == FKE_OK) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) st = FKE_ERR_IO;
        if (fd >= 0) close(fd);
    }
    if (st == FKE_OK && rename(tmp, path) != 0) st = FKE_ERR_IO;
    if (st != FKE_OK) {
        unlink(tmp);
        return fke_fail(e, st, "%s: writing the checkpoint failed (disk full or not writable?)",
                        path);
    }
    return FKE_OK;
}

static fke_status read_block(hid_t grp, const char *path, const char *gname, fke_params *p,
                             fke_real *block, int partial, int *loaded, fke_err *e)
{
    float *buf = NULL;
    size_t cap = 0;
    fke_status st = FKE_OK;
    for (int i = 0; i < p->n && st == FKE_OK; i++) {
        const fke_param_info *in = &p->info[i];
        if (H5Lexists(grp, in->name, H5P_DEFAULT) <= 0) {
            if (partial) continue;
            st = fke_fail(e, FKE_ERR_FORMAT,
                          "%s: tensor %s/%s is missing (checkpoint of another model?)", path,
                          gname, in->name);
            break;
        }
        hid_t ds = H5Dopen2(grp, in->name, H5P_DEFAULT);
        hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
        hsize_t dims[8] = {0};
        int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (nd >= 0 && nd <= 8) H5Sget_simple_extent_dims(sp, dims, NULL);
        int same = nd == in->ndim;
        for (int d = 0; same && d < nd; d++) same = dims[d] == (hsize_t)in->shape[d];
        if (!same) {
            char want[64];
            fke_tensor t = fke_params_value(p, i);
            st = fke_fail(e, FKE_ERR_FORMAT,
                          "%s: tensor %s/%s has %d dims (first %llu), expected shape %s "
                          "(checkpoint of another config?)",
                          path, gname, in->name, nd, (unsigned long long)dims[0],
                          fke_shape_str(&t, want, sizeof want));
        } else {
            if (in->numel > cap) {
                free(buf);
                cap = in->numel;
                buf = malloc(cap * sizeof(float));
            }
            if (!buf || H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: cannot read tensor %s/%s (truncated file?)",
                              path, gname, in->name);
            else {
                for (size_t k = 0; k < in->numel; k++) block[in->offset + k] = buf[k];
                if (loaded) (*loaded)++;
            }
        }
        if (sp >= 0) H5Sclose(sp);
        if (ds >= 0) H5Dclose(ds);
    }
    free(buf);
    return st;
}

/* Opens a checkpoint for reading; on failure returns -1 with *st set
 * (FKE_ERR_IO: missing or unreadable; FKE_ERR_FORMAT: not a checkpoint). */
static hid_t open_checked(const char *path, fke_status *st, fke_err *e)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    *st = FKE_ERR_IO;
    if (access(path, R_OK) != 0) {
        fke_fail(e, FKE_ERR_IO, "%s: checkpoint not found or not readable", path);
        return -1;
    }
    *st = FKE_ERR_FORMAT;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fke_fail(e, FKE_ERR_FORMAT, "%s: not a readable HDF5 file (truncated or corrupt?)", path);
        return -1;
    }
    char *fmt = get_str_attr(f, "format");
    int version = 0;
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0 ||
        get_attr(f, "version", H5T_NATIVE_INT, &version, 1) != 0 || version != CKPT_VERSION) {
        fke_fail(e, FKE_ERR_FORMAT, "%s: not an fke checkpoint (format '%s', version %d; expected '%s' %d)",
                 path, fmt ? fmt : "missing", version, CKPT_FORMAT, CKPT_VERSION);
        free(fmt);
        H5Fclose(f);
        return -1;
    }
    free(fmt);
    return f;
}

fke_status fke_checkpoint_read_config(const char *path, char **json, fke_err *e)
{
    fke_status st;
    hid_t f = open_checked(path, &st, e);
    if (f < 0) return st;
    *json = get_str_attr(f, "config");
    H5Fclose(f);
    if (!*json) return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'config' is missing", path);
    return FKE_OK;
}

fke_status fke_checkpoint_load(const char *path, fke_params *p, int with_optim,
                               fke_ckpt_meta *meta, fke_err *e)
{
    fke_status st;
    hid_t f = open_checked(path, &st, e);
    if (f < 0) return st;
    st = FKE_OK;
    hid_t gp = H5Gopen2(f, "params", H5P_DEFAULT);
    if (gp < 0) st = fke_fail(e, FKE_ERR_FORMAT, "%s: group /params is missing", path);
    if (st == FKE_OK) st = read_block(gp, path, "params", p, p->w, 0, NULL, e);
    if (gp >= 0) H5Gclose(gp);
    if (st == FKE_OK && with_optim) {
        hid_t gm = H5Gopen2(f, "optim/m", H5P_DEFAULT), gv = H5Gopen2(f, "optim/v", H5P_DEFAULT);
        if (gm < 0 || gv < 0) st = fke_fail(e, FKE_ERR_FORMAT, "%s: group /optim is missing", path);
        if (st == FKE_OK && p->m) st = read_block(gm, path, "optim/m", p, p->m, 0, NULL, e);
        if (st == FKE_OK && p->v) st = read_block(gv, path, "optim/v", p, p->v, 0, NULL, e);
        long long ostep = 0;
        if (st == FKE_OK && get_attr(f, "optim_step", H5T_NATIVE_LLONG, &ostep, 1) == 0)
            p->step = (long)ostep;
        if (gm >= 0) H5Gclose(gm);
        if (gv >= 0) H5Gclose(gv);
    }
    if (st == FKE_OK && meta) {
        memset(meta, 0, sizeof *meta);
        long long step = 0, pos = 0;
        if (get_attr(f, "step", H5T_NATIVE_LLONG, &step, 1) ||
            get_attr(f, "epoch", H5T_NATIVE_INT, &meta->epoch, 1) ||
            get_attr(f, "pos", H5T_NATIVE_LLONG, &pos, 1) ||
            get_attr(f, "rng", H5T_NATIVE_UINT64, meta->rng, 4) ||
            get_attr(f, "best", H5T_NATIVE_DOUBLE, &meta->best, 1))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: run state attributes missing", path);
        meta->step = (long)step;
        meta->pos = pos;
        meta->config_json = get_str_attr(f, "config");
    }
    H5Fclose(f);
    return st;
}

fke_status fke_checkpoint_load_partial(const char *path, fke_params *p, int *loaded, fke_err *e)
{
    fke_status st;
    hid_t f = open_checked(path, &st, e);
    if (f < 0) return st;
    *loaded = 0;
    hid_t gp = H5Gopen2(f, "params", H5P_DEFAULT);
    if (gp < 0) st = fke_fail(e, FKE_ERR_FORMAT, "%s: group /params is missing", path);
    else st = read_block(gp, path, "params", p, p->w, 1, loaded, e);
    if (gp >= 0) H5Gclose(gp);
    H5Fclose(f);
    return st;
}
