import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// Expected values are hand-computed or printed by Tests/Fixtures/loss_fixtures.py (float64).
final class LossTests: XCTestCase {
    let logits = Tensor([1, 2, 3, -1, 0.5, -0.5, 2.5, 0, -2, 1, 0, 4], shape: [3, 4])
    let targets = [3, 0, 2]

    func testCrossEntropyHandComputed() {
        // −log(e³ / (e + e² + e³))
        let loss = crossEntropy(logits: Tensor([1, 2, 3], shape: [1, 3]), targets: [2])
        XCTAssertEqual(loss.shape, [])
        assertClose(loss, [0.40760596], "CE [[1,2,3]], target 2")
    }

    func testCrossEntropyReductions() {
        assertClose(crossEntropy(logits: logits, targets: targets, reduction: .none),
                    [4.41971665, 2.23681554, 4.06820192], "none")
        assertClose(crossEntropy(logits: logits, targets: targets), [3.57491137], "mean")
        assertClose(crossEntropy(logits: logits, targets: targets, reduction: .sum), [10.7247341], "sum")
    }

    func testCrossEntropyLabelSmoothing() {
        assertClose(crossEntropy(logits: logits, targets: targets, labelSmoothing: 0.1, reduction: .none),
                    [4.19471665, 2.22431554, 3.99320192], "ε = 0.1, none")
        assertClose(crossEntropy(logits: logits, targets: targets, labelSmoothing: 0.1), [3.4707447], "ε = 0.1, mean")
    }

    func testCrossEntropyIgnoreIndexCountsOnlyKeptRows() {
        let ignored = [3, -100, 2]
        assertClose(crossEntropy(logits: logits, targets: ignored, ignoreIndex: -100), [4.24395928], "ignore, mean")
        assertClose(crossEntropy(logits: logits, targets: ignored, labelSmoothing: 0.2, ignoreIndex: -100),
                    [3.94395928], "ε = 0.2 + ignore, mean")
        assertClose(crossEntropy(logits: logits, targets: ignored, labelSmoothing: 0.2, ignoreIndex: -100, reduction: .none),
                    [3.96971665, 0, 3.91820192], "ε = 0.2 + ignore, none")
        // An ignore index that is also a valid class: row 1 (target 0) drops out.
        assertClose(crossEntropy(logits: logits, targets: targets, ignoreIndex: 0), [4.24395928], "ignoreIndex 0")
    }

    func testCrossEntropyGradientMatchesFixtureAndFiniteDifferences() {
        let x = Tensor(logits.scalars, shape: [3, 4]).requiringGrad()
        crossEntropy(logits: x, targets: [3, -100, 2], labelSmoothing: 0.2, ignoreIndex: -100).backward()
        assertClose(x.grad!, [0.0194734086, 0.0958912586, 0.303616511, -0.418981179, 0, 0, 0, 0,
                              -0.0238423337, -0.00174765057, -0.416445939, 0.442035923], "d loss / d logits")
        for reduction in [LossReduction.none, .sum, .mean] {
            gradCheck("crossEntropy \(reduction)", [rand([2, 3, 5], 11, low: -3, high: 3)]) {
                crossEntropy(logits: $0[0], targets: [4, 0, -1, 2, 2, 1], labelSmoothing: 0.1,
                             ignoreIndex: -1, reduction: reduction)
            }
        }
    }

    func testCrossEntropyLeadingAxesAndNoneShape() {
        let x = logits.reshaped([3, 1, 4])
        let perRow = crossEntropy(logits: x, targets: targets, reduction: .none)
        XCTAssertEqual(perRow.shape, [3, 1])
        assertClose(perRow, [4.41971665, 2.23681554, 4.06820192], "[3, 1, 4] logits")
    }

    func testCrossEntropyIsStableForHugeLogits() {
        // Shifting every logit by 1e4 must not change the loss (no overflow in exp).
        let loss = crossEntropy(logits: logits + 10_000, targets: targets)
        XCTAssertTrue(loss.item.isFinite)
        assertClose(loss, [3.57491137], rtol: 1e-3, "logits + 1e4")
    }

