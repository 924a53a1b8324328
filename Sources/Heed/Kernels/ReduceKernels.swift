/// Reduction kernels over a contiguous [outer, R, inner] layout: every "reduce these axes" is
/// brought to that form (by a view when the axes are adjacent in a contiguous tensor, else by
/// one permuting copy). inner == 1 reduces along rows with 16 SIMD accumulators (which also
/// keeps float sums accurate: 16 interleaved partial sums); inner > 1 folds whole rows of
/// `inner` elements into the output, vectorised along inner.

protocol Reducer {
    static var identity: Float { get }
    static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
    static func combine(_ a: Float, _ b: Float) -> Float
}

enum SumReducer: Reducer {
    static var identity: Float { 0 }
    @inline(__always) static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a + b }
    @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { a + b }
}

/// Max/min propagate NaN, as PyTorch's do.
enum MaxReducer: Reducer {
    static var identity: Float { -.infinity }
    @inline(__always) static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: (b .> a) .| (b .!= b))
    }
    @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { b > a || b.isNaN ? b : a }
}

enum MinReducer: Reducer {
    static var identity: Float { .infinity }
    @inline(__always) static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: (b .< a) .| (b .!= b))
    }
    @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { b < a || b.isNaN ? b : a }
}

/// Reduces `n` contiguous floats.
@inline(__always)
func reduceRow<R: Reducer>(_ p: UnsafePointer<Float>, _ n: Int, _: R.Type) -> Float {
    var acc = SIMD16<Float>(repeating: R.identity)
    var i = 0
    while i + 16 <= n { acc = R.combine(acc, load16(p + i)); i += 16 }
    var r = R.identity
    for l in 0..<16 { r = R.combine(r, acc[l]) }   // not `.max()`/`.sum()`: those are slow here
    while i < n { r = R.combine(r, p[i]); i += 1 }
    return r
}

/// out[o, i] = ⊕_r x[o, r, i] for contiguous x of shape [outer, R, inner].
func reduceKernel<R: Reducer>(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              outer: Int, reduce: Int, inner: Int, _: R.Type) {
    if inner == 1 {
        if outer == 1 && reduce >= 4 * elementwiseGrain {
            // One long row: partial results per thread, combined in a fixed order (deterministic).
            let parts = Parallel.workerCount
            let partials = UnsafeMutablePointer<Float>.allocate(capacity: parts)
            defer { partials.deallocate() }
            Parallel.forRanges(parts, grain: 1) { ps in
                for p in ps {
                    let lo = p * reduce / parts, hi = (p + 1) * reduce / parts
                    partials[p] = reduceRow(x + lo, hi - lo, R.self)
                }
            }
            var r = R.identity
            for p in 0..<parts { r = R.combine(r, partials[p]) }
            out[0] = r
            return
        }
        Parallel.forRanges(outer, grain: max(1, elementwiseGrain / max(reduce, 1))) { rows in
            for o in rows { out[o] = reduceRow(x + o * reduce, reduce, R.self) }
        }
        return
    }
    // Fold rows of `inner` elements; parallel over outer, or over inner chunks when outer is small.
    let byInner = outer < Parallel.workerCount
    let units = byInner ? (inner + 15) / 16 : outer
    let work = outer * reduce * inner
    let grain = work < 2 * elementwiseGrain ? units : max(1, units / Parallel.workerCount)
    Parallel.forRanges(units, grain: grain) { range in
        let (oRange, iRange) = byInner
            ? (0..<outer, (range.lowerBound * 16)..<min(range.upperBound * 16, inner))
            : (range, 0..<inner)
        for o in oRange {
            let dst = out + o * inner
            for i in iRange { dst[i] = R.identity }
            for r in 0..<reduce {
                let src = x + (o * reduce + r) * inner
                var i = iRange.lowerBound
                while i + 16 <= iRange.upperBound {
                    store16(R.combine(load16(dst + i), load16(src + i)), dst + i)
                    i += 16
                }
                while i < iRange.upperBound { dst[i] = R.combine(dst[i], src[i]); i += 1 }
            }
        }
    }
}

extension Tensor {
    /// Brings `axes` (sorted, normalised) to a contiguous [outer, R, inner] layout: a view when
    /// they are adjacent in a contiguous tensor, otherwise one copy with them moved last.
    func reductionLayout(_ axes: [Int]) -> (source: Tensor, outer: Int, reduce: Int, inner: Int) {
        let reduce = axes.reduce(1) { $0 * shape[$1] }
        let adjacent = axes.isEmpty || axes.last! - axes.first! + 1 == axes.count
        if isContiguous && adjacent && !axes.isEmpty {
            let outer = shape[..<axes.first!].reduce(1, *)
            let inner = shape[(axes.last! + 1)...].reduce(1, *)
            return (self, outer, reduce, inner)
        }
        let kept = (0..<rank).filter { !axes.contains($0) }
        let moved = detach().permuted(kept + axes)
        let c = Tensor(uninitializedShape: moved.shape)
        copyStrided(from: moved, to: c)
        return (c, count / Swift.max(reduce, 1), reduce, 1)
    }

    func reduceRaw<R: Reducer>(_ axes: [Int], keepDims: Bool, _: R.Type) -> Tensor {
        let outShape = reducedShape(axes, keepDims: keepDims)
        let out = Tensor(uninitializedShape: outShape)
        let (src, outer, reduce, inner) = reductionLayout(axes)
        reduceKernel(src.base, out.base, outer: outer, reduce: reduce, inner: inner, R.self)
        return out
    }

    func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }
}
