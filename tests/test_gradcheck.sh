#!/bin/sh
# fke gradcheck passes on every operation, and fails when any one backward is
# deliberately broken (--sabotage perturbs that op's analytic gradient).
B=${FKE_BUILD:-build}
p=0; f=0
out=$("$B/fke" gradcheck); rc=$?
echo "$out"
if [ $rc -eq 0 ]; then p=$((p+1)); else f=$((f+1)); echo "  FAILED gradcheck reported a failure"; fi
for op in $(echo "$out" | awk 'NR>1 && $3=="pass"{print $1}' | sort -u); do
    if "$B/fke" gradcheck --only "$op" --sabotage "$op" >/dev/null; then
        f=$((f+1)); echo "  FAILED a broken $op backward was not caught"
    else p=$((p+1)); fi
done
if "$B/fke" gradcheck --no-such-flag >/dev/null 2>&1; then
    f=$((f+1)); echo "  FAILED an unknown option was accepted"
else p=$((p+1)); fi
echo "RESULT $p $f"
