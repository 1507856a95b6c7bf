# tests/lib.sh - shared by the shell tests (sourced): the fke binary, a
# temporary folder, pass/fail counters and `expect`. A test ends with
# `echo "RESULT $p $f"`, which tests/run.sh reads.
B=${FKE_BUILD:-build}
F="$B/fke"
T=$(mktemp -d)
p=0; f=0
ok()  { p=$((p+1)); }
bad() { f=$((f+1)); echo "  FAILED $*"; }
# expect RC PATTERN CMD...: exit status RC and PATTERN in stdout+stderr
expect() {
    want=$1; pat=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ] && echo "$out" | grep -q -- "$pat"; then ok
    else bad "$* -> rc $rc (want $want), output: $out"; fi
}
