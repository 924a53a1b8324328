import Heed

/// Scales the gradients of `parameters` in place so that their global L2 norm is at most
/// `maxNorm`, and returns the norm before clipping: PyTorch's `clip_grad_norm_`, with
/// scale = maxNorm / (norm + 1e-6) applied when it is below 1. Parameters without a gradient
/// are skipped. As in PyTorch (`error_if_nonfinite=False`), a NaN or infinite norm is returned
/// and the gradients are multiplied by the NaN or 0 scale, so the problem shows instead of
/// being clipped away.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let grads = parameters.compactMap(\.grad)
    var sumOfSquares: Double = 0
    for g in grads { g.withUnsafeBufferPointer { sumOfSquares += squaredNorm($0) } }
    let norm = Float(sumOfSquares.squareRoot())
    let scale = maxNorm / (norm + 1e-6)
    if scale < 1 || scale.isNaN {
        // .grad is a private dense tensor (see Tensor.backward), so it may be scaled in place.
        for g in grads {
            g.withUnsafeMutableBufferPointer { b in
                let p = b.baseAddress!, n = b.count
                for j in stride(from: 0, to: n, by: 16) { Lanes.store(Lanes.load(p, j, n) * scale, p, j, n) }
            }
        }
    }
    return norm
}

/// Σx² over a buffer: SIMD16 Float partial sums over blocks of 1024 (64 additions per lane),
/// added up in Double, so a gradient of millions of elements loses nothing to accumulation.
private func squaredNorm(_ x: UnsafeBufferPointer<Float>) -> Double {
    guard let p = x.baseAddress else { return 0 }
    let n = x.count
    var total: Double = 0
    for start in stride(from: 0, to: n, by: 1024) {
        var acc = Lanes.V()
        for j in stride(from: start, to: Swift.min(start + 1024, n), by: 16) {
            let v = Lanes.load(p, j, n)
            acc += v * v
        }
        total += Double(acc.sum())
    }
    return total
}
