/* card.c - see card.h. The card is text built in memory (open_memstream)
 * and written once, atomically, with core/file.h. */
#include "run/card.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "data/dataset.h"
#include "model/model_io.h"
#include "run/eval.h"

static int exists(const char *p)
{
    struct stat st;
    return p && *p && stat(p, &st) == 0;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

/* a YAML double-quoted scalar */
static void yq(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s < 0x20) fputc(' ', f);
        else fputc(*s, f);
    }
    fputc('"', f);
}

/* a Markdown table cell: | would end it */
static void md(FILE *f, const char *s)
{
    for (; s && *s; s++) fputs(*s == '|' ? "\\|" : (char[]){*s, 0}, f);
}

static const char *name_or(char **names, int i, char *buf, size_t n)
{
    if (names && names[i]) return names[i];
    snprintf(buf, n, "%d", i);
    return buf;
}

/* What training left: metrics.jsonl's last step line and its eval lines. */
typedef struct {
    long step, evals;
    double seconds, loss, posts_per_s;
    int found;
} run_log;

static void read_log(const char *run, run_log *l)
{
    memset(l, 0, sizeof *l);
    char path[700], *buf = NULL;
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    fke_err e;
    if (fke_read_file(path, 0, &buf, NULL, &e) != FKE_OK) return;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (!j) continue;
        cJSON *s = cJSON_GetObjectItem(j, "step"), *sec = cJSON_GetObjectItem(j, "seconds");
        if (cJSON_IsNumber(s) && cJSON_IsNumber(sec)) {
            l->found = 1;
            l->step = (long)s->valuedouble;
            l->seconds = sec->valuedouble;
            cJSON *lo = cJSON_GetObjectItem(j, "loss"), *r = cJSON_GetObjectItem(j, "posts_per_s");
            if (cJSON_IsNumber(lo)) l->loss = lo->valuedouble;
            if (cJSON_IsNumber(r)) l->posts_per_s = r->valuedouble;
        }
        if (cJSON_GetObjectItem(j, "eval_step")) l->evals++;
        cJSON_Delete(j);
    }
    free(buf);
}

static void cpu_name(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c += 1 + (c[1] == ' ');
                c[strcspn(c, "\n")] = 0;
                snprintf(out, n, "%s", c);
            }
            break;
        }
    if (f) fclose(f);
}

/* one metric of the model-index */
static void yaml_metric(FILE *f, const char *type, double v, const char *name, const char *key)
{
    fprintf(f, "    - type: %s\n      value: %.6f\n      name: ", type, v);
    yq(f, name);
    fprintf(f, "\n      config: %s\n", key);
}

/* per class: support, precision, recall, F1 from a confusion matrix */
static void class_table(FILE *f, const char *task, const fke_confusion *c, char **names)
{
    if (!c->cm) return;
    fprintf(f, "\n**%s**\n\n| class | support | precision | recall | F1 |\n|---|---|---|---|---|\n",
            task);
    for (int i = 0; i < c->n; i++) {
        long long tp = c->cm[(size_t)i * c->n + i], row = 0, col = 0;
        for (int j = 0; j < c->n; j++) {
            row += c->cm[(size_t)i * c->n + j];
            col += c->cm[(size_t)j * c->n + i];
        }
        if (row == 0 && col == 0) continue; /* not in the data, never predicted */
        double p = col ? (double)tp / col : 0, r = row ? (double)tp / row : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        char b[16];
        fputs("| ", f);
        md(f, name_or(names, i, b, sizeof b));
        fprintf(f, " | %lld | %.4f | %.4f | %.4f |\n", row, p, r, f1);
    }
}

