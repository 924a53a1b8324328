import Heed

/// An attention problem (B, H, N, d) with Nq = Nk = N.
struct AttentionShape {
    let label: String
    let b: Int, h: Int, n: Int, d: Int

    var text: String { "(\(b), \(h), \(n), \(d))" }
    var dims: [Int] { [b, h, n, d] }

    /// Query–key pairs whose score is used: all N² of them, or the N(N+1)/2 with j ≤ i.
    func pairs(causal: Bool) -> Double {
        let n = Double(self.n)
        return causal ? n * (n + 1) / 2 : n * n
    }

    /// 4·B·H·pairs·d: Q·Kᵀ and P·V, 2 flops per multiply-add each. Forward+backward counts
    /// 3× that: the backward's four products (dV, dP, dQ, dK) are twice the forward's two. The
    /// tiled path's recomputed Q·Kᵀ is not counted, so every path is measured against the same
    /// useful work.
    func flops(causal: Bool, pass: Pass) -> Double {
        4 * Double(b * h * d) * pairs(causal: causal) * (pass == .fwd ? 1 : 3)
    }

    static let s1 = AttentionShape(label: "S1", b: 4, h: 8, n: 256, d: 64)
    static let s2 = AttentionShape(label: "S2", b: 1, h: 8, n: 1024, d: 64)
    static let s3 = AttentionShape(label: "S3", b: 1, h: 8, n: 4096, d: 64)
    static let s4 = AttentionShape(label: "S4", b: 1, h: 1, n: 16384, d: 64)
    static let standard = [s1, s2, s3, s4]
    /// S2 with MiniLM's head size: d = 32 should keep most of d = 64's GFLOP/s (issue 12). Not
    /// in `standard`, whose sequence lengths are the charts' x axis.
    static let s2d32 = AttentionShape(label: "S2d32", b: 1, h: 8, n: 1024, d: 32)
}

enum AttentionImpl: String, CaseIterable {
    case naive, materialized, tiled
}

func attentionCase(_ s: AttentionShape, _ impl: AttentionImpl, causal: Bool, pass: Pass) -> BenchCase {
    let name = "attention/\(s.label)/\(impl.rawValue)/\(causal ? "causal" : "full")/\(pass.rawValue)"
    return BenchCase(group: "attention", name: name, shape: "\(s.label) \(s.text)", n: s.n, path: impl.rawValue,
                     causal: causal, pass: pass, flops: s.flops(causal: causal, pass: pass)) {
        let grad = pass == .fwdBwd && impl != .naive
        let q = Tensor.randomNormal(s.dims, seed: 1).requiringGrad(grad)
        let k = Tensor.randomNormal(s.dims, seed: 2).requiringGrad(grad)
        let v = Tensor.randomNormal(s.dims, seed: 3).requiringGrad(grad)
        let dOut = Tensor.randomNormal(s.dims, seed: 4)
        switch (impl, pass) {
        case (.naive, .fwd):
            return { blackHole(Reference.attention(query: q, key: k, value: v, isCausal: causal)) }
        case (.naive, .fwdBwd):
            return {
                blackHole(Reference.attention(query: q, key: k, value: v, isCausal: causal))
                blackHole(Reference.attentionBackward(query: q, key: k, value: v, dOut: dOut, isCausal: causal))
            }
        case (_, .fwd):
            let path: AttentionPath = impl == .tiled ? .tiled : .materialized
            return { noGrad { blackHole(scaledDotProductAttention(query: q, key: k, value: v, isCausal: causal, path: path)) } }
        case (_, .fwdBwd):
            let path: AttentionPath = impl == .tiled ? .tiled : .materialized
            return {
                let out = scaledDotProductAttention(query: q, key: k, value: v, isCausal: causal, path: path)
                out.backward(dOut)
                q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
            }
        }
    }
}
