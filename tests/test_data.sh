#!/bin/sh
# fke data: exit codes and messages of the CLI (make, import, show, info,
# and bad input), and same seed -> same file bytes.
. tests/lib.sh

expect 2 "usage" "$F" data
expect 2 "unknown subcommand" "$F" data nosuch
expect 2 "unknown option" "$F" data synth --out "$T/x.h5" --frobnicate 1
expect 2 "noise-ratio" "$F" data synth --out "$T/x.h5" --noise-ratio 1.5
expect 2 "split" "$F" data synth --out "$T/x.h5" --split validation
expect 0 "300 posts" "$F" data synth --out "$T/a.h5" --posts 300 --seed 9
expect 0 "300 posts" "$F" data synth --out "$T/b.h5" --posts 300 --seed 9
if cmp -s "$T/a.h5" "$T/b.h5"; then ok; else bad "same seed, different file bytes"; fi
expect 0 "all clean\|1000 clean\|200 clean" "$F" data synth --out "$T/t.h5" --split test --posts 200
expect 0 "clean posts 90" "$F" data info "$T/a.h5"
expect 0 "transition matrices" "$F" data info "$T/a.h5"
expect 0 "a.png" "$F" data show "$T/a.h5" --post 5 --out "$T/a.png"
if [ -s "$T/a.png" ] && head -c 8 "$T/a.png" | grep -q PNG; then ok; else bad "no PNG written"; fi
expect 2 "out of range" "$F" data show "$T/a.h5" --post 300 --out "$T/c.png"
[ -e "$T/c.png" ] && bad "a PNG was written for a bad post" || ok
expect 1 "no such file" "$F" data info "$T/none.h5"
head -c 5000 "$T/a.h5" > "$T/trunc.h5"
expect 1 "trunc.h5.*truncated" "$F" data info "$T/trunc.h5"
echo "not hdf5" > "$T/text.h5"
expect 1 "not an HDF5 file" "$F" data show "$T/text.h5" --post 0 --out "$T/d.png"
# Fashion-MNIST import: a bad magic number and a missing folder
mkdir -p "$T/fm"
printf '\000\000\010\001\000\000\000\001' | gzip > "$T/fm/train-images-idx3-ubyte.gz"
expect 1 "train-images-idx3-ubyte.gz: bad IDX magic" "$F" data fmnist --dir "$T/fm" --out "$T/fmo"
expect 1 "no such file" "$F" data fmnist --dir "$T/nodir" --out "$T/fmo"
expect 1 "bad IDX magic" "$F" data synth --dir "$T/fm" --out "$T/s.h5"
[ -e "$T/s.h5" ] && bad "synth left a file after failing" || ok
expect 0 "fmnist-test.h5: 10000 images" "$F" data fmnist --out "$T/fmo"
expect 0 "image set, 60000 images" "$F" data info "$T/fmo/fmnist-train.h5"
# version 3, the validation split and the release tree: options that do not go together
expect 2 "give --out FILE or --release DIR" "$F" data synth --posts 10
expect 2 "give --out FILE or --release DIR" "$F" data synth --out "$T/x.h5" --release "$T/r"
expect 2 "go with --out" "$F" data synth --release "$T/r" --version 2
expect 2 "go with --out" "$F" data synth --release "$T/r" --split test
expect 2 "--version must be 2 or 3" "$F" data synth --out "$T/x.h5" --version 4
expect 2 "all clean" "$F" data synth --out "$T/x.h5" --split val --noise-ratio 0.5
expect 0 "version 3 val, 50 posts (50 clean" "$F" data synth --out "$T/v.h5" --version 3 --split val --posts 50
expect 0 "generator: fke-synth version=3 split=val" "$F" data info "$T/v.h5"
expect 0 "30 training posts (9 clean, 21 machine-labelled), 10 test posts" "$F" data synth --release "$T/r" --posts 30 --test-posts 10
expect 0 "30 kept (9 clean, 21 machine-labelled)" "$F" data import fashionke "$T/r" --out "$T/r.h5"
ls "$T"/*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok
echo "RESULT $p $f"
[ "$f" -eq 0 ]
