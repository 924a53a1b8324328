import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class PatchEmbeddingTests: XCTestCase {
    /// y[b, py·n + px, o] = bias[o] + Σ_{c,i,j} W[o, (c, i, j)]·x[b, c, py·p + i, px·p + j]: one
    /// patch at a time, in Double — exactly a stride-p convolution with kernel p.
    static func perPatchLoop(_ layer: PatchEmbedding, _ x: Tensor) -> [Float] {
        let image = x.rank == 3 ? x.reshaped([x.shape[0], 1, x.shape[1], x.shape[2]]) : x
        let (b, c, p, n, dim) = (image.shape[0], layer.channels, layer.patchSize, layer.patchesPerSide, layer.dim)
        let w = layer.projection.weight, bias = layer.projection.bias!
        var out: [Float] = []
        for bi in 0..<b {
            for py in 0..<n {
                for px in 0..<n {
                    for o in 0..<dim {
                        var s = Double(bias[element: [o]])
                        for ci in 0..<c {
                            for i in 0..<p {
                                for j in 0..<p {
                                    s += Double(w[element: [o, (ci * p + i) * p + j]])
                                        * Double(image[element: [bi, ci, py * p + i, px * p + j]])
                                }
                            }
                        }
                        out.append(Float(s))
                    }
                }
            }
        }
        return out
    }

    func testMNISTShapedImagesMatchThePerPatchLoop() {
        let layer = PatchEmbedding(imageSize: 28, patchSize: 7, channels: 1, dim: 8, seed: 1)
        XCTAssertEqual(layer.patchCount, 16)
        XCTAssertEqual(layer.namedParameters().map(\.name), ["projection.weight", "projection.bias"])
        XCTAssertEqual(layer.parameterCount, 49 * 8 + 8)
        let x = rand([2, 28, 28], 2, low: 0, high: 1)
        let y = layer(x)
        XCTAssertEqual(y.shape, [2, 16, 8])
        assertClose(y.scalars, Self.perPatchLoop(layer, x), rtol: 1e-5, atol: 1e-5, "[B, 28, 28]")
        // [B, 1, 28, 28] is the same thing.
        assertClose(layer(x.reshaped([2, 1, 28, 28])), y, "[B, 1, 28, 28]")
    }

    func testMultiChannelPatchesAreFlattenedChannelMajor() {
        let layer = PatchEmbedding(imageSize: 8, patchSize: 4, channels: 3, dim: 5, seed: 3)
        let x = rand([2, 3, 8, 8], 4)
        let patches = layer.patches(x)
        XCTAssertEqual(patches.shape, [2, 4, 48])
        // Patch (py 1, px 0) of image 1, element (c 2, i 3, j 1) sits at column 2·16 + 3·4 + 1.
        XCTAssertEqual(patches[element: [1, 2, 2 * 16 + 3 * 4 + 1]], x[element: [1, 2, 4 + 3, 0 + 1]])
        assertClose(layer(x).scalars, Self.perPatchLoop(layer, x), rtol: 1e-5, atol: 1e-5, "[B, 3, 8, 8]")
    }

    func testGradients() {
        let layer = PatchEmbedding(imageSize: 4, patchSize: 2, channels: 2, dim: 3, seed: 5)
        let x = rand([2, 2, 4, 4], 6)
        parameterGradCheck("PatchEmbedding", layer) { layer(x) }
        gradCheck("PatchEmbedding input", [x]) { layer($0[0]) }
    }
}
