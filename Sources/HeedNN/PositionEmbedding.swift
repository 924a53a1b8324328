import Foundation
import Heed

/// Position embeddings added to a sequence x [B, N, dim] (or [N, dim]): y = x + P[offset..<offset+N].

/// Learned absolute positions (BERT, GPT-2, ViT): P = `weight` [maxLength, dim], a parameter,
/// initialised by a normal of std 0.02 truncated at ±2σ (ViT's and BERT's choice; PyTorch's
/// `nn.Embedding` default N(0, 1) would swamp token embeddings of the usual scale).
public final class LearnedPositionEmbedding: Module, UnaryLayer {
    public let weight: Tensor

    public init(maxLength: Int, dim: Int, initializer: Initializer = .truncatedNormal(std: 0.02), seed: UInt64? = nil) {
        weight = initializer([maxLength, dim], seed: seed).requiringGrad()
    }

    public var maxLength: Int { weight.shape[0] }
    public var dim: Int { weight.shape[1] }

    public override var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// Rows offset..<offset+count of the table, [count, dim] (a view; differentiable).
    public func embeddings(count: Int, offset: Int = 0) -> Tensor {
        positionRows(weight, count: count, offset: offset, layer: "LearnedPositionEmbedding")
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, offset: 0) }

    public func callAsFunction(_ x: Tensor, offset: Int) -> Tensor {
        addPositions(x, weight, offset: offset, layer: "LearnedPositionEmbedding")
    }
}

/// Fixed sinusoidal positions ("Attention Is All You Need", §3.5), no parameters:
///
///     P[pos, 2i] = sin(pos / 10000^(2i/dim))     P[pos, 2i+1] = cos(pos / 10000^(2i/dim))
///
/// The table [maxLength, dim] is computed once, in Double, and rounded to Float. An odd `dim`
/// ends with a sine column.
public final class SinusoidalPositionEmbedding: Module, UnaryLayer {
    public let table: Tensor
    public let maxLength: Int
    public let dim: Int

    public init(maxLength: Int, dim: Int) {
        self.maxLength = maxLength
        self.dim = dim
        var values = [Float](repeating: 0, count: maxLength * dim)
        for pos in 0..<maxLength {
            for j in 0..<dim {
                let angle = Double(pos) / Foundation.pow(10000, Double(j - j % 2) / Double(dim))
                values[pos * dim + j] = Float(j % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle))
            }
        }
        table = Tensor(values, shape: [maxLength, dim])
    }

    /// Rows offset..<offset+count of the table, [count, dim].
    public func embeddings(count: Int, offset: Int = 0) -> Tensor {
        positionRows(table, count: count, offset: offset, layer: "SinusoidalPositionEmbedding")
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, offset: 0) }

    public func callAsFunction(_ x: Tensor, offset: Int) -> Tensor {
        addPositions(x, table, offset: offset, layer: "SinusoidalPositionEmbedding")
    }
}

/// Rows offset..<offset+count of a [maxLength, dim] position table (a view).
private func positionRows(_ table: Tensor, count: Int, offset: Int, layer: String) -> Tensor {
    check(offset >= 0 && offset + count <= table.shape[0],
          "\(layer): positions \(offset)..<\(offset + count) beyond maxLength \(table.shape[0])")
    return table.slice(axis: 0, offset..<(offset + count))
}

/// x [..., N, dim] plus the positions offset..<offset+N.
private func addPositions(_ x: Tensor, _ table: Tensor, offset: Int, layer: String) -> Tensor {
    check(x.rank >= 2 && x.shape[x.rank - 1] == table.shape[1],
          "\(layer): input of shape \(x.shape) is not [..., N, \(table.shape[1])]")
    return x + positionRows(table, count: x.shape[x.rank - 2], offset: offset, layer: layer)
}
