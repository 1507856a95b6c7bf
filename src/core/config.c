/* config.c - the run configuration: one registry of keys (keys[] below) that
 * the JSON loader, `--set key=value`, fke_config_to_json, fke_config_validate
 * and the documentation (fke_config_doc, pasted into configs/README.md) all
 * walk, so none of them can forget a key.
 *
 * A key's value is parsed one way only: `--set` text is first turned into the
 * cJSON value it stands for ("0.01" -> number, "off" -> false, "8,4,3,3" ->
 * array), then goes through the same apply_item() as a value from a file.
 * Defaults and presets are written in --set syntax in the table and applied
 * through that path too.
 *
 * fke_config_load / fke_config_from_json / fke_config_set apply on top of the
 * config they are given (call fke_config_defaults first) and change nothing
 * when they fail.
 *
 * Each key has a "given" byte in the config (fke_config.given, in registry
 * order): the file, --set and from_json set it for every key they write, a
 * preset clears it for the keys it sets, and fke_config_defaults clears them
 * all. fke_config_from_data fills the label space and the input sizes of a
 * key that is not given from the training data. */
#include "core/config.h"

#include "core/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Enum fields are read and written as int through the table. */
_Static_assert(sizeof(fke_context_mode) == sizeof(int) && sizeof(fke_cnn_kind) == sizeof(int) &&
                   sizeof(fke_correction_mode) == sizeof(int) &&
                   sizeof(fke_cell_kind) == sizeof(int) && sizeof(fke_opt_kind) == sizeof(int) &&
                   sizeof(fke_task_kind) == sizeof(int) && sizeof(fke_select_kind) == sizeof(int),
               "enum fields must be int-sized");
/* The value lists below are indexed by these enums. */
_Static_assert(FKE_CTX_ALL == 0 && FKE_CTX_VISUAL == 1 && FKE_CTX_TASK == 2 && FKE_CTX_NONE == 3,
               "context values");
_Static_assert(FKE_CORR_FORWARD == 0 && FKE_CORR_NONE == 1, "correction values");
_Static_assert(FKE_CELL_LSTM == 0 && FKE_CELL_GRU == 1, "cell values");
_Static_assert(FKE_CNN_SMALL == 0 && FKE_CNN_RESNET18 == 1, "cnn values");
_Static_assert(FKE_OPT_SGD == 0 && FKE_OPT_ADAM == 1, "optimizer values");
_Static_assert(FKE_TASK_FKE == 0 && FKE_TASK_CLASSIFY == 1 && FKE_TASK_MULTILABEL == 2 &&
                   FKE_TASK_CLIP == 3,
               "task values");
_Static_assert(FKE_TOWER_CNN == 0 && FKE_TOWER_VIT == 1, "image_tower values");
_Static_assert(FKE_PREC_FP32 == 0 && FKE_PREC_BF16 == 1 && sizeof(fke_precision) == sizeof(int),
               "precision values");
_Static_assert(FKE_VIT_POOL_CLS == 0 && FKE_VIT_POOL_MEAN == 1 &&
                   sizeof(fke_vit_pool_kind) == sizeof(int), "vit_pool values");
_Static_assert(FKE_VIT_ACT_GELU == 0 && FKE_VIT_ACT_QUICK_GELU == 1 &&
                   sizeof(fke_vit_act_kind) == sizeof(int), "vit_act values");
#if defined(__x86_64__) || defined(__aarch64__)
/* Guard against a field added to fke_config and forgotten here: when this
 * fires, add the field to keys[] (and configs/README.md), then update the size. A
 * field that fits in padding leaves the size as it was (vit_act did): the
 * registry count below is the check that always moves. */
_Static_assert(sizeof(fke_config) == 3576,
               "fke_config changed: add the new field to keys[] in config.c");
#endif

/* ---- the registry ------------------------------------------------------ */

typedef enum {
    KT_INT,   /* int */
    KT_U64,   /* uint64_t (JSON number, integral, at most 2^53) */
    KT_REAL,  /* double, finite */
    KT_BOOL,  /* int 0/1; JSON true/false, --set on/off/true/false/1/0 */
    KT_ENUM,  /* int index into values[]; a string in JSON */
    KT_STR,   /* char[size]; values[] (if any) restricts it */
    KT_INTS,  /* int[size]; length fixed (count_off == NO_COUNT) or stored at count_off */
    KT_PRESET,/* char[size] naming a preset; applying it applies the preset first */
    KT_NOTE   /* accepted (a string), never stored or written */
} key_type;

#define NO_COUNT ((size_t)-1)
#define N_PRESETS 2
static const char *const preset_names[N_PRESETS + 1] = {"fke-small", "fke-paper", NULL};

typedef struct {
    const char *name;
    key_type type;
    size_t off;        /* offsetof(fke_config, field) */
    size_t size;       /* KT_STR/KT_PRESET: buffer bytes; KT_INTS: most elements */
    size_t count_off;  /* KT_INTS: where the length goes, or NO_COUNT (length == size) */
    int minlen;        /* KT_INTS: fewest elements; KT_STR: shortest string */
    double lo, hi;     /* range of the value (each element for KT_INTS) */
    int lo_open, hi_open;
    const char *const *values;         /* KT_ENUM, KT_PRESET: NULL-terminated */
    const char *dflt;                  /* default in --set syntax; NULL: set by the preset */
    const char *preset[N_PRESETS];     /* per-preset value (preset keys only) */
    const char *also;                  /* other spellings, for "did you mean" only */
    const char *doc;
} key_def;

static const char *const v_context[] = {"all", "visual", "task", "none", NULL};
static const char *const v_correction[] = {"forward", "none", NULL};
static const char *const v_cell[] = {"lstm", "gru", NULL};
static const char *const v_precision[] = {"fp32", "bf16", NULL};
static const char *const v_cnn[] = {"small", "resnet18", NULL};
static const char *const v_optimizer[] = {"sgd", "adam", NULL};
static const char *const v_task[] = {"fke", "classify", "multilabel", "clip", NULL};
static const char *const v_select[] = {"mean_acc", "mean_f1", "occ_acc", "cat_acc", "att_acc", NULL};
static const char *const v_tower[] = {"cnn", "vit", NULL};
static const char *const v_vit_pool[] = {"cls", "mean", NULL};
static const char *const v_vit_act[] = {"gelu", "quick_gelu", NULL};

#define OFF(f) offsetof(fke_config, f)
#define BIG 1e300
#define I32 2147483647.0
/* sizes: int keys the preset sets */
#define P_INT(nm, f, l, h, small, paper, al, d)                                                  \
    {.name = nm, .type = KT_INT, .off = OFF(f), .lo = l, .hi = h, .preset = {small, paper},      \
     .also = al, .doc = d}
#define INT(nm, f, l, h, df, al, d)                                                              \
    {.name = nm, .type = KT_INT, .off = OFF(f), .lo = l, .hi = h, .dflt = df, .also = al, .doc = d}
#define REAL(nm, f, l, lopen, h, hopen, df, al, d)                                               \
    {.name = nm, .type = KT_REAL, .off = OFF(f), .lo = l, .hi = h, .lo_open = lopen,             \
     .hi_open = hopen, .dflt = df, .also = al, .doc = d}
#define ENUM(nm, f, vals, df, al, d)                                                             \
    {.name = nm, .type = KT_ENUM, .off = OFF(f), .values = vals, .dflt = df, .also = al, .doc = d}
