#!/bin/sh
# fke plot: the curves of one run and of two overlaid, as PNG (960 px wide,
# one panel each for loss, learning rate and validation accuracy) and SVG;
# a folder that is not a run, and a run with nothing logged, are refused by
# name. The pictures themselves were looked at (see run/plot.h).
. tests/lib.sh
"$F" data synth --split train --posts 60 --seed 1 --out "$T/d.h5" >/dev/null 2>&1 && ok || bad "synth"
tiny_model "$T/d.h5" "$T/a" --set steps=20 --set eval_every=5 --set log_every=2
tiny_model "$T/d.h5" "$T/b" --set steps=20 --set eval_every=5 --set log_every=2 --set lr=0.05
expect 0 "wrote $T/two.png and its .svg" "$F" plot "$T/a" "$T/b" --out "$T/two.png"
expect 0 "wrote $T/one.png" "$F" plot "$T/a" --out "$T/one.png"
# a PNG: its signature, then IHDR's width (960) and a height for three panels
png() { od -An -tx1 -N24 "$1" | tr -d ' \n'; }
case "$(png "$T/two.png")" in 89504e470d0a1a0a0000000d49484452000003c0000003*) ok ;;
    *) bad "two.png is not a 960-px-wide PNG of three panels: $(png "$T/two.png")" ;; esac
grep -q "<svg" "$T/two.svg" && ok || bad "two.svg is not SVG"
cmp -s "$T/one.png" "$T/two.png" && bad "one run and two runs drew the same picture" || ok
[ "$(wc -c < "$T/two.png")" -gt 20000 ] && ok || bad "two.png is suspiciously small"
mkdir -p "$T/notarun"
expect 1 "fke plot: $T/notarun/metrics.jsonl: cannot open" "$F" plot "$T/notarun"
: > "$T/notarun/metrics.jsonl"
expect 1 "$T/notarun/metrics.jsonl: no training or validation line to draw" "$F" plot "$T/notarun"
expect 2 "missing 'RUN_DIR'" "$F" plot
echo "RESULT $p $f"
