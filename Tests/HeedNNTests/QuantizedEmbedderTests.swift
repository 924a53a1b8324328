import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// all-MiniLM-L6-v2 on int8 and bf16 weights against its own Float32 embeddings, over texts that
/// share nothing with the calibration texts (another generator, other words, Unicode, lengths
/// from 2 to ~150 words).
final class QuantizedEmbedderTests: XCTestCase {
    static func evaluationTexts(_ count: Int) -> [String] {
        let words = ("attention matrix learns quickly river bank money finance tensor swift engine red blue "
                     + "quantum physics recipe tomato soup football weather tomorrow rain Paris Tokyo 2024 42 3.14 "
                     + "résumé naïve café 東京 données 😀 network layer gradient descent optimizer cat dog").split(separator: " ")
        var g = Xoshiro256(seed: 99)
        let lengths = [2, 4, 7, 11, 20, 40, 80]
        return (0..<count).map { i in
            let t = (0..<lengths[i % lengths.count]).map { _ in String(words[Int(g.next() % UInt64(words.count))]) }
                .joined(separator: " ")
            return i % 5 == 0 ? t.uppercased() + "?" : t
        }
    }

    static func cosines(_ a: Tensor, _ b: Tensor) -> [Float] {
        (0..<a.shape[0]).map { cosineSimilarity(a.select(axis: 0, $0).scalars, b.select(axis: 0, $0).scalars) }
    }

    func testInt8AndBF16EmbeddingsStayCloseToFloat32() throws {
        let embedder = try SentenceEmbedder(contentsOf: MiniLMFixtures.modelDirectory())
        let texts = Self.evaluationTexts(56)
        let reference = embedder.embed(texts)
        embedder.quantize(.int8)
        let int8 = Self.cosines(embedder.embed(texts), reference)
        embedder.quantize(.int8, smoothing: false)
        let plain = Self.cosines(embedder.embed(texts), reference)
        embedder.quantize(.bf16)
        let bf16 = Self.cosines(embedder.embed(texts), reference)
        embedder.quantize(.float32)
        XCTAssertEqual(embedder.embed(texts).scalars, reference.scalars, "back to Float32: the same embeddings")
        func mean(_ c: [Float]) -> Float { c.reduce(0, +) / Float(c.count) }
        print("cosine to Float32: int8 mean \(mean(int8)) min \(int8.min()!), unsmoothed mean \(mean(plain)) min \(plain.min()!), bf16 mean \(mean(bf16)) min \(bf16.min()!)")
        XCTAssertGreaterThanOrEqual(mean(int8), 0.999)
        XCTAssertGreaterThanOrEqual(int8.min()!, 0.995)
        XCTAssertGreaterThan(mean(int8), mean(plain), "smoothing helps")
        XCTAssertGreaterThanOrEqual(mean(bf16), 0.9999)
        XCTAssertGreaterThanOrEqual(bf16.min()!, 0.9995)
    }
}
