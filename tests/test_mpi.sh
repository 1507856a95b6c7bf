#!/bin/sh
# Data-parallel training over MPI (README "Training across processes",
# run/train.h, core/dist.h), two ranks on one machine:
#   - with sync_bn, the weights after k steps of `mpirun -np 2 fke train`
#     equal a single-process run on the same global batches within 1e-5
#     relative per tensor, and the loss lines are the same;
#   - dist_check: every rank holds the same bits after every step (and the
#     check fails when one rank's weights are nudged);
#   - one writer: metrics.jsonl has each line once;
#   - the sharded evaluation, and the final test of best.h5, give the
#     single-process numbers of the same weights (fke eval in one process);
#   - a resume under mpirun ends bit for bit where the uninterrupted run did;
#     a resume with another number of processes is refused;
#   - ranks that run different fke versions are refused;
#   - a rank killed with SIGKILL ends the job within 60 s, naming the rank,
#     and last.h5 still loads;
#   - fke train without mpirun does not start MPI (no "ranks" in its lines).
. tests/lib.sh
if ! command -v mpirun >/dev/null 2>&1; then
    echo "SKIP test_mpi.sh: mpirun not found (tools/deps.sh installs openmpi-bin)"
    echo "RESULT 0 0"
    exit 0
fi
D="$B/tests/helpers/ckpt_diff"
[ -x "$D" ] || { echo "  FAILED $D missing (make test builds it)"; echo "RESULT 0 1"; exit 1; }
# CI runs as root; two ranks on two cores, neither pinned, yielding while they wait
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI="mpirun --oversubscribe -np 2 --bind-to none --mca btl self,vader --mca mpi_yield_when_idle 1"

"$F" data synth --split train --posts 120 --seed 1 --out "$T/d.h5" >/dev/null 2>&1 &&
    "$F" data synth --split val --posts 40 --seed 2 --out "$T/v.h5" >/dev/null 2>&1 && ok ||
    bad "fke data synth failed"
# no dropout: the masks are drawn per rank, so only a model without it can
# equal the single process
cat > "$T/c.json" <<JSON
{"preset": "fke-small", "chans": [4, 4, 8], "F": 8, "H": 8, "H2": 8, "M": 8, "D": 8, "Co": 4,
 "T": 8, "train_data": "$T/d.h5", "val_data": "$T/v.h5", "test_data": "$T/v.h5", "out_dir": "$T/one", "steps": 6,
 "batch": 8, "threads": 1, "eval_every": 3, "log_every": 1, "bn_recalibrate": 2,
 "dropout_head": 0, "dropout_text": 0, "sync_bn": true}
JSON
losses() { sed -n 's/.*"loss": \([0-9.]*\),.*/\1/p' "$1" | tr '\n' ' '; }

# ---- one process, the reference ---------------------------------------------
expect 0 "" "$F" train "$T/c.json" --quiet
grep -q '"ranks"' "$T/one/metrics.jsonl" && bad "a run without mpirun has data-parallel fields" || ok

# ---- two processes, sync_bn: the same model ---------------------------------
expect 0 "data-parallel: 2 processes (2 on this machine), 4 posts of each global batch per process, batch norm over the global batch" \
    $MPI "$F" train "$T/c.json" --set out_dir="$T/two" --set dist_check=on
out=$("$D" "$T/two/last.h5" "$T/one/last.h5" 1e-5) && ok || bad "2 ranks vs 1 process: $out"
echo "  $out"
[ "$(losses "$T/two/metrics.jsonl")" = "$(losses "$T/one/metrics.jsonl")" ] && ok ||
    bad "losses differ: $(losses "$T/two/metrics.jsonl") vs $(losses "$T/one/metrics.jsonl")"
# rank 0 alone writes: each step's line once, the eval lines once
n=$(grep -c '"step"' "$T/two/metrics.jsonl"); ne=$(grep -c '"eval_step"' "$T/two/metrics.jsonl")
[ "$n" = 6 ] && [ "$ne" = 2 ] && ok || bad "metrics.jsonl has $n step and $ne eval lines, want 6 and 2"
grep -q '"ranks": 2, "step_s": [0-9.]*, "allreduce_share": [0-9.]*}' "$T/two/metrics.jsonl" && ok ||
    bad "no allreduce share in $(head -n 1 "$T/two/metrics.jsonl")"
