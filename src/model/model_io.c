/* model_io.c - see model_io.h. */
#include "model/model_io.h"

#include <stdlib.h>
#include <string.h>

fke_status fke_model_load(fke_model *m, const char *path, int with_optim, fke_ckpt_meta *meta,
                          fke_err *e)
{
    char *json = NULL;
    FKE_TRY(fke_checkpoint_read_config(path, &json, e));
    fke_config cfg;
    fke_config_defaults(&cfg);
    fke_status st = fke_config_from_json(&cfg, json, path, e);
    free(json);
    if (st != FKE_OK) return st;
    st = fke_model_init(m, &cfg, e);
    if (st == FKE_OK) st = fke_checkpoint_load(path, &m->P, with_optim, meta, e);
    if (st == FKE_OK) st = fke_model_plan(m, e);
    if (st != FKE_OK) fke_model_free(m);
    return st;
}

fke_status fke_model_save(const fke_model *m, const char *path, const fke_ckpt_meta *meta,
                          fke_err *e)
{
    fke_ckpt_meta md;
    memset(&md, 0, sizeof md);
    if (meta) md = *meta;
    md.config_json = fke_config_to_json(&m->cfg);
    if (!md.config_json) return fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", path);
    fke_status st = fke_checkpoint_save(path, &m->P, &md, e);
    free(md.config_json);
    return st;
}
