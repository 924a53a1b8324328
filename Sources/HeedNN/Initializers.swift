import Foundation
import Heed

/// A recipe for the initial values of a parameter: call it with a shape (and a seed) to get a
/// new tensor, or `apply(to:)` it to overwrite an existing parameter in place.
///
///     let w = Initializer.glorotUniform()([256, 128], seed: 1)      // a new [256, 128] tensor
///     Initializer.orthogonal(gain: 2.squareRoot()).apply(to: layer.weight, seed: 2)
///     let fc = Linear(128, 64, initializer: .kaimingNormal())
///
/// Fans follow PyTorch's layout, weight [out, in, k₁, k₂, …]: fanIn = in·k₁·k₂…,
/// fanOut = out·k₁·k₂…. A rank-1 shape (a bias) has fanIn = fanOut = its length, as Keras.
///
/// Seeded draws repeat exactly on every machine; without a seed they come from
/// `HeedRandom`'s global generator (`HeedRandom.manualSeed`).
public struct Initializer: Sendable {
    public let name: String
    private let generate: @Sendable (_ shape: [Int], _ rng: inout Xoshiro256) -> Tensor

    public init(name: String, _ generate: @escaping @Sendable (_ shape: [Int], _ rng: inout Xoshiro256) -> Tensor) {
        self.name = name
        self.generate = generate
    }

    /// A new tensor of `shape` (no autograd history; call `requiringGrad()` for a parameter).
    public func callAsFunction(_ shape: [Int], seed: UInt64? = nil) -> Tensor {
        if let seed {
            var g = Xoshiro256(seed: seed)
            return generate(shape, &g)
        }
        return HeedRandom.withGlobal { generate(shape, &$0) }
    }

    /// Overwrites `parameter` with fresh values of its shape (an in-place `assign`, outside autograd).
    public func apply(to parameter: Tensor, seed: UInt64? = nil) {
        let values = self(parameter.shape, seed: seed)
        noGrad { parameter.assign(values) }
    }

    /// Which fan Kaiming initialisation keeps the variance of: the forward's (fanIn) or the backward's.
    public enum FanMode: Sendable { case fanIn, fanOut }

    /// (fanIn, fanOut) of a weight of `shape` in the [out, in, k…] layout.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        default:
            let receptive = shape.dropFirst(2).reduce(1, *)
            return (shape[1] * receptive, shape[0] * receptive)
        }
    }
}

extension Initializer {
    public static func constant(_ value: Float) -> Initializer {
        Initializer(name: "constant(\(value))") { shape, _ in Tensor.full(value, shape: shape) }
    }

    public static var zeros: Initializer { constant(0) }
    public static var ones: Initializer { constant(1) }

    /// U[low, high).
    public static func uniform(low: Float, high: Float) -> Initializer {
        Initializer(name: "uniform(\(low), \(high))") { shape, rng in
            Tensor.randomUniform(shape, low: low, high: high, using: &rng)
        }
    }

    /// N(mean, std²).
    public static func normal(mean: Float = 0, std: Float = 1) -> Initializer {
        Initializer(name: "normal(\(mean), \(std))") { shape, rng in
            Tensor.randomNormal(shape, mean: mean, std: std, using: &rng)
        }
    }

