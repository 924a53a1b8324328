/// The description of one scaled dot-product attention call that the kernels work from: raw
/// pointers with strides (no copies of strided or permuted inputs), sizes, scale, masking and
/// dropout. Shared by the materialised and tiled kernels, forward and backward.

/// A [B, H, N, D] operand whose last axis is contiguous: element (b, h, n, x) sits at
/// `base + b·sb + h·sh + n·sn + x`. Each head is then a row-major matrix with leading
/// dimension `sn`, which is all BLAS needs.
struct HeadMatrix {
    let base: UnsafeMutablePointer<Float>
    let sb: Int, sh: Int, sn: Int

    @inline(__always) func at(_ b: Int, _ h: Int, row: Int = 0) -> UnsafeMutablePointer<Float> {
        base + b * sb + h * sh + row * sn
    }
}

extension Tensor {
    /// The head-matrix view of a rank-4 tensor with unit stride along its last axis.
    var headMatrix: HeadMatrix {
        check(rank == 4 && (strides[3] == 1 || shape[3] == 1), "attention: operand of shape \(shape) strides \(strides) has no unit-stride last axis")
        return HeadMatrix(base: base, sb: strides[0], sh: strides[1], sn: strides[2])
    }
}

/// An additive bias over the [B, H, Nq, Nk] scores, read through broadcast strides (0 on
/// broadcast axes), so a [B, 1, 1, Nk] padding mask costs Nk floats per batch, not N².
/// −∞ entries block a key.
struct ScoreBias {
    let base: UnsafePointer<Float>
    let sb: Int, sh: Int, sq: Int, sk: Int

    @inline(__always) func row(_ b: Int, _ h: Int, _ i: Int) -> UnsafePointer<Float> {
        base + b * sb + h * sh + i * sq
    }
}

struct AttentionProblem {
    let batch: Int, heads: Int, kvHeads: Int
    let nq: Int, nk: Int, d: Int, dv: Int
    let scale: Float
    let causal: Bool
    let q: HeadMatrix, k: HeadMatrix, v: HeadMatrix
    let bias: ScoreBias?
    /// Dropout probability on the attention weights, and the seed its mask is hashed from.
    let dropout: Float
    let seed: UInt64

    /// Query heads per key/value head (grouped-query attention).
    var group: Int { heads / kvHeads }

    /// Whether the backward runs on the C kernel (attention_backward.inc), which takes no
    /// dropout and head sizes that are multiples of 16; otherwise it runs on BLAS calls.
    var backwardOnKernel: Bool { dropout == 0 && d % 16 == 0 && dv % 16 == 0 }

    /// Keys a query block [i0, i0+rows) can see: causal attention (PyTorch's top-left
    /// alignment, key j visible to query i when j ≤ i) never looks past the block's last row.
    @inline(__always) func keyEnd(_ i0: Int, _ rows: Int) -> Int {
        causal ? Swift.min(nk, i0 + rows) : nk
    }
}

/// The dropout mask, regenerated from (seed, position) by a stateless hash instead of stored:
/// the backward and every path (naive, materialised, tiled) see the same mask without keeping
/// an N×N array. 32-bit integer arithmetic only (a "lowbias32" mixer, two rounds for the low
/// and high halves of the position), so 16 lanes hash at once on baseline SSE2; the keep test
/// compares 24-bit integers (float conversion is a scalar loop in disguise here).
@inline(__always)
func dropoutHash(_ seed: UInt64, _ index: SIMD16<UInt32>, high: UInt32) -> SIMD16<UInt32> {
    @inline(__always) func mix(_ v: SIMD16<UInt32>) -> SIMD16<UInt32> {
        var x = v
        x ^= x &>> 16
        x &*= 0x7FEB_352D
        x ^= x &>> 15
        x &*= 0x846C_A68B
        x ^= x &>> 16
        return x
    }
    let lo = UInt32(truncatingIfNeeded: seed), hi = UInt32(truncatingIfNeeded: seed >> 32)
    return mix(mix(index ^ lo) ^ SIMD16(repeating: high ^ hi))
}

/// Scores kept with probability 1 − p: the top 24 hash bits ≥ p·2²⁴.
@inline(__always)
func dropoutThreshold(_ p: Float) -> UInt32 { UInt32(p * 16_777_216) }

/// Scalar form of the same mask (the naive reference uses it).
@inline(__always)
func dropoutKeep(_ seed: UInt64, _ index: Int, _ p: Float) -> Bool {
    let h = dropoutHash(seed, SIMD16(repeating: UInt32(truncatingIfNeeded: index)),
                        high: UInt32(truncatingIfNeeded: index >> 32))
    return h[0] >> 8 >= dropoutThreshold(p)
}

extension AttentionProblem {
    /// Flat index of score (b, h, i, j), the dropout hash's input.
    @inline(__always) func scoreIndex(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Int {
        ((b * heads + h) * nq + i) * nk + j
    }

    /// Scales row `i` of a weight tile (keys j0..<j0+n) by the dropout mask, writing to `dst`
    /// (which may be `src`): kept weights × 1/(1−p), dropped ones 0.
    @inline(__always)
    func applyDropout(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                      b: Int, h: Int, i: Int, j0: Int) {
        let keep = SIMD16<Float>(repeating: 1 / (1 - dropout))
        let threshold = SIMD16<UInt32>(repeating: dropoutThreshold(dropout))
        let base = scoreIndex(b, h, i, j0)
        let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        var c = 0
        while c < n {
            // Positions base+c … base+c+15; the high half is shared unless the block crosses 2³²,
            // which would need more than 4·10⁹ scores in one call.
            let start = base + c
            let idx = lanes &+ UInt32(truncatingIfNeeded: start)
            let kept = (dropoutHash(seed, idx, high: UInt32(truncatingIfNeeded: start >> 32)) &>> 8) .>= threshold
            let m = Swift.min(16, n - c)
            let v = m == 16 ? load16(src + c) : loadPartial(src + c, m)
            let out = SIMD16<Float>().replacing(with: v * keep, where: kept)
            if m == 16 { store16(out, dst + c) } else { storePartial(out, dst + c, m) }
            c += 16
        }
    }

    /// Adds the bias and the causal mask to row `i` of a score tile covering keys j0..<j0+n.
    @inline(__always)
    func maskRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, b: Int, h: Int, i: Int, j0: Int) {
        if let bias {
            let br = bias.row(b, h, i) + j0 * bias.sk
            if bias.sk == 1 {
                var c = 0
                while c + 16 <= n { store16(load16(row + c) + load16(br + c), row + c); c += 16 }
                while c < n { row[c] += br[c]; c += 1 }
            } else if bias.sk == 0 {
                let v = br[0]
                for c in 0..<n { row[c] += v }
            } else {
                for c in 0..<n { row[c] += br[c * bias.sk] }
            }
        }
        if causal {
            let visible = Swift.max(0, Swift.min(n, i - j0 + 1))
            if visible < n { (row + visible).update(repeating: -.infinity, count: n - visible) }
        }
    }
}
