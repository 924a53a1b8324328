import XCTest
@testable import Heed
import HeedTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The naive oracle for broadcasting binary ops: walks every output multi-index, maps it into
/// each operand NumPy-style (align right, size-1 dims read index 0) and reads the operand through
/// its own strides with `t[element:]`, so views of any layout are read the slow, obvious way.
func naiveBinary(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    let n = max(a.rank, b.rank)
    let pa = [Int](repeating: 1, count: n - a.rank) + a.shape
    let pb = [Int](repeating: 1, count: n - b.rank) + b.shape
    var shape = [Int](repeating: 0, count: n)
    for i in 0..<n {
        precondition(pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1, "oracle: \(a.shape) vs \(b.shape)")
        shape[i] = pa[i] == 1 ? pb[i] : pa[i]
    }
    let total = shape.reduce(1, *)
    var out = [Float]()
    out.reserveCapacity(total)
    var index = [Int](repeating: 0, count: n)
    for _ in 0..<total {
        let ia = Array(zip(index, pa).map { $1 == 1 ? 0 : $0 }.suffix(a.rank))
        let ib = Array(zip(index, pb).map { $1 == 1 ? 0 : $0 }.suffix(b.rank))
        out.append(f(a[element: ia], b[element: ib]))
        var d = n - 1
        while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
    }
    return Tensor(out, shape: shape)
}

/// Binary arithmetic (Tensor+Arithmetic.swift): hand-computed values, NumPy broadcasting over
/// contiguous and strided views against the naive oracle, the two-thread paths against plain
/// loops, and every gradient by central finite differences.
final class ElementwiseTests: XCTestCase {
    let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
    let b = Tensor([0.5, -1, 2, 3, 0.25, -4], shape: [2, 3])

