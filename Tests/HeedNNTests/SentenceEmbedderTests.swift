import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// all-MiniLM-L6-v2 end to end against sentence-transformers' `encode` (fixture:
/// Tests/Fixtures/minilm/make_minilm_fixtures.py), and the pieces around the encoder.
final class SentenceEmbedderTests: XCTestCase {
    struct Fixture: Decodable {
        struct Sentence: Decodable { let text: String; let input_ids: [Int32]; let embedding: [Double] }
        let max_seq_length: Int
        let sentences: [Sentence]
    }

    static func cosine(_ a: [Float], _ b: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * y; na += Double(x) * Double(x); nb += y * y }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let embedder = try SentenceEmbedder(contentsOf: MiniLMFixtures.modelDirectory())
        let fixture: Fixture = try MiniLMFixtures.load("embeddings.json")
        XCTAssertEqual(embedder.dimension, 384)
        XCTAssertEqual(embedder.tokenizer.maxLength, fixture.max_seq_length)
        XCTAssertEqual(embedder.pooling.modes, [.mean])
        XCTAssertTrue(embedder.normalizes)
        let texts = fixture.sentences.map(\.text)
        XCTAssertEqual(embedder.encode(texts), fixture.sentences.map(\.input_ids))
        // Batched (sorted by length, padded), in odd batches, and one at a time: same answer.
        // The 256-token text runs once, alone: padding seven short texts to its length would
        // multiply the cost of this test (a debug build runs the softmax's SIMD ~100× slower).
        let long = Set(fixture.sentences.indices.filter { fixture.sentences[$0].input_ids.count > 64 })
        XCTAssertEqual(long.count, 1)
        let short = texts.indices.filter { !long.contains($0) }
        for (batchSize, subset) in [(32, short), (3, short), (1, Array(long))] {
            let e = embedder.embed(subset.map { texts[$0] }, batchSize: batchSize)
            XCTAssertEqual(e.shape, [subset.count, 384])
            for (r, i) in subset.enumerated() {
                let s = fixture.sentences[i]
                let row = e.select(axis: 0, r).scalars
                let cos = Self.cosine(row, s.embedding)
                let maxDiff = zip(row, s.embedding).map { abs(Double($0) - $1) }.max()!
                XCTAssertGreaterThanOrEqual(cos, 0.99999, "batch \(batchSize), \(s.text.debugDescription): cosine")
                XCTAssertLessThanOrEqual(maxDiff, 1e-4, "batch \(batchSize), \(s.text.debugDescription): max |Δ|")
            }
        }
        // The model is left in the mode it was in.
        embedder.model.train()
        _ = embedder.embed(["x"])
        XCTAssertTrue(embedder.model.isTraining)
    }

    /// Inference keeps nothing alive but its result, and a second pass over the same batch
    /// takes every large buffer from the allocator's cache and gives it back (the cache holds
    /// exactly what it held before): buffers are reused across batches, not allocated anew.
    func testInferenceFreesEverythingAndReusesBuffers() throws {
        try withBufferCacheLimit(1 << 30) {
            let embedder = try SentenceEmbedder(contentsOf: MiniLMFixtures.modelDirectory())
            let fixture: Fixture = try MiniLMFixtures.load("embeddings.json")
            let texts = fixture.sentences.map(\.text).filter { $0.count < 100 }
            _ = embedder.embed(texts, batchSize: 4)
            let (live, cached) = (MemoryStats.liveBytes, MemoryStats.cachedBytes)
            XCTAssertGreaterThan(cached, 0)
            var e: Tensor? = embedder.embed(texts, batchSize: 4)
            XCTAssertEqual(MemoryStats.liveBytes, live + 4 * texts.count * embedder.dimension, "only the result is alive")
            e = nil
            XCTAssertNil(e)
            XCTAssertEqual(MemoryStats.liveBytes, live)
            XCTAssertEqual(MemoryStats.cachedBytes, cached)
        }
    }

    func testPoolingHandComputed() {
        // hidden [2, 3, 2]; the second row has one padded token, which no mode may see.
        let hidden = Tensor([1, 2, 3, 4, 5, 6,
                             -1, 0, 7, 8, 100, -100], shape: [2, 3, 2])
        let mask = Tensor([1, 1, 1, 1, 1, 0], shape: [2, 3])
        XCTAssertEqual(SentencePooling(modes: [.mean])(hidden, mask: mask).scalars, [3, 4, 3, 4])
        XCTAssertEqual(SentencePooling(modes: [.max])(hidden, mask: mask).scalars, [5, 6, 7, 8])
        XCTAssertEqual(SentencePooling(modes: [.cls])(hidden, mask: mask).scalars, [1, 2, -1, 0])
        let (r3, r2) = (Float(3).squareRoot(), Float(2).squareRoot())
        let sqrtMean: [Float] = [9 / r3, 12 / r3, 6 / r2, 8 / r2]
        assertClose(SentencePooling(modes: [.meanSqrtLength])(hidden, mask: mask), sqrtMean, "sum / √n")
        // Several modes concatenate in sentence-transformers' order, whatever order they are given in.
        XCTAssertEqual(SentencePooling(modes: [.mean, .cls])(hidden, mask: mask).scalars, [1, 2, 3, 4, -1, 0, 3, 4])
        // No mask: every token counts.
        XCTAssertEqual(SentencePooling(modes: [.mean])(hidden, mask: nil).scalars, [3, 4, 106 / 3, -92 / 3])
        // An all-padding row pools to zeros (sentence-transformers clamps the count at 1e-9).
        XCTAssertEqual(SentencePooling(modes: [.mean])(hidden, mask: Tensor.zeros([2, 3])).scalars, [0, 0, 0, 0])
    }

    func testL2NormalizedAndCosine() {
        assertClose(Tensor([3, 4, 0, 0], shape: [2, 2]).l2Normalized(), [0.6, 0.8, 0, 0], "rows; a zero row stays zero")
        XCTAssertEqual(cosineSimilarity([1, 0], [1, 1]), 1 / Float(2).squareRoot(), accuracy: 1e-7)
        XCTAssertEqual(cosineSimilarity([1, 2], [-2, -4]), -1, accuracy: 1e-7)
        XCTAssertEqual(cosineSimilarity([0, 0], [1, 1]), 0)
    }

    /// A folder whose files are copied from the model (or written by the test), to break one at a time.
    func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heed-embedder-\(UUID())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        return dir
    }

    func testFolderErrorsNameTheFile() throws {
        let model = try MiniLMFixtures.modelDirectory()
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        func loadError() -> String {
            do { _ = try SentenceEmbedder(contentsOf: dir); return "no error" } catch { return "\(error)" }
        }
        func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        XCTAssertTrue(loadError().contains("modules.json: no such file"), loadError())
        try write("modules.json", "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}]")
        XCTAssertTrue(loadError().contains("modules.json: not supported: modules [\"Transformer\"]"), loadError())
        try write("modules.json", """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
             {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
            """)
        XCTAssertTrue(loadError().contains("not supported: modules [\"Transformer\", \"Pooling\", \"Dense\"]"), loadError())
        try write("modules.json", """
            [{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
             {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
            """)
        XCTAssertTrue(loadError().contains("sentence_bert_config.json: no such file"), loadError())
        try write("sentence_bert_config.json", "{\"max_seq_length\": 1}")
        for name in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: model.appendingPathComponent(name))
        }
        XCTAssertTrue(loadError().contains("sentence_bert_config.json: max_seq_length 1 leaves no room"), loadError())
        try write("sentence_bert_config.json", "{\"max_seq_length\": 128, \"do_lower_case\": false}")
        XCTAssertTrue(loadError().contains("1_Pooling/config.json: no such file"), loadError())
        try write("1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": false}")
        XCTAssertTrue(loadError().contains("1_Pooling/config.json: no pooling mode is enabled"), loadError())
        try write("1_Pooling/config.json", "{\"pooling_mode_weightedmean_tokens\": true}")
        XCTAssertTrue(loadError().contains("not supported: weighted-mean"), loadError())
        try write("1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": true, \"pooling_mode_cls_token\": true}")
        let embedder = try SentenceEmbedder(contentsOf: dir)
        XCTAssertEqual(embedder.dimension, 768)
        XCTAssertEqual(embedder.tokenizer.maxLength, 128)
        XCTAssertFalse(embedder.normalizes)
    }
}
