import XCTest
@testable import Heed
import HeedTestSupport

final class SmokeTests: XCTestCase {
    func testAddBackward() {
        gradCheck("add", [rand([2, 3], 1), rand([3], 2)]) { $0[0] + $0[1] }
    }
}