#define STR(nm, f, minl, df, al, d)                                                              \
    {.name = nm, .type = KT_STR, .off = OFF(f), .size = sizeof(((fke_config *)0)->f),           \
     .minlen = minl, .dflt = df, .also = al, .doc = d}

static const key_def keys[] = {
    {.name = "preset", .type = KT_PRESET, .off = OFF(preset), .size = sizeof(((fke_config *)0)->preset),
     .values = preset_names, .dflt = "fke-small", .also = "model,size",
     .doc = "Size preset of docs/model.md, applied before every other key of a file (a later "
            "--set preset=... resets the sizes)."},
    {.name = "comment", .type = KT_NOTE, .also = "comments,note,notes,description,_comment",
     .doc = "Free text (JSON has no comments): accepted and ignored, never written back."},
    /* model sizes: set by the preset, single keys override */
    {.name = "cnn", .type = KT_ENUM, .off = OFF(cnn), .values = v_cnn,
     .preset = {"small", "resnet18"}, .also = "backbone,trunk",
     .doc = "Image CNN: 3 x [conv3x3, BN, ReLU, maxpool2] + global average pool, or a ResNet-18 "
            "trunk."},
    P_INT("img", img, 8, 4096, "64", "224", "image_size,img_size",
          "Whole-image side in pixels (task classify: the padded input side). Unset: the "
          "training data's."),
    P_INT("crop", crop, 8, 4096, "32", "224", "crop_size",
          "Garment-crop side in pixels (task fke). Unset: the training data's."),
    P_INT("G", G, 1, 64, "5", "5", "max_garments,garments",
          "Most garment regions per post. Unset: the training data's."),
    {.name = "chans", .type = KT_INTS, .off = OFF(chans), .size = 3, .count_off = NO_COUNT,
     .minlen = 3, .lo = 1, .hi = 4096, .preset = {"32,64,128", "64,128,256"},
     .also = "channels", .doc = "Channels of the three blocks of the small CNN (the last "
                                "equals F); for resnet18 chans[0] is the base width (64 in "
                                "torchvision; F = 8 x width)."},
    P_INT("F", F, 1, 65536, "128", "512", "feat,feature_dim", "Image feature size."),
    P_INT("H", H, 1, 65536, "128", "512", "hidden", "Bi-LSTM-1 hidden size per direction."),
    P_INT("H2", H2, 1, 65536, "128", "512", "hidden2",
          "Bi-LSTM-2 (attribute) hidden size per direction."),
    P_INT("M", M, 1, 65536, "128", "512", "mid", "Mid layer of the heads."),
    P_INT("V", V, 2, 1e7, "2000", "7383", "vocab,vocab_size", "Caption vocabulary size. Unset: the training data's; set: at least the data's."),
    P_INT("D", D, 1, 65536, "64", "300", "embed,embedding_dim", "Word-embedding size."),
    P_INT("L", L, 5, 4096, "16", "16", "max_len,caption_len",
          "Caption tokens (padded/truncated); at least 5, the widest text filter. Unset: the "
          "training data's."),
    P_INT("Co", Co, 1, 65536, "32", "32", "filters", "TextCNN filters per width (2, 3, 4, 5)."),
    P_INT("T", T, 1, 65536, "128", "512", "text_dim", "Text feature size."),
    P_INT("n_occ", n_occ, 1, 100000, "10", "10", "occasions",
          "Occasion classes (1 for data without occasions, e.g. DeepFashion2: the head then learns nothing). Unset: the training data's."),
    P_INT("n_cat", n_cat, 2, 100000, "10", "10", "categories,n_cls,n_classes,classes",
          "Garment categories; for task classify, the number of classes. Unset: the training "
          "data's."),
    {.name = "n_val", .type = KT_INTS, .off = OFF(n_val), .size = FKE_MAX_ATTR,
     .count_off = OFF(n_attr), .minlen = 1, .lo = 2, .hi = 100000,
     .preset = {"8,4,3,3", "8,4,3,3"}, .also = "n_attr,attributes",
     .doc = "Values per attribute; its length (1 to 8) is the number of attributes n_attr. "
            "Unset: the training data's."},
    P_INT("batch", batch, 1, 1 << 20, "20", "20", "batch_size,bs",
          "Batch size B (task fke: even, B/2 clean + B/2 machine-labelled posts)."),
    /* ablations */
    ENUM("context", context, v_context, "all", "ctx",
         "Context modelling: Bi-LSTM-1 and -2 (all), only 1 (visual), only 2 (task), neither."),
    {.name = "text", .type = KT_BOOL, .off = OFF(text), .dflt = "on", .also = "use_text,textcnn",
     .doc = "TextCNN feeds the occasion head (--set text=on or text=off). Unset, and the "
            "training data has neither a caption nor an occasion label: off."},
    {.name = "word_vectors", .type = KT_BOOL, .off = OFF(word_vectors), .dflt = "on",
     .also = "word_embeds,pretrained_embedding",
     .doc = "The training data's word vectors (FashionKE's word_embeds.npy) start the word "
            "embedding, and D defaults to their width; off: D and the start are the preset's."},
    ENUM("correction", correction, v_correction, "forward", "noise_correction,transition",
         "Machine labels: forward-corrected CE through T, or plain CE. Task classify: "
         "forward applies (to every image) only when t_init gives T."),
    ENUM("cell", cell, v_cell, "lstm", "rnn,rnn_cell", "Recurrent cell."),
    REAL("dropout_text", dropout_text, 0, 0, 1, 1, "0.4", "text_dropout",
         "Dropout after the TextCNN max-pool."),
    REAL("dropout_head", dropout_head, 0, 0, 1, 1, "0.5", "dropout,head_dropout",
         "Dropout in the occasion, category and attribute heads."),
    ENUM("task", task, v_task, "fke", "mode",
         "fke: the FashionKE model on posts; classify: the CNN trunk + linear on images "
         "(e.g. Fashion-MNIST); multilabel: the CNN trunk on each garment crop feeding a "
         "category softmax and an n_ml-way sigmoid attribute head (DeepFashion); clip: a "
         "contrastive image-caption dual encoder on posts (docs/clip.md)."),
    ENUM("image_tower", image_tower, v_tower, "cnn", "visual,image_encoder",
         "Task clip: the image tower, the CNN trunk of key cnn or a ViT (keys vit_*)."),
    INT("vit_patch", vit_patch, 1, 1024, "8", "patch,patch_size",
        "Task clip, image_tower vit: patch side in pixels (img must be a multiple)."),
    INT("vit_width", vit_width, 1, 65536, "64", "width", "ViT token width (a multiple of vit_heads)."),
    INT("vit_depth", vit_depth, 1, 24, "2", "depth,layers", "ViT transformer blocks."),
    INT("vit_heads", vit_heads, 1, 1024, "4", "heads", "ViT attention heads."),
    ENUM("vit_pool", vit_pool, v_vit_pool, "cls", "pool,pooling",
         "What the ViT's output reads: cls, the class token after ln_post (CLIP's, for its "
         "weights); mean, the mean of the patch tokens after ln_post, which trains from "
         "scratch here where the class token does not (docs/clip.md)."),
    ENUM("vit_act", vit_act, v_vit_act, "gelu", "activation,act,quickgelu",
         "The ViT blocks' MLP activation: gelu, the exact erf form; quick_gelu, "
         "x * sigmoid(1.702 x), what OpenAI's released CLIP weights were trained with, so "
         "that converted ViT-B/32 weights give CLIP's own features (docs/clip.md)."),
    INT("embed_dim", embed_dim, 1, 65536, "64", "embed,joint_dim",
        "Task clip: width of the joint image-text embedding."),
    INT("img_bn", img_bn, 0, 1, "0", "image_bn",
        "Task clip: 1 batch-normalises the image embedding (BatchNorm1d over the batch, running "
        "statistics for evaluation) before its L2 norm, so that what every picture shares is "
        "taken out; a ViT from scratch learns here with it and not without (docs/clip.md)."),
    INT("clip_crops", clip_crops, 0, 1, "0", "crops,mil",
        "Task clip, image_tower cnn: 1 embeds each post's garment crops too (the CNN at the "
        "crop side, its own batch-norm statistics) and scores a post against a text by the "
        "highest cosine of its whole image and its crops, so that a caption's garment words "
        "train the crop that shows them (docs/clip.md)."),
    INT("in_ch", in_ch, 1, 64, "3", "channels_in,in_channels",
        "Image channels (3 for posts; 1 for Fashion-MNIST with task classify). Unset: the "
        "training data's."),
    INT("pad", pad, 0, 1024, "0", "padding",
        "Task classify: zeros added on each image side (28 -> 32 is 2); 0 for task fke."),
    INT("n_ml", n_ml, 0, 1000000, "0", "n_multilabel,n_binary_attributes",
        "Task multilabel: binary attributes of the sigmoid head (1000 for DeepFashion). Unset: "
        "the training data's."),
    REAL("pos_weight", pos_weight, 0, 0, BIG, 0, "0", "pos_weight_max",
         "Task multilabel: 0 weighs every known attribute label alike; c > 0 weighs the "
         "positives of attribute k by min(c, negatives_k / positives_k) of the training set "
         "(at least 1), because positives are rare."),
    /* data */
    STR("train_data", train_data, 0, "", "train,train_path,data",
        "Training set (HDF5); \"\" when the command needs none."),
    STR("val_data", val_data, 0, "", "val,valid_data,val_path",
        "Validation set (HDF5); \"\" for none."),
    STR("test_data", test_data, 0, "", "test,test_path", "Test set (HDF5); \"\" for none."),
    REAL("val_split", val_split, 0, 0, 0.9, 0, "0.1", "holdout,val_fraction,validation_split",
         "Without val_data: this fraction of the training set's clean posts (all posts when "
         "every post is clean or every one machine-labelled; all images for task classify) is "
         "held out for validation, drawn with a fixed seed (the same posts for every run "
         "seed), at least 1 and never the whole pool; 0 holds nothing out (best.h5 is then "
         "the last evaluated model)."),
    /* optimisation */
    ENUM("optimizer", optimizer, v_optimizer, "sgd", "optim,opt,optimiser", "Optimiser."),
    INT("epochs", epochs, 0, 1e6, "12", "n_epochs,num_epochs,epoch",
        "Passes over the training set (ignored when steps > 0)."),
    INT("steps", steps, 0, I32, "0", "max_steps,n_steps,iters", "Training steps; 0 = use epochs."),
    REAL("lr", lr, 0, 1, BIG, 0, "0.01", "learning_rate,lr0,base_lr", "Learning rate."),
    REAL("momentum", momentum, 0, 0, 1, 1, "0.9", "mom", "SGD momentum."),
    REAL("weight_decay", weight_decay, 0, 0, BIG, 0, "1e-05", "wd,decay",
         "L2 weight decay (added to the gradient)."),
    REAL("beta", beta, 0, 0, BIG, 0, "0.5", "noisy_weight",
         "Weight of the corrected machine-label loss."),
    REAL("lr_cnn_mult", lr_cnn_mult, 0, 0, BIG, 0, "0.5", "cnn_lr_mult",
         "Learning-rate multiplier of the CNN."),
    REAL("lr_theta_mult", lr_theta_mult, 0, 0, BIG, 0, "0.001", "theta_lr_mult",
         "Learning-rate multiplier of the transition parameters Theta."),
    INT("lr_step_epochs", lr_step_epochs, 0, 1e6, "4", "step_size,lr_step",
        "Multiply the learning rate by lr_gamma every this many epochs; 0 = constant."),
    REAL("lr_gamma", lr_gamma, 0, 1, 1, 0, "0.1", "gamma", "Step-decay factor."),
    REAL("adam_b1", adam_b1, 0, 0, 1, 1, "0.9", "beta1", "Adam beta1."),
    REAL("adam_b2", adam_b2, 0, 0, 1, 1, "0.999", "beta2", "Adam beta2."),
    REAL("adam_eps", adam_eps, 0, 1, 1, 0, "1e-08", "eps", "Adam epsilon."),
    REAL("theta_eps", theta_eps, 0, 1, 1, 0, "1e-06", "epsilon",
         "Theta = log(T_est + theta_eps)."),
    STR("t_init", t_init, 0, "", "transition_init,T_init",
        "\"\": estimate T from the training data; else a matrix file (fke noise estimate's "
        "JSON; task classify: one n_cat x n_cat matrix, and without one the labels are "
        "taken as clean)."),
    STR("init_from", init_from, 0, "", "init,pretrained,weights",
        "\"\": PyTorch's default initialisation; else an fke checkpoint whose tensors replace "
        "the initial ones by name (e.g. ImageNet ResNet-18 weights converted by "
        "tools/torch_to_fke.py); tensors it lacks keep their initial values."),
    /* run */
    {.name = "seed", .type = KT_U64, .off = OFF(seed), .lo = 0, .hi = 9007199254740992.0,
     .dflt = "1", .also = "random_seed", .doc = "Random seed (weights, batches, dropout)."},
    INT("threads", threads, 0, 4096, "0", "num_threads,n_threads,nthreads",
        "Threads; 0 = all cores."),
    ENUM("precision", precision, v_precision, "fp32", "dtype,amp",
         "Operands of the CNN's convolutions: fp32, or bf16 (rounded to bfloat16, float sums, "
         "through AVX512-BF16; weights, gradients, optimiser state and losses stay fp32). bf16 "
         "is refused on a CPU without avx512_bf16, and with image_tower vit."),
    INT("eval_every", eval_every, 0, I32, "0", "val_every,eval_interval",
        "Steps between validations; 0 = once per epoch."),
    ENUM("select", select, v_select, "mean_acc", "criterion,best_by,metric,monitor",
         "The validation score that picks best.h5: mean_acc (occasion, category and "
         "attribute accuracy, averaged; task classify: accuracy), mean_f1 (the same with "
         "macro-F1), occ_acc, cat_acc or att_acc (one task; task classify takes only "
         "mean_acc, mean_f1 and cat_acc)."),
    INT("test_every", test_every, 0, I32, "0", "test_interval",
        "Steps between evaluations on test_data; 0 = once, at the end, on best.h5 (the test "
        "set never sees a choice made during training)."),
    INT("bn_recalibrate", bn_recalibrate, 0, 1000000, "50", "precise_bn,bn_recal",
        "Before each evaluation and checkpoint, re-estimate the batch-norm running statistics "
        "with this many forward passes over training batches at the current weights (no "
        "dropout, no weight change; 0 = keep PyTorch's running averages)."),
    {.name = "sync_bn", .type = KT_BOOL, .off = OFF(sync_bn), .dflt = "off",
     .also = "syncbn,sync_batchnorm",
     .doc = "Data-parallel training (mpirun -np N fke train): batch norm's batch mean and "
            "variance in training are those of the global batch (sums over every process, "
            "forward and backward), so N processes train as one; off: each process's own "
            "shard, as PyTorch's DistributedDataParallel (the running statistics are then "
            "averaged over the processes after every step). No effect in one process."},
    {.name = "dist_check", .type = KT_BOOL, .off = OFF(dist_check), .dflt = "off",
     .also = "check_ranks",
     .doc = "Data-parallel training: after every step each process checksums its parameters "
            "and optimiser state and the run stops with an error unless every process holds "
            "the same bits (a debugging and test aid: one small allreduce per step)."},
    INT("log_every", log_every, 1, I32, "10", "print_every,log_interval",
        "Steps between training-log lines."),
    STR("out_dir", out_dir, 1, "runs/default", "output,output_dir,run_dir,outdir",
        "Run folder (checkpoints, logs, metrics)."),
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] == 74, "registry count: update README and tests");
_Static_assert(sizeof keys / sizeof keys[0] <= FKE_CONFIG_MAX_KEYS,
               "fke_config.given has a byte per key: raise FKE_CONFIG_MAX_KEYS");

