#!/bin/sh
# A researcher's runs are never lost or overwritten (run/train.h, fke train):
#   - a fresh run into a folder that holds a run is refused, the folder
#     untouched; --force replaces it;
#   - SIGINT (and SIGTERM) during training: exit 130 (143), last.h5 at the
#     step reached, a message saying how to resume; the resume says where it
#     continues and ends with the same last.h5, byte for byte, as an
#     uninterrupted run, and metrics.jsonl holds every step once;
#   - a resume from a checkpoint older than metrics.jsonl (a crash) cuts the
#     lines of the lost segment;
#   - --resume of a folder without a checkpoint says so.
. tests/lib.sh

"$F" data synth --split train --posts 120 --seed 1 --out "$T/d.h5" >/dev/null 2>&1 && ok ||
    bad "fke data synth failed"
cat > "$T/c.json" <<JSON
{"preset": "fke-small", "chans": [4, 4, 8], "F": 8, "H": 8, "H2": 8, "M": 8, "D": 8, "Co": 4,
 "T": 8, "train_data": "$T/d.h5", "out_dir": "$T/run", "steps": 400,
 "threads": 1, "eval_every": 250, "log_every": 10}
JSON
# the steps of a metrics.jsonl, one a line ("step" and "eval_step" lines apart)
steps() { sed -n 's/^{"step": \([0-9]*\),.*/\1/p' "$1"; }
evals() { sed -n 's/^{"eval_step": \([0-9]*\),.*/\1/p' "$1"; }
dups() { { steps "$1"; evals "$1" | sed 's/^/e/'; } | sort | uniq -d | wc -l; }

# ---- an existing run folder is refused, then replaced with --force ------------
expect 0 "" "$F" train "$T/c.json" --quiet --set steps=4
before=$(cat "$T/run/metrics.jsonl")
expect 1 "$T/run already holds a run (config.json, metrics.jsonl, last.h5.*--resume $T/run.*--force" \
    "$F" train "$T/c.json" --quiet --set steps=4
[ "$(cat "$T/run/metrics.jsonl")" = "$before" ] && ok || bad "the refused run changed metrics.jsonl"
expect 0 "" "$F" train "$T/c.json" --quiet --set steps=2 --force
[ "$(steps "$T/run/metrics.jsonl" | tail -n 1)" = 2 ] && ok || bad "--force did not start anew"
expect 2 "--force is for a fresh run" "$F" train --resume "$T/run" --force
mkdir -p "$T/empty" && expect 0 "" "$F" train "$T/c.json" --quiet --set steps=1 --set out_dir="$T/empty"

# ---- the uninterrupted reference ---------------------------------------------
rm -rf "$T/run"
expect 0 "" "$F" train "$T/c.json" --quiet
mv "$T/run" "$T/full"

