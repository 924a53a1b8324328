import Heed

/// The design document's model (§5): Flatten → Dense(128, relu) → Dense(10, softmax), with
/// Keras's defaults (Glorot-uniform weights, zero biases). The softmax lives in the loss
/// (`crossEntropy` takes logits), as PyTorch does it.
public final class MLPClassifier: Module, ImageClassifier {
    public let hidden: Linear
    public let output: Linear

    public init(inputCount: Int = 28 * 28, hiddenCount: Int = 128, classes: Int = 10, seed: UInt64 = 0) {
        hidden = Linear(inputCount, hiddenCount, seed: seed)
        output = Linear(hiddenCount, classes, seed: seed &+ 1)
        super.init()
        kerasInitialise([hidden, output], seed: seed)
    }

    public override var children: [(name: String, module: Module)] { [("hidden", hidden), ("output", output)] }

    public func callAsFunction(_ images: Tensor) -> Tensor {
        output(hidden(images.flattened(from: 1)).relu())
    }

    public var flopsPerExample: Int { 2 * (hidden.inputCount * hidden.outputCount + output.inputCount * output.outputCount) }
}

/// Keras's Dense defaults: W ~ U(±√(6/(fanIn+fanOut))), b = 0.
func kerasInitialise(_ layers: [Linear], seed: UInt64) {
    noGrad {
        for (i, layer) in layers.enumerated() {
            let (fanOut, fanIn) = (layer.outputCount, layer.inputCount)
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            layer.weight.assign(Tensor.randomUniform(layer.weight.shape, low: -bound, high: bound, seed: seed &+ UInt64(100 + i)))
            layer.bias?.assign(Tensor.zeros(layer.bias!.shape))
        }
    }
}