/* the classes of lowest F1 (at most 3, with support), for the limitations */
static void weakest(FILE *f, const char *task, const fke_confusion *c, char **names)
{
    if (!c->cm) return;
    int idx[3] = {-1, -1, -1};
    double val[3] = {2, 2, 2};
    for (int i = 0; i < c->n; i++) {
        long long tp = c->cm[(size_t)i * c->n + i], row = 0, col = 0;
        for (int j = 0; j < c->n; j++) {
            row += c->cm[(size_t)i * c->n + j];
            col += c->cm[(size_t)j * c->n + i];
        }
        if (row == 0) continue;
        double p = col ? (double)tp / col : 0, r = (double)tp / row;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        for (int k = 0; k < 3; k++)
            if (f1 < val[k]) {
                for (int m = 2; m > k; m--) val[m] = val[m - 1], idx[m] = idx[m - 1];
                val[k] = f1, idx[k] = i;
                break;
            }
    }
    if (idx[0] < 0) return;
    fprintf(f, "- %s: the weakest classes on the held-out posts are", task);
    for (int k = 0; k < 3 && idx[k] >= 0; k++) {
        char b[16];
        fprintf(f, "%s ", k ? "," : "");
        md(f, name_or(names, idx[k], b, sizeof b));
        fprintf(f, " (F1 %.3f)", val[k]);
    }
    fprintf(f, ".\n");
}

static void matrix(FILE *f, const float *T, int n, char **names)
{
    char b[16];
    fprintf(f, "\n| true \\ machine |");
    for (int j = 0; j < n; j++) {
        fputc(' ', f);
        md(f, name_or(names, j, b, sizeof b));
        fputs(" |", f);
    }
    fprintf(f, "\n|---|");
    for (int j = 0; j < n; j++) fprintf(f, "---|");
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        fputs("| ", f);
        md(f, name_or(names, i, b, sizeof b));
        fputs(" |", f);
        for (int j = 0; j < n; j++) fprintf(f, " %.3f |", T[(size_t)i * n + j]);
        fputc('\n', f);
    }
}

/* experiments/ablation.sh keeps RUNS/<variant>-s<seed>/ beside RUNS/results.jsonl */
static void ablation(FILE *f, const char *run)
{
    char parent[700], path[760], *buf = NULL;
    snprintf(parent, sizeof parent, "%s", run);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    else snprintf(parent, sizeof parent, ".");
    snprintf(path, sizeof path, "%s/results.jsonl", parent);
    fke_err e;
    if (fke_read_file(path, 0, &buf, NULL, &e) != FKE_OK) return;
    char mine[128];
    snprintf(mine, sizeof mine, "%s", base(run));
    char *dash = strstr(mine, "-s");
    if (dash) *dash = 0;
    enum { MAXV = 16 };
    char vname[MAXV][64];
    double sum[MAXV][3], sq[MAXV][3];
    int cnt[MAXV], nv = 0;
    memset(sum, 0, sizeof sum);
    memset(sq, 0, sizeof sq);
    memset(cnt, 0, sizeof cnt);
    static const char *const keys[3] = {"occ_acc", "cat_acc", "att_acc"};
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        cJSON *v = j ? cJSON_GetObjectItem(j, "variant") : NULL, *ev = j ? cJSON_GetObjectItem(j, "eval") : NULL;
        if (cJSON_IsString(v) && cJSON_IsObject(ev)) {
            int k = 0;
            while (k < nv && strcmp(vname[k], v->valuestring)) k++;
            if (k == nv && nv < MAXV) snprintf(vname[nv++], sizeof vname[0], "%s", v->valuestring);
            if (k < nv) {
                cnt[k]++;
                for (int t = 0; t < 3; t++) {
                    cJSON *x = cJSON_GetObjectItem(ev, keys[t]);
                    double y = cJSON_IsNumber(x) ? 100 * x->valuedouble : NAN;
                    sum[k][t] += y;
                    sq[k][t] += y * y;
                }
            }
        }
        cJSON_Delete(j);
    }
    free(buf);
    if (!nv) return;
    fprintf(f, "\n## Ablation\n\nThis run is one of an ablation (`experiments/ablation.sh`, %s): "
               "test accuracy in %%, mean ± std over the seeds of each variant; this run's variant "
               "is in bold.\n\n| variant | runs | occasion | category | attributes |\n|---|---|---|---|---|\n",
            path);
    for (int k = 0; k < nv; k++) {
        int b = !strcmp(vname[k], mine);
        fprintf(f, "| %s%s%s | %d |", b ? "**" : "", vname[k], b ? "**" : "", cnt[k]);
        for (int t = 0; t < 3; t++) {
            double m = sum[k][t] / cnt[k], var = sq[k][t] / cnt[k] - m * m;
            fprintf(f, " %.1f ± %.1f |", m, var > 0 ? sqrt(var * cnt[k] / (cnt[k] > 1 ? cnt[k] - 1 : 1)) : 0);
        }
        fputc('\n', f);
    }
}

