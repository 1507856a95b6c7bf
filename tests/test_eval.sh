#!/bin/sh
# fke eval on a FashionKE set: exit codes and messages (0 done, 1 refused
# input or file, 2 usage), the per-attribute numbers of --json (their mean is
# att_acc), the confusion matrices in --out (created when missing), and no
# result printed when they cannot be written.
. tests/lib.sh

export OMP_NUM_THREADS=1
expect 0 "120 posts" "$F" data synth --out "$T/d.h5" --posts 120 --seed 5
tiny_model "$T/d.h5" "$T/run"
expect 2 "usage" "$F" eval "$T/run/last.h5"
expect 1 "none.h5" "$F" eval "$T/run/none.h5" "$T/d.h5"
expect 1 "nodata.h5" "$F" eval "$T/run/last.h5" "$T/nodata.h5"

# --json: one line; the four attributes' accuracies average to att_acc
"$F" eval "$T/run/last.h5" "$T/d.h5" --json --out "$T/ev" > "$T/ev.json" 2> "$T/ev.err"
[ $? -eq 0 ] && ok || bad "eval --json: $(cat "$T/ev.err")"
[ "$(wc -l < "$T/ev.json")" -eq 1 ] && ok || bad "eval --json printed $(wc -l < "$T/ev.json") lines"
grep -q '"attributes": \["colour","pattern","shade","scale"\]' "$T/ev.json" && ok ||
    bad "no attribute names in $(cat "$T/ev.json")"
acc=$(sed 's/.*"att_acc": \([0-9.]*\).*/\1/' "$T/ev.json")
ks=$(sed 's/.*"att_acc_k": \[\([0-9., ]*\)\].*/\1/' "$T/ev.json" | tr -d ',')
echo "$acc $ks" | awk '{ m = ($2 + $3 + $4 + $5) / 4; d = m - $1; if (NF != 5 || d > 2e-6 || d < -2e-6) exit 1 }' &&
    ok || bad "att_acc $acc is not the mean of att_acc_k ($ks)"
n=$(ls "$T/ev"/confusion_*.csv 2>/dev/null | wc -l)
[ "$n" -eq 6 ] && ok || bad "--out folder has $n confusion matrices, not 6"
grep -q '^true\\pred,' "$T/ev/confusion_scale.csv" && ok || bad "confusion_scale.csv has no header"

# the text form names each attribute
expect 0 "attribute scale" "$F" eval "$T/run/last.h5" "$T/d.h5" --out "$T/ev"

# a folder that cannot be made: refused, and no result line on stdout
"$F" eval "$T/run/last.h5" "$T/d.h5" --json --out "$T/no/such/dir" > "$T/bad.json" 2> "$T/bad.err"
[ $? -eq 1 ] && ok || bad "eval into a missing parent folder did not exit 1"
grep -q "cannot create the folder $T/no/such/dir" "$T/bad.err" && ok || bad "message: $(cat "$T/bad.err")"
[ ! -s "$T/bad.json" ] && ok || bad "a result was printed although the matrices were not written"
echo "eval cli: $p passed, $f failed"
echo "RESULT $p $f"
[ "$f" -eq 0 ]
