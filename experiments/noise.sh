#!/bin/sh
# Accuracy against noise ratio, with and without forward correction, on
# FashionKE-synth (docs/model.md, ablation "noise ratio"). One training set per
# noise ratio (same posts and seed, only the share of machine labels
# changes), several model seeds each; writes experiments/results/noise.md
# and noise.png.
#
#   sh experiments/noise.sh [--ratios "0.0 0.3 0.5 0.7"] [--seeds "1 2 3"] [--epochs 6] [--posts 4000]
#                           [--test-posts 5000] [--version 2|3] [--jobs 1]
#
# At noise ratio 0 there are no machine labels, so correction forward and
# none train the same model: it is trained once and reported for both.
# --jobs J trains J runs at a time (with FKE_THREADS=1 on a small machine).
#
# --version 3 makes FashionKE-synth version 3 as one release tree per noise
# ratio (fke data synth --release, same seed: the same posts and pictures,
# only which of them carry machine labels changes), imports each
# (fke data import fashionke, with the release's confusion counts as t_init)
# and writes results/noise-v3.md; the validation posts are version 3's
# (images no training post uses), as in experiments/ablation.sh --version 3.
set -e
B=${FKE_BUILD:-build}   # FKE_THREADS=N sets each run's thread count (default: all cores)
FKE="$B/fke"
RATIOS="0.0 0.1 0.3 0.5 0.7"; SEEDS="1 2 3"; EPOCHS=6; POSTS=4000; TEST=5000; JOBS=1; VERSION=2
while [ $# -gt 0 ]; do
    case "$1" in
        --ratios) RATIOS="$2"; shift 2 ;;
        --seeds) SEEDS="$2"; shift 2 ;;
        --epochs) EPOCHS="$2"; shift 2 ;;
        --posts) POSTS="$2"; shift 2 ;;
        --test-posts) TEST="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        *) echo "usage: $0 [--ratios R] [--seeds S] [--epochs N] [--posts N] [--test-posts N] [--version 2|3] [--jobs J]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
. experiments/lib.sh
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, with matplotlib for the PNG
D=data/noise; R=runs/noise; OUT=experiments/results; NAME=noise
A=data/ablation/p$POSTS; AR=runs/ablation/e$EPOCHS-p$POSTS   # experiments/ablation.sh's data and runs
if [ "$VERSION" = 3 ]; then
    D=data/noise/v3-p$POSTS; R=runs/noise/v3-e$EPOCHS-p$POSTS; NAME=noise-v3
    A=data/ablation/v3-p$POSTS; AR=runs/ablation/v3-e$EPOCHS-p$POSTS
fi
mkdir -p $D $R $OUT
if [ "$VERSION" = 3 ]; then
    [ -f $D/val.h5 ] || $FKE data synth --version 3 --split val --posts 400 --seed 102 --out $D/val.h5
    # the ablation's test posts are these (same tree parameters): taken as
    # they are, so that its ratio-0.7 runs are reused (the cmp in one())
    [ -f $D/test-$TEST.h5 ] || [ ! -f $A/test-$TEST.h5 ] || cp $A/test-$TEST.h5 $D/test-$TEST.h5
else
    [ -f $D/val.h5 ]  || $FKE data synth --split train --posts 400 --noise-ratio 0 --seed 102 --out $D/val.h5
    [ -f $D/test-$TEST.h5 ] || $FKE data synth --split test --posts $TEST --seed 103 --out $D/test-$TEST.h5
