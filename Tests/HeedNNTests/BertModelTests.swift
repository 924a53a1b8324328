import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// The BERT encoder against Hugging Face's BertModel on the real all-MiniLM-L6-v2 weights
/// (fixture: Tests/Fixtures/minilm/make_bert_fixtures.py), and its loading errors.
final class BertModelTests: XCTestCase {
    struct HiddenFixture: Decodable {
        let ids: [[Int]]
        let token_types: [[Int]]
        let hidden: [[[Double]]]
        let torch_float32_max_abs_error: Double
    }

    func testHiddenStatesMatchHuggingFace() throws {
        let model = try BertModel(contentsOf: MiniLMFixtures.modelDirectory())
        let fixture: HiddenFixture = try MiniLMFixtures.load("bert_hidden.json")
        // One padded batch, as the fixture was computed: padding must not leak into real tokens.
        let length = fixture.ids.map(\.count).max()!
        let pad = { (row: [Int]) in row + [Int](repeating: 0, count: length - row.count) }
        let mask = Tensor(fixture.ids.flatMap { r in r.map { _ in Float(1) } + [Float](repeating: 0, count: length - r.count) },
                          shape: [fixture.ids.count, length])
        let hidden = noGrad {
            model(ids: fixture.ids.flatMap(pad), batch: fixture.ids.count, length: length,
                  attentionMask: mask, tokenTypes: fixture.token_types.flatMap(pad))
        }
        XCTAssertEqual(hidden.shape, [3, length, 384])
        // PyTorch's own float32 run is within 2.6e-6 of the float64 reference; the fixture is
        // rounded to 1e-6. Heed sums in other orders (OpenBLAS, fused kernels): allow 10×.
        XCTAssertLessThan(fixture.torch_float32_max_abs_error, 1e-5)
        for (i, row) in fixture.ids.enumerated() {
            let real = hidden.select(axis: 0, i).slice(axis: 0, 0..<row.count)
            assertClose(real, Tensor(fixture.hidden[i].flatMap { $0.map(Float.init) }, shape: [row.count, 384]),
                        rtol: 0, atol: 3e-5, "row \(i) hidden states")
        }
        // Each row alone (no padding, no mask) gives the same states as in the padded batch.
        for (i, row) in fixture.ids.enumerated() {
            let alone = noGrad { model(ids: row, batch: 1, length: row.count, tokenTypes: fixture.token_types[i]) }
            assertClose(alone.select(axis: 0, 0),
                        Tensor(fixture.hidden[i].flatMap { $0.map(Float.init) }, shape: [row.count, 384]),
                        rtol: 0, atol: 3e-5, "row \(i) alone")
        }
    }

