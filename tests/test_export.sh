#!/bin/sh
# fke export as a command: a trained checkpoint (with its /names) becomes an
# ONNX file whose metadata carries the label names, the vocabulary and the
# preprocessing; ONNX Runtime loads it and names its inputs and outputs; bad
# arguments are refused with messages. (The numbers are compared with fke's
# in tests/test_onnx.c.)
. tests/lib.sh
expect 0 "60 posts" "$F" data synth --out "$T/d.h5" --posts 60 --seed 5
tiny_model "$T/d.h5" "$T/run"
expect 0 "ONNX opset 13" "$F" export "$T/run/last.h5" --out "$T/m.onnx"
expect 0 "ONNX opset 13" "$F" export "$T/run/last.h5" --out "$T/m2.onnx" --format onnx
if cmp -s "$T/m.onnx" "$T/m2.onnx"; then ok; else bad "two exports of one checkpoint differ"; fi
if sh tools/ort_install.sh "$B" >"$T/ort.log" 2>&1; then ok; else bad "tools/ort_install.sh: $(cat "$T/ort.log")"; fi
info=$(NODE_PATH="$B/ort/node_modules" node tools/ort_run.js --info "$T/m.onnx" 2>&1)
for want in "inputs: image, crops, garments, tokens" \
    "outputs: occasion, category, attribute_0, attribute_1, attribute_2, attribute_3" \
    '"occasion":\["wedding"' '"name":"colour"' 'fke.vocab: \["<pad>","<unk>"' \
    '"pixel_mean":0.5,"pixel_std":0.25' "fke.version: [0-9]" '"preset":"fke-small"' \
    'fke.data: {"file":"[^"]*d.h5","hash":"fnv1a64:[0-9a-f]*","posts":60,'; do
    if echo "$info" | grep -q -- "$want"; then ok; else bad "ort_run.js --info lacks $want: $info"; fi
done
# refusals
expect 2 "missing option" "$F" export "$T/run/last.h5"
expect 2 "onnx" "$F" export "$T/run/last.h5" --out "$T/x.onnx" --format tflite
expect 1 "$T/none.h5" "$F" export "$T/none.h5" --out "$T/x.onnx"
expect 1 "$T/no/such/dir/x.onnx" "$F" export "$T/run/last.h5" --out "$T/no/such/dir/x.onnx"
echo "not a checkpoint" > "$T/junk.h5"
expect 1 "$T/junk.h5" "$F" export "$T/junk.h5" --out "$T/x.onnx"
[ -e "$T/x.onnx" ] && bad "a refused export left $T/x.onnx" || ok
echo "export: $p passed, $f failed"
echo "RESULT $p $f"
