// The int8 product for AVX-512 with VNNI (vpdpbusd): Ice Lake and later, Zen 4. Everything else
// at this level is kernels_avx512.c's (dispatch.c builds the table).
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx,avx2,fma,f16c,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni"))), apply_to = function)
#define HEED_SUFFIX avx512vnni
#define HEED_W 16
#define HEED_VNNI 1
#define HEED_PRODUCTS_ONLY 1
#include "kernel_prelude.inc"
#include "quant_gemm.inc"
const heed_quant_products heed_products_avx512vnni = { .gemm_u8s8 = gemm_u8s8_avx512vnni, .gemm_bf16 = 0 };
#pragma clang attribute pop
#endif
