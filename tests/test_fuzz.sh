#!/bin/sh
# The fuzz targets' smoke and crash replay (tests/fuzz/fuzz.h): each target,
# built with tests/fuzz/driver.c, runs its seeds, every input that ever
# crashed it (tests/fuzz/crashes/NAME/) and 300 deterministic mutations of
# each, without a crash. make fuzz runs the same targets under libFuzzer.
. tests/lib.sh
# the inputs the targets write (the importers' trees, tests/fuzz/tree.h) go to
# memory when it can be: a file written on a busy disk costs ~10 ms
M="$T"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    M=$(mktemp -d /dev/shm/fke-test-fuzz.XXXXXX) || M="$T"
fi
[ "$M" = "$T" ] || trap 'rm -rf "$M"; if [ "$f" -eq 0 ]; then rm -rf "$T"; else echo "  files kept in $T"; fi' EXIT
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c | sed 's/^fuzz_//')
    bin="$B/fuzz/fuzz_$t"
    [ -x "$bin" ] || { bad "$bin is not built"; continue; }
    "$bin" --seeds "$T/$t" && [ -n "$(ls "$T/$t")" ] && ok || bad "$t wrote no seeds"
    out=$(TMPDIR="$M" "$bin" --mutate 300 "$T/$t" tests/fuzz/crashes/$t 2>&1); rc=$?
    n=$(echo "$out" | sed -n 's/^inputs //p')
    if [ "$rc" -eq 0 ] && [ "${n:-0}" -gt 300 ]; then ok; echo "  $t: $n inputs"
    else bad "fuzz target $t: rc $rc: $(echo "$out" | tail -n 5)"; fi
done
echo "RESULT $p $f"
[ "$f" -eq 0 ]