/* ---- small helpers ------------------------------------------------------ */

static const key_def *find_key(const char *name)
{
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

/* The key nearest to an unknown name (by its name or another spelling), or NULL. */
static const char *suggest(const char *name)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (int i = 0; i < N_KEYS; i++) {
        size_t dd = edit_distance(name, keys[i].name);
        if (dd < bestd) bestd = dd, best = keys[i].name;
        const char *p = keys[i].also;
        while (p && *p) {
            char alt[64];
            size_t n = strcspn(p, ",");
            if (n < sizeof alt) {
                memcpy(alt, p, n);
                alt[n] = 0;
                dd = edit_distance(name, alt);
                if (dd < bestd) bestd = dd, best = keys[i].name;
            }
            p += n + (p[n] == ',');
        }
    }
    size_t len = strlen(name), limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    return bestd <= limit ? best : NULL;
}

static fke_status unknown_key(fke_err *e, const char *origin, const char *name)
{
    const char *s = suggest(name);
    if (s)
        return fke_fail(e, FKE_ERR_CONFIG, "%s: unknown key \"%s\" (did you mean \"%s\"?)", origin,
                        name, s);
    return fke_fail(e, FKE_ERR_CONFIG, "%s: unknown key \"%s\" (configs/README.md lists the keys)",
                    origin, name);
}

