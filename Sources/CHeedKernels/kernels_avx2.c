// The kernels for x86-64-v3 (AVX2, FMA, F16C, BMI); FMA is not used: FP_CONTRACT is off, so
// results equal the baseline's bit for bit.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx,avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#define HEED_SUFFIX avx2
#define HEED_LEVEL HEED_CPU_AVX2
#include "kernels.inc"
#pragma clang attribute pop
#endif
