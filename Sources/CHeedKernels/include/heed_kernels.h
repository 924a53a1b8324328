// Heed's CPU-dispatched kernels: the loops whose speed depends on the instruction set, compiled
// once per x86-64 level (baseline SSE2, AVX2+FMA, AVX-512) and chosen at run time. Swift has no
// per-function target attribute, so these few kernels are C; everything else is Swift.
// Each kernel here has a Swift twin or scalar reference that the tests compare it with.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Instruction-set levels, in increasing order.
enum {
    HEED_CPU_BASELINE = 0,  // x86-64 (SSE2), or any non-x86 CPU (portable C vectors)
    HEED_CPU_AVX2 = 1,      // x86-64-v3: AVX2, FMA, F16C, BMI
    HEED_CPU_AVX512 = 2,    // x86-64-v4: AVX-512 F/BW/DQ/VL
    HEED_CPU_AVX512VNNI = 3, // + AVX512_VNNI (vpdpbusd: the int8 product)
    HEED_CPU_AVX512BF16 = 4, // + AVX512_BF16 (vdpbf16ps: the bf16 product)
};

// The highest level this CPU and OS support (cpuid, and XGETBV for the register state).
int heed_cpu_supported_level(void);

// A spin-wait loop's pause (x86 PAUSE, AArch64 YIELD): lets the core's other work, and a
// sibling hyperthread, run while Parallel's workers poll for their next job.
static inline void heed_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

// Tiled attention forward, one block of at most HEED_ATTN_QB query rows of one (batch, head),
// keys in tiles of HEED_ATTN_TK (Sources/CHeedKernels/attention_forward.inc says how).
#define HEED_ATTN_QB 64
#define HEED_ATTN_TK 128

typedef struct heed_attention_block {
    const float *q; ptrdiff_t ldq;   // the block's query rows: q[i·ldq + x], i < rows, x < d
    const float *k; ptrdiff_t ldk;   // key rows 0..<keys of the head
    const float *v; ptrdiff_t ldv;   // value rows 0..<keys (dv wide)
    float *o; ptrdiff_t ldo;         // output rows (dv wide), written
    float *lse;                      // rows log-sum-exps, written (−∞ for a row that sees no key)
    size_t rows, keys, d, dv;
    float scale;
    int causal;                      // key j hidden from block row i when j > first_row + i
    ptrdiff_t first_row;             // the block's first query index in the head
    const float *bias;               // additive bias of the block's first row, or NULL:
    ptrdiff_t bias_sq, bias_sk;      //   bias[i·bias_sq + j·bias_sk]
    float *workspace;                // heed_attention_workspace_floats(d, dv) floats
} heed_attention_block;

static inline size_t heed_attention_workspace_floats(size_t d, size_t dv) {
    return (d + HEED_ATTN_TK + dv + 4) * HEED_ATTN_QB;
}

// Attention backward, one block of at most HEED_ATTN_QB query rows of one (batch, head): adds
// its terms to the block's dQ rows and to dK and dV, over key tiles first_tile,
// first_tile + tile_step, … of HEED_ATTN_BWD_TK keys (Sources/CHeedKernels/
// attention_backward.inc). d and dv must be multiples of 16.
#define HEED_ATTN_BWD_TK 64

typedef struct heed_attention_backward_block {
    const float *q; ptrdiff_t ldq;         // the block's query rows
    const float *dout; ptrdiff_t lddo;     // their output gradients (dv wide)
    const float *lse, *drow;               // their log-sum-exps and D = Σ dO ⊙ O
    const float *k; ptrdiff_t ldk;         // the head's key rows 0..<keys
    const float *v; ptrdiff_t ldv;         // its value rows
    float *dq; ptrdiff_t lddq;             // += into the block's dQ rows
    float *dk; ptrdiff_t lddk;             // += into the head's dK rows
    float *dvv; ptrdiff_t lddv;            // += into its dV rows
    size_t rows, keys, d, dv;
    size_t first_tile, tile_step;
    float scale;
    int causal;                            // key j hidden from row first_row + i when j > first_row + i
    ptrdiff_t first_row;
    const float *bias;                     // additive bias of the block's first row and key 0, or NULL
    ptrdiff_t bias_sq, bias_sk;
    float *workspace;                      // heed_attention_backward_workspace_floats(d, dv) floats
} heed_attention_backward_block;

static inline size_t heed_attention_backward_workspace_floats(size_t d, size_t dv) {
    return (d + dv + 2 * HEED_ATTN_BWD_TK + 2) * HEED_ATTN_QB;
}

// One Adam/AdamW step's constants (HeedNN's Adam: step_size = lr / (1 − β1ᵗ),
// bias2_sqrt = √(1 − β2ᵗ), l2 = coupled weight decay, decay = 1 − lr·λ for AdamW, else 1).
typedef struct heed_adam_coefficients {
    float beta1, beta2, eps, step_size, bias2_sqrt, l2, decay;
} heed_adam_coefficients;

// An int8 dense-layer product (quant_gemm.inc): Y[i][j] = (Σ q[i]·w[j] − zero_i·wsum_j) ·
// (scale_i·wscale_j) + bias_j for i < m, j < n, from heed_quantize_rows_u8's rows and
// heed_pack_int8's panels (wsum, wscale and bias are padded to whole panels of 16).
typedef struct heed_int8_gemm {
    const uint8_t *xq; size_t ldq;          // m rows of 4·groups bytes
    const float *xscale; const int32_t *xzero;
    size_t m, groups;                       // groups = ⌈k/4⌉
    const int8_t *w;                        // the first panel
    const int32_t *wsum; const float *wscale; const float *bias;   // at the first column; bias may be NULL
    size_t n;                               // columns from the first
    float *y; ptrdiff_t ldy;                // written
} heed_int8_gemm;

