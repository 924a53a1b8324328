import Heed

/// Layer normalisation over the last axis (PyTorch's `nn.LayerNorm(count)`):
///
///     y = (x − mean(x)) / √(var(x) + eps) · weight + bias
///
/// x [..., count] → y [..., count], statistics per row over the last axis (population
/// variance). `weight` [count] starts at ones and `bias` [count] at zeros; with `affine: false`
/// there are neither. Runs on Heed's fused `layerNorm` op: one forward kernel that saves the
/// per-row mean and 1/σ, and a hand-written backward, instead of nine composed ops.
public final class LayerNorm: Module, UnaryLayer {
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float
    public let count: Int

    public init(_ count: Int, eps: Float = 1e-5, affine: Bool = true) {
        check(count > 0, "LayerNorm: count \(count) must be positive")
        self.count = count
        self.eps = eps
        weight = affine ? Tensor.ones([count]).requiringGrad() : nil
        bias = affine ? Tensor.zeros([count]).requiringGrad() : nil
    }

    /// Wraps existing tensors [count] (e.g. loaded from a checkpoint).
    public init(weight: Tensor, bias: Tensor, eps: Float = 1e-5) {
        check(weight.rank == 1 && bias.shape == weight.shape && weight.count > 0,
              "LayerNorm: weight \(weight.shape) and bias \(bias.shape) are not both [count]")
        self.count = weight.count
        self.eps = eps
        self.weight = weight
        self.bias = bias
    }

    public override var ownParameters: [(name: String, tensor: Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        check(x.rank >= 1 && x.shape[x.rank - 1] == count,
              "LayerNorm: input of shape \(x.shape) does not end in \(count)")
        return x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}
