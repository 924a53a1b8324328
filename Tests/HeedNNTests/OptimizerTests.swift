import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// Expected parameters after each of three steps from `p0` with gradients `G`, printed in
/// float64 by Tests/Fixtures/optimizer_fixtures.py from PyTorch's algorithms.
private enum Fixture {
    static let p0: [Float] = [0.5, -1.0, 2.0, 0.25]
    static let G: [[Float]] = [[0.1, -0.2, 0.3, 0.0], [-0.4, 0.5, 0.05, 1.0], [0.2, 0.2, -0.6, -0.3]]

    static let sgdPlain: [[Float]] = [
        [0.49, -0.98, 1.97, 0.25],
        [0.53, -1.03, 1.965, 0.15],
        [0.51, -1.05, 2.025, 0.18]]
    static let sgdMomentum: [[Float]] = [
        [0.49, -0.98, 1.97, 0.25],
        [0.521, -1.012, 1.938, 0.15],
        [0.5289, -1.0608, 1.9692, 0.09]]
    static let sgdDampenedDecay: [[Float]] = [
        [0.4895, -0.979, 1.968, 0.24975],
        [0.49980525, -0.9846105, 1.935716, 0.199400125],
        [0.498830072, -0.999167645, 1.93569254, 0.168985537]]
    static let sgdNesterovDecay: [[Float]] = [
        [0.4715, -0.943, 1.905, 0.24525],
        [0.5263915, -0.995783, 1.818805, 0.04856525],
        [0.496035911, -1.02585482, 1.84231721, 0.0198334852]]
    static let adam: [[Float]] = [
        [0.490000001, -0.990000001, 1.99, 0.25],
        [0.495595036, -0.994422153, 1.98216673, 0.242558632],
        [0.496696772, -0.999851583, 1.98513024, 0.238885712]]
    static let adamL2: [[Float]] = [
        [0.490066225, -0.990033223, 1.99001996, 0.240384615],
        [0.49479514, -0.99255012, 1.98090051, 0.232407819],
        [0.493792952, -0.995733997, 1.97969249, 0.228678943]]
    static let adamW: [[Float]] = [
        [0.489500001, -0.989, 1.988, 0.24975],
        [0.494605536, -0.992433153, 1.97817873, 0.242058882],
        [0.495212667, -0.99687015, 1.97916406, 0.238143903]]
}

final class OptimizerTests: XCTestCase {
    /// Three steps with the fixture's gradients, each compared with the expected parameters.
    /// The 4 fixture elements are tiled to 37 so the update loops run whole SIMD16 vectors and a
    /// partial tail.
    private func checkSteps(_ name: String, _ expected: [[Float]], file: StaticString = #filePath, line: UInt = #line,
                            _ make: ([Tensor]) -> Optimizer) {
        func tiled(_ v: [Float]) -> [Float] { (0..<37).map { v[$0 % 4] } }
        let p = Tensor(tiled(Fixture.p0)).requiringGrad()
        let opt = make([p])
        for (k, g) in Fixture.G.enumerated() {
            p.grad = Tensor(tiled(g))
            opt.step()
            assertClose(p, tiled(expected[k]), rtol: 1e-5, atol: 1e-6, "\(name) after step \(k + 1)", file: file, line: line)
        }
        XCTAssertEqual(opt.stepCount, 3, file: file, line: line)
    }

    func testSGDPlainIsHandComputed() {
        let p = Tensor([1, -2]).requiringGrad()
        let opt = SGD([p], learningRate: 0.5)
        p.grad = Tensor([0.2, 4])
        opt.step()
        XCTAssertEqual(p.scalars, [1 - 0.5 * 0.2, -2 - 0.5 * 4])
    }

