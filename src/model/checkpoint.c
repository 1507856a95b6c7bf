/* checkpoint.c - see checkpoint.h. */
#include "model/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/h5.h"
#include "core/version.h"

#define CKPT_FORMAT "fke-checkpoint"
#define CKPT_VERSION 1

/* The tensors of one block (values or an optimiser moment) as float32
 * arrays named by the parameter table. */
static void write_block(fke_h5w *w, hid_t grp, const fke_params *p, const fke_real *block)
{
    float *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < p->n && !w->bad; i++) {
        const fke_param_info *in = &p->info[i];
        hsize_t dims[FKE_MAXDIM];
        for (int d = 0; d < in->ndim; d++) dims[d] = (hsize_t)in->shape[d];
        if (in->numel > cap) {
            free(buf);
            cap = in->numel;
            if (!(buf = malloc(cap * sizeof(float)))) {
                w->bad = 1;
                return;
            }
        }
        for (size_t k = 0; k < in->numel; k++) buf[k] = (float)block[in->offset + k];
        fke_h5w_array(w, grp, in->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, in->ndim, dims, buf, 0);
    }
    free(buf);
}

/* /names: what the model was trained on (checkpoint.h). */
static void write_names(fke_h5w *w, const fke_ckpt_names *nm)
{
    hid_t g = fke_h5w_group(w, w->f, "names");
    if (g < 0) return;
    if (nm->occ) fke_h5w_strings(w, g, "occasion", nm->occ, nm->n_occ);
    if (nm->cat) fke_h5w_strings(w, g, "category", nm->cat, nm->n_cat);
    if (nm->attr) fke_h5w_strings(w, g, "attribute", nm->attr, nm->A);
    for (int k = 0; k < nm->A && k < FKE_MAX_ATTR; k++) {
        char name[32];
        snprintf(name, sizeof name, "values_%d", k);
        if (nm->val[k]) fke_h5w_strings(w, g, name, nm->val[k], nm->n_val[k]);
    }
    if (nm->vocab) fke_h5w_strings(w, g, "vocab", nm->vocab, nm->V);
    fke_h5w_attr_int(w, g, "img", nm->img);
    fke_h5w_attr_int(w, g, "crop", nm->crop);
    fke_h5w_attr_int(w, g, "pad", nm->pad);
    fke_h5w_attr_array(w, g, "pixel_mean", H5T_NATIVE_DOUBLE, &nm->pixel_mean, 1);
    fke_h5w_attr_array(w, g, "pixel_std", H5T_NATIVE_DOUBLE, &nm->pixel_std, 1);
    fke_h5w_attr_str(w, g, "data_file", nm->data_file);
    fke_h5w_attr_str(w, g, "data_hash", nm->data_hash);
    fke_h5w_attr_str(w, g, "tokenizer", nm->tokenizer);
    fke_h5w_attr_str(w, g, "crop_rule", nm->crop_rule);
    fke_h5w_attr_array(w, g, "data_posts", H5T_NATIVE_LLONG, &nm->data_posts, 1);
    fke_h5w_attr_array(w, g, "data_garments", H5T_NATIVE_LLONG, &nm->data_garments, 1);
    fke_h5w_attr_array(w, g, "data_clean", H5T_NATIVE_LLONG, &nm->data_clean, 1);
    H5Gclose(g);
}

