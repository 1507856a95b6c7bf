/* cmd_train.c - `fke train`: a model trained from a JSON config, or a run
 * resumed from its last checkpoint (run/train.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/file.h"
#include "model/model_io.h"
#include "run/train.h"

static const char usage[] =
    "fke train CONFIG.json [--set KEY=VALUE ...] [--force] [--quiet]\n"
    "       fke train --resume RUN_DIR [--set KEY=VALUE ...] [--quiet]\n"
    "  Trains the model of CONFIG (configs/README.md lists every key); the run folder\n"
    "  (out_dir) gets config.json, metrics.jsonl, last.h5 and best.h5. Sizes the config\n"
    "  does not set (n_occ, n_cat, n_val, V, G, img, crop, L, in_ch) are the training\n"
    "  data's; a set one must agree with it. Checkpoints keep the data's label names.\n"
    "  --resume continues RUN_DIR/last.h5 with its own config (e.g. --set epochs=8\n"
    "  to train longer); the result equals an uninterrupted run. An out_dir that\n"
    "  already holds a run is refused; --force replaces it.\n"
    "  Ctrl-C (SIGINT) or SIGTERM: the current step ends, last.h5 is written and the\n"
    "  command says how to resume (exit status 130 or 143); a second Ctrl-C quits at once.\n";

/* The files tools/data.sh makes (`make data`: the shipped configs' data);
 * tests/test_configs.sh runs the command below for each and so keeps this
 * list true to the script. */
static const char *const data_sh_files[] = {"synth-train.h5", "synth-val.h5", "synth-test.h5",
                                            "fmnist-train.h5", "fmnist-test.h5", "synth3-train.h5",
                                            "synth3-val.h5", "synth3-test.h5"};

/* s in single quotes for sh when it holds anything but plain path bytes */
static void sh_word(char *out, size_t n, const char *s)
{
    if (!s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,")]) {
        snprintf(out, n, "%s", s);
        return;
    }
    size_t k = 0;
    if (k + 1 < n) out[k++] = '\'';
    for (; *s && k + 5 < n; s++) {
        if (*s == '\'') memcpy(out + k, "'\\''", 4), k += 4;
        else out[k++] = *s;
    }
    if (k + 1 < n) out[k++] = '\'';
    out[k] = 0;
}

/* The exact command that makes a missing file of tools/data.sh's, `sh
 * SRC/tools/data.sh BUILD DIR` with this program's build folder and source
 * tree (found from /proc/self/exe: BUILD/fke, SRC = BUILD/..) and the
 * file's folder; 0 when the file is not one of them or the script is not
 * beside this program. */
static int data_sh_command(const char *path, char *cmd, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int known = 0;
    for (size_t i = 0; i < sizeof data_sh_files / sizeof data_sh_files[0]; i++)
        known |= !strcmp(base, data_sh_files[i]);
    char exe[FKE_PATHLEN], script[FKE_PATHLEN + 32], dir[FKE_PATHLEN];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!known || len <= 0) return 0;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = 0; /* exe: the build folder */
    snprintf(script, sizeof script, "%s/../tools/data.sh", exe);
    if (access(script, R_OK) != 0) return 0;
    char *src = realpath(script, NULL);
    if (!src) return 0;
    snprintf(dir, sizeof dir, "%.*s", base == path ? 1 : (int)(base - path - 1), base == path ? "." : path);
    if (!dir[0]) snprintf(dir, sizeof dir, "/");
    char w1[2 * FKE_PATHLEN], w2[2 * FKE_PATHLEN], w3[2 * FKE_PATHLEN];
    sh_word(w1, sizeof w1, src);
    sh_word(w2, sizeof w2, exe);
    sh_word(w3, sizeof w3, dir);
    free(src);
    return snprintf(cmd, n, "sh %s %s %s", w1, w2, w3) < (int)n;
}

