/* test_crash.c - training survives kill -9 (issue 19). A tiny run that
 * checkpoints every step is killed at random moments, at least 20 times,
 * and resumed after each kill. After every kill last.h5 and best.h5 load
 * (never half a file), their step never goes backwards, and the run, once
 * let finish, ends with the weights of a run never interrupted, bit for
 * bit. Every other kill waits for a checkpoint's temporary file to appear,
 * to land inside a write; the kills that did (the file was still there) are
 * counted. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "model/model_io.h"
#include "test.h"

static char out[1 << 16];

/* The step and weights of checkpoint p; -1 when it does not exist. */
static long ckpt_step(const char *p, float **w, size_t *n, fke_err *e, int *bad)
{
    if (access(p, F_OK) != 0) return -1;
    fke_model m;
    fke_ckpt_meta meta;
    if (fke_model_load(&m, p, 1, &meta, e) != FKE_OK) {
        *bad = 1;
        return -1;
    }
    free(meta.config_json);
    if (w) {
        *n = m.P.total;
        *w = malloc(*n * sizeof **w);
        for (size_t k = 0; *w && k < *n; k++) (*w)[k] = (float)m.P.w[k];
    }
    fke_model_free(&m);
    return meta.step;
}

/* Whether dir holds a temporary file of process pid (any, pid 0). */
static int has_tmp(const char *dir, pid_t pid)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int yes = 0;
    char want[32];
    snprintf(want, sizeof want, ".tmp.%ld", (long)pid);
    for (struct dirent *x; (x = readdir(d)) != NULL;) {
        const char *t = strstr(x->d_name, ".tmp.");
        yes |= t && (!pid || !strcmp(t, want));
    }
    closedir(d);
    return yes;
}

static pid_t start(const char *F, const char *cfg, const char *run, int resume)
{
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        if (resume) execl(F, F, "train", "--resume", run, "--quiet", (char *)NULL);
        else /* killed before its first checkpoint: nothing to keep, start again */
            execl(F, F, "train", cfg, "--quiet", "--force", (char *)NULL);
        _exit(127);
    }
    return pid;
}

int main(void)
{
    if (!fke_test_tmpdir("crash")) return 1;
    char F[600];
    snprintf(F, sizeof F, "%s/fke", fke_test_build_dir());
    const char *data = fke_test_path("a.h5");
    int rc = fke_test_sh(out, sizeof out, "%s data synth --out %s --posts 24 --seed 4", F, data);
    FKE_CHECK(rc == 0, "synth: %s", out);
    const char *dirs[2] = {fke_test_path("ref"), fke_test_path("run")};
    const char *cfgs[2] = {fke_test_path("ref.json"), fke_test_path("run.json")};
    const long steps = 30;
    for (int i = 0; i < 2; i++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"preset\": \"fke-small\", \"chans\": [4, 4, 8], \"F\": 8, \"H\": 8, \"H2\": "
                 "8, \"M\": 8, \"D\": 8, \"Co\": 4, \"T\": 8, \"batch\": 4, \"train_data\": "
                 "\"%s\", \"val_data\": \"%s\", \"out_dir\": \"%s\", \"steps\": %ld, "
                 "\"threads\": 1, \"eval_every\": 1, \"log_every\": 1000}",
                 data, data, dirs[i], steps);
        fke_test_write_text(cfgs[i], json);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = fke_test_sh(out, sizeof out, "%s train %s --quiet", F, cfgs[0]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double whole = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    FKE_CHECK(rc == 0, "the uninterrupted run: %s", out);
    fke_err e = {""};
    char last[600], best[600];
    snprintf(last, sizeof last, "%s/last.h5", dirs[0]);
    float *wref = NULL, *w = NULL;
    size_t nref = 0, nw = 0;
    int bad = 0;
    FKE_CHECK(ckpt_step(last, &wref, &nref, &e, &bad) == steps, "reference at step %ld", steps);

    snprintf(last, sizeof last, "%s/last.h5", dirs[1]);
    snprintf(best, sizeof best, "%s/best.h5", dirs[1]);
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
    int kills = 0, in_write = 0, finished = 0, broken = 0, backwards = 0, tries = 0;
    long prev_last = -1, prev_best = -1;
    /* kill moments: 20 ms after the start plus up to 1/8 of the whole run */
    while (kills < 24 && tries < 200) {
        tries++;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        double frac = (double)(seed >> 11) / 9007199254740992.0;
        long us = (long)(frac * 1e6 * whole / 8) + 20000;
        /* without last.h5 the run starts again with --force, which rightly
         * removes a best.h5 written just before a kill (between the first
         * best.h5 and last.h5): that best.h5 is not a step going backwards */
        if (prev_last < 0) prev_best = -1;
        pid_t pid = start(F, cfgs[1], dirs[1], prev_last >= 0);
        if (tries % 2) { /* every other kill: the moment a checkpoint's temporary file appears */
            for (long waited = 0; waited < 4 * us && !has_tmp(dirs[1], pid); waited += 200)
                usleep(200);
        } else {
            usleep((useconds_t)us);
        }
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) { /* it ended first */
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) finished = 1;
        } else {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            kills++;
            in_write += has_tmp(dirs[1], pid);
        }
        long sl = ckpt_step(last, NULL, NULL, &e, &bad);
        if (bad) broken++, printf("  after kill %d: %s\n", kills, e.msg), bad = 0;
        long sb = ckpt_step(best, NULL, NULL, &e, &bad);
        if (bad) broken++, printf("  after kill %d: %s\n", kills, e.msg), bad = 0;
        if (sl < prev_last || sb < prev_best) backwards++;
        if (sl > prev_last) prev_last = sl;
        if (sb > prev_best) prev_best = sb;
        if (finished) break;
    }
    printf("  %d kills -9 (%d inside a checkpoint write), run of %.1f s, last step seen %ld\n",
           kills, in_write, whole, prev_last);
    FKE_CHECK(kills >= 20, "at least 20 kills (%d)", kills);
    FKE_CHECK(in_write >= 3, "some kills inside a checkpoint write (%d)", in_write);
    FKE_CHECK(broken == 0, "last.h5 and best.h5 load after every kill (%d did not)", broken);
    FKE_CHECK(backwards == 0, "the checkpoints' step never went backwards (%d times)", backwards);
    /* let it finish: the weights of the uninterrupted run */
    rc = fke_test_sh(out, sizeof out, "%s train %s %s --quiet", F, prev_last >= 0 ? "--resume" : "--force",
                     prev_last >= 0 ? dirs[1] : cfgs[1]);
    FKE_CHECK(rc == 0 || finished, "the resumed run ends: %s", out);
    FKE_CHECK(ckpt_step(last, &w, &nw, &e, &bad) == steps && w && wref && nw == nref &&
                  FKE_SAME(w, wref, nref),
              "after %d kills the weights equal the uninterrupted run's, bit for bit", kills);
    FKE_CHECK(!has_tmp(dirs[1], 0), "no temporary file is left once the run is resumed");
    free(w);
    free(wref);
    return fke_test_finish("crash");
}
