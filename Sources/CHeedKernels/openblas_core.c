// OpenBLAS's DYNAMIC_ARCH picks its GEMM kernels from the CPU's family and model number, and a
// release that predates a CPU falls back to its oldest x86-64 kernels: Debian's 0.3.21 on an
// Intel family 6 model 207 (Emerald Rapids, AVX-512) runs "Prescott" SSE3 kernels, 36 GFLOP/s
// on 2048³ against 230 with its SkylakeX kernels (measured on such a guest). Heed corrects only
// that case: OpenBLAS chose a core without AVX2 kernels while the CPU and OS run AVX2+FMA. An
// OPENBLAS_CORETYPE set by the user or the machine always wins. The switch uses the two
// functions OpenBLAS's own start-up runs (exported by DYNAMIC_ARCH builds); they are weak here,
// so an OpenBLAS built for one core, or another BLAS, is left alone.
#include "heed_kernels.h"
#include <stdlib.h>
#include <string.h>

extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

// OpenBLAS cores with AVX2 kernels: 0.3.21's Haswell, Excavator, Zen, SkylakeX, Cooperlake and
// SapphireRapids, and the names later releases add ("…lake", "…Rapids", "Zen…").
static int has_avx2_kernels(const char *core) {
    return !strcmp(core, "Haswell") || !strcmp(core, "Excavator")
        || strstr(core, "lake") || strstr(core, "Rapids") || strstr(core, "Zen");
}

int heed_openblas_correct_core(char *before, char *after, size_t size) {
    if (size) { before[0] = 0; after[0] = 0; }
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return 0;
    const char *core = openblas_get_corename();
    if (!core) return 0;
    if (size) { strncpy(before, core, size - 1); before[size - 1] = 0; }
    int level = heed_cpu_supported_level();
    if (getenv("OPENBLAS_CORETYPE") || level < HEED_CPU_AVX2 || has_avx2_kernels(core)) return 0;
    // gotoblas_dynamic_init reads OPENBLAS_CORETYPE once; the variable is removed again so
    // that child processes see the environment the user gave.
    setenv("OPENBLAS_CORETYPE", level >= HEED_CPU_AVX512 ? "SkylakeX" : "Haswell", 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    core = openblas_get_corename();
    if (size && core) { strncpy(after, core, size - 1); after[size - 1] = 0; }
    return 1;
}