/* The one piece of global state of the program: what a signal handler may
 * touch. The training loop reads it through fke_train_opts.stop. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    static const char msg[] = "\nfke train: stopping after the current step (again: quit at once)\n";
    stop_signal = sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal gets the default: quit now */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int fke_cmd_train(int argc, char **argv)
{
    const char *cfg_path = NULL, *resume = NULL;
    fke_cli_list sets = {.n = 0};
    int quiet = 0, force = 0;
    const fke_cli_opt opts[] = {
        {"--set", "KEY=VALUE", FKE_CLI_LIST, .dst = &sets},
        {"--resume", "RUN_DIR", FKE_CLI_STR, .dst = &resume},
        {"--force", NULL, FKE_CLI_FLAG, .dst = &force},
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
    if (resume && force)
        return fke_cli_usage_error(&cli, "--force is for a fresh run; --resume continues RUN_DIR");
    fke_err e = {{0}};
    fke_config cfg;
    fke_config_defaults(&cfg);
    fke_status st;
    if (resume) {
        char path[600], *json = NULL;
        snprintf(path, sizeof path, "%s/last.h5", resume);
        if (access(path, F_OK) != 0) {
            char cj[600];
            snprintf(cj, sizeof cj, "%s/config.json", resume);
            if (access(cj, R_OK) == 0)
                fprintf(stderr, "fke train: %s has no checkpoint (no last.h5): the run stopped "
                        "before its first one, so there is nothing to resume; start it again "
                        "with `fke train %s --force`\n", resume, cj);
            else
                fprintf(stderr, "fke train: %s has no checkpoint (no last.h5) and no config.json: "
                        "not a run folder\n", resume);
            return 1;
        }
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
    /* a data file that is not there: say what makes it, before any work */
    const char *keys[3] = {"train_data", "val_data", "test_data"};
    const char *paths[3] = {cfg.train_data, cfg.val_data, cfg.test_data};
    for (int i = 0; i < 3; i++)
        if (paths[i][0] && access(paths[i], F_OK) != 0) {
            char cmd[3 * FKE_PATHLEN];
            fprintf(stderr, "fke train: %s (key %s%s%s) does not exist. ", paths[i], keys[i],
                    cfg_path ? " of " : "", cfg_path ? cfg_path : "");
            if (data_sh_command(paths[i], cmd, sizeof cmd))
                fprintf(stderr, "It is data of the shipped configs; this command makes it (and "
                        "the others its folder lacks): %s\n", cmd);
            else
                fprintf(stderr, "The data of the shipped configs (data/synth-*.h5, "
                        "data/synth3-*.h5, data/fmnist-*.h5) is made by `make data` (tools/data.sh); "
                        "FashionKE-synth of other sizes by `fke data synth --out FILE`; a real "
                        "dataset by `fke data import fashionke|deepfashion2|deepfashion` "
                        "(datasets/README.md)%s\n",
                        cfg_path ? "; a config's paths are its folder's" : "");
            return 1;
        }
    /* under mpirun (or another MPI launcher): data-parallel over its ranks,
     * rank 0 the only one that prints and writes (README, "Training across
     * processes"); without one, no MPI at all */
    fke_dist dist;
    if (fke_dist_init(&dist, &e) != FKE_OK) {
        fprintf(stderr, "fke train: rank %d: %s\n", dist.rank, e.msg);
        fke_dist_finalize(&dist);
        return 1;
    }
    int rank0 = dist.rank == 0;
    fke_train_opts o = {.resume = resume, .progress = quiet || !rank0 ? NULL : stderr,
                        .bar = !quiet && rank0 && isatty(fileno(stderr)), .force = force,
                        .stop = &stop_signal, .dist = dist.active ? &dist : NULL};
    catch_signals();
    fke_train_result res;
    st = fke_train(&cfg, &o, &res, &e);
    if (st != FKE_OK) {
        if (dist.active && dist.size > 1) { /* the other ranks may wait in a collective: end them */
            char msg[FKE_ERRLEN + 16];
            snprintf(msg, sizeof msg, "fke train: %s", e.msg);
            fke_dist_abort(&dist, 1, msg);
        }
        fprintf(stderr, "fke train: %s\n", e.msg);
        fke_dist_finalize(&dist);
        return 1;
    }
    fke_dist_finalize(&dist);
    if (!rank0) return res.interrupted ? 128 + (stop_signal == SIGTERM ? SIGTERM : SIGINT) : 0;
    if (res.interrupted) {
        const char *name = stop_signal == SIGTERM ? "SIGTERM" : "SIGINT";
        if (res.wrote_last)
            fprintf(stderr, "fke train: stopped by %s after step %ld; %s/last.h5 holds it; "
                    "continue with `fke train --resume %s`\n", name, res.steps, res.dir, res.dir);
        else
            fprintf(stderr, "fke train: stopped by %s before the first step; no checkpoint "
                    "was written\n", name);
        return 128 + (stop_signal == SIGTERM ? SIGTERM : SIGINT);
    }
    return 0;
}

