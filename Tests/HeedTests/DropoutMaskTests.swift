import XCTest
@testable import Heed
import HeedTestSupport

final class DropoutMaskTests: XCTestCase {
    /// Values are exactly 0 or 1/(1 − p); the kept fraction is 1 − p within 5 standard errors;
    /// the same seed gives the same mask, another seed a different one; lengths that are not a
    /// multiple of 16 (the SIMD width) and the two-thread split are covered.
    func testMaskValuesRateAndDeterminism() {
        for (p, n) in [(Float(0.1), 100_003), (0.5, 33), (0.25, 1 << 18)] {
            let m = Tensor.dropoutMask([n], p: p, seed: 7).scalars
            let scale = 1 / (1 - p)
            XCTAssertTrue(m.allSatisfy { $0 == 0 || $0 == scale }, "p = \(p): values other than 0 and \(scale)")
            let kept = Double(m.filter { $0 != 0 }.count) / Double(n)
            let se = (Double(p * (1 - p)) / Double(n)).squareRoot()
            XCTAssertEqual(kept, Double(1 - p), accuracy: max(5 * se, 1.5 / Double(n).squareRoot()), "p = \(p), n = \(n)")
            XCTAssertEqual(Tensor.dropoutMask([n], p: p, seed: 7).scalars, m, "same seed, same mask")
            XCTAssertNotEqual(Tensor.dropoutMask([n], p: p, seed: 8).scalars, m, "another seed, another mask")
        }
        XCTAssertEqual(Tensor.dropoutMask([2, 3], p: 0, seed: 1).scalars, [1, 1, 1, 1, 1, 1])
    }
}
