/// Element-wise map kernels, generic over small function structs so that the optimiser
/// specialises one tight SIMD loop per operation (a closure would hide the body from it).

protocol UnaryFunction {
    func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float>
    /// The CPU-dispatched C kernel computing the same function bit for bit over a contiguous
    /// array (CPUDispatch), for the functions whose speed depends on the instruction set.
    var kernel: UnaryKernel? { get }
}

/// A dispatched element-wise kernel: y[0..<n] = f(x[0..<n]).
typealias UnaryKernel = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

extension UnaryFunction {
    var kernel: UnaryKernel? { nil }
}

protocol BinaryFunction {
    func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
}

protocol TernaryFunction {
    func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float>
}

/// out = f(x), out fresh and contiguous with x's shape.
func mapUnary<F: UnaryFunction>(_ x: Tensor, _ f: F) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let px = x.base, po = out.base
    if x.isContiguous {
        let n = x.count
        if let kernel = f.kernel {
            Parallel.forVectorRanges(n) { r in kernel(px + r.lowerBound, po + r.lowerBound, r.count) }
            return out
        }
        Parallel.forVectorRanges(n) { r in
            var i = r.lowerBound
            let end = r.upperBound
            while i + 16 <= end { store16(f(load16(px + i)), po + i); i += 16 }
            if i < end { storePartial(f(loadPartial(px + i, end - i)), po + i, end - i) }
        }
        return out
    }
    forEachRow(shape: x.shape, strides: [x.strides, out.strides], grain: elementwiseGrain) { off, n, rs in
        let a = px + off[0], o = po + off[1]
        var i = 0
        while i < n {
            storeRow(f(loadRow(a + i * rs[0], rs[0], n - i)), o + i * rs[1], rs[1], n - i)
            i += 16
        }
    }
    return out
}

/// out = f(a, b) with NumPy broadcasting; out fresh and contiguous.
func mapBinary<F: BinaryFunction>(_ a: Tensor, _ b: Tensor, _ f: F, op: String) -> Tensor {
    let shape = a.shape == b.shape ? a.shape : broadcastShapes(a.shape, b.shape, op: op)
    let out = Tensor(uninitializedShape: shape)
    let pa = a.base, pb = b.base, po = out.base
    if a.shape == b.shape && a.isContiguous && b.isContiguous {
        let n = out.count
        Parallel.forVectorRanges(n) { r in
            var i = r.lowerBound
            let end = r.upperBound
            while i + 16 <= end { store16(f(load16(pa + i), load16(pb + i)), po + i); i += 16 }
            if i < end {
                storePartial(f(loadPartial(pa + i, end - i), loadPartial(pb + i, end - i)), po + i, end - i)
            }
        }
        return out
    }
    let sa = a.broadcastStrides(to: shape), sb = b.broadcastStrides(to: shape)
    forEachRow(shape: shape, strides: [sa, sb, out.strides], grain: elementwiseGrain) { off, n, rs in
        let x = pa + off[0], y = pb + off[1], o = po + off[2]
        let s0 = rs[0], s1 = rs[1]
        var i = 0
        if s0 == 1 && s1 == 1 {
            while i + 16 <= n { store16(f(load16(x + i), load16(y + i)), o + i); i += 16 }
        } else if s0 == 1 && s1 == 0 {
            let vb = SIMD16<Float>(repeating: y[0])
            while i + 16 <= n { store16(f(load16(x + i), vb), o + i); i += 16 }
        } else if s0 == 0 && s1 == 1 {
            let va = SIMD16<Float>(repeating: x[0])
            while i + 16 <= n { store16(f(va, load16(y + i)), o + i); i += 16 }
        }
        while i < n {
            storeRow(f(loadRow(x + i * s0, s0, n - i), loadRow(y + i * s1, s1, n - i)),
                     o + i * rs[2], rs[2], n - i)
            i += 16
        }
    }
    return out
}

/// out = f(a, b, c) with broadcasting over all three (used by `where`).
func mapTernary<F: TernaryFunction>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: F, op: String) -> Tensor {
    let shape = broadcastShapes(broadcastShapes(a.shape, b.shape, op: op), c.shape, op: op)
    let out = Tensor(uninitializedShape: shape)
    let pa = a.base, pb = b.base, pc = c.base, po = out.base
    let strides = [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape),
                   c.broadcastStrides(to: shape), out.strides]
    forEachRow(shape: shape, strides: strides, grain: elementwiseGrain) { off, n, rs in
        var i = 0
        while i < n {
            let v = f(loadRow(pa + off[0] + i * rs[0], rs[0], n - i),
                      loadRow(pb + off[1] + i * rs[1], rs[1], n - i),
                      loadRow(pc + off[2] + i * rs[2], rs[2], n - i))
            storeRow(v, po + off[3] + i * rs[3], rs[3], n - i)
            i += 16
        }
    }
    return out
}

extension Tensor {
    /// Strides that read `self` as if it had the (broadcast-compatible) `target` shape.
    func broadcastStrides(to target: [Int]) -> [Int] {
        let lead = target.count - rank
        check(lead >= 0, "broadcast: cannot broadcast shape \(shape) to \(target)")
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<rank {
            let n = shape[i]
            check(n == target[lead + i] || n == 1,
                  "broadcast: cannot broadcast shape \(shape) to \(target)")
            out[lead + i] = n == 1 ? 0 : strides[i]
        }
        return out
    }
}
