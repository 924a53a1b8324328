// The kernels at baseline: x86-64's SSE2 (or whatever the target's baseline is elsewhere).
#if defined(__x86_64__)
#include <immintrin.h>   // SSE2's pmaddwd for the int8 product
#endif
#define HEED_SUFFIX baseline
#define HEED_W 4
#define HEED_LEVEL HEED_CPU_BASELINE
#include "kernels.inc"
