/// Row softmax kernels on contiguous rows, shared by `softmax`, `logSoftmax` and attention.
/// Subtracting the row max before exp keeps every exponent ≤ 0, so logits of any size stay
/// finite; a row that is entirely −∞ (every key masked) becomes zeros instead of 0/0 = NaN.

/// y[r, :] = softmax(x[r, :]) for `rows` rows of length `n` (x and y may alias).
func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    Parallel.forRanges(rows, grain: max(1, elementwiseGrain / 8 / max(n, 1))) { range in
        for r in range { softmaxRow(x + r * n, y + r * n, n) }
    }
}

@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = reduceRow(x, n, MaxReducer.self)
    if m == -.infinity {
        y.update(repeating: 0, count: n)
        return
    }
    if UnsafePointer(y) != x { y.update(from: x, count: n) }
    scaleRow(y, n, 1 / expShiftedInPlace(y, n, m))
}

/// row ← e^(row − shift), returning Σ row. Masked −∞ entries become exactly 0. Runs the
/// CPU-dispatched C kernel (the attention kernels' exp pass), the twin of
/// `expShiftedInPlaceSIMD` below.
@inline(__always)
func expShiftedInPlace(_ row: UnsafeMutablePointer<Float>, _ n: Int, _ shift: Float) -> Float {
    CPUDispatch.kernels.pointee.exp_shifted_sum(row, n, shift)
}

/// The Swift SIMD form of `expShiftedInPlace`, which the dispatched kernels must equal bit for bit.
@inline(__always)
func expShiftedInPlaceSIMD(_ row: UnsafeMutablePointer<Float>, _ n: Int, _ shift: Float) -> Float {
    let vs = SIMD16<Float>(repeating: shift)
    var acc = SIMD16<Float>()
    var c = 0
    while c + 16 <= n {
        let e = vexp(load16(row + c) - vs)
        store16(e, row + c)
        acc += e
        c += 16
    }
    if c < n {
        let e = vexp(loadPartial(row + c, n - c, fill: -.infinity) - vs)
        storePartial(e, row + c, n - c)
        acc += e
    }
    var s: Float = 0
    for lane in 0..<16 { s += acc[lane] }
    return s
}

@inline(__always)
func scaleRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, _ factor: Float) {
    let f = SIMD16<Float>(repeating: factor)
    var c = 0
    while c + 16 <= n { store16(load16(row + c) * f, row + c); c += 16 }
    while c < n { row[c] *= factor; c += 1 }
}

/// ds ← p ⊙ (ds − d): the softmax backward for one row, in place in the dP row.
@inline(__always)
func softmaxGradRow(_ p: UnsafePointer<Float>, _ ds: UnsafeMutablePointer<Float>, _ n: Int, _ d: Float) {
    let vd = SIMD16<Float>(repeating: d)
    var c = 0
    while c + 16 <= n { store16(load16(p + c) * (load16(ds + c) - vd), ds + c); c += 16 }
    while c < n { ds[c] = p[c] * (ds[c] - d); c += 1 }
}

@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var c = 0
    while c + 16 <= n { acc += load16(a + c) * load16(b + c); c += 16 }
    var s: Float = 0
    for lane in 0..<16 { s += acc[lane] }
    while c < n { s += a[c] * b[c]; c += 1 }
    return s
}

/// y = x − logΣexp(x) per row; all −∞ rows stay −∞.
func logSoftmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    Parallel.forRanges(rows, grain: max(1, elementwiseGrain / 8 / max(n, 1))) { range in
        for r in range {
            let xr = x + r * n, yr = y + r * n
            let m = reduceRow(xr, n, MaxReducer.self)
            if m == -.infinity { yr.update(repeating: -.infinity, count: n); continue }
            let vm = SIMD16<Float>(repeating: m)
            var acc = SIMD16<Float>()
            var i = 0
            while i + 16 <= n { acc += vexp(load16(xr + i) - vm); i += 16 }
            if i < n { acc += vexp(loadPartial(xr + i, n - i, fill: -.infinity) - vm) }
            var s: Float = 0
            for l in 0..<16 { s += acc[l] }
            // (x − m) − log s, not x − (m + log s): m + log s would round to the ulp of m
            // (≈1e-3 at |m| = 1e4) and shift every log-probability by up to half of that.
            // x − m is exact (Sterbenz) for entries near the max, the ones that matter.
            let logS = logf(s)
            for j in 0..<n { yr[j] = (xr[j] - m) - logS }
        }
    }
}

/// dx = y ⊙ (dy − Σ dy⊙y) per row: the softmax Jacobian-vector product without the Jacobian.
func softmaxBackwardRows(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                         _ dx: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    Parallel.forRanges(rows, grain: max(1, elementwiseGrain / 4 / max(n, 1))) { range in
        for r in range {
            let yr = y + r * n, gr = dy + r * n, dr = dx + r * n
            if UnsafePointer(dr) != gr { dr.update(from: gr, count: n) }
            softmaxGradRow(yr, dr, n, dot(yr, gr, n))
        }
    }
}

/// dx = dy − softmax(x)·Σdy per row, from the log-softmax output y.
func logSoftmaxBackwardRows(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                            _ dx: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    Parallel.forRanges(rows, grain: max(1, elementwiseGrain / 4 / max(n, 1))) { range in
        for r in range {
            let yr = y + r * n, gr = dy + r * n, dr = dx + r * n
            let s = reduceRow(gr, n, SumReducer.self)
            var i = 0
            let vs = SIMD16<Float>(repeating: s)
            while i + 16 <= n { store16(load16(gr + i) - vexp(load16(yr + i)) * vs, dr + i); i += 16 }
            while i < n { dr[i] = gr[i] - fastExp(yr[i]) * s; i += 1 }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
