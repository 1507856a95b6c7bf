#!/bin/sh
# Ablation table of MODEL.md on FashionKE-synth at noise ratio 0.7:
# full model vs text off, context visual/task/none, correction none, each
# over several seeds (model initialisation and batch order). Trains with
# configs/demo.json's recipe (shortened by --epochs), evaluates best.h5 on
# the held-out test posts and writes experiments/results/ablation.md (mean ±
# std) and a PNG bar chart.
#
#   sh experiments/ablation.sh [--seeds "1 2 3"] [--epochs 6] [--posts 4000] [--jobs 1]
#                              [--variants "full text_off context_visual context_task context_none correction_none"]
#
# --jobs J trains J runs at a time (give each FKE_THREADS=1 on a small machine:
# two 1-thread runs on 2 cores finish sooner than two 2-thread runs in turn).
set -e
B=${FKE_BUILD:-build}   # FKE_THREADS=N sets each run's thread count (default: all cores)
FKE="$B/fke"
SEEDS="1 2 3"; EPOCHS=6; POSTS=4000; JOBS=1
VARIANTS="full text_off context_visual context_task context_none correction_none"
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) SEEDS="$2"; shift 2 ;;
        --epochs) EPOCHS="$2"; shift 2 ;;
        --posts) POSTS="$2"; shift 2 ;;
        --variants) VARIANTS="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        *) echo "usage: $0 [--seeds \"1 2 3\"] [--epochs N] [--posts N] [--variants \"...\"] [--jobs J]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, with matplotlib for the PNG
# runs of one budget live apart from another's; the results of the default
# budget are results/ablation.md, of another results/ablation-eEPOCHS-pPOSTS.md
D=data/ablation/p$POSTS; R=runs/ablation/e$EPOCHS-p$POSTS; OUT=experiments/results
NAME=ablation; [ "$EPOCHS-$POSTS" = 6-4000 ] || NAME=ablation-e$EPOCHS-p$POSTS
mkdir -p $D $R $OUT
[ -f $D/train.h5 ] || $FKE data synth --split train --posts $POSTS --noise-ratio 0.7 --seed 101 --out $D/train.h5
[ -f $D/val.h5 ]   || $FKE data synth --split train --posts 400 --noise-ratio 0 --seed 102 --out $D/val.h5
[ -f $D/test.h5 ]  || $FKE data synth --split test --posts 1000 --seed 103 --out $D/test.h5
start=$(date +%s)
one() { # variant seed: train, evaluate best.h5 on the test posts, append a line
    variant=$1; s=$2
    case $variant in
        full) set_v="" ;;
        text_off) set_v="--set text=off" ;;
        context_*) set_v="--set context=${variant#context_}" ;;
        correction_none) set_v="--set correction=none" ;;
        *) echo "ablation: unknown variant $variant" >&2; return 1 ;;
    esac
    run=$R/$variant-s$s
    [ -f $run.json ] && { echo "$variant seed $s: done before ($run.json)"; return 0; }
    t0=$(date +%s)
    $FKE train configs/demo.json --quiet $set_v --set threads=${FKE_THREADS:-0} --set seed=$s --set epochs=$EPOCHS \
        --set lr_step_epochs=$((EPOCHS - 1)) --set train_data=$D/train.h5 \
        --set val_data=$D/val.h5 --set test_data="" --set out_dir=$run > $run.log 2>&1 ||
        { echo "ablation: $variant seed $s failed, see $run.log" >&2; return 1; }
    line=$($FKE eval $run/best.h5 $D/test.h5 --json --out $run) || return 1
    echo "{\"variant\": \"$variant\", \"seed\": $s, \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - t0 )), \"eval\": $line}" > $run.json
    echo "$variant seed $s: $line ($(( $(date +%s) - t0 )) s)"
}
n=0; pids=""
for variant in $VARIANTS; do
    for s in $SEEDS; do
        one $variant $s & pids="$pids $!"
        n=$((n + 1))
        if [ $n -ge $JOBS ]; then
            for p in $pids; do wait $p; done
            n=0; pids=""
        fi
    done
done
for p in $pids; do wait $p; done
for variant in $VARIANTS; do for s in $SEEDS; do cat $R/$variant-s$s.json; done; done > $R/results.jsonl
$PY experiments/table.py ablation $R/results.jsonl $OUT/$NAME.md $OUT/$NAME.png \
    "posts=$POSTS epochs=$EPOCHS seeds=$SEEDS total=$(( $(date +%s) - start ))s"
cat $OUT/$NAME.md
