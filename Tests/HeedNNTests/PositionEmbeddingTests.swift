import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class PositionEmbeddingTests: XCTestCase {
    /// dim 8: the frequencies are 1/10000^(2i/8) = 1, 1/10, 1/100, 1/1000 for i = 0…3, so
    /// row pos is [sin pos, cos pos, sin pos/10, cos pos/10, sin pos/100, cos pos/100, sin pos/1000, cos pos/1000].
    func testSinusoidalValuesAtHandComputedPositions() {
        let pe = SinusoidalPositionEmbedding(maxLength: 10, dim: 8)
        XCTAssertEqual(pe.table.shape, [10, 8])
        XCTAssertEqual(pe.parameterCount, 0, "a fixed table, not a parameter")
        let row0: [Float] = [0, 1, 0, 1, 0, 1, 0, 1]
        let row1: [Float] = [0.84147098, 0.54030231, 0.09983342, 0.99500417, 0.00999983, 0.99995000, 0.00100000, 0.99999950]
        let row5: [Float] = [-0.95892427, 0.28366219, 0.47942554, 0.87758256, 0.04997917, 0.99875026, 0.00499998, 0.99998750]
        assertClose(pe.embeddings(count: 1, offset: 0), row0, rtol: 1e-6, atol: 1e-7, "pos 0")
        assertClose(pe.embeddings(count: 1, offset: 1), row1, rtol: 1e-6, atol: 1e-7, "pos 1")
        assertClose(pe.embeddings(count: 1, offset: 5), row5, rtol: 1e-6, atol: 1e-7, "pos 5")
        // Row 9, column 2i vs the formula in Double.
        for j in 0..<8 {
            let angle = 9 / Foundation.pow(10000, Double(j - j % 2) / 8)
            XCTAssertEqual(Double(pe.table[element: [9, j]]), j % 2 == 0 ? sin(angle) : cos(angle), accuracy: 1e-7)
        }
    }

    func testSinusoidalOddDimEndsWithSine() {
        let pe = SinusoidalPositionEmbedding(maxLength: 4, dim: 5)
        // Column 4 = sin(pos / 10000^(4/5)) = sin(pos / 1584.89…).
        XCTAssertEqual(Double(pe.table[element: [3, 4]]), sin(3 / Foundation.pow(10000, 0.8)), accuracy: 1e-7)
    }

    func testSinusoidalAddsToInputWithOffset() {
        let pe = SinusoidalPositionEmbedding(maxLength: 16, dim: 6)
        let x = rand([2, 5, 6], 1)
        assertClose(pe(x), x + pe.table.slice(axis: 0, 0..<5), "offset 0")
        assertClose(pe(x, offset: 3), x + pe.table.slice(axis: 0, 3..<8), "offset 3")
        gradCheck("sinusoidal: dy/dx = 1", [x]) { pe($0[0]) }
    }

    func testLearnedPositionsForwardGradientsAndInit() {
        let pe = LearnedPositionEmbedding(maxLength: 6, dim: 4, seed: 2)
        XCTAssertEqual(pe.namedParameters().map(\.name), ["weight"])
        XCTAssertEqual(pe.parameterCount, 24)
        // Truncated normal, std 0.02: every value within ±2σ = ±0.04.
        XCTAssertTrue(pe.weight.scalars.allSatisfy { abs($0) <= 0.04 })
        XCTAssertTrue(pe.weight.scalars.contains { $0 != 0 })
        let x = rand([3, 4, 4], 3)
        assertClose(pe(x), x + pe.weight.slice(axis: 0, 0..<4), "offset 0")
        assertClose(pe(x, offset: 2), x + pe.weight.slice(axis: 0, 2..<6), "offset 2")
        // Rows 4 and 5 are unused at offset 0: their gradient is zero; the others get Σ over the batch.
        parameterGradCheck("LearnedPositionEmbedding", pe) { pe(x) }
        parameterGradCheck("LearnedPositionEmbedding offset 1", pe) { pe(x.slice(axis: 1, 0..<3), offset: 1) }
        gradCheck("learned positions input", [x]) { pe($0[0]) }
    }
}
