// The kernels for x86-64-v3 (AVX2, FMA, F16C, BMI). The element-wise kernels use no FMA
// (FP_CONTRACT is off), so they equal the baseline's bit for bit; the attention products do.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx,avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#define HEED_SUFFIX avx2
#define HEED_W 8
#define HEED_LEVEL HEED_CPU_AVX2
#include "kernels.inc"
#pragma clang attribute pop
#endif
