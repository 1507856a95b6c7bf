#!/bin/sh
# Messages that used to mislead, each as a user met it:
#   - a text file (or a picture) where an fke HDF5 file belongs says what it
#     is, not only "not an HDF5 file";
#   - a checkpoint of another config names both whole shapes;
#   - a missing required option is one line naming it (query, knowledge);
#   - gradcheck --only NAME lists the names there are;
#   - eval --out FILE fails before any work.
. tests/lib.sh

"$F" data synth --split train --posts 30 --seed 1 --out "$T/d.h5" >/dev/null 2>&1 && ok || bad "synth"
tiny_model "$T/d.h5" "$T/run"
echo "hello, not a picture" > "$T/text.png"
expect 1 "$T/text.png: not an HDF5 file: it is text (starting \"hello, not a picture\")" "$F" eval "$T/run/last.h5" "$T/text.png"
expect 1 "$T/text.png: not an HDF5 file: it is text" "$F" data info "$T/text.png"
expect 1 "$T/run/config.json: not an HDF5 file: it is JSON text" "$F" eval "$T/run/config.json" "$T/d.h5"
"$F" data show "$T/d.h5" --post 0 --out "$T/post.png" >/dev/null 2>&1 && ok || bad "data show"
expect 1 "$T/post.png: not an HDF5 file: it is a PNG picture" "$F" eval "$T/run/last.h5" "$T/post.png"
: > "$T/empty.h5"
expect 1 "$T/empty.h5: not an HDF5 file: it is empty" "$F" data info "$T/empty.h5"

# a checkpoint of another config: both shapes in full
expect 1 "tensor .* has shape ([0-9, ]*), expected ([0-9, ]*) (checkpoint of another config?)" \
    "$F" train --resume "$T/run" --set chans=4,4,16 --set F=16
out=$("$F" train --resume "$T/run" --set chans=4,4,16 --set F=16 2>&1)
echo "$out" | grep -q "dims (first" && bad "the old half shape: $out" || ok

# a missing required option: one line that names it, no usage to search
for cmd in "query $T/run/last.h5 $T/d.h5 --budget 2|--strategy least|margin|entropy|random" \
           "knowledge x.jsonl|--out DIR"; do
    args=${cmd%%|*}; opt=${cmd#*|}
    out=$("$F" $args 2>&1); rc=$?
    [ $rc -eq 2 ] && echo "$out" | grep -q "missing option '$opt', which is required" &&
        [ "$(echo "$out" | wc -l)" -eq 1 ] && ok || bad "fke $args: rc $rc: $out"
done

expect 2 "no operation named 'nosuch'; the operations: linear, conv2d.*lstm_fwd.*gather" "$F" gradcheck --only nosuch
out=$("$F" gradcheck --only nosuch 2>&1)
echo "$out" | grep -q "max rel err" && bad "gradcheck printed its table head: $out" || ok

# eval --out FILE: refused before the checkpoint is even read
: > "$T/file"
expect 1 "fke eval: --out $T/file: exists and is not a folder" "$F" eval "$T/no-such.h5" "$T/d.h5" --out "$T/file"
expect 0 "occasion" "$F" eval "$T/run/last.h5" "$T/d.h5" --out "$T/newfolder"
[ -f "$T/newfolder/confusion_occasion.csv" ] && ok || bad "eval --out made no CSVs: $(ls "$T/newfolder" 2>&1)"
echo "RESULT $p $f"
