import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// Finite differences on a module's parameters (see `checkGradients`).
func parameterGradCheck(_ name: String, _ module: Module, rtol: Float = 1e-2, atol: Float = 1e-3,
                        file: StaticString = #filePath, line: UInt = #line, _ f: () -> Tensor) {
    checkGradients(name, module.namedParameters(), rtol: rtol, atol: atol, file: file, line: line, f)
}

final class LinearTests: XCTestCase {
    func testForwardMatchesHandComputed() {
        let layer = Linear(weight: Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), bias: Tensor([0.5, -1]))
        let y = layer(Tensor([1, 0, -1, 2, 1, 0], shape: [2, 3]))
        assertClose(y, [1 - 3 + 0.5, 4 - 6 - 1, 2 + 2 + 0.5, 8 + 5 - 1], "x·Wᵀ + b")
        XCTAssertEqual(layer.namedParameters().map(\.name), ["weight", "bias"])
        XCTAssertEqual(layer.parameterCount, 8)
    }

    func testBatchedInputAndGradients() {
        let layer = Linear(4, 3, seed: 1)
        let x = rand([2, 5, 4], 2)
        assertClose(layer(x), x.matmul(layer.weight.transposed()) + layer.bias!, "rank-3 input")
        parameterGradCheck("Linear", layer) { layer(x) }
        gradCheck("Linear input", [x]) { layer($0[0]) }
    }
}

final class AdditiveAttentionPoolingTests: XCTestCase {
    /// The design document's worked example (§4.3) with the correct numbers (NOTES.md):
    /// z = [2, 0, 2] gives w = [e²/(2e²+1), 1/(2e²+1), e²/(2e²+1)] = [0.468311, 0.063379, 0.468311].
    func testDocumentWorkedExample() {
        let pool = AdditiveAttentionPooling(inputCount: 2, hiddenCount: 1)
        // h_i = tanh(x_i[0]); v = 2/tanh(1) makes z = [2, 0, 2] for x_i[0] = [1, 0, 1].
        noGrad {
            pool.projection.weight.assign(Tensor([1, 0], shape: [1, 2]))
            pool.projection.bias!.assign(Tensor([0]))
            pool.context.assign(Tensor([2 / Float(1).tanhValue]))
        }
        let x = Tensor([1, 10, 0, 20, 1, 30], shape: [1, 3, 2])
        assertClose(pool.scores(x), [2, 0, 2], rtol: 1e-6, "scores z")
        let (y, w) = pool(x)
        assertClose(w, [0.468311, 0.063379, 0.468311], rtol: 2e-6, "weights")
        assertClose(w.sum(axis: 1), [1], rtol: 1e-6, "weights sum to 1, not 15/9")
        // y = 0.468311·x1 + 0.063379·x2 + 0.468311·x3
        assertClose(y, [0.936622, 0.468311 * 10 + 0.063379 * 20 + 0.468311 * 30], rtol: 2e-6, "pooled output")
    }

    func testPaddingMaskExcludesPositionsAndEmptySequencePoolsToZero() {
        let pool = AdditiveAttentionPooling(inputCount: 3, hiddenCount: 4, seed: 3)
        let x = rand([2, 4, 3], 4)
        let mask = Tensor([1, 1, 0, 0, 0, 0, 0, 0], shape: [2, 4])
        let (y, w) = pool(x, mask: mask)
        XCTAssertEqual(w.scalars[2], 0); XCTAssertEqual(w.scalars[3], 0)
        assertClose(w.slice(axis: 0, 0..<1).sum(), [1], rtol: 1e-6, "real positions sum to 1")
        // Masked = same as pooling only the first two elements.
        let (y2, _) = pool(x.slice(axis: 0, 0..<1).slice(axis: 1, 0..<2))
        assertClose(y.slice(axis: 0, 0..<1), y2, rtol: 1e-5, "masking = truncation")
        XCTAssertEqual(y.slice(axis: 0, 1..<2).scalars, [0, 0, 0], "no real element → zeros, not NaN")
    }

    func testGradients() {
        let pool = AdditiveAttentionPooling(inputCount: 3, hiddenCount: 5, seed: 5)
        let x = rand([2, 4, 3], 6)
        let mask = Tensor([1, 1, 1, 0, 1, 1, 1, 1], shape: [2, 4])
        parameterGradCheck("pooling", pool) { pool(x, mask: mask).output }
        gradCheck("pooling input", [x]) { pool($0[0], mask: mask).output }
    }
}

private extension Float { var tanhValue: Float { Float(Foundation.tanh(Double(self))) } }
import Foundation
