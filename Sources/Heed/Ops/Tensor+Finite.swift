/// Finiteness checks: what training and checkpoint loading use to stop at the first NaN or
/// infinity instead of carrying it on silently.
extension Tensor {
    /// The first element (row-major) that is NaN or ±infinity, with its flat index; nil when
    /// every element is finite. A read-only pass, no graph.
    public func firstNonFinite() -> (index: Int, value: Float)? {
        withUnsafeBufferPointer { firstNonFiniteElement($0) }
    }

    /// Whether every element is finite (no NaN, no infinity).
    public var isFinite: Bool { firstNonFinite() == nil }
}

/// x·0 is 0 for every finite x and NaN for NaN and ±∞, so a sum of x·0 over a block is NaN
/// exactly when the block holds a non-finite element: one multiply-add per element in SIMD16
/// lanes (fast at baseline x86-64), the block searched only when it fails.
@usableFromInline
func firstNonFiniteElement(_ x: UnsafeBufferPointer<Float>) -> (index: Int, value: Float)? {
    guard let p = x.baseAddress else { return nil }
    let n = x.count, block = 4096
    for start in stride(from: 0, to: n, by: block) {
        let end = min(start + block, n)
        var acc = SIMD16<Float>()
        var i = start
        while i + 16 <= end {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) * 0
            i += 16
        }
        var tail: Float = 0
        while i < end { tail += p[i] * 0; i += 1 }
        if acc.sum() + tail == 0 { continue }
        for j in start..<end where !p[j].isFinite { return (j, p[j]) }
    }
    return nil
}
