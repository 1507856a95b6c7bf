/* cmd_eval.c - `fke eval`: accuracy, macro-F1, confusion matrices and the
 * error of the learned transition matrices of a checkpoint on a dataset or an
 * image set (run/eval.h). */
#include <cjson/cJSON.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/file.h"
#include "model/model_io.h"
#include "run/eval.h"
#include "run/report.h"

static const char usage[] =
    "fke eval CHECKPOINT.h5 DATA.h5 [--out DIR] [--report DIR] [--json]\n"
    "  --report DIR: per task, report_TASK.csv (precision, recall, F1, support of\n"
    "  every class) and confusion_TASK.png (the confusion matrix as a heat map).\n"
    "  Accuracy and macro-F1 of occasion, category and attributes (docs/model.md\n"
    "  \"Metrics\"), confusion matrices to DIR/confusion_*.csv (default: the\n"
    "  checkpoint's folder), and the learned transition matrices against the\n"
    "  true ones when DATA has them. When DATA has the category x attribute\n"
    "  array /extra/applicable (FashionKE imports), also the released FashionKE\n"
    "  code's attribute numbers: only garments whose predicted category admits\n"
    "  the attribute count (--json: att_acc_applicable, att_f1_applicable, ...;\n"
    "  DIR/confusion_<attribute>_applicable.csv); the plain ones count every\n"
    "  garment with a true label, and only they pick the best checkpoint.\n"
    "  Task multilabel (DeepFashion): category top-1/3/5 accuracy and attribute\n"
    "  recall@3/@5 per attribute type and overall, pooled over the positive labels\n"
    "  (the averaging of the published table) and as the mean over attributes\n"
    "  (--json: cat_top1, cat_top3, cat_top5, recall3, recall5, recall3_attr, ...,\n"
    "  each recall an object by type); per-category precision, recall and F1 to\n"
    "  DIR/category_prf.csv.\n";

/* A label name as part of a file name: letters, digits, '-', '_' and '.'
 * kept, every other byte '_' (a name "a/b" must not become a folder). */
static const char *file_part(const char *name, char *buf, size_t n)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 1 < n; p++) {
        int keep = (isalnum(*p) && *p < 0x80) || *p == '-' || *p == '_' || (*p == '.' && k > 0);
        buf[k] = keep ? (char)*p : '_';
        k++;
    }
    buf[k] = 0;
    return k ? buf : "attribute";
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
        char part[128];
        snprintf(path, sizeof path, "%s/confusion_%s.csv", dir,
                 file_part(d && d->attr_names ? d->attr_names[k] : "attribute", part, sizeof part));
        if (fke_confusion_write_csv(&r->att[k], d && d->val_names ? d->val_names[k] : NULL, path, e))
            return 1;
    }
    for (int k = 0; r->has_appl && k < r->n_attr; k++) {
        char part[128];
        snprintf(path, sizeof path, "%s/confusion_%s_applicable.csv", dir,
                 file_part(d && d->attr_names ? d->attr_names[k] : "attribute", part, sizeof part));
        if (fke_confusion_write_csv(&r->att_appl[k], d && d->val_names ? d->val_names[k] : NULL,
                                    path, e))
            return 1;
    }
    return 0;
}

/* "{"all": 0.5, "texture": 0.4, ...}" (null where a type has no positive) */
static void recall_json(const char *key, const double *v, const fke_eval_result *r)
{
    printf(", \"%s\": {", key);
    for (int t = -1; t < r->n_ml_types; t++) {
        const char *name = t < 0 ? "all" : r->ml_type_names[t];
        if (isnan(v[1 + t])) printf("%s\"%s\": null", t < 0 ? "" : ", ", name);
        else printf("%s\"%s\": %.6f", t < 0 ? "" : ", ", name, v[1 + t]);
    }
    printf("}");
}

