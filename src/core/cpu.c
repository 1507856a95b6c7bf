/* cpu.c - CPU features and the OpenBLAS core that suits them (cpu.h). */
#include "core/cpu.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fke_cpu_read(fke_cpu_features *f)
{
    memset(f, 0, sizeof *f);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f->sse42 = __builtin_cpu_supports("sse4.2");
    f->avx = __builtin_cpu_supports("avx");
    f->avx2 = __builtin_cpu_supports("avx2");
    f->fma = __builtin_cpu_supports("fma");
    f->avx512f = __builtin_cpu_supports("avx512f");
    f->avx512bw = __builtin_cpu_supports("avx512bw");
    f->avx512dq = __builtin_cpu_supports("avx512dq");
    f->avx512vl = __builtin_cpu_supports("avx512vl");
    f->avx512cd = __builtin_cpu_supports("avx512cd");
    f->avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
}

const char *fke_cpu_blas_core(const fke_cpu_features *f)
{
    int skx = f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->avx512cd;
    if (skx && f->avx512bf16) return "Cooperlake";
    if (skx) return "SkylakeX";
    if (f->avx2 && f->fma) return "Haswell";
    if (f->avx) return "Sandybridge";
    if (f->sse42) return "Nehalem";
    return NULL;
}

const char *fke_cpu_blas_running(void)
{
    const char *s = openblas_get_corename();
    return s ? s : "unknown";
}

int fke_cpu_blas_ok(const fke_cpu_features *f)
{
    const char *want = fke_cpu_blas_core(f);
    return !want || !strcasecmp(want, fke_cpu_blas_running());
}

void fke_cpu_describe(char *buf, size_t len)
{
    fke_cpu_features f;
    fke_cpu_read(&f);
    char feats[160] = "";
    const struct {
        int on;
        const char *name;
    } all[] = {{f.avx2, "avx2"}, {f.fma, "fma"}, {f.avx512f, "avx512f"}, {f.avx512bf16, "avx512bf16"}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i].on) snprintf(feats + strlen(feats), sizeof feats - strlen(feats), " %s", all[i].name);
    const char *want = fke_cpu_blas_core(&f), *run = fke_cpu_blas_running();
    const char *cfg = openblas_get_config();
    char ver[32] = "";
    if (cfg && !strncmp(cfg, "OpenBLAS ", 9)) sscanf(cfg + 9, "%31s", ver);
    const char *env = getenv("FKE_BLAS_CORE");
    if (fke_cpu_blas_ok(&f))
        snprintf(buf, len, "GEMM: OpenBLAS %s, core %s (for this CPU's%s)", ver, run,
                 feats[0] ? feats : " features");
    else
        snprintf(buf, len, "GEMM: OpenBLAS %s, core %s, not the %s this CPU's%s wants (%s)", ver,
                 run, want, feats, env && *env ? "FKE_BLAS_CORE is set" : "run through the fke program to get it");
}
