#!/bin/sh
# fke eval --report DIR: per task a CSV of every class (precision, recall,
# F1, support) whose accuracy row is fke eval's own number, and a confusion
# heat map PNG.
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

# ---- fke eval --report ----------------------------------------------------------
expect 0 "occasion" "$F" eval "$T/b/last.h5" "$T/d.h5" --report "$T/rep"
json=$("$F" eval "$T/b/last.h5" "$T/d.h5" --json)
for task in occasion category colour pattern shade scale; do
    csv="$T/rep/report_$task.csv"
    [ "$(head -n 1 "$csv")" = "class,precision,recall,f1,support" ] && ok || bad "$csv: header $(head -n 1 "$csv")"
    case "$(png "$T/rep/confusion_$task.png")" in 89504e470d0a1a0a*) ok ;; *) bad "confusion_$task.png is not a PNG" ;; esac
done
[ "$(grep -c . "$T/rep/report_category.csv")" -eq 13 ] && ok || bad "report_category.csv: not 10 classes + macro + accuracy"
# the supports add up to the accuracy row's count, and its accuracy is eval's
sum=$(sed '1d;/^macro/d;/^accuracy/d' "$T/rep/report_category.csv" | awk -F, '{s += $5} END {print s}')
tot=$(sed -n 's/^accuracy,,,[0-9.]*,\([0-9]*\)$/\1/p' "$T/rep/report_category.csv")
[ -n "$tot" ] && [ "$sum" = "$tot" ] && ok || bad "supports sum to $sum, accuracy row counts '$tot'"
acc=$(sed -n 's/^accuracy,,,\([0-9.]*\),.*/\1/p' "$T/rep/report_category.csv")
echo "$json" | grep -q "\"cat_acc\": $acc" && ok || bad "report accuracy $acc is not eval's: $json"
# a class's recall is its diagonal over its row of the confusion CSV fke eval writes
expect 0 "" "$F" eval "$T/b/last.h5" "$T/d.h5" --out "$T/cm"
r=$(awk -F, 'NR == 3 {d = $3; s = 0; for (i = 2; i <= NF; i++) s += $i; if (s) printf "%.6f", d / s; else print "0.000000"}' "$T/cm/confusion_category.csv")
[ "$(sed -n 3p "$T/rep/report_category.csv" | cut -d, -f3)" = "$r" ] && ok ||
    bad "recall of the second category: report $(sed -n 3p "$T/rep/report_category.csv"), confusion CSV gives $r"
echo "RESULT $p $f"
