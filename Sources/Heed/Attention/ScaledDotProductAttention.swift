import CHeedKernels
import Synchronization

/// Which keys a query may attend to, beyond causality.
public enum AttentionMask {
    /// Nonzero = may attend (PyTorch's boolean `attn_mask`); broadcasts to [B, H, Nq, Nk].
    case allowed(Tensor)
    /// Added to the scaled scores (PyTorch's float `attn_mask`); −∞ blocks. Broadcasts to
    /// [B, H, Nq, Nk]. Receives no gradient.
    case additive(Tensor)
    /// [B, Nk], nonzero = a real token, 0 = padding (Hugging Face's `attention_mask`).
    case keyPadding(Tensor)
}

/// How attention is computed.
public enum AttentionPath: Sendable {
    /// Tiled, except when a backward will follow that the tiled kernels do not run (dropout,
    /// or a head size that is not a multiple of 16) and the [B, H, Nq, Nk] weights fit
    /// `Attention.materializedBudgetBytes`: then materialised, which saves that backward the
    /// recomputation.
    case automatic
    /// Keeps the full weight matrix for the backward (no recomputation), O(B·H·N²) memory.
    case materialized
    /// Online softmax over key tiles, recomputing the tile scores in the backward: O(B·H·N·d).
    case tiled
}

/// Attention-wide settings.
public enum Attention {
    private static let budget = Atomic<Int>(256 << 20)
    /// The largest weight matrix (bytes) the automatic path materialises. Default 256 MiB.
    public static var materializedBudgetBytes: Int {
        get { budget.load(ordering: .relaxed) }
        set { budget.store(newValue, ordering: .relaxed) }
    }

    /// Query rows per task: 128 keeps a 128×Nk score block in L2 for N ≤ 1024 and gives both
    /// cores many tasks at 8 heads (PERF-NOTES: 150–168 GFLOP/s with this split in C).
    static let blockQ = 128
    /// Key tile of the tiled path's forward and of both backwards.
    static let tileK = 256
}

/// softmax(Q·Kᵀ·scale + mask)·V over [B, H, Nq, d] queries and [B, Hkv, Nk, d] keys with
/// [B, Hkv, Nk, dv] values (Hkv dividing H: grouped-query attention), as PyTorch's
/// `scaled_dot_product_attention`. Returns [B, H, Nq, dv].
///
/// - `isCausal`: query i sees keys j ≤ i (top-left aligned when Nq ≠ Nk, as PyTorch).
/// - `scale`: defaults to 1/√d.
/// - `dropout`: probability of dropping each weight (scaled by 1/(1−p)); pass 0 outside
///   training. The mask is hashed from `dropoutSeed` (drawn from the global generator when
///   nil), so the backward regenerates it instead of storing it.
/// - A query whose keys are all masked gets a zero output row and zero gradients.
/// Backward goes through the fused kernels (AttentionBackward.swift).
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask? = nil, isCausal: Bool = false,
    scale: Float? = nil, dropout: Float = 0, dropoutSeed: UInt64? = nil, path: AttentionPath = .automatic
) -> Tensor {
    attention(query: query, key: key, value: value, mask: mask, isCausal: isCausal, scale: scale,
              dropout: dropout, dropoutSeed: dropoutSeed, path: path, keepWeights: false).output
}

/// `scaledDotProductAttention` that also returns the attention weights [B, H, Nq, Nk]
/// (before dropout; not differentiable). Always takes the materialised path.
public func scaledDotProductAttentionWithWeights(
    query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask? = nil, isCausal: Bool = false,
    scale: Float? = nil, dropout: Float = 0, dropoutSeed: UInt64? = nil
) -> (output: Tensor, weights: Tensor) {
    let r = attention(query: query, key: key, value: value, mask: mask, isCausal: isCausal, scale: scale,
                      dropout: dropout, dropoutSeed: dropoutSeed, path: .materialized, keepWeights: true)
    return (r.output, r.weights!)
}

