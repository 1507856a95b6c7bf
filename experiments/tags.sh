#!/bin/sh
# Tagging by image-text matching (task clip, fke tag) on FashionKE-synth's
# held-out test posts, several seeds: retrieval recall@1/5/10 both ways;
# zero-shot occasion, category and colour accuracy from tag texts made of
# the names (experiments/tags/*.txt) beside the supervised FashionKE
# model's accuracy on the same posts; dynamic tags (colour-category and
# occasion-category pairs, never classes of either model): precision and
# recall against the generator's truth; per-tag calibrated probabilities
# (Platt scaling fitted on the validation posts, measured on the test
# posts); what adding a tag changes. Writes experiments/results/tags.md.
#
#   sh experiments/tags.sh [--seeds "1 2 3"] [--steps 2000] [--sup-epochs 8] [--no-sup] [--jobs 1]
#
# Data (FashionKE-synth v2, drawn at 32 px, crops 16, to keep the runs
# short): task clip trains on 20000 posts' captions alone (captions are
# free, so it gets five times the posts); the supervised reference trains
# once (seed 1, configs/demo.json's recipe) on 4000 labelled posts (70%
# machine-labelled). Both pick best.h5 on the same 500 clean validation
# posts and are measured on the same 1000 test posts (Fashion-MNIST test
# garments). Every run at 1 thread (--set threads=1).
set -e
B=${FKE_BUILD:-build}
FKE="$B/fke"
SEEDS="1 2 3"; STEPS=2000; SUP_EPOCHS=8; JOBS=1; SUP=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) SEEDS="$2"; shift 2 ;;
        --steps) STEPS="$2"; shift 2 ;;
        --sup-epochs) SUP_EPOCHS="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --no-sup) SUP=0; shift ;;
        *) echo "usage: $0 [--seeds S] [--steps N] [--sup-epochs N] [--no-sup] [--jobs J]" >&2; exit 2 ;;
    esac
done
[ -x "$FKE" ] || make all
. experiments/lib.sh
D=data/tags; R=runs/tags; OUT=experiments/results; T=experiments/tags
mkdir -p $D $R $OUT
S="--img 32 --crop 16"
[ -f $D/train.h5 ] || $FKE data synth --split train --posts 4000 --noise-ratio 0.7 --seed 1 $S --out $D/train.h5
[ -f $D/train-clip.h5 ] || $FKE data synth --split train --posts 20000 --noise-ratio 0.7 --seed 1 $S --out $D/train-clip.h5
[ -f $D/val.h5 ]   || $FKE data synth --split train --posts 500 --noise-ratio 0 --seed 3 $S --out $D/val.h5
[ -f $D/test.h5 ]  || $FKE data synth --split test --posts 1000 --seed 2 $S --out $D/test.h5
# one tag more than occasion.txt, in the middle: what adding a tag changes
sed '5a\
red dress' $T/occasion.txt > $R/occasion-plus.txt
FITS="--fit occasion=$T/occasion.txt --fit category=$T/category.txt --fit colour=$T/colour.txt"
start=$(date +%s)
clip() { # seed
    run=$R/clip-s$1
    if [ ! -f $run/best.h5 ] || ! grep -q final_test $run/metrics.jsonl; then
        $FKE train configs/clip-synth.json --force --set train_data=$D/train-clip.h5 \
            --set val_data=$D/val.h5 --set test_data=$D/test.h5 --set seed=$1 \
            --set steps=$STEPS --set eval_every=100 --set threads=1 --set out_dir=$run > $run.log 2>&1
    fi
    ck=$run/best.h5
    { $FKE eval $ck $D/test.h5 --json
      for f in occasion category colour; do
          $FKE tag $ck --data $D/test.h5 --zero-shot $f --tags $T/$f.txt
      done
      $FKE tag $ck --data $D/test.h5 --zero-shot colour --tags $T/colour.txt --pair category --tags2 $T/category.txt
      $FKE tag $ck --data $D/test.h5 --zero-shot occasion --tags $T/occasion.txt --pair category --tags2 $T/category.txt
      $FKE tag $ck --data $D/val.h5 --calibrate $run/calib.json $FITS
      $FKE tag $ck --data $D/test.h5 --calibration $run/calib.json $FITS
      for f in occasion category colour; do
          $FKE tag $ck --data $D/test.h5 --calibration $run/calib.json --fit $f=$T/$f.txt
      done
    } > $run.jsonl 2>> $run.log
    # adding a tag: the test posts tagged with occasion.txt and with one line more
    $FKE tag $ck --data $D/test.h5 --tags $T/occasion.txt --calibration $run/calib.json --no-cache --out $run-tags.jsonl 2>> $run.log
    $FKE tag $ck --data $D/test.h5 --tags $R/occasion-plus.txt --calibration $run/calib.json --no-cache --out $run-tags-plus.jsonl 2>> $run.log
}
sup() {
    run=$R/sup-s1
    if [ ! -f $run/best.h5 ] || ! grep -q final_test $run/metrics.jsonl; then
        $FKE train configs/demo.json --force --set train_data=$D/train.h5 \
            --set val_data=$D/val.h5 --set test_data=$D/test.h5 --set t_init= --set seed=1 \
            --set epochs=$SUP_EPOCHS --set lr_step_epochs=$((SUP_EPOCHS * 3 / 4)) \
            --set threads=1 --set out_dir=$run > $run.log 2>&1
    fi
    $FKE eval $run/best.h5 $D/test.h5 --json --out $run > $run.jsonl 2>> $run.log
}
mkdir -p $R
for s in $SEEDS; do job clip $s; done
[ $SUP = 1 ] && job sup
jobs_wait
mins=$(( ($(date +%s) - start + 59) / 60 ))
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
$PY - "$R" "$SEEDS" "$mins" "$STEPS" > $OUT/tags.md <<'EOF'
import json, statistics, sys, platform, datetime, os, re
R, seeds, mins, steps = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
def lines(p):
    return [json.loads(l) for l in open(p) if l.strip().startswith('{')]
