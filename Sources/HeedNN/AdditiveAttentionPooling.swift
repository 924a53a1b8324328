import Heed

/// The design document's attention pooling (§3–4), Bahdanau-style:
///
///     h_i = tanh(W·x_i + b)     z_i = vᵀ·h_i     w = softmax(z)     y = Σ_i w_i·x_i
///
/// over a sequence x [B, N, inputCount] → y [B, inputCount], with weights w [B, N].
/// A padding mask [B, N] (nonzero = real element) excludes padded positions from the
/// softmax; a sequence with no real element pools to zeros. (The document's §3.2.2 omits the
/// normalisation and §3.3 returns the weighted elements instead of their sum: both fixed here.)
///
/// Composed from tensor ops, so autograd gives the backward. W [hidden, inputCount] and b are a
/// `Linear`; v is [hidden], uniform in ±1/√hidden.
public final class AdditiveAttentionPooling: Module {
    public let projection: Linear
    public let context: Tensor

    public init(inputCount: Int, hiddenCount: Int, seed: UInt64? = nil) {
        projection = Linear(inputCount, hiddenCount, seed: seed)
        let bound = 1 / Float(max(hiddenCount, 1)).squareRoot()
        context = Tensor.randomUniform([hiddenCount], low: -bound, high: bound,
                                       seed: seed.map { $0 &+ 2 }).requiringGrad()
    }

    public override var ownParameters: [(name: String, tensor: Tensor)] { [("context", context)] }
    public override var children: [(name: String, module: Module)] { [("projection", projection)] }

    /// Scores z [B, N] before the softmax.
    public func scores(_ x: Tensor) -> Tensor {
        check(x.rank == 3, "AdditiveAttentionPooling: input of shape \(x.shape) is not [B, N, features]")
        return projection(x).tanh().matmul(context)
    }

    /// Pooled output [B, inputCount] and the attention weights [B, N].
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil) -> (output: Tensor, weights: Tensor) {
        var z = scores(x)
        if let mask {
            check(mask.shape == Array(x.shape.prefix(2)),
                  "AdditiveAttentionPooling: mask of shape \(mask.shape) for input \(x.shape)")
            z = z.maskedFill(mask .== 0, -.infinity)
        }
        let w = z.softmax(axis: 1)                            // all-masked rows → zeros
        let y = w.unsqueezed(1).matmul(x).squeezed(1)         // Σ_i w_i x_i
        return (y, w)
    }
}
