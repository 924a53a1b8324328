import XCTest
@testable import Heed
import HeedTestSupport

/// Softmax and log-softmax (`Tensor+Softmax.swift`, `SoftmaxKernels.swift`) against a Double
/// oracle, hand-computed values and finite differences.
final class SoftmaxTests: XCTestCase {

    /// Every multi-index of `shape` in row-major order.
    static func allIndices(_ shape: [Int]) -> [[Int]] {
        var result: [[Int]] = [[]]
        for n in shape { result = result.flatMap { prefix in (0..<n).map { prefix + [$0] } } }
        return result
    }

    /// Double oracle along `axis`: reads `x[element:]`, computes each row with the max subtracted
    /// (as the definition's exact value; in Double no overflow would occur for |x| ≤ 1e4 anyway
    /// except through exp(1e4), which is why the max is still subtracted). A row that is all −∞
    /// gives 0 for softmax and −∞ for log-softmax (Heed's documented choice).
    static func oracle(_ x: Tensor, axis: Int, log logOutput: Bool) -> Tensor {
        let ax = axis < 0 ? axis + x.rank : axis
        var out = [Float](repeating: 0, count: x.count)
        let strides = contiguousStrides(x.shape)
        for idx in allIndices(x.shape) where idx[ax] == 0 {
            let row = (0..<x.shape[ax]).map { i -> Double in
                var j = idx; j[ax] = i; return Double(x[element: j])
            }
            let m = row.max()!
            let values: [Double]
            if m == -.infinity {
                values = row.map { _ in logOutput ? -.infinity : 0 }
            } else {
                let s = row.reduce(0) { $0 + exp($1 - m) }
                values = row.map { logOutput ? ($0 - m) - log(s) : exp($0 - m) / s }
            }
            for i in 0..<x.shape[ax] {
                var j = idx; j[ax] = i
                out[zip(j, strides).reduce(0) { $0 + $1.0 * $1.1 }] = Float(values[i])
            }
        }
        return Tensor(out, shape: x.shape)
    }

    func checkBoth(_ x: Tensor, axis: Int, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let s = x.softmax(axis: axis)
        assertClose(s, Self.oracle(x, axis: axis, log: false), rtol: 1e-5, atol: 1e-7, "softmax \(name) axis \(axis)", file: file, line: line)
        assertClose(x.logSoftmax(axis: axis), Self.oracle(x, axis: axis, log: true), rtol: 1e-5, atol: 1e-5,
                    "logSoftmax \(name) axis \(axis)", file: file, line: line)
        // Rows sum to 1 (Σ of n values each within ~2 ulp, the sum checked in Double).
        let sums = Self.oracleRowSums(s, axis: axis)
        assertClose(sums, [Float](repeating: 1, count: sums.count), rtol: 0, atol: 2e-6, "softmax \(name) axis \(axis) row sums",
                    file: file, line: line)
    }

    static func oracleRowSums(_ s: Tensor, axis: Int) -> [Float] {
        let ax = axis < 0 ? axis + s.rank : axis
        return allIndices(s.shape).filter { $0[ax] == 0 }.map { idx in
            Float((0..<s.shape[ax]).reduce(0.0) { acc, i in var j = idx; j[ax] = i; return acc + Double(s[element: j]) })
        }
    }

    // MARK: - Values

