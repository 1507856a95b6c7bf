/* test_progress.c - progress that tells the truth (issue 18), without timing:
 *   - fke_fputs_wrapped: no line wider than asked unless it is one word,
 *     every word kept whole and in order, continuation lines indented, a
 *     UTF-8 character one column;
 *   - fke_eta_evals counts the evaluations left as the training loop makes
 *     them (checked against the loop's own rule, step by step, over many
 *     eval_every / test_every / resume points), fke_eta_left adds their
 *     posts at the measured (or, before one, the estimated) rate per post;
 *   - a short run's progress, as a log (bar = 0) and as a terminal's
 *     redrawn line (bar = 1): every line and every redraw at most 79
 *     columns, an "evaluating" line before each evaluation with its phases
 *     (batch-norm, val, test), their times after it, and on a terminal the
 *     phases' own counts ("batch-norm 3/3", "val 4/4", "test 12/12"); the
 *     training set's val_split of 0.2 holds out 4 of its 18 clean posts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "run/train.h"
#include "test.h"
#include "test_fmnist.h"

/* the widest line of s (columns: UTF-8 characters), lines cut at '\n' and '\r' */
static int widest(const char *s, int *n_lines)
{
    int w = 0, col = 0, n = 0;
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        if (!*p || *p == '\n' || *p == '\r') {
            w = col > w ? col : w;
            n += col > 0;
            col = 0;
            if (!*p) break;
            continue;
        }
        col += (*p & 0xC0) != 0x80;
    }
    if (n_lines) *n_lines = n;
    return w;
}

/* the first line of s (cut at '\n' and '\r') wider than 79 columns that is
 * more than one word (a word wider than a line stands alone), or NULL;
 * *n counts the lines */
static const char *too_wide(const char *s, int *n, char *line, size_t cap)
{
    *n = 0;
    for (const char *p = s; *p;) {
        size_t k = strcspn(p, "\r\n");
        snprintf(line, cap, "%.*s", (int)k, p);
        *n += k > 0;
        const char *w = line;
        while (*w == ' ') w++;
        if (widest(line, NULL) > 79 && strchr(w, ' ')) return line;
        p += k;
        if (*p) p++;
    }
    return NULL;
}

/* the words of s (runs of non-space, non-newline bytes), joined by one space */
static void words(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = s; *p && k + 2 < n;) {
        while (*p == ' ' || *p == '\n') p++;
        if (!*p) break;
        if (k) out[k++] = ' ';
        while (*p && *p != ' ' && *p != '\n' && k + 1 < n) out[k++] = *p++;
    }
    out[k] = 0;
}

static char *wrapped(const char *s, int width, int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fke_fputs_wrapped(f, s, width, indent);
    fclose(f);
    return buf;
}

static void test_wrap(void)
{
    const char *in = "  training /a/rather/long/run/folder/name (fke-small, fke) on "
                     "/data/synth-train.h5: 1600 steps of 20 posts, 160 per epoch, 2 threads\n"
                     "short line\n"
                     "x /an/extraordinarily/long/path/that/no/terminal/line/of/eighty/columns/can/hold/at/all.h5 y\n"
                     "caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9\n";
    char *out = wrapped(in, 40, 4);
    char a[2048], b[2048];
    words(in, a, sizeof a), words(out, b, sizeof b);
    FKE_CHECK(!strcmp(a, b), "words changed:\n%s\n%s", a, b);
    /* every line within 40 columns, but the one holding the long path alone */
    const char *p = out;
    int over = 0;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        int cols = widest(line, NULL);
        if (cols > 40) {
            over++;
            const char *w = line;
            while (*w == ' ') w++;
            FKE_CHECK(!strchr(w, ' ') && strstr(w, "/all.h5"), "a line of %d columns that is not one word: '%s'",
                      cols, line);
        }
        p += n + (e != NULL);
    }
    FKE_CHECK(over == 1, "%d lines over 40 columns (the long path only):\n%s", over, out);
    FKE_CHECK(strstr(out, "\n      ") != NULL, "continuation of an indented line: 2 + 4 spaces:\n%s", out);
    FKE_CHECK(strstr(out, "short line\n") != NULL, "a short line kept as it is:\n%s", out);
    /* 5 x "café" is 24 columns: one line at width 24, two at 23 */
    free(out);
    out = wrapped("caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9", 24, 0);
    FKE_CHECK(!strchr(out, '\n'), "24 columns of UTF-8 cut at 24: '%s'", out);
    free(out);
    out = wrapped("caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9", 23, 0);
    FKE_CHECK(strchr(out, '\n') && !strchr(strchr(out, '\n') + 1, '\n'), "23 columns: '%s'", out);
    free(out);
    /* spaces inside a line are kept where it is not cut */
    out = wrapped("  step 5/30  epoch 1  loss 2.4\n", 79, 4);
    FKE_CHECK(!strcmp(out, "  step 5/30  epoch 1  loss 2.4\n"), "'%s'", out);
    free(out);
}

