import Heed

/// Element-wise activation functions, as parameterless layers (for `Sequential`) and as a
/// value (`Activation`, for layers such as `TransformerEncoderLayer` that take one as an option).

/// A choice of activation function (PyTorch's `activation="gelu"` strings, typed).
public enum Activation: Sendable, Equatable {
    case relu
    /// GELU, exact: x·Φ(x).
    case gelu
    /// GELU, tanh approximation: ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))).
    case geluTanh
    case tanh
    case sigmoid

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return x.relu()
        case .gelu: return x.gelu()
        case .geluTanh: return x.gelu(approximate: .tanh)
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        }
    }
}

/// max(x, 0).
public final class ReLU: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// x·Φ(x) (exact, PyTorch's default) or its tanh approximation (`approximation: .tanh`, GPT-2's).
public final class GELU: Module, UnaryLayer {
    public let approximation: GeluApproximation

    public init(approximation: GeluApproximation = .none) { self.approximation = approximation }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.gelu(approximate: approximation) }
}

/// tanh(x).
public final class Tanh: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

/// 1/(1 + e^(−x)).
public final class Sigmoid: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}
