#!/bin/sh
# The data of the shipped configs (configs/*.json name ../data/...): makes
# whichever of these files DIR (default data) lacks, with the recipes of
# `make demo`:
#   DIR/synth-train.h5  FashionKE-synth, 4000 posts, 70% machine-labelled, seed 1
#   DIR/synth-val.h5    500 clean posts from the training garments, seed 3
#   DIR/synth-test.h5   1000 posts from Fashion-MNIST test garments only, seed 2
#   DIR/fmnist-train.h5, DIR/fmnist-test.h5  Fashion-MNIST (Debian package)
# and FashionKE-synth version 3 through a user's path (configs/demo.json):
#   DIR/fashionke-synth/  a FashionKE release tree: 4000 training posts (70%
#                         machine-labelled) and 1000 test posts, seed 1
#   DIR/synth3-train.h5, DIR/synth3-test.h5  that tree imported by
#                         `fke data import fashionke`, and DIR/synth3-T.json
#                         the transition initialisation from its confusion files
#   DIR/synth3-val.h5     500 clean posts from garments no training post uses, seed 3
# usage: sh tools/data.sh [BUILD [DIR]]   (make data); FKE_DATA_SMALL=1 makes
# 200, 40 and 40 posts instead (tests/test_configs.sh).
set -e
B=${1:-build}
D=${2:-data}
FKE="$B/fke"
n_train=4000; n_val=500; n_test=1000
if [ "${FKE_DATA_SMALL:-0}" = 1 ]; then n_train=200; n_val=40; n_test=40; fi
mkdir -p "$D"
[ -f "$D/synth-train.h5" ] || $FKE data synth --split train --posts $n_train --noise-ratio 0.7 --seed 1 --out "$D/synth-train.h5"
[ -f "$D/synth-val.h5" ]   || $FKE data synth --split train --posts $n_val --noise-ratio 0 --seed 3 --out "$D/synth-val.h5"
[ -f "$D/synth-test.h5" ]  || $FKE data synth --split test --posts $n_test --seed 2 --out "$D/synth-test.h5"
if [ ! -f "$D/fashionke-synth/test_ids.json" ]; then
    rm -rf "$D/fashionke-synth"
    $FKE data synth --release "$D/fashionke-synth" --posts $n_train --test-posts $n_test --noise-ratio 0.7 --seed 1
fi
[ -f "$D/synth3-train.h5" ] || $FKE data import fashionke "$D/fashionke-synth" --out "$D/synth3-train.h5" --t-out "$D/synth3-T.json"
[ -f "$D/synth3-test.h5" ]  || $FKE data import fashionke "$D/fashionke-synth" --split test --out "$D/synth3-test.h5"
[ -f "$D/synth3-val.h5" ]   || $FKE data synth --version 3 --split val --posts $n_val --seed 3 --out "$D/synth3-val.h5"
[ -f "$D/fmnist-train.h5" ] && [ -f "$D/fmnist-test.h5" ] || $FKE data fmnist --out "$D"
