/* cpu.h - which vector instructions this CPU has (CPUID, through the
 * compiler's __builtin_cpu_supports) and which OpenBLAS kernels suit them.
 *
 * OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernels once, when
 * the library loads, from the CPU model, or from OPENBLAS_CORETYPE. On a
 * model it does not know it falls back to old SSE3 ("Prescott") kernels:
 * half the speed or less on an AVX-512 CPU. fke decides from the features
 * instead (fke_cpu_blas_core); the fke program applies the choice before
 * OpenBLAS loads (cli/main.c) and every run header says what it got
 * (fke_cpu_describe). The environment variable FKE_BLAS_CORE names a core
 * to use instead ("keep": whatever OpenBLAS chose). */
#ifndef FKE_CPU_H
#define FKE_CPU_H
#include <stddef.h>

typedef struct {
    int sse42, avx, avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512cd, avx512bf16;
} fke_cpu_features;

void fke_cpu_read(fke_cpu_features *f);
/* The OpenBLAS core for these features, widest first: Cooperlake (AVX-512
 * with BF16), SkylakeX (AVX-512 F, BW, DQ, VL, CD), Haswell (AVX2 + FMA),
 * Sandybridge (AVX), Nehalem (SSE4.2); NULL below that (leave OpenBLAS's). */
const char *fke_cpu_blas_core(const fke_cpu_features *f);
/* The core OpenBLAS runs (openblas_get_corename). */
const char *fke_cpu_blas_running(void);
/* 1 when the running core is the one fke_cpu_blas_core names (compared
 * without case), or when there is nothing to choose. */
int fke_cpu_blas_ok(const fke_cpu_features *f);
/* One line for run headers: "OpenBLAS 0.3.21 core Cooperlake (chosen for
 * avx512f avx512bf16 ...)" or "... core Haswell (not the Cooperlake this
 * CPU's avx512bf16 wants: FKE_BLAS_CORE=...)". */
void fke_cpu_describe(char *buf, size_t len);
#endif
