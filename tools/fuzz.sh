#!/bin/sh
# tools/fuzz.sh B FB SECONDS [TARGET...] - make fuzz: each fuzz target of
# tests/fuzz/ built with clang's libFuzzer under ASan+UBSan against FB's
# libfke.a, then run for SECONDS, one target at a time, nice'd. Seeds come
# from the target itself (B/fuzz/fuzz_X --seeds, the gcc build); the corpus
# grows in FB/corpus/X; a crashing input lands in tests/fuzz/crashes/X/,
# which make test replays from then on. Prints the executions and seconds
# per target. FUZZ_RUNS=N (environment) also stops a target after N
# executions (the campaign of issue 19: 10^6 executions or 30 minutes).
B=${1:-build}; FB=${2:-build-fuzz}; SECS=${3:-60}; shift 3 2>/dev/null
targets=${*:-$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||')}
CPPFLAGS="-Isrc -I/usr/include/hdf5/serial -Itests/fuzz"
LIBS="-lopenblas -lhdf5_serial -lpng -ljpeg -lcjson -lz -lm -lprotobuf-c -lcairo"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# libFuzzer comes with Debian's clang (libclang-rt), OpenMP with libomp
if ! command -v clang >/dev/null 2>&1; then
    apt-get install -y clang libclang-rt-dev libomp-dev >/dev/null ||
        { echo "make fuzz needs clang, libclang-rt-dev and libomp-dev"; exit 1; }
fi
mkdir -p "$FB/fuzz"
# the targets that read a file by name write each input there: memory if it can be
TMP="$FB/tmp"
[ -d /dev/shm ] && [ -w /dev/shm ] && TMP=/dev/shm/fke-fuzz-$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
status=0
for t in $targets; do
    bin="$FB/fuzz/fuzz_$t"
    clang $CPPFLAGS -O1 -g -std=c11 -D_GNU_SOURCE -fopenmp $SAN -o "$bin" "tests/fuzz/fuzz_$t.c" \
        "$FB/libfke.a" $LIBS || { status=1; continue; }
    mkdir -p "$FB/corpus/$t" "$FB/seeds/$t" "tests/fuzz/crashes/$t"
    "$B/fuzz/fuzz_$t" --seeds "$FB/seeds/$t"
    log="$FB/fuzz_$t.log"
    # a target may ask for libFuzzer flags in a line "/* libfuzzer: FLAGS */"
    flags=$(sed -n 's|^/\* libfuzzer: \(.*\) \*/$|\1|p' "tests/fuzz/fuzz_$t.c")
    t0=$(date +%s)
    LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp TMPDIR="$TMP" nice "$bin" -max_total_time="$SECS" \
        ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -rss_limit_mb=4096 -timeout=20 $flags \
        -artifact_prefix="tests/fuzz/crashes/$t/" "$FB/corpus/$t" "$FB/seeds/$t" \
        "tests/fuzz/crashes/$t" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    echo "fuzz $t: ${execs:-?} executions in ${secs} s, exit $rc$( [ $rc -ne 0 ] && echo " (see $log)")"
    [ $rc -eq 0 ] || status=1
done
exit $status
