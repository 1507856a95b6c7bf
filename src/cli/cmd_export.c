/* cmd_export.c - `fke export`: a checkpoint as a model for another runtime
 * (run/export_onnx.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "core/version.h"
#include "run/export_onnx.h"

static const char usage[] =
    "fke export CHECKPOINT.h5 --out MODEL.onnx [--format onnx]\n"
    "  writes the inference graph of a trained model (task fke: both presets, LSTM or\n"
    "  GRU cells, every context and text variant) as an ONNX model, opset 13, of\n"
    "  standard operators. Inputs: image (P, 3, S, S) and crops (P, G, 3, s, s),\n"
    "  normalised as for training, garments (P) int64, tokens (P, L) int64 (text on).\n"
    "  Outputs: the probabilities occasion (P, n_occ), category (P, G, n_cat) and\n"
    "  attribute_K (P, G, n_val[K]); slots past a post's garments are 0. The label\n"
    "  names, vocabulary, preprocessing, config and fke version are in the model's\n"
    "  metadata (fke.*). README \"Using a trained model elsewhere\" shows how to run it.\n"
    "  Task classify: input image (N, C, S, S), padded and normalised, output class.\n";

int fke_cmd_export(int argc, char **argv)
{
    static const char *const formats[] = {"onnx", NULL};
    const char *pos[1], *out = NULL;
    int format = 0;
    const fke_cli_opt opts[] = {
        {"--out", "FILE", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--format", "FORMAT", FKE_CLI_CHOICE, .dst = &format, .choices = formats},
        {0}};
    const fke_cli cli = {"fke export", usage, opts, "CHECKPOINT.h5", 1, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {""};
    fke_export_info info = {0};
    if (fke_export_onnx(pos[0], out, fke_version(), &info, &e) != FKE_OK) {
        fprintf(stderr, "fke export: %s\n", e.msg);
        return 1;
    }
    printf("%s: ONNX opset 13, %ld nodes, %ld initializers, %.0f parameters\n", out, info.nodes,
           info.initializers, info.params);
    return 0;
}