/* Task multilabel: the benchmark's numbers, as text or one JSON line. */
static void print_multilabel(const fke_eval_result *r, const char *ckpt, const char *data, int json)
{
    if (json) {
        printf("{\"checkpoint\": \"%s\", \"data\": \"%s\", \"posts\": %ld, \"garments\": %ld, "
               "\"cat_top1\": %.6f, \"cat_top3\": %.6f, \"cat_top5\": %.6f, \"cat_acc\": %.6f, "
               "\"cat_f1\": %.6f", ckpt, data, r->posts, r->garments, r->cat_top[0], r->cat_top[1],
               r->cat_top[2], r->cat_acc, r->cat_f1);
        recall_json("recall3", r->ml_recall[0], r);
        recall_json("recall5", r->ml_recall[1], r);
        recall_json("recall3_attr", r->ml_recall_attr[0], r);
        recall_json("recall5_attr", r->ml_recall_attr[1], r);
        printf(", \"positives\": %ld}\n", r->ml_positives[0]);
        return;
    }
    printf("%s on %s: %ld images, %ld garments\n", ckpt, data, r->posts, r->garments);
    printf("  category: top-1 %.2f%%  top-3 %.2f%%  top-5 %.2f%%  macro-F1 %.4f\n",
           100 * r->cat_top[0], 100 * r->cat_top[1], 100 * r->cat_top[2], r->cat_f1);
    printf("  attribute recall, %% (pooled over positive labels; per-attribute mean in brackets)\n");
    printf("  %-10s %9s %9s %16s %10s\n", "type", "recall@3", "recall@5", "(@3 / @5 mean)", "positives");
    for (int t = 0; t <= r->n_ml_types; t++) {
        int i = t == r->n_ml_types ? 0 : 1 + t;
        printf("  %-10s %9.2f %9.2f   (%5.2f / %5.2f) %10ld\n", i ? r->ml_type_names[t] : "all",
               100 * r->ml_recall[0][i], 100 * r->ml_recall[1][i], 100 * r->ml_recall_attr[0][i],
               100 * r->ml_recall_attr[1][i], r->ml_positives[i]);
    }
}