fke_status fke_checkpoint_save(const char *path, const fke_params *p,
                               const fke_ckpt_meta *meta, fke_err *e)
{
    fke_h5w w;
    FKE_TRY(fke_h5w_create(&w, path, CKPT_FORMAT, CKPT_VERSION, e));
    if (meta) {
        long long step = meta->step, pos = meta->pos;
        fke_h5w_attr_array(&w, w.f, "step", H5T_NATIVE_LLONG, &step, 1);
        fke_h5w_attr_array(&w, w.f, "epoch", H5T_NATIVE_INT, &meta->epoch, 1);
        fke_h5w_attr_array(&w, w.f, "pos", H5T_NATIVE_LLONG, &pos, 1);
        fke_h5w_attr_array(&w, w.f, "rng", H5T_NATIVE_UINT64, meta->rng, 4);
        fke_h5w_attr_array(&w, w.f, "best", H5T_NATIVE_DOUBLE, &meta->best, 1);
        int world = meta->world > 0 ? meta->world : 1;
        fke_h5w_attr_array(&w, w.f, "world_size", H5T_NATIVE_INT, &world, 1);
        if (meta->config_json) fke_h5w_attr_str(&w, w.f, "config", meta->config_json);
        if (meta->names) write_names(&w, meta->names);
    }
    fke_h5w_attr_str(&w, w.f, "fke_version", fke_version());
    long long ostep = p->step;
    fke_h5w_attr_array(&w, w.f, "optim_step", H5T_NATIVE_LLONG, &ostep, 1);
    hid_t gp = fke_h5w_group(&w, w.f, "params");
    hid_t go = fke_h5w_group(&w, w.f, "optim");
    hid_t gm = go >= 0 ? fke_h5w_group(&w, go, "m") : -1;
    hid_t gv = go >= 0 ? fke_h5w_group(&w, go, "v") : -1;
    write_block(&w, gp, p, p->w);
    if (p->m) write_block(&w, gm, p, p->m);
    if (p->v) write_block(&w, gv, p, p->v);
    if (gv >= 0) H5Gclose(gv);
    if (gm >= 0) H5Gclose(gm);
    if (go >= 0) H5Gclose(go);
    if (gp >= 0) H5Gclose(gp);
    return fke_h5w_commit(&w, "checkpoint", e);
}

/* The first element that is NaN or infinite, n when all are finite: weights
 * are checked on load as training checks them before saving. */
