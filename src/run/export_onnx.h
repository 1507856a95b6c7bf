/* export_onnx.h - `fke export --format onnx`: the inference graph of a
 * trained checkpoint (task fke: both presets, both cells, every context and
 * text variant) as an ONNX model of the standard operators, opset 13.
 *
 * Graph inputs (P posts; S, s, G, L from the checkpoint's config):
 *   image     float (P, 3, S, S)     the whole image, normalised as for training:
 *                                    x = (p / 255 - pixel_mean) / pixel_std
 *   crops     float (P, G, 3, s, s)  the garment crops, same normalisation;
 *                                    slots >= garments are ignored (any values)
 *   garments  int64 (P)              valid garments per post, 0..G
 *   tokens    int64 (P, L)           caption token ids (absent with text off)
 * Outputs (probabilities: the softmax of fke's logits):
 *   occasion     float (P, n_occ)
 *   category     float (P, G, n_cat)       rows of slots >= garments are 0
 *   attribute_K  float (P, G, n_val[K])    K = 0..A-1, same rule
 *
 * It computes what fke_model_forward computes in evaluation mode (dropout
 * off, batch norm with the running statistics: the whole-image set for the
 * image, the crop set for the crops), then the softmax. Metadata in the
 * model (metadata_props): fke.version, fke.config (the config JSON),
 * fke.labels (label names, when the checkpoint has /names), fke.vocab,
 * fke.preprocessing, fke.tokenizer, fke.inputs.
 *
 * Mapping of the recurrent layers: PyTorch's (and fke's) gate rows i, f, g, o
 * become ONNX's i, o, f, c; r, z, n become z, r, h with linear_before_reset =
 * 1, which is PyTorch's GRU formula; the two biases are concatenated per
 * direction.
 *
 * Task classify (docs/model.md): input image float (N, C, S, S), zero-padded
 * and normalised with the training set's mean and std as in training
 * (fke.preprocessing); output class float (N, n_cat), the probabilities. */
#ifndef FKE_EXPORT_ONNX_H
#define FKE_EXPORT_ONNX_H
#include "core/fke.h"

typedef struct {
    long nodes, initializers; /* what the graph holds */
    double params;            /* numbers in the initializers */
} fke_export_info;

/* Writes the ONNX model of checkpoint ckpt to out (atomically). version is
 * fke's version string (producer_version and fke.version); info may be NULL. */
fke_status fke_export_onnx(const char *ckpt, const char *out, const char *version,
                           fke_export_info *info, fke_err *e);
#endif
