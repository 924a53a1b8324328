import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// The image classifiers of Models/: shapes, parameter counts derived from the architecture,
/// FLOP count, gradient flow, parameter names.
final class ModelTests: XCTestCase {
    /// Images as Fashion-MNIST's: [B, 28, 28] in [0, 1).
    static func images(_ b: Int, seed: UInt64) -> Tensor { rand([b, 28, 28], seed, low: 0, high: 1) }

    /// A tiny ViT for the tests that do not need the default size (debug builds are slow).
    static func tinyViT(seed: UInt64 = 0, dropout: Float = 0.1) -> VisionTransformer {
        VisionTransformer(patchSize: 7, dim: 16, layers: 1, heads: 2, feedForwardDim: 32, dropout: dropout, seed: seed)
    }

    func testEveryModelMapsImagesToTenLogits() {
        for kind in ModelKind.allCases {
            let model = kind.make(seed: 1)
            let logits = noGrad { model(Self.images(3, seed: 2)) }
            XCTAssertEqual(logits.shape, [3, 10], "\(kind)")
            XCTAssertTrue(logits.scalars.allSatisfy(\.isFinite), "\(kind): non-finite logits")
        }
        XCTAssertEqual(noGrad { Self.tinyViT()(Self.images(2, seed: 3)) }.shape, [2, 10], "tiny ViT")
    }

    // MARK: Parameter counts

    /// A linear layer's weight and bias.
    func linear(_ i: Int, _ o: Int) -> Int { i * o + o }

    func testMLPParameterCountByHand() {
        // 784·128 + 128 (hidden) + 128·10 + 10 (output) = 100,480 + 1,290.
        XCTAssertEqual(MLPClassifier().parameterCount, 101_770)
        XCTAssertEqual(ModelKind.mlp.make(seed: 0).parameterCount, 101_770)
    }

    func testRowAttentionParameterCountFromArchitecture() {
        let (rows, columns, dim, hidden, classes) = (28, 28, 128, 64, 10)
        let expected = linear(columns, dim)     // row embedding
            + rows * dim                        // positions
            + linear(dim, hidden) + hidden      // pooling: W, b and the context vector v
            + linear(dim, dim)                  // head
            + linear(dim, classes)              // output
        XCTAssertEqual(expected, 33_418)
        XCTAssertEqual(ModelKind.pooling.make(seed: 0).parameterCount, expected)
    }

    func testVisionTransformerParameterCountFromArchitecture() {
        func expected(image: Int, patch: Int, dim: Int, layers: Int, feedForward: Int, classes: Int = 10) -> Int {
            let tokens = (image / patch) * (image / patch)
            let layer = 4 * linear(dim, dim)                          // query, key, value, output
                + linear(dim, feedForward) + linear(feedForward, dim) // feed-forward
                + 2 * 2 * dim                                         // norm1, norm2: weight and bias
            return linear(patch * patch, dim)                         // patch embedding
                + tokens * dim                                        // positions
                + layers * layer
                + 2 * dim                                             // final norm
                + linear(dim, dim) + dim                              // attention pooling
                + linear(dim, classes)                                // head
        }
        // The CLI's ViT: patch 7 (16 tokens), dim 128, 3 layers, feed-forward 256.
        XCTAssertEqual(ModelKind.vit.make(seed: 0).parameterCount,
                       expected(image: 28, patch: 7, dim: 128, layers: 3, feedForward: 256))
        XCTAssertEqual(Self.tinyViT().parameterCount, expected(image: 28, patch: 7, dim: 16, layers: 1, feedForward: 32))
    }

    func testMLPFlops() {
        XCTAssertEqual(MLPClassifier().flopsPerExample, 2 * (784 * 128 + 128 * 10))
    }

    // MARK: Gradients and names