static size_t first_nonfinite(const float *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!isfinite(v[k])) return k;
    return n;
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
            char want[64], got[160] = "(";
            fke_tensor t = fke_params_value(p, i);
            for (int d = 0; d < nd && d < 8; d++) {
                size_t n = strlen(got);
                snprintf(got + n, sizeof got - n, "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
            }
            strcat(got, ")");
            st = fke_fail(e, FKE_ERR_FORMAT,
                          "%s: tensor %s/%s has shape %s, expected %s "
                          "(checkpoint of another config?)",
                          path, gname, in->name, nd < 0 ? "(unreadable)" : got,
                          fke_shape_str(&t, want, sizeof want));
        } else {
            if (in->numel > cap) {
                free(buf);
                cap = in->numel;
                buf = malloc(cap * sizeof(float));
            }
            const char *why = "out of memory";
            size_t bad = in->numel;
            if (!buf || fke_h5r_read(ds, H5T_NATIVE_FLOAT, buf, &why) < 0)
                st = fke_fail(e, FKE_ERR_FORMAT, "%s: cannot read tensor %s/%s (%s)", path, gname,
                              in->name, why);
            else if ((bad = first_nonfinite(buf, in->numel)) < in->numel)
                st = fke_fail(e, FKE_ERR_NUMERIC,
                              "%s: tensor %s/%s[%zu] is %g (a damaged checkpoint, or one saved "
                              "from a diverged run)",
                              path, gname, in->name, bad, (double)buf[bad]);
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

/* Opens a checkpoint for reading (FKE_ERR_IO: missing or unreadable;
 * FKE_ERR_FORMAT: not a checkpoint or of a newer version). */
static fke_status open_checked(fke_h5r *r, const char *path, const void *image, size_t n,
                               fke_err *e)
{
    return fke_h5r_open_image(r, path, image, n, CKPT_FORMAT, CKPT_VERSION, "checkpoint", e);
}

/* The values under /params (partial: tensors the file lacks are skipped). */
static fke_status read_params(fke_h5r *r, fke_params *p, int partial, int *loaded)
{
    hid_t gp = H5Gopen2(r->f, "params", H5P_DEFAULT);
    if (gp < 0) return fke_fail(r->e, FKE_ERR_FORMAT, "%s: group /params is missing", r->path);
    fke_status st = read_block(gp, r->path, "params", p, p->w, partial, loaded, r->e);
    H5Gclose(gp);
    return st;
}

fke_status fke_checkpoint_read_config(const char *path, char **json, fke_err *e)
{
    return fke_checkpoint_read_config_image(path, NULL, 0, json, e);
}

fke_status fke_checkpoint_read_config_image(const char *path, const void *image, size_t n,
                                            char **json, fke_err *e)
{
    fke_h5r r;
    FKE_TRY(open_checked(&r, path, image, n, e));
    *json = fke_h5r_attr_str(r.f, "config");
    fke_h5r_close(&r);
    if (!*json)
        return fke_fail(e, FKE_ERR_FORMAT,
                        "%s: a weights-only file (tensors under /params, no config attribute and "
                        "no run state; e.g. written by tools/torch_to_fke.py): it holds no model "
                        "to evaluate, run or export by itself. Start a training run from it: fke "
                        "train CONFIG --set init_from=%s (docs/checkpoint.md, \"Weights-only "
                        "files\")",
                        path, path);
    return FKE_OK;
}

/* The resume state must be one that training can have written: steps and
 * positions from 0 to FKE_CKPT_MAX_STEP, a random state that is not all
 * zero (xoshiro would then draw 0 forever), a best score that is the
 * initial -1 or a finite number. */
static fke_status check_run_state(const char *path, long long step, long long pos,
                                  const fke_ckpt_meta *m, const fke_params *p, fke_err *e)
{
    if (step < 0 || step > FKE_CKPT_MAX_STEP)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'step' is %lld, expected 0..%lld "
                        "(damaged checkpoint?)", path, step, (long long)FKE_CKPT_MAX_STEP);
    if (pos < 0 || pos > FKE_CKPT_MAX_STEP)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'pos' is %lld, expected 0..%lld "
                        "(damaged checkpoint?)", path, pos, (long long)FKE_CKPT_MAX_STEP);
    if (m->epoch < 0 || m->epoch > step)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'epoch' is %d, expected 0..step %lld "
                        "(damaged checkpoint?)", path, m->epoch, step);
    if (p->step < 0 || p->step > FKE_CKPT_MAX_STEP)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'optim_step' is %ld, expected 0..%lld "
                        "(damaged checkpoint?)", path, p->step, (long long)FKE_CKPT_MAX_STEP);
    if (!(m->rng[0] | m->rng[1] | m->rng[2] | m->rng[3]))
        return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'rng' is all zero, which no run "
                        "writes (damaged checkpoint?)", path);
    if (!isfinite(m->best) || m->best < -1)
        return fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'best' is %g, expected -1 (none yet) "
                        "or a score (damaged checkpoint?)", path, m->best);
    return FKE_OK;
}

fke_status fke_checkpoint_load(const char *path, fke_params *p, int with_optim,
                               fke_ckpt_meta *meta, fke_err *e)
{
    return fke_checkpoint_load_image(path, NULL, 0, p, with_optim, meta, e);
}

