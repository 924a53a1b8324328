// The one C header Heed sees: OpenBLAS's CBLAS interface (+ its thread control) and LAPACKE,
// and the few vector primitives Swift cannot express at baseline x86-64.
#pragma once
#include <cblas.h>
#include <lapacke.h>

// 16 floats, the C twin of Swift's SIMD16<Float>.
typedef float heed_float16 __attribute__((ext_vector_type(16)));

// √x lane-wise as `sqrtps`. Swift's `squareRoot()` on Linux keeps C's errno semantics: one
// scalar `sqrtss` plus a branch to `sqrtf` per lane (2 ns/element); this is 0.36 ns/element.
static inline heed_float16 heed_sqrt16(heed_float16 x) { return __builtin_elementwise_sqrt(x); }
