/* config.h - a training run's configuration: the model preset and sizes, the
 * ablation switches, data paths and the optimiser recipe. Read from JSON
 * (cJSON) strictly: every key is listed in one registry in config.c, an
 * unknown key, a wrong type or a value outside the allowed set is an error
 * naming the file, the JSON path and what is allowed. `--set key=value`
 * overrides use the same registry. configs/README.md documents every key. */
#ifndef FKE_CONFIG_H
#define FKE_CONFIG_H
#include "core/fke.h"


typedef enum { FKE_CTX_ALL, FKE_CTX_VISUAL, FKE_CTX_TASK, FKE_CTX_NONE } fke_context_mode;
typedef enum { FKE_CORR_FORWARD, FKE_CORR_NONE } fke_correction_mode;
typedef enum { FKE_CELL_LSTM, FKE_CELL_GRU } fke_cell_kind;
/* Gate blocks per step: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n). */
int fke_cell_gates(fke_cell_kind k);
typedef enum { FKE_CNN_SMALL, FKE_CNN_RESNET18 } fke_cnn_kind;
typedef enum { FKE_OPT_SGD, FKE_OPT_ADAM } fke_opt_kind;
typedef enum { FKE_TASK_FKE, FKE_TASK_CLASSIFY, FKE_TASK_MULTILABEL, FKE_TASK_CLIP } fke_task_kind;
/* What best.h5 is chosen by (config key select): the validation score. */
typedef enum { FKE_SEL_MEAN_ACC, FKE_SEL_MEAN_F1, FKE_SEL_OCC_ACC, FKE_SEL_CAT_ACC,
               FKE_SEL_ATT_ACC } fke_select_kind;
typedef enum { FKE_TOWER_CNN, FKE_TOWER_VIT } fke_tower_kind;
/* Operands of the convolutions' GEMMs (config key precision). */
typedef enum { FKE_PREC_FP32, FKE_PREC_BF16 } fke_precision;
/* What the ViT's output reads (key vit_pool): the class token (CLIP's), or the mean of the patch tokens. */
typedef enum { FKE_VIT_POOL_CLS, FKE_VIT_POOL_MEAN } fke_vit_pool_kind;
/* The ViT blocks' MLP activation (key vit_act): exact GELU, or QuickGELU (OpenAI CLIP's weights). */
typedef enum { FKE_VIT_ACT_GELU, FKE_VIT_ACT_QUICK_GELU } fke_vit_act_kind;

#define FKE_CONFIG_MAX_KEYS 96 /* room in fke_config.given; config.c checks the registry fits */

typedef struct {
    /* model (docs/model.md "The two presets"); preset fills these, single keys override */
    char preset[32];       /* "fke-small" | "fke-paper" */
    fke_cnn_kind cnn;
    int img, crop, G;      /* whole-image side, crop side, max garments */
    int chans[3];          /* small CNN channels (32, 64, 128) */
    int F, H, H2, M;       /* image feature, hidden per direction (1, 2), mid layer */
    int V, D, L, Co, T;    /* vocabulary, embedding, caption tokens, filters, text feature */
    int n_occ, n_cat, n_attr, n_val[FKE_MAX_ATTR];
    /* ablations */
    fke_context_mode context;
    int text;              /* 1 on, 0 off */
    int word_vectors;      /* 1: the training data's word vectors start the embedding */
    fke_correction_mode correction;
    fke_cell_kind cell;
    double dropout_text, dropout_head; /* 0.4, 0.5 */
    /* task: "fke" (posts) or "classify" (CNN trunk + linear on images, e.g. Fashion-MNIST) */
    fke_task_kind task;
    int in_ch;             /* image channels: 3, or 1 for Fashion-MNIST */
    int pad;               /* classify: zero padding each side (28 -> 32 is 2) */
    int n_ml;              /* multilabel: binary attributes of the sigmoid head (DeepFashion 1000) */
    double pos_weight;     /* multilabel: cap of the per-attribute positive weight; 0 = none */
    /* task clip (model/clip.h): the image tower and the joint embedding */
    fke_tower_kind image_tower;
    int vit_patch, vit_width, vit_depth, vit_heads, embed_dim;
    fke_vit_pool_kind vit_pool;
    fke_vit_act_kind vit_act;
    int img_bn;             /* task clip: batch norm on the image embedding before the L2 norm */
    int clip_crops;         /* task clip: a post is its whole image and its garment crops (max over them) */
    /* data */
    char train_data[512], val_data[512], test_data[512];
    double val_split;      /* without val_data: the fraction held out for validation (data/split.h) */
    /* optimisation */
    fke_opt_kind optimizer;
    int batch, epochs, steps; /* steps > 0 overrides epochs */
    double lr, momentum, weight_decay, beta, lr_cnn_mult, lr_theta_mult;
    int lr_step_epochs;    /* multiply lr by lr_gamma every lr_step_epochs epochs */
    double lr_gamma;
    double adam_b1, adam_b2, adam_eps;
    double theta_eps;      /* Θ = log(T_est + theta_eps) */
    char t_init[512];      /* "" (estimate from the training data) or a matrix file */
    char init_from[512];   /* "" or a checkpoint whose tensors replace the initial ones */
    /* run */
    uint64_t seed;
    int threads;           /* 0 = all cores */
    fke_precision precision; /* fp32, or bf16 operands for the CNN's convolutions */
    int eval_every;        /* steps between validations; 0 = once per epoch */
    fke_select_kind select; /* the validation score that picks best.h5 */
    int test_every;        /* steps between test evaluations; 0 = once, at the end, on best.h5 */
    int bn_recalibrate;    /* batches to re-estimate batch-norm statistics before each evaluation */
    int sync_bn;           /* data-parallel: batch-norm statistics over the global batch */
    int dist_check;        /* data-parallel: every rank's parameters compared after each step */
    int log_every;
    char out_dir[512];     /* run folder */
    /* registry bookkeeping, one byte per key in registry order: 1 where a file,
     * --set or fke_config_from_json wrote the key, 0 where it holds a default
     * or its preset's value. Read it through fke_config_given. */
    uint8_t given[FKE_CONFIG_MAX_KEYS];
} fke_config;

