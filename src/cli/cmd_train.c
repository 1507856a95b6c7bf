/* cmd_train.c - `fke train` and `fke eval`. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/eval.h"
#include "model/model_io.h"
#include "run/train.h"

static int usage_train(void)
{
    fprintf(stderr,
            "usage: fke train CONFIG.json [--set KEY=VALUE ...] [--quiet]\n"
            "       fke train --resume RUN_DIR [--set KEY=VALUE ...] [--quiet]\n"
            "  Trains the model of CONFIG (configs/README.md lists every key); the run folder\n"
            "  (out_dir) gets config.json, metrics.jsonl, last.h5 and best.h5.\n"
            "  --resume continues RUN_DIR/last.h5 with its own config (e.g. --set epochs=8\n"
            "  to train longer); the result equals an uninterrupted run.\n");
    return 2;
}

int fke_cmd_train(int argc, char **argv)
{
    const char *cfg_path = NULL, *resume = NULL;
    const char *sets[64];
    int nset = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (nset == 64) return usage_train();
            sets[nset++] = argv[++i];
        } else if (!strcmp(argv[i], "--resume") && i + 1 < argc) {
            resume = argv[++i];
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_train();
            return 0;
        } else if (argv[i][0] == '-' || cfg_path) {
            fprintf(stderr, "fke train: unknown argument '%s'\n", argv[i]);
            return usage_train();
        } else {
            cfg_path = argv[i];
        }
    }
    if (!cfg_path == !resume) return usage_train();
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
    for (int i = 0; st == FKE_OK && i < nset; i++) st = fke_config_set(&cfg, sets[i], &e);
    if (st == FKE_OK) st = fke_config_validate(&cfg, &e);
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

/* ---- fke eval --------------------------------------------------------------- */
static int usage_eval(void)
{
    fprintf(stderr,
            "usage: fke eval CHECKPOINT.h5 DATA.h5 [--out DIR] [--json]\n"
            "  Accuracy and macro-F1 of occasion, category and attributes (MODEL.md\n"
            "  \"Metrics\"), confusion matrices to DIR/confusion_*.csv (default: the\n"
            "  checkpoint's folder), and the learned transition matrices against the\n"
            "  true ones when DATA has them.\n");
    return 2;
}

static int write_confusions(const fke_eval_result *r, const fke_dataset *d, const char *dir,
                            fke_err *e)
{
    char path[700];
    snprintf(path, sizeof path, "%s/confusion_occasion.csv", dir);
    if (r->occ.cm && fke_confusion_write_csv(&r->occ, d ? d->occ_names : NULL, path, e)) return 1;
    snprintf(path, sizeof path, "%s/confusion_category.csv", dir);
    if (fke_confusion_write_csv(&r->cat, d ? d->cat_names : NULL, path, e)) return 1;
    for (int k = 0; k < r->n_attr; k++) {
        snprintf(path, sizeof path, "%s/confusion_%s.csv", dir,
                 d && d->attr_names ? d->attr_names[k] : "attribute");
        if (fke_confusion_write_csv(&r->att[k], d && d->val_names ? d->val_names[k] : NULL, path, e))
            return 1;
    }
    return 0;
}

