import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class SequentialTests: XCTestCase {
    func testChainsLayersWithPyTorchNames() {
        let l1 = Linear(4, 5, seed: 1), l2 = Linear(5, 2, seed: 2)
        let model = Sequential(l1, ReLU(), l2)
        let x = rand([3, 4], 3)
        assertClose(model(x), l2(l1(x).relu()), rtol: 0, atol: 0, "l2(relu(l1(x)))")
        XCTAssertEqual(model.namedParameters().map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias"])
        XCTAssertEqual(model.parameterCount, 4 * 5 + 5 + 5 * 2 + 2)
        XCTAssertEqual(model.children.map(\.name), ["0", "1", "2"])
        parameterGradCheck("Sequential", model) { model(x) }
        gradCheck("Sequential input", [x]) { model($0[0]) }
    }

    func testNestingAndEmpty() {
        let inner = Sequential([Linear(3, 3, seed: 4), Tanh()])
        let outer = Sequential(Flatten(), inner, Dropout(0.5))
        XCTAssertEqual(outer.namedParameters().map(\.name), ["1.0.weight", "1.0.bias"])
        outer.eval()
        XCTAssertFalse(inner.isTraining, "eval() reaches nested children")
        XCTAssertFalse(outer.layers[2].isTraining)
        let x = rand([2, 3], 5)
        XCTAssertTrue(Sequential([])(x) === x, "an empty Sequential is the identity")
    }

    func testFlatten() {
        let x = rand([2, 3, 4, 5], 6)
        XCTAssertEqual(Flatten()(x).shape, [2, 60])
        XCTAssertEqual(Flatten(startAxis: 0)(x).shape, [120])
        XCTAssertEqual(Flatten(startAxis: 1, endAxis: 2)(x).shape, [2, 12, 5])
        XCTAssertEqual(Flatten()(x).scalars, x.scalars, "row-major order kept")
        XCTAssertEqual(Flatten().parameterCount, 0)
        gradCheck("Flatten", [rand([2, 2, 3], 7)]) { Flatten()($0[0]) }
    }
}
