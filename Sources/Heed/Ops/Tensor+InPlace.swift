/// In-place updates, for optimizers and manual parameter steps (PyTorch's
/// `with torch.no_grad(): w -= lr * w.grad`). Only leaves that own dense storage may be
/// updated, and never while a graph is being recorded through them: autograd relies on the
/// values it saved staying put.
extension Tensor {
    private func checkWritable(_ op: String) {
        check(isLeaf, "\(op): cannot update a tensor produced by '\(node?.name ?? "?")' in place")
        check(!(GradMode.enabled && requiresGrad),
              "\(op): in-place update of a tensor that requires grad; wrap it in noGrad { }")
        check(isContiguous, "\(op): in-place update of a non-contiguous view of shape \(shape)")
    }

    /// self ← self + alpha·other (other broadcasts to self's shape).
    public func addInPlace(_ other: Tensor, alpha: Float = 1) {
        checkWritable("addInPlace")
        let src = noGrad { other.detach().expanded(shape).contiguous() }
        let p = base, q = src.base
        if alpha == 1 { for i in 0..<count { p[i] += q[i] } } else { for i in 0..<count { p[i] += alpha * q[i] } }
    }

    /// self ← self·factor.
    public func scaleInPlace(_ factor: Float) {
        checkWritable("scaleInPlace")
        let p = base
        for i in 0..<count { p[i] *= factor }
    }

    /// self ← other (same shape, or broadcast to it).
    public func assign(_ other: Tensor) {
        checkWritable("assign")
        copyStrided(from: other.detach().expanded(shape), to: self)
    }

    public static func += (lhs: Tensor, rhs: Tensor) { lhs.addInPlace(rhs) }
    public static func -= (lhs: Tensor, rhs: Tensor) { lhs.addInPlace(rhs, alpha: -1) }
    public static func *= (lhs: Tensor, rhs: Float) { lhs.scaleInPlace(rhs) }
}

extension Tensor {
    /// Reads the elements in row-major order without copying when the tensor is contiguous
    /// (a copy is made otherwise). For kernels outside Heed: optimizers, data loaders, writers.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = noGrad { detach().contiguous() }
        return try withExtendedLifetime(c) { try body(UnsafeBufferPointer(start: c.base, count: c.count)) }
    }

    /// Writes the elements of a contiguous leaf in place (optimizer updates, loading weights).
    /// Same rules as `addInPlace`: a leaf, dense, and not while a graph records through it.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        checkWritable("withUnsafeMutableBufferPointer")
        return try body(UnsafeMutableBufferPointer(start: base, count: count))
    }
}
