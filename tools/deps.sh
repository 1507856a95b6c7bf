#!/bin/sh
# Installs the Debian packages fke needs, if any is missing. Quiet when all are
# present; needs root (or sudo) otherwise.
PKGS="gcc make libopenblas-dev libhdf5-dev libpng-dev libjpeg62-turbo-dev libcjson-dev zlib1g-dev dataset-fashion-mnist protobuf-c-compiler libprotobuf-c-dev python3-onnx nodejs libcairo2-dev libopenmpi-dev openmpi-bin pkg-config"
# `sh tools/deps.sh python` (make deps-python): the Python side instead, for
# tools/*.py only; their shebang is /usr/bin/python3, Debian's, whose modules these are
[ "$1" = python ] && PKGS="python3 python3-torch python3-torchvision python3-h5py python3-onnx"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm comes with nodejs from some sources (NodeSource) and as its own package in Debian's
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "fke: installing missing packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || { echo "fke: apt-get update failed" >&2; exit 1; }
$SUDO apt-get install -y -qq $missing >/dev/null || { echo "fke: apt-get install$missing failed" >&2; exit 1; }
echo "fke: packages installed"
