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
        precondition(rank == 4 && (strides[3] == 1 || shape[3] == 1), "attention: operand of shape \(shape) strides \(strides) has no unit-stride last axis")
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

    /// Keys a query block [i0, i0+rows) can see: causal attention (PyTorch's top-left
    /// alignment, key j visible to query i when j ≤ i) never looks past the block's last row.
    @inline(__always) func keyEnd(_ i0: Int, _ rows: Int) -> Int {
        causal ? Swift.min(nk, i0 + rows) : nk
    }
}

/// The dropout mask, regenerated from (seed, position) by a stateless hash instead of stored:
/// the backward and every path (naive, materialised, tiled) see the same mask without keeping
/// an N×N array. `keepScale` is 1/(1−p) where kept, 0 where dropped.
@inline(__always)
func dropoutKeep(_ seed: UInt64, _ index: Int, _ p: Float) -> Bool {
    var z = seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Float(z >> 40) * 0x1p-24 >= p
}

extension AttentionProblem {
    /// Flat index of score (b, h, i, j), the dropout hash's input.
    @inline(__always) func scoreIndex(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Int {
        ((b * heads + h) * nq + i) * nk + j
    }

    /// Scales row `i` of a weight tile (keys j0..<j0+n) by the dropout mask, writing to `dst`.
    @inline(__always)
    func applyDropout(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                      b: Int, h: Int, i: Int, j0: Int) {
        let keep = 1 / (1 - dropout)
        let base = scoreIndex(b, h, i, j0)
        for c in 0..<n { dst[c] = dropoutKeep(seed, base + c, dropout) ? src[c] * keep : 0 }
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
