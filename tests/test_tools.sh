#!/bin/sh
# The scripts in tools/ run as documented: every tools/*.py is executable
# with Debian's /usr/bin/python3 as its interpreter, every tools/*.sh is
# valid sh, and `make deps-python` names the Python packages they import.
. tests/lib.sh
for t in tools/*.py; do
    [ -x "$t" ] && ok || bad "$t is not executable"
    [ "$(head -n 1 "$t")" = "#!/usr/bin/python3" ] && ok || bad "$t: first line '$(head -n 1 "$t")'"
done
for t in tools/*.sh; do sh -n "$t" && ok || bad "$t: not valid sh"; done
for pkg in python3-torch python3-torchvision python3-h5py python3-onnx; do
    grep -q "$pkg" tools/deps.sh && ok || bad "tools/deps.sh python lacks $pkg"
done
make -n deps-python >/dev/null 2>&1 && ok || bad "no make deps-python"
echo "RESULT $p $f"