static const char *ctx_name(fke_context_mode c)
{
    return c == FKE_CTX_ALL ? "all" : c == FKE_CTX_VISUAL ? "visual" : c == FKE_CTX_TASK ? "task" : "none";
}

typedef struct {
    const fke_card_opts *o;
    const char *ckpt, *data;
    fke_model *m;
    fke_ckpt_meta *meta;
    const fke_ckpt_names *nm;
    const fke_dataset *train, *test; /* train may be NULL */
    const fke_eval_result *r;
    const run_log *log;
} card;

static void front_matter(FILE *f, const card *k)
{
    const fke_eval_result *r = k->r;
    const fke_config *c = &k->m->cfg;
    fprintf(f, "---\nlanguage: en\nlibrary_name: fke\npipeline_tag: image-classification\ntags:\n"
               "- fashion\n- fashion-knowledge-extraction\n- weakly-supervised\n- label-noise\n"
               "- fke\ndatasets:\n");
    if (c->train_data[0]) {
        fputs("- ", f);
        yq(f, base(c->train_data));
        fputc('\n', f);
    }
    fputs("- ", f);
    yq(f, base(k->data));
    fprintf(f, "\nmodel-index:\n- name: ");
    yq(f, base(k->o->run));
    fprintf(f, "\n  results:\n  - task:\n      type: image-classification\n"
               "      name: fashion knowledge extraction (occasion, garment category, attributes)\n"
               "    dataset:\n      name: ");
    yq(f, base(k->data));
    fprintf(f, "\n      type: fke-posts\n      split: held-out\n    metrics:\n");
    yaml_metric(f, "accuracy", r->occ_acc, "occasion accuracy", "occ_acc");
    yaml_metric(f, "f1", r->occ_f1, "occasion macro-F1", "occ_f1");
    yaml_metric(f, "accuracy", r->cat_acc, "category accuracy", "cat_acc");
    yaml_metric(f, "f1", r->cat_f1, "category macro-F1", "cat_f1");
    yaml_metric(f, "accuracy", r->att_acc, "attribute accuracy (mean over attributes)", "att_acc");
    yaml_metric(f, "f1", r->att_f1, "attribute macro-F1 (mean over attributes)", "att_f1");
    char **an = k->nm->attr ? k->nm->attr : k->test->attr_names;
    for (int a = 0; a < r->n_attr; a++) {
        char nm[160], key[32], b[16];
        snprintf(nm, sizeof nm, "%s accuracy", name_or(an, a, b, sizeof b));
        snprintf(key, sizeof key, "att_acc_k.%d", a);
        yaml_metric(f, "accuracy", r->att_acc_k[a], nm, key);
        snprintf(nm, sizeof nm, "%s macro-F1", name_or(an, a, b, sizeof b));
        snprintf(key, sizeof key, "att_f1_k.%d", a);
        yaml_metric(f, "f1", r->att_f1_k[a], nm, key);
    }
    fprintf(f, "---\n\n");
}

