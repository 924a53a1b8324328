import XCTest
@testable import Heed
import HeedTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Unary ops (Tensor+Unary.swift): forward values against Glibc's Double functions, measured in
/// ulps of the true value; gradients by central finite differences; the PyTorch conventions at
/// kinks; saturation far out.
final class UnaryTests: XCTestCase {
    /// Zero, signed zero, tiny (subnormal and near FLT_MIN), small, moderate, large, both signs.
    static let probes: [Float] = {
        let magnitudes: [Float] = [0x1p-133, 1e-38, 1e-30, 1e-12, 1e-6, 1e-3, 0.1, 0.5, 0.625, 1, 1.5,
                                   2, 3, 4, 5, 7, 10, 20, 50, 80, 87, 88, 1e4, 1e10, 1e30, 3e38]
        return [0, -0.0] + magnitudes + magnitudes.map { -$0 }
    }()

    /// Applies `op` to `xs` (as one tensor, so the SIMD path and its tail both run) and checks
    /// every element against `truth` within `budget(x)` ulps of the true value.
    func checkUlps(_ name: String, _ xs: [Float], _ op: (Tensor) -> Tensor,
                   _ truth: (Double) -> Double, budget: (Double) -> Double,
                   file: StaticString = #filePath, line: UInt = #line) {
        let ys = op(Tensor(xs)).scalars
        XCTAssertEqual(ys.count, xs.count, file: file, line: line)
        var worst: (excess: Double, i: Int, ulps: Double) = (0, -1, 0)
        for (i, (x, y)) in zip(xs, ys).enumerated() {
            let t = truth(Double(x))
            let ok: Bool
            var ulps = 0.0
            if t.isNaN { ok = y.isNaN }
            else if Swift.abs(t) > Double(Float.greatestFiniteMagnitude) {
                ok = Double(y) == t || (y.isInfinite && (y > 0) == (t > 0))   // overflows to ±inf
            } else {
                ulps = VectorMathTests.ulpError(y, t)
                ok = ulps <= budget(Double(x))
            }
            let excess = ok ? 0 : (ulps.isNaN ? .infinity : ulps - budget(Double(x)) + 1)
            if !ok && (worst.i < 0 || excess > worst.excess) { worst = (excess, i, ulps) }
        }
        if worst.i >= 0 {
            let x = xs[worst.i]
            XCTFail("\(name): worst at x = \(x): \(ys[worst.i]) vs true \(truth(Double(x))) (\(worst.ulps) ulp, budget \(budget(Double(x))))",
                    file: file, line: line)
        }
    }

    /// The probes plus a dense grid, for the functions whose error depends on the branch taken.
    static func dense(_ lo: Double, _ hi: Double, _ n: Int = 20_001) -> [Float] {
        probes + VectorMathTests.grid(lo, hi, n)
    }

    // MARK: forward

    func testExp() {
        // vexp is ≤ 2 ulp on its whole finite range; outside, exact 0 / inf.
        checkUlps("exp", Self.dense(-87.3, 88.7), { $0.exp() }, { x in
            x < Double(expLower) ? 0 : Glibc.exp(x)
        }, budget: { _ in 2 })
        XCTAssertEqual(Tensor([-87.5, 88.8, 0]).exp().scalars, [0, .infinity, 1])
    }

    func testLog() {
        // glibc's logf is within 1 ulp; log 1 = 0 exactly, log 0 = −inf, log(x < 0) = NaN.
        let xs = Self.probes.filter { $0 > 0 } + VectorMathTests.grid(1e-3, 100, 20_001)
        checkUlps("log", xs, { $0.log() }, { Glibc.log($0) }, budget: { _ in 1 })
        let special = Tensor([1, 0, -0.0, -1, .infinity]).log().scalars
        XCTAssertEqual(special[0], 0)
        XCTAssertEqual(special[1], -.infinity)
        XCTAssertEqual(special[2], -.infinity)
        XCTAssertTrue(special[3].isNaN)
        XCTAssertEqual(special[4], .infinity)
    }

    func testSqrtIsCorrectlyRounded() {
        // IEEE sqrt is correctly rounded, and so is Float(√Double(x)) (53 ≥ 2·24 + 2 bits): equal.
        let xs = Self.probes.filter { $0 >= 0 } + VectorMathTests.grid(0, 1000, 20_001)
        let ys = Tensor(xs).sqrt().scalars
        for (x, y) in zip(xs, ys) { XCTAssertEqual(y, Float(Double(x).squareRoot()), "sqrt(\(x))") }
        XCTAssertTrue(Tensor([-1]).sqrt().item.isNaN)
    }

