// The kernels for x86-64-v4 (AVX-512 F, BW, DQ, VL): one 16-float vector is one register.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx,avx2,fma,f16c,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
#define HEED_SUFFIX avx512
#define HEED_W 16
#define HEED_LEVEL HEED_CPU_AVX512
#include "kernels.inc"
#pragma clang attribute pop
#endif