    func testSGDVariants() {
        checkSteps("SGD", Fixture.sgdPlain) { SGD($0, learningRate: 0.1) }
        checkSteps("SGD momentum", Fixture.sgdMomentum) { SGD($0, learningRate: 0.1, momentum: 0.9) }
        checkSteps("SGD dampening + decay", Fixture.sgdDampenedDecay) {
            SGD($0, learningRate: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.01)
        }
        checkSteps("SGD Nesterov + decay", Fixture.sgdNesterovDecay) {
            SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.1, nesterov: true)
        }
    }

    func testAdamAndAdamW() {
        checkSteps("Adam", Fixture.adam) { Adam($0, learningRate: 0.01) }
        checkSteps("Adam L2", Fixture.adamL2) {
            Adam($0, learningRate: 0.01, betas: (0.8, 0.99), eps: 1e-3, weightDecay: 0.1)
        }
        checkSteps("AdamW", Fixture.adamW) { AdamW($0, learningRate: 0.01, weightDecay: 0.1) }
    }

    func testParametersWithoutGradientAreSkippedAndKeepTheirOwnStep() {
        let a = Tensor([1, 2]).requiringGrad(), b = Tensor([3, 4]).requiringGrad()
        let opt = Adam([a, b], learningRate: 0.1)
        a.grad = Tensor([1, 1])
        opt.step()
        XCTAssertEqual(b.scalars, [3, 4], "b had no gradient")
        XCTAssertEqual(opt.stateTensors().map(\.0), ["step", "0.step", "0.exp_avg", "0.exp_avg_sq"])
        // b's first update uses bias correction at t = 1 (its own step), as PyTorch's per-parameter
        // state does: the same as a fresh optimizer's first step.
        b.grad = Tensor([0.5, -2])
        opt.step()
        let fresh = Tensor([3, 4]).requiringGrad()
        fresh.grad = Tensor([0.5, -2])
        Adam([fresh], learningRate: 0.1).step()
        XCTAssertEqual(b.scalars, fresh.scalars)
        opt.zeroGrad()
        XCTAssertNil(a.grad)
        XCTAssertNil(b.grad)
    }

    /// Save after two steps, restore into a fresh optimizer over copies of the parameters, and the
    /// third step must be bit-identical.
    func testStateRoundTripContinuesBitIdentically() throws {
        let makers: [(String, ([(name: String, tensor: Tensor)]) -> Optimizer)] = [
            ("SGD", { SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) }),
            ("Adam", { Adam($0, learningRate: 0.01, weightDecay: 0.1) }),
            ("AdamW", { AdamW($0, learningRate: 0.01) }),
        ]
        for (name, make) in makers {
            let layer = Linear(3, 2, seed: 5)
            let opt = make(layer.namedParameters())
            for k in 0..<2 {
                layer.weight.grad = rand([2, 3], UInt64(10 + k)); layer.bias!.grad = rand([2], UInt64(20 + k))
                opt.step()
            }
            let saved = Dictionary(uniqueKeysWithValues: opt.stateTensors())
            let copy = Linear(weight: Tensor(layer.weight.scalars, shape: [2, 3]).requiringGrad(),
                              bias: Tensor(layer.bias!.scalars).requiringGrad())
            let resumed = make(copy.namedParameters())
            try resumed.loadState(saved)
            XCTAssertEqual(resumed.stepCount, 2, name)
            for l in [layer, copy] { l.weight.grad = rand([2, 3], 30); l.bias!.grad = rand([2], 31) }
            opt.step()
            resumed.step()
            XCTAssertEqual(copy.weight.scalars, layer.weight.scalars, "\(name): weight after resuming")
            XCTAssertEqual(copy.bias!.scalars, layer.bias!.scalars, "\(name): bias after resuming")
        }
    }

    func testLoadStateRejectsMismatchedState() {
        let p = Tensor([1, 2, 3]).requiringGrad()
        let opt = Adam([("w", p)])
        p.grad = Tensor([1, 1, 1])
        opt.step()
        let good = Dictionary(uniqueKeysWithValues: opt.stateTensors())
        func expect(_ state: [String: Tensor], _ error: OptimizerStateError, line: UInt = #line) {
            XCTAssertThrowsError(try Adam([("w", Tensor([0, 0, 0]))]).loadState(state), line: line) {
                XCTAssertEqual($0 as? OptimizerStateError, error, line: line)
            }
        }
        var s = good; s["w.exp_avg"] = Tensor([0, 0])
        expect(s, .shapeMismatch(key: "w.exp_avg", expected: [3], found: [2]))
        s = good; s["w.exp_avg_sq"] = nil
        expect(s, .missingKey("w.exp_avg_sq"))
        s = good; s["v.exp_avg"] = Tensor([0])
        expect(s, .unexpectedKey("v.exp_avg"))
        s = good; s["step"] = Tensor([0, 1.5])
        expect(s, .invalidCount(key: "step", values: [0, 1.5]))
        XCTAssertThrowsError(try SGD([p]).loadState(["step": Tensor([0, 1]), "0.momentum_buffer": Tensor([0, 0, 0])]),
                             "SGD without momentum has no buffers")
        // Values that no run writes: infinities, a negative mean of squares, steps beyond the count.
        s = good; s["w.exp_avg"] = Tensor([0, .infinity, 0])
        expect(s, .nonFinite(key: "w.exp_avg", index: 1, value: .infinity))
        s = good; s["w.exp_avg_sq"] = Tensor([0, 0, -0.5])
        expect(s, .negative(key: "w.exp_avg_sq", index: 2, value: -0.5))
        s = good; s["w.step"] = Tensor([0, 2])
        expect(s, .stepBeyondCount(key: "w.step", step: 2, stepCount: 1))
        s = good; s["w.step"] = Tensor([0, 0])
        expect(s, .invalidCount(key: "w.step", values: [0, 0]))
        XCTAssertThrowsError(try SGD([p], momentum: 0.9).loadState(["step": Tensor([0, 1]), "0.momentum_buffer": Tensor([0, -.infinity, 0])])) {
            XCTAssertEqual($0 as? OptimizerStateError, .nonFinite(key: "0.momentum_buffer", index: 1, value: -.infinity))
        }
    }

    func testStepCountBeyondFloatPrecisionRoundTrips() throws {
        let opt = SGD([Tensor([1]).requiringGrad()])
        let big = (1 << 30) + 12_345
        try opt.loadState(["step": Tensor([Float(big >> 24), Float(big & 0xFF_FFFF)])])
        XCTAssertEqual(opt.stepCount, big)
        XCTAssertEqual(opt.stateTensors().first?.1.scalars, [64, 12_345])
    }

    func testStepDecay() {
        let s = StepDecay(learningRate: 0.1, stepSize: 30, gamma: 0.1)
        XCTAssertEqual(s.lr(at: 0), 0.1)
        XCTAssertEqual(s.lr(at: 29), 0.1)
        XCTAssertEqual(s.lr(at: 30), 0.01, accuracy: 1e-9)
        XCTAssertEqual(s.lr(at: 65), 0.001, accuracy: 1e-10)
    }

    func testCosineWithWarmup() {
        let s = CosineWithWarmup(learningRate: 1, warmupSteps: 10, totalSteps: 110)
        let expected: [(Int, Float)] = [(0, 0), (5, 0.5), (10, 1), (35, Float(0.5 * (1 + cos(Double.pi / 4)))),
                                        (60, 0.5), (110, 0), (500, 0)]
        for (step, lr) in expected { XCTAssertEqual(s.lr(at: step), lr, accuracy: 1e-7, "step \(step)") }
        let floor = CosineWithWarmup(learningRate: 1e-3, warmupSteps: 0, totalSteps: 100, minLearningRate: 1e-4)
        XCTAssertEqual(floor.lr(at: 0), 1e-3)
        XCTAssertEqual(floor.lr(at: 50), 1e-4 + 0.9e-3 * 0.5, accuracy: 1e-10)
        XCTAssertEqual(floor.lr(at: 100), 1e-4, accuracy: 1e-10)
        XCTAssertEqual(floor.lr(at: 150), 1e-4, accuracy: 1e-10, "held at the minimum after the end")
    }

    func testClipGradNorm() {
        let a = Tensor([0, 0]).requiringGrad(), b = Tensor([0]).requiringGrad(), c = Tensor([0]).requiringGrad()
        a.grad = Tensor([3, 4]); b.grad = Tensor([12])  // global norm 13; c has no gradient
        XCTAssertEqual(clipGradNorm([a, b, c], maxNorm: 20), 13)
        XCTAssertEqual(a.grad!.scalars + b.grad!.scalars, [3, 4, 12], "below maxNorm: untouched")
        XCTAssertEqual(clipGradNorm([a, b, c], maxNorm: 6.5), 13)
        let scale: Float = 6.5 / (13 + 1e-6)
        XCTAssertEqual(a.grad!.scalars + b.grad!.scalars, [3 * scale, 4 * scale, 12 * scale])
        XCTAssertNil(c.grad)
        let big = Tensor.zeros([1000]).requiringGrad()
        big.grad = Tensor.full(0.5, shape: [1000])
        XCTAssertEqual(clipGradNorm([big], maxNorm: 1), Float(250.0.squareRoot()), accuracy: 1e-5)
        XCTAssertEqual(big.grad!.scalars.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
    }

    /// y = 2x₁ − 3x₂ + 0.5, noise-free, fitted by a Linear(2, 1) with Adam and MSE.
    func testAdamFitsLinearRegression() {
        let x = rand([64, 2], 42)
        let y = x.matmul(Tensor([2, -3], shape: [2, 1])) + 0.5
        let model = Linear(2, 1, seed: 3)
        let opt = Adam(model.namedParameters(), learningRate: 0.1)
        let first = noGrad { mseLoss(model(x), y) }.item
        for _ in 0..<50 {
            opt.zeroGrad()
            mseLoss(model(x), y).backward()
            opt.step()
        }
        let last = noGrad { mseLoss(model(x), y) }.item
        XCTAssertLessThan(last, first / 10, "loss \(first) → \(last)")
    }

    /// Two clusters around ±(1, 1), fitted by a Linear(2, 2) with Adam and cross-entropy.
    func testAdamFitsTwoClasses() {
        let targets = (0..<64).map { $0 % 2 }
        let centres = Tensor(targets.flatMap { $0 == 1 ? [Float(1), 1] : [-1, -1] }, shape: [64, 2])
        let x = centres + rand([64, 2], 7, low: -0.5, high: 0.5)
        let model = Linear(2, 2, seed: 3)
        let opt = Adam(model.namedParameters(), learningRate: 0.1)
        let first = noGrad { crossEntropy(logits: model(x), targets: targets) }.item
        for _ in 0..<50 {
            opt.zeroGrad()
            crossEntropy(logits: model(x), targets: targets).backward()
            opt.step()
        }
        let last = noGrad { crossEntropy(logits: model(x), targets: targets) }.item
        XCTAssertLessThan(last, first / 10, "loss \(first) → \(last)")
        XCTAssertEqual(accuracy(logits: noGrad { model(x) }, targets: targets), 1)
    }
}