    func testDesignDocumentWorkedExample() {
        // NOTES.md §"Where it is wrong" 1: softmax([2, 0, 2]) = e²/(2e²+1), 1/(2e²+1), e²/(2e²+1).
        let s = Tensor([2, 0, 2]).softmax()
        assertClose(s, [0.468311, 0.063379, 0.468311], rtol: 0, atol: 1e-6)
        let e2 = exp(2.0)
        assertClose(s, [Float(e2 / (2 * e2 + 1)), Float(1 / (2 * e2 + 1)), Float(e2 / (2 * e2 + 1))], rtol: 1e-6, atol: 0)
        assertClose(Tensor([2, 0, 2]).logSoftmax(), [Float(2 - log(2 * e2 + 1)), Float(-log(2 * e2 + 1)), Float(2 - log(2 * e2 + 1))],
                    rtol: 1e-6, atol: 1e-7)
        // The pooled output y = Σ wᵢ xᵢ for x₁ = [1, 0], x₂ = [0, 1], x₃ = [1, 1].
        let xs = Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2])
        let y = (s.reshaped([3, 1]) * xs).sum(axis: 0)
        assertClose(y, [0.468311 + 0.468311, 0.063379 + 0.468311], rtol: 0, atol: 2e-6)
    }

    func testLastAxisAndAxes0And1Of3D() {
        let x = rand([3, 4, 5], 1, low: -3, high: 3)
        for axis in [-1, 2, 0, 1, -3] { checkBoth(x, axis: axis, "[3,4,5]") }
        // Non-contiguous inputs: a transposed view, and a step-sliced one.
        let t = rand([5, 4, 3], 2, low: -3, high: 3).transposed(0, 2)
        for axis in [-1, 0, 1] { checkBoth(t, axis: axis, "transposed") }
        let sl = rand([3, 4, 10], 3, low: -3, high: 3).slice(axis: 2, 0..<10, step: 2)
        for axis in [-1, 1] { checkBoth(sl, axis: axis, "step-sliced") }
    }

    func testSIMDTailLengths() {
        for (k, n) in [1, 2, 15, 16, 17, 31, 33, 1000].enumerated() {
            let x = rand([3, n], 10 + UInt64(k), low: -5, high: 5)
            checkBoth(x, axis: -1, "row length \(n)")
        }
        // Length 1: softmax is exactly 1 and logSoftmax exactly 0.
        assertClose(Tensor([7, -3], shape: [2, 1]).softmax(), [1, 1], rtol: 0, atol: 0)
        assertClose(Tensor([7, -3], shape: [2, 1]).logSoftmax(), [0, 0], rtol: 0, atol: 0)
    }

    func testManyRowsTakeTheParallelPath() {
        // 600 rows of 33: more than twice the per-thread grain of rows, so both threads run.
        let x = rand([600, 33], 20, low: -4, high: 4)
        checkBoth(x, axis: -1, "[600, 33]")
        checkBoth(rand([40, 3, 50], 21), axis: 0, "[40,3,50]")
    }

    // MARK: - Extremes

    func testLogitsOfMagnitude1e4StayFinite() {
        // Exactly representable logits 1e4 apart and 1 apart: e^1e4 overflows any float, so this
        // only works because the row max is subtracted first.
        let x = Tensor([10_000, 10_001, 9_999, -10_000,
                        -10_000, -10_000, -10_001, -9_999.5], shape: [2, 4])
        let s = x.softmax(), l = x.logSoftmax()
        XCTAssertTrue(s.scalars.allSatisfy(\.isFinite), "softmax: \(s.scalars)")
        XCTAssertTrue(l.scalars.allSatisfy(\.isFinite), "logSoftmax: \(l.scalars)")
        // Row 0: (x − max) = [−1, 0, −2, −20001]; Z = 1 + e⁻¹ + e⁻² (e^−20001 underflows to 0).
        let z0 = 1 + exp(-1.0) + exp(-2.0)
        assertClose(s[0], [Float(exp(-1) / z0), Float(1 / z0), Float(exp(-2) / z0), 0], rtol: 1e-6, atol: 1e-7, "softmax row 0")
        // log-probabilities near 0 must be accurate to float precision of *their own* size, not of
        // 1e4 (an ulp at 1e4 is 1e-3): x − (max + log Z) loses that, (x − max) − log Z does not.
        assertClose(l[0], [Float(-1 - log(z0)), Float(-log(z0)), Float(-2 - log(z0)), Float(-20001 - log(z0))],
                    rtol: 1e-6, atol: 1e-6, "logSoftmax row 0")
        // Row 1: (x − max) = [−0.5, −0.5, −1.5, 0].
        let z1 = 2 * exp(-0.5) + exp(-1.5) + 1
        assertClose(s[1], [Float(exp(-0.5) / z1), Float(exp(-0.5) / z1), Float(exp(-1.5) / z1), Float(1 / z1)], rtol: 1e-6, atol: 1e-7)
        assertClose(l[1], [Float(-0.5 - log(z1)), Float(-0.5 - log(z1)), Float(-1.5 - log(z1)), Float(-log(z1))], rtol: 1e-6, atol: 1e-6)

        // Random logits of size 1e4 against the oracle, along both axes.
        let big = rand([6, 40], 30, low: -1e4, high: 1e4)
        checkBoth(big, axis: -1, "±1e4 logits")
        checkBoth(big, axis: 0, "±1e4 logits")
        // Gradients stay finite too.
        let leaf = x.detach().requiringGrad()
        (leaf.softmax() * Tensor([1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 4])).sum().backward()
        XCTAssertTrue(leaf.grad!.scalars.allSatisfy(\.isFinite))
        let leaf2 = x.detach().requiringGrad()
        leaf2.logSoftmax().sum().backward()
        XCTAssertTrue(leaf2.grad!.scalars.allSatisfy(\.isFinite))
    }

    func testNegativeInfinityEntriesAndRows() {
        let inf = Float.infinity
        // Row 0 all −∞ (every key masked): softmax zeros (documented choice, not NaN), log −∞.
        // Row 1 partly masked: masked entries get probability 0 / log-probability −∞.
        // Row 2 (17 long, so the masked part lands in the SIMD tail) masks the last 16.
        var rows: [Float] = Array(repeating: -inf, count: 17)
        rows += [0, -inf, Float(log(3.0))] + Array(repeating: -inf, count: 14)
        rows += [1] + Array(repeating: -inf, count: 16)
        let x = Tensor(rows, shape: [3, 17])
        let s = x.softmax(), l = x.logSoftmax()
        assertClose(s[0], [Float](repeating: 0, count: 17), rtol: 0, atol: 0, "all −∞ row softmax")
        assertClose(l[0], [Float](repeating: -inf, count: 17), rtol: 0, atol: 0, "all −∞ row logSoftmax")
        assertClose(s[1], [0.25, 0, 0.75] + [Float](repeating: 0, count: 14), rtol: 1e-6, atol: 0)
        assertClose(l[1], [Float(log(0.25)), -inf, Float(log(0.75))] + [Float](repeating: -inf, count: 14), rtol: 1e-6, atol: 1e-7)
        assertClose(s[2], [1] + [Float](repeating: 0, count: 16), rtol: 0, atol: 0)
        assertClose(l[2], [0] + [Float](repeating: -inf, count: 16), rtol: 0, atol: 0)
        XCTAssertFalse(s.scalars.contains { $0.isNaN }); XCTAssertFalse(l.scalars.contains { $0.isNaN })
        // Along axis 0 (the moved-axis path): column j of xᵀ.
        let sT = x.T.softmax(axis: 0)
        assertClose(sT, s.T, rtol: 0, atol: 0, "softmax along axis 0 of the transpose")
        // Backward through a fully masked row gives zero gradient there, and stays NaN-free.
        let leaf = x.detach().requiringGrad()
        (leaf.softmax() * rand([3, 17], 40)).sum().backward()
        XCTAssertFalse(leaf.grad!.scalars.contains { $0.isNaN })
        assertClose(leaf.grad![0], [Float](repeating: 0, count: 17), rtol: 0, atol: 0, "masked-row gradient")
        // Masked entries in a partly masked row get zero gradient as well.
        XCTAssertEqual(leaf.grad![element: [1, 1]], 0)
        XCTAssertEqual(leaf.grad![element: [2, 16]], 0)
    }

    // MARK: - Gradients

    func testGradSoftmaxAlongEachAxis() {
        for axis in [-1, 0, 1] {
            gradCheck("softmax axis \(axis)", [rand([3, 4, 5], 50, low: -2, high: 2)]) { $0[0].softmax(axis: axis) }
        }
        gradCheck("softmax of transposed", [rand([5, 3], 51)]) { $0[0].T.softmax(axis: -1) }
        for n in [1, 16, 17] {
            gradCheck("softmax length \(n)", [rand([2, n], 52 + UInt64(n), low: -2, high: 2)]) { $0[0].softmax() }
        }
    }

    func testGradLogSoftmaxAlongEachAxis() {
        for axis in [-1, 0, 1] {
            gradCheck("logSoftmax axis \(axis)", [rand([3, 4, 5], 60, low: -2, high: 2)]) { $0[0].logSoftmax(axis: axis) }
        }
        gradCheck("logSoftmax of transposed", [rand([5, 3], 61)]) { $0[0].T.logSoftmax(axis: 0) }
        for n in [1, 16, 17] {
            gradCheck("logSoftmax length \(n)", [rand([2, n], 62 + UInt64(n), low: -2, high: 2)]) { $0[0].logSoftmax() }
        }
    }

    func testGradHandComputedSoftmaxJacobian() {
        // dL/dx_i = s_i (g_i − Σ_j g_j s_j). For x = [2, 0, 2] and g = [1, 0, 0]:
        // s = [a, b, a], Σ g s = a → dx = [a(1 − a), −b·a, −a·a].
        let e2 = exp(2.0), a = e2 / (2 * e2 + 1), b = 1 / (2 * e2 + 1)   // 0.468311, 0.063379
        let x = Tensor([2, 0, 2]).requiringGrad()
        x.softmax().backward(Tensor([1, 0, 0]))
        assertClose(x.grad!, [Float(a * (1 - a)), Float(-b * a), Float(-a * a)], rtol: 1e-5, atol: 1e-7)
        // log-softmax: dx = g − s·Σg; with g = [1, 1, 1]: dx = 1 − 3s.
        let y = Tensor([2, 0, 2]).requiringGrad()
        y.logSoftmax().backward(Tensor([1, 1, 1]))
        assertClose(y.grad!, [Float(1 - 3 * a), Float(1 - 3 * b), Float(1 - 3 * a)], rtol: 1e-5, atol: 1e-6)
    }
}