/* the training loop's rule (run/train.c): after step q, an evaluation when
 * q % eval_every == 0, q == total, or test_every asks for the test set */
static long loop_evals(long s, long total, long ee, long te, long *with_test)
{
    long n = 0;
    *with_test = 0;
    for (long q = s + 1; q <= total; q++) {
        int test_now = te > 0 && (q % te == 0 || q == total);
        if (q % ee == 0 || q == total || test_now) n++;
        *with_test += test_now;
    }
    return n;
}

static void test_eta(void)
{
    int bad = 0, cases = 0;
    for (long total = 1; total <= 61; total += 6)
        for (long ee = 1; ee <= 25; ee += 3)
            for (long te = 0; te <= 14; te += 7)
                for (long s = 0; s <= total; s += 5) {
                    fke_eta t = {.eval_every = ee, .test_every = te};
                    long wt, want_t, n = fke_eta_evals(&t, s, total, &wt);
                    long want = loop_evals(s, total, ee, te, &want_t);
                    cases++;
                    if (n != want || wt != want_t) {
                        if (bad++ < 5)
                            printf("  s %ld total %ld eval_every %ld test_every %ld: %ld (%ld with "
                                   "the test), the loop makes %ld (%ld)\n",
                                   s, total, ee, te, n, wt, want, want_t);
                    }
                }
    FKE_CHECK(bad == 0, "%d of %d cases count the evaluations wrong", bad, cases);
    /* 1 s a step of 20 posts; 10 steps left, evaluations every 5 steps of
     * 50 batch-norm batches and 100 val posts (1100 posts), then a final
     * test of 60. Before any evaluation: a post costs 1/20/3 s. */
    fke_eta t = {.train_s = 10, .train_steps = 10, .batch = 20, .eval_posts_each = 1100,
                 .test_posts = 60, .eval_every = 5};
    double want = 10 + (2 * 1100 + 60) / 60.0;
    FKE_CHECK(fabs(fke_eta_left(&t, 10, 20) - want) < 1e-9, "estimated %.4f, want %.4f",
              fke_eta_left(&t, 10, 20), want);
    /* measured: 11 s for 1100 posts */
    t.eval_s = 11, t.eval_posts = 1100;
    want = 10 + (2 * 1100 + 60) * 0.01;
    FKE_CHECK(fabs(fke_eta_left(&t, 10, 20) - want) < 1e-9, "measured %.4f, want %.4f",
              fke_eta_left(&t, 10, 20), want);
    /* the ETA is more than the training steps alone whenever evaluations are left */
    FKE_CHECK(fke_eta_left(&t, 10, 20) > 10 + 1e-9, "evaluation not counted");
    /* test_every 5 as well: each evaluation also forwards the 60 test posts */
    t.test_every = 5;
    want = 10 + (2 * 1100 + 2 * 60 + 60) * 0.01;
    FKE_CHECK(fabs(fke_eta_left(&t, 10, 20) - want) < 1e-9, "with test_every %.4f, want %.4f",
              fke_eta_left(&t, 10, 20), want);
    FKE_CHECK(fabs(fke_eta_left(&t, 20, 20) - 0.6) < 1e-9, "at the end only the final test: %.4f",
              fke_eta_left(&t, 20, 20));
    t.train_steps = 0;
    FKE_CHECK(isnan(fke_eta_left(&t, 0, 20)), "no step yet: no ETA");
}