/* "an integer >= 1", "a number in [0, 1)" ... */
static void describe(const key_def *k, char *buf, size_t n)
{
    char lo[32], hi[32];
    int integral = k->type == KT_INT || k->type == KT_U64 || k->type == KT_INTS;
    const char *what = integral ? "an integer" : "a number";
    fke_format_real(k->lo, lo, sizeof lo);
    fke_format_real(k->hi, hi, sizeof hi);
    if (k->hi >= BIG)
        snprintf(buf, n, "%s %s %s", what, k->lo_open ? ">" : ">=", lo);
    else
        snprintf(buf, n, "%s in %c%s, %s%c", what, k->lo_open ? '(' : '[', lo, hi,
                 k->hi_open ? ')' : ']');
}

static int in_range(const key_def *k, double v)
{
    if (!isfinite(v)) return 0;
    if (k->lo_open ? !(v > k->lo) : !(v >= k->lo)) return 0;
    if (k->hi < BIG && (k->hi_open ? !(v < k->hi) : !(v <= k->hi))) return 0;
    return 1;
}

static const char *json_type(const cJSON *it)
{
    if (cJSON_IsString(it)) return "string";
    if (cJSON_IsNumber(it)) return "number";
    if (cJSON_IsBool(it)) return "boolean";
    if (cJSON_IsArray(it)) return "array";
    if (cJSON_IsObject(it)) return "object";
    if (cJSON_IsNull(it)) return "null";
    return "invalid value";
}

/* "got string \"abc\"", "got number 1.5", "got object" */
static void describe_got(const cJSON *it, char *buf, size_t n)
{
    if (cJSON_IsString(it))
        snprintf(buf, n, "string \"%.100s\"", it->valuestring);
    else if (cJSON_IsNumber(it)) {
        char v[32];
        fke_format_real(it->valuedouble, v, sizeof v);
        snprintf(buf, n, "number %s", v);
    } else
        snprintf(buf, n, "%s", json_type(it));
}

static void list_values(const char *const *vals, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; vals[i]; i++) {
        int w = snprintf(buf + used, n - used, "%s\"%s\"", i ? ", " : "", vals[i]);
        if (w < 0 || (size_t)w >= n - used) break;
        used += (size_t)w;
    }
}

static int find_value(const char *const *vals, const char *s)
{
    for (int i = 0; vals[i]; i++)
        if (strcmp(vals[i], s) == 0) return i;
    return -1;
}

/* An integral number in the key's range, into *out. */
static fke_status get_integral(const key_def *k, const cJSON *it, const char *origin,
                               const char *path, double *out, fke_err *e)
{
    char want[96], got[160];
    describe(k, want, sizeof want);
    if (!cJSON_IsNumber(it)) {
        describe_got(it, got, sizeof got);
        return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected an integer, got %s", origin,
                        path, got);
    }
    double v = it->valuedouble;
    if (!isfinite(v) || v != floor(v) || !in_range(k, v)) {
        fke_format_real(v, got, sizeof got);
        return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected %s, got %s", origin, path,
                        want, got);
    }
    *out = v;
    return FKE_OK;
}

/* ---- applying one value ------------------------------------------------- */