extension SoftmaxTests {
    func testRankZeroSoftmaxStaysInTheGraph() {
        let x = Tensor.scalar(3).requiringGrad()
        let y = x.softmax() * x.logSoftmax()   // 1 · 0
        XCTAssertEqual(y.item, 0)
        y.backward()
        XCTAssertEqual(x.grad!.item, 0, "gradient flows (and is 0) instead of a disconnected constant")
    }
}

extension SoftmaxTests {
    /// The fused cross-entropy against the composed definition, with smoothing and an
    /// ignored row, forward and backward, over more than 16 classes (SIMD chunks + tail).
    func testFusedCrossEntropyMatchesComposition() {
        let logits = rand([5, 19], 41, low: -4, high: 4)
        let targets = [3, 18, 0, 7, 11], eps: Float = 0.1
        let fused = logits.detach().requiringGrad()
        let loss = fused.softmaxCrossEntropy(targets: targets, labelSmoothing: eps, ignoreIndex: 7)
        let composed = logits.detach().requiringGrad()
        let logp = composed.logSoftmax(axis: 1)
        let keep = Tensor([1, 1, 1, 0, 1], shape: [5, 1])
        let onehot = Tensor((0..<95).map { i in Float(targets[i / 19] == i % 19 ? 1 : 0) }, shape: [5, 19])
        let perRow = -((1 - eps) * (logp * onehot).sum(axis: 1, keepDims: true) + eps * logp.mean(axis: 1, keepDims: true))
        let reference = (perRow * keep).sum() / 4
        XCTAssertEqual(loss.item, reference.item, accuracy: 1e-5)
        loss.backward(); reference.backward()
        assertClose(fused.grad!, composed.grad!, rtol: 1e-4, atol: 1e-6, "d loss / d logits")
        gradCheck("softmaxCrossEntropy", [logits]) { $0[0].softmaxCrossEntropy(targets: targets, labelSmoothing: eps) }
    }
}
