import Heed

/// The design document's model (§5): Flatten → Dense(128, relu) → Dense(10, softmax), with
/// Keras's defaults (Glorot-uniform weights, zero biases). The softmax lives in the loss
/// (`crossEntropy` takes logits), as PyTorch does it.
public final class MLPClassifier: Module, ImageClassifier {
    public let hidden: Linear
    public let output: Linear

    public init(inputCount: Int = 28 * 28, hiddenCount: Int = 128, classes: Int = 10, seed: UInt64 = 0) {
        // One seed per layer drawn from `seed`, so no two layers (and no two models' layers)
        // share a random stream, as consecutive seeds seed, seed + 1, … would.
        var seeds = Xoshiro256(seed: seed)
        hidden = Linear(inputCount, hiddenCount, initializer: .glorotUniform(), seed: seeds.next())
        output = Linear(hiddenCount, classes, initializer: .glorotUniform(), seed: seeds.next())
    }

    public override var children: [(name: String, module: Module)] { [("hidden", hidden), ("output", output)] }

    public func callAsFunction(_ images: Tensor) -> Tensor {
        output(hidden(images.flattened(from: 1)).relu())
    }

    public var flopsPerExample: Int { 2 * (hidden.inputCount * hidden.outputCount + output.inputCount * output.outputCount) }
}
