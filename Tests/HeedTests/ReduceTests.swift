import XCTest
@testable import Heed
import HeedTestSupport

/// Reductions (`Tensor+Reduce.swift`, `ReduceKernels.swift`) against a naive Swift-loop oracle
/// in Double, hand-computed values, and central finite differences.
final class ReduceTests: XCTestCase {

    // MARK: - Naive oracle

    /// Every multi-index of `shape` in row-major order.
    static func allIndices(_ shape: [Int]) -> [[Int]] {
        var result: [[Int]] = [[]]
        for n in shape { result = result.flatMap { prefix in (0..<n).map { prefix + [$0] } } }
        return result
    }

    /// Groups the elements of `x` by their kept coordinates (row-major over the kept axes); each
    /// group lists its elements in row-major order of the reduced axes. Reads through
    /// `x[element:]` (offset + Σ index·stride, the definition of a view), not through any kernel.
    static func groups(_ x: Tensor, _ axes: [Int]?) -> (groups: [[Double]], kept: [Int]) {
        let r = x.rank
        let reduced = Set((axes ?? Array(0..<r)).map { $0 < 0 ? $0 + r : $0 })
        let kept = (0..<r).filter { !reduced.contains($0) }
        var buckets = [[Double]](repeating: [], count: kept.reduce(1) { $0 * x.shape[$1] })
        for idx in allIndices(x.shape) {
            var o = 0
            for d in kept { o = o * x.shape[d] + idx[d] }
            buckets[o].append(Double(x[element: idx]))
        }
        return (buckets, kept)
    }

    /// The oracle: applies `f` to each group and lays the results out as the reduction would.
    static func naive(_ x: Tensor, _ axes: [Int]?, keepDims: Bool, _ f: ([Double]) -> Double) -> Tensor {
        let (buckets, kept) = groups(x, axes)
        let outShape = keepDims
            ? (0..<x.rank).map { kept.contains($0) ? x.shape[$0] : 1 }
            : kept.map { x.shape[$0] }
        return Tensor(buckets.map { Float(f($0)) }, shape: outShape)
    }