    func testCrossEntropyWithMaskedClassesMatchesPyTorch() {
        // A −∞ logit off the target is never read without smoothing: same loss as without that class.
        let x = Tensor([1, 2, 3, -.infinity, 0, -.infinity, 0, 0], shape: [2, 4]).requiringGrad()
        let loss = crossEntropy(logits: x, targets: [2, -1], ignoreIndex: -1)
        assertClose(loss, [0.40760596], "masked class, ignored row with −∞")
        loss.backward()
        XCTAssertTrue(x.grad!.scalars.allSatisfy(\.isFinite), "gradient \(x.grad!)")
        XCTAssertEqual(x.grad!.scalars[3], 0)
        // With smoothing the mean over classes reads log p = −∞: an infinite loss, as in PyTorch.
        XCTAssertEqual(crossEntropy(logits: x, targets: [2, -1], labelSmoothing: 0.1, ignoreIndex: -1).item, .infinity)
    }

    func testCrossEntropyMeanOverNoRowsIsNaNWithZeroGradient() {
        let x = Tensor(logits.scalars, shape: [3, 4]).requiringGrad()
        let loss = crossEntropy(logits: x, targets: [-1, -1, -1], ignoreIndex: -1)
        XCTAssertTrue(loss.item.isNaN, "PyTorch gives NaN for a mean over no targets")
        loss.backward()
        XCTAssertEqual(x.grad!.scalars, [Float](repeating: 0, count: 12))
    }

    func testMSE() {
        let a = Tensor([1, 2, 3, 4], shape: [2, 2]), b = Tensor([0, 2, 5, 3.5], shape: [2, 2])
        assertClose(mseLoss(a, b, reduction: .none), [1, 0, 4, 0.25], "none")
        assertClose(mseLoss(a, b, reduction: .sum), [5.25], "sum")
        assertClose(mseLoss(a, b), [1.3125], "mean")
        gradCheck("mseLoss", [rand([3, 2], 3), rand([3, 2], 4)]) { mseLoss($0[0], $0[1]) }
    }

    func testKLDivergenceWithTemperature() {
        let teacher = Tensor([0.5, -0.5, 2.5, 0, -2, 1, 0, 4, 1, 2, 3, -1], shape: [3, 4])
        assertClose(klDivergence(studentLogits: logits, teacherLogits: teacher), [1.89873548], "T = 1")
        assertClose(klDivergence(studentLogits: logits, teacherLogits: teacher, temperature: 2), [2.76831801], "T = 2")
        // Hand-computed: one row, two classes, student uniform, teacher p = softmax(2, −2) = (σ(4), σ(−4)).
        let p = 1 / (1 + exp(-4.0))
        let handKL = Float(p * log(p / 0.5) + (1 - p) * log((1 - p) / 0.5))
        assertClose(klDivergence(studentLogits: Tensor([0, 0], shape: [1, 2]), teacherLogits: Tensor([2, -2], shape: [1, 2])),
                    [handKL], "uniform student")
        XCTAssertEqual(klDivergence(studentLogits: logits, teacherLogits: logits, temperature: 3).item, 0, accuracy: 1e-6)
        gradCheck("klDivergence", [rand([2, 5], 5, low: -2, high: 2), rand([2, 5], 6, low: -2, high: 2)]) {
            klDivergence(studentLogits: $0[0], teacherLogits: $0[1], temperature: 2)
        }
    }

    func testAccuracy() {
        // Arg-maxes of the rows: 2, 2, 3.
        XCTAssertEqual(accuracy(logits: logits, targets: [2, 0, 3]), 2 / 3)
        XCTAssertEqual(accuracy(logits: logits, targets: [2, 2, 3]), 1)
        XCTAssertEqual(accuracy(logits: Tensor([1, 1], shape: [1, 2]), targets: [0]), 1, "ties go to the first")
    }
}
