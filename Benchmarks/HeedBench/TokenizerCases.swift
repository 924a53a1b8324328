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
        /// The input's size in UTF-8 bytes, known before `text` builds it.
        let bytes: Int
        /// Built when the case runs, not when the plan is made (the mixed line is 50 MB).
        let text: @Sendable () -> String
        /// `encode` (truncated to the model's length) or `tokenize` (every word).
        let truncated: Bool
    }

    static func workloads(quick: Bool) -> [Workload] {
        let scale = quick ? 10 : 1
        let (accents, syllables, line) = (2_000_000 / scale, 400_000 / scale, 50_000_000 / scale)
        return [
            Workload(key: "e-acute", shape: "\(accents) × 'é', no space, tokenize", bytes: 2 * accents,
                     text: { String(repeating: "é", count: accents) }, truncated: false),
            Workload(key: "hangul", shape: "\(syllables) Hangul syllables, no space, tokenize", bytes: 3 * syllables,
                     text: { String((0..<syllables).map { Character(Unicode.Scalar(0xAC00 + ($0 &* 7919) % 11172)!) }) },
                     truncated: false),
            Workload(key: "line/encode", shape: "one \(50 / scale) MB line of mixed text, encode (256 tokens)",
                     bytes: line, text: { mixedLine(bytes: line) }, truncated: true),
            Workload(key: "line/tokenize", shape: "one \(50 / scale) MB line of mixed text, tokenize", bytes: line,
                     text: { mixedLine(bytes: line) }, truncated: false),
        ]
    }

    /// Words of Latin with accents, Greek, Cyrillic, CJK and punctuation, with spaces but no
    /// newline: exactly `bytes` UTF-8 bytes (the last word is followed by as many spaces as fit).
    static func mixedLine(bytes: Int) -> String {
        let words = ["Café", "naïve", "résumé", "Ångström", "σοφός", "Привет", "мир", "这是", "中文", "日本語", "e\u{301}te\u{301}",
                     "don't", "state-of-the-art", "(really)", "1,000", "tokenizers", "embeddings", "🙂"]
        var g = EmbeddingWorkload.LCG(state: 11)
        var s = ""
        s.reserveCapacity(bytes + 32)
        while true {
            let word = words[g.next(words.count)] + " "
            if s.utf8.count + word.utf8.count > bytes { break }
            s += word
        }
        s += String(repeating: " ", count: bytes - s.utf8.count)
        return s
    }

    static func cases(quick: Bool) -> [BenchCase] {
        guard EmbeddingBench.modelMissingReason == nil else { return [] }
        return workloads(quick: quick).map { w in
            BenchCase(group: "tokenize", name: "tokenize/\(w.key)", shape: w.shape, path: "serial", pass: .fwd,
                      flops: 0, items: w.bytes) {
                let t = EmbeddingBench.embedder().tokenizer
                let text = w.text()
                if text.utf8.count != w.bytes { fatalError("tokenize/\(w.key): \(text.utf8.count) bytes, expected \(w.bytes)") }
                return { blackHole(w.truncated ? t.encode(text).count : t.tokenize(text).count) }
            }
        }
    }
}