/* a short run's progress into a string */
static char *run_progress(int bar, const char *dir)
{
    fke_config c;
    fke_config_defaults(&c);
    fke_err e = {{0}};
    const char *set[] = {"chans=[4, 4, 8]", "F=8", "H=8", "H2=8", "M=8", "D=8", "Co=4", "T=8",
                         "steps=12", "eval_every=6", "log_every=3", "bn_recalibrate=3",
                         "val_split=0.2", "threads=1", "test_every=12"};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        FKE_CHECK(fke_config_set(&c, set[i], &e) == FKE_OK, "--set %s: %s", set[i], e.msg);
    snprintf(c.train_data, sizeof c.train_data, "%s", fke_test_path("train.h5"));
    snprintf(c.test_data, sizeof c.test_data, "%s", fke_test_path("test.h5"));
    /* a long run folder: the header line must be cut, at a space */
    snprintf(c.out_dir, sizeof c.out_dir, "%s/%s-a-run-folder-with-a-name-long-enough", fke_test_path("runs"), dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fke_train_opts o = {.progress = f, .bar = bar};
    fke_train_result r;
    fke_status st = fke_train(&c, &o, &r, &e);
    fclose(f);
    FKE_CHECK(st == FKE_OK && r.steps == 12, "train (bar %d): %s", bar, e.msg);
    return buf;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
    return n;
}

static void test_run(void)
{
    for (int bar = 0; bar < 2; bar++) {
        char *out = run_progress(bar, bar ? "bar" : "log");
        int lines = 0;
        char line[4096];
        const char *wide = too_wide(out, &lines, line, sizeof line);
        FKE_CHECK(!wide && lines > 10, "bar %d: a line of %d columns (of %d lines): '%s'", bar,
                  wide ? widest(wide, NULL) : 0, lines, wide ? wide : "");
        /* the evaluations at steps 6 and 12 say so before they start, with their phases */
        FKE_CHECK(strstr(out, "evaluating at step 6: batch-norm (3 batches), val 4 posts ...") &&
                      strstr(out, "evaluating at step 12: batch-norm (3 batches), val 4 posts, "
                                  "test 12 posts ..."),
                  "bar %d: no evaluating line with its phases:\n%s", bar, out);
        FKE_CHECK(count(out, "  evaluated in ") == 2 && strstr(out, ", val ") &&
                      strstr(out, ", test ") && strstr(out, "saving"),
                  "bar %d: the phases' times after each evaluation:\n%s", bar, out);
        FKE_CHECK(strstr(out, "evaluating best.h5 (step ") != NULL, "bar %d: the final test announced:\n%s",
                  bar, out);
        FKE_CHECK(count(out, "ETA ") == 4, "bar %d: %d ETAs, want 4 (steps 3, 6, 9, 12)", bar,
                  count(out, "ETA "));
        if (bar) { /* the redrawn line counts each phase */
            FKE_CHECK(strstr(out, "\r  evaluating at step 6: batch-norm 3/3") &&
                          strstr(out, "\r  evaluating at step 6: val 4/4") &&
                          strstr(out, "\r  evaluating at step 12: test 12/12") &&
                          strstr(out, "\r  evaluating best.h5: test 12/12"),
                      "the terminal's evaluation line:\n%s", out);
            FKE_CHECK(strstr(out, "\rep 1/") != NULL, "no progress bar:\n%s", out);
        } else {
            FKE_CHECK(!strchr(out, '\r'), "a log has no carriage returns");
        }
        free(out);
    }
}

int main(void)
{
    fke_set_threads(1);
    test_wrap();
    test_eta();
    fke_imageset tr;
    if (fke_test_start("progress", &tr)) {
        int ok = fke_test_synth(&tr, 0, 60, 0.7, 5, fke_test_path("train.h5"), NULL) &&
                 fke_test_synth(&tr, 1, 12, 0.0, 6, fke_test_path("test.h5"), NULL);
        fke_imageset_free(&tr);
        if (ok) test_run();
    }
    return fke_test_finish("progress");
}
