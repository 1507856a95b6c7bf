#!/bin/sh
# Active learning on FashionKE-synth (issue 6, part 4): start from a training
# set with a small clean share, train, let `fke query` choose K
# machine-labelled posts per round with each strategy (least confidence,
# margin, entropy, random), reveal their true labels (`fke data reveal`),
# train again, for a few rounds; over several seeds. Writes
# experiments/results/active.md (test accuracy against the number of posts
# checked, mean ± std over seeds) and active.png.
#
#   sh experiments/active.sh [--seeds "1 2 3"] [--posts 2000] [--noise 0.9]
#        [--k 100] [--rounds 3] [--steps0 400] [--steps 150] [--jobs 2]
#        [--test-posts 1000] [--out experiments/results] [--keep]
#
# --keep reuses data/active and the round-0 models of runs/active where they
# exist (they are the same bit for bit: fixed data seeds, one thread), so
# a run can change --k/--rounds/--steps without training round 0 again; the
# wall time printed then excludes round 0.
#
# Retraining is a warm start: round 0 trains from scratch (--steps0 steps,
# lr 0.03, x0.1 for the last quarter); every later round starts from the
# previous round's weights (init_from) and trains --steps more steps at lr
# 0.01 (x0.1 after one epoch, 100 steps at 2000 posts) on the revealed set. A warm start costs a
# fraction of a retraining from scratch, which is what makes 3 seeds x 4
# strategies x 3 rounds fit in ~40 minutes of a shared 2-core machine. Because
# later rounds also train longer, the script runs a control, "none": the
# same warm-started rounds with nothing revealed, so the gain of the labels
# can be told apart from the gain of the extra steps.
#
# Round 0 is shared: for a seed, every strategy starts from the same model
# and data. The seed sets the weights, the batch order and random's draws;
# the data sets are fixed (seeds 301-303). Each fke run gets one thread and
# runs under nice 19; --jobs chains run side by side.
set -e
B=${FKE_BUILD:-build}
FKE="$B/fke"
KEEP=""; SEEDS="1 2 3"; POSTS=2000; NOISE=0.9; K=100; ROUNDS=3; STEPS0=400; STEPS=150; JOBS=2
TEST_POSTS=1000; OUT=experiments/results; D=data/active; R=runs/active
STRATEGIES="least margin entropy random none"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

train() { # train OUT_DIR SEED STEPS DATA [INIT]
    if [ -z "$5" ]; then
        # an epoch is POSTS/20 steps; lr x0.1 for the last quarter
        set_lr="--set lr=0.03 --set lr_step_epochs=$(( $3 * 3 / 4 / (POSTS / 20) ))"
        init=""
    else
        set_lr="--set lr=0.01 --set lr_step_epochs=1"
        init="--set init_from=$5"
    fi
    nice -n 19 $FKE train configs/demo.json --quiet --force --set val_split=0 --set threads=1 --set seed=$2 \
        --set steps=$3 --set eval_every=$3 --set log_every=1000 $set_lr $init \
        --set train_data=$4 --set val_data= --set test_data= --set t_init= --set out_dir=$1
}

evaluate() { # evaluate CKPT -> one JSON object
    nice -n 19 $FKE eval "$1" $D/test.h5 --json --out "$(dirname "$1")"
}

# one strategy for one seed: ROUNDS rounds after the shared round 0
chain() { # chain STRATEGY SEED
    s=$1; seed=$2; res=$R/$s-s$seed.jsonl
    : > $res
    prev=$R/r0-s$seed/last.h5; data=$D/train.h5
    for r in $(seq 1 $ROUNDS); do
        t0=$(date +%s)
        run=$R/$s-s$seed-r$r; mkdir -p $run
        wrong='"cat_wrong": 0, "garments": 0, "attr_wrong": 0, "attr_labels": 0'
        if [ "$s" != none ]; then
            nice -n 19 $FKE query $prev $data --strategy $s --budget $K --seed $((seed * 1000 + r)) \
                --out $run/query.jsonl >/dev/null
            msg=$(nice -n 19 $FKE data reveal $data $run/query.jsonl $run/train.h5)
            # "revealed K posts (G garments): C of G category labels and A of L attribute labels were wrong; ..."
            wrong=$(echo "$msg" | sed -n 's/.*(\([0-9]*\) garments): \([0-9]*\) of [0-9]* category labels and \([0-9]*\) of \([0-9]*\) attribute.*/"cat_wrong": \2, "garments": \1, "attr_wrong": \3, "attr_labels": \4/p')
            [ -n "$wrong" ] || { echo "active.sh: cannot read the reveal message: $msg" >&2; exit 1; }
            [ "$data" = $D/train.h5 ] || rm -f "$data"   # keep only the latest revealed set
            data=$run/train.h5
        fi
        train $run $seed $STEPS $data $prev
        line=$(evaluate $run/last.h5)
        checked=$((r * K)); [ "$s" != none ] || checked=0
        echo "{\"strategy\": \"$s\", \"seed\": $seed, \"round\": $r, \"checked\": $checked, $wrong, \"seconds\": $(( $(date +%s) - t0 )), \"eval\": $line}" >> $res
        echo "$s seed $seed round $r: $(echo "$line" | sed 's/.*"cat_acc": \([0-9.]*\).*"att_acc": \([0-9.]*\).*/category \1 attributes \2/') ($(( $(date +%s) - t0 )) s)"
        prev=$run/last.h5
    done
}