def ms(v):
    return "%.3f ± %.3f" % (statistics.mean(v), statistics.stdev(v)) if len(v) > 1 else "%.3f" % v[0]
def train_secs(log):  # "done: 2000 steps in 5m12s" / "in 33s" / "in 1h02m"
    for l in open(log):
        m = re.match(r"done: \d+ steps in (?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", l)
        if m:
            h, mi, se = (int(x) if x else 0 for x in m.groups())
            return 3600 * h + 60 * mi + se
    return 0
rows, add = {}, {}
def put(k, v): rows.setdefault(k, []).append(v)
train_s = 0
for s in seeds:
    L = lines("%s/clip-s%s.jsonl" % (R, s))
    ev, occ, cat, col, cc, oc, cfit, ctest, cocc, ccat, ccol = L
    for k in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"):
        put(k, ev[k])
    put("zs_occ", occ["accuracy"]); put("zs_cat", cat["accuracy"]); put("zs_col", col["accuracy"])
    for name, d in (("cc", cc), ("oc", oc)):
        put(name + "_p", d["precision"]); put(name + "_r", d["recall"]); put(name + "_chance", d["chance_precision"])
    put("cal_a", cfit["a"]); put("cal_b", cfit["b"]); put("ece_val", cfit["ece"])
    for name, d in (("all", ctest), ("occ", cocc), ("cat", ccat), ("col", ccol)):
        put("ece_" + name, d["ece"]); put("brier_" + name, d["brier"])
        put("base_" + name, d["base_rate"]); put("meanp_" + name, d["mean_p"])
    if s == seeds[0]:
        bins = ctest["bins"]
    # adding a tag: the same posts with occasion.txt and with one line more
    A, B = lines("%s/clip-s%s-tags.jsonl" % (R, s)), lines("%s/clip-s%s-tags-plus.jsonl" % (R, s))
    ds = dp = dprob = 0.0
    top_new = 0
    for la, lb in zip(A, B):
        tb = {t["tag"]: t for t in lb["tags"]}
        for t in la["tags"]:
            u = tb[t["tag"]]
            ds = max(ds, abs(t["score"] - u["score"])); dp = max(dp, abs(t["p"] - u["p"]))
            dprob = max(dprob, abs(t["prob"] - u["prob"]))
        top_new += lb["tags"][0]["tag"] == "red dress"
    add.setdefault("ds", []).append(ds); add.setdefault("dp", []).append(dp)
    add.setdefault("dprob", []).append(dprob); add.setdefault("top", []).append(top_new / len(B))
    add["posts"] = len(B)
    train_s += train_secs("%s/clip-s%s.log" % (R, s))
sup = None
if os.path.exists("%s/sup-s1.jsonl" % R) and lines("%s/sup-s1.jsonl" % R):
    sup = lines("%s/sup-s1.jsonl" % R)[0]
if sup:
    colour = sup["att_acc_k"][sup["attributes"].index("colour")]
    sup_note = "supervised heads (seed 1, same test posts)"
    so, sc, scol = "%.3f" % sup["occ_acc"], "%.3f" % sup["cat_acc"], "%.3f" % colour
    train_s += train_secs("%s/sup-s1.log" % R)