    /// After one backward of the cross-entropy every parameter has a gradient of its shape,
    /// finite and not all zero: nothing is detached, unused or listed but not used.
    func testGradientsReachEveryParameter() {
        let models: [(String, any ImageClassifier)] = [
            ("mlp", ModelKind.mlp.make(seed: 4)), ("pooling", ModelKind.pooling.make(seed: 4)),
            ("vit", ModelKind.vit.make(seed: 4)), ("tiny vit", Self.tinyViT(seed: 4)),
        ]
        for (name, model) in models {
            let x = Self.images(8, seed: 5)
            let targets = [0, 1, 2, 3, 4, 5, 6, 7]
            crossEntropy(logits: model(x), targets: targets).backward()
            for (p, t) in model.namedParameters() {
                guard let g = t.grad else { XCTFail("\(name): \(p) has no gradient"); continue }
                XCTAssertEqual(g.shape, t.shape, "\(name): \(p)")
                let v = g.scalars
                XCTAssertTrue(v.allSatisfy(\.isFinite), "\(name): \(p) has a non-finite gradient")
                XCTAssertTrue(v.contains { $0 != 0 }, "\(name): \(p)'s gradient is all zero")
            }
        }
    }

    /// Dotted lower-camel-case components or layer indices: `encoder.layers.0.attention.query.weight`.
    func assertWellNamed(_ model: Module, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let names = model.namedParameters().map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "\(label): duplicate names in \(names)", file: file, line: line)
        let pattern = /[a-z][A-Za-z0-9]*(\.([a-z][A-Za-z0-9]*|[0-9]+))*/
        for n in names {
            XCTAssertNotNil(n.wholeMatch(of: pattern), "\(label): '\(n)' is not a dotted name", file: file, line: line)
        }
    }

    func testParameterNames() {
        for kind in ModelKind.allCases { assertWellNamed(kind.make(seed: 0), "\(kind)") }
        XCTAssertEqual(MLPClassifier().namedParameters().map(\.name),
                       ["hidden.weight", "hidden.bias", "output.weight", "output.bias"])
        XCTAssertEqual(RowAttentionClassifier().namedParameters().map(\.name),
                       ["positions", "embed.weight", "embed.bias", "pooling.context", "pooling.projection.weight",
                        "pooling.projection.bias", "head.weight", "head.bias", "output.weight", "output.bias"])

        let vit = Set(ModelKind.vit.make(seed: 0).namedParameters().map(\.name))
        for layer in 0..<3 {
            for part in ["attention.query", "attention.key", "attention.value", "attention.output",
                         "linear1", "linear2", "norm1", "norm2"] {
                for tensor in ["weight", "bias"] {
                    XCTAssertTrue(vit.contains("encoder.layers.\(layer).\(part).\(tensor)"),
                                  "ViT: encoder.layers.\(layer).\(part).\(tensor) missing")
                }
            }
        }
        for name in ["patches.projection.weight", "patches.projection.bias", "positions.weight", "encoder.norm.weight",
                     "encoder.norm.bias", "pooling.context", "pooling.projection.weight", "pooling.projection.bias",
                     "head.weight", "head.bias"] {
            XCTAssertTrue(vit.contains(name), "ViT: \(name) missing")
        }
        XCTAssertEqual(vit.count, 3 * 16 + 10)   // 16 tensors per layer, 10 outside the encoder
    }

    func testRowAttentionPoolingWeightsAreADistributionPerImage() {
        let model = RowAttentionClassifier(seed: 6)
        let w = noGrad { model.pool(Self.images(5, seed: 7)).weights }
        XCTAssertEqual(w.shape, [5, 28])
        let v = w.scalars
        XCTAssertTrue(v.allSatisfy { $0 >= 0 && $0 <= 1 })
        for b in 0..<5 {
            let sum = v[(b * 28)..<((b + 1) * 28)].reduce(0, +)
            XCTAssertEqual(sum, 1, accuracy: 1e-5, "image \(b)")
        }
    }

    /// Each part of a model starts from its own random stream: no parameter repeats another's
    /// initial values, in the same model or in the model of the next seed (they did when the
    /// parts were seeded seed, seed + 1, … while each Linear draws its bias from its seed + 1).
    func testParametersStartFromIndependentStreams() {
        for kind in ModelKind.allCases where kind != .vit {  // the ViT draws from one global stream
            var firstValues: [Float: String] = [:]
            for seed: UInt64 in [0, 1] {
                for (name, t) in kind.make(seed: seed).namedParameters() {
                    // Constant initialisations (zeros, ones) repeat by design.
                    let v = t.scalars
                    guard let x = v.first, v.contains(where: { $0 != x }) else { continue }
                    if let other = firstValues[x] {
                        XCTFail("\(kind): \(name) of seed \(seed) starts with the same value as \(other)")
                    }
                    firstValues[x] = "\(name) of seed \(seed)"
                }
            }
        }
    }
}
