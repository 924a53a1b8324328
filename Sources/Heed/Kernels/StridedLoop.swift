/// The N-d loop every element-wise kernel runs on.
///
/// Operands are views with arbitrary (non-negative, possibly 0 = broadcast) strides over one
/// common shape. Dimensions are first coalesced (size-1 dims dropped, adjacent dims merged when
/// every operand steps through them as one), so a contiguous or simply broadcast operand becomes
/// a handful of long rows. The body sees one row at a time: a start offset per operand, the row
/// length, and each operand's stride along the row. Rows are split over the cores when the
/// total work exceeds `grain` elements per thread.
@inline(__always)
func forEachRow(shape: [Int], strides operandStrides: [[Int]], grain: Int,
                _ body: (_ offsets: UnsafeBufferPointer<Int>, _ length: Int,
                         _ rowStrides: UnsafeBufferPointer<Int>) -> Void) {
    let k = operandStrides.count
    if shape.contains(0) { return }
    // Coalesce.
    var dims: [Int] = []
    var st: [[Int]] = Array(repeating: [], count: k)
    for d in 0..<shape.count where shape[d] != 1 {
        if let last = dims.indices.last,
           (0..<k).allSatisfy({ st[$0][last] == operandStrides[$0][d] * shape[d] }) {
            dims[last] *= shape[d]
            for j in 0..<k { st[j][last] = operandStrides[j][d] }
        } else {
            dims.append(shape[d])
            for j in 0..<k { st[j].append(operandStrides[j][d]) }
        }
    }
    if dims.isEmpty {
        dims = [1]
        for j in 0..<k { st[j] = [0] }
    }
    let r = dims.count
    let length = dims[r - 1]
    let rowStrides = (0..<k).map { st[$0][r - 1] }
    let outerDims = Array(dims[0..<(r - 1)])
    let rows = shapeCount(outerDims)
    rowStrides.withUnsafeBufferPointer { rowStridesBuffer in
        Parallel.forRanges(rows, grain: max(1, grain / length)) { range in
            // Per-thread odometer over the outer dims, started at range.lowerBound.
            var index = [Int](repeating: 0, count: max(r - 1, 1))
            var offsets = [Int](repeating: 0, count: k)
            var rem = range.lowerBound
            for d in stride(from: r - 2, through: 0, by: -1) {
                index[d] = rem % outerDims[d]
                rem /= outerDims[d]
                for j in 0..<k { offsets[j] += index[d] * st[j][d] }
            }
            offsets.withUnsafeMutableBufferPointer { off in
                for _ in range {
                    body(UnsafeBufferPointer(off), length, rowStridesBuffer)
                    var d = r - 2
                    while d >= 0 {
                        index[d] += 1
                        for j in 0..<k { off[j] += st[j][d] }
                        if index[d] < outerDims[d] { break }
                        for j in 0..<k { off[j] -= st[j][d] * outerDims[d] }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
    }
}

/// Loads 16 (or the remaining `n`) elements of a row with stride `s` (1, 0 = broadcast, or any).
@inline(__always)
func loadRow(_ p: UnsafePointer<Float>, _ s: Int, _ n: Int) -> SIMD16<Float> {
    if s == 0 { return SIMD16(repeating: p[0]) }
    if s == 1 && n >= 16 { return load16(p) }
    var v = SIMD16<Float>()
    for i in 0..<min(n, 16) { v[i] = p[i * s] }
    return v
}

@inline(__always)
func storeRow(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ s: Int, _ n: Int) {
    if s == 1 && n >= 16 { store16(v, p); return }
    for i in 0..<min(n, 16) { p[i * s] = v[i] }
}

/// Elements per thread below which splitting over cores costs more than it saves (8k: a few µs
/// of element-wise work against a 1–2 µs hop to a polling worker; it was 32k for libdispatch).
@usableFromInline let elementwiseGrain = 1 << 13

/// Copies any view into `dst` (same shape; `dst` usually fresh and contiguous).
func copyStrided(from src: Tensor, to dst: Tensor) {
    check(src.shape == dst.shape, "copy: shapes \(src.shape) and \(dst.shape) differ")
    let s = src.base, d = dst.base
    forEachRow(shape: src.shape, strides: [src.strides, dst.strides], grain: elementwiseGrain) { off, n, rs in
        let ps = s + off[0], pd = d + off[1]
        let ss = rs[0], sd = rs[1]
        if ss == 1 && sd == 1 {
            pd.update(from: ps, count: n)
        } else if ss == 0 {
            let v = ps[0]
            for i in 0..<n { pd[i * sd] = v }
        } else {
            for i in 0..<n { pd[i * sd] = ps[i * ss] }
        }
    }
}
