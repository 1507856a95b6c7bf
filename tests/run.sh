#!/bin/sh
# Runs every C test program (build/tests/test_*) and shell test (tests/test_*.sh),
# sums their checks and ends with "N passed, N failed". A program that exits
# non-zero without a RESULT line (a crash) counts as one failure.
B=${1:-build}
export FKE_BUILD="$B"
pass=0; fail=0
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
trap 'exit 1' HUP INT TERM
for t in "$B"/tests/test_* tests/test_*.sh; do
    [ -e "$t" ] || continue
    echo "== $t"
    start=$(date +%s)
    case "$t" in *.sh) sh "$t" >"$log" 2>&1 ;; *) "$t" >"$log" 2>&1 ;; esac
    rc=$?
    cat "$log"
    line=$(grep '^RESULT ' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | cut -d' ' -f2); f=$(echo "$line" | cut -d' ' -f3)
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    else
        p=0; f=1; echo "  FAILED $t exited $rc without a RESULT line"
    fi
    pass=$((pass + p)); fail=$((fail + f))
    echo "   ($(( $(date +%s) - start )) s)"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
