#!/bin/sh
# The README's main command (make demo): makes FashionKE-synth version 3 from
# the Fashion-MNIST Debian package as a FashionKE release tree (the layout a
# user's real FashionKE download has), imports it with `fke data import
# fashionke` as a user would, trains configs/demo.json, evaluates it on
# held-out posts, extracts knowledge from the test posts and prints the
# occasion x category table. Everything lands in data/ and runs/demo/.
set -e
B=${1:-build}
FKE="$B/fke"
mkdir -p data runs
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

step "1/5 FashionKE-synth v3 as a FashionKE release tree (data/fashionke-synth), imported by fke data import fashionke"
sh tools/data.sh "$B" data
$FKE data show data/synth3-test.h5 --post 0 --out runs/demo-post0.png 2>/dev/null || true

step "2/5 training configs/demo.json (fke-small, noise ratio 0.7, forward correction from the release's confusion counts)"
# a second demo keeps the first run: runs/demo is moved aside, never overwritten
[ -e runs/demo ] && mv runs/demo "runs/demo.$(date +%Y%m%d-%H%M%S)" && echo "(the earlier runs/demo was moved aside)"
$FKE train configs/demo.json

step "3/5 evaluation on the 1000 held-out test posts"
$FKE eval runs/demo/best.h5 data/synth3-test.h5
$FKE data show data/synth3-test.h5 --post 0 --out runs/demo/post0-pred.png --pred runs/demo/best.h5

step "4/5 knowledge extraction from the test posts"
$FKE extract runs/demo/best.h5 data/synth3-test.h5 --out runs/demo/extract.jsonl
echo "wrote runs/demo/extract.jsonl; first post:"
head -n 1 runs/demo/extract.jsonl | cut -c1-400

step "5/5 fashion knowledge: occasion x category"
$FKE knowledge runs/demo/extract.jsonl --out runs/demo/knowledge --labels runs/demo/best.h5
echo
echo "demo done in $(( $(date +%s) - start )) s: runs/demo/ (metrics.jsonl, best.h5, confusion_*.csv,"
echo "extract.jsonl, knowledge/*.csv and *.png heat maps), a post drawn in runs/demo-post0.png,"
echo "the same post with the model's predictions beside the truth in runs/demo/post0-pred.png"