static void write_card(FILE *f, const card *k)
{
    const fke_config *c = &k->m->cfg;
    const fke_eval_result *r = k->r;
    const fke_dataset *t = k->train;
    const fke_ckpt_names *nm = k->nm;
    char **occn = nm->occ ? nm->occ : k->test->occ_names;
    char **catn = nm->cat ? nm->cat : k->test->cat_names;
    char **an = nm->attr ? nm->attr : k->test->attr_names;
    front_matter(f, k);
    fprintf(f, "# %s: an fke model of fashion knowledge\n\n", base(k->o->run));
    if (nm->version[0]) fprintf(f, "Trained by fke %s; card written by fke %s.\n\n", nm->version, k->o->version);
    fprintf(f, "A FashionKE network (`docs/model.md`) trained by fke %s: from a social-media "
               "post's picture, garment boxes and caption it predicts the **occasion** of the "
               "post and, for every garment, its **category** and **attributes** (",
            k->o->version);
    for (int a = 0; a < c->n_attr; a++) {
        char b[16];
        fprintf(f, "%s", a ? ", " : "");
        md(f, name_or(an, a, b, sizeof b));
    }
    fprintf(f, "). Preset `%s`, CNN `%s`, recurrent cell `%s`, context `%s`, text %s, label "
               "correction `%s`. Checkpoint: `%s` (step %ld, epoch %d).\n\n",
            c->preset, c->cnn == FKE_CNN_SMALL ? "small" : "resnet18",
            c->cell == FKE_CELL_LSTM ? "lstm" : "gru", ctx_name(c->context), c->text ? "on" : "off",
            c->correction == FKE_CORR_FORWARD ? "forward" : "none", k->ckpt, k->meta->step,
            k->meta->epoch);

    fprintf(f, "## Intended use\n\n"
               "- Tagging the garments of fashion posts whose pictures look like the training "
               "data (%d × %d whole image, %d × %d garment crops, at most %d garments, captions "
               "in its vocabulary of %d words), and aggregating such tags into knowledge tables "
               "(`fke extract`, `fke knowledge`).\n"
               "- Research on learning from noisy machine labels: the card's numbers come from the "
               "same code as `fke eval`.\n\n"
               "## Out-of-scope uses\n\n"
               "- Decisions about people: the model does not predict, and must not be used to "
               "infer, a wearer's gender, age or identity.\n"
               "- Pictures unlike the training data (other cameras, crops, garment kinds, "
               "languages): accuracy there is unknown; measure it with `fke eval` first.\n"
               "- Garment detection: the boxes must be given.\n\n",
            c->img, c->img, c->crop, c->crop, c->G, c->V);

    fprintf(f, "## Training data\n\n");
    if (t) {
        long clean = 0, garments = 0, cat_lab = 0;
        for (int i = 0; i < t->N; i++) {
            clean += t->clean[i] != 0;
            garments += t->n_garments[i];
            for (int g = 0; g < t->n_garments[i]; g++) cat_lab += t->cat[(size_t)i * t->G + g] >= 0;
        }
        fprintf(f, "| field | value |\n|---|---|\n| file | `%s` |\n| source | %s |\n| posts | %d |\n"
                   "| garments | %ld (%ld with a category label) |\n"
                   "| clean posts (labels checked by people) | %ld (%.1f%%) |\n"
                   "| machine-labelled posts (noise ratio) | %ld (%.1f%%) |\n",
                c->train_data, t->generator[0] ? "synthetic (FashionKE-synth; see limitations)" : "imported or made outside fke's generator",
                t->N, garments, cat_lab, clean, 100.0 * clean / (t->N ? t->N : 1), t->N - clean,
                100.0 * (t->N - clean) / (t->N ? t->N : 1));
        if (t->generator[0]) {
            fprintf(f, "| generator | `");
            md(f, t->generator);
            fprintf(f, "` |\n");
        }
        if (t->src_file[0]) fprintf(f, "| pixels from | `%s` |\n", t->src_file);
        if (nm->data_hash[0])
            fprintf(f, "| fingerprint (recorded in the checkpoint) | `%s`, %lld posts, %lld garments, %lld clean |\n",
                    nm->data_hash, nm->data_posts, nm->data_garments, nm->data_clean);
    } else {
        fprintf(f, "The training data `%s` was not found when this card was written; its sizes are "
                   "not given here.\n",
                c->train_data[0] ? c->train_data : "(none in the config)");
    }
    fprintf(f, "\n**Transition matrices.** Machine labels are corrected by the learned "
               "label-transition matrices T (T[i][j] = P(machine label j | true label i), "
               "`docs/model.md`), correction `%s`, initial T %s. The learned T of the checkpoint:\n",
            c->correction == FKE_CORR_FORWARD ? "forward" : "none (T unused)",
            c->t_init[0] ? c->t_init : "from the training set's clean/machine overlap (else identity)");
    for (int ti = 0; ti <= c->n_attr; ti++) {
        int n = ti ? c->n_val[ti - 1] : c->n_cat;
        float *T = malloc((size_t)n * n * sizeof *T);
        if (!T) break;
        fke_model_get_transition(k->m, ti, T);
        char b[16];
        fprintf(f, "\n%s", ti ? "Attribute " : "Category");
        if (ti) md(f, name_or(an, ti - 1, b, sizeof b));
        if (t && t->T_true) {
            size_t off = 0;
            for (int q = 0; q < ti; q++) {
                int m = q ? c->n_val[q - 1] : c->n_cat;
                off += (size_t)m * m;
            }
            fprintf(f, " (mean absolute error per entry against the data's true T: %.4f)",
                    fke_matrix_mae(T, t->T_true + off, n));
        }
        fprintf(f, ":\n");
        matrix(f, T, n, ti ? (nm->val[ti - 1] ? nm->val[ti - 1] : NULL) : catn);
        free(T);
    }

    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    fprintf(f, "\n## Training procedure\n\n| field | value |\n|---|---|\n"
               "| optimiser | %s, lr %g (CNN × %g, T × %g), momentum %g, weight decay %g |\n"
               "| batch | %d posts (half clean, half machine-labelled) |\n"
               "| steps | %ld (epoch %d) |\n",
            c->optimizer == FKE_OPT_SGD ? "SGD" : "Adam", c->lr, c->lr_cnn_mult, c->lr_theta_mult,
            c->momentum, c->weight_decay, c->batch, k->meta->step, k->meta->epoch);
    if (k->log->found)
        fprintf(f, "| training time | %.1f s (%.1f min) for %ld steps; last logged loss %.4f at %.1f posts/s |\n",
                k->log->seconds, k->log->seconds / 60, k->log->step, k->log->loss,
                k->log->posts_per_s);
    fprintf(f, "| hardware | CPU only; %d thread%s set (0: all cores); the card was written on: %s, %ld cores |\n"
               "| seed | %llu |\n",
            c->threads, c->threads == 1 ? "" : "s", cpu, sysconf(_SC_NPROCESSORS_ONLN),
            (unsigned long long)c->seed);
    char *cj = fke_config_to_json(c);
    if (cj) fprintf(f, "\nThe whole config (`%s/config.json`):\n\n```json\n%s\n```\n", k->o->run, cj);
    free(cj);

    fprintf(f, "\n## Evaluation\n\nOn `%s`: %ld posts, %ld garments, by `fke eval %s %s` "
               "(truth: the true labels where the data has them, else the clean posts' labels).\n\n"
               "| task | accuracy | macro-F1 |\n|---|---|---|\n"
               "| occasion | %.4f | %.4f |\n| category | %.4f | %.4f |\n",
            k->data, r->posts, r->garments, k->ckpt, k->data, r->occ_acc, r->occ_f1, r->cat_acc,
            r->cat_f1);
    for (int a = 0; a < r->n_attr; a++) {
        char b[16];
        fputs("| attribute ", f);
        md(f, name_or(an, a, b, sizeof b));
        fprintf(f, " | %.4f | %.4f |\n", r->att_acc_k[a], r->att_f1_k[a]);
    }
    fprintf(f, "| attributes (mean) | %.4f | %.4f |\n", r->att_acc, r->att_f1);
    if (r->has_appl)
        fprintf(f, "| attributes, only where the predicted category admits them | %.4f | %.4f |\n",
                r->att_acc_appl, r->att_f1_appl);
    if (r->has_T) {
        fprintf(f, "\nLearned T against the held-out data's true T, mean absolute error per entry:");
        for (int ti = 0; ti <= r->n_attr; ti++) {
            char b[16];
            fprintf(f, " %s ", ti ? name_or(an, ti - 1, b, sizeof b) : "category");
            fprintf(f, "%.4f%s", r->T_mae[ti], ti < r->n_attr ? "," : ".\n");
        }
    }
    fprintf(f, "\n### Per class\n");
    class_table(f, "occasion", &r->occ, occn);
    class_table(f, "category", &r->cat, catn);
    for (int a = 0; a < r->n_attr; a++) {
        char b[16], title[160];
        snprintf(title, sizeof title, "attribute %s", name_or(an, a, b, sizeof b));
        class_table(f, title, &r->att[a], nm->val[a] ? nm->val[a] : (k->test->val_names ? k->test->val_names[a] : NULL));
    }
    ablation(f, k->o->run);

    fprintf(f, "\n## Limitations\n\n");
    if (t && t->generator[0])
        fprintf(f, "- **Synthetic data.** The training posts are FashionKE-synth: Fashion-MNIST "
                   "garment photos (grey, 28 × 28, centred) composed into posts by rules "
                   "(occasion → garments, attributes drawn independently, captions from word "
                   "lists). The numbers above say how well the model learned those rules, not "
                   "how it does on real social-media pictures.\n");
    char share[48] = "Some";
    if (t) {
        long mach = 0;
        for (int i = 0; i < t->N; i++) mach += t->clean[i] == 0;
        snprintf(share, sizeof share, "%.0f%%", 100.0 * mach / (t->N ? t->N : 1));
    }
    fprintf(f, "- **Label noise.** %s of the training posts carry machine labels; where the "
               "tagger is biased in a way T cannot express (a bias that depends on the picture, "
               "not only on the true class), the model inherits it.\n",
            share);
    weakest(f, "occasion", &r->occ, occn);
    weakest(f, "category", &r->cat, catn);
    fprintf(f, "- The held-out posts come from the same source as the training posts; a "
               "distribution shift lowers every number above by an unknown amount.\n");

    fprintf(f, "\n## How to use the model\n\nWith fke (predictions as JSON lines; the checkpoint "
               "carries its label names, vocabulary and preprocessing):\n\n```sh\n"
               "fke eval %s %s\n"
               "fke extract %s picture.jpg --boxes boxes.json   # {\"boxes\": [[x0,y0,x1,y1], ...], \"caption\": \"text\"}\n"
               "```\n\nIn ONNX Runtime (inputs image, crops, garments%s; outputs occasion, "
               "category, attribute_K probabilities; metadata fke.* has the names):\n\n```sh\n"
               "fke export %s --out model.onnx\n"
               "sh tools/ort_install.sh build && NODE_PATH=build/ort/node_modules node tools/ort_run.js --info model.onnx\n"
               "```\n\n```python\nimport onnxruntime as ort\n"
               "s = ort.InferenceSession(\"model.onnx\")\n"
               "probs = s.run(None, {\"image\": image, \"crops\": crops, \"garments\": garments%s})\n"
               "```\n\nIn PyTorch (the project's implementation of the network, "
               "`tools/torch_ref.py`):\n\n```sh\n"
               "python3 tools/fke_to_torch.py %s model.pt   # a state_dict and model.ts.pt (TorchScript)\n"
               "```\n\n```python\nimport torch\n"
               "m = torch.jit.load(\"model.ts.pt\")\n"
               "occasion, category, *attributes = m(image, crops, garments%s)\n```\n\n"
               "The inputs are normalised as in training: x = (p / 255 − %g) / %g per channel, "
               "planar RGB (`README.md`, \"Using a trained model elsewhere\").\n",
            k->ckpt, k->data, k->ckpt, c->text ? ", tokens" : "", k->ckpt,
            c->text ? ", \"tokens\": tokens" : "", k->ckpt, c->text ? ", tokens" : "",
            nm->pixel_std > 0 ? nm->pixel_mean : 0.5, nm->pixel_std > 0 ? nm->pixel_std : 0.25);
}

