#!/bin/sh
# tools/ort_install.sh BUILD - puts ONNX Runtime for Node (the npm package
# onnxruntime-node, which carries its Linux CPU library) into BUILD/ort/,
# at the version tests/onnx/package-lock.json pins. tests/test_onnx.c runs it;
# it needs the npm registry the first time, then nothing (the folder stays).
# --ignore-scripts: the package's install script only fetches GPU libraries.
B=${1:-build}
dir="$B/ort"
if [ -f "$dir/node_modules/onnxruntime-node/package.json" ] &&
    cmp -s tests/onnx/package-lock.json "$dir/package-lock.json"; then
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "ort_install.sh: npm is not installed (make deps installs it)" >&2; exit 1; }
mkdir -p "$dir" || exit 1
cp tests/onnx/package.json tests/onnx/package-lock.json "$dir/" || exit 1
if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    echo "ort_install.sh: could not install onnxruntime-node from the npm registry into $dir" >&2
    echo "(the ONNX Runtime check needs it once; npm said:)" >&2
    tail -n 5 "$dir/npm.log" >&2
    rm -f "$dir/package-lock.json" # so that the next run tries again
    exit 1
fi
echo "ort_install.sh: onnxruntime-node installed into $dir"