int fke_cmd_eval(int argc, char **argv)
{
    const char *pos[2], *out = NULL, *report = NULL;
    int json = 0;
    const fke_cli_opt opts[] = {
        {"--out", "DIR", FKE_CLI_STR, .dst = &out},
        {"--json", NULL, FKE_CLI_FLAG, .dst = &json},
        {"--report", "DIR", FKE_CLI_STR, .dst = &report},
        {0}};
    const fke_cli cli = {"fke eval", usage, opts, "CHECKPOINT.h5 DATA.h5", 2, 2, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    const char *ckpt = pos[0], *data = pos[1];
    char dir[600];
    snprintf(dir, sizeof dir, "%s", out ? out : ckpt);
    if (!out) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else strcpy(dir, ".");
    }
    fke_err e = {{0}};
    /* the folder first: a bad --out fails before the work, not after it */
    struct stat sb;
    if (out && mkdir(dir, 0777) != 0 && errno != EEXIST) { /* one level: a typo's parent is not made */
        fprintf(stderr, "fke eval: cannot create the folder %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (out && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "fke eval: --out %s: exists and is not a folder (--out names the folder "
                "for the confusion matrices)\n", out);
        return 1;
    }
    if (report && fke_mkdir_p(report, &e) != FKE_OK) {
        fprintf(stderr, "fke eval: --report %s: %s\n", report, e.msg);
        return 1;
    }
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
    int cls = m.cfg.task == FKE_TASK_CLASSIFY;
    rc = 1;
    fke_status st = cls ? fke_imageset_load(&s, data, &e) : fke_dataset_load(&d, data, &e);
    if (st == FKE_OK) st = cls ? fke_evaluate_images(&m, &s, &r, &e) : fke_evaluate(&m, &d, &r, &e);
    if (st != FKE_OK) {
        fprintf(stderr, "fke eval: %s\n", e.msg);
        goto done;
    }
    if (r.has_clip) { /* task clip: retrieval recall, no confusion matrices */
        const double(*R)[FKE_CLIP_NK] = r.clip_recall;
        if (json)
            printf("{\"posts\": %ld, \"i2t_r1\": %.6f, \"i2t_r5\": %.6f, \"i2t_r10\": %.6f, "
                   "\"t2i_r1\": %.6f, \"t2i_r5\": %.6f, \"t2i_r10\": %.6f}\n", r.posts, R[0][0],
                   R[0][1], R[0][2], R[1][0], R[1][1], R[1][2]);
        else
            printf("%s on %s (%ld posts, task clip): retrieval recall@1/5/10 image->text "
                   "%.4f/%.4f/%.4f, text->image %.4f/%.4f/%.4f (chance %.4f/%.4f/%.4f)\n", ckpt,
                   data, r.posts, R[0][0], R[0][1], R[0][2], R[1][0], R[1][1], R[1][2],
                   1.0 / r.posts, 5.0 / r.posts, 10.0 / r.posts);
        rc = 0;
        goto done;
    }
    /* the confusion matrices first: a run that cannot write them prints no result */
    if (write_confusions(&r, cls ? NULL : &d, dir, &e)) {
        fprintf(stderr, "fke eval: %s\n", e.msg);
        goto done;
    }
    char prf[700];
    snprintf(prf, sizeof prf, "%s/category_prf.csv", dir);
    if (r.has_ml && fke_confusion_write_prf_csv(&r.cat, d.cat_names, prf, &e) != FKE_OK) {
        fprintf(stderr, "fke eval: %s\n", e.msg);
        goto done;
    }
    if (report) {
        fke_report_names nm = {.occ = d.occ_names, .cat = cls ? s.class_names : d.cat_names,
                               .attr = d.attr_names};
        for (int k = 0; !cls && d.val_names && k < d.A && k < FKE_MAX_ATTR; k++) nm.val[k] = d.val_names[k];
        if (fke_report_write(&r, &nm, report, &e) != FKE_OK) {
            fprintf(stderr, "fke eval: %s\n", e.msg);
            goto done;
        }
    }
    if (r.has_ml) {
        print_multilabel(&r, ckpt, data, json);
        if (!json) printf("  per-category precision, recall, F1: %s\n", prf);
    } else if (json) {
        cJSON *pc = cJSON_CreateString(ckpt), *pd = cJSON_CreateString(data);
        char *jc = pc ? cJSON_PrintUnformatted(pc) : NULL, *jd = pd ? cJSON_PrintUnformatted(pd) : NULL;
        printf("{\"checkpoint\": %s, \"data\": %s, \"posts\": %ld", jc ? jc : "null",
               jd ? jd : "null", r.posts); /* paths escaped by cJSON */
        cJSON_free(jc), cJSON_free(jd), cJSON_Delete(pc), cJSON_Delete(pd);
        if (!cls && fke_eval_has_occ(&r))
            printf(", \"occ_acc\": %.6f, \"occ_f1\": %.6f", r.occ_acc, r.occ_f1);
        else if (!cls) /* no occasion label in the data: nothing measured */
            printf(", \"occ_acc\": null, \"occ_f1\": null");
        if (!cls)
            printf(", \"cat_acc\": %.6f, \"cat_f1\": %.6f, \"att_acc\": %.6f, \"att_f1\": %.6f",
                   r.cat_acc, r.cat_f1, r.att_acc, r.att_f1);
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
        if (!cls && r.n_attr && r.has_appl) { /* the released code's rule: predicted category */
            printf(", \"att_acc_applicable\": %.6f, \"att_f1_applicable\": %.6f", r.att_acc_appl,
                   r.att_f1_appl);
            printf(", \"att_acc_applicable_k\": [");
            for (int k = 0; k < r.n_attr; k++) printf("%s%.6f", k ? ", " : "", r.att_acc_appl_k[k]);
            printf("], \"att_f1_applicable_k\": [");
            for (int k = 0; k < r.n_attr; k++) printf("%s%.6f", k ? ", " : "", r.att_f1_appl_k[k]);
            printf("], \"att_applicable_n_k\": [");
            for (int k = 0; k < r.n_attr; k++)
                printf("%s%lld", k ? ", " : "", fke_confusion_total(&r.att_appl[k]));
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
        if (fke_eval_has_occ(&r)) printf("  %-22s %8.4f %9.4f\n", "occasion", r.occ_acc, r.occ_f1);
        else printf("  %-22s %8s %9s   (no occasion label in the data)\n", "occasion", "-", "-");
        printf("  %-22s %8.4f %9.4f\n", "category", r.cat_acc, r.cat_f1);
        for (int k = 0; k < r.n_attr; k++) {
            char name[64];
            snprintf(name, sizeof name, "attribute %s", d.attr_names ? d.attr_names[k] : "");
            printf("  %-22s %8.4f %9.4f\n", name, r.att_acc_k[k], r.att_f1_k[k]);
        }
        printf("  %-22s %8.4f %9.4f\n", "attributes (mean)", r.att_acc, r.att_f1);
        if (r.has_appl && r.n_attr) {
            printf("  attributes above: every garment with a true label (this picks the best "
                   "checkpoint)\n"
                   "  attributes below: only garments whose predicted category admits the "
                   "attribute\n  (the released FashionKE code's rule; the data's "
                   "/extra/applicable)\n");
            printf("  %-22s %8s %9s %9s\n", "task", "accuracy", "macro-F1", "garments");
            for (int k = 0; k < r.n_attr; k++) {
                char name[64];
                snprintf(name, sizeof name, "applicable %s", d.attr_names ? d.attr_names[k] : "");
                printf("  %-22s %8.4f %9.4f %9lld\n", name, r.att_acc_appl_k[k], r.att_f1_appl_k[k],
                       fke_confusion_total(&r.att_appl[k]));
            }
            printf("  %-22s %8.4f %9.4f\n", "applicable (mean)", r.att_acc_appl, r.att_f1_appl);
        }
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
