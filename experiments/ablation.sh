#!/bin/sh
# Ablation table of docs/model.md on FashionKE-synth at noise ratio 0.7:
# full model vs text off, context visual/task/none, correction none and the
# GRU cell, each over several seeds (model initialisation, batch order and
# dropout masks). Trains with
# configs/demo.json's recipe (shortened by --epochs), evaluates best.h5 on
# the held-out test posts and writes experiments/results/ablation.md (mean ±
# std), the difference of each variant from the full model (mean over
# seeds, paired by seed, against twice the standard deviations) and a PNG
# bar chart.
#
#   sh experiments/ablation.sh [--seeds "1 2 3 4 5"] [--epochs 6] [--posts 4000] [--test-posts 5000]
#                              [--version 2|3] [--jobs 1] [--variants "full text_off context_visual context_task context_none correction_none cell_gru"]
#
# Variant word_vectors_off is the full model with the caption embedding
# started at random (N(0, 1)) instead of from the data's word vectors.
#
# A seed fixes the model's initialisation, the batch order and the dropout
# masks alike in every variant, so the variants of one seed differ only in
# the switch; the table therefore also gives the per-seed differences.
# 5000 test posts (about 17,700 garments) measure category accuracy to about
# +-0.3 points and occasion accuracy to +-0.7 (binomial standard error);
# 1000 would give +-0.6 and +-1.5, as much as the seeds vary.
#
# --version 3 makes FashionKE-synth version 3 as a release tree and imports
# it (fke data synth --release, fke data import fashionke), with validation
# posts from images no training post uses; its results are
# results/ablation-v3*.md.
#
# --jobs J trains J runs at a time (give each FKE_THREADS=1 on a small machine:
# two 1-thread runs on 2 cores finish sooner than two 2-thread runs in turn).
set -e
B=${FKE_BUILD:-build}   # FKE_THREADS=N sets each run's thread count (default: all cores)
FKE="$B/fke"
SEEDS="1 2 3 4 5"; EPOCHS=6; POSTS=4000; TEST=5000; JOBS=1; VERSION=2
VARIANTS="full text_off context_visual context_task context_none correction_none cell_gru"
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) SEEDS="$2"; shift 2 ;;
        --epochs) EPOCHS="$2"; shift 2 ;;
        --posts) POSTS="$2"; shift 2 ;;
        --test-posts) TEST="$2"; shift 2 ;;
        --variants) VARIANTS="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        *) echo "usage: $0 [--seeds \"1 2 3 4 5\"] [--epochs N] [--posts N] [--test-posts N] [--version 2|3] [--variants \"...\"] [--jobs J]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
. experiments/lib.sh
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, with matplotlib for the PNG
# runs of one budget live apart from another's; the results of the default
# budget are results/ablation.md, of another results/ablation-eEPOCHS-pPOSTS.md
D=data/ablation/p$POSTS; R=runs/ablation/e$EPOCHS-p$POSTS; OUT=experiments/results
NAME=ablation; [ "$EPOCHS-$POSTS" = 6-4000 ] || NAME=ablation-e$EPOCHS-p$POSTS
if [ "$VERSION" = 3 ]; then
    D=data/ablation/v3-p$POSTS; R=runs/ablation/v3-e$EPOCHS-p$POSTS
    NAME=ablation-v3; [ "$EPOCHS-$POSTS" = 6-4000 ] || NAME=ablation-v3-e$EPOCHS-p$POSTS
fi
mkdir -p $D $R $OUT
if [ "$VERSION" = 3 ]; then
    [ -f $D/tree-$TEST/test_ids.json ] || $FKE data synth --release $D/tree-$TEST --posts $POSTS --test-posts $TEST --noise-ratio 0.7 --seed 101
    [ -f $D/train.h5 ] || $FKE data import fashionke $D/tree-$TEST --out $D/train.h5 --t-out $D/T.json > /dev/null
    [ -f $D/val.h5 ]   || $FKE data synth --version 3 --split val --posts 400 --seed 102 --out $D/val.h5
    [ -f $D/test-$TEST.h5 ] || $FKE data import fashionke $D/tree-$TEST --split test --out $D/test-$TEST.h5 > /dev/null
fi
[ -f $D/train.h5 ] || $FKE data synth --split train --posts $POSTS --noise-ratio 0.7 --seed 101 --out $D/train.h5
[ -f $D/val.h5 ]   || $FKE data synth --split train --posts 400 --noise-ratio 0 --seed 102 --out $D/val.h5
[ -f $D/test-$TEST.h5 ] || $FKE data synth --split test --posts $TEST --seed 103 --out $D/test-$TEST.h5
T_INIT=""; [ "$VERSION" = 3 ] && T_INIT=$D/T.json   # the release's confusion counts (version 2: none)
start=$(date +%s)
one() { # variant seed: train (unless trained before), evaluate best.h5 on the test posts
    variant=$1; s=$2
    case $variant in
        full) set_v="" ;;
        text_off) set_v="--set text=off" ;;
        context_*) set_v="--set context=${variant#context_}" ;;
        correction_none) set_v="--set correction=none" ;;
        cell_gru) set_v="--set cell=gru" ;;
        word_vectors_off) set_v="--set word_vectors=false" ;;   # the embedding from its own random start
        *) echo "ablation: unknown variant $variant" >&2; return 1 ;;
    esac
    run=$R/$variant-s$s
    # $run.json: the training time and the evaluation on $TEST test posts; a
    # run trained before but evaluated on another test set (or by an fke
    # without per-attribute results) is evaluated again
    if [ -f $run.json ] && grep -q "\"posts\": $TEST,.*att_acc_k" $run.json; then
        echo "$variant seed $s: done before ($run.json)"; return 0
    fi
    if [ -f $run.json ] && [ -f $run/best.h5 ]; then
        sec=$(sed 's/.*"seconds": \([0-9]*\).*/\1/' $run.json)
    else
        t0=$(date +%s)
        $FKE train configs/demo.json --quiet --force $set_v --set threads=${FKE_THREADS:-0} --set seed=$s --set epochs=$EPOCHS \
            --set lr_step_epochs=$((EPOCHS - 1)) --set train_data=$D/train.h5 \
            --set val_data=$D/val.h5 --set test_data="" --set t_init=$T_INIT --set out_dir=$run > $run.log 2>&1 ||
            { echo "ablation: $variant seed $s failed, see $run.log" >&2; return 1; }
        sec=$(( $(date +%s) - t0 ))
    fi
    line=$($FKE eval $run/best.h5 $D/test-$TEST.h5 --json --out $run) || return 1
    echo "{\"variant\": \"$variant\", \"seed\": $s, \"epochs\": $EPOCHS, \"seconds\": $sec, \"eval\": $line}" > $run.json
    echo "$variant seed $s: $line ($sec s training)"
}
# seed by seed, so that a run stopped early has every variant at the same seeds
for s in $SEEDS; do
    for variant in $VARIANTS; do job one $variant $s; done
done
jobs_wait
for variant in $VARIANTS; do for s in $SEEDS; do cat $R/$variant-s$s.json; done; done > $R/results.jsonl
$PY experiments/table.py ablation $R/results.jsonl $OUT/$NAME.md $OUT/$NAME.png \
    "posts=$POSTS epochs=$EPOCHS test posts=$TEST seeds=$SEEDS total=$(( $(date +%s) - start ))s"
cat $OUT/$NAME.md