else:  # --no-sup
    sup_note = "supervised heads (not run: --no-sup)"
    so = sc = scol = "–"
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    cpu = platform.processor()
print("# Tagging by image-text matching (experiments/tags.sh)\n")
print("%s, %s, %d seeds (%s), every run at 1 thread; training %.0f min (this run: %s min in all). "
      "FashionKE-synth v2 at 32 px (crops 16): task clip (configs/clip-synth.json: clip_crops 1, "
      "%s steps of 64) trains on the captions alone of 20000 posts; the supervised reference "
      "(configs/demo.json's recipe, 8 epochs, seed 1) on 4000 labelled posts (70%% "
      "machine-labelled); both pick best.h5 on the same 500 clean validation posts and are "
      "measured on the same 1000 held-out test posts (Fashion-MNIST test garments). Mean ± std "
      "over seeds. Load average at the end: %s (other jobs share the 2 cores).\n"
      % (datetime.date.today(), cpu, len(seeds), " ".join(seeds), train_s / 60, mins, steps,
         open("/proc/loadavg").read().split()[1]))
print("| retrieval (1000 test posts) | recall@1 | recall@5 | recall@10 |")
print("|---|---|---|---|")
print("| image → text | %s | %s | %s |" % (ms(rows["i2t_r1"]), ms(rows["i2t_r5"]), ms(rows["i2t_r10"])))
print("| text → image | %s | %s | %s |" % (ms(rows["t2i_r1"]), ms(rows["t2i_r5"]), ms(rows["t2i_r10"])))
print("| chance | 0.001 | 0.005 | 0.010 |\n")
print("| task | zero-shot (tags of the names) | %s | chance |" % sup_note)
print("|---|---|---|---|")
print("| occasion (per post) | %s | %s | 0.100 |" % (ms(rows["zs_occ"]), so))
print("| category (per garment crop) | %s | %s | 0.100 |" % (ms(rows["zs_cat"]), sc))
print("| colour (per garment crop) | %s | %s | 0.125 |\n" % (ms(rows["zs_col"]), scol))
print("| dynamic tags (each post's n_garments best pairs) | precision | recall | random picks' precision |")
print("|---|---|---|---|")
print("| colour–category (80 pairs, `blue coat`) | %s | %s | %s |" % (ms(rows["cc_p"]), ms(rows["cc_r"]), ms(rows["cc_chance"])))
print("| occasion–category (100 pairs, `beach dress`) | %s | %s | %s |\n" % (ms(rows["oc_p"]), ms(rows["oc_r"]), ms(rows["oc_chance"])))
print("| calibrated p = sigmoid(a score + b), fitted on the 500 validation posts (a %s, b %s) | test ECE (10 bins) | Brier | positives' share | mean p |"
      % (ms(rows["cal_a"]), ms(rows["cal_b"])))
print("|---|---|---|---|---|")
for name, label in (("all", "all 28 class tags × 1000 posts"), ("occ", "occasion tags"), ("cat", "category tags"), ("col", "colour tags")):
    print("| %s | %s | %s | %s | %s |" % (label, ms(rows["ece_" + name]), ms(rows["brier_" + name]), ms(rows["base_" + name]), ms(rows["meanp_" + name])))
print("\nReliability on the test posts (seed %s, all 28 class tags): pairs in each bin of p, their mean p and the share that is positive\n" % seeds[0])
print("| p | " + " | ".join("%.1f–%.1f" % (b["lo"], b["lo"] + 0.1) for b in bins) + " |")
print("|---" * (len(bins) + 1) + "|")
print("| pairs | " + " | ".join(str(b["n"]) for b in bins) + " |")
print("| mean p | " + " | ".join("%.3f" % b["mean_p"] if b["n"] else "–" for b in bins) + " |")
print("| positive | " + " | ".join("%.3f" % b["positive"] if b["n"] else "–" for b in bins) + " |\n")
print("| adding a tag (`red dress` as line 6 of occasion.txt), %d test posts | largest change |" % add["posts"])
print("|---|---|")
def mx(v):
    return "0 (bitwise, every seed)" if max(v) == 0 else "%.3g" % max(v)
print("| score of each of the 10 other tags | %s |" % mx(add["ds"]))
print("| calibrated p of each of the 10 other tags | %s |" % mx(add["dp"]))
print("| softmax prob over the file's tags | %s |" % ms(add["dprob"]))
print("| share of posts whose best tag becomes the new one | %s |" % ms(add["top"]))
EOF
cat $OUT/tags.md
