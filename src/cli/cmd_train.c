/* cmd_train.c - `fke train`: a model trained from a JSON config, or a run
 * resumed from its last checkpoint (run/train.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "model/model_io.h"
#include "run/train.h"

static const char usage[] =
    "fke train CONFIG.json [--set KEY=VALUE ...] [--quiet]\n"
    "       fke train --resume RUN_DIR [--set KEY=VALUE ...] [--quiet]\n"
    "  Trains the model of CONFIG (configs/README.md lists every key); the run folder\n"
    "  (out_dir) gets config.json, metrics.jsonl, last.h5 and best.h5. Sizes the config\n"
    "  does not set (n_occ, n_cat, n_val, V, G, img, crop, L, in_ch) are the training\n"
    "  data's; a set one must agree with it. Checkpoints keep the data's label names.\n"
    "  --resume continues RUN_DIR/last.h5 with its own config (e.g. --set epochs=8\n"
    "  to train longer); the result equals an uninterrupted run.\n";

int fke_cmd_train(int argc, char **argv)
{
    const char *cfg_path = NULL, *resume = NULL;
    fke_cli_list sets = {.n = 0};
    int quiet = 0;
    const fke_cli_opt opts[] = {
        {"--set", "KEY=VALUE", FKE_CLI_LIST, .dst = &sets},
        {"--resume", "RUN_DIR", FKE_CLI_STR, .dst = &resume},
        {"--quiet", NULL, FKE_CLI_FLAG, .dst = &quiet},
        {0}};
    const fke_cli cli = {"fke train", usage, opts, "CONFIG.json", 0, 1, &cfg_path, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    if (!cfg_path == !resume) {
        fprintf(stderr, "fke train: %s\nusage: %s",
                cfg_path ? "CONFIG.json and --resume RUN_DIR exclude each other"
                         : "missing 'CONFIG.json' (or --resume RUN_DIR)", usage);
        return 2;
    }
    fke_err e = {{0}};
    fke_config cfg;
    fke_config_defaults(&cfg);
    fke_status st;
    if (resume) {
        char path[600], *json = NULL;
        snprintf(path, sizeof path, "%s/last.h5", resume);
        st = fke_checkpoint_read_config(path, &json, &e);
        if (st == FKE_OK) st = fke_config_from_json(&cfg, json, path, &e);
        free(json);
    } else {
        st = fke_config_load(&cfg, cfg_path, &e);
    }
    for (int i = 0; st == FKE_OK && i < sets.n; i++) st = fke_config_set(&cfg, sets.v[i], &e);
    if (st == FKE_OK && (st = fke_config_validate(&cfg, &e)) != FKE_OK) {
        char msg[FKE_ERRLEN]; /* a cross-field error: name the config it is in */
        snprintf(msg, sizeof msg, "%s", e.msg);
        fke_fail(&e, st, "%s%s: %s", resume ? resume : cfg_path, resume ? "/last.h5" : "", msg);
    }
    if (st != FKE_OK) {
        fprintf(stderr, "fke train: %s\n", e.msg);
        return 1;
    }
    fke_train_opts o = {.resume = resume, .progress = quiet ? NULL : stderr,
                        .bar = !quiet && isatty(fileno(stderr))};
    fke_train_result res;
    st = fke_train(&cfg, &o, &res, &e);
    if (st != FKE_OK) {
        fprintf(stderr, "fke train: %s\n", e.msg);
        return 1;
    }
    return 0;
}