# ---- interrupted by a signal, then resumed ------------------------------------
# sig NAME RC: trains c.json in the background, signals it once its first
# progress line is out, and checks the exit status and the message
sig() {
    "$F" train "$T/c.json" >"$T/out" 2>&1 &
    pid=$!
    n=0
    while [ ! -s "$T/run/metrics.jsonl" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
    kill -$1 $pid
    wait $pid
    rc=$?
    [ $rc -eq $2 ] && ok || bad "SIG$1: exit status $rc, want $2 ($(cat "$T/out"))"
    grep -q "stopped by SIG$1 after step [0-9]*; $T/run/last.h5 holds it; continue with \`fke train --resume $T/run\`" "$T/out" &&
        ok || bad "SIG$1: message: $(tail -n 2 "$T/out")"
}
sig INT 130
at=$(sed -n 's/.*stopped by SIGINT after step \([0-9]*\);.*/\1/p' "$T/out")
[ -n "$at" ] && [ "$at" -lt 400 ] && ok || bad "stopped at step '$at'"
expect 0 "resumed from $T/run/last.h5 at step $at of 400 (epoch" "$F" train --resume "$T/run"
cmp -s "$T/full/last.h5" "$T/run/last.h5" && ok ||
    bad "interrupted at step $at and resumed: last.h5 differs from the uninterrupted run's"
[ "$(dups "$T/run/metrics.jsonl")" -eq 0 ] && ok || bad "metrics.jsonl has duplicate steps"
[ "$(steps "$T/run/metrics.jsonl")" = "$(steps "$T/full/metrics.jsonl")" ] && ok ||
    bad "metrics.jsonl steps differ from the uninterrupted run's"
rm -rf "$T/run"
sig TERM 143

# ---- a crash after the last checkpoint: the resume cuts the lost lines ----------
rm -rf "$T/run"
expect 0 "" "$F" train "$T/c.json" --quiet --set steps=250
cp "$T/run/last.h5" "$T/old.h5"
expect 0 "" "$F" train --resume "$T/run" --quiet --set steps=300
cp "$T/old.h5" "$T/run/last.h5" # as if killed -9 after step 300's line, last.h5 at 250
# 5 step lines and the evaluation at 300
expect 0 "metrics.jsonl kept to step 250 (6 later lines dropped)" "$F" train --resume "$T/run" --set steps=300
[ "$(dups "$T/run/metrics.jsonl")" -eq 0 ] && ok || bad "metrics.jsonl has duplicate steps after the cut"
[ "$(steps "$T/run/metrics.jsonl" | tail -n 1)" = 300 ] && ok || bad "metrics.jsonl does not end at step 300"

# ---- model selection: a held-out validation split, best.h5, the test set once ----
"$F" data synth --split test --posts 40 --seed 2 --out "$T/t.h5" >/dev/null 2>&1 && ok ||
    bad "fke data synth --split test failed"
sel() { rm -rf "$T/sel"; "$F" train "$T/c.json" --set out_dir="$T/sel" --set steps=40 \
        --set eval_every=10 --set bn_recalibrate=1 --set test_data="$T/t.h5" "$@" >"$T/out" 2>&1; }
sel && ok || bad "selection run: $(cat "$T/out")"
flat "$T/out" | grep -q "validation: [0-9]* posts of the training file held out" && ok ||
    bad "no held-out validation: $(cat "$T/out")"
[ -f "$T/sel/best.h5" ] && ok || bad "no best.h5 without val_data"
best=$(flat "$T/out" | sed -n 's/.* best: step \([0-9]*\), validation mean_acc [0-9.]* .*/\1/p')
[ -n "$best" ] && ok || bad "the end does not say which step was best: $(tail -n 3 "$T/out")"
# the test set: one line, the last, of best.h5 at the best step
[ "$(grep -c '"test"' "$T/sel/metrics.jsonl")" -eq 1 ] && ok || bad "the test set was evaluated more than once"
tail -n 1 "$T/sel/metrics.jsonl" | grep -q "^{\"final_test\": \"best.h5\", \"best_step\": $best, \"test\"" && ok ||
    bad "last metrics line: $(tail -n 1 "$T/sel/metrics.jsonl")"
flat "$T/out" | grep -q "test: .* of best.h5 (step $best), the test set's only evaluation" && ok ||
    bad "no final test line: $(tail -n 2 "$T/out")"
# progress: an "evaluating" line before each evaluation, progress lines under 80 columns
grep -q "^  evaluating at step 10: batch-norm (1 batches), val [0-9]* posts ...$" "$T/out" && ok ||
    bad "no evaluating line: $(grep evaluating "$T/out")"
[ "$(grep "^  evaluating\|^  step\|^  eval at" "$T/out" | awk 'length($0) > 79' | wc -l)" -eq 0 ] && ok ||
    bad "progress lines over 79 columns: $(grep "^  evaluating\|^  step\|^  eval at" "$T/out" | awk 'length($0) > 79')"
sel --set test_every=20 && [ "$(grep -c '"test"' "$T/sel/metrics.jsonl")" -eq 3 ] && ok ||
    bad "test_every 20 of 40 steps: $(grep -c '"test"' "$T/sel/metrics.jsonl") test lines, want 2 + the final one"
sel --set select=occ_acc && grep -q '"select":[[:space:]]*"occ_acc"' "$T/sel/config.json" && flat "$T/out" | grep -q "validation occ_acc" &&
    ok || bad "select=occ_acc not in config.json or not used: $(tail -n 3 "$T/out")"
sel --set val_split=0 && [ -f "$T/sel/best.h5" ] && flat "$T/out" | grep -q "no validation data.*best.h5 is the last evaluated model, step 40" &&
    ok || bad "val_split 0: $(tail -n 3 "$T/out")"
expect 1 "key \"select\": task classify has no occasion" "$F" train "$T/c.json" --set task=classify --set select=att_acc

# ---- a run folder without a checkpoint ------------------------------------------
mkdir -p "$T/nock" && cp "$T/full/config.json" "$T/nock/"
expect 1 "$T/nock has no checkpoint (no last.h5).*fke train $T/nock/config.json --force" \
    "$F" train --resume "$T/nock"
expect 1 "$T/nothing has no checkpoint (no last.h5) and no config.json" "$F" train --resume "$T/nothing"
echo "RESULT $p $f"
