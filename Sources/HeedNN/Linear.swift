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

    /// The int8 or bf16 weight the layer computes with after `quantize(_:)`; nil for Float32.
    public private(set) var quantizedWeight: QuantizedWeight?

    /// Runs the layer on `format`'s product from now on: int8 (per-channel codes, activations
    /// quantized per row on every call, as PyTorch's and onnxruntime's dynamic quantization) or
    /// bf16; `.float32` goes back to `weight`. Post-training: the quantized weight is made
    /// from `weight` as it is now, and no gradient reaches it (a gradient still reaches the
    /// input, through the dequantized weight). `weight` itself is kept unchanged.
    public func quantize(_ format: WeightFormat) {
        quantizedWeight = format == .float32 ? nil : QuantizedWeight(weight.detach(), format: format)
    }

    /// Runs the layer on `weight` from now on (a quantized weight built elsewhere, e.g. one of
    /// several sharing an input smoothing).
    public func setQuantizedWeight(_ weight: QuantizedWeight?) {
        check(weight == nil || (weight!.outFeatures == outputCount && weight!.inFeatures == inputCount),
              "Linear.setQuantizedWeight: [\(weight?.outFeatures ?? 0), \(weight?.inFeatures ?? 0)] for a layer of [\(outputCount), \(inputCount)]")
        quantizedWeight = weight
    }

    /// int8 with input smoothing: `Int8Weight(quantizing:inputScales:)` with c from
    /// `Int8Weight.smoothingScales` over the inputs observed since `observeInputs()`.
    public func quantizeInt8(smoothing alpha: Float = 0.5) {
        guard let maxima = observedInputMaxima else {
            checkFailure("Linear.quantizeInt8(smoothing:): no inputs observed; call observeInputs() and run calibration data first")
        }
        let c = Int8Weight.smoothingScales(inputMaxima: maxima, weight: weight.detach(), alpha: alpha)
        quantizedWeight = .int8(Int8Weight(quantizing: weight.detach(), inputScales: c))
        observedInputMaxima = nil
    }

    /// Each input column's largest |x| seen since `observeInputs()` (nil when not observing):
    /// the calibration statistic of int8 smoothing.
    public private(set) var observedInputMaxima: [Float]?

    /// Starts recording `observedInputMaxima` on every call (`false` stops and forgets).
    public func observeInputs(_ on: Bool = true) {
        observedInputMaxima = on ? [Float](repeating: 0, count: inputCount) : nil
    }

    /// Adds x [..., inputCount] to `observedInputMaxima` (for layers that share an input and
    /// a product, as BERT's fused Q·K·V does).
    public func observe(_ x: Tensor) {
        guard var maxima = observedInputMaxima else { return }
        let k = inputCount, c = x.detach().contiguous()
        c.scalars.withUnsafeBufferPointer { v in
            for r in 0..<(v.count / Swift.max(k, 1)) {
                for kk in 0..<k { maxima[kk] = Swift.max(maxima[kk], abs(v[r * k + kk])) }
            }
        }
        observedInputMaxima = maxima
    }

    public var inputCount: Int { weight.shape[1] }
    public var outputCount: Int { weight.shape[0] }

    public override var ownParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        check(x.rank >= 1 && x.shape[x.rank - 1] == inputCount,
              "Linear: input of shape \(x.shape) does not end in \(inputCount)")
        if observedInputMaxima != nil { observe(x) }
        if let quantizedWeight { return x.linear(weight: quantizedWeight, bias: bias) }
        return x.linear(weight: weight, bias: bias)
    }
}
