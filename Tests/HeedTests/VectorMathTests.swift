import XCTest
@testable import Heed
import HeedTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The SIMD transcendental kernels (VectorMath.swift) against Glibc's Double functions.
/// Errors are measured in ulps of the *true* value: the Float spacing 2^(e−23) at the binade of
/// the Double result, not the spacing at the (possibly rounded-up) Float result.
final class VectorMathTests: XCTestCase {
    /// |approx − truth| in units of the Float spacing at `truth` (2⁻¹⁴⁹ in the subnormal range).
    static func ulpError(_ approx: Float, _ truth: Double) -> Double {
        if truth == 0 { return approx == 0 ? 0 : .infinity }
        let spacing = Double(sign: .plus, exponent: Swift.max(truth.exponent, -126) - 23, significand: 1)
        return Swift.abs(Double(approx) - truth) / spacing
    }

    /// Runs `f` 16 lanes at a time over `xs`; reports the largest ulp error and where it was.
    static func worstUlp(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>,
                         _ truth: (Double) -> Double) -> (ulps: Double, at: Float) {
        var worst = (ulps: 0.0, at: Float.nan)
        var i = 0
        while i < xs.count {
            var v = SIMD16<Float>(repeating: xs[i])
            let n = Swift.min(16, xs.count - i)
            for l in 0..<n { v[l] = xs[i + l] }
            let y = f(v)
            for l in 0..<n {
                let e = ulpError(y[l], truth(Double(xs[i + l])))
                if !(e <= worst.ulps) { worst = (e, xs[i + l]) }   // a NaN error is always worst
            }
            i += 16
        }
        return worst
    }

    /// `count` evenly spaced points over [lo, hi] (both ends included).
    static func grid(_ lo: Double, _ hi: Double, _ count: Int) -> [Float] {
        (0..<count).map { Float(lo + (hi - lo) * Double($0) / Double(count - 1)) }
    }

    // MARK: exp

    func testExpWithinTwoUlpOverTheNormalRange() {
        // 1e6 points over [-87, 88], plus the last floats before the cut-offs, where n reaches
        // −126 and 128 and the 2ⁿ scaling is split in two factors.
        var xs = Self.grid(-87, 88, 1_000_000)
        xs += Self.grid(-87.336, -87, 4096) + Self.grid(88, 88.7228, 4096)
        xs += [0, -0.0, 1, -1, 0x1p-30, -0x1p-30, .leastNormalMagnitude, Float(M_LN2), -Float(M_LN2)]
        let (ulps, at) = Self.worstUlp(xs, { vexp($0) }, { Glibc.exp($0) })
        XCTAssertLessThanOrEqual(ulps, 2, "vexp: worst error \(ulps) ulp at x = \(at)")
    }

    func testExpLimitsAndNaN() {
        // Below ln(FLT_MIN) = −87.33654… the result flushes to exactly 0 (no subnormals); above
        // ln(FLT_MAX) = 88.72283… it is +inf; NaN stays NaN. Mixed lanes check lane independence.
        let below: [Float] = [-87.34, -87.3366, -88, -100, -1e4, -1e30, -.infinity]
        let above: [Float] = [88.73, 88.7229, 89, 100, 1e4, 1e30, .infinity]
        for x in below { XCTAssertEqual(fastExp(x), 0, "exp(\(x))"); XCTAssertEqual(fastExp(x).sign, .plus) }
        for x in above { XCTAssertEqual(fastExp(x), .infinity, "exp(\(x))") }
        XCTAssertTrue(fastExp(.nan).isNaN)
        // The largest finite input and the smallest accepted input still give finite, normal results.
        XCTAssertEqual(fastExp(88.72283).isFinite, true)
        XCTAssertTrue(fastExp(-87.3365).isNormal, "exp(-87.3365) = \(fastExp(-87.3365))")

        var v = SIMD16<Float>(repeating: 1)
        v[0] = .nan; v[1] = -1000; v[2] = 1000; v[3] = 0; v[15] = .nan
        let y = vexp(v)
        XCTAssertTrue(y[0].isNaN); XCTAssertEqual(y[1], 0); XCTAssertEqual(y[2], .infinity)
        XCTAssertEqual(y[3], 1); XCTAssertTrue(y[15].isNaN)
        for l in 4..<15 { XCTAssertEqual(Double(y[l]), M_E, accuracy: 2 * Double(Float(M_E).ulp)) }
    }

