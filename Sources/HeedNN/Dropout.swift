import Heed

/// Inverted dropout (PyTorch's `nn.Dropout(p)`): in training mode each element is zeroed with
/// probability p and the survivors are scaled by 1/(1 − p), so the expected output equals the
/// input and evaluation needs no rescaling; in evaluation mode (`eval()`) it returns x as is.
///
///     y = x ⊙ m / (1 − p),   m ~ Bernoulli(1 − p) element-wise        (training)
///
/// The mask comes from `HeedRandom`'s global generator (`HeedRandom.manualSeed`), or, with a
/// `seed`, from a generator owned by this layer: a seeded layer gives the same sequence of
/// masks every run, and different masks on successive calls. No parameters.
public final class Dropout: Module, UnaryLayer {
    public let p: Float
    private var generator: Xoshiro256?

    public init(_ p: Float = 0.5, seed: UInt64? = nil) {
        check(p >= 0 && p <= 1, "Dropout: probability \(p) outside [0, 1]")
        self.p = p
        generator = seed.map { Xoshiro256(seed: $0) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        if p == 1 { return x * 0 }   // PyTorch: everything dropped, no 1/0 scale
        // One 64-bit draw per call seeds a hashed mask (`Tensor.dropoutMask`), vectorised.
        let seed = generator != nil ? generator!.next() : HeedRandom.withGlobal { $0.next() }
        let mask = Tensor.dropoutMask(x.shape, p: p, seed: seed)
        return x * mask
    }
}
