#!/usr/bin/env python3
"""Validation curves of an ablation's runs, mean over seeds.

    python3 experiments/val_curves.py RUNS_DIR OUT.md [VARIANT ...]

RUNS_DIR holds experiments/ablation.sh's runs (VARIANT-sSEED/metrics.jsonl).
For each variant (default: every one found) and each evaluation step, the
mean over seeds of the validation occasion, category and attribute
accuracy, so that a variant that learns more slowly shows as a gap that
closes (or not) as the steps go on. Writes a markdown table to OUT.md.
"""
import glob
import json
import os
import re
import statistics
import sys

TASKS = [("occ_acc", "occasion"), ("cat_acc", "category"), ("att_acc", "attributes")]


def curve(path):
    """{step: val dict} of one run's metrics.jsonl."""
    out = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{") and '"eval_step"' in line:
            r = json.loads(line)
            if "val" in r:
                out[r["eval_step"]] = r["val"]
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs, out_md, want = sys.argv[1], sys.argv[2], sys.argv[3:]
    found = {}
    for p in sorted(glob.glob(os.path.join(runs, "*-s*", "metrics.jsonl"))):
        m = re.match(r"(.+)-s(\d+)$", os.path.basename(os.path.dirname(p)))
        if m:
            found.setdefault(m.group(1), {})[int(m.group(2))] = curve(p)
    variants = want or sorted(found)
    missing = [v for v in variants if v not in found]
    if missing:
        sys.exit(f"val_curves: no runs of {', '.join(missing)} in {runs}")
    seeds = sorted(set.intersection(*(set(found[v]) for v in variants)))
    steps = sorted(set.intersection(*(set(c) for v in variants for s, c in found[v].items()
                                      if s in seeds)))
    if not seeds or not steps:
        sys.exit(f"val_curves: the variants share no seed with evaluations in {runs}")
    lines = [f"Validation accuracy (%) at each evaluation, mean over seeds {' '.join(map(str, seeds))} "
             f"({runs})", ""]
    for key, name in TASKS:
        lines += [f"**{name}**", "", "| step | " + " | ".join(variants) + " |",
                  "|---|" + "---|" * len(variants)]
        for st in steps:
            cells = [f"{100 * statistics.mean(found[v][s][st][key] for s in seeds):.1f}"
                     for v in variants]
            lines.append(f"| {st} | " + " | ".join(cells) + " |")
        lines.append("")
    open(out_md, "w").write("\n".join(lines))
    print(f"wrote {out_md}: {len(variants)} variants, seeds {seeds}, {len(steps)} evaluations")


if __name__ == "__main__":
    main()
