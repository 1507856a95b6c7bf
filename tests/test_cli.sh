#!/bin/sh
# The command line itself (src/cli/): every command and every `fke data`
# subcommand answers -h/--help, unknown options and bad numbers are usage
# errors that say what is allowed, --version names a commit, and the JSON line
# of `fke bench --json` stays JSON whatever its --tag holds.
. tests/lib.sh

# ---- every command, as `fke help` lists them --------------------------------
cmds=$("$F" help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
n=$(echo "$cmds" | wc -w)
[ "$n" -ge 10 ] && ok || bad "fke help lists $n commands: $cmds"
for c in $cmds; do
    for h in --help -h; do
        expect 0 "usage" "$F" $c $h
        out=$("$F" $c $h 2>/dev/null)
        echo "$out" | grep -q "usage" && ok || bad "fke $c $h: no usage on stdout"
        echo "$out" | tail -n 1 | grep -q "docs/model.md" && ok || bad "fke $c $h: last line is not the docs line"
    done
    # every command parses its options (noise and data: after their action, below)
    case $c in noise|data) continue ;; esac
    expect 2 "fke $c: unknown option '--frobnicate'; options: .*-h/--help" "$F" $c --frobnicate
done
expect 0 "usage: fke noise estimate" "$F" noise estimate --help
expect 2 "unknown option '--frobnicate'; options: --model, --out, --alpha, --quantile, -h/--help" \
    "$F" noise estimate "$T/d.h5" --frobnicate
expect 0 "docs/model.md" "$F" help
expect 0 "docs/model.md" "$F" --help
expect 0 "usage: fke eval" "$F" help eval
expect 2 "unknown command 'nosuch'" "$F" help nosuch

# ---- every `fke data` subcommand, as `fke data --help` lists them ------------
subs=$("$F" data --help | sed -n 's/^\(usage: \|       \)fke data \([a-z][a-z]*\).*/\2/p')
n=$(echo "$subs" | wc -w)
[ "$n" -ge 6 ] && ok || bad "fke data --help lists $n subcommands: $subs"
for s in $subs; do
    for h in --help -h; do
        expect 0 "usage: fke data $s" "$F" data $s $h
        "$F" data $s $h 2>/dev/null | tail -n 1 | grep -q "docs/model.md" && ok ||
            bad "fke data $s $h: last line is not the docs line"
    done
    expect 2 "fke data $s: unknown option '--frobnicate'; options: .*-h/--help" "$F" data $s --frobnicate
done

# ---- usage errors name the option and what it allows -------------------------
expect 2 "unknown option '--jsn'; options: --out, --json, --report, -h/--help" "$F" eval a.h5 b.h5 --jsn
expect 2 "option --out needs a value" "$F" eval a.h5 b.h5 --out
expect 2 "missing 'DATA.h5'" "$F" eval a.h5
expect 2 "unexpected argument 'c.h5'" "$F" eval a.h5 b.h5 c.h5
expect 2 "--batch must be an integer in 1..1000000, not '0'" "$F" extract a.h5 b.h5 --batch 0
expect 2 "--crop must be resize or window, not 'zoom'" "$F" extract a.h5 b.h5 --crop zoom
expect 2 "--top must be an integer in 1..8, not '9'" "$F" knowledge x.jsonl --out "$T/k" --top 9
expect 2 "missing option '--out DIR'" "$F" knowledge x.jsonl
expect 2 "--quantile must be a number in \[0, 1\], not 'x'" "$F" noise estimate d.h5 --quantile x
expect 2 "--flip-rate must be a number in \[0, 1), not '1'" "$F" data synth --out "$T/s.h5" --flip-rate 1
expect 2 "--posts must be an integer in 1..10000000, not '1e3'" "$F" data synth --out "$T/s.h5" --posts 1e3
expect 2 "--steps must be an integer in 1..100000, not '0'" "$F" bench --preset fke-small --steps 0
expect 2 "--cell must be lstm or gru, not 'rnn'" "$F" bench --preset fke-small --cell rnn
expect 2 "missing option '--preset" "$F" bench
expect 2 "--seed must be a non-negative integer, not '-1'" "$F" gradcheck --seed -1
expect 2 "missing 'CONFIG.json' (or --resume RUN_DIR)" "$F" train
expect 2 "exclude each other" "$F" train c.json --resume "$T/run"
# --help wins wherever it stands, and an option's value may start with '-'
expect 0 "usage: fke extract" "$F" extract --batch 0 --help
expect 2 "--seed must be a non-negative integer, not '-h'" "$F" query a b --seed -h --strategy least --budget 1
# fke tag: a calibration where it would change nothing is refused, not ignored
expect 2 "--calibration goes with --tags" "$F" tag c.h5 --data d.h5 --zero-shot occasion --tags t.txt --calibration cal.json
expect 2 "--calibration goes with --tags" "$F" tag c.h5 --data d.h5 --index i.h5 --calibration cal.json
expect 2 "no --tags, --data or --calibration" "$F" tag --index i.h5 --query red --calibration cal.json

# ---- --version -----------------------------------------------------------------
expect 0 "^fke [0-9][0-9.]* (commit [0-9a-zA-Z.-]*)$" "$F" --version
expect 0 "^fke [0-9][0-9.]* (commit [0-9a-zA-Z.-]*)$" "$F" version
v=$("$F" --version | sed 's/.*(commit \(.*\))/\1/')
if git rev-parse --git-dir >/dev/null 2>&1; then
    # built from this tree: the commit it names is the tree's (the -dirty aside)
    head=$(git describe --always 2>/dev/null)
    case "$v" in "$head"*) ok ;; *) bad "fke --version names '$v', the tree is at '$head'" ;; esac
else
    [ -n "$v" ] && ok || bad "fke --version names no commit"
fi

# ---- fke bench --json: a tag with a quote and a backslash stays JSON ------------
bench() { "$F" bench --preset fke-small --steps 1 --warmup 0 --no-sgemm --threads 1 --json "$T/b.jsonl" "$@"; }
expect 0 "train step  median" bench --tag 'a"b'
expect 0 "train step  median" bench --tag 'back\slash'
[ "$(wc -l < "$T/b.jsonl")" -eq 2 ] && ok || bad "two runs appended $(wc -l < "$T/b.jsonl") lines"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$T/b.jsonl" <<'PY' && ok || bad "bench JSON lines: $(cat "$T/b.jsonl")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [r["tag"] for r in lines] == ['a"b', 'back\\slash'], [r["tag"] for r in lines]
for r in lines:  # what tools/bench_table.py reads
    assert r["preset"] == "fke-small" and int(r["threads"]) == 1
    assert r["train"]["median"] > 0 and r["posts_per_s_infer"] > 0
    assert r["peak_rss_mib"] > 0 and "other_load_train" in r and len(r["train_all"]) == 1
PY
else
    grep -q '"tag":"a\\"b"' "$T/b.jsonl" && ok || bad "tag not escaped: $(cat "$T/b.jsonl")"
fi

echo "RESULT $p $f"
[ "$f" -eq 0 ]
