import Heed

/// Multi-head attention (PyTorch's `nn.MultiheadAttention`, batch first):
///
///     Q = query·W_qᵀ, K = key·W_kᵀ, V = value·W_vᵀ  split into heads,
///     O = scaledDotProductAttention(Q, K, V)       merged,  y = O·W_oᵀ
///
/// query [B, Nq, modelDim], key [B, Nk, keyDim], value [B, Nk, valueDim] (key and value widths
/// may differ from the query's: cross-attention). With `keyValueHeads` < `heads` keys and
/// values are projected to fewer heads (grouped-query attention). The backward runs through
/// the fused attention kernels; head splitting and merging are views, not copies.
public final class MultiHeadAttention: Module {
    public let heads: Int
    public let keyValueHeads: Int
    public let headDim: Int
    public let dropout: Float
    public let query: Linear, key: Linear, value: Linear, output: Linear

    public init(modelDim: Int, heads: Int, keyDim: Int? = nil, valueDim: Int? = nil,
                keyValueHeads: Int? = nil, bias: Bool = true, dropout: Float = 0, seed: UInt64? = nil) {
        check(heads > 0 && modelDim % heads == 0,
              "MultiHeadAttention: modelDim \(modelDim) is not divisible by \(heads) heads")
        let kvHeads = keyValueHeads ?? heads
        check(kvHeads > 0 && heads % kvHeads == 0,
              "MultiHeadAttention: \(heads) heads are not a multiple of \(kvHeads) key/value heads")
        self.heads = heads
        self.keyValueHeads = kvHeads
        self.headDim = modelDim / heads
        self.dropout = dropout
        let kvDim = kvHeads * headDim
        query = Linear(modelDim, modelDim, bias: bias, seed: seed)
        key = Linear(keyDim ?? modelDim, kvDim, bias: bias, seed: seed.map { $0 &+ 10 })
        value = Linear(valueDim ?? modelDim, kvDim, bias: bias, seed: seed.map { $0 &+ 20 })
        output = Linear(modelDim, modelDim, bias: bias, seed: seed.map { $0 &+ 30 })
    }

    public override var children: [(name: String, module: Module)] {
        [("query", query), ("key", key), ("value", value), ("output", output)]
    }

    /// Self-attention when `key`/`value` are nil. Returns the output [B, Nq, modelDim] and,
    /// with `needWeights`, the attention weights averaged over heads [B, Nq, Nk] (computed on
    /// the materialised path, not differentiable).
    public func callAsFunction(_ queryInput: Tensor, key keyInput: Tensor? = nil, value valueInput: Tensor? = nil,
                               mask: AttentionMask? = nil, isCausal: Bool = false,
                               needWeights: Bool = false) -> (output: Tensor, weights: Tensor?) {
        let keyInput = keyInput ?? queryInput, valueInput = valueInput ?? keyInput
        check(queryInput.rank == 3 && keyInput.rank == 3 && valueInput.rank == 3
              && keyInput.shape[0] == queryInput.shape[0] && valueInput.shape[0] == queryInput.shape[0]
              && keyInput.shape[1] == valueInput.shape[1],
              "MultiHeadAttention: query \(queryInput.shape), key \(keyInput.shape), value \(valueInput.shape) are not [B, Nq, E], [B, Nk, Ek], [B, Nk, Ev]")
        let (b, nq, nk) = (queryInput.shape[0], queryInput.shape[1], keyInput.shape[1])
        // [B, N, H·hd] → [B, H, N, hd] as a view: the kernels read strided heads in place.
        func split(_ t: Tensor, _ n: Int, _ h: Int) -> Tensor {
            t.reshaped([b, n, h, headDim]).permuted([0, 2, 1, 3])
        }
        let q = split(query(queryInput), nq, heads)
        let k = split(key(keyInput), nk, keyValueHeads)
        let v = split(value(valueInput), nk, keyValueHeads)
        let p = isTraining ? dropout : 0
        var weights: Tensor? = nil
        let o: Tensor
        if needWeights {
            let r = scaledDotProductAttentionWithWeights(query: q, key: k, value: v, mask: mask, isCausal: isCausal, dropout: p)
            o = r.output
            weights = r.weights.mean(axis: 1)
        } else {
            o = scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: isCausal, dropout: p)
        }
        // The kernel stores O as [B, Nq, H, hd]: merging heads is a free reshape.
        let merged = o.permuted([0, 2, 1, 3]).reshaped([b, nq, heads * headDim])
        return (output(merged), weights)
    }
}
