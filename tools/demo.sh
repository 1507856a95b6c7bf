#!/bin/sh
# The README's main command (make demo): makes FashionKE-synth version 3
# from the Fashion-MNIST Debian package as a FashionKE release tree, imports
# it as a user's FashionKE data would be (fke data import fashionke), trains
# configs/demo.json, evaluates it on held-out posts, extracts knowledge from
# the test posts and prints the occasion x category table. Everything lands
# in data/ and runs/demo/.
set -e
B=${1:-build}
FKE="$B/fke"
mkdir -p data runs
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

step "1/5 FashionKE-synth version 3 from Fashion-MNIST garments, as a FashionKE release, imported"
[ -f data/synth3/test_ids.json ] || $FKE data synth --release data/synth3 --posts 4000 --test-posts 1000 --noise-ratio 0.7 --seed 1
[ -f data/synth3-train.h5 ] || $FKE data import fashionke data/synth3 --out data/synth3-train.h5 --t-out data/synth3-T.json
[ -f data/synth3-test.h5 ]  || $FKE data import fashionke data/synth3 --split test --out data/synth3-test.h5
# validation posts from training images that no training post uses (not part of a release)
[ -f data/synth3-val.h5 ]   || $FKE data synth --version 3 --split val --posts 500 --seed 3 --out data/synth3-val.h5
$FKE data show data/synth3-test.h5 --post 0 --out runs/demo-post0.png 2>/dev/null || true

step "2/5 training configs/demo.json (fke-small, noise ratio 0.7, forward correction)"
$FKE train configs/demo.json --set t_init=data/synth3-T.json

step "3/5 evaluation on the 1000 held-out test posts"
$FKE eval runs/demo/best.h5 data/synth-test.h5

step "4/5 knowledge extraction from the test posts"
$FKE extract runs/demo/best.h5 data/synth-test.h5 --out runs/demo/extract.jsonl
echo "wrote runs/demo/extract.jsonl; first post:"
head -n 1 runs/demo/extract.jsonl | cut -c1-400

step "5/5 fashion knowledge: occasion x category"
$FKE knowledge runs/demo/extract.jsonl --out runs/demo/knowledge
echo
echo "demo done in $(( $(date +%s) - start )) s: runs/demo/ (metrics.jsonl, best.h5, confusion_*.csv,"
echo "extract.jsonl, knowledge/*.csv and *.png heat maps), a post drawn in runs/demo-post0.png"
