#!/bin/sh
# The shipped configs run as shipped: each of configs/*.json, copied with the
# repository's layout into a fresh folder (configs/ beside data/ and runs/),
# trains a few steps from another working folder with one command, since its
# paths are its folder's; every run ends with best.h5. Before the data is
# made, the message names the missing file and the exact command that makes
# it (tools/data.sh with this build and the file's folder), and that
# command, run as printed from anywhere, makes every config's data; an
# imported dataset's message names the importers. The data is at
# tools/data.sh's small sizes (FKE_DATA_SMALL=1).
. tests/lib.sh
mkdir -p "$T/repo/configs" "$T/elsewhere"
cp configs/*.json "$T/repo/configs/"
here=$(pwd)
n=0
for c in "$T"/repo/configs/*.json; do
    name=$(basename "$c" .json)
    n=$((n+1))
    # before the data exists: the message says how to make it
    (cd "$T/elsewhere" && "$here/$F" train "$c" --quiet --set steps=1) >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] && grep -q "$T/repo/configs/../data/[a-z0-9-]*.h5\|$T/repo/data/[a-z0-9-]*.h5" "$T/out" &&
        grep -q "does not exist" "$T/out" && ok ||
        bad "$name without its data: rc $rc, $(cat "$T/out")"
    if grep -q '"train_data": "../data/\(synth\|synth3\|fmnist\)-' "$c"; then
        made=$(sed -n 's/.*this command makes it (and the others its folder lacks): \(sh .*\)$/\1/p' "$T/out")
        [ -n "$made" ] && ok || bad "$name: no command in the message: $(cat "$T/out")"
        [ -n "$made" ] && cmd=$made
    else
        grep -q "fke data import" "$T/out" && ok || bad "$name: the importers are not named: $(cat "$T/out")"
    fi
done
[ $n -ge 5 ] && ok || bad "only $n shipped configs"
# the command, as printed, from another folder
case "$B" in /*) build=$B ;; *) build=$here/$B ;; esac
case "$cmd" in "sh $here/tools/data.sh $build $T/repo/"*) ok ;; *) bad "the command is '$cmd'" ;; esac
(cd "$T/elsewhere" && FKE_DATA_SMALL=1 eval "$cmd") >/dev/null 2>&1 && ok || bad "$cmd failed"
trained=0
for c in "$T"/repo/configs/*.json; do
    name=$(basename "$c" .json)
    # a config on an imported real dataset (DeepFashion) has no data here
    train=$(sed -n 's/.*"train_data": "\.\.\/data\/\([a-z0-9-]*\.h5\)".*/\1/p' "$c")
    if [ -n "$train" ] && [ ! -f "$T/repo/data/$train" ]; then
        echo "  $name: its data ($train) is imported, not made by tools/data.sh: not trained here"
        continue
    fi
    trained=$((trained+1))
    (cd "$T/elsewhere" && "$here/$F" train "$c" --quiet --set steps=2 --set eval_every=2 \
        --set bn_recalibrate=1 --set threads=1) >"$T/out" 2>&1 && ok || bad "$name: $(cat "$T/out")"
    [ -f "$T/repo/runs/$name/best.h5" ] && [ -f "$T/repo/runs/$name/last.h5" ] && ok ||
        bad "$name: no best.h5 and last.h5 in $T/repo/runs/$name: $(ls "$T/repo/runs/$name" 2>&1)"
done
[ $trained -ge 5 ] && ok || bad "only $trained shipped configs trained"
[ -z "$(ls "$T/elsewhere")" ] && ok || bad "a run wrote into the working folder: $(ls "$T/elsewhere")"
echo "RESULT $p $f"