// A bf16 dense-layer product: Y[i][j] = Σ xb[i]·w[j] + bias_j (quant_gemm.inc says in which order).
typedef struct heed_bf16_gemm {
    const uint16_t *xb; size_t ldb;         // m rows of 2·groups bf16
    size_t m, groups;                       // groups = ⌈k/2⌉
    const uint16_t *w;                      // the first panel
    const float *bias;                      // at the first column, padded; may be NULL
    size_t n;
    float *y; ptrdiff_t ldy;
} heed_bf16_gemm;

// One level's kernels. Element-wise kernels read x[0..<n] and write y[0..<n] (y may be x).
typedef struct heed_kernel_table {
    int level;
    void (*exp)(const float *x, float *y, size_t n);
    void (*tanh)(const float *x, float *y, size_t n);
    void (*sigmoid)(const float *x, float *y, size_t n);
    void (*gelu_erf)(const float *x, float *y, size_t n);        // x·Φ(x), exact
    void (*gelu_erf_grad)(const float *x, float *y, size_t n);   // Φ(x) + x·φ(x)
    void (*gelu_tanh)(const float *x, float *y, size_t n);
    void (*gelu_tanh_grad)(const float *x, float *y, size_t n);
    // row ← e^(row − shift), returning Σ row; −∞ entries become exactly 0.
    float (*exp_shifted_sum)(float *row, size_t n, float shift);
    // p ← p·decay − step_size·m̂/(√v̂ + eps) with m, v updated in place, over n elements.
    void (*adam_update)(float *p, const float *g, float *m, float *v, size_t n, const heed_adam_coefficients *k);
    void (*attention_forward_block)(const heed_attention_block *block);
    // Y[i][j] += Σ_kk X[i][kk]·W[j][kk], i < m, j < n, from xt = heed_pack_transposed(X):
    // a dense layer's product when X has few rows (attention_gemm.inc).
    void (*gemm_few_rows)(const float *xt, size_t mpad, size_t m, size_t k, const float *w, ptrdiff_t ldw,
                          size_t n, float *y, ptrdiff_t ldy);
    void (*attention_backward_block)(const heed_attention_backward_block *block);
    // Y[i][j] += Σ_kk X[i][kk]·W[j][kk], i < m, j < n, X and W unpacked: gemm_few_rows's
    // dot-product twin for the fewest rows (attention_gemm.inc).
    void (*gemm_dot_rows)(const float *x, ptrdiff_t ldx, size_t m, size_t k, const float *w, ptrdiff_t ldw,
                          size_t n, float *y, ptrdiff_t ldy);
    // Layer norm of `rows` rows of c floats (layer_norm.inc): out, and each row's mean and
    // 1/√(σ² + eps); weight and bias may be NULL (ones, zeros).
    void (*layer_norm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                               const float *bias, size_t rows, size_t c, float eps);
    // Its backward for the same rows; dinp, dweight, dbias may be NULL, the last two accumulate.
    void (*layer_norm_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                const float *weight, const float *mean, const float *rstd, size_t rows, size_t c);
    // An int8 linear layer's activations: each row's u8 codes (padded with zeros to whole groups
    // of four), scale and zero point (quant_gemm.inc says how).
    // multiplier (k floats, or NULL) scales each column first.
    void (*quantize_rows_u8)(const float *x, ptrdiff_t ldx, size_t m, size_t k, const float *multiplier,
                             uint8_t *q, size_t ldq, float *scale, int32_t *zero);
    void (*gemm_u8s8)(const heed_int8_gemm *g);
    // A bf16 linear layer's activations, rounded to nearest even (padded to whole pairs).
    void (*convert_rows_bf16)(const float *x, ptrdiff_t ldx, size_t m, size_t k, uint16_t *b, size_t ldb);
    void (*gemm_bf16)(const heed_bf16_gemm *g);
} heed_kernel_table;

// The int8 and bf16 products of the levels that have instructions of their own for them.
typedef struct heed_quant_products {
    void (*gemm_u8s8)(const heed_int8_gemm *g);
    void (*gemm_bf16)(const heed_bf16_gemm *g);
} heed_quant_products;

// W (n × k, row-major, int8 codes or bf16 bits) in panels of 16 columns: the layout of
// heed_int8_gemm.w (⌈n/16⌉·⌈k/4⌉·64 bytes) and heed_bf16_gemm.w (⌈n/16⌉·⌈k/2⌉·32 elements),
// zero-padded.
void heed_pack_int8(const int8_t *w, size_t n, size_t k, int8_t *packed);
void heed_pack_bf16(const uint16_t *w, size_t n, size_t k, uint16_t *packed);

// xt[kk·mpad + i] = alpha·x[i·ldx + kk] for i < m, 0 for m ≤ i < mpad (kk < k): the packed
// operand of gemm_few_rows. mpad must be a multiple of 16.
void heed_pack_transposed(const float *x, ptrdiff_t ldx, size_t m, size_t k, float alpha, float *xt, size_t mpad);

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