if [ "$1" = "--chain" ]; then  # internal: one chain, run by xargs below
    POSTS=$3; K=$4; ROUNDS=$5; STEPS=$6
    chain "$2" "$7"
    exit 0
fi

while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) SEEDS="$2"; shift 2 ;;
        --posts) POSTS="$2"; shift 2 ;;
        --noise) NOISE="$2"; shift 2 ;;
        --k) K="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --steps0) STEPS0="$2"; shift 2 ;;
        --steps) STEPS="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --test-posts) TEST_POSTS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --strategies) STRATEGIES="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make B="$B" all
. experiments/lib.sh
start=$(date +%s)
if [ -z "$KEEP" ]; then rm -rf $D $R; else for s in $STRATEGIES; do rm -rf $R/$s-s*; done; rm -f $R/results.jsonl; fi
mkdir -p $D $R $OUT
[ -f $D/train.h5 ] || nice -n 19 $FKE data synth --split train --posts $POSTS --noise-ratio $NOISE --seed 301 --out $D/train.h5
[ -f $D/test.h5 ] || nice -n 19 $FKE data synth --split test --posts $TEST_POSTS --seed 303 --out $D/test.h5
generator=$(git log -1 --format='%h' 2>/dev/null || echo unknown)

# round 0: one model per seed, shared by every strategy
r0() {
    seed=$1; t0=$(date +%s); run=$R/r0-s$seed
    if [ -n "$KEEP" ] && [ -s $run/last.h5 ] && [ -s $R/r0-s$seed.jsonl ]; then
        echo "round 0 seed $seed: kept $run"; return 0
    fi
    train $run $seed $STEPS0 $D/train.h5
    line=$(evaluate $run/last.h5)
    for s in $STRATEGIES; do
        echo "{\"strategy\": \"$s\", \"seed\": $seed, \"round\": 0, \"checked\": 0, \"cat_wrong\": 0, \"garments\": 0, \"attr_wrong\": 0, \"attr_labels\": 0, \"seconds\": $(( $(date +%s) - t0 )), \"eval\": $line}"
    done > $R/r0-s$seed.jsonl
    echo "round 0 seed $seed: $(echo "$line" | sed 's/.*"cat_acc": \([0-9.]*\).*"att_acc": \([0-9.]*\).*/category \1 attributes \2/') ($(( $(date +%s) - t0 )) s)"
}
for seed in $SEEDS; do job r0 $seed; done
jobs_wait
for seed in $SEEDS; do [ -s $R/r0-s$seed/last.h5 ] || { echo "active.sh: round 0 seed $seed failed" >&2; exit 1; }; done

# the chains, JOBS at a time
for seed in $SEEDS; do for s in $STRATEGIES; do echo "$s $seed"; done; done |
    FKE_BUILD=$B xargs -P $JOBS -L 1 sh -c 'sh "$0" --chain "$1" '"$POSTS $K $ROUNDS $STEPS"' "$2"' "$0"

total=$(( $(date +%s) - start ))
for s in $STRATEGIES; do cat $R/$s-s*.jsonl; done | cat $R/r0-s*.jsonl - > $R/results.jsonl
PY=python3; /usr/bin/python3 -c "import matplotlib" 2>/dev/null && PY=/usr/bin/python3
$PY experiments/active_table.py $R/results.jsonl $OUT/active.md $OUT/active.png \
    "fke $generator; train $POSTS posts at noise ratio $NOISE ($(awk "BEGIN{printf \"%d\", $POSTS * (1 - $NOISE) + 0.5}") clean), test $TEST_POSTS posts; K = $K posts per round, $ROUNDS rounds; round 0 $STEPS0 steps from scratch, then $STEPS warm-started steps per round; seeds $SEEDS; $JOBS jobs at 1 thread; wall time $((total / 60)) min $((total % 60)) s"
cat $OUT/active.md