static fke_status apply_item(fke_config *c, const key_def *k, const cJSON *it, const char *origin,
                             fke_err *e)
{
    char *base = (char *)c + k->off;
    char want[96], got[160];
    double v;
    switch (k->type) {
    case KT_INT:
        FKE_TRY(get_integral(k, it, origin, k->name, &v, e));
        *(int *)base = (int)v;
        return FKE_OK;
    case KT_U64:
        FKE_TRY(get_integral(k, it, origin, k->name, &v, e));
        *(uint64_t *)base = (uint64_t)v;
        return FKE_OK;
    case KT_REAL:
        describe(k, want, sizeof want);
        if (!cJSON_IsNumber(it)) {
            describe_got(it, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected a number, got %s", origin,
                            k->name, got);
        }
        if (!in_range(k, it->valuedouble)) {
            fke_format_real(it->valuedouble, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected %s, got %s", origin,
                            k->name, want, got);
        }
        *(double *)base = it->valuedouble;
        return FKE_OK;
    case KT_BOOL:
        if (!cJSON_IsBool(it)) {
            describe_got(it, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG,
                            "%s: key \"%s\": expected a boolean (true or false; on or off in "
                            "--set), got %s",
                            origin, k->name, got);
        }
        *(int *)base = cJSON_IsTrue(it) ? 1 : 0;
        return FKE_OK;
    case KT_ENUM:
    case KT_PRESET: {
        char allowed[256];
        list_values(k->values, allowed, sizeof allowed);
        if (!cJSON_IsString(it)) {
            describe_got(it, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected one of %s, got %s",
                            origin, k->name, allowed, got);
        }
        int i = find_value(k->values, it->valuestring);
        if (i < 0)
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected one of %s, got \"%.100s\"",
                            origin, k->name, allowed, it->valuestring);
        if (k->type == KT_PRESET) return fke_config_preset(c, k->values[i], e);
        *(int *)base = i;
        return FKE_OK;
    }
    case KT_STR: {
        if (!cJSON_IsString(it)) {
            describe_got(it, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected a string, got %s", origin,
                            k->name, got);
        }
        size_t len = strlen(it->valuestring);
        if (len >= k->size)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "%s: key \"%s\": string of %zu characters is too long (at most %zu)",
                            origin, k->name, len, k->size - 1);
        if (len < (size_t)k->minlen)
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected a non-empty string",
                            origin, k->name);
        memset(base, 0, k->size);
        memcpy(base, it->valuestring, len);
        return FKE_OK;
    }
    case KT_INTS: {
        int n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
        char shape[64];
        if (k->count_off == NO_COUNT)
            snprintf(shape, sizeof shape, "an array of %zu integers", k->size);
        else
            snprintf(shape, sizeof shape, "an array of %d to %zu integers", k->minlen, k->size);
        if (n < 0) {
            describe_got(it, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected %s, got %s", origin,
                            k->name, shape, got);
        }
        if (n < k->minlen || (size_t)n > k->size)
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected %s, got %d of them",
                            origin, k->name, shape, n);
        int vals[64] = {0};
        for (int i = 0; i < n; i++) {
            char path[80];
            snprintf(path, sizeof path, "%s[%d]", k->name, i);
            FKE_TRY(get_integral(k, cJSON_GetArrayItem(it, i), origin, path, &v, e));
            vals[i] = (int)v;
        }
        memcpy(base, vals, k->size * sizeof(int)); /* unused tail zeroed */
        if (k->count_off != NO_COUNT) *(int *)((char *)c + k->count_off) = n;
        return FKE_OK;
    }
    case KT_NOTE:
        if (!cJSON_IsString(it)) {
            describe_got(it, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": expected a string, got %s", origin,
                            k->name, got);
        }
        return FKE_OK;
    }
    return fke_fail(e, FKE_ERR_ARG, "config: internal: key \"%s\" has no type", k->name);
}

static int parse_number(const char *s, double *out)
{
    char *end;
    if (!*s) return 0;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (*end || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

/* --set text -> the JSON value it stands for (cJSON_Delete it). */
static cJSON *text_value(const key_def *k, const char *s)
{
    double v;
    switch (k->type) {
    case KT_INT:
    case KT_U64:
    case KT_REAL:
        return parse_number(s, &v) ? cJSON_CreateNumber(v) : cJSON_CreateString(s);
    case KT_BOOL:
        if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
            return cJSON_CreateTrue();
        if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
            return cJSON_CreateFalse();
        return cJSON_CreateString(s);
    case KT_INTS: {
        cJSON *a = cJSON_CreateArray();
        char buf[512];
        size_t n = strlen(s);
        if (n && s[0] == '[' && s[n - 1] == ']') s++, n -= 2;
        if (n >= sizeof buf) n = sizeof buf - 1;
        memcpy(buf, s, n);
        buf[n] = 0;
        char *p = buf;
        while (a && *p) {
            char *comma = strchr(p, ',');
            if (comma) *comma = 0;
            while (*p == ' ') p++;
            cJSON_AddItemToArray(a, parse_number(p, &v) ? cJSON_CreateNumber(v)
                                                        : cJSON_CreateString(p));
            if (!comma) break;
            p = comma + 1;
            if (!*p) cJSON_AddItemToArray(a, cJSON_CreateString("")); /* trailing comma */
        }
        return a;
    }
    case KT_ENUM:
    case KT_STR:
    case KT_PRESET:
    case KT_NOTE: return cJSON_CreateString(s);
    }
    return cJSON_CreateString(s); /* no such type: apply_item says so */
}

static fke_status apply_text(fke_config *c, const key_def *k, const char *s, const char *origin,
                             fke_err *e)
{
    cJSON *it = text_value(k, s);
    if (!it) return fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", origin);
    fke_status st = apply_item(c, k, it, origin, e);
    cJSON_Delete(it);
    return st;
}

/* ---- public API --------------------------------------------------------- */

fke_status fke_config_preset(fke_config *c, const char *name, fke_err *e)
{
    int p = name ? find_value(preset_names, name) : -1;
    if (p < 0) {
        char allowed[128];
        list_values(preset_names, allowed, sizeof allowed);
        return fke_fail(e, FKE_ERR_CONFIG, "config: key \"preset\": expected one of %s, got \"%s\"",
                        allowed, name ? name : "(null)");
    }
    fke_config tmp = *c;
    for (int i = 0; i < N_KEYS; i++)
        if (keys[i].preset[p]) {
            FKE_TRY(apply_text(&tmp, &keys[i], keys[i].preset[p], "preset", e));
            tmp.given[i] = 0; /* a preset's value is a default */
        }
    memset(tmp.preset, 0, sizeof tmp.preset);
    strcpy(tmp.preset, preset_names[p]);
    *c = tmp;
    return FKE_OK;
}

void fke_config_defaults(fke_config *c)
{
    memset(c, 0, sizeof *c);
    fke_status st = fke_config_preset(c, "fke-small", NULL);
    for (int i = 0; st == FKE_OK && i < N_KEYS; i++)
        if (keys[i].dflt && keys[i].type != KT_PRESET)
            st = apply_text(c, &keys[i], keys[i].dflt, "defaults", NULL);
    (void)st; /* the table's own defaults; tests/test_config.c checks they apply */
}

/* The top-level object of a config file, on top of *c; *c unchanged on error. */
static fke_status apply_object(fke_config *c, const cJSON *root, const char *origin, fke_err *e)
{
    if (!cJSON_IsObject(root))
        return fke_fail(e, FKE_ERR_CONFIG, "%s: expected a JSON object of keys, got %s", origin,
                        json_type(root));
    fke_config tmp = *c;
    const cJSON *preset = NULL;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!it->string) return fke_fail(e, FKE_ERR_CONFIG, "%s: a member without a name", origin);
        for (const cJSON *o = root->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0)
                return fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\" appears twice", origin,
                                it->string);
        const key_def *k = find_key(it->string);
        if (!k) return unknown_key(e, origin, it->string);
        if (k->type == KT_PRESET) preset = it;
    }
    if (preset) {
        const key_def *k = find_key("preset");
        FKE_TRY(apply_item(&tmp, k, preset, origin, e));
        tmp.given[k - keys] = 1;
    }
    for (const cJSON *it = root->child; it; it = it->next) {
        if (it == preset) continue;
        const key_def *k = find_key(it->string);
        FKE_TRY(apply_item(&tmp, k, it, origin, e));
        if (k->type != KT_NOTE) tmp.given[k - keys] = 1;
    }
    *c = tmp;
    return FKE_OK;
}

fke_status fke_config_from_json(fke_config *c, const char *json, const char *origin, fke_err *e)
{
    if (!origin) origin = "config";
    if (!json) return fke_fail(e, FKE_ERR_ARG, "%s: no JSON text", origin);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = 1, col = 1;
        for (const char *p = json; at && p < at && *p; p++) {
            if (*p == '\n') line++, col = 1;
            else col++;
        }
        char near[24] = "";
        if (at && *at) {
            size_t n = strcspn(at, "\n");
            if (n > 20) n = 20;
            memcpy(near, at, n);
            near[n] = 0;
        }
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not valid JSON at line %d, column %d%s%s%s",
                        origin, line, col, *near ? " (near \"" : (at && !*at ? " (unexpected end)" : ""),
                        near, *near ? "\")" : "");
    }
    fke_status st = apply_object(c, root, origin, e);
    cJSON_Delete(root);
    return st;
}

