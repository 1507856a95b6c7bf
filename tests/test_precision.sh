#!/bin/sh
# Config key precision (issue 16): the kernel path the run headers name
# matches the CPU's features (bf16 operands only where /proc/cpuinfo has
# avx512_bf16, in Winograd's GEMMs as in im2col's); bf16 on a CPU without
# it (FKE_CPU_NO_BF16=1 stands in for one) is refused with a message
# naming the key, by fke train and fke bench; a bf16 model trains, and its
# checkpoint evaluates; an unknown precision lists the allowed ones.
. tests/lib.sh

"$F" data synth --split train --posts 30 --seed 1 --out "$T/d.h5" >/dev/null 2>&1 && ok || bad "synth"
tiny_model "$T/d.h5" "$T/fp32"
expect 0 "convolutions: im2col .* fp32 GEMM (OpenBLAS); batch norm + ReLU + max-pool in one pass" \
    "$F" train "$T/tiny.json" --set out_dir="$T/fp32b"
# fke-small's fp32 3x3 layers from FKE_CONV_WINOGRAD_MIN_C channels on go
# Winograd (nn/conv2d.h); the RGB layer stays im2col
expect 0 "convolutions: Winograd F(2x2,3x3) for 2 of 3 (3x3 stride 1, >= " \
    "$F" bench --preset fke-small --steps 1 --warmup 0 --no-sgemm --threads 1
msg='key "precision": bf16 needs a CPU with avx512_bf16'
expect 1 "$msg" env FKE_CPU_NO_BF16=1 "$F" train "$T/tiny.json" --set precision=bf16 --set out_dir="$T/no"
expect 1 "$msg" env FKE_CPU_NO_BF16=1 "$F" bench --preset fke-small --precision bf16 --steps 1
expect 1 'key "precision": expected one of "fp32", "bf16", got "fp16"' "$F" train "$T/tiny.json" --set precision=fp16 --set out_dir="$T/no2"
if grep -q avx512_bf16 /proc/cpuinfo; then
    expect 0 "bf16 operands, float sums (fke's AVX512-BF16 kernel" \
        "$F" train "$T/tiny.json" --set precision=bf16 --set out_dir="$T/bf16"
    # bf16 takes Winograd too (bf16 operands in its GEMMs, nn/winograd.h)
    expect 0 "Winograd F(2x2,3x3) for 2 of 3 .* + bf16 operands, float sums (fke's AVX512-BF16 kernel, vdpbf16ps)" \
        "$F" bench --preset fke-small --precision bf16 --steps 1 --warmup 0 --no-sgemm --threads 1
    expect 0 '"occ_acc"' "$F" eval "$T/bf16/last.h5" "$T/d.h5" --json
    grep -q '"precision":[[:space:]]*"bf16"' "$T/bf16/config.json" && ok || bad "config.json lacks precision bf16"
else
    echo "  this CPU has no avx512_bf16: the bf16 run is not made"
    expect 1 "$msg" "$F" train "$T/tiny.json" --set precision=bf16 --set out_dir="$T/no3"
fi
echo "RESULT $p $f"
