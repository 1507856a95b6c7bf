#!/bin/sh
# fke data reveal from the command line, in the active-learning loop it is
# for: a tiny model, fke query, reveal, the pool shrinks by the budget and
# the revealed posts are not queried again; exit codes 0 done, 1 refused
# input (nothing written), 2 usage.
. tests/lib.sh

export OMP_NUM_THREADS=1
expect 0 "120 posts" "$F" data synth --out "$T/d.h5" --posts 120 --noise-ratio 0.8 --seed 9
tiny_model "$T/d.h5" "$T/run"
pool() { "$F" query "$T/run/last.h5" "$1" --strategy random --budget 100000 2>&1 | sed -n 's/.*pool of \([0-9]*\).*/\1/p'; }
n0=$(pool "$T/d.h5")
[ -n "$n0" ] && [ "$n0" -gt 20 ] && ok || bad "pool size of d.h5: '$n0'"
expect 0 "10 posts" "$F" query "$T/run/last.h5" "$T/d.h5" --strategy entropy --budget 10 --out "$T/q.jsonl"
expect 0 "revealed 10 posts" "$F" data reveal "$T/d.h5" "$T/q.jsonl" "$T/r.h5"
expect 0 "usage: fke data reveal" "$F" data reveal --help
n1=$(pool "$T/r.h5")
[ -n "$n1" ] && [ "$n1" -eq $((n0 - 10)) ] && ok || bad "pool after revealing 10: '$n1', before '$n0'"
# the next query on the revealed set picks none of the revealed posts
"$F" query "$T/run/last.h5" "$T/r.h5" --strategy entropy --budget 10 --out "$T/q2.jsonl" >/dev/null 2>&1
again=0
for id in $(sed 's/{"post": \([0-9]*\),.*/\1/' "$T/q.jsonl"); do
    grep -q "^{\"post\": $id," "$T/q2.jsonl" && again=$((again + 1))
done
[ -s "$T/q2.jsonl" ] && [ "$again" -eq 0 ] && ok || bad "$again revealed posts queried again"
expect 0 "revealed 10 posts" "$F" data reveal "$T/r.h5" "$T/q2.jsonl" "$T/r.h5"
expect 0 "machine-labelled" "$F" data info "$T/r.h5"
# refusals write nothing
expect 1 "already clean" "$F" data reveal "$T/r.h5" "$T/q.jsonl" "$T/x.h5"
printf '{"post": 120}\n' > "$T/big.jsonl"
expect 1 "out of range 0..119" "$F" data reveal "$T/d.h5" "$T/big.jsonl" "$T/x.h5"
printf 'post 3\n' > "$T/bad.jsonl"
expect 1 "line 1 is not a JSON object" "$F" data reveal "$T/d.h5" "$T/bad.jsonl" "$T/x.h5"
expect 1 "none.h5" "$F" data reveal "$T/none.h5" "$T/q.jsonl" "$T/x.h5"
[ ! -e "$T/x.h5" ] && ok || bad "a refused reveal wrote $T/x.h5"
expect 2 "usage" "$F" data reveal "$T/d.h5" "$T/q.jsonl"
expect 2 "unknown option" "$F" data reveal "$T/d.h5" "$T/q.jsonl" "$T/x.h5" --force
expect 2 "unexpected argument" "$F" data reveal "$T/d.h5" "$T/q.jsonl" "$T/x.h5" extra
echo "RESULT $p $f"