fke_status fke_config_load(fke_config *c, const char *path, fke_err *e)
{
    if (!path) return fke_fail(e, FKE_ERR_ARG, "config: no file name");
    char *buf;
    size_t len;
    FKE_TRY(fke_read_file(path, 16u << 20, &buf, &len, e));
    if (strlen(buf) != len) {
        free(buf);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: config contains a NUL byte", path);
    }
    fke_config tmp = *c;
    fke_status st = fke_config_from_json(&tmp, buf, path, e);
    /* the paths the file gives are its folder's (configs/README.md) */
    static const char *const paths[] = {"train_data", "val_data", "test_data", "t_init",
                                        "init_from", "out_dir"};
    cJSON *root = st == FKE_OK ? cJSON_Parse(buf) : NULL;
    for (size_t i = 0; root && st == FKE_OK && i < sizeof paths / sizeof paths[0]; i++) {
        const key_def *k = find_key(paths[i]);
        if (!cJSON_GetObjectItemCaseSensitive(root, paths[i])) continue;
        char *field = (char *)&tmp + k->off, out[FKE_PATHLEN];
        st = fke_path_beside(path, field, out, sizeof out, e);
        if (st == FKE_OK && strlen(out) >= k->size)
            st = fke_fail(e, FKE_ERR_CONFIG, "%s: key \"%s\": \"%.200s\" beside the config is "
                          "longer than %zu bytes", path, paths[i], out, k->size - 1);
        if (st == FKE_OK) snprintf(field, k->size, "%s", out);
    }
    cJSON_Delete(root);
    free(buf);
    if (st == FKE_OK) *c = tmp;
    return st;
}

fke_status fke_config_set(fke_config *c, const char *assignment, fke_err *e)
{
    if (!assignment) return fke_fail(e, FKE_ERR_ARG, "--set: no assignment");
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return fke_fail(e, FKE_ERR_CONFIG, "--set \"%.200s\": expected key=value", assignment);
    char name[64];
    const char *a = assignment, *b = eq;
    while (a < b && (*a == ' ' || *a == '\t')) a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
    if ((size_t)(b - a) >= sizeof name)
        return fke_fail(e, FKE_ERR_CONFIG, "--set: unknown key \"%.*s\"", (int)(b - a), a);
    memcpy(name, a, (size_t)(b - a));
    name[b - a] = 0;
    if (!name[0])
        return fke_fail(e, FKE_ERR_CONFIG, "--set \"%.200s\": expected key=value", assignment);
    const key_def *k = find_key(name);
    if (!k) return unknown_key(e, "--set", name);
    const char *val = eq + 1;
    while (*val == ' ' || *val == '\t') val++;
    fke_config tmp = *c;
    FKE_TRY(apply_text(&tmp, k, val, "--set", e));
    if (k->type != KT_NOTE) tmp.given[k - keys] = 1;
    *c = tmp;
    return FKE_OK;
}

/* The value of key k in c as a cJSON item (NULL for KT_NOTE). */
static cJSON *key_json(const fke_config *c, const key_def *k)
{
    const char *base = (const char *)c + k->off;
    char num[40];
    switch (k->type) {
    /* Numbers are printed here, not by cJSON: its printer keeps 15 digits when
     * they are "close enough", which would break the exact round trip. */
    case KT_INT: snprintf(num, sizeof num, "%d", *(const int *)base); return cJSON_CreateRaw(num);
    case KT_U64:
        snprintf(num, sizeof num, "%llu", (unsigned long long)*(const uint64_t *)base);
        return cJSON_CreateRaw(num);
    case KT_REAL:
        if (!isfinite(*(const double *)base)) return cJSON_CreateNull();
        fke_format_real(*(const double *)base, num, sizeof num);
        return cJSON_CreateRaw(num);
    case KT_BOOL: return cJSON_CreateBool(*(const int *)base != 0);
    case KT_ENUM: {
        int v = *(const int *)base, n = 0;
        while (k->values[n]) n++;
        return cJSON_CreateString(v >= 0 && v < n ? k->values[v] : "?");
    }
    case KT_STR:
    case KT_PRESET: {
        char buf[1024];
        size_t n = strnlen(base, k->size);
        if (n >= sizeof buf) n = sizeof buf - 1;
        memcpy(buf, base, n);
        buf[n] = 0;
        return cJSON_CreateString(buf);
    }
    case KT_INTS: {
        int n = k->count_off == NO_COUNT ? (int)k->size : *(const int *)((const char *)c + k->count_off);
        if (n < 0) n = 0;
        if ((size_t)n > k->size) n = (int)k->size;
        return cJSON_CreateIntArray((const int *)base, n);
    }
    case KT_NOTE: return NULL;
    }
    return NULL;
}

char *fke_config_to_json(const fke_config *c)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    for (int i = 0; i < N_KEYS; i++) {
        if (keys[i].type == KT_NOTE) continue;
        cJSON *v = key_json(c, &keys[i]);
        if (!v) {
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddItemToObject(root, keys[i].name, v);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/* Checks one key's stored value against its own range/values. */
static fke_status check_key(const fke_config *c, const key_def *k, fke_err *e)
{
    const char *base = (const char *)c + k->off;
    char want[96], got[64];
    describe(k, want, sizeof want);
    switch (k->type) {
    case KT_INT:
    case KT_U64:
    case KT_REAL: {
        double v = k->type == KT_INT   ? *(const int *)base
                   : k->type == KT_U64 ? (double)*(const uint64_t *)base
                                       : *(const double *)base;
        if (!in_range(k, v)) {
            fke_format_real(v, got, sizeof got);
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s\": expected %s, got %s", k->name,
                            want, got);
        }
        return FKE_OK;
    }
    case KT_BOOL:
        if (*(const int *)base != 0 && *(const int *)base != 1)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s\": expected 0 or 1, got %d",
                            k->name, *(const int *)base);
        return FKE_OK;
    case KT_ENUM: {
        int v = *(const int *)base, n = 0;
        while (k->values[n]) n++;
        if (v < 0 || v >= n)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s\": value %d is not a known choice",
                            k->name, v);
        return FKE_OK;
    }
    case KT_STR:
    case KT_PRESET: {
        size_t n = strnlen(base, k->size);
        if (n == k->size)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s\": string not terminated",
                            k->name);
        if (n < (size_t)k->minlen)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s\": expected a non-empty string",
                            k->name);
        if (k->type == KT_PRESET && find_value(k->values, base) < 0) {
            char allowed[128];
            list_values(k->values, allowed, sizeof allowed);
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s\": expected one of %s, got \"%s\"",
                            k->name, allowed, base);
        }
        return FKE_OK;
    }
    case KT_INTS: {
        int n = k->count_off == NO_COUNT ? (int)k->size : *(const int *)((const char *)c + k->count_off);
        if (n < k->minlen || (size_t)n > k->size)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"%s\": expected %d to %zu values, got %d", k->name,
                            k->minlen, k->size, n);
        for (int i = 0; i < n; i++) {
            int v = ((const int *)base)[i];
            if (!in_range(k, v))
                return fke_fail(e, FKE_ERR_CONFIG, "config: key \"%s[%d]\": expected %s, got %d",
                                k->name, i, want, v);
        }
        return FKE_OK;
    }
    case KT_NOTE: return FKE_OK;
    }
    return FKE_OK;
}

