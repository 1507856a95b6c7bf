#!/usr/bin/env python3
"""Tables and plot of experiments/active.sh: test accuracy against the number
of posts checked, per strategy (mean ± std over seeds), the share of wrong
machine labels among the posts each strategy chose, and how many checked
posts each strategy needs to reach random's final accuracy.

  active_table.py RESULTS.jsonl OUT.md OUT.png "note"
"""
import json
import statistics
import sys
import time

ORDER = ["least", "margin", "entropy", "random", "none"]
NAMES = {"least": "least confidence", "margin": "margin", "entropy": "entropy",
         "random": "random", "none": "none (nothing revealed, same steps)"}


def ms(v, scale=100, digits=1):
    if not v:
        return "-"
    if len(v) < 2:
        return f"{scale * v[0]:.{digits}f}"
    return f"{scale * statistics.mean(v):.{digits}f} ± {scale * statistics.stdev(v):.{digits}f}"


def main():
    src, out_md, out_png, note = sys.argv[1:5]
    rows = [json.loads(l) for l in open(src) if l.strip()]
    strategies = [s for s in ORDER if any(r["strategy"] == s for r in rows)]
    rounds = sorted({r["round"] for r in rows})
    k = max((r["checked"] // r["round"] for r in rows if r["round"] and r["checked"]), default=0)
    seeds = sorted({r["seed"] for r in rows})

    def cell(s, rd, f):
        return [f(r) for r in rows if r["strategy"] == s and r["round"] == rd]

    def mean_acc(s, rd, m):
        v = cell(s, rd, lambda r: r["eval"][m])
        return statistics.mean(v) if v else None

    out = [f"# Active learning on FashionKE-synth (mean ± std over {len(seeds)} seeds, %)", "",
           f"{time.strftime('%Y-%m-%d')}; {note}", ""]
    head = ["strategy"] + [f"{rd * k} checked" if rd else "0 (start)" for rd in rounds]
    for m, title in [("cat_acc", "Category accuracy"), ("att_acc", "Attribute accuracy (mean of 4)"),
                     ("cat_f1", "Category macro-F1"), ("occ_acc", "Occasion accuracy")]:
        out += [f"## {title} on the test posts against posts checked", "",
                "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for s in strategies:
            cells = [NAMES[s]] + [ms(cell(s, rd, lambda r: r["eval"][m])) for rd in rounds]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += ["## Wrong machine labels among the checked posts (what a reveal corrects)", "",
            "Share of the chosen posts' garment labels that the true labels changed, over all "
            "rounds and seeds (the whole pool's rate is the generator's flip rate).", "",
            "| strategy | garments checked | category labels wrong | attribute labels wrong |",
            "|---|---|---|---|"]
    for s in strategies:
        if s == "none":
            continue
        g = sum(r["garments"] for r in rows if r["strategy"] == s)
        cw = sum(r["cat_wrong"] for r in rows if r["strategy"] == s)
        al = sum(r["attr_labels"] for r in rows if r["strategy"] == s)
        aw = sum(r["attr_wrong"] for r in rows if r["strategy"] == s)
        if g:
            out.append(f"| {NAMES[s]} | {g} | {100 * cw / g:.1f}% | {100 * aw / max(al, 1):.1f}% |")
    out.append("")
    if "random" in strategies and rounds:
        last = rounds[-1]
        out += ["## Posts checked to reach random's final accuracy", "",
                f"Random's mean after {last * k} checked posts: category "
                f"{100 * mean_acc('random', last, 'cat_acc'):.1f}%, attributes "
                f"{100 * mean_acc('random', last, 'att_acc'):.1f}%. First number of checked posts "
                "at which a strategy's mean reaches it (\"not reached\" within the budget):", "",
                "| strategy | category | attributes |", "|---|---|---|"]
        for s in strategies:
            if s == "none":
                continue
            cells = [NAMES[s]]
            for m in ("cat_acc", "att_acc"):
                target = mean_acc("random", last, m)
                hit = next((rd * k for rd in rounds if mean_acc(s, rd, m) is not None and
                            mean_acc(s, rd, m) >= target - 1e-12), None)
                cells.append("not reached" if hit is None else str(hit))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    secs = [r["seconds"] for r in rows if r["round"] > 0]
    if secs:
        out.append(f"Mean time per round (query + reveal + training + evaluation, one thread, "
                   f"shared machine): {statistics.mean(secs):.0f} s.")
    open(out_md, "w").write("\n".join(out) + "\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(no matplotlib: {out_png} not drawn; apt-get install python3-matplotlib)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (m, title) in zip(axes, [("cat_acc", "category accuracy"),
                                     ("att_acc", "attribute accuracy")]):
        for s in strategies:
            xs, ys, es = [], [], []
            for rd in rounds:
                v = cell(s, rd, lambda r: r["eval"][m])
                if not v:
                    continue
                xs.append(rd * k)
                ys.append(100 * statistics.mean(v))
                es.append(100 * statistics.stdev(v) if len(v) > 1 else 0)
            if s == "none":
                ax.errorbar(xs, ys, yerr=es, label="none (x = round x K, nothing revealed)",
                            linestyle=":", color="gray", capsize=3)
            else:
                ax.errorbar(xs, ys, yerr=es, label=NAMES[s], marker="o", capsize=3)
        ax.set_xlabel("posts checked (revealed)")
        ax.set_ylabel(f"test {title} (%)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Active learning on FashionKE-synth, mean ± std over {len(seeds)} seeds",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print(f"wrote {out_md} and {out_png}")


if __name__ == "__main__":
    main()
