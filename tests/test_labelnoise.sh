#!/bin/sh
# fke data corrupt and the label-noise path of task classify from the command
# line: exit codes and messages (0 done, 1 refused input or file, 2 usage),
# nothing written on refusal, fke data info on a corrupted set, training with
# a t_init matrix, fke eval's learned-T error, fke noise estimate on an image
# set (anchor points of a classify checkpoint).
. tests/lib.sh

export OMP_NUM_THREADS=1
[ -f data/fmnist-train.h5 ] || "$F" data fmnist --out "$T" >/dev/null
SRC=data/fmnist-train.h5; [ -f "$SRC" ] || SRC="$T/fmnist-train.h5"
expect 0 "300 images, pairflip noise at rate 0.45" "$F" data corrupt "$SRC" "$T/n.h5" --noise pairflip --rate 0.45 --seed 2 --limit 300 --t-out "$T/T.json"
expect 0 "noisy labels (kind=pairflip rate=0.45 seed=2" "$F" data info "$T/n.h5"
grep -q '"fke-transition"' "$T/T.json" && ok || bad "--t-out wrote no matrix file"
"$F" data corrupt "$SRC" "$T/n2.h5" --noise pairflip --rate 0.45 --seed 2 --limit 300 >/dev/null
cmp -s "$T/n.h5" "$T/n2.h5" && ok || bad "same seed, different file"
expect 1 "rate 0.5 is outside \[0, 0.5) for pairflip" "$F" data corrupt "$SRC" "$T/x.h5" --noise pairflip --rate 0.5
expect 1 "rate 0.95 is outside \[0, 0.9) for symmetric" "$F" data corrupt "$SRC" "$T/x.h5" --noise symmetric --rate 0.95
expect 2 "--rate must be a number, not 'lots'" "$F" data corrupt "$SRC" "$T/x.h5" --noise symmetric --rate lots
expect 2 "--noise must be symmetric or pairflip, not 'uniform'" "$F" data corrupt "$SRC" "$T/x.h5" --noise uniform --rate 0.2
expect 2 "missing option '--rate R'" "$F" data corrupt "$SRC" "$T/x.h5" --noise symmetric
expect 2 "missing option '--noise" "$F" data corrupt "$SRC" "$T/x.h5" --rate 0.2
expect 2 "missing 'OUT.h5'" "$F" data corrupt "$SRC" --noise symmetric --rate 0.2
expect 2 "--seed must be a non-negative integer" "$F" data corrupt "$SRC" "$T/x.h5" --noise symmetric --rate 0.2 --seed -3
expect 1 "$T/none.h5: no such file" "$F" data corrupt "$T/none.h5" "$T/x.h5" --noise symmetric --rate 0.2
expect 1 "already corrupted" "$F" data corrupt "$T/n.h5" "$T/x.h5" --noise symmetric --rate 0.2
expect 1 "no/dir" "$F" data corrupt "$SRC" "$T/no/dir/x.h5" --noise symmetric --rate 0.2 --limit 10
n=$(ls "$T" | grep -c '^x\.h5')
[ "$n" -eq 0 ] && ok || bad "a refused corruption left $n files named x.h5*"

# a tiny classify model trained a few steps on the noisy labels
cat > "$T/c.json" <<JSON
{"preset": "fke-small", "task": "classify", "img": 32, "in_ch": 1, "pad": 2, "n_cat": 10,
 "chans": [4, 8, 16], "F": 16, "batch": 32, "train_data": "$T/n.h5", "out_dir": "$T/ce",
 "correction": "none", "steps": 6, "threads": 1, "eval_every": 1000, "log_every": 1000}
JSON
expect 0 "" "$F" train "$T/c.json" --quiet
expect 0 "" "$F" train "$T/c.json" --quiet --set correction=forward --set t_init="$T/T.json" --set out_dir="$T/fw"
expect 0 "learned T vs true T, mean absolute error per entry: 0.0000" "$F" eval "$T/fw/last.h5" "$T/n.h5"
expect 0 '"T_mae": \[0.0000' "$F" eval "$T/fw/last.h5" "$T/n.h5" --json
echo '{"format": "fke-transition", "tasks": [{"name": "a", "T": [[1]]}, {"name": "b", "T": [[1]]}]}' > "$T/T2.json"
expect 1 "T2.json: \"tasks\" has 2 matrices, task classify needs 1" "$F" train "$T/c.json" --quiet --set correction=forward --set t_init="$T/T2.json" --set out_dir="$T/bad"
expect 1 "none.json: cannot open" "$F" train "$T/c.json" --quiet --set correction=forward --set t_init="$T/none.json" --set out_dir="$T/bad"
expect 1 "one label per image" "$F" noise estimate "$T/n.h5"
expect 0 "anchor points of $T/ce/last.h5 over 300 images" "$F" noise estimate "$T/n.h5" --model "$T/ce/last.h5" --out "$T/Test.json"
expect 0 "class .*mean abs error vs T_true" "$F" noise estimate "$T/n.h5" --model "$T/ce/last.h5" --out "$T/Test.json"
expect 0 "initial T from $T/Test.json" "$F" train "$T/c.json" --set correction=forward --set t_init="$T/Test.json" --set out_dir="$T/est"
echo "labelnoise cli: $p passed, $f failed"
echo "RESULT $p $f"
[ "$f" -eq 0 ]
