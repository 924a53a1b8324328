import Foundation
import HeedNN

/// The WordPiece tokenizer on inputs that once made it quadratic or made it read everything:
/// long runs of non-ASCII text without a space (one word of 2M 'é'; 400k Hangul syllables),
/// and one 50 MB line of mixed text, encoded (cut to 256 tokens: it stops reading there) and
/// tokenized whole. `items` is the input's size in bytes, so the table gives MB/s and s/MB;
/// the time should not grow faster than the input.
enum TokenizerBench {
    struct Workload {
        let key: String
        let shape: String
        let text: String
        /// `encode` (truncated to the model's length) or `tokenize` (every word).
        let truncated: Bool
    }

    static func workloads(quick: Bool) -> [Workload] {
        let scale = quick ? 10 : 1
        let mixed = mixedLine(bytes: 50_000_000 / scale)
        return [
            Workload(key: "e-acute", shape: "\(2_000_000 / scale) × 'é', no space, tokenize",
                     text: String(repeating: "é", count: 2_000_000 / scale), truncated: false),
            Workload(key: "hangul", shape: "\(400_000 / scale) Hangul syllables, no space, tokenize",
                     text: String((0..<(400_000 / scale)).map { Character(Unicode.Scalar(0xAC00 + ($0 &* 7919) % 11172)!) }),
                     truncated: false),
            Workload(key: "line/encode", shape: "one \(50 / scale) MB line of mixed text, encode (256 tokens)",
                     text: mixed, truncated: true),
            Workload(key: "line/tokenize", shape: "one \(50 / scale) MB line of mixed text, tokenize", text: mixed,
                     truncated: false),
        ]
    }

    /// Words of Latin with accents, Greek, Cyrillic, CJK and punctuation, with spaces but no newline.
    static func mixedLine(bytes: Int) -> String {
        let words = ["Café", "naïve", "résumé", "Ångström", "σοφός", "Привет", "мир", "这是", "中文", "日本語", "e\u{301}te\u{301}",
                     "don't", "state-of-the-art", "(really)", "1,000", "tokenizers", "embeddings", "🙂"]
        var g = EmbeddingWorkload.LCG(state: 11)
        var s = ""
        s.reserveCapacity(bytes + 32)
        while s.utf8.count < bytes { s += words[g.next(words.count)] + " " }
        return s
    }

    static func cases(quick: Bool) -> [BenchCase] {
        guard EmbeddingBench.modelMissingReason == nil else { return [] }
        return workloads(quick: quick).map { w in
            BenchCase(group: "tokenize", name: "tokenize/\(w.key)", shape: w.shape, path: "serial", pass: .fwd,
                      flops: 0, items: w.text.utf8.count) {
                let t = EmbeddingBench.embedder().tokenizer
                return { blackHole(w.truncated ? t.encode(w.text).count : t.tokenize(w.text).count) }
            }
        }
    }
}
