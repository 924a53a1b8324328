import XCTest
@testable import Heed
import HeedTestSupport

/// A programmer error stops the process with the op's name and the shapes (in a forked child,
/// see `assertStops`); CI checks the same of a release build through Examples/ShapeError.
final class CheckTests: XCTestCase {
    func testMatmulNamesTheOpAndShapes() {
        let a = Tensor.zeros([2, 3]), b = Tensor.zeros([4, 5])
        assertStops(containing: "matmul: inner dimensions differ: [2, 3] × [4, 5]") { _ = a.matmul(b) }
    }

    func testBroadcastNamesTheShapes() {
        let a = Tensor.zeros([2, 3]), b = Tensor.zeros([4])
        assertStops(containing: "shapes [2, 3] and [4] do not broadcast") { _ = a + b }
    }

    func testReshapeNamesTheShapes() {
        let a = Tensor.zeros([2, 3])
        assertStops(containing: "reshape") { _ = a.reshaped([4, 2]) }
    }

    func testCheckFailureKeepsItsMessage() {
        assertStops(containing: "an unconditional stop") { checkFailure("an unconditional stop") }
    }

    func testPassingCheckBuildsNoMessage() {
        var calls = 0
        check(1 + 1 == 2, { calls += 1; return "never built" }())
        XCTAssertEqual(calls, 0, "the message of a passing check is never built")
    }
}
