#!/bin/sh
# tools/fuzz.sh B FB SECONDS [TARGET...] - make fuzz: each fuzz target of
# tests/fuzz/ built with clang's libFuzzer under ASan+UBSan against FB's
# libfke.a, then run for SECONDS, one target at a time, nice'd. Seeds come
# from the target itself (B/fuzz/fuzz_X --seeds, the gcc build); the corpus
# grows in FB/corpus/X; a crashing input lands in tests/fuzz/crashes/X/,
# which make test replays from then on. Prints the executions per target.
B=${1:-build}; FB=${2:-build-fuzz}; SECS=${3:-60}; shift 3 2>/dev/null
targets=${*:-$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||')}
CPPFLAGS="-Isrc -I/usr/include/hdf5/serial -Itests/fuzz"
LIBS="-lopenblas -lhdf5_serial -lpng -ljpeg -lcjson -lz -lm"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$FB/fuzz" "$FB/tmp"
status=0
for t in $targets; do
    bin="$FB/fuzz/fuzz_$t"
    clang $CPPFLAGS -O1 -g -std=c11 -D_GNU_SOURCE -fopenmp $SAN -o "$bin" "tests/fuzz/fuzz_$t.c" \
        "$FB/libfke.a" $LIBS || { status=1; continue; }
    mkdir -p "$FB/corpus/$t" "$FB/seeds/$t" "tests/fuzz/crashes/$t"
    "$B/fuzz/fuzz_$t" --seeds "$FB/seeds/$t"
    log="$FB/fuzz_$t.log"
    TMPDIR="$FB/tmp" nice "$bin" -max_total_time="$SECS" -rss_limit_mb=4096 -timeout=20 \
        -artifact_prefix="tests/fuzz/crashes/$t/" "$FB/corpus/$t" "$FB/seeds/$t" \
        "tests/fuzz/crashes/$t" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    echo "fuzz $t: ${execs:-?} executions in ${SECS} s, exit $rc$( [ $rc -ne 0 ] && echo " (see $log)")"
    [ $rc -eq 0 ] || status=1
done
exit $status
