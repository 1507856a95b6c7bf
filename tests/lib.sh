# tests/lib.sh - shared by the shell tests (sourced): the fke binary, a
# temporary folder, pass/fail counters, `expect` and `tiny_model`. A test ends with
# `echo "RESULT $p $f"`, which tests/run.sh reads.
B=${FKE_BUILD:-build}
F="$B/fke"
# $T: a fresh folder per run, $TMPDIR/fke-NAME.XXXXXX as the C tests make
# theirs (tests/fixtures.h), so two builds' tests can run side by side. It
# goes when the test exits with every check passed (or is interrupted); a
# failed test keeps it and says where.
T=$(mktemp -d "${TMPDIR:-/tmp}/fke-$(basename "$0" .sh).XXXXXX") || exit 1
p=0; f=0
trap 'if [ "$f" -eq 0 ]; then rm -rf "$T"; else echo "  files kept in $T"; fi' EXIT
trap 'exit 1' HUP INT TERM
ok()  { p=$((p+1)); }
bad() { f=$((f+1)); echo "  FAILED $*"; }
# flat FILE: its text on one line, runs of spaces and line breaks as one
# space: what a message says, however fke train cut its lines to 80 columns
flat() { tr '\n' ' ' < "$1" | tr -s ' '; }
# expect RC PATTERN CMD...: exit status RC and PATTERN in stdout+stderr (as
# printed, or with its lines joined as flat joins them)
expect() {
    want=$1; pat=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ] && { echo "$out" | grep -q -- "$pat" ||
        echo "$out" | tr '\n' ' ' | tr -s ' ' | grep -q -- "$pat"; }; then ok
    else bad "$* -> rc $rc (want $want), output: $out"; fi
}
# tiny_model DATA RUN [--set KEY=VALUE ...]: trains a reduced fke-small model
# (widths 4 to 8) 3 steps on DATA into RUN (RUN/last.h5); counts as one check
tiny_model() {
    data=$1; run=$2; shift 2
    cat > "$T/tiny.json" <<JSON
{"preset": "fke-small", "chans": [4, 4, 8], "F": 8, "H": 8, "H2": 8, "M": 8, "D": 8, "Co": 4,
 "T": 8, "train_data": "$data", "out_dir": "$run", "steps": 3,
 "threads": 1, "eval_every": 1000, "log_every": 1000}
JSON
    expect 0 "" "$F" train "$T/tiny.json" --quiet "$@"
}