    func testParameterNamesAreHuggingFaces() {
        let config = BertConfig(vocabularySize: 50, hiddenSize: 8, layerCount: 2, headCount: 2,
                                intermediateSize: 16, maxPositions: 10)
        let model = BertModel(config: config, seed: 1)
        let names = model.namedParameters().map(\.name)
        XCTAssertEqual(names.count, 5 + 2 * 16)
        XCTAssertEqual(Array(names.prefix(5)), ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                                                "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                                                "embeddings.LayerNorm.bias"])
        XCTAssertTrue(names.contains("encoder.layer.1.attention.self.query.bias"))
        XCTAssertTrue(names.contains("encoder.layer.0.output.LayerNorm.weight"))
        XCTAssertEqual(model.parameterCount, 50 * 8 + 10 * 8 + 2 * 8 + 16 + 2 * (4 * (64 + 8) + 2 * 8 + 8 * 16 + 16 + 16 * 8 + 8 + 2 * 8))
    }

    func testGradientsReachEveryParameter() {
        // A fine-tuning step must be possible: every parameter receives a gradient.
        let config = BertConfig(vocabularySize: 20, hiddenSize: 8, layerCount: 1, headCount: 2,
                                intermediateSize: 12, maxPositions: 6, hiddenDropout: 0, attentionDropout: 0)
        let model = BertModel(config: config, seed: 3)
        let mask = Tensor([1, 1, 1, 1, 1, 1, 0, 0], shape: [2, 4])
        let y = model(ids: [1, 5, 7, 2, 1, 9, 0, 0], batch: 2, length: 4, attentionMask: mask, tokenTypes: [0, 0, 1, 1, 0, 0, 0, 0])
        (y * y).sum().backward()
        for (name, p) in model.namedParameters() {
            XCTAssertNotNil(p.grad, name)
        }
    }

    /// Without a graph Q, K and V come from one fused GEMM over a buffer that `query`, `key` and
    /// `value` view: both paths agree, and an in-place update of a projection (as an optimizer
    /// step, or loading) is what the fused path uses next.
    func testFusedProjectionMatchesSeparateAndSeesUpdates() {
        let config = BertConfig(vocabularySize: 30, hiddenSize: 16, layerCount: 2, headCount: 4,
                                intermediateSize: 24, maxPositions: 8, hiddenDropout: 0, attentionDropout: 0)
        let model = BertModel(config: config, seed: 5)
        model.eval()
        let ids = [2, 7, 9, 4, 11, 3, 0, 0], mask = Tensor([1, 1, 1, 1, 1, 1, 0, 0], shape: [2, 4])
        func both() -> (fused: Tensor, separate: Tensor) {
            (noGrad { model(ids: ids, batch: 2, length: 4, attentionMask: mask) },
             model(ids: ids, batch: 2, length: 4, attentionMask: mask).detach())
        }
        var (fused, separate) = both()
        assertClose(fused, separate, rtol: 1e-5, atol: 1e-5, "fused vs separate projections")
        let before = fused.scalars
        noGrad {
            model.layers[1].key.weight += Tensor.ones([16, 16]) * 0.1
            model.layers[0].value.bias! -= Tensor.ones([16]) * 0.2
        }
        (fused, separate) = both()
        assertClose(fused, separate, rtol: 1e-5, atol: 1e-5, "after in-place updates")
        XCTAssertNotEqual(fused.scalars, before, "the updates must change the output")
    }

    func testLoadingErrorsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heed-bert-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let configURL = dir.appendingPathComponent("config.json")
        func loadError() -> String {
            do { _ = try BertModel(contentsOf: dir); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(loadError().contains("config.json: no such file"), loadError())
        try Data("{\"hidden_size\": 8".utf8).write(to: configURL)
        XCTAssertTrue(loadError().contains("config.json: not valid JSON"), loadError())
        try Data("{\"hidden_size\": 8}".utf8).write(to: configURL)
        XCTAssertTrue(loadError().contains("missing key 'vocab_size'"), loadError())
        let valid = """
            {"vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 12, "max_position_embeddings": 6, "hidden_act": "ACT", "model_type": "bert"}
            """
        try Data(valid.replacingOccurrences(of: "ACT", with: "swish").utf8).write(to: configURL)
        XCTAssertTrue(loadError().contains("not supported: hidden_act 'swish'"), loadError())
        try Data(valid.replacingOccurrences(of: "ACT", with: "gelu")
                     .replacingOccurrences(of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 3").utf8).write(to: configURL)
        XCTAssertTrue(loadError().contains("not divisible"), loadError())
        try Data(valid.replacingOccurrences(of: "ACT", with: "gelu").utf8).write(to: configURL)
        XCTAssertTrue(loadError().contains("model.safetensors: no such file"), loadError())
        // A checkpoint missing one parameter, then one with a wrong shape.
        let config = try BertConfig(contentsOf: configURL)
        let full = BertModel(config: config, seed: 0).namedParameters()
        let weights = dir.appendingPathComponent("model.safetensors")
        try SafetensorsFile.write(full.filter { $0.name != "encoder.layer.0.output.dense.bias" }.map { ($0.name, $0.tensor) }, to: weights)
        XCTAssertTrue(loadError().contains("no tensor for parameter 'encoder.layer.0.output.dense.bias'"), loadError())
        try SafetensorsFile.write(full.map { ($0.name, $0.name.hasSuffix("query.weight") ? Tensor.zeros([8, 4]) : $0.tensor) }, to: weights)
        XCTAssertTrue(loadError().contains("has shape [8, 8] but the file holds [8, 4]"), loadError())
        // Whole, plus a pooler the encoder ignores: loads, in evaluation mode, with the saved values.
        try SafetensorsFile.write(full.map { ($0.name, $0.tensor) } + [("pooler.dense.bias", Tensor.zeros([8]))], to: weights)
        let loaded = try BertModel(contentsOf: dir)
        XCTAssertFalse(loaded.isTraining)
        for ((name, a), (_, b)) in zip(loaded.namedParameters(), full) { XCTAssertEqual(a.scalars, b.scalars, name) }

        // A second layer's weights that config.json does not ask for: refused, naming a tensor
        // of it, unless the load is not strict.
        let two = BertModel(config: BertConfig(vocabularySize: 20, hiddenSize: 8, layerCount: 2, headCount: 2,
                                               intermediateSize: 12, maxPositions: 6), seed: 0).namedParameters()
        try SafetensorsFile.write(two.map { ($0.name, $0.tensor) }, to: weights)
        XCTAssertThrowsError(try BertModel(contentsOf: dir)) { error in
            guard case let CheckpointError.unexpectedParameter(name, file)? = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertTrue(name.hasPrefix("encoder.layer.1."), name)
            XCTAssertEqual(file, weights.path)
        }
        XCTAssertEqual(try BertModel(contentsOf: dir, strict: false).layers.count, 1)
        // A NaN weight: refused unless allowed.
        try SafetensorsFile.write(full.map { ($0.name, $0.name == "embeddings.LayerNorm.bias" ? Tensor([0, 0, 0, .nan, 0, 0, 0, 0], shape: [8]) : $0.tensor) },
                                  to: weights)
        XCTAssertThrowsError(try BertModel(contentsOf: dir)) { error in
            XCTAssertEqual("\(error)", "\(weights.path): tensor 'embeddings.LayerNorm.bias' holds nan at element 3 "
                           + "(load with allowNonFinite: true to inspect such a file)")
        }
        XCTAssertTrue(try BertModel(contentsOf: dir, allowNonFinite: true).embeddingNorm.bias!.scalars[3].isNaN)
    }
}