    func testRsqrt() {
        // 1/√x: two correctly rounded steps, < 1.5 ulp. rsqrt(0) = +inf.
        let xs = Self.probes.filter { $0 > 0 } + VectorMathTests.grid(1e-3, 1000, 20_001)
        checkUlps("rsqrt", xs, { $0.rsqrt() }, { 1 / $0.squareRoot() }, budget: { _ in 1.5 })
        XCTAssertEqual(Tensor([0, 4]).rsqrt().scalars, [.infinity, 0.5])
    }

    func testTanh() {
        // ≤ 4 ulp on both branches (see VectorMathTests), ±1 exactly far out.
        checkUlps("tanh", Self.dense(-12, 12), { $0.tanh() }, { Glibc.tanh($0) }, budget: { _ in 4 })
    }

    func testSigmoid() {
        // ≤ 4 ulp where e^{−x} is finite; below −88.72 e^{−x} overflows and the result is 0, an
        // absolute error under FLT_MIN (the true value is subnormal there).
        checkUlps("sigmoid", Self.dense(-87, 30), { $0.sigmoid() }, { 1 / (1 + Glibc.exp(-$0)) },
                  budget: { x in x < -88.72 ? .infinity : 4 })
        let far = Tensor([-89, -1e4, -.infinity]).sigmoid().scalars
        XCTAssertEqual(far, [0, 0, 0])
    }

    /// GELU's budget (erf form): a few ulps for erfcf and the products, plus the amplification
    /// of the rounding of y = −x/√2 (the product and the Float constant: δy ≤ 1 ulp). In the
    /// left tail d ln erfc(y)/dy ≈ −2y, so δy becomes 2y²·δy = x²·δy in the result: x = −10
    /// may lose ≈ 100 ulp, but never all digits.
    static func geluBudget(_ x: Double) -> Double { 4 + 2 * x * x }

    func testGeluErf() {
        // x·Φ(x) with Φ(x) = erfc(−x/√2)/2, the form without cancellation in the left tail.
        let truth: (Double) -> Double = { x in x * 0.5 * Glibc.erfc(-x / 2.0.squareRoot()) }
        let xs = Self.dense(-12, 12).filter { $0 > -13 && Swift.abs(truth(Double($0))) >= Double(Float.leastNormalMagnitude) || $0 == 0 }
        checkUlps("gelu", xs, { $0.gelu() }, truth, budget: Self.geluBudget)
        // Hand-computed: GELU(1) = Φ(1) = 0.8413447, GELU(−1) = −(1 − Φ(1)) = −0.1586553.
        assertClose(Tensor([0, 1, -1, 2]).gelu(), [0, 0.84134475, -0.15865525, 1.9544997], rtol: 1e-6, atol: 0)
    }

    func testGeluTanh() {
        // x/2·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³); (1 + tanh u)/2 = σ(2u).
        let truth: (Double) -> Double = { x in
            let u = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
            return x / (1 + Glibc.exp(-2 * u))
        }
        let xs = Self.dense(-9, 12).filter { Swift.abs(truth(Double($0))) >= Double(Float.leastNormalMagnitude) || $0 == 0 }
        checkUlps("gelu tanh", xs, { $0.gelu(approximate: .tanh) }, truth, budget: { x in
            // u carries up to seven half-ulp roundings (two Float constants, three products in
            // the cubic, the sum — same signs, no cancellation — and the outer product), so
            // δu ≤ 3.5 ulp; σ(2u)'s left tail amplifies a relative δu by |2u|: 7|u| ulp.
            let u = 0.7978845608 * (x + 0.044715 * x * x * x)
            return 4 + 7 * Swift.abs(u)
        })
        assertClose(Tensor([0, 1, -1]).gelu(approximate: .tanh), [0, 0.8411920, -0.1588080], rtol: 1e-6, atol: 0)
    }

    func testExactOps() {
        // relu, abs, negation and square are exact (square: one correctly rounded product).
        let xs = Self.probes
        let relu = Tensor(xs).relu().scalars, abs = Tensor(xs).abs().scalars
        let neg = Tensor(xs).negated().scalars, minus = (-Tensor(xs)).scalars
        let sq = Tensor(xs).square().scalars
        for (i, x) in xs.enumerated() {
            XCTAssertEqual(relu[i], x > 0 ? x : 0, "relu(\(x))")
            XCTAssertEqual(abs[i].bitPattern, Swift.abs(x).bitPattern, "abs(\(x))")
            XCTAssertEqual(neg[i].bitPattern, (-x).bitPattern, "negated(\(x))")
            XCTAssertEqual(minus[i].bitPattern, (-x).bitPattern, "-(\(x))")
            XCTAssertEqual(sq[i], Float(Double(x) * Double(x)), "square(\(x))")
        }
    }

