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
    let vm = SIMD16<Float>(repeating: m)
    var acc = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        let e = vexp(load16(x + i) - vm)
        store16(e, y + i)
        acc += e
        i += 16
    }
    var s: Float = 0
    if i < n {
        let e = vexp(loadPartial(x + i, n - i, fill: -.infinity) - vm)
        storePartial(e, y + i, n - i)
        acc += e
    }
    for l in 0..<16 { s += acc[l] }
    let inv = SIMD16<Float>(repeating: 1 / s)
    i = 0
    while i + 16 <= n { store16(load16(y + i) * inv, y + i); i += 16 }
    while i < n { y[i] *= inv[0]; i += 1 }
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
            var acc = SIMD16<Float>()
            var i = 0
            while i + 16 <= n { acc += load16(yr + i) * load16(gr + i); i += 16 }
            var dot: Float = 0
            for l in 0..<16 { dot += acc[l] }
            while i < n { dot += yr[i] * gr[i]; i += 1 }
            for j in 0..<n { dr[j] = yr[j] * (gr[j] - dot) }
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
