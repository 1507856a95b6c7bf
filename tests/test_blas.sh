#!/bin/sh
# The GEMM kernels fke runs (core/cpu.h): the OpenBLAS core is the one this
# CPU's features call for, read here from /proc/cpuinfo (not through fke's
# own CPUID code), whatever OPENBLAS_CORETYPE says; FKE_BLAS_CORE picks
# another ("keep": OpenBLAS's own); the training header names it.
. tests/lib.sh

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { echo " $flags " | grep -q " $1 "; }
core=""
if has avx512f && has avx512bw && has avx512dq && has avx512vl && has avx512cd; then
    if has avx512_bf16; then core=Cooperlake; else core=SkylakeX; fi
elif has avx2 && has fma; then core=Haswell
elif has avx; then core=Sandybridge
elif has sse4_2; then core=Nehalem
fi
echo "  this CPU wants: ${core:-(nothing to choose)}"
for env in "" Prescott Haswell; do
    out=$(env -u OPENBLAS_CORETYPE ${env:+OPENBLAS_CORETYPE=$env} "$F" --version)
    if [ -n "$core" ]; then
        echo "$out" | grep -q "core $core (for this CPU" && ok ||
            bad "OPENBLAS_CORETYPE=${env:-unset}: want core $core: $out"
    else
        echo "$out" | grep -q "GEMM: OpenBLAS" && ok || bad "no GEMM line: $out"
    fi
done
# an AVX-512 CPU never runs the SSE3 kernels through fke
if has avx512f; then
    out=$(OPENBLAS_CORETYPE=Prescott "$F" --version)
    echo "$out" | grep -q "core Prescott" && bad "AVX-512 CPU on Prescott kernels: $out" || ok
fi
# FKE_BLAS_CORE: keep, and a named core, are obeyed and said
expect 0 "core Prescott" env OPENBLAS_CORETYPE=Prescott FKE_BLAS_CORE=keep "$F" --version
if [ -n "$core" ] && [ "$core" != Nehalem ]; then
    expect 0 "core Nehalem, not the $core" env FKE_BLAS_CORE=Nehalem "$F" --version
fi
# the re-run happens once: a child fke sees no FKE_BLAS_EXEC left
out=$(env OPENBLAS_CORETYPE=Prescott "$F" --version; env | grep -c FKE_BLAS_EXEC)
[ "$(echo "$out" | tail -n 1)" = 0 ] && ok || bad "FKE_BLAS_EXEC leaked: $out"
# the training header
"$F" data synth --out "$T/s.h5" --posts 8 >/dev/null 2>&1
tiny_model "$T/s.h5" "$T/run"
out=$(OPENBLAS_CORETYPE=Prescott "$F" train "$T/tiny.json" --set out_dir="$T/run2" 2>&1)
echo "$out" | grep -q "GEMM: OpenBLAS .*core ${core:-}" && ok || bad "train header: $out"
echo "RESULT $p $f"
