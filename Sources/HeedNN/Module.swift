import Heed

/// The base of every layer: named, nested parameters and a train/eval switch.
///
/// A layer lists its own parameters and its children explicitly (no runtime reflection):
/// plain to read and cheap to run. Flattened names follow the PyTorch / safetensors
/// convention, `encoder.layers.0.attention.query.weight`.
open class Module {
    /// Training mode (dropout active) or evaluation mode.
    public private(set) var isTraining = true

    public init() {}

    /// This layer's own parameters, in a fixed order. Override.
    open var ownParameters: [(name: String, tensor: Tensor)] { [] }

    /// Direct sub-layers, in a fixed order. Override.
    open var children: [(name: String, module: Module)] { [] }

    /// Every parameter of this layer and its descendants, with dotted names.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var out = ownParameters
        for (name, child) in children {
            out += child.namedParameters().map { ("\(name).\($0.name)", $0.tensor) }
        }
        return out
    }

    /// This layer and every descendant, with dotted names ("" for this one), parents first.
    public func namedModules() -> [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = [("", self)]
        for (name, child) in children {
            out += child.namedModules().map { ($0.name.isEmpty ? name : "\(name).\($0.name)", $0.module) }
        }
        return out
    }

    /// Called on every layer after a quantized checkpoint loaded (`loadQuantized`), children
    /// first: a layer that derives state from its sub-layers' quantized weights rebuilds it
    /// (BERT's fused Q·K·V). Override; the default does nothing.
    open func quantizedWeightsChanged() {}

    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Switches this layer and its descendants to training (`true`) or evaluation mode.
    public func train(_ mode: Bool = true) {
        isTraining = mode
        for (_, child) in children { child.train(mode) }
    }

    public func eval() { train(false) }

    /// Clears the gradient of every parameter.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}