fke_status fke_checkpoint_load_image(const char *path, const void *image, size_t n,
                                     fke_params *p, int with_optim, fke_ckpt_meta *meta,
                                     fke_err *e)
{
    fke_h5r r;
    FKE_TRY(open_checked(&r, path, image, n, e));
    hid_t f = r.f;
    fke_status st = read_params(&r, p, 0, NULL);
    if (st == FKE_OK && with_optim) {
        hid_t gm = H5Gopen2(f, "optim/m", H5P_DEFAULT), gv = H5Gopen2(f, "optim/v", H5P_DEFAULT);
        if (gm < 0 || gv < 0) st = fke_fail(e, FKE_ERR_FORMAT, "%s: group /optim is missing", path);
        if (st == FKE_OK && p->m) st = read_block(gm, path, "optim/m", p, p->m, 0, NULL, e);
        if (st == FKE_OK && p->v) st = read_block(gv, path, "optim/v", p, p->v, 0, NULL, e);
        long long ostep = 0;
        if (st == FKE_OK && fke_h5r_attr(f, "optim_step", H5T_NATIVE_LLONG, &ostep, 1) == 0)
            p->step = (long)ostep;
        if (gm >= 0) H5Gclose(gm);
        if (gv >= 0) H5Gclose(gv);
    }
    if (st == FKE_OK && meta) {
        memset(meta, 0, sizeof *meta);
        long long step = 0, pos = 0;
        if (fke_h5r_attr(f, "step", H5T_NATIVE_LLONG, &step, 1) ||
            fke_h5r_attr(f, "epoch", H5T_NATIVE_INT, &meta->epoch, 1) ||
            fke_h5r_attr(f, "pos", H5T_NATIVE_LLONG, &pos, 1) ||
            fke_h5r_attr(f, "rng", H5T_NATIVE_UINT64, meta->rng, 4) ||
            fke_h5r_attr(f, "best", H5T_NATIVE_DOUBLE, &meta->best, 1))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: run state attributes missing", path);
        meta->step = (long)step;
        meta->pos = pos;
        meta->world = 1; /* older files: a single process */
        if (st == FKE_OK && H5Aexists(f, "world_size") > 0 &&
            (fke_h5r_attr(f, "world_size", H5T_NATIVE_INT, &meta->world, 1) || meta->world < 1 ||
             meta->world > 1000000))
            st = fke_fail(e, FKE_ERR_FORMAT, "%s: attribute 'world_size' is missing a value or "
                          "outside 1..1000000 (damaged checkpoint?)", path);
        if (st == FKE_OK) st = check_run_state(path, step, pos, meta, p, e);
        if (st == FKE_OK) meta->config_json = fke_h5r_attr_str(f, "config");
    }
    fke_h5r_close(&r);
    return st;
}

fke_status fke_checkpoint_load_partial(const char *path, fke_params *p, int *loaded, fke_err *e)
{
    return fke_checkpoint_load_partial_image(path, NULL, 0, p, loaded, e);
}

fke_status fke_checkpoint_load_partial_image(const char *path, const void *image, size_t n,
                                             fke_params *p, int *loaded, fke_err *e)
{
    fke_h5r r;
    FKE_TRY(open_checked(&r, path, image, n, e));
    *loaded = 0;
    fke_status st = read_params(&r, p, 1, loaded);
    fke_h5r_close(&r);
    return st;
}

void fke_ckpt_names_free(fke_ckpt_names *nm)
{
    if (!nm) return;
    fke_strings_free(nm->occ, -1);
    fke_strings_free(nm->cat, -1);
    fke_strings_free(nm->attr, -1);
    for (int k = 0; k < FKE_MAX_ATTR; k++) fke_strings_free(nm->val[k], -1);
    fke_strings_free(nm->vocab, -1);
    memset(nm, 0, sizeof *nm);
}

/* a string attribute into buf ("" when absent) */
static void copy_attr_str(hid_t loc, const char *name, char *buf, size_t n)
{
    char *v = fke_h5r_attr_str(loc, name);
    snprintf(buf, n, "%s", v ? v : "");
    free(v);
}

fke_status fke_checkpoint_read_names(const char *path, fke_ckpt_names *nm, int *found,
                                     fke_err *e)
{
    return fke_checkpoint_read_names_image(path, NULL, 0, nm, found, e);
}