fke_status fke_card_write(const fke_card_opts *o, fke_card_info *info, fke_err *e)
{
    card k;
    memset(&k, 0, sizeof k);
    k.o = o;
    char ckpt[600], out[600], data[600];
    snprintf(ckpt, sizeof ckpt, "%s/best.h5", o->run);
    if (!exists(ckpt)) snprintf(ckpt, sizeof ckpt, "%s/last.h5", o->run);
    if (!exists(ckpt))
        return fke_fail(e, FKE_ERR_IO, "%s: no best.h5 or last.h5 (a run folder of fke train has them)",
                        o->run);
    fke_model m;
    fke_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    FKE_TRY(fke_model_load(&m, ckpt, 0, &meta, e));
    free(meta.config_json);
    fke_status st = FKE_OK;
    fke_ckpt_names nm;
    memset(&nm, 0, sizeof nm);
    fke_dataset test, train;
    memset(&test, 0, sizeof test);
    memset(&train, 0, sizeof train);
    fke_eval_result r;
    memset(&r, 0, sizeof r);
    int have_train = 0, found = 0;
    char *text = NULL;
    size_t len = 0;
    if (m.cfg.task != FKE_TASK_FKE) {
        st = fke_fail(e, FKE_ERR_ARG, "%s: a model of task classify; fke card describes post models (task fke)", ckpt);
        goto done;
    }
    const char *d = o->data ? o->data : m.cfg.test_data[0] ? m.cfg.test_data : m.cfg.val_data;
    if (!d[0]) {
        st = fke_fail(e, FKE_ERR_ARG, "%s: the config has no test_data or val_data; give the held-out data (--data)", ckpt);
        goto done;
    }
    snprintf(data, sizeof data, "%s", d);
    if ((st = fke_checkpoint_read_names(ckpt, &nm, &found, e)) != FKE_OK) goto done;
    if ((st = fke_dataset_load(&test, data, e)) != FKE_OK) goto done;
    if ((st = fke_check_dataset(&m.cfg, &test, e)) != FKE_OK) goto done;
    if ((st = fke_evaluate(&m, &test, &r, e)) != FKE_OK) goto done;
    if (exists(m.cfg.train_data)) {
        fke_err e2;
        have_train = fke_dataset_load(&train, m.cfg.train_data, &e2) == FKE_OK;
    }
    run_log log;
    read_log(o->run, &log);
    k.ckpt = ckpt;
    k.data = data;
    k.m = &m;
    k.meta = &meta;
    k.nm = &nm;
    k.train = have_train ? &train : NULL;
    k.test = &test;
    k.r = &r;
    k.log = &log;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", o->run);
        goto done;
    }
    write_card(f, &k);
    if (fclose(f) != 0 || !text) {
        st = fke_fail(e, FKE_ERR_NOMEM, "%s: out of memory", o->run);
        goto done;
    }
    if (o->out) snprintf(out, sizeof out, "%s", o->out);
    else snprintf(out, sizeof out, "%s/MODEL_CARD.md", o->run);
    st = fke_write_file(out, text, "model card", e);
    if (st == FKE_OK && info) {
        snprintf(info->ckpt, sizeof info->ckpt, "%s", ckpt);
        snprintf(info->data, sizeof info->data, "%s", data);
        snprintf(info->out, sizeof info->out, "%s", out);
        info->posts = r.posts;
    }
done:
    free(text);
    fke_eval_result_free(&r);
    fke_dataset_free(&test);
    if (have_train) fke_dataset_free(&train);
    fke_ckpt_names_free(&nm);
    fke_model_free(&m);
    return st;
}
