#!/usr/bin/python3
"""Reads the JSON lines written by `fke bench --json` and
tools/torch_fke.py --json (as experiments/bench_vs_torch.sh runs
them) and prints the per-round fke/PyTorch ratios or writes the markdown
report.

  bench_table.py round FKE_JSONL TORCH_JSONL PRESET THREADS ROUND
  bench_table.py report FKE_JSONL TORCH_JSONL OUT.md [key=value ...]
  bench_table.py tag IN_JSONL OUT_JSONL ROUND RSS_KIB   (appends IN's last line to OUT
                                                       with "round" and the wrapper's RSS)

Each record may carry "peak_rss_mib_wrapper" (ru_maxrss of the whole
process, added by the script) and "round". Only the standard library."""
import json
import statistics
import sys


def load(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def pick(recs, preset, threads, rnd=None):
    return [r for r in recs if r.get("preset") == preset and int(r.get("threads")) == int(threads)
            and (rnd is None or str(r.get("round")) == str(rnd))]


def rss(r):
    return r.get("peak_rss_mib_wrapper") or r.get("peak_rss_mib")


def ratios(f, t):
    """fke/PyTorch: training step time, inference posts/s, peak RSS."""
    out = {"train": f["train"]["median"] / t["train"]["median"],
           "infer": f["posts_per_s_infer"] / t["posts_per_s_infer"]}
    if rss(f) and rss(t):
        out["rss"] = rss(f) / rss(t)
    return out


def cmd_round(fpath, tpath, preset, threads, rnd):
    f = pick(load(fpath), preset, threads, rnd)
    t = pick(load(tpath), preset, threads, rnd)
    if not f:
        print(f"  round {rnd}: no fke result")
        return
    f = f[-1]
    line = (f"  round {rnd}  {preset} {threads} thr: fke step {f['train']['median']*1e3:8.1f} ms, "
            f"infer {f['posts_per_s_infer']:7.1f} posts/s")
    if t:
        t = t[-1]
        r = ratios(f, t)
        line += (f" | torch step {t['train']['median']*1e3:8.1f} ms, infer "
                 f"{t['posts_per_s_infer']:7.1f} posts/s | fke/torch step time {r['train']:.2f}, "
                 f"infer posts/s {r['infer']:.2f}")
        if "rss" in r:
            line += f", peak RSS {r['rss']:.2f}"
        line += f" [other load {f.get('other_load_train', 0):.2f} / {t.get('other_load_train', 0):.2f} cores]"
    print(line)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def cmd_report(fpath, tpath, out, meta):
    F, T = load(fpath), load(tpath)
    keys = []
    for r in F:
        k = (r["preset"], int(r["threads"]))
        if k not in keys:
            keys.append(k)
    L = []
    L.append(f"# fke vs PyTorch, {meta.get('date', '')}\n")
    L.append(f"- machine: {meta.get('machine', '')}")
    L.append(f"- OPENBLAS_CORETYPE: {meta.get('coretype', '(unset)')}; OpenBLAS core used by fke: "
             f"{', '.join(sorted({r.get('openblas_core', '?') for r in F}))}")
    L.append(f"- PyTorch: {meta.get('torch', '')}")
    L.append(f"- fke: {meta.get('fke', '')}")
    for path in sorted({r.get("conv_path", "") for r in F} - {""}):
        L.append(f"- fke kernel path: {path}")
    L.append(f"- commands (per round, alternating which runs first):")
    for c in meta.get("commands", "").split(";;"):
        if c.strip():
            L.append(f"  - `{c.strip()}`")
    L.append("- ratios are medians of the per-round ratios (each round runs both programs "
             "back to back); step time ratio < 1 and posts/s ratio > 1 mean fke is faster.\n")
    L.append("| preset | threads | rounds | fke step ms | torch step ms | **step fke/torch** "
             "| fke infer posts/s | torch infer posts/s | **infer fke/torch** "
             "| fke GFLOP/s | sgemm GFLOP/s | fke peak RSS MiB | torch peak RSS MiB | RSS fke/torch |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for preset, thr in keys:
        f = pick(F, preset, thr)
        t = pick(T, preset, thr)
        rounds = sorted({str(r.get("round")) for r in f})
        rs = []
        for rnd in rounds:
            fr, tr = pick(f, preset, thr, rnd), pick(t, preset, thr, rnd)
            if fr and tr:
                rs.append(ratios(fr[-1], tr[-1]))
        fs = med([r["train"]["median"] for r in f])
        ts = med([r["train"]["median"] for r in t])
        fi = med([r["posts_per_s_infer"] for r in f])
        ti = med([r["posts_per_s_infer"] for r in t])
        rt = med([r["train"] for r in rs])
        ri = med([r["infer"] for r in rs])
        rr = med([r.get("rss") for r in rs])
        summary[(preset, thr)] = dict(fs=fs, ts=ts, rt=rt, ri=ri)
        L.append(f"| {preset} | {thr} | {len(rounds)} | {fmt(fs and fs*1e3, '.1f')} | "
                 f"{fmt(ts and ts*1e3, '.1f')} | **{fmt(rt, '.2f')}** | {fmt(fi, '.1f')} | "
                 f"{fmt(ti, '.1f')} | **{fmt(ri, '.2f')}** | "
                 f"{fmt(med([r['gflops_train_all'] for r in f]), '.1f')} | "
                 f"{fmt(med([r['sgemm_gflops_1024'] for r in f]), '.1f')} | "
                 f"{fmt(med([rss(r) for r in f]), '.0f')} | {fmt(med([rss(r) for r in t]), '.0f')} | "
                 f"{fmt(rr, '.2f')} |")
    # thread scaling
    L.append("\n1 -> 2 threads speed-up of the training step (median step times):\n")
    L.append("| preset | fke | torch |")
    L.append("|---|---|---|")
    for preset in dict.fromkeys(p for p, _ in keys):
        a, b = summary.get((preset, 1)), summary.get((preset, 2))
        if a and b:
            L.append(f"| {preset} | {fmt(a['fs'] and b['fs'] and a['fs'] / b['fs'], '.2f')} | "
                     f"{fmt(a['ts'] and b['ts'] and a['ts'] / b['ts'], '.2f')} |")
    # split
    L.append("\nfke's time split per training step (ms, median over rounds), with PyTorch's "
             "CNN-only forward+backward where it was timed:\n")
    names = ["cnn", "bilstm1", "textcnn", "heads+bilstm2", "loss", "update", "zero-grad"]
    L.append("| preset | threads | " + " | ".join(names) + " | fke cnn GFLOP/s | sgemm 128x1024x576 "
             "| **cnn / sgemm** | torch cnn-only ms (GFLOP/s) |")
    L.append("|---|---|" + "---|" * (len(names) + 4))
    for preset, thr in keys:
        f = pick(F, preset, thr)
        t = pick(T, preset, thr)
        step = med([r["train"]["median"] for r in f]) * 1e3
        cells = []
        for n in names:
            v = med([r["parts_ms"].get(n) for r in f])
            cells.append(f"{v:.1f} ({100 * v / step:.0f}%)" if v is not None else "–")
        tc = med([r["cnn_only"]["median"] for r in t if "cnn_only" in r])
        tg = med([r.get("gflops_cnn_only") for r in t if "cnn_only" in r])
        cg, sg = med([r['gflops_cnn_part'] for r in f]), med([r['sgemm_gflops_conv'] for r in f])
        L.append(f"| {preset} | {thr} | " + " | ".join(cells) +
                 f" | {fmt(cg, '.1f')} | {fmt(sg, '.1f')} | "
                 f"**{fmt(cg and sg and 100 * cg / sg, '.0f')}%** | "
                 f"{fmt(tc and tc * 1e3, '.1f')} ({fmt(tg, '.1f')}) |")
    L.append("\nOther load (cores used by other processes during the timed training section, "
             "median): " + ", ".join(
                 f"{p} {t} thr fke {fmt(med([r.get('other_load_train') for r in pick(F, p, t)]), '.2f')}"
                 f" / torch {fmt(med([r.get('other_load_train') for r in pick(T, p, t)]), '.2f')}"
                 for p, t in keys) + "\n")
    text = "\n".join(L) + "\n"
    with open(out, "w") as fo:
        fo.write(text)
    print(text)


def cmd_tag(inp, out, rnd, rss_kib):
    recs = load(inp)
    if not recs:
        return 1
    r = recs[-1]
    r["round"] = rnd
    if r.get("precision", "fp32") != "fp32":  # its own rows: "fke-small/bf16"
        r["preset"] = f"{r['preset']}/{r['precision']}"
    if rss_kib.strip().isdigit():
        r["peak_rss_mib_wrapper"] = int(rss_kib) / 1024.0
    with open(out, "a") as f:
        f.write(json.dumps(r) + "\n")
    return 0


def main(argv):
    if len(argv) >= 5 and argv[0] == "tag":
        return cmd_tag(*argv[1:5])
    if len(argv) >= 6 and argv[0] == "round":
        cmd_round(*argv[1:6])
    elif len(argv) >= 4 and argv[0] == "report":
        meta = dict(a.split("=", 1) for a in argv[4:])
        cmd_report(argv[1], argv[2], argv[3], meta)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
