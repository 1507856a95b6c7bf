/* card.h - `fke card`: a model card for a training run, in the layout of the
 * Hugging Face model cards: YAML front matter (task, datasets, a model-index
 * with the evaluation results), then the intended and out-of-scope uses,
 * the training data (source, sizes, machine-label share, the transition
 * matrices), the training procedure (config, steps, time, hardware), the
 * evaluation (every metric of `fke eval`, per class too), the ablation
 * table when the run is one of experiments/ablation.sh's, the limitations,
 * and how to load the model in fke, ONNX Runtime and PyTorch.
 *
 * The numbers are computed here with fke_evaluate, the code `fke eval`
 * runs, on the run's best checkpoint (best.h5, else last.h5) and its
 * held-out data: the data given, else the config's test_data, else its
 * val_data. The model-index lists each metric as
 *     - type: accuracy        value: 0.716800 (six decimals, as fke eval --json)
 *       name: occasion accuracy
 *       config: occ_acc       (the fke eval --json key; att_acc_k.K for attribute K)
 * which tests/test_card.c compares with `fke eval --json`. */
#ifndef FKE_CARD_H
#define FKE_CARD_H
#include "core/fke.h"

typedef struct {
    const char *run;     /* the run folder (config.json, best.h5/last.h5, metrics.jsonl) */
    const char *out;     /* NULL: RUN/MODEL_CARD.md */
    const char *data;    /* NULL: the config's test_data, else val_data */
    const char *version; /* fke's version, written into the card */
} fke_card_opts;

typedef struct {
    char ckpt[600], data[600], out[600]; /* what the card was made from, and where it went */
    long posts;                          /* posts evaluated */
} fke_card_info;

fke_status fke_card_write(const fke_card_opts *o, fke_card_info *info, fke_err *e);
#endif
