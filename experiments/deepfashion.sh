#!/bin/sh
# DeepFashion's Category and Attribute Prediction Benchmark with fke (task
# multilabel): import the three splits of the benchmark's folder, train
# configs/deepfashion.json, evaluate the best checkpoint on the test split.
#
#   sh experiments/deepfashion.sh DIR [--img S] [--set key=value]...
#
# DIR holds Anno/ (or Anno_coarse/), Eval/ and Img/ as the benchmark ships
# them. --img (default 224, the side of the ResNet-18 trunk of fke-paper) is
# used for both the whole picture and the box crop. Other arguments go to
# fke train. Results: runs/deepfashion/ and runs/deepfashion/test-eval.json
# (category top-1/3/5, attribute recall@3/@5 per type; experiments/README.md).
set -e
B=${FKE_BUILD:-build}
[ $# -ge 1 ] || { echo "usage: sh experiments/deepfashion.sh DIR [--img S] [--set key=value]..." >&2; exit 2; }
DIR=$1; shift
S=224
if [ "$1" = "--img" ]; then S=$2; shift 2; fi
mkdir -p data
for split in train val test; do
    "$B/fke" data import deepfashion "$DIR" --split $split --img "$S" --crop "$S" \
        --out data/deepfashion-$split.h5
done
"$B/fke" train configs/deepfashion.json "$@"
"$B/fke" eval runs/deepfashion/best.h5 data/deepfashion-test.h5 --out runs/deepfashion/test-eval
"$B/fke" eval runs/deepfashion/best.h5 data/deepfashion-test.h5 --json > runs/deepfashion/test-eval.json
