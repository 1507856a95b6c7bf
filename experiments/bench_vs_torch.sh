#!/bin/sh
# bench_vs_torch.sh - fke against the PyTorch reference (tools/torch_fke.py),
# side by side: for each preset and thread count, several rounds, each round
# running `fke bench` and torch_fke.py back to back (which one goes first
# alternates), same thread count, same steps. Prints the fke/PyTorch ratio of
# the training step time and of inference posts/s per round and their
# medians, and writes a markdown report (experiments/results/bench-DATE.md).
#
# PyTorch runs at its best configuration (tools/torch_fke.py says why): glibc
# keeps freed memory (MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736)
# and OpenBLAS's own pool is held at one thread (--blas-threads 1).
# Not part of CI: PyTorch is optional. Without it, fke alone is measured.
#
#   experiments/bench_vs_torch.sh [--presets "fke-small fke-paper"] [--threads "1 2"]
#       [--precisions "fp32 bf16"] [--rounds 3] [--steps S] [--warmup W]
#       [--coretype inherit|unset|NAME]
#       [--fke PATH] [--torch-script PATH] [--no-cnn-only] [--out FILE.md]
#
# --precisions: fp32, and bf16 (fke's precision bf16 against PyTorch's CPU
# autocast to bfloat16) where the CPU has AVX512-BF16 (else bf16 is skipped).
# The report gives fke's kernel path, the other load and both programs' peak RSS.
# --steps/--warmup apply to both programs (default: each program's preset
# default, 30/5 small and 5/2 paper). --coretype: OPENBLAS_CORETYPE for both
# programs (inherit = leave the environment alone). Run from the repository
# root after `make` (or give --fke).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
presets="fke-small fke-paper"
threads="1 2"
precisions="fp32 bf16"
rounds=3
steps=""
warmup=""
coretype=inherit
fke="$root/build/fke"
torch_script="$root/tools/torch_fke.py"
cnn_only=1
out=""
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)

while [ $# -gt 0 ]; do
    case "$1" in
    --presets) presets=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --coretype) coretype=$2; shift 2 ;;
    --fke) fke=$2; shift 2 ;;
    --torch-script) torch_script=$2; shift 2 ;;
    --no-cnn-only) cnn_only=0; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_vs_torch.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done

case "$coretype" in
inherit) ;;
unset) unset OPENBLAS_CORETYPE ;;
*) OPENBLAS_CORETYPE=$coretype; export OPENBLAS_CORETYPE ;;
esac

if [ ! -x "$fke" ]; then
    echo "bench_vs_torch.sh: $fke not found: run make first, or give --fke PATH" >&2
    exit 1
fi
if [ -z "$py" ]; then
    echo "bench_vs_torch.sh: no python3: cannot run PyTorch nor make the report" >&2
    exit 1
fi
have_torch=1
if ! "$py" -c "import torch" >/dev/null 2>&1; then
    have_torch=0
    echo "bench_vs_torch.sh: PyTorch (python3-torch) is not installed for $py:"
    echo "  measuring fke alone, no ratios. (apt-get install python3-torch)"
elif [ ! -f "$torch_script" ]; then
    have_torch=0
    echo "bench_vs_torch.sh: $torch_script not found: measuring fke alone, no ratios."
fi

date_s=$(date +%Y-%m-%d)
mkdir -p "$root/experiments/results"
[ -n "$out" ] || out="$root/experiments/results/bench-$date_s.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
F="$tmp/fke.jsonl"
T="$tmp/torch.jsonl"
table="$root/tools/bench_table.py"

# Runs a command and writes the peak resident memory of the whole process
# (ru_maxrss, KiB) into the file named first.
rss_run() {
    rssf=$1; shift
    "$py" -c 'import resource, subprocess, sys
r = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(r)' "$rssf" "$@"
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
machine="$(nproc) cores, $cpu, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -srm)"
torch_ver=none
[ $have_torch = 1 ] && torch_ver="torch $("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
fke_ver="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "# $date_s  machine: $machine"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}  fke $fke_ver  $torch_ver"
commands=""

if ! grep -q avx512_bf16 /proc/cpuinfo; then
    case " $precisions " in *" bf16 "*)
        echo "# this CPU has no avx512_bf16: bf16 skipped"
        precisions=$(echo " $precisions " | sed 's/ bf16 / /g') ;;
    esac
fi
echo "# load before: $(uptime | sed 's/.*load average: //') (1, 5, 15 min)"
for preset in $presets; do
  for prec in $precisions; do
    for thr in $threads; do
        fargs="--preset $preset --threads $thr --precision $prec"
        targs="--preset $preset --threads $thr --blas-threads 1 --precision $prec"
        pname=$preset
        [ "$prec" = fp32 ] || pname="$preset/$prec"
        [ -n "$steps" ] && fargs="$fargs --steps $steps" && targs="$targs --steps $steps"
        [ -n "$warmup" ] && fargs="$fargs --warmup $warmup" && targs="$targs --warmup $warmup"
        [ $cnn_only = 0 ] && targs="$targs --no-cnn-only"
        fcmd="$fke bench $fargs"
        tcmd="env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 $py $torch_script $targs"
        commands="$commands;;$fcmd;;$tcmd"
        echo "## $pname, $thr thread(s), $rounds rounds (load $(uptime | sed 's/.*load average: //'))"
        r=1
        while [ $r -le "$rounds" ]; do
            for who in $( [ $((r % 2)) = 1 ] && echo "fke torch" || echo "torch fke"); do
                rm -f "$tmp/one.jsonl" "$tmp/rss"
                if [ $who = fke ]; then
                    rss_run "$tmp/rss" $fcmd --json "$tmp/one.jsonl" --tag "round $r" \
                        >"$tmp/fke-$preset-$prec-$thr-$r.log" 2>&1 ||
                        { echo "fke bench failed:"; cat "$tmp/fke-$preset-$prec-$thr-$r.log"; exit 1; }
                    "$py" "$table" tag "$tmp/one.jsonl" "$F" $r "$(cat "$tmp/rss")"
                elif [ $have_torch = 1 ]; then
                    rss_run "$tmp/rss" env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 \
                        "$py" "$torch_script" $targs --json "$tmp/one.jsonl" --tag "round $r" \
                        >"$tmp/torch-$preset-$prec-$thr-$r.log" 2>&1 ||
                        { echo "torch_fke.py failed:"; cat "$tmp/torch-$preset-$prec-$thr-$r.log"; exit 1; }
                    "$py" "$table" tag "$tmp/one.jsonl" "$T" $r "$(cat "$tmp/rss")"
                fi
            done
            "$py" "$table" round "$F" "$T" "$pname" "$thr" $r
            r=$((r + 1))
        done
        # the last round's fke split, for the log
        sed -n '/^split per training step/,/^step arena/p' "$tmp/fke-$preset-$prec-$thr-$rounds.log"
    done
  done
done
echo "# load after: $(uptime | sed 's/.*load average: //')"

mkdir -p "$(dirname "$out")"
cp "$F" "${out%.md}-fke.jsonl"
[ -f "$T" ] && cp "$T" "${out%.md}-torch.jsonl"
"$py" "$table" report "$F" "$T" "$out" "date=$(date '+%Y-%m-%d %H:%M %Z')" "machine=$machine" \
    "coretype=${OPENBLAS_CORETYPE:-(unset)}" "torch=$torch_ver" "fke=$fke_ver" "commands=$commands"
echo "wrote $out (raw JSON lines next to it)"
