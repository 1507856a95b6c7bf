#!/bin/sh
# Accuracy against noise ratio, with and without forward correction, on
# FashionKE-synth (docs/model.md, ablation "noise ratio"). One training set per
# noise ratio (same posts and seed, only the share of machine labels
# changes), several model seeds each; writes experiments/results/noise.md
# and noise.png.
#
#   sh experiments/noise.sh [--ratios "0.0 0.3 0.5 0.7"] [--seeds "1 2 3"] [--epochs 6] [--posts 4000]
#                           [--test-posts 5000] [--jobs 1]
#
# At noise ratio 0 there are no machine labels, so correction forward and
# none train the same model: it is trained once and reported for both.
# --jobs J trains J runs at a time (with FKE_THREADS=1 on a small machine).
set -e
B=${FKE_BUILD:-build}   # FKE_THREADS=N sets each run's thread count (default: all cores)
FKE="$B/fke"
RATIOS="0.0 0.1 0.3 0.5 0.7"; SEEDS="1 2 3"; EPOCHS=6; POSTS=4000; TEST=5000; JOBS=1
while [ $# -gt 0 ]; do
    case "$1" in
        --ratios) RATIOS="$2"; shift 2 ;;
        --seeds) SEEDS="$2"; shift 2 ;;
        --epochs) EPOCHS="$2"; shift 2 ;;
        --posts) POSTS="$2"; shift 2 ;;
        --test-posts) TEST="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        *) echo "usage: $0 [--ratios R] [--seeds S] [--epochs N] [--posts N] [--test-posts N] [--jobs J]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
. experiments/lib.sh
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, with matplotlib for the PNG
D=data/noise; R=runs/noise; OUT=experiments/results
mkdir -p $D $R $OUT
[ -f $D/val.h5 ]  || $FKE data synth --split train --posts 400 --noise-ratio 0 --seed 102 --out $D/val.h5
[ -f $D/test-$TEST.h5 ] || $FKE data synth --split test --posts $TEST --seed 103 --out $D/test-$TEST.h5
start=$(date +%s)
one() { # ratio correction seed
    nr=$1; corr=$2; s=$3
    run=$R/n$nr-$corr-s$s
    if [ -f $run.json ] && grep -q "\"posts\": $TEST," $run.json; then
        echo "noise $nr correction $corr seed $s: done before ($run.json)"; return 0
    fi
    # experiments/ablation.sh trains the same runs at ratio 0.7 (same data,
    # byte for byte, and recipe): take its results instead of training again
    a=runs/ablation/e$EPOCHS-p$POSTS/$( [ $corr = forward ] && echo full || echo correction_none )-s$s.json
    A=data/ablation/p$POSTS
    if [ -f $a ] && grep -q "\"epochs\": $EPOCHS," $a && grep -q "\"posts\": $TEST," $a &&
       cmp -s $D/train-$nr.h5 $A/train.h5 && cmp -s $D/val.h5 $A/val.h5 && cmp -s $D/test-$TEST.h5 $A/test-$TEST.h5; then
        sed "s/\"variant\": \"[a-z_]*\"/\"noise\": $nr, \"correction\": \"$corr\"/" $a > $run.json
        echo "noise $nr correction $corr seed $s: from $a"
        return 0
    fi
    # a run trained before but evaluated on another test set is evaluated again
    if [ -f $run.json ] && [ -f $run/best.h5 ]; then
        sec=$(head -1 $run.json | sed 's/.*"seconds": \([0-9]*\).*/\1/')
    else
        t0=$(date +%s)
        $FKE train configs/demo.json --quiet --force --set correction=$corr --set threads=${FKE_THREADS:-0} --set seed=$s \
            --set epochs=$EPOCHS --set lr_step_epochs=$((EPOCHS - 1)) \
            --set train_data=$D/train-$nr.h5 --set val_data=$D/val.h5 --set test_data="" --set t_init= \
            --set out_dir=$run > $run.log 2>&1 ||
            { echo "noise: ratio $nr correction $corr seed $s failed, see $run.log" >&2; return 1; }
        sec=$(( $(date +%s) - t0 ))
    fi
    line=$($FKE eval $run/best.h5 $D/test-$TEST.h5 --json --out $run) || return 1
    clean=$(awk "BEGIN { print ($nr == 0) }")
    for c in $corr $( [ "$clean" = 1 ] && echo forward ); do
        echo "{\"noise\": $nr, \"correction\": \"$c\", \"seed\": $s, \"epochs\": $EPOCHS, \"seconds\": $sec, \"eval\": $line}"
    done > $run.json
    echo "noise $nr correction $corr seed $s: $line"
}
for nr in $RATIOS; do
    [ -f $D/train-$nr.h5 ] || $FKE data synth --split train --posts $POSTS --noise-ratio $nr --seed 101 --out $D/train-$nr.h5
    clean=$(awk "BEGIN { print ($nr == 0) }")
    for corr in none $( [ "$clean" = 1 ] || echo forward ); do
        for s in $SEEDS; do job one $nr $corr $s; done
    done
done
jobs_wait
for nr in $RATIOS; do for s in $SEEDS; do
    cat $R/n$nr-none-s$s.json; [ -f $R/n$nr-forward-s$s.json ] && cat $R/n$nr-forward-s$s.json
done; done > $R/results.jsonl
$PY experiments/table.py noise $R/results.jsonl $OUT/noise.md $OUT/noise.png \
    "posts=$POSTS epochs=$EPOCHS test posts=$TEST seeds=$SEEDS total=$(( $(date +%s) - start ))s"
cat $OUT/noise.md
