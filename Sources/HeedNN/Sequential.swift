import Heed

/// A layer that maps one tensor to one tensor: what `Sequential` can chain.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Layers applied in order, y = fₙ(…f₂(f₁(x))) (PyTorch's `nn.Sequential`). The children are
/// named "0", "1", … by position, so parameters read `0.weight`, `2.bias`, … as in PyTorch
/// (a parameterless layer such as `ReLU` still takes its number).
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]

    public init(_ layers: [any UnaryLayer]) { self.layers = layers }
    public convenience init(_ layers: any UnaryLayer...) { self.init(layers) }

    public override var children: [(name: String, module: Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}

/// Merges axes `startAxis...endAxis` into one (PyTorch's `nn.Flatten`, default from axis 1):
/// [B, C, H, W] → [B, C·H·W]. A view when the input is contiguous; no parameters.
public final class Flatten: Module, UnaryLayer {
    public let startAxis: Int
    public let endAxis: Int

    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.flattened(from: startAxis, to: endAxis) }
}
