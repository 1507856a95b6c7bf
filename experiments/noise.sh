#!/bin/sh
# Accuracy against noise ratio, with and without forward correction, on
# FashionKE-synth (MODEL.md ablation "noise ratio"). One training set per
# noise ratio (same posts and seed, only the share of machine labels
# changes), several model seeds each; writes experiments/results/noise.md
# and noise.png.
#
#   sh experiments/noise.sh [--ratios "0.0 0.3 0.5 0.7"] [--seeds "1 2 3"] [--epochs 5] [--posts 2000]
set -e
B=${FKE_BUILD:-build}   # FKE_THREADS=N sets each run's thread count (default: all cores)
FKE="$B/fke"
RATIOS="0.0 0.1 0.3 0.5 0.7"; SEEDS="1 2 3"; EPOCHS=5; POSTS=2000
while [ $# -gt 0 ]; do
    case "$1" in
        --ratios) RATIOS="$2"; shift 2 ;;
        --seeds) SEEDS="$2"; shift 2 ;;
        --epochs) EPOCHS="$2"; shift 2 ;;
        --posts) POSTS="$2"; shift 2 ;;
        *) echo "usage: $0 [--ratios R] [--seeds S] [--epochs N] [--posts N]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
D=data/noise; R=runs/noise; OUT=experiments/results
mkdir -p $D $R $OUT
[ -f $D/val.h5 ]  || $FKE data synth --split train --posts 400 --noise-ratio 0 --seed 102 --out $D/val.h5
[ -f $D/test.h5 ] || $FKE data synth --split test --posts 1000 --seed 103 --out $D/test.h5
start=$(date +%s)
: > $R/results.jsonl
for nr in $RATIOS; do
    [ -f $D/train-$nr.h5 ] || $FKE data synth --split train --posts $POSTS --noise-ratio $nr --seed 101 --out $D/train-$nr.h5
    for corr in forward none; do
        for s in $SEEDS; do
            run=$R/n$nr-$corr-s$s
            t0=$(date +%s)
            $FKE train configs/demo.json --quiet --set correction=$corr --set threads=${FKE_THREADS:-0} --set seed=$s \
                --set epochs=$EPOCHS --set lr_step_epochs=$((EPOCHS - 1)) \
                --set train_data=$D/train-$nr.h5 --set val_data=$D/val.h5 --set test_data="" \
                --set out_dir=$run
            line=$($FKE eval $run/best.h5 $D/test.h5 --json --out $run)
            echo "{\"noise\": $nr, \"correction\": \"$corr\", \"seed\": $s, \"seconds\": $(( $(date +%s) - t0 )), \"eval\": $line}" >> $R/results.jsonl
            echo "noise $nr correction $corr seed $s: $line"
        done
    done
done
python3 experiments/table.py noise $R/results.jsonl $OUT/noise.md $OUT/noise.png \
    "posts=$POSTS epochs=$EPOCHS seeds=$SEEDS total=$(( $(date +%s) - start ))s"
cat $OUT/noise.md
