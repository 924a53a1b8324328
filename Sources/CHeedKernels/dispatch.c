// Which kernel table this CPU may run. cpuid says what the CPU has; XGETBV says whether the OS
// saves the wide registers (a CPU with AVX-512 under an OS that does not enable it must stay at
// AVX2), as OpenBLAS's DYNAMIC_ARCH and PyTorch's cpuinfo check.
#include "heed_kernels.h"

extern const heed_kernel_table heed_kernels_baseline;
#if defined(__x86_64__)
extern const heed_kernel_table heed_kernels_avx2;
extern const heed_kernel_table heed_kernels_avx512;
extern const heed_quant_products heed_products_avx512vnni;
extern const heed_quant_products heed_products_avx512bf16;
#include <cpuid.h>
#include <pthread.h>

static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return HEED_CPU_BASELINE;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(osxsave && avx && fma && f16c)) return HEED_CPU_BASELINE;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return HEED_CPU_BASELINE;             // XMM and YMM state
    if (__get_cpuid_max(0, 0) < 7) return HEED_CPU_BASELINE;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1, bmi1 = (b >> 3) & 1, bmi2 = (b >> 8) & 1;
    if (!(avx2 && bmi1 && bmi2)) return HEED_CPU_BASELINE;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1); // F, DQ, BW, VL
    if (!(avx512 && (xcr0 & 0xE6) == 0xE6)) return HEED_CPU_AVX2;   // + opmask, ZMM0–15 hi, ZMM16–31
    if (!((c >> 11) & 1)) return HEED_CPU_AVX512;                    // AVX512_VNNI
    __cpuid_count(7, 1, a, b, c, d);
    if (!((a >> 5) & 1)) return HEED_CPU_AVX512VNNI;                 // AVX512_BF16
    return HEED_CPU_AVX512BF16;
}
#else
static int detect(void) { return HEED_CPU_BASELINE; }
#endif

int heed_cpu_supported_level(void) {
    // Every thread computes the same value; atomics keep it a non-race for ThreadSanitizer.
    static int level = -1;
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        l = detect();
        __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    }
    return l;
}

#if defined(__x86_64__)
// The two levels above AVX-512 are its table with the int8 and bf16 products replaced.
static heed_kernel_table derived[2];
static pthread_once_t derived_once = PTHREAD_ONCE_INIT;
static void derive(void) {
    derived[0] = heed_kernels_avx512;
    derived[0].level = HEED_CPU_AVX512VNNI;
    derived[0].gemm_u8s8 = heed_products_avx512vnni.gemm_u8s8;
    derived[1] = derived[0];
    derived[1].level = HEED_CPU_AVX512BF16;
    derived[1].gemm_u8s8 = heed_products_avx512bf16.gemm_u8s8;
    derived[1].gemm_bf16 = heed_products_avx512bf16.gemm_bf16;
}
#endif

const heed_kernel_table *heed_kernels_for_level(int level) {
    if (level < HEED_CPU_BASELINE || level > heed_cpu_supported_level()) return 0;
    switch (level) {
#if defined(__x86_64__)
    case HEED_CPU_AVX512BF16: pthread_once(&derived_once, derive); return &derived[1];
    case HEED_CPU_AVX512VNNI: pthread_once(&derived_once, derive); return &derived[0];
    case HEED_CPU_AVX512: return &heed_kernels_avx512;
    case HEED_CPU_AVX2: return &heed_kernels_avx2;
#endif
    default: return &heed_kernels_baseline;
    }
}

void heed_pack_transposed(const float *x, ptrdiff_t ldx, size_t m, size_t k, float alpha, float *xt, size_t mpad) {
    for (size_t kk = 0; kk < k; kk++) {
        float *row = xt + kk * mpad;
        for (size_t i = 0; i < m; i++) row[i] = alpha * x[i * ldx + kk];
        for (size_t i = m; i < mpad; i++) row[i] = 0.0f;
    }
}

void heed_pack_int8(const int8_t *w, size_t n, size_t k, int8_t *packed) {
    const size_t groups = (k + 3) / 4, panels = (n + 15) / 16;
    for (size_t p = 0; p < panels; p++)
        for (size_t g = 0; g < groups; g++)
            for (size_t c = 0; c < 16; c++)
                for (size_t s = 0; s < 4; s++) {
                    const size_t j = 16 * p + c, kk = 4 * g + s;
                    packed[((p * groups + g) * 16 + c) * 4 + s] = j < n && kk < k ? w[j * k + kk] : 0;
                }
}

void heed_pack_bf16(const uint16_t *w, size_t n, size_t k, uint16_t *packed) {
    const size_t groups = (k + 1) / 2, panels = (n + 15) / 16;
    for (size_t p = 0; p < panels; p++)
        for (size_t g = 0; g < groups; g++)
            for (size_t c = 0; c < 16; c++)
                for (size_t s = 0; s < 2; s++) {
                    const size_t j = 16 * p + c, kk = 2 * g + s;
                    packed[((p * groups + g) * 16 + c) * 2 + s] = j < n && kk < k ? w[j * k + kk] : 0;
                }
}
