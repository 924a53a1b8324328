import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class DropoutTests: XCTestCase {
    /// n = 100,000 ones through Dropout(0.3). The dropped fraction is a binomial proportion with
    /// standard error √(p(1−p)/n) = 0.00145; the output mean (survivors are 1/(1−p)) has standard
    /// error √(p/(1−p)/n) = 0.00207. Both are checked to 5 standard errors.
    func testStatisticsOfTheMask() {
        let p: Float = 0.3, n = 100_000
        let drop = Dropout(p, seed: 1)
        let y = drop(Tensor.ones([100, 1000]))
        let v = y.scalars
        let scale = 1 / (1 - p)
        XCTAssertTrue(v.allSatisfy { $0 == 0 || $0 == scale }, "survivors are scaled by exactly 1/(1 − p)")
        let dropped = Double(v.filter { $0 == 0 }.count) / Double(n)
        XCTAssertEqual(dropped, 0.3, accuracy: 5 * (0.3 * 0.7 / Double(n)).squareRoot())
        let mean = v.reduce(0.0) { $0 + Double($1) } / Double(n)
        XCTAssertEqual(mean, 1, accuracy: 5 * (0.3 / 0.7 / Double(n)).squareRoot())
        // No structure along either axis: the first and last columns' and rows' drop rates are
        // each within 5 standard errors of p too (n = 100 and 1000 draws).
        for (name, cells) in [("column 0", stride(from: 0, to: n, by: 1000).map { v[$0] }),
                              ("row 99", Array(v[99_000..<100_000]))] {
            let rate = Double(cells.filter { $0 == 0 }.count) / Double(cells.count)
            XCTAssertEqual(rate, 0.3, accuracy: 5 * (0.21 / Double(cells.count)).squareRoot(), name)
        }
    }

    func testEvaluationModeIsIdentityAndTrainingIsNot() {
        let drop = Dropout(0.5, seed: 2)
        let x = rand([4, 8], 3)
        let trained = drop(x)
        XCTAssertNotEqual(trained.scalars, x.scalars)
        drop.eval()
        XCTAssertFalse(drop.isTraining)
        XCTAssertTrue(drop(x) === x, "eval: the input itself, no copy")
        drop.train()
        XCTAssertNotEqual(drop(x).scalars, x.scalars)
        XCTAssertTrue(Dropout(0).callAsFunction(x) === x, "p = 0 is the identity even in training")
        XCTAssertEqual(Dropout(1)(x).scalars, [Float](repeating: 0, count: 32), "p = 1 drops everything")
        // A parent's eval() reaches it.
        let model = Sequential(Linear(8, 8, seed: 4), Dropout(0.5, seed: 5))
        model.eval()
        XCTAssertEqual(model(x).scalars, (model.layers[0] as! Linear)(x).scalars)
    }

    /// The backward multiplies by the same mask: with x = 1, y is the mask itself.
    func testGradientUsesTheForwardMask() {
        let drop = Dropout(0.4, seed: 6)
        let x = Tensor.ones([3, 50]).requiringGrad()
        let g = rand([3, 50], 7)
        let y = drop(x)
        y.backward(g)
        assertClose(x.grad!, g * y.detach(), rtol: 0, atol: 0, "dx = g ⊙ m/(1 − p)")
    }

    func testSeeding() {
        let a = Dropout(0.5, seed: 9), b = Dropout(0.5, seed: 9)
        let x = Tensor.ones([64])
        let a1 = a(x).scalars, a2 = a(x).scalars
        XCTAssertEqual(a1, b(x).scalars, "same seed, same first mask")
        XCTAssertEqual(a2, b(x).scalars, "and the same second mask")
        XCTAssertNotEqual(a1, a2, "successive calls draw new masks")
        // Without a seed: the global generator, repeatable through manualSeed.
        let c = Dropout(0.5)
        HeedRandom.manualSeed(42)
        let c1 = c(x).scalars
        HeedRandom.manualSeed(42)
        XCTAssertEqual(c(x).scalars, c1)
    }
}
