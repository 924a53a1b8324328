import Foundation
import Heed
import HeedNN

/// Sentence embeddings with all-MiniLM-L6-v2, end to end as `SentenceTransformer.encode` does
/// them (tokenize, sort by length, batch, BERT, mean pooling, normalisation):
///
///   - short sentences at batch 32 (a timed run embeds 256 of them),
///   - 256-token passages at batch 16 (a timed run embeds 32),
///   - one short sentence (latency).
///
/// FLOPs count the GEMMs and the attention products of the real tokens (padding excluded), per
/// layer 2·n·(4h² + 2h·f) + 4·n²·h for a text of n tokens: what the model must do, whatever
/// the batching.
enum EmbeddingBench {
    /// `--model`, else $HEED_MINILM_DIR, else models/all-MiniLM-L6-v2 (what `make model` fetches).
    nonisolated(unsafe) static var modelDirectory = ProcessInfo.processInfo.environment["HEED_MINILM_DIR"] ?? "models/all-MiniLM-L6-v2"

    static var modelMissingReason: String? {
        FileManager.default.fileExists(atPath: modelDirectory + "/model.safetensors") ? nil
            : "all-MiniLM-L6-v2 not found at \(modelDirectory) (run `make model`, or pass --model DIR)"
    }

    /// Loaded once per weight format for all cases (~0.2 s, plus the int8 calibration).
    nonisolated(unsafe) private static var loaded: [WeightFormat: SentenceEmbedder] = [:]
    static func embedder(_ format: WeightFormat = .float32) -> SentenceEmbedder {
        if let e = loaded[format] { return e }
        do {
            let e = try SentenceEmbedder(contentsOf: URL(fileURLWithPath: modelDirectory))
            e.quantize(format)
            loaded[format] = e
            return e
        } catch {
            fatalError("heed-bench: loading \(modelDirectory): \(error)")
        }
    }

    struct Workload {
        let key: String
        let shape: String
        let texts: [String]
        let batchSize: Int
        let callsPerRun: Int
    }

    static func workloads(quick: Bool) -> [Workload] {
        [Workload(key: "short/b32", shape: "\(quick ? 64 : 256) short sentences, batch 32",
                  texts: EmbeddingWorkload.shortSentences(quick ? 64 : 256), batchSize: 32, callsPerRun: 1),
         Workload(key: "passages-256/b16", shape: "\(quick ? 16 : 32) passages of 256 tokens, batch 16",
                  texts: EmbeddingWorkload.passages(quick ? 16 : 32), batchSize: 16, callsPerRun: 1),
         Workload(key: "single", shape: "1 short sentence", texts: [EmbeddingWorkload.shortSentences(1, seed: 3)[0]],
                  batchSize: 1, callsPerRun: 10)]
    }

    static func flops(_ e: SentenceEmbedder, _ texts: [String]) -> Double {
        let c = e.model.config
        let (h, f) = (Double(c.hiddenSize), Double(c.intermediateSize))
        return e.encode(texts).reduce(0) { total, ids in
            let n = Double(ids.count)
            return total + Double(c.layerCount) * (2 * n * (4 * h * h + 2 * h * f) + 4 * n * n * h)
        }
    }

    /// One group per workload: the Float32 model (`embed/KEY`, path "heed"), and the same on
    /// int8 (SmoothQuant-calibrated, `embed/KEY/int8`) and bf16 weights, interleaved.
    static func groups(quick: Bool) -> [[BenchCase]] {
        guard modelMissingReason == nil else { return [] }
        return workloads(quick: quick).map { w in
            WeightFormat.allCases.map { format in
                // FLOPs need the tokenizer, so the model loads when the case list is built.
                BenchCase(group: "embed", name: "embed/\(w.key)" + (format == .float32 ? "" : "/\(format)"), shape: w.shape,
                          path: format == .float32 ? "heed" : "heed \(format)", pass: .fwd,
                          flops: flops(embedder(), w.texts), callsPerRun: w.callsPerRun, items: w.texts.count) {
                    let e = embedder(format)
                    return {
                        for _ in 0..<w.callsPerRun { blackHole(e.embed(w.texts, batchSize: w.batchSize)) }
                    }
                }
            }
        }
    }
}
