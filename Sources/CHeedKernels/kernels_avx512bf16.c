// The int8 (vpdpbusd) and bf16 (vdpbf16ps) products for AVX-512 with VNNI and BF16: Cooper Lake,
// Sapphire Rapids and later, Zen 4. Everything else at this level is kernels_avx512.c's.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx,avx2,fma,f16c,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512bf16"))), apply_to = function)
#define HEED_SUFFIX avx512bf16
#define HEED_W 16
#define HEED_VNNI 1
#define HEED_BF16 1
#define HEED_PRODUCTS_ONLY 1
#include "kernel_prelude.inc"
#include "quant_gemm.inc"
const heed_quant_products heed_products_avx512bf16 = { .gemm_u8s8 = gemm_u8s8_avx512bf16, .gemm_bf16 = gemm_bf16_avx512bf16 };
#pragma clang attribute pop
#endif
