#!/bin/sh
# Bad input and bad luck at the command line (issue 19): a full disk (a file
# size limit, which any machine allows: every write past it fails with
# EFBIG), a second trainer on one run folder, impossible resumes, NaN
# options, and messages that name the right file and problem.
. tests/lib.sh

expect 0 "" "$F" data synth --out "$T/a.h5" --posts 40 --seed 5
tiny_model "$T/a.h5" "$T/run"
cp "$T/run/last.h5" "$T/old.h5"

# D2: a full disk while saving a checkpoint: exit 1 and a message, no crash
# of HDF5's exit handler (it was exit 139), the old checkpoint intact, no
# temporary file left
out=$(sh -c "trap '' XFSZ; ulimit -f 64; exec \"$F\" train --resume \"$T/run\" --set steps=5 --quiet" 2>&1); rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "last.h5: writing the checkpoint failed (File too large"; then ok
else bad "disk full in train: rc $rc: $out"; fi
cmp -s "$T/old.h5" "$T/run/last.h5" && ok || bad "the old checkpoint changed after a failed write"
ls "$T/run" | grep -q tmp && bad "temporary file left: $(ls "$T/run")" || ok
# and in a dataset writer
out=$(sh -c "trap '' XFSZ; ulimit -f 64; exec \"$F\" data synth --out \"$T/b.h5\" --posts 40" 2>&1); rc=$?
if [ "$rc" -eq 1 ] && echo "$out" | grep -q "b.h5: writing the dataset failed"; then ok
else bad "disk full in synth: rc $rc: $out"; fi
ls "$T" | grep -q "tmp\|b.h5" && bad "synth left files: $(ls "$T")" || ok
"$F" train --resume "$T/run" --set steps=5 --quiet && ok || bad "the resume after the full disk"

# D4: a checkpoint past the run's end is refused, not silently done
expect 1 "last.h5 is at step 5, past this run's 2 steps" "$F" train --resume "$T/run" --set steps=2

# D14: a second trainer on the same folder stops with a clear message
cat > "$T/long.json" <<JSON
{"preset": "fke-small", "chans": [4, 4, 8], "F": 8, "H": 8, "H2": 8, "M": 8, "D": 8, "Co": 4,
 "T": 8, "train_data": "$T/a.h5", "out_dir": "$T/busy", "steps": 100000,
 "threads": 1, "eval_every": 1000, "log_every": 1000}
JSON
"$F" train "$T/long.json" --quiet 2>/dev/null &
pid=$!
i=0
while [ ! -e "$T/busy/config.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
expect 1 "busy: another fke train is using this run folder" "$F" train "$T/long.json" --quiet
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
# the lock goes with the process, kill -9 included (--force: the killed
# run's folder is refused otherwise, tests/test_runs.sh)
expect 0 "" "$F" train "$T/long.json" --quiet --set steps=1 --force

# D9: NaN is not a number in range
expect 2 "noise-ratio must be a number" "$F" data synth --out "$T/n.h5" --noise-ratio nan
expect 2 "flip-rate must be a number" "$F" data synth --out "$T/n.h5" --flip-rate nan

# D8: the message names the file and the real problem
sed 's/"steps": 100000/"steps": 3, "batch": 3/' "$T/long.json" > "$T/cross.json"
out=$("$F" train "$T/cross.json" --quiet 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$out" | grep -q "cross.json: config: key \"batch\""; then ok; else bad "a cross-field error names no file: $out"; fi
# D8: a bad --set says what is wrong with it, not only the usage
for form in "foo" "=1" "steps" "steps=" "steps=abc" "chans=[1," "nosuchkey=1"; do
    out=$("$F" train "$T/long.json" --set "$form" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && echo "$out" | grep -q -- "--set" && ! echo "$out" | head -n 1 | grep -q "^usage"; then ok
    else bad "--set '$form': rc $rc: $out"; fi
done
expect 0 "" "$F" data fmnist --out "$T/fm"
head -c 3000 "$T/fm/fmnist-test.h5" > "$T/fm/broken.h5"
h=$("$F" data info "$T/fm/broken.h5" 2>&1)
echo "$h" | grep -q "broken.h5" && ! echo "$h" | grep -q "attribute 'format'" && ok ||
    bad "a broken image set is blamed on its format: $h"
echo "RESULT $p $f"
[ "$f" -eq 0 ]
