import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class TransformerEncoderLayerTests: XCTestCase {
    /// The encoder layer built from primitive ops only: LayerNorm from mean/variance/rsqrt,
    /// Linear as x·Wᵀ + b, attention as explicit masked scores → softmax → weighted values, the
    /// FF block as linear2(gelu(linear1(x))). No dropout (dropout 0, or eval mode).
    static func reference(_ layer: TransformerEncoderLayer, _ x: Tensor, valid: Tensor? = nil, causal: Bool = false) -> Tensor {
        func norm(_ t: Tensor, _ ln: LayerNorm) -> Tensor {
            (t - t.mean(axis: -1, keepDims: true)) * (t.variance(axes: [-1], keepDims: true) + ln.eps).rsqrt() * ln.weight! + ln.bias!
        }
        func linear(_ t: Tensor, _ l: Linear) -> Tensor { t.matmul(l.weight.transposed()) + l.bias! }
        func selfAttention(_ t: Tensor) -> Tensor {
            let mha = layer.attention
            let (b, n, h, hd) = (t.shape[0], t.shape[1], mha.heads, mha.headDim)
            func heads(_ u: Tensor) -> Tensor { u.reshaped([b, n, h, hd]).permuted([0, 2, 1, 3]) }
            let q = heads(linear(t, mha.query)), k = heads(linear(t, mha.key)), v = heads(linear(t, mha.value))
            var s = q.matmul(k.transposed()) / Float(hd).squareRoot()                  // [B, H, N, N]
            if let valid { s = s.maskedFill(valid.reshaped([b, 1, 1, n]) .== 0, -.infinity) }
            if causal { s = s.maskedFill(Tensor.arange(n).reshaped([n, 1]) .< Tensor.arange(n), -.infinity) }
            let o = s.softmax(axis: -1).matmul(v).permuted([0, 2, 1, 3]).reshaped([b, n, h * hd])
            return linear(o, mha.output)
        }
        func feedForward(_ t: Tensor) -> Tensor { linear(linear(t, layer.linear1).gelu(), layer.linear2) }
        if layer.normFirst {
            let h = x + selfAttention(norm(x, layer.norm1))
            return h + feedForward(norm(h, layer.norm2))
        }
        let h = norm(x + selfAttention(x), layer.norm1)
        return norm(h + feedForward(h), layer.norm2)
    }

    /// Non-trivial norm parameters, so that a swapped norm1/norm2 would show.
    static func perturbNorms(_ layer: TransformerEncoderLayer, seed: UInt64) {
        noGrad {
            for (i, ln) in [layer.norm1, layer.norm2].enumerated() {
                ln.weight!.assign(rand([ln.count], seed + UInt64(i), low: 0.5, high: 1.5))
                ln.bias!.assign(rand([ln.count], seed + 10 + UInt64(i), low: -0.5, high: 0.5))
            }
        }
    }

    func testPostNormMatchesComposedReference() {
        let layer = TransformerEncoderLayer(modelDim: 16, heads: 4, feedForwardDim: 32, dropout: 0, seed: 1)
        Self.perturbNorms(layer, seed: 2)
        XCTAssertFalse(layer.normFirst, "PyTorch's default is post-norm")
        let x = rand([2, 5, 16], 3)
        assertClose(layer(x), Self.reference(layer, x), rtol: 1e-4, atol: 1e-5, "post-norm")
    }

    func testPreNormMatchesComposedReference() {
        let layer = TransformerEncoderLayer(modelDim: 16, heads: 4, feedForwardDim: 32, dropout: 0, normFirst: true, seed: 4)
        Self.perturbNorms(layer, seed: 5)
        let x = rand([2, 5, 16], 6)
        assertClose(layer(x), Self.reference(layer, x), rtol: 1e-4, atol: 1e-5, "pre-norm")
    }

    func testPaddingMaskAndCausalPassThrough() {
        let valid = Tensor([1, 1, 1, 0, 0, 1, 1, 1, 1, 1], shape: [2, 5])
        for normFirst in [false, true] {
            let layer = TransformerEncoderLayer(modelDim: 8, heads: 2, feedForwardDim: 12, dropout: 0, normFirst: normFirst, seed: 7)
            let x = rand([2, 5, 8], 8)
            assertClose(layer(x, mask: .keyPadding(valid)), Self.reference(layer, x, valid: valid),
                        rtol: 1e-4, atol: 1e-5, "padding, normFirst \(normFirst)")
            assertClose(layer(x, mask: nil, isCausal: true), Self.reference(layer, x, causal: true),
                        rtol: 1e-4, atol: 1e-5, "causal, normFirst \(normFirst)")
            assertClose(layer(x, mask: .keyPadding(valid), isCausal: true), Self.reference(layer, x, valid: valid, causal: true),
                        rtol: 1e-4, atol: 1e-5, "padding + causal, normFirst \(normFirst)")
        }
    }

    /// Dropout acts in training only; eval mode is the deterministic reference.
    func testDropoutOnlyInTraining() {
        let layer = TransformerEncoderLayer(modelDim: 8, heads: 2, feedForwardDim: 16, dropout: 0.3, seed: 9)
        let x = rand([2, 4, 8], 10)
        let trained = layer(x)
        layer.eval()
        XCTAssertFalse(layer.dropout2.isTraining); XCTAssertFalse(layer.attention.isTraining)
        let evaluated = layer(x)
        assertClose(evaluated, Self.reference(layer, x), rtol: 1e-4, atol: 1e-5, "eval = no dropout")
        XCTAssertGreaterThan(zip(trained.scalars, evaluated.scalars).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testActivationOption() {
        let layer = TransformerEncoderLayer(modelDim: 8, heads: 2, feedForwardDim: 16, dropout: 0, normFirst: true,
                                            activation: .relu, seed: 11)
        let x = rand([1, 3, 8], 12)
        let h = x + layer.attention(layer.norm1(x)).output
        let ff = layer.linear2(layer.linear1(layer.norm2(h)).relu())
        assertClose(layer(x), h + ff, rtol: 1e-5, atol: 1e-6, "relu MLP")
    }

    func testNamesAndGradients() {
        for normFirst in [false, true] {
            let layer = TransformerEncoderLayer(modelDim: 6, heads: 2, feedForwardDim: 8, dropout: 0, normFirst: normFirst, seed: 13)
            Self.perturbNorms(layer, seed: 14)
            XCTAssertEqual(layer.namedParameters().map(\.name), [
                "attention.query.weight", "attention.query.bias", "attention.key.weight", "attention.key.bias",
                "attention.value.weight", "attention.value.bias", "attention.output.weight", "attention.output.bias",
                "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"])
            let x = rand([2, 3, 6], 15)
            let valid = Tensor([1, 1, 0, 1, 1, 1], shape: [2, 3])
            parameterGradCheck("encoder layer, normFirst \(normFirst)", layer) { layer(x, mask: .keyPadding(valid)) }
            gradCheck("encoder layer input, normFirst \(normFirst)", [x]) { layer($0[0], mask: nil, isCausal: true) }
        }
    }
}

final class TransformerEncoderTests: XCTestCase {
    func layerNames(_ prefix: String) -> [String] {
        ["attention.query.weight", "attention.query.bias", "attention.key.weight", "attention.key.bias",
         "attention.value.weight", "attention.value.bias", "attention.output.weight", "attention.output.bias",
         "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
         "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"].map { prefix + $0 }
    }

    func testNamedParametersOfATwoLayerStack() {
        let encoder = TransformerEncoder(layers: 2, modelDim: 8, heads: 2, feedForwardDim: 16, finalNorm: true, seed: 1)
        let names = encoder.namedParameters().map(\.name)
        XCTAssertEqual(names, layerNames("layers.0.") + layerNames("layers.1.") + ["norm.weight", "norm.bias"])
        XCTAssertEqual(names[0], "layers.0.attention.query.weight")
        XCTAssertEqual(names[31], "layers.1.norm2.bias")
        // Per layer: attention 4·(8·8 + 8) = 288, linear1 8·16 + 16 = 144, linear2 16·8 + 8 = 136,
        // two norms 2·(8 + 8) = 32 → 600; two layers + the final norm (16) = 1216.
        XCTAssertEqual(encoder.parameterCount, 1216)
        XCTAssertEqual(TransformerEncoder(layers: 2, modelDim: 8, heads: 2, feedForwardDim: 16).parameterCount, 1200)
        // The brief's size: attention 4·(64·64 + 64) = 16,640, linear1 64·128 + 128 = 8,320,
        // linear2 128·64 + 64 = 8,256, norms 4·64 = 256 → 33,472 per layer.
        XCTAssertEqual(TransformerEncoder(layers: 2, modelDim: 64, heads: 4, feedForwardDim: 128, finalNorm: true).parameterCount,
                       2 * 33_472 + 128)

        // Inside a model, the names gain its prefix.
        final class Model: Module {
            let encoder: TransformerEncoder
            init(_ e: TransformerEncoder) { encoder = e }
            override var children: [(name: String, module: Module)] { [("encoder", encoder)] }
        }
        let model = Model(encoder)
        XCTAssertEqual(model.namedParameters().first?.name, "encoder.layers.0.attention.query.weight")
        XCTAssertTrue(model.namedParameters().contains { $0.name == "encoder.layers.1.norm2.bias" })
    }

    func testStackAppliesLayersInOrderWithMaskAndFinalNorm() {
        let encoder = TransformerEncoder(layers: 2, modelDim: 8, heads: 2, feedForwardDim: 16, dropout: 0,
                                         normFirst: true, finalNorm: true, seed: 2)
        noGrad { encoder.norm!.weight!.assign(rand([8], 3, low: 0.5, high: 1.5)) }
        let x = rand([2, 4, 8], 4)
        let valid = Tensor([1, 1, 1, 0, 1, 1, 1, 1], shape: [2, 4])
        let (l0, l1) = (encoder.layers[0], encoder.layers[1])
        let expected = encoder.norm!(l1(l0(x, mask: .keyPadding(valid)), mask: .keyPadding(valid)))
        assertClose(encoder(x, mask: .keyPadding(valid)), expected, rtol: 0, atol: 0, "norm(layer1(layer0(x)))")
        // Each layer against the primitive-op reference too.
        let ref = TransformerEncoderLayerTests.reference(l1, TransformerEncoderLayerTests.reference(l0, x, valid: valid), valid: valid)
        assertClose(encoder(x, mask: .keyPadding(valid)), encoder.norm!(ref), rtol: 1e-4, atol: 1e-5, "vs primitive ops")
        // Different seeds per layer.
        XCTAssertNotEqual(l0.linear1.weight.scalars, l1.linear1.weight.scalars)
        // eval() reaches every layer's dropouts.
        encoder.eval()
        XCTAssertFalse(encoder.layers[1].dropout1.isTraining)
    }

    func testGradientsThroughTheStack() {
        let encoder = TransformerEncoder(layers: 2, modelDim: 4, heads: 2, feedForwardDim: 6, dropout: 0,
                                         normFirst: true, finalNorm: true, seed: 5)
        let x = rand([1, 3, 4], 6)
        parameterGradCheck("2-layer encoder", encoder) { encoder(x, mask: nil, isCausal: true) }
        gradCheck("2-layer encoder input", [x]) { encoder($0[0]) }
    }
}
