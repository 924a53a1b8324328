import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class EmbeddingTests: XCTestCase {
    func testLookupWithIdsAndShapes() {
        let emb = Embedding(weight: Tensor((0..<12).map(Float.init), shape: [4, 3]).requiringGrad())
        XCTAssertEqual(emb.count, 4); XCTAssertEqual(emb.dim, 3)
        // Row r of the table is [3r, 3r + 1, 3r + 2].
        let y = emb([3, 0, 1, 3], shape: [2, 2])
        XCTAssertEqual(y.shape, [2, 2, 3])
        XCTAssertEqual(y.scalars, [9, 10, 11, 0, 1, 2, 3, 4, 5, 9, 10, 11])
        XCTAssertEqual(emb([2]).shape, [1, 3])
        let fromTensor = emb(Tensor([3, 0, 1, 3], shape: [2, 2]))
        XCTAssertEqual(fromTensor.shape, [2, 2, 3])
        XCTAssertEqual(fromTensor.scalars, y.scalars)
    }

    /// A repeated id receives the sum of its positions' gradients; unused rows get zero.
    func testGradientScatterAddsRepeatedIds() {
        let emb = Embedding(5, 3, seed: 1)
        let ids = [4, 1, 4, 4]
        let g = rand([4, 3], 2)
        emb(ids).backward(g)
        let gs = g.scalars, dw = emb.weight.grad!.scalars
        for j in 0..<3 {
            XCTAssertEqual(dw[4 * 3 + j], gs[0 * 3 + j] + gs[2 * 3 + j] + gs[3 * 3 + j], accuracy: 1e-6)
            XCTAssertEqual(dw[1 * 3 + j], gs[1 * 3 + j])
            for row in [0, 2, 3] { XCTAssertEqual(dw[row * 3 + j], 0) }
        }
        parameterGradCheck("Embedding", emb) { emb(Tensor([4, 1, 4, 0, 2, 4], shape: [3, 2])) }
    }

    /// N(0, 1) as PyTorch. n = 64,000 draws: the sample mean has standard error 1/√n = 0.004 and
    /// the sample variance √(2/n) = 0.0056; both are checked to 5 standard errors.
    func testInitialisationIsStandardNormal() {
        let emb = Embedding(1000, 64, seed: 3)
        XCTAssertEqual(emb.namedParameters().map(\.name), ["weight"])
        XCTAssertEqual(emb.parameterCount, 64_000)
        XCTAssertTrue(emb.weight.requiresGrad)
        let v = emb.weight.scalars.map(Double.init), n = Double(v.count)
        let mean = v.reduce(0, +) / n
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        XCTAssertEqual(mean, 0, accuracy: 5 / n.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 5 * (2 / n).squareRoot())
        XCTAssertEqual(Embedding(10, 4, seed: 3).weight.scalars, Embedding(10, 4, seed: 3).weight.scalars, "seeded")
    }
}