fi
# train-R.h5 (and, for version 3, T-R.json and test-TEST.h5) for ratio R
make_train() {
    nr=$1
    [ -f $D/train-$nr.h5 ] && return 0
    if [ "$VERSION" = 3 ]; then
        # ratio 0.7 is experiments/ablation.sh --version 3's tree (the same
        # posts, test posts, ratio and seed): its imported files as they are
        # (when its test posts are here too; else this tree makes them)
        if [ "$nr" = 0.7 ] && [ -f $A/train.h5 ] && [ -f $A/T.json ] && [ -f $D/test-$TEST.h5 ]; then
            cp $A/train.h5 $D/train-$nr.h5; cp $A/T.json $D/T-$nr.json
            return 0
        fi
        tree=$D/tree-$nr
        [ -f $tree/test_ids.json ] || $FKE data synth --release $tree --posts $POSTS --test-posts $TEST --noise-ratio $nr --seed 101
        $FKE data import fashionke $tree --noise-ratio $nr --out $D/train-$nr.h5 --t-out $D/T-$nr.json > /dev/null
        # the test posts do not depend on the ratio (only the tree's name in
        # the file's provenance does): the first tree gives them
        [ -f $D/test-$TEST.h5 ] || $FKE data import fashionke $tree --split test --out $D/test-$TEST.h5 > /dev/null
        rm -rf $tree   # the imported files hold all of it
    else
        $FKE data synth --split train --posts $POSTS --noise-ratio $nr --seed 101 --out $D/train-$nr.h5
    fi
}
start=$(date +%s)
one() { # ratio correction seed
    nr=$1; corr=$2; s=$3
    run=$R/n$nr-$corr-s$s
    if [ -f $run.json ] && grep -q "\"posts\": $TEST," $run.json; then
        echo "noise $nr correction $corr seed $s: done before ($run.json)"; return 0
    fi
    # experiments/ablation.sh trains the same runs at ratio 0.7 (same data,
    # byte for byte, and recipe): take its results instead of training again
    a=$AR/$( [ $corr = forward ] && echo full || echo correction_none )-s$s.json
    if [ -f $a ] && grep -q "\"epochs\": $EPOCHS," $a && grep -q "\"posts\": $TEST," $a &&
       cmp -s $D/train-$nr.h5 $A/train.h5 && cmp -s $D/val.h5 $A/val.h5 && cmp -s $D/test-$TEST.h5 $A/test-$TEST.h5 &&
       { [ "$VERSION" = 2 ] || cmp -s $D/T-$nr.json $A/T.json; }; then
        sed "s/\"variant\": \"[a-z_]*\"/\"noise\": $nr, \"correction\": \"$corr\"/" $a > $run.json
        echo "noise $nr correction $corr seed $s: from $a"
        return 0
    fi
    T_INIT=""; [ "$VERSION" = 3 ] && T_INIT=$D/T-$nr.json   # the release's confusion counts
    # a run trained before but evaluated on another test set is evaluated again
    if [ -f $run.json ] && [ -f $run/best.h5 ]; then
        sec=$(head -1 $run.json | sed 's/.*"seconds": \([0-9]*\).*/\1/')
    else
        t0=$(date +%s)
        $FKE train configs/demo.json --quiet --force --set correction=$corr --set threads=${FKE_THREADS:-0} --set seed=$s \
            --set epochs=$EPOCHS --set lr_step_epochs=$((EPOCHS - 1)) \
            --set train_data=$D/train-$nr.h5 --set val_data=$D/val.h5 --set test_data="" --set t_init=$T_INIT \
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
    make_train $nr
    clean=$(awk "BEGIN { print ($nr == 0) }")
    for corr in none $( [ "$clean" = 1 ] || echo forward ); do
        for s in $SEEDS; do job one $nr $corr $s; done
    done
done
jobs_wait
for nr in $RATIOS; do for s in $SEEDS; do
    cat $R/n$nr-none-s$s.json; [ -f $R/n$nr-forward-s$s.json ] && cat $R/n$nr-forward-s$s.json
done; done > $R/results.jsonl
$PY experiments/table.py noise $R/results.jsonl $OUT/$NAME.md $OUT/$NAME.png \
    "posts=$POSTS epochs=$EPOCHS test posts=$TEST seeds=$SEEDS total=$(( $(date +%s) - start ))s"
cat $OUT/$NAME.md
