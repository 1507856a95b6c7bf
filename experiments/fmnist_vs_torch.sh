#!/bin/sh
# Fashion-MNIST: the fke-small CNN trunk as a plain classifier, fke against
# ../shared/bench/torch_fmnist.py with the same recipe (3 epochs, SGD momentum
# 0.9, lr 0.05, batch 64, 28 -> 32 zero padding), run one after the other in
# one go; then fke's own recipe (configs/fmnist-best.json, 10 epochs).
# Prints test accuracy per epoch for both and images/s; writes
# experiments/results/fmnist.md.
#
#   sh experiments/fmnist_vs_torch.sh [--threads 2] [--skip-best]
set -e
B=${FKE_BUILD:-build}
FKE="$B/fke"
THREADS=2; BEST=1
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --skip-best) BEST=0; shift ;;
        *) echo "usage: $0 [--threads N] [--skip-best]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
R=runs/fmnist-exp; OUT=experiments/results
mkdir -p $R $OUT data
[ -f data/fmnist-train.h5 ] || $FKE data fmnist --out data
rm -f $R/torch.jsonl
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 /usr/bin/python3 \
        ../shared/bench/torch_fmnist.py --threads $THREADS --blas-threads 1 --epochs 3 --json $R/torch.jsonl
else
    echo "PyTorch (python3-torch) is not installed: fke alone"
fi
$FKE train configs/fmnist.json --quiet --set threads=$THREADS --set eval_every=938 --set out_dir=$R/fke
if [ $BEST = 1 ]; then
    $FKE train configs/fmnist-best.json --quiet --set threads=$THREADS --set out_dir=$R/fke-best
fi
python3 - "$R" "$OUT/fmnist.md" "$THREADS" <<'PY'
import json, os, statistics, sys, time
R, out, threads = sys.argv[1], sys.argv[2], sys.argv[3]
def fke_epochs(run):
    ev, rates = [], []
    for l in open(os.path.join(run, "metrics.jsonl")):
        d = json.loads(l)
        if "eval_step" in d:
            ev.append(d["test"]["acc"])
        elif "posts_per_s" in d:
            rates.append(d["posts_per_s"])
    return ev, statistics.median(rates) if rates else float("nan")
fa, frate = fke_epochs(os.path.join(R, "fke"))
ta, trate = [], float("nan")
if os.path.exists(os.path.join(R, "torch.jsonl")):
    t = json.loads(open(os.path.join(R, "torch.jsonl")).readlines()[-1])
    ta = [e["test_acc"] for e in t["epochs"]]
    trate = statistics.median(e["img_per_s"] for e in t["epochs"])
lines = [f"# Fashion-MNIST, fke-small trunk + linear ({time.strftime('%Y-%m-%d')}, {threads} threads, "
         f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')})", "",
         "Recipe of ../shared/bench/torch_fmnist.py: SGD momentum 0.9, lr 0.05, batch 64, 28->32 padding, 3 epochs.", "",
         "| epoch | PyTorch test acc | fke test acc | fke - PyTorch (points) |", "|---|---|---|---|"]
for i, a in enumerate(fa):
    t = ta[i] if i < len(ta) else float("nan")
    lines.append(f"| {i + 1} | {100 * t:.2f} | {100 * a:.2f} | {100 * (a - t):+.2f} |")
lines += ["", f"training images/s (median): fke {frate:.0f}, PyTorch {trate:.0f} (ratio {frate / trate:.2f})"]
best = os.path.join(R, "fke-best")
if os.path.exists(os.path.join(best, "metrics.jsonl")):
    ba, _ = fke_epochs(best)
    lines += ["", "configs/fmnist-best.json (fke's recipe): test accuracy per epoch " +
              ", ".join(f"{100 * a:.2f}" for a in ba), f"final: {100 * ba[-1]:.2f}%"]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
