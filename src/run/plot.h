/* plot.h - `fke plot`: the curves of one or several runs, drawn with cairo
 * (anti-aliased lines and text) from their metrics.jsonl: the training loss
 * and the learning rate against the step, and the validation accuracy of
 * every task (occasion, category, attributes; task classify: accuracy)
 * against the step, the runs overlaid in colours named by a legend, the
 * tasks by line style. Written as PNG and, beside it, as SVG (OUT with .svg
 * for .png). Text is at least 12 px.
 *
 *   const char *runs[] = {"runs/a", "runs/b"};
 *   fke_plot_runs(runs, 2, "curves.png", &e);
 *
 * A run folder without metrics.jsonl, or one with no line to draw, is an
 * error naming it; lines that are not JSON (a run killed mid-line) are
 * skipped. */
#ifndef FKE_PLOT_H
#define FKE_PLOT_H
#include "core/fke.h"

#define FKE_PLOT_MAX_RUNS 8

fke_status fke_plot_runs(const char *const *runs, int n, const char *out_png, fke_err *e);
#endif