fke_status fke_config_validate(const fke_config *c, fke_err *e)
{
    if (!c) return fke_fail(e, FKE_ERR_ARG, "config: null");
    for (int i = 0; i < N_KEYS; i++) FKE_TRY(check_key(c, &keys[i], e));
    /* cross-field rules */
    if (c->epochs == 0 && c->steps == 0)
        return fke_fail(e, FKE_ERR_CONFIG,
                        "config: key \"epochs\": 0 with steps 0 would train nothing "
                        "(set epochs >= 1 or steps >= 1)");
    switch (c->task) {
    case FKE_TASK_FKE:
        if (c->batch < 2 || c->batch % 2)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"batch\": task fke needs an even batch >= 2 "
                            "(B/2 clean + B/2 machine-labelled posts), got %d",
                            c->batch);
        if (c->pad != 0)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"pad\": only task classify pads images; got %d with "
                            "task fke",
                            c->pad);
        break;
    case FKE_TASK_MULTILABEL:
        if (c->pad != 0)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"pad\": only task classify pads "
                            "images; got %d with task multilabel", c->pad);
        break;
    case FKE_TASK_CLASSIFY:
        if (2 * c->pad >= c->img)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"pad\": %d on each side leaves no image inside img %d",
                            c->pad, c->img);
        if (c->select == FKE_SEL_OCC_ACC || c->select == FKE_SEL_ATT_ACC)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"select\": task classify has no occasion or attributes; "
                            "use mean_acc, mean_f1 or cat_acc");
        break;
    case FKE_TASK_CLIP:
        if (c->batch < 2)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"batch\": task clip contrasts the "
                            "posts of a batch, so it needs batch >= 2, got %d", c->batch);
        if (c->image_tower == FKE_TOWER_VIT && c->img % c->vit_patch)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"vit_patch\": img %d is not a "
                            "multiple of vit_patch %d", c->img, c->vit_patch);
        if (c->image_tower == FKE_TOWER_VIT && c->vit_width % c->vit_heads)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"vit_heads\": vit_width %d is not "
                            "a multiple of vit_heads %d", c->vit_width, c->vit_heads);
        if (c->clip_crops && (c->image_tower != FKE_TOWER_CNN || c->img_bn))
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"clip_crops\": 1 needs image_tower "
                            "cnn and img_bn 0 (the ViT's position embeddings fix its image side)");
        if (c->select != FKE_SEL_MEAN_ACC)
            return fke_fail(e, FKE_ERR_CONFIG, "config: key \"select\": task clip picks best.h5 "
                            "by its mean retrieval recall (both ways, k = 1, 5, 10), which is "
                            "select mean_acc; got %s", fke_config_select_name(c->select));
        break;
    }
    switch (c->cnn) {
    case FKE_CNN_SMALL:
        if (c->img % 8)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"img\": cnn small pools 3 times, so img must be a "
                            "multiple of 8, got %d",
                            c->img);
        if (c->task != FKE_TASK_CLASSIFY && c->crop % 8)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"crop\": cnn small pools 3 times, so crop must be a "
                            "multiple of 8, got %d",
                            c->crop);
        if (c->F != c->chans[2])
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"F\": cnn small gives chans[2] = %d features, but F is %d",
                            c->chans[2], c->F);
        break;
    case FKE_CNN_RESNET18:
        if (c->F != 8 * c->chans[0])
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"F\": cnn resnet18 of width chans[0] = %d gives %d "
                            "features, but F is %d",
                            c->chans[0], 8 * c->chans[0], c->F);
        if (c->img < 32)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"img\": cnn resnet18 downsamples 32x, so img must be "
                            ">= 32, got %d",
                            c->img);
        if (c->task != FKE_TASK_CLASSIFY && c->crop < 32)
            return fke_fail(e, FKE_ERR_CONFIG,
                            "config: key \"crop\": cnn resnet18 downsamples 32x, so crop must be "
                            ">= 32, got %d",
                            c->crop);
        break;
    }
    return FKE_OK;
}

/* ---- registry access and documentation (not in config.h yet) ------------ */

int fke_config_key_count(void);
const char *fke_config_key_name(int i);
char *fke_config_doc(void);

int fke_config_key_count(void) { return N_KEYS; }

const char *fke_config_task_name(fke_task_kind k)
{
    _Static_assert(sizeof v_task / sizeof v_task[0] == FKE_TASK_CLIP + 2, "v_task");
    return k >= 0 && k <= FKE_TASK_CLIP ? v_task[k] : "?";
}

const char *fke_config_select_name(fke_select_kind k)
{
    _Static_assert(sizeof v_select / sizeof v_select[0] == FKE_SEL_ATT_ACC + 2, "v_select");
    return k >= 0 && k <= FKE_SEL_ATT_ACC ? v_select[k] : "?";
}

const char *fke_config_key_name(int i) { return i >= 0 && i < N_KEYS ? keys[i].name : NULL; }

static void key_type_doc(const key_def *k, char *buf, size_t n)
{
    char v[192];
    switch (k->type) {
    case KT_INT:
    case KT_U64:
    case KT_REAL: describe(k, buf, n); break;
    case KT_BOOL: snprintf(buf, n, "true or false"); break;
    case KT_ENUM:
    case KT_PRESET:
        list_values(k->values, v, sizeof v);
        snprintf(buf, n, "one of %s", v);
        break;
    case KT_STR:
        snprintf(buf, n, "a %sstring of at most %zu characters", k->minlen ? "non-empty " : "",
                 k->size - 1);
        break;
    case KT_INTS: {
        char r[96];
        describe(k, r, sizeof r);
        if (k->count_off == NO_COUNT)
            snprintf(buf, n, "%zu integers, each %s", k->size, r + 11 /* skip "an integer " */);
        else
            snprintf(buf, n, "%d to %zu integers, each %s", k->minlen, k->size, r + 11);
        break;
    }
    case KT_NOTE: snprintf(buf, n, "a string"); break;
    }
}

/* The value of k in c, in JSON syntax, into buf ("[8, 4, 3, 3]" for arrays). */
static void key_value_doc(const fke_config *c, const key_def *k, char *buf, size_t n)
{
    cJSON *v = key_json(c, k);
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    size_t j = 0;
    for (const char *p = s ? s : ""; *p && j + 2 < n; p++) {
        buf[j++] = *p;
        if (*p == ',' && k->type == KT_INTS) buf[j++] = ' ';
    }
    buf[j] = 0;
    free(s);
    cJSON_Delete(v);
}

