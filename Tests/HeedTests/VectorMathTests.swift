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
}

/// Double power without importing Foundation.
private func Foundation_pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