    func testNonContiguousInputs() {
        // A transposed, a strided-slice and a broadcast (stride-0) view run the strided path;
        // the result must equal the op on a contiguous copy of the same values.
        let base = rand([37, 41], 5, low: -3, high: 3)
        let views: [(String, Tensor)] = [
            ("transposed", base.T),
            ("sliced", base.slice(axis: 1, 3..<40, step: 3)),
            ("expanded", base.slice(axis: 0, 2..<3).expanded([5, 41])),
        ]
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("exp", { $0.exp() }), ("tanh", { $0.tanh() }), ("sigmoid", { $0.sigmoid() }),
            ("relu", { $0.relu() }), ("abs", { $0.abs() }), ("gelu", { $0.gelu() }),
            ("neg", { $0.negated() }), ("square", { $0.square() }),
        ]
        for (vn, v) in views {
            XCTAssertFalse(v.isContiguous, vn)
            let copy = Tensor(v.scalars, shape: v.shape)
            for (on, op) in ops {
                XCTAssertEqual(op(v).scalars, op(copy).scalars, "\(on) on \(vn) view")
                XCTAssertEqual(op(v).shape, v.shape)
            }
        }
    }

    func testLargeTensorMatchesScalarLoop() {
        // 300k elements: the contiguous path splits over two threads in blocks of 16; every
        // element must come out at its own index. Checked against a plain loop of Glibc calls
        // (within the kernels' ulp budgets), so a shifted or skipped block cannot pass.
        let n = 300_001
        let x = rand([n], 6, low: -20, high: 20)
        let xs = x.scalars
        let e = x.exp().scalars, t = x.tanh().scalars
        var worstExp = 0.0, worstTanh = 0.0
        for i in 0..<n {
            worstExp = Swift.max(worstExp, VectorMathTests.ulpError(e[i], Glibc.exp(Double(xs[i]))))
            worstTanh = Swift.max(worstTanh, VectorMathTests.ulpError(t[i], Glibc.tanh(Double(xs[i]))))
        }
        XCTAssertLessThanOrEqual(worstExp, 2)
        XCTAssertLessThanOrEqual(worstTanh, 4)
    }

    func testRankZeroAndEmpty() {
        let s = Tensor.scalar(0).exp()
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.item, 1)
        XCTAssertEqual(Tensor.scalar(-2).relu().item, 0)
        XCTAssertEqual(Tensor.zeros([0, 3]).tanh().shape, [0, 3])
        XCTAssertEqual(Tensor.zeros([3, 0]).T.gelu().shape, [0, 3])   // empty strided view
        gradCheck("rank-0 sigmoid", [Tensor.scalar(0.3)]) { $0[0].sigmoid() }
    }

    // MARK: gradients

    func testGradients() {
        let x = rand([3, 5], 11, low: -2, high: 2)
        let positive = rand([3, 5], 12, low: 0.5, high: 3)
        // Keep relu/abs inputs at least 0.1 from the kink so x ± h stays on one side.
        let awayFromZero = Tensor(rand([3, 5], 13, low: 0.1, high: 2).scalars.enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element },
                                  shape: [3, 5])
        gradCheck("exp", [x]) { $0[0].exp() }
        gradCheck("log", [positive]) { $0[0].log() }
        gradCheck("sqrt", [positive]) { $0[0].sqrt() }
        gradCheck("rsqrt", [positive]) { $0[0].rsqrt() }
        gradCheck("tanh", [x]) { $0[0].tanh() }
        gradCheck("sigmoid", [x]) { $0[0].sigmoid() }
        gradCheck("relu", [awayFromZero]) { $0[0].relu() }
        gradCheck("abs", [awayFromZero]) { $0[0].abs() }
        gradCheck("gelu", [x]) { $0[0].gelu() }
        gradCheck("gelu tanh", [x]) { $0[0].gelu(approximate: .tanh) }
        gradCheck("negated", [x]) { $0[0].negated() }
        gradCheck("prefix minus", [x]) { -$0[0] }
        gradCheck("square", [x]) { $0[0].square() }
        // Through a non-contiguous view, the gradient lands on the right elements.
        gradCheck("tanh of transpose", [x]) { $0[0].T.tanh() }
    }

    func testGeluDerivativeAgainstClosedForm() {
        // d/dx xΦ(x) = Φ(x) + xφ(x); the tanh form's derivative by differentiating its formula.
        let xs: [Float] = [-6, -3, -1.5, -0.5, 0, 0.3, 1, 2.5, 5]
        let x = Tensor(xs).requiringGrad()
        x.gelu().sum().backward()
        let c = (2 / Double.pi).squareRoot()
        let expectedErf = xs.map { xf -> Float in
            let x = Double(xf)
            return Float(0.5 * Glibc.erfc(-x / 2.0.squareRoot()) + x * Glibc.exp(-x * x / 2) / (2 * Double.pi).squareRoot())
        }
        assertClose(x.grad!, expectedErf, rtol: 1e-5, atol: 1e-6, "gelu'")
        let y = Tensor(xs).requiringGrad()
        y.gelu(approximate: .tanh).sum().backward()
        let expectedTanh = xs.map { xf -> Float in
            let x = Double(xf), u = c * (x + 0.044715 * x * x * x), t = Glibc.tanh(u)
            return Float(0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
        }
        assertClose(y.grad!, expectedTanh, rtol: 1e-5, atol: 1e-6, "gelu tanh'")
    }

    func testGeluErfDerivativeOnADenseGrid() {
        // Φ(x) + xφ(x) on 20k points over [−12, 12], against Double. The two terms have opposite
        // signs for x < 0 (the derivative crosses 0 near x = −0.75), so the error is bounded
        // against |Φ| + |xφ|, not the result: Φ = erfc(−x/√2)/2 carries verfc's 3 ulp plus the
        // rounded argument (relative error amplified by ≈ x² in the left tail); φ = e^{−x²/2}
        // carries vexp's 2 ulp plus the rounded −x²/2 (x²/2 · 2⁻²⁴ relative, twice); each
        // product and the sum add half an ulp. Budget: (8 + 2x²) · 2⁻²⁴ of |Φ| + |xφ|.
        let xs = VectorMathTests.grid(-12, 12, 20_001)
        let x = Tensor(xs).requiringGrad()
        x.gelu().sum().backward()
        let g = x.grad!.scalars
        var worst = (ratio: 0.0, at: Float.nan)
        for (i, xf) in xs.enumerated() {
            let v = Double(xf)
            let cdf = 0.5 * Glibc.erfc(-v / 2.0.squareRoot()), xpdf = v * Glibc.exp(-v * v / 2) / (2 * Double.pi).squareRoot()
            let scale = Swift.max(cdf + Swift.abs(xpdf), Double(Float.leastNormalMagnitude))
            let ratio = Swift.abs(Double(g[i]) - (cdf + xpdf)) / (scale * 0x1p-24 * (8 + 2 * v * v))
            if !(ratio <= worst.ratio) { worst = (ratio, xf) }
        }
        XCTAssertLessThanOrEqual(worst.ratio, 1, "gelu': worst at x = \(worst.at) (\(worst.ratio) of the budget)")
    }

    func testReluAndAbsGradientIsZeroAtZero() {
        // PyTorch's convention: relu'(0) = 0 and abs'(0) = sign(0) = 0, also for −0.
        let x = Tensor([0, -0.0, 2, -2]).requiringGrad()
        x.relu().sum().backward()
        XCTAssertEqual(x.grad!.scalars, [0, 0, 1, 0])
        let y = Tensor([0, -0.0, 2, -2]).requiringGrad()
        y.abs().sum().backward()
        XCTAssertEqual(y.grad!.scalars, [0, 0, 1, -1])
    }

    func testTanhAndSigmoidSaturateWithoutNaN() {
        // sigmoid(−200) is subnormal (1e−87 in Double), so 0 is exact to under FLT_MIN.
        let far: [Float] = [-.infinity, -1e30, -1000, -200, 200, 1000, 1e30, .infinity]
        let x = Tensor(far).requiringGrad()
        let t = x.tanh()
        XCTAssertEqual(t.scalars, [-1, -1, -1, -1, 1, 1, 1, 1])
        t.sum().backward()
        XCTAssertEqual(x.grad!.scalars, [Float](repeating: 0, count: far.count), "tanh' far out")

        let y = Tensor(far).requiringGrad()
        let s = y.sigmoid()
        XCTAssertEqual(s.scalars, [0, 0, 0, 0, 1, 1, 1, 1])
        s.sum().backward()
        XCTAssertEqual(y.grad!.scalars, [Float](repeating: 0, count: far.count), "sigmoid' far out")
    }

    func testUsedTwiceAccumulates() {
        // y = tanh(x) + exp(x): both branches add into x's gradient.
        let xs: [Float] = [-1, 0, 0.5]
        let x = Tensor(xs).requiringGrad()
        (x.tanh() + x.exp()).sum().backward()
        let expected = xs.map { x -> Float in let t = Float(Glibc.tanh(Double(x))); return 1 - t * t + Float(Glibc.exp(Double(x))) }
        assertClose(x.grad!, expected, rtol: 1e-6, atol: 1e-7)
    }
}