    /// Every op whose result is one correctly rounded Float operation, with its scalar twin.
    static var ops: [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float)] { [
        ("add", { $0 + $1 }, { $0 + $1 }),
        ("sub", { $0 - $1 }, { $0 - $1 }),
        ("mul", { $0 * $1 }, { $0 * $1 }),
        ("div", { $0 / $1 }, { $0 / $1 }),
        ("maximum", { $0.maximum($1) }, { Swift.max($0, $1) }),
        ("minimum", { $0.minimum($1) }, { Swift.min($0, $1) }),
        ("pow", { $0.pow($1) }, { powf($0, $1) }),
    ] }

    // MARK: forward, hand-computed

    func testArithmeticValues() {
        XCTAssertEqual((a + b).scalars, [1.5, 1, 5, 7, 5.25, 2])
        XCTAssertEqual((a - b).scalars, [0.5, 3, 1, 1, 4.75, 10])
        XCTAssertEqual((a * b).scalars, [0.5, -2, 6, 12, 1.25, -24])
        XCTAssertEqual((a / b).scalars, [2, -2, 1.5, 4 / 3, 20, -1.5])
        XCTAssertEqual((a + b).shape, [2, 3])
        XCTAssertEqual(a.maximum(b).scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(b.maximum(a).scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(a.minimum(b).scalars, [0.5, -1, 2, 3, 0.25, -4])
        XCTAssertEqual(b.maximum(2).scalars, [2, 2, 2, 3, 2, 2])
        XCTAssertEqual(b.minimum(0).scalars, [0, -1, 0, 0, 0, -4])
        XCTAssertEqual(b.clamped(min: -1, max: 2.5).scalars, [0.5, -1, 2, 2.5, 0.25, -1])
        // Division by zero follows IEEE.
        let z = Tensor([1, -1, 0]) / Tensor([0, 0, 0])
        XCTAssertEqual(z.scalars[0], .infinity)
        XCTAssertEqual(z.scalars[1], -.infinity)
        XCTAssertTrue(z.scalars[2].isNaN)
    }

    func testPowValues() {
        XCTAssertEqual(Tensor([2, 9, 4, -2, 5]).pow(Tensor([3, 0.5, -1, 3, 0])).scalars, [8, 3, 0.25, -8, 1])
        let x = Tensor([1, 2, 3, 0.25, 0])
        XCTAssertEqual(x.pow(3).scalars, [1, 8, 27, 0.015625, 0])
        XCTAssertEqual(x.pow(2).scalars, [1, 4, 9, 0.0625, 0])
        XCTAssertEqual(x.pow(1).scalars, x.scalars)
        XCTAssertEqual(x.pow(0).scalars, [1, 1, 1, 1, 1])
        XCTAssertEqual(x.pow(0.5).scalars, [1, Float(2).squareRoot(), Float(3).squareRoot(), 0.5, 0])
        // glibc's powf is within 1 ulp (not always correctly rounded): 1/9 within 1e-7 relative.
        assertClose(x.pow(-2), [1, 0.25, 1 / Float(9), 16, .infinity], rtol: 1.2e-7, atol: 0)
        XCTAssertEqual(Tensor([-2, -3]).pow(3).scalars, [-8, -27])
        XCTAssertTrue(Tensor([-8]).pow(1.0 / 3).item.isNaN)   // powf: negative base, fractional power
    }

    func testScalarOperandsOnEitherSide() {
        let t = Tensor([1, 2, 4, -8])
        XCTAssertEqual((t + 1).scalars, [2, 3, 5, -7])
        XCTAssertEqual((1 + t).scalars, [2, 3, 5, -7])
        XCTAssertEqual((t - 2).scalars, [-1, 0, 2, -10])
        XCTAssertEqual((2 - t).scalars, [1, 0, -2, 10])
        XCTAssertEqual((t * 3).scalars, [3, 6, 12, -24])
        XCTAssertEqual((3 * t).scalars, [3, 6, 12, -24])
        XCTAssertEqual((t / 4).scalars, [0.25, 0.5, 1, -2])
        XCTAssertEqual((8 / t).scalars, [8, 4, 2, -1])
        for r in [t + 1, 1 + t, t - 2, 2 - t, t * 3, 3 * t, t / 4, 8 / t] { XCTAssertEqual(r.shape, [4]) }
    }

    func testMaximumAndMinimumPropagateNaN() {
        // As torch.maximum/minimum (and Heed's own max/min reductions): a NaN on either side wins.
        let x = Tensor([.nan, 1, .nan, 2])
        let y = Tensor([1, .nan, .nan, 3])
        for (name, r) in [("max xy", x.maximum(y)), ("max yx", y.maximum(x)),
                          ("min xy", x.minimum(y)), ("min yx", y.minimum(x))] {
            let s = r.scalars
            XCTAssertTrue(s[0].isNaN && s[1].isNaN && s[2].isNaN, "\(name): \(s)")
        }
        XCTAssertEqual(x.maximum(y).scalars[3], 3)
        XCTAssertEqual(x.minimum(y).scalars[3], 2)
        XCTAssertTrue(Tensor([.nan]).clamped(min: 0, max: 1).item.isNaN)
        XCTAssertTrue(Tensor([0.5]).maximum(.nan).item.isNaN)
    }

    // MARK: broadcasting

    func testBroadcastShapesAndValues() {
        let row = Tensor([10, 20, 30])
        XCTAssertEqual((a + row).scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((row - a).scalars, [9, 18, 27, 6, 15, 24])

        let col = Tensor([1, 2], shape: [2, 1]), line = Tensor([10, 20, 30], shape: [1, 3])
        let outer = col * line
        XCTAssertEqual(outer.shape, [2, 3])
        XCTAssertEqual(outer.scalars, [10, 20, 30, 20, 40, 60])
        XCTAssertEqual((line + col).scalars, [11, 21, 31, 12, 22, 32])

        let x = rand([4, 1, 3], 1), y = rand([2, 1], 2)
        let s = x + y
        XCTAssertEqual(s.shape, [4, 2, 3])
        XCTAssertEqual(s.scalars, naiveBinary(x, y, +).scalars)

        // Rank 0 with anything; rank 0 with rank 0 stays rank 0; [1] against [] gives [1].
        let seven = Tensor.scalar(7)
        XCTAssertEqual((a * seven).scalars, [7, 14, 21, 28, 35, 42])
        XCTAssertEqual((seven - a).shape, [2, 3])
        let r0 = Tensor.scalar(3) / Tensor.scalar(4)
        XCTAssertEqual(r0.shape, [])
        XCTAssertEqual(r0.item, 0.75)
        XCTAssertEqual((Tensor([2]) + Tensor.scalar(1)).shape, [1])
        XCTAssertEqual((Tensor.scalar(1) + Tensor([5], shape: [1, 1, 1])).shape, [1, 1, 1])
        // Size-1 against size-n, and empty dimensions broadcast to empty results.
        XCTAssertEqual((Tensor([3]) * Tensor([1, 2, 3, 4])).scalars, [3, 6, 9, 12])
        XCTAssertEqual((Tensor.zeros([0, 3]) + row).shape, [0, 3])
        XCTAssertEqual((Tensor.zeros([2, 1]) + Tensor.zeros([0])).shape, [2, 0])
    }

    func testEveryOpAgainstOracleOverBroadcastPairs() {
        // Each op is one Float rounding, so results must equal the oracle bit for bit.
        let pairs: [([Int], [Int])] = [
            ([2, 3], [2, 3]), ([2, 3], [3]), ([3], [2, 3]), ([2, 1], [1, 3]), ([4, 1, 3], [2, 1]),
            ([], [2, 3]), ([2, 3], []), ([], []), ([5, 1, 17], [1, 33, 1]), ([3, 1, 40], [40]),
        ]
        for (k, (sa, sb)) in pairs.enumerated() {
            // Positive bases for pow; others mixed sign.
            let x = rand(sa, UInt64(10 + k), low: 0.1, high: 3), y = rand(sb, UInt64(50 + k), low: -2, high: 2)
            for (name, op, f) in Self.ops {
                let got = op(x, y), want = naiveBinary(x, y, f)
                XCTAssertEqual(got.shape, want.shape, "\(name) \(sa) \(sb)")
                XCTAssertEqual(got.scalars, want.scalars, "\(name) \(sa) \(sb)")
            }
        }
    }

    func testBroadcastOverNonContiguousViews() {
        let m = rand([6, 8], 3)              // base storage
        let t = m.T                          // [8, 6], strides [1, 8]
        let sliced = m.slice(axis: 1, 1..<8, step: 2)            // [6, 4], strides [8, 2]
        let offsetRow = m.slice(axis: 0, 3..<4).reshaped([8])    // a row at offset 24
        let expanded = rand([1, 6], 4).expanded([8, 6])          // stride 0 along axis 0
        let column = m.slice(axis: 1, 5..<6)                     // [6, 1] with row stride 8
        let cases: [(String, Tensor, Tensor)] = [
            ("T + row", t, rand([6], 5)),
            ("T + T", t, t),
            ("T * expanded", t, expanded),
            ("expanded - T", expanded, t),
            ("sliced + column", sliced, column),
            ("column / sliced", column, sliced + 2),
            ("offset row + T", offsetRow.reshaped([8, 1]), t),
            ("T(3-d) + [2,1]", rand([3, 4, 5], 6).permuted([2, 0, 1]), rand([3, 1], 7)),
            ("stride-0 both", Tensor.scalar(2).expanded([4, 5]), rand([5], 8).expanded([4, 5])),
        ]
        for (name, x, y) in cases {
            for (op, f, g) in Self.ops where op != "pow" {
                XCTAssertEqual(f(x, y).scalars, naiveBinary(x, y, g).scalars, "\(op): \(name)")
            }
        }
    }

    // MARK: the two-thread paths

    func testLargeContiguousMatchesPlainLoop() {
        // 300k elements: same-shape contiguous operands take the blocked path, split over two
        // threads (n/16 blocks ≥ 2·2048); the last block is partial (n is not a multiple of 16).
        let n = 300_007
        let x = rand([n], 20), y = rand([n], 21, low: 0.5, high: 2)
        let xs = x.scalars, ys = y.scalars
        for (name, op, f) in Self.ops where name != "pow" {
            let got = op(x, y).scalars
            var firstBad = -1
            for i in 0..<n where got[i] != f(xs[i], ys[i]) { firstBad = i; break }
            XCTAssertEqual(firstBad, -1, "\(name): first mismatch at [\(firstBad)]")
        }
    }

    func testLargeBroadcastAndStridedMatchPlainLoop() {
        // [600, 500] + [500]: 600 rows of 500, split over two threads by forEachRow; and a
        // transposed operand (strided rows) of the same size.
        let x = rand([600, 500], 22), row = rand([500], 23)
        let xs = x.scalars, rs = row.scalars
        let sum = (x + row).scalars
        var bad = -1
        for i in 0..<600 { for j in 0..<500 where sum[i * 500 + j] != xs[i * 500 + j] + rs[j] { bad = i * 500 + j; break } }
        XCTAssertEqual(bad, -1, "x + row: first mismatch at [\(bad)]")

        let u = rand([500, 600], 24)
        let us = u.scalars
        let prod = (u.T * x).scalars           // u.T: [600, 500] with strides [1, 600]
        bad = -1
        for i in 0..<600 { for j in 0..<500 where prod[i * 500 + j] != us[j * 600 + i] * xs[i * 500 + j] { bad = i * 500 + j; break } }
        XCTAssertEqual(bad, -1, "T * x: first mismatch at [\(bad)]")
    }

    // MARK: gradients

    func testGradientsOfEachOp() {
        let x = rand([2, 3], 30), y = rand([2, 3], 31)
        let positive = rand([2, 3], 32, low: 0.5, high: 2)
        gradCheck("add", [x, y]) { $0[0] + $0[1] }
        gradCheck("sub", [x, y]) { $0[0] - $0[1] }
        gradCheck("mul", [x, y]) { $0[0] * $0[1] }
        gradCheck("div", [x, positive]) { $0[0] / $0[1] }
        gradCheck("pow tensor", [positive, y]) { $0[0].pow($0[1]) }
        gradCheck("pow 3", [x]) { $0[0].pow(3) }
        gradCheck("pow 2", [x]) { $0[0].pow(2) }
        gradCheck("pow 0.5", [positive]) { $0[0].pow(0.5) }
        gradCheck("pow -1.5", [positive]) { $0[0].pow(-1.5) }
        // maximum/minimum/clamp: hand-picked values at least 0.1 apart from each other and from
        // the bounds, so x ± h never crosses a kink.
        let p = Tensor([0.3, -1.2, 0.9, -0.4, 1.5, 0.0], shape: [2, 3])
        let q = Tensor([0.1, -0.8, 1.4, -0.6, 0.2, 0.5], shape: [2, 3])
        gradCheck("maximum", [p, q]) { $0[0].maximum($0[1]) }
        gradCheck("minimum", [p, q]) { $0[0].minimum($0[1]) }
        gradCheck("maximum scalar", [p]) { $0[0].maximum(0.2) }
        gradCheck("minimum scalar", [p]) { $0[0].minimum(0.2) }
        gradCheck("clamped", [p]) { $0[0].clamped(min: -0.5, max: 1) }
    }

    func testGradientsReduceToBroadcastOperandShapes() {
        gradCheck("[2,3]+[3]", [rand([2, 3], 40), rand([3], 41)]) { $0[0] + $0[1] }
        gradCheck("[2,1]-[1,3]", [rand([2, 1], 42), rand([1, 3], 43)]) { $0[0] - $0[1] }
        gradCheck("[4,1,3]*[2,1]", [rand([4, 1, 3], 44), rand([2, 1], 45)]) { $0[0] * $0[1] }
        gradCheck("[3]/[2,3]", [rand([3], 46), rand([2, 3], 47, low: 0.5, high: 2)]) { $0[0] / $0[1] }
        gradCheck("[2,3]/[2,1]", [rand([2, 3], 48), rand([2, 1], 49, low: 0.5, high: 2)]) { $0[0] / $0[1] }
        gradCheck("pow [2,3]^[3]", [rand([2, 3], 50, low: 0.5, high: 2), rand([3], 51)]) { $0[0].pow($0[1]) }
        gradCheck("pow [1]^[2,2]", [rand([1], 52, low: 0.5, high: 2), rand([2, 2], 53)]) { $0[0].pow($0[1]) }
        gradCheck("maximum [2,3],[3]",
                  [Tensor([0.3, -1.2, 0.9, -0.4, 1.5, 0.0], shape: [2, 3]), Tensor([0.1, -0.8, 1.2])]) { $0[0].maximum($0[1]) }
        gradCheck("minimum [2,1],[3]",
                  [Tensor([0.3, -1.2], shape: [2, 1]), Tensor([0.1, -0.8, 1.2])]) { $0[0].minimum($0[1]) }
        gradCheck("rank0 * [2,3]", [Tensor.scalar(0.7), rand([2, 3], 54)]) { $0[0] * $0[1] }
        gradCheck("[2,3] - rank0", [rand([2, 3], 55), Tensor.scalar(-0.3)]) { $0[0] - $0[1] }
        gradCheck("scalar ops", [rand([2, 3], 56, low: 0.5, high: 2)]) { x in
            (2 - x[0]) * 3 + x[0] / 4 - 1 + 5 / x[0] + (x[0] * 0.5 + 1)
        }
        // The gradient of a broadcast operand has exactly the operand's shape, summed: d/db Σ(a + b)
        // for a [4, 2, 3] result and b [2, 1] is 4·3 = 12 per element.
        let b = Tensor([1, 2], shape: [2, 1]).requiringGrad()
        (Tensor.zeros([4, 1, 3]) + b).sum().backward()
        XCTAssertEqual(b.grad!.shape, [2, 1])
        XCTAssertEqual(b.grad!.scalars, [12, 12])
        let s = Tensor.scalar(2).requiringGrad()
        (s * Tensor([1, 2, 3])).sum().backward()
        XCTAssertEqual(s.grad!.shape, [])
        XCTAssertEqual(s.grad!.item, 6)
    }

    func testGradientsThroughNonContiguousViews() {
        gradCheck("T + row", [rand([3, 4], 60), rand([3], 61)]) { $0[0].T + $0[1] }
        gradCheck("sliced * expanded", [rand([4, 6], 62), rand([1, 3], 63)]) {
            $0[0].slice(axis: 1, 0..<6, step: 2) * $0[1].expanded([4, 3])
        }
        gradCheck("permuted / [3,1]", [rand([3, 4, 2], 64), rand([3, 1], 65, low: 0.5, high: 2)]) {
            $0[0].permuted([2, 0, 1]) / $0[1]
        }
    }

    func testTensorUsedTwiceAccumulates() {
        let xs: [Float] = [-1.5, 0.25, 2, 3]
        let x = Tensor(xs).requiringGrad()
        (x * x).sum().backward()
        XCTAssertEqual(x.grad!.scalars, xs.map { 2 * $0 })        // exact: g·x + g·x
        let y = Tensor(xs).requiringGrad()
        (y + y + y).sum().backward()
        XCTAssertEqual(y.grad!.scalars, [3, 3, 3, 3])
        let z = Tensor(xs).requiringGrad()
        (z * z * z - z / 2).sum().backward()
        assertClose(z.grad!, xs.map { 3 * $0 * $0 - 0.5 }, rtol: 1e-6, atol: 0)
        // Used twice with different broadcasts: d/dw Σ(w ⊙ M + w) for w [3], M [2, 3].
        let w = Tensor([1, 2, 3]).requiringGrad()
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        (w * m + w).sum().backward()
        XCTAssertEqual(w.grad!.scalars, [7, 9, 11])   // [1+4+2, 2+5+2, 3+6+2]
        // A second backward accumulates into .grad (+=), as documented.
        (x * x).sum().backward()
        XCTAssertEqual(x.grad!.scalars, xs.map { 4 * $0 })
        gradCheck("x*x", [rand([5], 66)]) { $0[0] * $0[0] }
        gradCheck("x/x²+x", [rand([5], 67, low: 0.5, high: 2)]) { $0[0] / ($0[0] * $0[0]) + $0[0] }
    }

    func testMaximumTiesAndClampBoundariesSendGradientToSelf() {
        // Documented: ties send the whole gradient to `self`; so clamp passes the gradient at
        // exactly `low` or `high`, as torch.clamp does (its mask is low ≤ x ≤ high).
        let a = Tensor([1, 2, 5]).requiringGrad(), b = Tensor([1, 3, 4]).requiringGrad()
        a.maximum(b).sum().backward()
        XCTAssertEqual(a.grad!.scalars, [1, 0, 1])
        XCTAssertEqual(b.grad!.scalars, [0, 1, 0])
        let c = Tensor([1, 2, 5]).requiringGrad(), d = Tensor([1, 3, 4]).requiringGrad()
        c.minimum(d).sum().backward()
        XCTAssertEqual(c.grad!.scalars, [1, 1, 0])
        XCTAssertEqual(d.grad!.scalars, [0, 0, 1])
        let x = Tensor([-2, -1, 0, 1, 2]).requiringGrad()
        x.clamped(min: -1, max: 1).sum().backward()
        XCTAssertEqual(x.grad!.scalars, [0, 1, 1, 1, 0])
    }

    func testPowGradientAtZeroBase() {
        // PyTorch's conventions, so that a zero base does not poison training with NaN:
        // d/dx x⁰ = 0 everywhere (0·x⁻¹ would be 0·inf = NaN at 0), and d/db aᵇ = aᵇ·ln a is 0
        // where a = 0 and b ≥ 0 (0·(−inf) otherwise).
        let x = Tensor([0, 2, -3]).requiringGrad()
        x.pow(0).sum().backward()
        XCTAssertEqual(x.grad!.scalars, [0, 0, 0])
        let base = Tensor([0, 0, 2]).requiringGrad(), exponent = Tensor([2, 0, 3]).requiringGrad()
        base.pow(exponent).sum().backward()
        XCTAssertEqual(exponent.grad!.scalars, [0, 0, Float(8 * Glibc.log(2.0))])
        XCTAssertEqual(base.grad!.scalars, [0, 0, 12])   // b·a^(b−1); 0 for b = 0 as above
        // d/dx x² at 0 is 0 and x³ likewise (no NaN from the general rule).
        let y = Tensor([0, 0]).requiringGrad()
        (y.pow(2) + y.pow(3)).sum().backward()
        XCTAssertEqual(y.grad!.scalars, [0, 0])
    }
}
