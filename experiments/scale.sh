#!/bin/sh
# Data-parallel scaling (README "Training across processes"): the training
# step of fke train in 1 process (no mpirun) and in N processes (mpirun -np N),
# each with T threads, on the same global batch of 20 posts, alternating the
# programs round by round, for both presets.
#
#   sh experiments/scale.sh [--rounds R] [--procs "1 2"] [--threads T]
#                           [--presets "fke-small fke-paper"] [--steps-small S]
#                           [--steps-paper S] [--out FILE.md]
#
# Per run: the median step time over its steps after the first (from
# metrics.jsonl: 20 posts / posts_per_s; for N > 1 also the allreduce share,
# the part of rank 0's step spent in the gradient, loss and buffer sums, waits
# for the slower rank included). Per configuration: the median over rounds,
# and the speedup against 1 process measured in the same rounds. Also the
# CPU seconds of the whole job (all ranks, /usr/bin/time: data loading and
# the arena's dry-run step included, which split like the steps do): on a
# loaded machine the wall-clock speedup says how much CPU the scheduler gave,
# while cpu(1) / cpu(N) says how evenly the work splits, and N x cpu(1) /
# cpu(N) is what N idle cores would give (the estimate in the last column).
# The load
# (uptime) before every run goes into the table: on a shared machine it is
# part of the result. Data: FashionKE-synth, 64 px posts with 32 px crops for
# fke-small, resized to 224 for fke-paper (made once under $SCALE_DATA).
set -e
ROUNDS=3; PROCS="1 2"; THREADS=1; PRESETS="fke-small fke-paper"; SS=12; SP=3
OUT=experiments/results/scale-$(date -u +%Y-%m-%d).md
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --procs) PROCS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --presets) PRESETS=$2; shift 2 ;;
    --steps-small) SS=$2; shift 2 ;;
    --steps-paper) SP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
F=${FKE:-build/fke}
[ -x "$F" ] || { echo "scale.sh: $F missing (make)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "scale.sh: mpirun missing (sh tools/deps.sh)" >&2; exit 1; }
W=${SCALE_DATA:-/tmp/fke-scale}
mkdir -p "$W" "$(dirname "$OUT")"
rm -f "$W/all"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
case " $PRESETS " in *" fke-small "*)
    [ -e "$W/small.h5" ] || "$F" data synth --split train --posts 200 --seed 1 --out "$W/small.h5" >/dev/null ;;
esac
case " $PRESETS " in *" fke-paper "*)
    [ -e "$W/paper.h5" ] || "$F" data synth --split train --posts 100 --seed 1 --img 224 --crop 224 \
        --out "$W/paper.h5" >/dev/null ;;
esac

# run PRESET NPROC ROUND: one run; prints "step_s share load cpu_s"
run() {
    data=$W/small.h5; steps=$SS
    [ "$1" = fke-paper ] && data=$W/paper.h5 && steps=$SP
    dir=$W/run-$1-$2-$3
    rm -rf "$dir"
    load=$(uptime | sed 's/.*load average: \([0-9.]*\).*/\1/')
    set -- "$1" "$2" "$3" "$data" "$steps" "$dir"
    args="--set preset=$1 --set train_data=$4 --set steps=$5 --set out_dir=$6 --set threads=$THREADS
          --set log_every=1 --set eval_every=1000000 --set val_split=0 --set bn_recalibrate=0
          --set batch=20 --quiet"
    echo '{}' > "$W/empty.json"
    if [ "$2" = 1 ]; then
        # shellcheck disable=SC2086
        /usr/bin/time -f "%U %S" -o "$W/cpu" "$F" train "$W/empty.json" $args
    else
        # shellcheck disable=SC2086
        /usr/bin/time -f "%U %S" -o "$W/cpu" mpirun --oversubscribe -np "$2" --bind-to none \
            --mca btl self,vader --mca mpi_yield_when_idle 1 "$F" train "$W/empty.json" $args
    fi
    cpu=$(tail -n 1 "$W/cpu" | awk '{ print $1 + $2 }')
    # steps after the first: 20 / posts_per_s, and the allreduce share
    sed -n 's/^{"step": \([0-9]*\),.*"posts_per_s": \([0-9.]*\),.*/\1 \2/p' "$6/metrics.jsonl" |
        awk '$1 > 1 { print 20 / $2 }' | sort -g > "$W/t"
    sed -n 's/.*"step": \([0-9]*\),.*"allreduce_share": \([0-9.]*\)}.*/\1 \2/p' "$6/metrics.jsonl" |
        awk '$1 > 1 { print $2 }' | sort -g > "$W/s"
    echo "$(med "$W/t") $( [ -s "$W/s" ] && med "$W/s" || echo -) $load $cpu"
}
med() { awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }' "$1"; }

{
    echo "# Data-parallel scaling, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "fke $("$F" --version | head -n 1 | sed 's/^fke //'); $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1));"
    echo "$THREADS thread(s) per process; global batch 20 posts; $ROUNDS rounds, programs alternated;"
    echo "steps timed: fke-small $((SS - 1)), fke-paper $((SP - 1)) per run (the first is left out)."
    echo "Load: the 1-minute load average before each run (other engineers' jobs share the machine)."
    echo
    echo "| preset | round | processes | step s | posts/s | allreduce share | load | job CPU s |"
    echo "|---|---|---|---|---|---|---|---|"
} > "$OUT"
for preset in $PRESETS; do
    for r in $(seq 1 "$ROUNDS"); do
        order=$PROCS
        [ $((r % 2)) = 0 ] && order=$(echo "$PROCS" | tr ' ' '\n' | sort -rn | tr '\n' ' ')
        for n in $order; do
            set -- $(run "$preset" "$n" "$r")
            echo "| $preset | $r | $n | $1 | $(awk -v t="$1" 'BEGIN { printf "%.1f", 20 / t }') | $2 | $3 | $4 |" >> "$OUT"
            echo "$preset $n $1 $4" >> "$W/all"
            echo "scale: $preset round $r, $n process(es): step $1 s, allreduce share $2, load $3" >&2
        done
    done
done
{
    echo
    echo "| preset | processes | median step s | posts/s | speedup vs 1 (wall) | median job CPU s | cpu(1) / cpu(N) | N idle cores: N x cpu(1) / cpu(N) |"
    echo "|---|---|---|---|---|---|---|---|"
    for preset in $PRESETS; do
        base=""; cbase=""
        for n in $PROCS; do
            grep "^$preset $n " "$W/all" | tail -n "$ROUNDS" | awk '{ print $3 }' | sort -g > "$W/m"
            m=$(med "$W/m")
            grep "^$preset $n " "$W/all" | tail -n "$ROUNDS" | awk '{ print $4 }' | sort -g > "$W/m"
            c=$(med "$W/m")
            [ -z "$base" ] && base=$m && cbase=$c
            echo "| $preset | $n | $m | $(awk -v t="$m" 'BEGIN { printf "%.1f", 20 / t }') | $(awk -v a="$base" -v b="$m" 'BEGIN { printf "%.2f", a / b }') | $c | $(awk -v a="$cbase" -v b="$c" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$cbase" -v b="$c" -v n="$n" 'BEGIN { printf "%.2f", n * a / b }') |"
        done
    done
} >> "$OUT"
rm -f "$W/all"
cat "$OUT"
