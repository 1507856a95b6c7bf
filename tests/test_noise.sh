#!/bin/sh
# fke noise estimate and fke query: exit codes and messages of the CLI
# (0 done, 1 refused input or file, 2 usage), the matrices on stdout in the
# t_init file format, JSON lines with --out.
. tests/lib.sh

export OMP_NUM_THREADS=1
expect 0 "150 posts" "$F" data synth --out "$T/d.h5" --posts 150 --seed 4
expect 2 "usage" "$F" noise
expect 2 "unknown action" "$F" noise guess "$T/d.h5"
expect 2 "quantile" "$F" noise estimate "$T/d.h5" --quantile 2
expect 2 "alpha" "$F" noise estimate "$T/d.h5" --alpha -1
expect 2 "unknown option" "$F" noise estimate "$T/d.h5" --frobnicate 1
expect 0 "overall" "$F" noise estimate "$T/d.h5" --out "$T/T.json"
expect 0 "fke-transition" "$F" noise estimate "$T/d.h5"
"$F" noise estimate "$T/d.h5" 2>/dev/null > "$T/stdout.json"
if cmp -s "$T/stdout.json" "$T/T.json"; then ok; else bad "stdout differs from --out file"; fi
expect 1 "none.h5" "$F" noise estimate "$T/none.h5"
expect 1 "no/dir/T.json" "$F" noise estimate "$T/d.h5" --out "$T/no/dir/T.json"
expect 1 "none.ckpt" "$F" noise estimate "$T/d.h5" --model "$T/none.ckpt"

# a tiny model trained a few steps on the machine labels alone
tiny_model "$T/d.h5" "$T/run" --set correction=none
[ -s "$T/run/last.h5" ] && ok || bad "no checkpoint trained"
expect 0 "anchor points" "$F" noise estimate "$T/d.h5" --model "$T/run/last.h5" --out "$T/Ta.json" --quantile 1
[ -s "$T/Ta.json" ] && ok || bad "no anchor matrices written"
for s in least margin entropy random; do
    expect 0 "10 posts" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy $s --budget 10 --out "$T/q.jsonl"
    n=$(grep -c '^{"post": [0-9]*, "score": [0-9.e-]*, "rank": [0-9]*}$' "$T/q.jsonl")
    [ "$n" -eq 10 ] && ok || bad "$s: $n well-formed lines of 10"
done
expect 0 '"rank": 3}' "$F" query "$T/run/last.h5" "$T/d.h5" --strategy entropy --budget 3
expect 1 "allowed: least, margin, entropy, random" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy bogus --budget 3
expect 1 "larger than the pool" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy least --budget 100000
expect 1 "budget" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy least --budget 0
expect 1 "none.h5" "$F" query "$T/run/last.h5" "$T/none.h5" --strategy least --budget 3
expect 1 "none.ckpt" "$F" query "$T/none.ckpt" "$T/d.h5" --strategy least --budget 3
expect 2 "missing option '--budget K', which is required" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy least
expect 2 "whole number" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy least --budget many
echo "noise cli: $p passed, $f failed"
echo "RESULT $p $f"
[ "$f" -eq 0 ]
