import Heed

/// One Transformer encoder block (PyTorch's `nn.TransformerEncoderLayer`, batch first):
///
///     post-norm (normFirst false, the original Transformer and PyTorch's default):
///         x = norm1(x + dropout1(SA(x)))          x = norm2(x + dropout2(FF(x)))
///     pre-norm (normFirst true, GPT-2 and ViT; trains without warm-up tricks):
///         x = x + dropout1(SA(norm1(x)))          x = x + dropout2(FF(norm2(x)))
///
///     SA(x) = MultiHeadAttention(x, x, x)          FF(x) = linear2(dropout(act(linear1(x))))
///
/// x [B, N, modelDim] → [B, N, modelDim]; linear1 is [feedForwardDim, modelDim], linear2 the
/// reverse. `dropout` is used at all four PyTorch places: the attention weights, after the
/// activation, and on both residual branches. `mask` (e.g. `.keyPadding(valid)` with valid
/// [B, N], nonzero = real token — the opposite polarity of PyTorch's `src_key_padding_mask`)
/// and `isCausal` go to the attention unchanged.
///
/// Parameter names: PyTorch's except that `self_attn` is `attention` with separate projections
/// (`attention.query.weight` … `attention.output.bias`) instead of a packed `in_proj_weight`;
/// then `linear1`, `linear2`, `norm1`, `norm2`, in that order. Initialisation: each part's
/// default (Linear's U(±1/√in), LayerNorm's ones and zeros).
public final class TransformerEncoderLayer: Module, UnaryLayer {
    public let attention: MultiHeadAttention
    public let linear1: Linear
    public let linear2: Linear
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let dropout: Dropout, dropout1: Dropout, dropout2: Dropout
    public let activation: Activation
    public let normFirst: Bool

    public init(modelDim: Int, heads: Int, feedForwardDim: Int, dropout: Float = 0.1, normFirst: Bool = false,
                activation: Activation = .gelu, eps: Float = 1e-5, bias: Bool = true, seed: UInt64? = nil) {
        attention = MultiHeadAttention(modelDim: modelDim, heads: heads, bias: bias, dropout: dropout, seed: seed)
        linear1 = Linear(modelDim, feedForwardDim, bias: bias, seed: seed.map { $0 &+ 40 })
        linear2 = Linear(feedForwardDim, modelDim, bias: bias, seed: seed.map { $0 &+ 50 })
        norm1 = LayerNorm(modelDim, eps: eps)
        norm2 = LayerNorm(modelDim, eps: eps)
        self.dropout = Dropout(dropout, seed: seed.map { $0 &+ 60 })
        dropout1 = Dropout(dropout, seed: seed.map { $0 &+ 61 })
        dropout2 = Dropout(dropout, seed: seed.map { $0 &+ 62 })
        self.activation = activation
        self.normFirst = normFirst
    }

    public var modelDim: Int { linear1.inputCount }

    public override var children: [(name: String, module: Module)] {
        [("attention", attention), ("linear1", linear1), ("linear2", linear2), ("norm1", norm1), ("norm2", norm2),
         ("dropout", dropout), ("dropout1", dropout1), ("dropout2", dropout2)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, mask: nil, isCausal: false) }

    public func callAsFunction(_ x: Tensor, mask: AttentionMask?, isCausal: Bool = false) -> Tensor {
        check(x.rank == 3 && x.shape[2] == modelDim,
              "TransformerEncoderLayer: input of shape \(x.shape) is not [B, N, \(modelDim)]")
        if normFirst {
            let h = x + selfAttentionBlock(norm1(x), mask, isCausal)
            return h + feedForwardBlock(norm2(h))
        }
        let h = norm1(x + selfAttentionBlock(x, mask, isCausal))
        return norm2(h + feedForwardBlock(h))
    }

    private func selfAttentionBlock(_ x: Tensor, _ mask: AttentionMask?, _ isCausal: Bool) -> Tensor {
        dropout1(attention(x, mask: mask, isCausal: isCausal).output)
    }

    private func feedForwardBlock(_ x: Tensor) -> Tensor {
        dropout2(linear2(dropout(activation(linear1(x)))))
    }
}

/// A stack of `TransformerEncoderLayer`s (PyTorch's `nn.TransformerEncoder`), children named
/// `layers.0`, `layers.1`, … and, with `finalNorm`, a closing LayerNorm `norm` (what pre-norm
/// stacks need, since their last residual sum is otherwise unnormalised). The mask and
/// `isCausal` go to every layer.
public final class TransformerEncoder: Module, UnaryLayer {
    public let layers: [TransformerEncoderLayer]
    public let norm: LayerNorm?

    public init(layers count: Int, modelDim: Int, heads: Int, feedForwardDim: Int, dropout: Float = 0.1,
                normFirst: Bool = false, activation: Activation = .gelu, finalNorm: Bool = false,
                eps: Float = 1e-5, seed: UInt64? = nil) {
        check(count >= 0, "TransformerEncoder: negative layer count \(count)")
        layers = (0..<count).map { i in
            TransformerEncoderLayer(modelDim: modelDim, heads: heads, feedForwardDim: feedForwardDim,
                                    dropout: dropout, normFirst: normFirst, activation: activation, eps: eps,
                                    seed: seed.map { $0 &+ UInt64(i) &* 1000 })
        }
        norm = finalNorm ? LayerNorm(modelDim, eps: eps) : nil
    }

    /// Stacks existing layers (e.g. built with different options, or loaded).
    public init(layers: [TransformerEncoderLayer], norm: LayerNorm? = nil) {
        self.layers = layers
        self.norm = norm
    }

    public override var children: [(name: String, module: Module)] {
        layers.enumerated().map { ("layers.\($0.offset)", $0.element as Module) } + (norm.map { [("norm", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, mask: nil, isCausal: false) }

    public func callAsFunction(_ x: Tensor, mask: AttentionMask?, isCausal: Bool = false) -> Tensor {
        let h = layers.reduce(x) { $1($0, mask: mask, isCausal: isCausal) }
        return norm.map { $0(h) } ?? h
    }
}
