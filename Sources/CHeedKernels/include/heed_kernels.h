// Heed's CPU-dispatched kernels: the loops whose speed depends on the instruction set, compiled
// once per x86-64 level (baseline SSE2, AVX2+FMA, AVX-512) and chosen at run time. Swift has no
// per-function target attribute, so these few kernels are C; everything else is Swift.
// Each kernel here has a Swift twin or scalar reference that the tests compare it with.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Instruction-set levels, in increasing order.
enum {
    HEED_CPU_BASELINE = 0,  // x86-64 (SSE2), or any non-x86 CPU (portable C vectors)
    HEED_CPU_AVX2 = 1,      // x86-64-v3: AVX2, FMA, F16C, BMI
    HEED_CPU_AVX512 = 2,    // x86-64-v4: AVX-512 F/BW/DQ/VL
};

// The highest level this CPU and OS support (cpuid, and XGETBV for the register state).
int heed_cpu_supported_level(void);

// One level's kernels. Element-wise kernels read x[0..<n] and write y[0..<n] (y may be x).
typedef struct heed_kernel_table {
    int level;
    void (*exp)(const float *x, float *y, size_t n);
    void (*tanh)(const float *x, float *y, size_t n);
    void (*sigmoid)(const float *x, float *y, size_t n);
    void (*gelu_erf)(const float *x, float *y, size_t n);        // x·Φ(x), exact
    void (*gelu_erf_grad)(const float *x, float *y, size_t n);   // Φ(x) + x·φ(x)
    void (*gelu_tanh)(const float *x, float *y, size_t n);
    // row ← e^(row − shift), returning Σ row; −∞ entries become exactly 0.
    float (*exp_shifted_sum)(float *row, size_t n, float shift);
} heed_kernel_table;

// The table of `level`, or NULL when the level is unknown or not supported here.
const heed_kernel_table *heed_kernels_for_level(int level);

// When OpenBLAS fell back to kernels without AVX2 on a CPU that has AVX2+FMA (a release older
// than the CPU), and OPENBLAS_CORETYPE is not set, switches OpenBLAS to its Haswell or SkylakeX
// kernels and returns 1; otherwise 0. Writes OpenBLAS's core before and after (empty when
// nothing changed) into the two buffers of `size` bytes. Call before any BLAS call is running.
int heed_openblas_correct_core(char *before, char *after, size_t size);

#ifdef __cplusplus
}
#endif
