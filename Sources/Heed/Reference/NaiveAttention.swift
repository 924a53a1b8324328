/// Naive scaled dot-product attention, forward and backward: one query row at a time, plain
/// loops over [Float] arrays, Double accumulation, no BLAS and no tiling. The oracle for the
/// fused kernels and the benchmark's baseline. Same semantics as `scaledDotProductAttention`:
/// mask, causal (key j visible to query i when j ≤ i), dropout from the same hashed mask, and
/// zero output/gradients for a query that sees no key.
extension Reference {
    struct AttentionInputs {
        let b: Int, h: Int, hkv: Int, nq: Int, nk: Int, d: Int, dv: Int
        let q: [Float], k: [Float], v: [Float]
        let bias: [Float]?          // [B, H, Nq, Nk]
        let scale: Double, causal: Bool, dropout: Float, seed: UInt64

        init(_ query: Tensor, _ key: Tensor, _ value: Tensor, _ mask: AttentionMask?, _ isCausal: Bool,
             _ scale: Float?, _ dropout: Float, _ seed: UInt64) {
            (b, h, nq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
            (hkv, nk, dv) = (key.shape[1], key.shape[2], value.shape[3])
            q = query.scalars; k = key.scalars; v = value.scalars
            let full = [b, h, nq, nk]
            bias = mask.map { m in
                noGrad {
                    switch m {
                    case .allowed(let t): return Tensor.where(t .!= 0, .scalar(0), .scalar(-.infinity)).expanded(full).scalars
                    case .additive(let t): return t.detach().expanded(full).scalars
                    case .keyPadding(let t):
                        return Tensor.where(t .!= 0, .scalar(0), .scalar(-.infinity)).reshaped([full[0], 1, 1, full[3]]).expanded(full).scalars
                    }
                }
            }
            self.scale = Double(scale ?? 1 / Float(d).squareRoot())
            causal = isCausal
            self.dropout = dropout
            self.seed = seed
        }

        func qAt(_ bi: Int, _ hi: Int, _ i: Int, _ x: Int) -> Double { Double(q[((bi * h + hi) * nq + i) * d + x]) }
        func kAt(_ bi: Int, _ g: Int, _ j: Int, _ x: Int) -> Double { Double(k[((bi * hkv + g) * nk + j) * d + x]) }
        func vAt(_ bi: Int, _ g: Int, _ j: Int, _ x: Int) -> Double { Double(v[((bi * hkv + g) * nk + j) * dv + x]) }

        /// Softmax weights of query (bi, hi, i) and their dropout factors (0 or 1/(1−p)).
        func weights(_ bi: Int, _ hi: Int, _ i: Int) -> (p: [Double], drop: [Double]) {
            let g = hi / (h / hkv)
            var s = [Double](repeating: -.infinity, count: nk)
            for j in 0..<nk where !(causal && j > i) {
                var acc = 0.0
                for x in 0..<d { acc += qAt(bi, hi, i, x) * kAt(bi, g, j, x) }
                s[j] = acc * scale + Double(bias?[((bi * h + hi) * nq + i) * nk + j] ?? 0)
            }
            let m = s.max() ?? -.infinity
            var p = [Double](repeating: 0, count: nk)
            if m > -.infinity {
                var sum = 0.0
                for j in 0..<nk { p[j] = Foundation.exp(s[j] - m); sum += p[j] }
                for j in 0..<nk { p[j] /= sum }
            }
            let drop = (0..<nk).map { j -> Double in
                dropout == 0 ? 1 : dropoutKeep(seed, ((bi * h + hi) * nq + i) * nk + j, dropout) ? 1 / Double(1 - dropout) : 0
            }
            return (p, drop)
        }
    }

    /// Naive forward: [B, H, Nq, dv].
    public static func attention(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask? = nil,
                                 isCausal: Bool = false, scale: Float? = nil, dropout: Float = 0,
                                 dropoutSeed: UInt64 = 0) -> Tensor {
        let a = AttentionInputs(query, key, value, mask, isCausal, scale, dropout, dropoutSeed)
        var out = [Float](repeating: 0, count: a.b * a.h * a.nq * a.dv)
        for bi in 0..<a.b { for hi in 0..<a.h { for i in 0..<a.nq {
            let (p, drop) = a.weights(bi, hi, i)
            let g = hi / (a.h / a.hkv)
            for x in 0..<a.dv {
                var acc = 0.0
                for j in 0..<a.nk where p[j] != 0 { acc += p[j] * drop[j] * a.vAt(bi, g, j, x) }
                out[((bi * a.h + hi) * a.nq + i) * a.dv + x] = Float(acc)
            }
        } } }
        return Tensor(out, shape: [a.b, a.h, a.nq, a.dv])
    }

    /// Naive backward: gradients of Σ out ⊙ dOut with respect to query, key and value.
    public static func attentionBackward(query: Tensor, key: Tensor, value: Tensor, dOut: Tensor,
                                         mask: AttentionMask? = nil, isCausal: Bool = false,
                                         scale: Float? = nil, dropout: Float = 0,
                                         dropoutSeed: UInt64 = 0) -> (dq: Tensor, dk: Tensor, dv: Tensor) {
        let a = AttentionInputs(query, key, value, mask, isCausal, scale, dropout, dropoutSeed)
        let go = dOut.scalars
        var dq = [Double](repeating: 0, count: a.q.count)
        var dk = [Double](repeating: 0, count: a.k.count)
        var dv = [Double](repeating: 0, count: a.v.count)
        for bi in 0..<a.b { for hi in 0..<a.h { for i in 0..<a.nq {
            let (p, drop) = a.weights(bi, hi, i)
            let g = hi / (a.h / a.hkv)
            let gRow = ((bi * a.h + hi) * a.nq + i) * a.dv
            // dp_j = (dO·v_j)·drop_j ; dv_j += p_j·drop_j·dO
            var dp = [Double](repeating: 0, count: a.nk)
            for j in 0..<a.nk {
                var acc = 0.0
                for x in 0..<a.dv {
                    acc += Double(go[gRow + x]) * a.vAt(bi, g, j, x)
                    dv[((bi * a.hkv + g) * a.nk + j) * a.dv + x] += p[j] * drop[j] * Double(go[gRow + x])
                }
                dp[j] = acc * drop[j]
            }
            let dotPdP = zip(p, dp).reduce(0) { $0 + $1.0 * $1.1 }
            for j in 0..<a.nk where p[j] != 0 {
                let ds = p[j] * (dp[j] - dotPdP) * a.scale
                for x in 0..<a.d {
                    dq[((bi * a.h + hi) * a.nq + i) * a.d + x] += ds * a.kAt(bi, g, j, x)
                    dk[((bi * a.hkv + g) * a.nk + j) * a.d + x] += ds * a.qAt(bi, hi, i, x)
                }
            }
        } } }
        return (Tensor(dq.map(Float.init), shape: query.shape), Tensor(dk.map(Float.init), shape: key.shape),
                Tensor(dv.map(Float.init), shape: value.shape))
    }
}

import Foundation
