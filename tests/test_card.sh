#!/bin/sh
# fke card: the card's numbers are fke eval --json's on the same checkpoint
# and data (the model-index to six decimals, the prose tables to four, the
# mean of the per-class F1 column to the macro-F1); the run of an ablation
# gets its table; bad runs are refused.
. tests/lib.sh
expect 0 "60 posts" "$F" data synth --out "$T/d.h5" --posts 60 --seed 5
expect 0 "30 posts" "$F" data synth --out "$T/v.h5" --posts 30 --seed 6
expect 0 "40 posts" "$F" data synth --out "$T/t.h5" --posts 40 --seed 7 --split test
mkdir -p "$T/abl"
R="$T/abl/full-s1"
tiny_model "$T/d.h5" "$R" --set val_data="$T/v.h5" --set test_data="$T/t.h5" --set steps=6 --set eval_every=3
cat > "$T/abl/results.jsonl" <<JSON
{"variant": "full", "seed": 1, "eval": {"occ_acc": 0.5, "cat_acc": 0.6, "att_acc": 0.7}}
{"variant": "full", "seed": 2, "eval": {"occ_acc": 0.7, "cat_acc": 0.6, "att_acc": 0.7}}
{"variant": "text_off", "seed": 1, "eval": {"occ_acc": 0.4, "cat_acc": 0.6, "att_acc": 0.7}}
JSON
expect 0 "MODEL_CARD.md: model card of $R/best.h5 on $T/t.h5 (40 posts)" "$F" card "$R"
C="$R/MODEL_CARD.md"
J=$("$F" eval "$R/best.h5" "$T/t.h5" --json)
[ -n "$J" ] && ok || bad "fke eval --json gave nothing"
# the fke eval --json number of KEY (KEY.K: element K of the array KEY)
jval() {
    case $1 in
    *.*) echo "$J" | sed "s/.*\"${1%.*}\": \[\([^]]*\)\].*/\1/" | tr -d ' ' | cut -d, -f$((${1#*.} + 1)) ;;
    *) echo "$J" | sed "s/.*\"$1\": \([0-9.]*\).*/\1/" ;;
    esac
}
# the card's model-index value of config KEY (the value line comes first)
cval() { awk -v k="config: $1" '/^ *value: /{v=$2} $0 ~ "^ *"k"$" {print v; exit}' "$C"; }
for key in occ_acc occ_f1 cat_acc cat_f1 att_acc att_f1 att_acc_k.0 att_f1_k.0 att_acc_k.1 \
    att_f1_k.1 att_acc_k.2 att_f1_k.2 att_acc_k.3 att_f1_k.3; do
    a=$(jval $key); b=$(cval $key)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; else bad "model-index $key: card '$b', fke eval '$a'"; fi
done
# a prose row: | LABEL | ACC | F1 | within 1e-4 of fke eval's
row() {
    line=$(grep -F "| $1 |" "$C" | head -n 1)
    if echo "$line" | awk -F'|' -v a="$2" -v f="$3" \
        '{d1 = $3 - a; d2 = $4 - f; exit !(d1 < 1e-4 && d1 > -1e-4 && d2 < 1e-4 && d2 > -1e-4)}'; then ok
    else bad "card row '$line' against accuracy $2, macro-F1 $3"; fi
}
row occasion "$(jval occ_acc)" "$(jval occ_f1)"
row category "$(jval cat_acc)" "$(jval cat_f1)"
row "attributes (mean)" "$(jval att_acc)" "$(jval att_f1)"
k=0
for name in colour pattern shade scale; do
    row "attribute $name" "$(jval att_acc_k.$k)" "$(jval att_f1_k.$k)"; k=$((k + 1))
done
# the per-class tables: the mean of the F1 column is the macro-F1
for task in occasion category; do
    m=$(awk -v t="**$task**" '$0 == t {on = 1; next} on && /^\| / && !/^\| class/ && !/^\|---/ {s += $(NF - 1); n++}
        on && /^$/ && n {exit} END {if (n) printf "%.6f", s / n}' FS='|' "$C")
    want=$(jval occ_f1)
    [ "$task" = category ] && want=$(jval cat_f1)
    if awk -v a="$m" -v b="$want" 'BEGIN {d = a - b; exit !(a != "" && d < 1e-4 && d > -1e-4)}'; then ok
    else bad "per-class $task: mean F1 $m, macro-F1 $want"; fi
done
for want in "^model-index:" "^## Intended use" "^## Out-of-scope uses" "^## Training data" \
    "noise ratio) | 42 (70.0%)" "^Category (mean absolute error" "^## Training procedure" \
    "^| steps | 3 " "^| fingerprint (recorded in the checkpoint) | .fnv1a64:[0-9a-f]*., 60 posts" "^## Evaluation" "^## Limitations" "Synthetic data" "^fke export $R/best.h5" \
    "^## Ablation" "^| \*\*full\*\* | 2 | 60.0 ± 14.1 |" "^| text_off | 1 | 40.0 ± 0.0 |"; do
    if grep -q -- "$want" "$C"; then ok; else bad "the card lacks $want"; fi
done
# --out and --data
expect 0 "$T/card2.md: model card of $R/best.h5 on $T/v.h5 (30 posts)" "$F" card "$R" --out "$T/card2.md" --data "$T/v.h5"
# refusals
expect 1 "no best.h5 or last.h5" "$F" card "$T"
expect 1 "$T/none.h5" "$F" card "$R" --data "$T/none.h5"
expect 2 "RUN" "$F" card
echo "card: $p passed, $f failed"
echo "RESULT $p $f"