# the sharded evaluation at step 6 against fke eval of the same weights in one process
ev=$("$F" eval "$T/two/last.h5" "$T/v.h5" --json 2>/dev/null)
for k in occ_acc cat_acc att_acc att_f1; do
    a=$(echo "$ev" | sed -n "s/.*\"$k\": \([0-9.]*\).*/\1/p")
    b=$(grep '"eval_step": 6' "$T/two/metrics.jsonl" | sed -n "s/.*\"$k\": \([0-9.]*\).*/\1/p")
    [ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "$k: sharded eval $b, one process $a"
done

# the final test of best.h5 (rank 0 reads it and sends the weights) against fke eval of it
ev=$("$F" eval "$T/two/best.h5" "$T/v.h5" --json 2>/dev/null)
a=$(echo "$ev" | sed -n 's/.*"cat_acc": \([0-9.]*\).*/\1/p')
b=$(grep '"final_test"' "$T/two/metrics.jsonl" | sed -n 's/.*"cat_acc": \([0-9.]*\).*/\1/p')
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "final test cat_acc $b, fke eval of best.h5 $a"

# ---- dist_check can fail ------------------------------------------------------
expect 1 "rank [01] of 2: fke train: training stopped at step 2 (epoch 1): dist_check: after step 2 the 2 ranks do not hold the same parameters" \
    env FKE_DIST_SABOTAGE=2 $MPI -x FKE_DIST_SABOTAGE "$F" train "$T/c.json" --quiet \
    --set out_dir="$T/sab" --set dist_check=on

# ---- batch norm per rank (the default): ranks stay identical -----------------
expect 0 "" $MPI "$F" train "$T/c.json" --quiet --set out_dir="$T/local" --set sync_bn=off \
    --set dist_check=on --set dropout_head=0.5

# ---- resume under mpirun ------------------------------------------------------
expect 0 "" $MPI "$F" train "$T/c.json" --quiet --set out_dir="$T/res" --set steps=3
expect 0 "resumed from $T/res/last.h5 at step 3 of 6" $MPI "$F" train --resume "$T/res" --set steps=6
out=$("$D" "$T/res/last.h5" "$T/two/last.h5" 0) && ok || bad "resumed vs uninterrupted: $out"
expect 1 "$T/res/last.h5 was written by a run of 2 processes; resume it with the same number (mpirun -np 2), not 1" \
    "$F" train --resume "$T/res"
expect 1 "$T/one/last.h5 was written by a run of 1 process; resume it with the same number (fke train without mpirun, or mpirun -np 1), not 2" \
    $MPI "$F" train --resume "$T/one"

# ---- another fke on one rank --------------------------------------------------
expect 1 "do not all run the same fke: rank 0 runs 0.0.0-other" \
    mpirun --oversubscribe --bind-to none --mca btl self,vader -np 1 -x FKE_DIST_VERSION=0.0.0-other \
    "$F" train "$T/c.json" --quiet --set out_dir="$T/ver" : -np 1 "$F" train "$T/c.json" --quiet \
    --set out_dir="$T/ver"
[ -e "$T/ver/last.h5" ] && bad "a refused run wrote a checkpoint" || ok

# ---- a rank killed with SIGKILL -------------------------------------------------
$MPI "$F" train "$T/c.json" --quiet --set out_dir="$T/kill" --set steps=1000000 \
    --set eval_every=2 --set sync_bn=off >"$T/kill.out" 2>&1 &
job=$!
n=0
while [ ! -e "$T/kill/last.h5" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done
# the ranks are mpirun's children (under a shell's own child when $! is a shell)
launcher=$job
[ "$(ps -o comm= -p $job)" = mpirun ] || launcher=$(pgrep -P $job -x mpirun | head -n 1)
victim=$(pgrep -P "${launcher:-$job}" | sort -n | tail -n 1)
if [ -n "$victim" ] && [ -e "$T/kill/last.h5" ]; then
    ok
    start=$(date +%s)
    kill -9 "$victim"
    n=0
    while kill -0 $job 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done
    took=$(( $(date +%s) - start ))
    if kill -0 $job 2>/dev/null; then
        bad "the job still runs 60 s after a rank was killed"
        for q in $(pgrep -P $job); do kill -9 "$q"; done
        kill -9 $job 2>/dev/null
    else
        ok
    fi
    wait $job; rc=$?
    [ $rc -ne 0 ] && ok || bad "a job with a killed rank exited 0"
    grep -q "process rank [01] with PID [0-9]* on node .* exited on signal 9" "$T/kill.out" && ok ||
        bad "no message naming the killed rank: $(tail -n 5 "$T/kill.out")"
    expect 0 '"posts": 40' "$F" eval "$T/kill/last.h5" "$T/v.h5" --json
    echo "  a rank killed: the job ended in ${took} s"
else
    bad "the kill test's job did not start (no rank, or no last.h5 in 60 s): $(cat "$T/kill.out")"
    kill $job 2>/dev/null
fi

# ---- a hostfile that does not exist: mpirun refuses at once -----------------------
expect 1 "" sh -c "mpirun --hostfile '$T/no-such-hostfile' -np 2 '$F' train '$T/c.json' >/dev/null 2>&1 || exit 1"

echo "RESULT $p $f"