    func testFastExpMatchesTheVectorLanes() {
        // fastExp is documented as bit-identical to the vector code, whatever the lane.
        let xs = Self.grid(-20, 20, 1601)
        for chunk in stride(from: 0, to: xs.count - 16, by: 16) {
            var v = SIMD16<Float>()
            for l in 0..<16 { v[l] = xs[chunk + l] }
            let y = vexp(v)
            for l in 0..<16 { XCTAssertEqual(y[l].bitPattern, fastExp(xs[chunk + l]).bitPattern) }
        }
    }

    // MARK: tanh

    func testTanhRelativeErrorNearZero() {
        // The polynomial branch (|x| < 0.625) must not cancel: relative error stays at a few ulp
        // from 1e-6 up to 0.6, on both signs. Log-spaced to weight every binade equally.
        var xs: [Float] = []
        for k in 0..<200_000 {
            let x = Float(1e-6 * Foundation_pow(0.6 / 1e-6, Double(k) / 199_999))
            xs += [x, -x]
        }
        xs += [0x1p-126, 0x1p-149, 1e-30, -1e-30]   // tiny values: tanh(x) = x exactly
        let (ulps, at) = Self.worstUlp(xs, { vtanh($0) }, { Glibc.tanh($0) })
        XCTAssertLessThanOrEqual(ulps, 3, "vtanh: worst error \(ulps) ulp at x = \(at)")
        XCTAssertEqual(fastTanh(0), 0)
        XCTAssertEqual(fastTanh(1e-30), 1e-30)
    }

    func testTanhEverywhere() {
        // The 1 − 2/(e^{2|x|}+1) branch: e carries ≤ 2 ulp, the division and subtraction one
        // rounding each, and since 2/(e+1) < 0.45 its error shrinks against the result: ≤ 4 ulp.
        let xs = Self.grid(-12, 12, 1_000_001) + [Float(0.625), -0.625, Float(0.625).nextDown, Float(-0.625).nextUp]
        let (ulps, at) = Self.worstUlp(xs, { vtanh($0) }, { Glibc.tanh($0) })
        XCTAssertLessThanOrEqual(ulps, 4, "vtanh: worst error \(ulps) ulp at x = \(at)")
        // From x ≈ 9.01 on, tanh rounds to ±1 (2e^{−2x} < half an ulp below 1); vtanh must give
        // exactly ±1 there, also once e^{2|x|} overflows to inf (2/inf = 0), never NaN.
        for x: Float in [10, 20, 44, 45, 100, 1e30, .infinity] {
            XCTAssertEqual(fastTanh(x), 1, "tanh(\(x))")
            XCTAssertEqual(fastTanh(-x), -1, "tanh(\(-x))")
        }
        XCTAssertTrue(fastTanh(.nan).isNaN)
    }

    // MARK: sigmoid

    func testSigmoidAccuracyAndLimits() {
        // 1/(1 + e^{−x}): e^{−x} ≤ 2 ulp, then one addition and one division: ≤ 4 ulp relative,
        // in both tails (for x ≪ 0 the result is ≈ e^x and must keep its relative accuracy).
        let xs = Self.grid(-87, 30, 1_000_000)
        let (ulps, at) = Self.worstUlp(xs, { vsigmoid($0) }, { 1 / (1 + Glibc.exp(-$0)) })
        XCTAssertLessThanOrEqual(ulps, 4, "vsigmoid: worst error \(ulps) ulp at x = \(at)")

        var v = SIMD16<Float>(repeating: 0)
        let probes: [Float] = [0, 17, 20, 100, 1e30, .infinity, -89, -100, -1e30, -.infinity, .nan]
        for (l, x) in probes.enumerated() { v[l] = x }
        let y = vsigmoid(v)
        XCTAssertEqual(y[0], 0.5)
        for l in 1...5 { XCTAssertEqual(y[l], 1, "sigmoid(\(probes[l]))") }   // 1 + e^{-17} rounds to 1
        for l in 6...9 { XCTAssertEqual(y[l], 0, "sigmoid(\(probes[l]))") }   // e^{89} = inf: 1/inf = 0
        XCTAssertTrue(y[10].isNaN)
    }

    // MARK: erfc

    /// Where erfc(x) drops below FLT_MIN (erfc(9.194) ≈ 1.18e−38): past it the result is subnormal.
    static let erfcNormalLimit: Float = 9.19

