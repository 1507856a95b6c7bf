/* model_io.h - models as files: a model rebuilt from a checkpoint (its config
 * is stored inside), and a model's checkpoint written with its config. */
#ifndef FKE_MODEL_IO_H
#define FKE_MODEL_IO_H
#include "model/checkpoint.h"
#include "model/model.h"

/* Rebuilds the model of the checkpoint's config and loads its parameters
 * (and, when with_optim, the optimiser state). meta may be NULL; when given,
 * the caller frees meta->config_json. The arena is planned (ready to run). */
fke_status fke_model_load(fke_model *m, const char *path, int with_optim, fke_ckpt_meta *meta,
                          fke_err *e);
/* Saves m with its config JSON; meta may be NULL (step 0). meta->names, when
 * set, is written under /names (what the model was trained on). */
fke_status fke_model_save(const fke_model *m, const char *path, const fke_ckpt_meta *meta,
                          fke_err *e);
#endif