int fke_cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *data = NULL, *out = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_eval(), 0;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "fke eval: unknown option '%s'\n", argv[i]);
            return usage_eval();
        } else if (!ckpt) ckpt = argv[i];
        else if (!data) data = argv[i];
        else return usage_eval();
    }
    if (!ckpt || !data) return usage_eval();
    char dir[600];
    snprintf(dir, sizeof dir, "%s", out ? out : ckpt);
    if (!out) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else strcpy(dir, ".");
    }
    fke_err e = {{0}};
    fke_model m;
    if (fke_model_load(&m, ckpt, 0, NULL, &e) != FKE_OK) {
        fprintf(stderr, "fke eval: %s\n", e.msg);
        return 1;
    }
    fke_set_threads(m.cfg.threads);
    fke_eval_result r;
    memset(&r, 0, sizeof r);
    fke_dataset d;
    fke_imageset s;
    memset(&d, 0, sizeof d);
    memset(&s, 0, sizeof s);
    int cls = m.cfg.task == FKE_TASK_CLASSIFY, rc = 1;
    fke_status st = cls ? fke_imageset_load(&s, data, &e) : fke_dataset_load(&d, data, &e);
    if (st == FKE_OK) st = cls ? fke_evaluate_images(&m, &s, &r, &e) : fke_evaluate(&m, &d, &r, &e);
    if (st != FKE_OK) {
        fprintf(stderr, "fke eval: %s\n", e.msg);
        goto done;
    }
    /* the confusion matrices first: a run that cannot write them prints no result */
    if (out && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "fke eval: cannot create the folder %s: %s\n", dir, strerror(errno));
        goto done;
    }
    if (write_confusions(&r, cls ? NULL : &d, dir, &e)) {
        fprintf(stderr, "fke eval: %s\n", e.msg);
        goto done;
    }
    if (json) {
        printf("{\"checkpoint\": \"%s\", \"data\": \"%s\", \"posts\": %ld", ckpt, data, r.posts);
        if (!cls)
            printf(", \"occ_acc\": %.6f, \"occ_f1\": %.6f, \"cat_acc\": %.6f, \"cat_f1\": %.6f, "
                   "\"att_acc\": %.6f, \"att_f1\": %.6f",
                   r.occ_acc, r.occ_f1, r.cat_acc, r.cat_f1, r.att_acc, r.att_f1);
        if (!cls && r.n_attr) { /* each attribute's own accuracy and macro-F1 */
            if (d.attr_names) { /* names from the file, escaped by cJSON */
                cJSON *a = cJSON_CreateStringArray((const char *const *)d.attr_names, r.n_attr);
                char *t = a ? cJSON_PrintUnformatted(a) : NULL;
                if (t) printf(", \"attributes\": %s", t);
                cJSON_free(t);
                cJSON_Delete(a);
            }
            printf(", \"att_acc_k\": [");
            for (int k = 0; k < r.n_attr; k++) printf("%s%.6f", k ? ", " : "", r.att_acc_k[k]);
            printf("], \"att_f1_k\": [");
            for (int k = 0; k < r.n_attr; k++) printf("%s%.6f", k ? ", " : "", r.att_f1_k[k]);
            printf("]");
        }
        if (cls) printf(", \"acc\": %.6f, \"f1\": %.6f", r.cat_acc, r.cat_f1);
        if (r.has_T) {
            printf(", \"T_mae\": [");
            for (int t = 0; t <= r.n_attr; t++) printf("%s%.6f", t ? ", " : "", r.T_mae[t]);
            printf("]");
        }
        printf("}\n");
    } else if (cls) {
        printf("%s on %s: %ld images\n  accuracy %.4f   macro-F1 %.4f%s\n", ckpt, data, r.posts,
               r.cat_acc, r.cat_f1, s.labels_true ? " (against the true labels)" : "");
        if (r.has_T)
            printf("  learned T vs true T, mean absolute error per entry: %.4f\n", r.T_mae[0]);
    } else {
        printf("%s on %s: %ld posts, %ld garments\n", ckpt, data, r.posts, r.garments);
        printf("  %-22s %8s %9s\n", "task", "accuracy", "macro-F1");
        printf("  %-22s %8.4f %9.4f\n", "occasion", r.occ_acc, r.occ_f1);
        printf("  %-22s %8.4f %9.4f\n", "category", r.cat_acc, r.cat_f1);
        for (int k = 0; k < r.n_attr; k++) {
            char name[64];
            snprintf(name, sizeof name, "attribute %s", d.attr_names ? d.attr_names[k] : "");
            printf("  %-22s %8.4f %9.4f\n", name, r.att_acc_k[k], r.att_f1_k[k]);
        }
        printf("  %-22s %8.4f %9.4f\n", "attributes (mean)", r.att_acc, r.att_f1);
        if (r.has_T) {
            printf("  learned T vs true T, mean absolute error per entry:");
            for (int t = 0; t <= r.n_attr; t++)
                printf(" %s %.4f", t ? (d.attr_names ? d.attr_names[t - 1] : "attr") : "category",
                       r.T_mae[t]);
            printf("\n");
        }
    }
    if (!json) printf("  confusion matrices: %s/confusion_*.csv\n", dir);
    rc = 0;
done:
    fke_eval_result_free(&r);
    if (cls) fke_imageset_free(&s);
    else fke_dataset_free(&d);
    fke_model_free(&m);
    return rc;
}