/* What a training set fixes about the model (fke_config_from_data); -1 where
 * it fixes nothing (n_attr 0: no attributes given). */
typedef struct {
    int n_occ, n_cat, n_attr, n_val[FKE_MAX_ATTR];
    int V;                 /* vocabulary size: the config's V must be at least this */
    int G, img, crop, L, in_ch;
    int D;                 /* the width of the data's word vectors (-1: it has none) */
    int text;              /* 0: the data has no caption and no occasion label (-1: it has) */
    int n_ml;              /* multi-label attributes */
} fke_config_data;

/* Fills c with the defaults of preset "fke-small". */
void fke_config_defaults(fke_config *c);
/* Applies a preset's sizes ("fke-small", "fke-paper"); error if unknown. */
fke_status fke_config_preset(fke_config *c, const char *name, fke_err *e);
/* Loads a JSON file (strict). "preset" is applied first, other keys after. */
fke_status fke_config_load(fke_config *c, const char *path, fke_err *e);
/* Applies one "key=value" override (same names and checks as the JSON). */
fke_status fke_config_set(fke_config *c, const char *assignment, fke_err *e);
/* Registry access: number of keys, the i-th key's name (NULL out of range),
 * and the markdown table of every key (malloc'ed) for configs/README.md. */
int fke_config_key_count(void);
const char *fke_config_key_name(int i);
/* The config value of a select criterion ("mean_acc", ...). */
const char *fke_config_select_name(fke_select_kind k);
/* The config value of a task ("fke", "classify", "multilabel", "clip"). */
const char *fke_config_task_name(fke_task_kind k);
char *fke_config_doc(void);
/* Note: load, from_json and set apply on top of the struct they are given
 * (call fke_config_defaults first); on failure the struct is unchanged. */
/* Checks cross-field consistency (positive sizes, lr > 0, ...). */
fke_status fke_config_validate(const fke_config *c, fke_err *e);
/* Writes the whole config (every key, defaults included) as JSON text;
 * returns a malloc'ed string the caller frees. */
char *fke_config_to_json(const fke_config *c);
/* Parses JSON text as written by fke_config_to_json (for checkpoints). Every
 * key it holds counts as given (a checkpoint's config is final). */
fke_status fke_config_from_json(fke_config *c, const char *json, const char *origin,
                                fke_err *e);

/* Whether the user gave key name: a file, --set or fke_config_from_json wrote
 * it (even with the default value), or its value differs from the default of
 * c's preset (code that filled the struct directly). 0 for a default or a
 * preset's value, and for an unknown name. */
int fke_config_given(const fke_config *c, const char *name);
/* The label space and input sizes from the training data (configs/README.md,
 * "Sizes from the training data"): every key of d that c does not give
 * (fke_config_given) takes the data's value; a given key that the data
 * contradicts is an error naming origin (the data file), the key, the
 * config's value and the data's. V is the exception: a given V only has to
 * hold the data's vocabulary (V >= d->V), and an ungiven one becomes d->V
 * (at least 2). Taken values keep the key's range checks. When taken is not
 * NULL it receives the keys taken and their values ("n_occ 4, V 30"; "" for
 * none). Fields of d below 0 (and n_val when n_attr is 0) are skipped. c is
 * unchanged on failure; validate it again afterwards (cross-field rules). */
fke_status fke_config_from_data(fke_config *c, const fke_config_data *d, const char *origin,
                                char *taken, size_t taken_len, fke_err *e);
/* Fills d with -1 everywhere (n_attr 0): a start for fke_config_from_data. */
void fke_config_data_none(fke_config_data *d);
#endif