fke_status fke_checkpoint_read_names_image(const char *path, const void *image, size_t n,
                                           fke_ckpt_names *nm, int *found, fke_err *e)
{
    memset(nm, 0, sizeof *nm);
    *found = 0;
    fke_h5r r;
    FKE_TRY(open_checked(&r, path, image, n, e));
    if (!fke_h5r_exists(r.f, "names")) {
        fke_h5r_close(&r);
        return FKE_OK;
    }
    /* every array is optional; values_K is needed for each attribute named */
    if (fke_h5r_exists(r.f, "names/occasion"))
        nm->occ = fke_h5r_strings(&r, r.f, "names/occasion", -1, &nm->n_occ);
    if (fke_h5r_exists(r.f, "names/category"))
        nm->cat = fke_h5r_strings(&r, r.f, "names/category", -1, &nm->n_cat);
    if (fke_h5r_exists(r.f, "names/attribute"))
        nm->attr = fke_h5r_strings(&r, r.f, "names/attribute", -1, &nm->A);
    if (r.st == FKE_OK && nm->A > FKE_MAX_ATTR)
        r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: field /names/attribute has %d names, at most %d",
                        path, nm->A, FKE_MAX_ATTR);
    for (int k = 0; r.st == FKE_OK && k < nm->A; k++) {
        char name[40];
        snprintf(name, sizeof name, "names/values_%d", k);
        nm->val[k] = fke_h5r_strings(&r, r.f, name, -1, &nm->n_val[k]);
    }
    if (r.st == FKE_OK && fke_h5r_exists(r.f, "names/vocab"))
        nm->vocab = fke_h5r_strings(&r, r.f, "names/vocab", -1, &nm->V);
    if (r.st == FKE_OK) {
        hid_t g = H5Gopen2(r.f, "names", H5P_DEFAULT);
        if (g >= 0) {
            fke_h5r_attr(g, "img", H5T_NATIVE_INT, &nm->img, 1);
            fke_h5r_attr(g, "crop", H5T_NATIVE_INT, &nm->crop, 1);
            fke_h5r_attr(g, "pad", H5T_NATIVE_INT, &nm->pad, 1);
            fke_h5r_attr(g, "pixel_mean", H5T_NATIVE_DOUBLE, &nm->pixel_mean, 1);
            fke_h5r_attr(g, "pixel_std", H5T_NATIVE_DOUBLE, &nm->pixel_std, 1);
            copy_attr_str(g, "data_file", nm->data_file, sizeof nm->data_file);
            copy_attr_str(g, "data_hash", nm->data_hash, sizeof nm->data_hash);
            copy_attr_str(g, "tokenizer", nm->tokenizer, sizeof nm->tokenizer);
            copy_attr_str(g, "crop_rule", nm->crop_rule, sizeof nm->crop_rule);
            fke_h5r_attr(g, "data_posts", H5T_NATIVE_LLONG, &nm->data_posts, 1);
            fke_h5r_attr(g, "data_garments", H5T_NATIVE_LLONG, &nm->data_garments, 1);
            fke_h5r_attr(g, "data_clean", H5T_NATIVE_LLONG, &nm->data_clean, 1);
            copy_attr_str(r.f, "fke_version", nm->version, sizeof nm->version);
            H5Gclose(g);
        } else {
            r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: /names is not a group", path);
        }
    }
    /* the names go into JSON lines and file names: UTF-8 text only */
    char **lists[3 + FKE_MAX_ATTR] = {nm->occ, nm->cat, nm->attr};
    for (int k = 0; k < nm->A && k < FKE_MAX_ATTR; k++) lists[3 + k] = nm->val[k];
    for (int l = 0; r.st == FKE_OK && l < 3 + FKE_MAX_ATTR; l++)
        for (int i = 0; lists[l] && lists[l][i] && r.st == FKE_OK; i++)
            if (!fke_text_valid(lists[l][i]))
                r.st = fke_fail(e, FKE_ERR_FORMAT, "%s: /names: name %d of list %d is not "
                                "valid UTF-8 text (or holds a control character)", path, i, l);
    fke_status st = r.st;
    fke_h5r_close(&r);
    if (st != FKE_OK) {
        fke_ckpt_names_free(nm);
        return st;
    }
    *found = 1;
    return FKE_OK;
}
