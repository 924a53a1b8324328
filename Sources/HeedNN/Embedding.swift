import Heed

/// A lookup table (PyTorch's `nn.Embedding(count, dim)`): ids [...] → vectors [..., dim],
/// y[…, :] = weight[id, :].
///
/// `weight` is [count, dim], initialised N(0, 1) as PyTorch. Ids come as `[Int]` with an
/// optional shape, or as a tensor of whole numbers (Heed's one dtype is Float32, exact for ids
/// up to 2²⁴). The backward scatters-adds into the rows that were looked up (a dense gradient
/// the size of the table).
public final class Embedding: Module, UnaryLayer {
    public let weight: Tensor

    public init(_ count: Int, _ dim: Int, seed: UInt64? = nil) {
        weight = Tensor.randomNormal([count, dim], seed: seed).requiringGrad()
    }

    /// Wraps an existing table [count, dim] (e.g. loaded from a checkpoint).
    public init(weight: Tensor) {
        check(weight.rank == 2, "Embedding: weight of shape \(weight.shape) is not [count, dim]")
        self.weight = weight
    }

    public var count: Int { weight.shape[0] }
    public var dim: Int { weight.shape[1] }

    public override var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// ids laid out as `shape` (default [ids.count]) → [shape..., dim].
    public func callAsFunction(_ ids: [Int], shape: [Int]? = nil) -> Tensor {
        weight.indexSelect(axis: 0, ids, indexShape: shape)
    }

    /// A tensor of ids [...] → [..., dim].
    public func callAsFunction(_ ids: Tensor) -> Tensor {
        weight.indexSelect(axis: 0, ids)
    }
}