    /// Glorot / Xavier uniform (Keras' default kernel initialiser, PyTorch's `xavier_uniform_`):
    /// U(±gain·√(6/(fanIn + fanOut))), variance gain²·2/(fanIn + fanOut).
    public static func glorotUniform(gain: Float = 1) -> Initializer {
        Initializer(name: "glorotUniform(gain: \(gain))") { shape, rng in
            let (fanIn, fanOut) = fans(shape)
            let bound = gain * (6 / Float(Swift.max(fanIn + fanOut, 1))).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, using: &rng)
        }
    }

    /// Glorot / Xavier normal: N(0, gain²·2/(fanIn + fanOut)).
    public static func glorotNormal(gain: Float = 1) -> Initializer {
        Initializer(name: "glorotNormal(gain: \(gain))") { shape, rng in
            let (fanIn, fanOut) = fans(shape)
            let std = gain * (2 / Float(Swift.max(fanIn + fanOut, 1))).squareRoot()
            return Tensor.randomNormal(shape, std: std, using: &rng)
        }
    }

    /// Kaiming / He uniform: U(±gain·√(3/fan)), variance gain²/fan. The default gain √2 suits
    /// ReLU (1 for linear or sigmoid layers, 5/3 for tanh); gain √(1/3) with fanIn gives
    /// PyTorch's default `nn.Linear` / `nn.Conv2d` weights, U(±1/√fanIn).
    public static func kaimingUniform(gain: Float = Float(2).squareRoot(), mode: FanMode = .fanIn) -> Initializer {
        Initializer(name: "kaimingUniform(gain: \(gain), mode: \(mode))") { shape, rng in
            let (fanIn, fanOut) = fans(shape)
            let bound = gain * (3 / Float(Swift.max(mode == .fanIn ? fanIn : fanOut, 1))).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, using: &rng)
        }
    }

    /// Kaiming / He normal: N(0, gain²/fan), gain √2 for ReLU by default.
    public static func kaimingNormal(gain: Float = Float(2).squareRoot(), mode: FanMode = .fanIn) -> Initializer {
        Initializer(name: "kaimingNormal(gain: \(gain), mode: \(mode))") { shape, rng in
            let (fanIn, fanOut) = fans(shape)
            let std = gain / Float(Swift.max(mode == .fanIn ? fanIn : fanOut, 1)).squareRoot()
            return Tensor.randomNormal(shape, std: std, using: &rng)
        }
    }

    /// N(mean, std²) cut at mean ± 2·std by redrawing values outside (Keras' `TruncatedNormal`;
    /// PyTorch's `trunc_normal_` cuts at absolute bounds instead). `std` is the underlying
    /// normal's: the truncated values have standard deviation ≈ 0.8796·std. The redraws come from
    /// the same seeded stream, so the result is deterministic.
    public static func truncatedNormal(mean: Float = 0, std: Float = 1) -> Initializer {
        Initializer(name: "truncatedNormal(\(mean), \(std))") { shape, rng in
            let n = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: n)
            var i = 0
            while i < n {
                let (a, b) = rng.nextNormalPair()
                for z in [a, b] where i < n && Swift.abs(z) <= 2 {
                    values[i] = mean + std * z
                    i += 1
                }
            }
            return Tensor(values, shape: shape)
        }
    }

    /// A (semi-)orthogonal matrix, as PyTorch's `nn.init.orthogonal_`: the shape is viewed as
    /// [rows = shape[0], cols = the rest]; Q of the QR factorisation of a random normal matrix
    /// (of its transpose when rows < cols), with each column multiplied by the sign of R's
    /// diagonal so that Q is uniformly (Haar) distributed rather than biased by LAPACK's sign
    /// convention; scaled by `gain`. Then WᵀW = gain²·I when rows ≥ cols, WWᵀ = gain²·I otherwise.
    public static func orthogonal(gain: Float = 1) -> Initializer {
        Initializer(name: "orthogonal(gain: \(gain))") { shape, rng in
            check(shape.count >= 2, "orthogonal: shape \(shape) has fewer than 2 dimensions")
            let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
            let a = Tensor.randomNormal([rows, cols], using: &rng)
            let tall = rows >= cols ? a : a.T                     // [max, min]
            let q: Tensor, r: Tensor
            do { (q, r) = try tall.qr() } catch {
                checkFailure("orthogonal: QR of a random normal \(tall.shape) matrix failed: \(error)")
            }
            let k = Swift.min(rows, cols)
            let signs = Tensor((0..<k).map { r[element: [$0, $0]] < 0 ? -1 : 1 })
            let w = q * (signs * gain)                               // [max, min]
            return (rows >= cols ? w : w.T).contiguous().reshaped(shape)
        }
    }
}