    static func dsum(_ v: [Double]) -> Double { v.reduce(0, +) }
    static func dmean(_ v: [Double]) -> Double { dsum(v) / Double(v.count) }
    static func dvar(_ c: Int) -> ([Double]) -> Double {
        { v in let m = dmean(v); return v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - c) }
    }
    static func dmax(_ v: [Double]) -> Double { v.max()! }
    static func dmin(_ v: [Double]) -> Double { v.min()! }
    static func dlse(_ v: [Double]) -> Double {
        let m = v.max()!
        if m == -.infinity { return -.infinity }
        return m + log(v.reduce(0) { $0 + exp($1 - m) })
    }

    /// Compares every reduction over every axis set, keepDims both ways, against the oracle.
    func checkAllReductions(_ x: Tensor, axisSets: [[Int]?], layout: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        typealias Op = (name: String, heed: (Tensor, [Int]?, Bool) -> Tensor, oracle: ([Double]) -> Double,
                        rtol: Float, atol: Float)
        let ops: [Op] = [
            ("sum", { $0.sum(axes: $1, keepDims: $2) }, Self.dsum, 1e-5, 1e-5),
            ("mean", { $0.mean(axes: $1, keepDims: $2) }, Self.dmean, 1e-5, 1e-6),
            ("variance c0", { $0.variance(axes: $1, keepDims: $2, correction: 0) }, Self.dvar(0), 1e-5, 1e-6),
            ("variance c1", { $0.variance(axes: $1, keepDims: $2, correction: 1) }, Self.dvar(1), 1e-5, 1e-6),
            ("max", { $0.max(axes: $1, keepDims: $2) }, Self.dmax, 0, 0),
            ("min", { $0.min(axes: $1, keepDims: $2) }, Self.dmin, 0, 0),
            ("logSumExp", { $0.logSumExp(axes: $1, keepDims: $2) }, Self.dlse, 1e-5, 1e-6),
        ]
        for axes in axisSets {
            for keepDims in [false, true] {
                for op in ops {
                    let name = "\(op.name) \(layout) \(x.shape) axes \(axes.map { "\($0)" } ?? "all") keepDims \(keepDims)"
                    assertClose(op.heed(x, axes, keepDims), Self.naive(x, axes, keepDims: keepDims, op.oracle),
                                rtol: op.rtol, atol: op.atol, name, file: file, line: line)
                }
            }
        }
        // argmax / argmin along each single axis, positive and negative.
        for axis in Array(0..<x.rank) + Array(-x.rank..<0) {
            for keepDims in [false, true] {
                let (buckets, kept) = Self.groups(x, [axis])
                let outShape = keepDims ? (0..<x.rank).map { kept.contains($0) ? x.shape[$0] : 1 } : kept.map { x.shape[$0] }
                let amax = buckets.map { b in Float(b.firstIndex(of: b.max()!)!) }
                let amin = buckets.map { b in Float(b.firstIndex(of: b.min()!)!) }
                assertClose(x.argmax(axis: axis, keepDims: keepDims), Tensor(amax, shape: outShape), rtol: 0, atol: 0,
                            "argmax \(layout) axis \(axis) keepDims \(keepDims)", file: file, line: line)
                assertClose(x.argmin(axis: axis, keepDims: keepDims), Tensor(amin, shape: outShape), rtol: 0, atol: 0,
                            "argmin \(layout) axis \(axis) keepDims \(keepDims)", file: file, line: line)
            }
        }
    }

    static let axisSets3: [[Int]?] = [nil, [0], [1], [2], [-1], [-3], [0, 2], [-1, 0], [0, 1], [1, 2], [0, 1, 2]]
    static let axisSets4: [[Int]?] = [nil, [0], [3], [-2], [0, 2], [1, 3], [0, 3], [-1, -4, 1], [1, 2], [0, 1, 2, 3]]

    // MARK: - Oracle comparisons on small tensors

    func testOracleRank3Contiguous() {
        let x = rand([3, 4, 5], 11)
        XCTAssertTrue(x.isContiguous)
        checkAllReductions(x, axisSets: Self.axisSets3, layout: "contiguous")
    }

    func testOracleRank3Transposed() {
        let x = rand([5, 4, 3], 12).transposed(0, 2)
        XCTAssertEqual(x.shape, [3, 4, 5]); XCTAssertFalse(x.isContiguous)
        checkAllReductions(x, axisSets: Self.axisSets3, layout: "transposed")
    }

    func testOracleRank3Permuted() {
        let x = rand([4, 5, 3], 13).permuted([2, 0, 1])
        XCTAssertEqual(x.shape, [3, 4, 5]); XCTAssertFalse(x.isContiguous)
        checkAllReductions(x, axisSets: Self.axisSets3, layout: "permuted")
    }

    func testOracleRank3SlicedWithStep() {
        let x = rand([3, 8, 5], 14).slice(axis: 1, 0..<8, step: 2)
        XCTAssertEqual(x.shape, [3, 4, 5]); XCTAssertFalse(x.isContiguous)
        checkAllReductions(x, axisSets: Self.axisSets3, layout: "step-sliced")
    }

    func testOracleRank3ContiguousWindowWithOffset() {
        // A contiguous view at a nonzero offset takes the no-copy [outer, R, inner] path.
        let x = rand([6, 4, 5], 15).slice(axis: 0, 2..<5)
        XCTAssertEqual(x.shape, [3, 4, 5]); XCTAssertTrue(x.isContiguous); XCTAssertEqual(x.offset, 40)
        checkAllReductions(x, axisSets: Self.axisSets3, layout: "offset window")
    }

    func testOracleRank3Broadcast() {
        let x = rand([3, 1, 5], 16).expanded([3, 4, 5])
        XCTAssertEqual(x.strides[1], 0)
        checkAllReductions(x, axisSets: Self.axisSets3, layout: "expanded")
    }

    func testOracleRank4Contiguous() {
        checkAllReductions(rand([2, 3, 4, 5], 21), axisSets: Self.axisSets4, layout: "contiguous")
    }

    func testOracleRank4Permuted() {
        let x = rand([5, 2, 4, 3], 22).permuted([1, 3, 2, 0])
        XCTAssertEqual(x.shape, [2, 3, 4, 5]); XCTAssertFalse(x.isContiguous)
        checkAllReductions(x, axisSets: Self.axisSets4, layout: "permuted")
    }

    func testOracleRank4SelectedAndSliced() {
        let selected = rand([3, 2, 3, 4, 5], 23)[1]
        XCTAssertEqual(selected.shape, [2, 3, 4, 5]); XCTAssertTrue(selected.isContiguous)
        checkAllReductions(selected, axisSets: Self.axisSets4, layout: "selected")
        let sliced = rand([2, 3, 4, 10], 24).slice(axis: 3, 1..<10, step: 2)
        XCTAssertEqual(sliced.shape, [2, 3, 4, 5]); XCTAssertFalse(sliced.isContiguous)
        checkAllReductions(sliced, axisSets: Self.axisSets4, layout: "last-axis step-sliced")
    }

    // MARK: - Hand-computed values

    func testHandComputedSmall() {
        // x = [[1, 2, 3], [4, 5, 6]]
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        assertClose(x.sum(), [21]); XCTAssertEqual(x.sum().shape, [])
        assertClose(x.sum(axis: 0), [5, 7, 9])
        assertClose(x.sum(axis: -1, keepDims: true), Tensor([6, 15], shape: [2, 1]))
        assertClose(x.mean(axis: 1), [2, 5])
        // Row variances: mean 2, squared deviations 1 + 0 + 1 = 2 → 2/3 (population), 2/2 (unbiased).
        assertClose(x.variance(axes: [1]), [2.0 / 3, 2.0 / 3])
        assertClose(x.variance(axes: [1], correction: 1), [1, 1])
        // All six: mean 3.5, Σ(x−3.5)² = 17.5 → 17.5/6 and 17.5/5.
        assertClose(x.variance(), [17.5 / 6]); assertClose(x.variance(correction: 1), [3.5])
        assertClose(x.max(axis: 0), [4, 5, 6]); assertClose(x.min(axis: 1), [1, 4])
        assertClose(x.argmax(axis: 1), [2, 2]); assertClose(x.argmin(axis: 0), [0, 0, 0])
        // logΣexp([1, 2, 3]) = 3 + log(1 + e⁻¹ + e⁻²) = 3.40760596
        assertClose(x.logSumExp(axis: 1), [3.4076059644, 6.4076059644])
    }

    // MARK: - Ties

    func testMaxTiesSplitGradientEquallyLikeTorchAmax() {
        let x = Tensor([1, 3, 3, 2, 2, 2], shape: [2, 3]).requiringGrad()
        let m = x.max(axis: 1)
        assertClose(m, [3, 2])
        m.backward(Tensor([1, 6], shape: [2]))
        // Row 0: two tied maxima share 1 → ½ each. Row 1: three tied share 6 → 2 each.
        assertClose(x.grad!, Tensor([0, 0.5, 0.5, 2, 2, 2], shape: [2, 3]), "max ties grad")

        let y = Tensor([5, 1, 5, 5], shape: [2, 2]).requiringGrad()
        y.max().backward()   // full reduction: three tied 5s
        assertClose(y.grad!, [1.0 / 3, 0, 1.0 / 3, 1.0 / 3], "full max ties grad")

        let z = Tensor([1, 4, 1, 0, 1, 4], shape: [3, 2]).requiringGrad()
        z.min(axis: 0, keepDims: true).backward(Tensor([4, 10], shape: [1, 2]))
        // Column 0 = [1, 1, 1] (min 1, three ties) → 4/3 each; column 1 = [4, 0, 4] → 10 to the 0.
        assertClose(z.grad!, Tensor([4.0 / 3, 0, 4.0 / 3, 10, 4.0 / 3, 0], shape: [3, 2]), "min ties grad")
    }

    func testArgmaxArgminFirstIndexOnTies() {
        let x = Tensor([1, 3, 3, 2, 2, 2, 0, -1, -1], shape: [3, 3])
        assertClose(x.argmax(axis: 1), [1, 0, 0])
        assertClose(x.argmin(axis: 1), [0, 0, 1])
        assertClose(x.argmax(axis: 0), [1, 0, 0])   // columns [1,2,0], [3,2,-1], [3,2,-1]
        assertClose(x.argmin(axis: 0), [2, 2, 2])
        // Same ties through a transposed (copying) layout: column j of xᵀ is row j of x.
        assertClose(x.T.argmax(axis: 0), [1, 0, 0])
        assertClose(x.T.argmin(axis: 0, keepDims: true), Tensor([0, 0, 1], shape: [1, 3]))
    }

    // MARK: - logSumExp edge cases

    func testLogSumExpInfinitiesAndLargeValues() {
        let inf = Float.infinity
        let x = Tensor([0, -inf, 0,
                        -inf, -inf, -inf,
                        1e4, 1e4, -1e4,
                        -1e4, -1e4, -1e4,
                        -inf, 2, -inf], shape: [5, 3])
        let lse = x.logSumExp(axis: 1)
        let ln2 = Float(M_LN2)
        assertClose(lse, [ln2, -inf, 1e4 + ln2, -1e4 + Float(log(3.0)), 2], rtol: 1e-6, atol: 1e-6)
        XCTAssertFalse(lse.scalars.contains { $0.isNaN }, "logSumExp: NaN in \(lse.scalars)")
        XCTAssertEqual(lse[1].item, -inf)
        // Whole tensor of −∞ (max is −∞): −∞, not NaN; keepDims keeps the rank.
        let allNegInf = Tensor.full(-inf, shape: [2, 2]).logSumExp(keepDims: true)
        XCTAssertEqual(allNegInf.shape, [1, 1]); XCTAssertEqual(allNegInf.item, -inf)
        // Along axis 0 too (the strided layout): columns of x.
        assertClose(x.logSumExp(axis: 0), Self.naive(x, [0], keepDims: false, Self.dlse), rtol: 1e-6, atol: 1e-6)
        // Gradient is the softmax of each row; the −∞ entries get exactly 0, large values stay finite.
        let y = Tensor([1e4, 1e4 - 1, -inf, 0], shape: [1, 4]).requiringGrad()
        y.logSumExp(axis: 1).backward(Tensor([1], shape: [1]))
        let e1 = exp(-1.0)
        assertClose(y.grad!, [Float(1 / (1 + e1)), Float(e1 / (1 + e1)), 0, 0], rtol: 1e-5, atol: 1e-7)
    }

    // MARK: - Large reductions (two-thread kernel paths)

    /// Per-output Double sums and Σ|x| of a contiguous [outer, reduce, inner] array.
    static func blockSums(_ x: [Float], outer: Int, reduce: Int, inner: Int) -> (sum: [Double], abs: [Double]) {
        var s = [Double](repeating: 0, count: outer * inner), a = s
        for o in 0..<outer {
            for r in 0..<reduce {
                for i in 0..<inner {
                    let v = Double(x[(o * reduce + r) * inner + i])
                    s[o * inner + i] += v; a[o * inner + i] += abs(v)
                }
            }
        }
        return (s, a)
    }

    /// Float summation error bound (Higham, "Accuracy and Stability of Numerical Algorithms",
    /// §4.2): if every element passes through at most `depth` rounded additions on its way into
    /// the result, |computed − exact| ≤ γ_depth · Σ|x|, γ_k = k·u/(1 − k·u), u = 2⁻²⁴. This is a
    /// worst case over all rounding patterns, so it holds for any correct kernel with that depth.
    static func roundingBound(depth: Int, absSum: Double) -> Double {
        let u = pow(2.0, -24.0), k = Double(depth)
        return k * u / (1 - k * u) * absSum
    }

    func assertSums(_ actual: Tensor, _ expected: (sum: [Double], abs: [Double]), depth: Int, _ name: String,
                    file: StaticString = #filePath, line: UInt = #line) {
        let a = actual.scalars
        XCTAssertEqual(a.count, expected.sum.count, "\(name): count", file: file, line: line)
        var worst = (i: -1, excess: 0.0)
        for i in 0..<min(a.count, expected.sum.count) {
            let err = abs(Double(a[i]) - expected.sum[i])
            let excess = err - Self.roundingBound(depth: depth, absSum: expected.abs[i])
            if excess > worst.excess || a[i].isNaN { worst = (i, excess) }
        }
        if worst.i >= 0 {
            XCTFail("\(name): worst at [\(worst.i)]: \(a[worst.i]) vs Double \(expected.sum[worst.i]), beyond the rounding bound by \(worst.excess)",
                    file: file, line: line)
        }
    }

    /// Integer data whose every partial sum stays below 2²⁴ is summed exactly by Float32 in any
    /// order: the result must be bit-exact, which catches a dropped or double-counted element.
    static func smallIntegers(_ n: Int, seed: UInt64) -> [Float] {
        var g = Xoshiro256(seed: seed)
        return (0..<n).map { _ in Float(g.next() % 4) }   // 0…3
    }

    func testFullSumOfOneMillionElements() {
        let n = 1_000_000
        XCTAssertGreaterThanOrEqual(n, 4 * elementwiseGrain, "must take the split-row path")
        // Exact: total ≤ 3·10⁶ < 2²⁴.
        let ints = Self.smallIntegers(n, seed: 5)
        let exact = ints.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(Double(Tensor(ints).sum().item), exact, "1M integer sum must be exact")
        XCTAssertEqual(Double(Tensor(ints, shape: [1000, 1000]).sum().item), exact, "1M integer sum, 2-D")
        // Random floats in [−1, 1) against a Double sum. Depth: each of the 2 halves runs 16 SIMD
        // lanes of n/32 elements, then 16 lane combines and 2 half combines.
        let x = rand([n], 6)
        let ref = Self.blockSums(x.scalars, outer: 1, reduce: n, inner: 1)
        assertSums(x.sum(), ref, depth: n / 32 + 16 + 2, "1M sum")
        // The mean is the same sum scaled by 1/n (one extra rounding).
        assertSums(x.mean() * Float(n), ref, depth: n / 32 + 16 + 4, "1M mean·n")
        // Positive data (no cancellation): here the bound is ≈ 1.9e-3 relative at worst, and a
        // correct 32-way sum is far inside it; a tighter sanity check is 1e-5 relative.
        let pos = rand([n], 7, low: 0, high: 1)
        let pref = Self.blockSums(pos.scalars, outer: 1, reduce: n, inner: 1)
        assertSums(pos.sum(), pref, depth: n / 32 + 16 + 2, "1M positive sum")
        XCTAssertEqual(Double(pos.sum().item), pref.sum[0], accuracy: 1e-5 * pref.sum[0])
    }

    func testFullMaxMinOfOneMillionElementsAcrossThreadHalves() {
        let n = 1_000_000
        var v = rand([n], 8).scalars
        v[999_999] = 5      // unique max at the very end of the second half
        v[500_000] = -7     // unique min at the start of the second half
        v[3] = 4.5          // runner-up in the first half
        let x = Tensor(v)
        assertClose(x.max(), [5], rtol: 0, atol: 0); assertClose(x.min(), [-7], rtol: 0, atol: 0)
        assertClose(x.argmax(axis: 0), [999_999], rtol: 0, atol: 0)
        assertClose(x.argmin(axis: 0), [500_000], rtol: 0, atol: 0)
        v[999_999] = 0; v[12] = 6   // max in the first half
        assertClose(Tensor(v).max(), [6], rtol: 0, atol: 0)
        v[700_001] = .nan           // max/min propagate NaN, as in PyTorch
        XCTAssertTrue(Tensor(v).max().item.isNaN); XCTAssertTrue(Tensor(v).min().item.isNaN)
    }

    func testRowSumsTwoByHundredThousand() {
        let x = rand([2, 100_000], 9)
        // Rows go to different threads; each row: 16 lanes of 6250, then 16 lane combines.
        assertSums(x.sum(axis: 1), Self.blockSums(x.scalars, outer: 2, reduce: 100_000, inner: 1),
                   depth: 100_000 / 16 + 16, "[2, 100000] row sums")
        let ints = Self.smallIntegers(200_000, seed: 10)
        let t = Tensor(ints, shape: [2, 100_000])
        let exact = Self.blockSums(ints, outer: 2, reduce: 100_000, inner: 1).sum.map(Float.init)
        assertClose(t.sum(axis: -1), exact, rtol: 0, atol: 0, "[2, 100000] integer row sums")
        assertClose(t.max(axis: 1), [3, 3], rtol: 0, atol: 0)
        // The same rows read through a transpose (the copying layout path).
        assertClose(t.T.contiguous().T.sum(axis: 1), exact, rtol: 0, atol: 0, "transposed-back row sums")
    }

    func testColumnSumsHundredThousandByTwo() {
        let x = rand([100_000, 2], 11)
        // Folded row by row into the two outputs: each sum is a sequential chain of 100000 adds.
        assertSums(x.sum(axis: 0), Self.blockSums(x.scalars, outer: 1, reduce: 100_000, inner: 2),
                   depth: 100_000, "[100000, 2] column sums")
        let ints = Self.smallIntegers(200_000, seed: 12)
        let exact = Self.blockSums(ints, outer: 1, reduce: 100_000, inner: 2).sum.map(Float.init)
        assertClose(Tensor(ints, shape: [100_000, 2]).sum(axis: 0), exact, rtol: 0, atol: 0, "integer column sums")
        // The same columns as rows of the transposed view (non-contiguous: moved-last copy).
        assertClose(Tensor(ints, shape: [100_000, 2]).T.sum(axis: 1), exact, rtol: 0, atol: 0, "transposed column sums")
        assertClose(Tensor(ints, shape: [100_000, 2]).max(axis: 0), [3, 3], rtol: 0, atol: 0)
    }

    func testMiddleAxisOfOneByFortyThousandBySixtyFour() {
        let x = rand([1, 40_000, 64], 13)
        // outer = 1 < 2 threads: the threads split the 64 inner columns, 32 each.
        let out = x.sum(axis: 1)
        XCTAssertEqual(out.shape, [1, 64])
        assertSums(out, Self.blockSums(x.scalars, outer: 1, reduce: 40_000, inner: 64), depth: 40_000, "[1, 40000, 64] axis 1")
        let ints = Self.smallIntegers(40_000 * 64, seed: 14)
        let exact = Self.blockSums(ints, outer: 1, reduce: 40_000, inner: 64).sum.map(Float.init)
        assertClose(Tensor(ints, shape: [1, 40_000, 64]).sum(axis: 1, keepDims: true), Tensor(exact, shape: [1, 1, 64]),
                    rtol: 0, atol: 0, "integer [1, 40000, 64] axis 1")
        // Max along the same axis: a planted unique maximum per column, some in each thread's half.
        var v = ints
        for j in 0..<64 { v[(j * 601 % 40_000) * 64 + j] = Float(10 + j) }
        let m = Tensor(v, shape: [1, 40_000, 64]).max(axis: 1)
        assertClose(m, (0..<64).map { Float(10 + $0) }, rtol: 0, atol: 0, "planted column maxima")
        // And with several outer rows (threads split over outer): [4, 10000, 64] over axis 1.
        let y = rand([4, 10_000, 64], 15)
        assertSums(y.sum(axis: 1), Self.blockSums(y.scalars, outer: 4, reduce: 10_000, inner: 64), depth: 10_000, "[4, 10000, 64] axis 1")
    }

    func testLargeNonAdjacentAxesOfContiguousTensor() {
        // Axes {0, 2} of [50, 30, 200]: one permuting copy to [30, 50, 200] (1500 rows, split over
        // both threads mid-odometer), then 30 rows of 10000 summed in parallel.
        let (a, b, c) = (50, 30, 200)
        let x = rand([a, b, c], 16)
        let v = x.scalars
        var sum = [Double](repeating: 0, count: b), absSum = sum
        var mx = [Float](repeating: -.infinity, count: b)
        for i in 0..<a { for j in 0..<b { for k in 0..<c {
            let e = v[(i * b + j) * c + k]
            sum[j] += Double(e); absSum[j] += abs(Double(e)); mx[j] = Swift.max(mx[j], e)
        } } }
        assertSums(x.sum(axes: [0, 2]), (sum, absSum), depth: a * c / 16 + 16, "[50,30,200] axes [0, 2]")
        assertClose(x.max(axes: [-1, 0], keepDims: true), Tensor(mx, shape: [1, b, 1]), rtol: 0, atol: 0, "max axes [0, 2]")
        let ints = Self.smallIntegers(a * b * c, seed: 17)
        var exact = [Float](repeating: 0, count: b)
        for i in 0..<a { for j in 0..<b { for k in 0..<c { exact[j] += ints[(i * b + j) * c + k] } } }
        assertClose(Tensor(ints, shape: [a, b, c]).sum(axes: [0, 2]), exact, rtol: 0, atol: 0, "integer axes [0, 2]")
    }

    func testRankZeroAndPositiveInfinity() {
        let s = Tensor.scalar(3)
        XCTAssertEqual(s.sum().shape, []); assertClose(s.sum(), [3]); assertClose(s.max(), [3]); assertClose(s.mean(), [3])
        let inf = Float.infinity
        // +∞ dominates: log(e^1 + ∞ + 0) = ∞ (the ±∞ max is replaced by a 0 shift, so no ∞ − ∞).
        XCTAssertEqual(Tensor([1, inf, -inf]).logSumExp().item, inf)
        XCTAssertEqual(Tensor([1, inf, -inf]).max().item, inf)
        XCTAssertEqual(Tensor([1, inf, -inf]).min().item, -inf)
        assertClose(Tensor([1, inf, -inf]).argmax(axis: 0), [1]); assertClose(Tensor([1, inf, -inf]).argmin(axis: 0), [2])
    }

    // MARK: - Gradients

    /// Values in random order with gaps of 0.05 ≫ 2h, so no max/min tie is crossed by the
    /// finite-difference step.
    static func distinct(_ shape: [Int], _ seed: UInt64) -> Tensor {
        let keys = rand(shape, seed).scalars
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        var v = [Float](repeating: 0, count: keys.count)
        for (rank, i) in order.enumerated() { v[i] = Float(rank) * 0.05 - 1.5 }
        return Tensor(v, shape: shape)
    }

    static let gradAxisSets: [([Int]?, Bool)] = [(nil, false), ([1], false), ([-1], true), ([0, 2], false), ([0, 2], true), ([0, 1], false)]

    func testGradSumMean() {
        for (axes, keep) in Self.gradAxisSets {
            gradCheck("sum \(String(describing: axes)) keep \(keep)", [rand([3, 4, 5], 31)]) { $0[0].sum(axes: axes, keepDims: keep) }
            gradCheck("mean \(String(describing: axes)) keep \(keep)", [rand([3, 4, 5], 32)]) { $0[0].mean(axes: axes, keepDims: keep) }
        }
        // Through a non-contiguous input.
        gradCheck("sum of transposed", [rand([5, 4, 3], 33)]) { $0[0].transposed(0, 2).sum(axes: [0, 1]) }
    }

    func testGradVariance() {
        for (axes, keep) in Self.gradAxisSets {
            for c in [0, 1] {
                gradCheck("variance c\(c) \(String(describing: axes)) keep \(keep)", [rand([3, 4, 5], 34)]) {
                    $0[0].variance(axes: axes, keepDims: keep, correction: c)
                }
            }
        }
    }

    func testGradMaxMin() {
        for (axes, keep) in Self.gradAxisSets {
            gradCheck("max \(String(describing: axes)) keep \(keep)", [Self.distinct([3, 4, 5], 35)]) { $0[0].max(axes: axes, keepDims: keep) }
            gradCheck("min \(String(describing: axes)) keep \(keep)", [Self.distinct([3, 4, 5], 36)]) { $0[0].min(axes: axes, keepDims: keep) }
        }
        gradCheck("max of permuted", [Self.distinct([4, 5, 3], 37)]) { $0[0].permuted([2, 0, 1]).max(axes: [1, 2]) }
    }

    func testGradLogSumExp() {
        for (axes, keep) in Self.gradAxisSets {
            gradCheck("logSumExp \(String(describing: axes)) keep \(keep)", [rand([3, 4, 5], 38, low: -3, high: 3)]) {
                $0[0].logSumExp(axes: axes, keepDims: keep)
            }
        }
        gradCheck("logSumExp 4-D non-adjacent", [rand([2, 3, 4, 5], 39)]) { $0[0].logSumExp(axes: [0, 3]) }
    }
}

extension ReduceTests {
    func testLogSumExpOfAllMinusInfinityRowHasZeroGradient() {
        let x = Tensor([-.infinity, -.infinity, 1, 2], shape: [2, 2]).requiringGrad()
        let y = x.logSumExp(axis: 1)
        XCTAssertEqual(y.scalars[0], -.infinity)
        y.sum().backward()
        XCTAssertEqual(Array(x.grad!.scalars[0..<2]), [0, 0], "no 0/0 for a fully masked row")
        assertClose(Array(x.grad!.scalars[2..<4]), [Float(1 / (1 + Foundation.exp(1.0))), Float(1 / (1 + Foundation.exp(-1.0)))], rtol: 1e-6)
    }

    func testMeanOfEmptyAxisIsNaN() {
        XCTAssertTrue(Tensor.zeros([0, 3]).mean(axis: 0).scalars.allSatisfy(\.isNaN))
    }
}