/* The key table of configs/README.md (markdown); malloc'ed, caller frees. */
char *fke_config_doc(void)
{
    fke_config dflt, pre[N_PRESETS];
    fke_config_defaults(&dflt);
    for (int p = 0; p < N_PRESETS; p++) {
        fke_config_defaults(&pre[p]);
        fke_config_preset(&pre[p], preset_names[p], NULL);
    }
    size_t cap = 64 * 1024, used = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    used += (size_t)snprintf(out, cap, "| key | value | default | meaning |\n|---|---|---|---|\n");
    for (int i = 0; i < N_KEYS && used < cap; i++) {
        const key_def *k = &keys[i];
        char type[256], def[512];
        key_type_doc(k, type, sizeof type);
        if (k->type == KT_NOTE) {
            snprintf(def, sizeof def, "(none)");
        } else if (k->preset[0]) {
            char a[200], b[200];
            key_value_doc(&pre[0], k, a, sizeof a);
            key_value_doc(&pre[1], k, b, sizeof b);
            if (strcmp(a, b) == 0)
                snprintf(def, sizeof def, "`%s` (both presets)", a);
            else
                snprintf(def, sizeof def, "`%s` (%s), `%s` (%s)", a, preset_names[0], b,
                         preset_names[1]);
        } else {
            char a[200];
            key_value_doc(&dflt, k, a, sizeof a);
            snprintf(def, sizeof def, "`%s`", a);
        }
        int w = snprintf(out + used, cap - used, "| `%s` | %s | %s | %s |\n", k->name, type, def,
                         k->doc);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used >= cap) out[cap - 1] = 0;
    return out;
}

int fke_cell_gates(fke_cell_kind k)
{
    switch (k) {
    case FKE_CELL_LSTM: return 4;
    case FKE_CELL_GRU: return 3;
    }
    return 0;
}

/* ---- which keys the user gave, and sizes from the training data ---------- */

/* Whether key k holds the same value in a and b. */
static int same_value(const fke_config *a, const fke_config *b, const key_def *k)
{
    const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;
    switch (k->type) {
    case KT_INT:
    case KT_BOOL:
    case KT_ENUM: return *(const int *)x == *(const int *)y;
    case KT_U64: return *(const uint64_t *)x == *(const uint64_t *)y;
    case KT_REAL: return *(const double *)x == *(const double *)y;
    case KT_STR:
    case KT_PRESET: return strncmp(x, y, k->size) == 0;
    case KT_INTS: {
        int n = (int)k->size, m = (int)k->size;
        if (k->count_off != NO_COUNT) {
            n = *(const int *)((const char *)a + k->count_off);
            m = *(const int *)((const char *)b + k->count_off);
        }
        if (n != m || n < 0 || (size_t)n > k->size) return n == m;
        return memcmp(x, y, (size_t)n * sizeof(int)) == 0;
    }
    case KT_NOTE: return 1;
    }
    return 1;
}

/* The defaults of c's preset: what an ungiven key of c holds. */
static void preset_defaults(const fke_config *c, fke_config *ref)
{
    fke_config_defaults(ref);
    if (memchr(c->preset, 0, sizeof c->preset) && find_value(preset_names, c->preset) >= 0)
        fke_config_preset(ref, c->preset, NULL);
}

static int given_vs(const fke_config *c, const fke_config *ref, const key_def *k)
{
    return c->given[k - keys] || !same_value(c, ref, k);
}

int fke_config_given(const fke_config *c, const char *name)
{
    const key_def *k = c && name ? find_key(name) : NULL;
    if (!k || k->type == KT_NOTE) return 0;
    if (c->given[k - keys]) return 1;
    fke_config ref;
    preset_defaults(c, &ref);
    return !same_value(c, &ref, k);
}

void fke_config_data_none(fke_config_data *d)
{
    d->n_occ = d->n_cat = d->V = d->G = d->img = d->crop = d->L = d->in_ch = d->D = d->n_ml = -1;
    d->text = -1;
    d->n_attr = 0;
    for (int k = 0; k < FKE_MAX_ATTR; k++) d->n_val[k] = -1;
}

/* "[8, 4, 3, 3]" */
static void ints_text(const int *v, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i <= n && used < len; i++) {
        int w = i < n ? snprintf(buf + used, len - used, "%s%d", i ? ", " : "[", v[i])
                      : snprintf(buf + used, len - used, "]");
        if (w < 0) break;
        used += (size_t)w;
    }
}

fke_status fke_config_from_data(fke_config *c, const fke_config_data *d, const char *origin,
                                char *taken, size_t taken_len, fke_err *e)
{
    if (!c || !d) return fke_fail(e, FKE_ERR_ARG, "config: no config or no data sizes");
    if (!origin) origin = "training data";
    if (taken && taken_len) taken[0] = 0;
    /* the keys in registry order, each with the data's value (n_val: -2, an array) */
    const struct {
        const char *key;
        int v;
    } wants[] = {{"img", d->img},     {"crop", d->crop},   {"G", d->G},
                 {"V", d->V},         {"D", d->D},         {"L", d->L},
                 {"n_occ", d->n_occ},
                 {"n_cat", d->n_cat}, {"n_val", d->n_attr > 0 ? -2 : -1}, {"in_ch", d->in_ch},
                 {"n_ml", d->n_ml}};
    if (d->n_attr > FKE_MAX_ATTR)
        return fke_fail(e, FKE_ERR_CONFIG, "%s: the data has %d attributes, at most %d", origin,
                        d->n_attr, FKE_MAX_ATTR);
    char org[600], list[512] = "";
    snprintf(org, sizeof org, "%s (training data, for a key the config leaves unset)", origin);
    size_t used = 0;
    fke_config ref, tmp = *c;
    preset_defaults(c, &ref);
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        const key_def *k = find_key(wants[i].key);
        int v = wants[i].v, arr = v == -2;
        if (v < 0 && !arr) continue;
        int *field = (int *)((char *)&tmp + k->off);
        char have[160], want[160];
        if (arr) {
            ints_text(tmp.n_val, tmp.n_attr, have, sizeof have);
            ints_text(d->n_val, d->n_attr, want, sizeof want);
        } else {
            snprintf(have, sizeof have, "%d", *field);
            snprintf(want, sizeof want, "%d", v);
        }
        int isV = strcmp(k->name, "V") == 0;
        if (given_vs(c, &ref, k)) {
            if (isV ? *field >= v : strcmp(have, want) == 0) continue;
            if (isV)
                return fke_fail(e, FKE_ERR_CONFIG,
                                "%s: the data's vocabulary has V = %d words, but the config gives "
                                "key \"V\" = %d (V must be at least the data's; drop the key to "
                                "take the data's)",
                                origin, v, *field);
            return fke_fail(e, FKE_ERR_CONFIG,
                            "%s: the data has %s = %s, but the config gives key \"%s\" = %s "
                            "(drop the key to take the data's)",
                            origin, k->name, want, k->name, have);
        }
        if (isV && v < 2) v = 2; /* a vocabulary of the padding alone still gets the smallest table */
        cJSON *it = arr ? cJSON_CreateIntArray(d->n_val, d->n_attr) : cJSON_CreateNumber(v);
        if (!it) return fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", origin);
        fke_status st = apply_item(&tmp, k, it, org, e);
        cJSON_Delete(it);
        FKE_TRY(st);
        if (!arr) snprintf(want, sizeof want, "%d", v);
        int w = snprintf(list + used, sizeof list - used, "%s%s %s", used ? ", " : "", k->name, want);
        if (w > 0 && (size_t)w < sizeof list - used) used += (size_t)w;
    }
    /* a set with neither captions nor occasions: no TextCNN unless asked for */
    const key_def *kt = find_key("text");
    if (d->text == 0 && tmp.text && !given_vs(c, &ref, kt)) {
        tmp.text = 0;
        int w = snprintf(list + used, sizeof list - used, "%stext off (no caption, no occasion)",
                         used ? ", " : "");
        if (w > 0 && (size_t)w < sizeof list - used) used += (size_t)w;
    }
    *c = tmp;
    if (taken && taken_len) snprintf(taken, taken_len, "%s", list);
    return FKE_OK;
}
