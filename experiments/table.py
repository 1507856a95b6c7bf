#!/usr/bin/env python3
"""Aggregates experiment results (JSON lines from experiments/*.sh) into a
markdown table of mean ± standard deviation over seeds, and a PNG chart
(with matplotlib when installed: apt-get install python3-matplotlib).

  table.py ablation RESULTS.jsonl OUT.md OUT.png "note"
  table.py noise    RESULTS.jsonl OUT.md OUT.png "note"

It also lists differences: for the ablation each variant's from the full
model, for the noise ratios forward correction's from none. Each gives the
mean over seeds, the per-seed differences (the runs of one seed share
initialisation, batch order and dropout masks), twice their standard
deviation (paired) and twice the larger of the two standard deviations over
seeds (unpaired, the stricter reading).
"""
import json
import statistics
import sys
import time

METRICS = [("occ_acc", "occasion acc"), ("cat_acc", "category acc"), ("att_acc", "attribute acc"),
           ("occ_f1", "occasion F1"), ("cat_f1", "category F1"), ("att_f1", "attribute F1")]


def ms(v):
    if len(v) < 2:
        return f"{100 * v[0]:.1f}" if v else "-"
    return f"{100 * statistics.mean(v):.1f} ± {100 * statistics.stdev(v):.1f}"


def accuracies(ev):
    """(getter, label) of the three accuracies, then of each attribute's
    accuracy where `fke eval --json` gave them (att_acc_k)."""
    out = [(lambda e, m=m: e[m], label) for m, label in METRICS[:3]]
    for k, name in enumerate(ev.get("attributes", []) if "att_acc_k" in ev else []):
        out.append((lambda e, k=k: e["att_acc_k"][k], f"{name} acc"))
    return out


def differences(pairs, what, base, other):
    """`base` minus `other`, in points, per accuracy, for each (name, base
    runs, other runs) of `pairs`; runs are paired by seed."""
    lines = ["", f"{what} (points): mean over seeds (per-seed differences); "
             "a difference counts as shown, in either direction, when it is larger than twice "
             "the standard deviation of the per-seed differences (paired), and, stricter, than "
             "twice the larger of the two standard deviations over seeds (unpaired).", "",
             f"| {'variant' if base != 'forward' else 'noise ratio'} | accuracy | {base} − {other} "
             "| per seed | 2 × std, paired | 2 × std, unpaired | shown |",
             "|---|---|---|---|---|---|---|"]
    for name, g0, g1 in pairs:
        a = {r["seed"]: r["eval"] for r in g0}
        b = {r["seed"]: r["eval"] for r in g1}
        seeds = sorted(set(a) & set(b))
        if len(seeds) < 2:
            continue
        for get, label in accuracies(a[seeds[0]]):
            f = [100 * get(a[s]) for s in seeds]
            o = [100 * get(b[s]) for s in seeds]
            d = [x - y for x, y in zip(f, o)]
            gain = statistics.mean(d)
            paired = 2 * statistics.stdev(d)
            unpaired = 2 * max(statistics.stdev(f), statistics.stdev(o))
            ahead = base if gain > 0 else other
            shown = f"{ahead} ahead, paired and unpaired" if abs(gain) > max(paired, unpaired) \
                else f"{ahead} ahead, paired" if abs(gain) > paired else "no"
            lines.append(f"| {name} | {label} | {gain:+.2f} | " + ", ".join(f"{x:+.2f}" for x in d)
                         + f" | {paired:.2f} | {unpaired:.2f} | {shown} |")
    return lines


def main():
    kind, src, out_md, out_png, note = sys.argv[1:6]
    rows = [json.loads(l) for l in open(src) if l.strip()]
    key = (lambda r: r["variant"]) if kind == "ablation" else \
          (lambda r: (r["noise"], r["correction"]))
    groups = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    lines = [f"# {kind} — FashionKE-synth, test posts (mean ± std over seeds, %)", "",
             f"{time.strftime('%Y-%m-%d')}; {note}", ""]
    head = ["variant" if kind == "ablation" else "noise ratio | correction", "seeds"] + \
           [n for _, n in METRICS] + ["minutes/run"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for k, g in groups.items():
        name = k if kind == "ablation" else f"{k[0]} | {k[1]}"
        cells = [name, str(len(g))] + [ms([r["eval"][m] for r in g]) for m, _ in METRICS]
        cells.append(f"{statistics.mean(r['seconds'] for r in g) / 60:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    if kind == "ablation" and "full" in groups:
        lines += differences([(k, groups["full"], g) for k, g in groups.items() if k != "full"],
                             "Full model minus variant", "full", "variant")
        # the caption's gain when the embedding starts at random: the full
        # model without the data's word vectors against text off
        if "word_vectors_off" in groups and "text_off" in groups:
            lines += differences([("text_off", groups["word_vectors_off"], groups["text_off"])],
                                 "word_vectors_off minus text_off", "word_vectors_off", "text_off")
    elif kind == "noise":
        lines += differences([(k[0], groups[(k[0], "forward")], g) for k, g in groups.items()
                              if k[1] == "none" and k[0] > 0 and (k[0], "forward") in groups],
                             "Forward correction minus none, per noise ratio", "forward", "none")
    open(out_md, "w").write("\n".join(lines) + "\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(no matplotlib: {out_png} not drawn; apt-get install python3-matplotlib)")
        return
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if kind == "ablation":
        names = list(groups)
        for i, (m, label) in enumerate(METRICS[:3]):
            means = [statistics.mean(r["eval"][m] for r in groups[n]) for n in names]
            sds = [statistics.stdev([r["eval"][m] for r in groups[n]]) if len(groups[n]) > 1 else 0
                   for n in names]
            ax.bar([j + 0.27 * i for j in range(len(names))], means, 0.27, yerr=sds, label=label)
        ax.set_xticks([j + 0.27 for j in range(len(names))])
        ax.set_xticklabels(names, rotation=20)
    else:
        for corr in sorted({k[1] for k in groups}):
            for m, label, style in [("cat_acc", "category", "-"), ("att_acc", "attributes", "--")]:
                xs = sorted(k[0] for k in groups if k[1] == corr)
                ys = [statistics.mean(r["eval"][m] for r in groups[(x, corr)]) for x in xs]
                es = [statistics.stdev([r["eval"][m] for r in groups[(x, corr)]])
                      if len(groups[(x, corr)]) > 1 else 0 for x in xs]
                ax.errorbar(xs, ys, yerr=es, linestyle=style, marker="o",
                            label=f"{label}, correction {corr}")
        ax.set_xlabel("noise ratio (share of machine-labelled training posts)")
    ax.set_ylabel("test accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print(f"wrote {out_md} and {out_png}")


if __name__ == "__main__":
    main()