    func testErfcWithinThreeUlpWhereNormal() {
        // 10⁶ grid points and 10⁶ random ones over [−10, 9.19], plus both sides of every branch
        // point (0.25, 0.5, 0.84375 and their negatives) and tiny arguments. Measured worst:
        // 2.58 ulp at x = 0.815 (the polynomial's sums at the top of |x| < 0.84375, where
        // erf(x)/x − 1 = −0.09 is a difference of terms near ±0.2); the exponential branch
        // reaches 2.6 near x = 1.1 (rounding of R, of the exponent's small part and of the
        // division; tools/fit-erfc.py emulates both). The budget of 3 leaves that margin only.
        var xs = Self.grid(-10, Double(Self.erfcNormalLimit), 1_000_001)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<1_000_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            xs.append(-10 + Float(state >> 40) / Float(1 << 24) * (10 + Self.erfcNormalLimit))
        }
        for b: Float in [0.25, 0.5, 0.84375, 9.0, 1, 2, 4] {
            for v in [b, b.nextUp, b.nextDown] { xs += [v, -v] }
        }
        xs += [0, -0.0, 1e-30, -1e-30, 0x1p-126, 0x1p-149, 1e-7, -1e-7, 0.001, -0.001]
        let (ulps, at) = Self.worstUlp(xs, { verfc($0) }, { Glibc.erfc($0) })
        XCTAssertLessThanOrEqual(ulps, 3, "verfc: worst error \(ulps) ulp at x = \(at)")
    }

    func testErfcSubnormalTailAndSpecialValues() {
        // Between 9.19 and 9.3 the result is subnormal and comes from a division: at most the
        // normal range's 3 ulp at FLT_MIN's binade (the subnormal spacing 2⁻¹⁴⁹ is that ulp),
        // less further out as the spacing grows against the result. From 9.3 on it is flushed to +0, the true value being
        // below 2.1e−39 (so the absolute error stays under FLT_MIN / 5).
        let (ulps, at) = Self.worstUlp(Self.grid(Double(Self.erfcNormalLimit), 9.3, 10_001), { verfc($0) }, { Glibc.erfc($0) })
        XCTAssertLessThanOrEqual(ulps, 3, "verfc subnormal tail: \(ulps) subnormal spacings at x = \(at)")
        for x: Float in [9.31, 9.5, 10, 10.06, 30, 1e10, 3e38, .infinity] {
            XCTAssertEqual(fastErfc(x), 0, "erfc(\(x))")
            XCTAssertEqual(fastErfc(x).sign, .plus, "erfc(\(x))")
            XCTAssertLessThan(Glibc.erfc(Double(x)), 2.1e-39)
        }
        // erfc(x) = 2 − erfc(−x) rounds to exactly 2 once erfc(−x) < 2⁻²⁴ (x < −3.9).
        for x: Float in [-3.95, -4, -5, -9.5, -10.06, -30, -1e10, -3e38, -.infinity] {
            XCTAssertEqual(fastErfc(x), 2, "erfc(\(x))")
        }
        // erfc(±0) = 1 and erfc(x) = 1 for |x| < 2⁻²⁵ (2x/√π is under half an ulp of 1).
        for x: Float in [0, -0.0, 1e-30, -1e-30, 0x1p-149, 1e-8, -1e-8] { XCTAssertEqual(fastErfc(x), 1, "erfc(\(x))") }
        XCTAssertTrue(fastErfc(.nan).isNaN)
        XCTAssertTrue(fastErfc(-.nan).isNaN)

        // Lanes are independent: every branch in one vector.
        let probes: [Float] = [.nan, -.infinity, .infinity, 0, 0.3, 0.6, 0.9, 3, 9.25, 20, -0.3, -0.6, -0.9, -3, -20, 1]
        var v = SIMD16<Float>()
        for (l, x) in probes.enumerated() { v[l] = x }
        let y = verfc(v)
        XCTAssertTrue(y[0].isNaN)
        for l in 1..<16 {
            XCTAssertLessThanOrEqual(Self.ulpError(y[l], Glibc.erfc(Double(probes[l]))), 3, "lane \(l): erfc(\(probes[l])) = \(y[l])")
            XCTAssertEqual(y[l].bitPattern, fastErfc(probes[l]).bitPattern, "lane \(l)")
        }
    }
}

/// Double power without importing Foundation.
private func Foundation_pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
