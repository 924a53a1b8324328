/// A Float32 n-dimensional array: a view (shape, strides, offset) into shared storage, plus the
/// autograd bookkeeping of the op that produced it.
///
/// Reference semantics, as in PyTorch: `grad` accumulates on the object you hold. Views
/// (`reshaped`, `transposed`, `permuted`, `slice`, `expanded`) share storage and cost O(rank);
/// ops never mutate their inputs. Strides may be 0 (broadcast) but never negative.
public final class Tensor {
    public internal(set) var storage: TensorStorage
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int

    /// Whether gradients flow to this tensor. Set it on leaves (parameters, inputs).
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf after `backward()`; `nil` until then.
    public var grad: Tensor?
    /// The op that produced this tensor when it was recorded for autograd; `nil` for leaves.
    var node: GradNode?

    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0,
         requiresGrad: Bool = false) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.requiresGrad = requiresGrad
    }

    /// A fresh contiguous tensor that owns uninitialised storage. Kernels fill it.
    init(uninitializedShape shape: [Int]) {
        check(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        self.storage = TensorStorage(uninitializedCount: shapeCount(shape))
        self.shape = shape
        self.strides = contiguousStrides(shape)
        self.offset = 0
        self.requiresGrad = false
    }

    public var rank: Int { shape.count }
    public var count: Int { shapeCount(shape) }
    public var isScalar: Bool { shape.isEmpty }
    /// `true` for a leaf of the graph: created by the user, not by a recorded op.
    public var isLeaf: Bool { node == nil }

    /// Row-major contiguous (size-1 dimensions may have any stride).
    public var isContiguous: Bool {
        if shape.contains(0) { return true }   // nothing to address: any strides will do
        var expected = 1
        for i in stride(from: rank - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Pointer to element 0 of this view (valid while `self` is alive).
    @inlinable var base: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// Element at a full multi-index (slow path; for tests and debugging).
    public subscript(element index: [Int]) -> Float {
        check(index.count == rank, "Tensor[element:]: index \(index) for shape \(shape)")
        var o = offset
        for (i, (ix, n)) in zip(index, shape).enumerated() {
            check(ix >= 0 && ix < n, "Tensor[element:]: index \(index) out of range for shape \(shape)")
            o += ix * strides[i]
        }
        return storage.pointer[o]
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.base, count: c.count))
    }

    /// The single element of a tensor with one element.
    public var item: Float {
        check(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return scalars[0]
    }

    /// A view with the same storage and no autograd history.
    public func detach() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// `self` if contiguous, otherwise a contiguous copy (recorded for autograd).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape)
        copyStrided(from: self, to: out)
        return out.recorded("contiguous", [self]) { g in [g] }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = scalars
        let shown = values.prefix(64).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 64 ? ", …" : "")])"
    }
}

extension Tensor {
    /// A fresh dense tensor of `other`'s shape whose memory order follows `other`'s strides
    /// (PyTorch's `preserve_format`): the gradient of a permuted view comes out in the same
    /// order, so permuting it back is free.
    convenience init(uninitializedLike other: Tensor) {
        let order = (0..<other.rank).sorted {
            (other.strides[$0], other.shape[$0]) > (other.strides[$1], other.shape[$1])
        }
        let denseShape = order.map { other.shape[$0] }
        var strides = [Int](repeating: 0, count: other.rank)
        let dense = contiguousStrides(denseShape)
        for (i, axis) in order.enumerated() { strides[axis] = dense[i] }
        self.init(storage: TensorStorage(uninitializedCount: shapeCount(other.shape)), shape: other.shape,
                  strides: strides)
    }
}
