import Heed

/// y = x·Wᵀ + b over the last axis: x [..., inputCount] → y [..., outputCount].
///
/// `weight` is [outputCount, inputCount] (the PyTorch / safetensors layout, so checkpoints
/// load as they are). Initialised as PyTorch's `nn.Linear`: W and b uniform in ±1/√inputCount,
/// unless an `Initializer` is given (then b starts from `biasInitializer`, zeros by default, as
/// in Keras and in the usual `xavier_uniform_(w); zeros_(b)` PyTorch recipe).
public final class Linear: Module, UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inputCount: Int, _ outputCount: Int, bias: Bool = true, seed: UInt64? = nil) {
        let bound = 1 / Float(max(inputCount, 1)).squareRoot()
        weight = Tensor.randomUniform([outputCount, inputCount], low: -bound, high: bound, seed: seed).requiringGrad()
        self.bias = bias ? Tensor.randomUniform([outputCount], low: -bound, high: bound,
                                                seed: seed.map { $0 &+ 1 }).requiringGrad() : nil
    }

    /// Weights from `initializer` (e.g. `.glorotUniform()`, `.orthogonal()`), bias from `biasInitializer`.
    public convenience init(_ inputCount: Int, _ outputCount: Int, bias: Bool = true, initializer: Initializer,
                            biasInitializer: Initializer = .zeros, seed: UInt64? = nil) {
        self.init(weight: initializer([outputCount, inputCount], seed: seed).requiringGrad(),
                  bias: bias ? biasInitializer([outputCount], seed: seed.map { $0 &+ 1 }).requiringGrad() : nil)
    }

    /// Wraps existing tensors (e.g. loaded from a checkpoint).
    public init(weight: Tensor, bias: Tensor?) {
        check(weight.rank == 2, "Linear: weight of shape \(weight.shape) is not [out, in]")
        check(bias == nil || bias!.shape == [weight.shape[0]],
              "Linear: bias of shape \(bias!.shape) for weight \(weight.shape)")
        self.weight = weight
        self.bias = bias
    }

    public var inputCount: Int { weight.shape[1] }
    public var outputCount: Int { weight.shape[0] }

    public override var ownParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        check(x.rank >= 1 && x.shape[x.rank - 1] == inputCount,
              "Linear: input of shape \(x.shape) does not end in \(inputCount)")
        return x.linear(weight: weight, bias: bias)
    }
}