/// The implementation behind both entry points; tests pass small tiles to cross tile edges.
func attention(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask?, isCausal: Bool,
               scale: Float?, dropout: Float, dropoutSeed: UInt64?, path: AttentionPath,
               keepWeights: Bool, blockQ: Int = Attention.blockQ, tileK: Int = Attention.tileK,
               kernels: UnsafePointer<heed_kernel_table> = CPUDispatch.kernels
) -> (output: Tensor, weights: Tensor?) {
    let op = "scaledDotProductAttention"
    check(query.rank == 4 && key.rank == 4 && value.rank == 4,
          "\(op): expected [B, H, N, d] query, key and value, got \(query.shape), \(key.shape), \(value.shape)")
    let (bsz, heads, nq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let (kvHeads, nk, dv) = (key.shape[1], key.shape[2], value.shape[3])
    check(key.shape[0] == bsz && value.shape[0] == bsz && key.shape[3] == d
          && value.shape[1] == kvHeads && value.shape[2] == nk,
          "\(op): query \(query.shape), key \(key.shape) and value \(value.shape) do not fit [B, H, Nq, d], [B, Hkv, Nk, d], [B, Hkv, Nk, dv]")
    check(kvHeads > 0 && heads % kvHeads == 0,
          "\(op): \(heads) query heads are not a multiple of \(kvHeads) key/value heads (query \(query.shape), key \(key.shape))")
    check(dropout >= 0 && dropout < 1, "\(op): dropout probability \(dropout) outside [0, 1)")

    // Operands BLAS can read in place: only a non-unit last stride forces a copy.
    func readable(_ t: Tensor) -> Tensor {
        t.strides[3] == 1 || t.shape[3] <= 1 ? t.detach() : noGrad { t.detach().contiguous() }
    }
    let (q, k, v) = (readable(query), readable(key), readable(value))
    let bias = mask.map { scoreBias($0, batch: bsz, heads: heads, nq: nq, nk: nk) }
    let seed = dropout > 0 ? (dropoutSeed ?? HeedRandom.withGlobal { $0.next() }) : 0
    let problem = AttentionProblem(
        batch: bsz, heads: heads, kvHeads: kvHeads, nq: nq, nk: nk, d: d, dv: dv,
        scale: scale ?? 1 / Float(d).squareRoot(), causal: isCausal,
        q: q.headMatrix, k: k.headMatrix, v: v.headMatrix,
        bias: bias.map { b in ScoreBias(base: b.base, sb: b.strides[0], sh: b.strides[1], sq: b.strides[2], sk: b.strides[3]) },
        dropout: dropout, seed: seed)

    let weightBytes = bsz * heads * nq * nk * MemoryLayout<Float>.stride
    // The tiled kernels beat the materialised path forward and backward at every benchmarked
    // shape (S2 fwd+bwd 35 against 50 ms). Where the tiled backward falls back to BLAS calls
    // (dropout, head sizes off 16), keeping the weights saves it recomputing them; a forward
    // with no graph would never read them again.
    let backward = GradMode.isEnabled && (query.requiresGrad || key.requiresGrad || value.requiresGrad)
    let materialize = keepWeights || path == .materialized
        || (path == .automatic && backward && !problem.backwardOnKernel && weightBytes <= Attention.materializedBudgetBytes)
    // Output stored as [B, Nq, H, dv] and returned as a [B, H, Nq, dv] view: merging heads
    // afterwards (MultiHeadAttention) is then a free reshape.
    let out = Tensor(uninitializedShape: [bsz, nq, heads, dv]).permuted([0, 2, 1, 3])
    let lse = Tensor(uninitializedShape: [bsz, heads, nq])
    let probs = materialize ? Tensor(uninitializedShape: [bsz, heads, nq, nk]) : nil
    attentionForward(problem, out: out.headMatrix, lse: lse.base, probs: probs?.base,
                     blockQ: blockQ, tileK: tileK, kernels: kernels)
    withExtendedLifetime((q, k, v, bias)) {}

    let recorded = out.recorded(op, [query, key, value]) { g in
        let gOut = g.strides[3] == 1 ? g : g.contiguous()
        let dq = Tensor(uninitializedLike: q), dk = Tensor(uninitializedLike: k), dvT = Tensor(uninitializedLike: v)
        dk.base.update(repeating: 0, count: dk.count)
        dvT.base.update(repeating: 0, count: dvT.count)
        attentionBackward(problem, out: out.headMatrix, dOut: gOut.headMatrix, lse: lse.base, probs: probs?.base,
                          dq: dq, dk: dk.headMatrix, dv: dvT.headMatrix,
                          blockQ: blockQ, tileK: tileK, kernels: kernels)
        withExtendedLifetime((q, k, v, bias, gOut, out, lse, probs)) {}
        return [dq, dk, dvT]
    }
    return (recorded, keepWeights ? probs : nil)
}

/// The mask as an additive bias with broadcast strides over [B, H, Nq, Nk] (−∞ = blocked).
private func scoreBias(_ mask: AttentionMask, batch: Int, heads: Int, nq: Int, nk: Int) -> Tensor {
    let op = "scaledDotProductAttention"
    let full = [batch, heads, nq, nk]
    func fits(_ t: Tensor) -> Bool {
        t.rank <= 4 && zip(t.shape.reversed(), full.reversed()).allSatisfy { $0 == $1 || $0 == 1 }
    }
    return noGrad {
        switch mask {
        case .allowed(let m):
            check(fits(m), "\(op): mask of shape \(m.shape) does not broadcast to \(full)")
            return Tensor.zeros(m.shape).maskedFill(m .== 0, -.infinity).expanded(full)
        case .additive(let m):
            check(fits(m), "\(op): mask of shape \(m.shape) does not broadcast to \(full)")
            return m.detach().contiguous().expanded(full)
        case .keyPadding(let m):
            check(m.shape == [batch, nk], "\(op): key padding mask of shape \(m.shape), expected [\(batch), \(nk)]")
            return Tensor.zeros(m.shape).maskedFill(m .== 0, -.infinity).reshaped([batch, 1, 1, nk]).expanded(full)
        }
    }
}
