import Heed

/// The design document's own attention (§3–4) as a classifier: the 28 image rows are the
/// sequence x_i, embedded as e_i = relu(W_e·row_i + b_e) + p_i (a learned position p_i per
/// row), pooled by additive attention y = Σ softmax(vᵀ tanh(W e_i + b))_i · e_i, then a
/// two-layer head. The attention weights say which rows the model reads.
public final class RowAttentionClassifier: Module, ImageClassifier {
    public let embed: Linear
    public let positions: Tensor          // [rows, dim]
    public let pooling: AdditiveAttentionPooling
    public let head: Linear
    public let output: Linear

    public init(rows: Int = 28, columns: Int = 28, dim: Int = 128, attentionHidden: Int = 64,
                classes: Int = 10, seed: UInt64 = 0) {
        // One seed per part drawn from `seed`. Not seed, seed + 1, …: a Linear seeded s draws
        // its bias from s + 1 (and the pooling its context from s + 2), so neighbouring seeds
        // gave parts identical values (head.weight began with pooling.projection.bias, and
        // output.weight with head.bias).
        var seeds = Xoshiro256(seed: seed)
        embed = Linear(columns, dim, seed: seeds.next())
        positions = Tensor.randomNormal([rows, dim], std: 0.02, seed: seeds.next()).requiringGrad()
        pooling = AdditiveAttentionPooling(inputCount: dim, hiddenCount: attentionHidden, seed: seeds.next())
        head = Linear(dim, dim, seed: seeds.next())
        output = Linear(dim, classes, seed: seeds.next())
    }

    public override var ownParameters: [(name: String, tensor: Tensor)] { [("positions", positions)] }
    public override var children: [(name: String, module: Module)] {
        [("embed", embed), ("pooling", pooling), ("head", head), ("output", output)]
    }

    public func callAsFunction(_ images: Tensor) -> Tensor {
        output(head(pooledRows(images)).relu())
    }

    /// The pooled row representation and the attention weight of each row, [B, dim] and [B, rows].
    public func pool(_ images: Tensor) -> (pooled: Tensor, weights: Tensor) {
        let e = embed(images).relu() + positions
        let (pooled, weights) = pooling(e)
        return (pooled, weights)
    }

    func pooledRows(_ images: Tensor) -> Tensor { pool(images).pooled }

    public var flopsPerExample: Int {
        let rows = positions.shape[0], dim = positions.shape[1]
        let hidden = pooling.projection.outputCount
        return 2 * (rows * embed.inputCount * dim + rows * dim * hidden + rows * hidden + rows * dim
                    + dim * dim + dim * output.outputCount)
    }
}
