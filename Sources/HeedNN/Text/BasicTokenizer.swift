import Foundation

/// BERT's text cleaning and word splitting before WordPiece (Hugging Face's `BertNormalizer`
/// followed by `BertPreTokenizer`), on Unicode scalars.
///
/// In order, as the reference does: drop control characters and map whitespace to a space;
/// put spaces around CJK ideographs; strip accents (NFD, then drop nonspacing marks); lowercase
/// each scalar (Rust's `char::to_lowercase`, so a final Σ becomes σ, not ς); then split on
/// whitespace and isolate each punctuation scalar. Scalars, not Characters: grapheme clusters
/// would glue a combining mark or an emoji modifier to its base, and the reference does not.
public struct BasicTokenizer: Sendable {
    public var lowercase: Bool
    public var stripAccents: Bool
    public var handleChineseCharacters: Bool
    public var cleanText: Bool

    /// `stripAccents: nil` follows `lowercase`, like `strip_accents: null` in tokenizer_config.json.
    public init(lowercase: Bool = true, stripAccents: Bool? = nil,
                handleChineseCharacters: Bool = true, cleanText: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.handleChineseCharacters = handleChineseCharacters
        self.cleanText = cleanText
    }

    /// The words of `text`, as the reference pre-tokenizer would hand them to WordPiece.
    public func tokenize(_ text: String) -> [String] {
        var words: [String] = []
        forEachWord(in: text[...]) { words.append(String(String.UnicodeScalarView($0))); return true }
        return words
    }

    /// Calls `body` with each word of `text` in order (normalized scalars, no whitespace),
    /// until it returns false. One pass, in time and memory linear in the text: nothing after
    /// the word where `body` stops is normalized, and a word is kept only up to
    /// `maxWordLength` + 1 scalars (enough for WordPiece to see that it is too long).
    ///
    /// NFD is built scalar by scalar — each scalar's full decomposition (Foundation's, cached
    /// per call), then the canonical ordering of each stretch of non-starters (a stable sort by
    /// combining class) — which is NFD by definition. Decomposing whole runs of non-ASCII text
    /// at once, as this did before, is quadratic in Foundation on Linux (1M 'é': 17 s).
    func forEachWord(in text: Substring, maxWordLength: Int = .max, _ body: (ArraySlice<Unicode.Scalar>) -> Bool) {
        withoutActuallyEscaping(body) { body in
            var splitter = WordSplitter(maxWordLength: maxWordLength, body: body)
            normalize(text, into: &splitter)
            splitter.finish()
        }
    }

    private func normalize(_ text: Substring, into splitter: inout WordSplitter) {
        var pending: [Unicode.Scalar] = []  // a starter and the non-starters after it, not yet ordered
        var decompositions: [UInt32: [Unicode.Scalar]] = [:]
        for s in text.unicodeScalars {
            if splitter.stopped { return }
            let v = s.value
            if v < 0x80 {
                if cleanText && (v < 0x20 || v == 0x7F) && v != 0x09 && v != 0x0A && v != 0x0D { continue }  // dropped
                flush(&pending, into: &splitter)
                if cleanText && BertUnicode.isWhitespace(s) {
                    splitter.emit(" ")
                } else if lowercase && v >= 0x41 && v <= 0x5A {
                    splitter.emit(Unicode.Scalar(UInt8(v) | 0x20))
                } else {
                    splitter.emit(s)
                }
                continue
            }
            let c = BertUnicode.classOf(s)
            if cleanText && c.isDropped { continue }
            if cleanText && c.isWhitespace {
                flush(&pending, into: &splitter)
                splitter.emit(" ")
            } else if handleChineseCharacters && c.isChinese {
                flush(&pending, into: &splitter)
                splitter.emit(" ")
                if stripAccents {
                    append(s, c, to: &pending, &splitter, &decompositions)  // F900–FAFF decompose under NFD
                    flush(&pending, into: &splitter)
                } else {
                    appendLowercased(s, c, to: &splitter)
                }
                splitter.emit(" ")
            } else if !stripAccents {
                appendLowercased(s, c, to: &splitter)
            } else {
                append(s, c, to: &pending, &splitter, &decompositions)
            }
        }
        flush(&pending, into: &splitter)
    }

    /// Adds the canonical decomposition of `s` to `pending`; a starter in it first sends what
    /// `pending` held on its way (nothing reorders across a starter).
    @inline(__always)
    private func append(_ s: Unicode.Scalar, _ c: BertUnicode.Class, to pending: inout [Unicode.Scalar],
                        _ splitter: inout WordSplitter, _ decompositions: inout [UInt32: [Unicode.Scalar]]) {
        // A scalar newer than the reference's NFD tables is, to them, a starter without a
        // decomposition.
        guard c.isInNormalizationTables else {
            flush(&pending, into: &splitter)
            pending.append(s)
            return
        }
        let v = s.value
        if c.combiningClass != 0 && v < 0x340 {
            pending.append(s)  // U+0300–U+033F: marks that do not decompose (the common case)
            return
        }
        if v >= 0xAC00 && v <= 0xD7A3 {
            // A Hangul syllable: L V (T) jamo, all starters, computed as Unicode defines them.
            // The last jamo waits in `pending` for any marks after it.
            flush(&pending, into: &splitter)
            let i = v - 0xAC00
            let vowel = Unicode.Scalar(0x1161 + i % 588 / 28)!
            splitter.emit(Unicode.Scalar(0x1100 + i / 588)!)
            if i % 28 == 0 {
                pending.append(vowel)
            } else {
                splitter.emit(vowel)
                pending.append(Unicode.Scalar(0x11A7 + i % 28)!)
            }
            return
        }
        let parts = decompositions[v] ?? {
            let d = Array(String(Character(s)).decomposedStringWithCanonicalMapping.unicodeScalars)
            decompositions[v] = d
            return d
        }()
        for p in parts {
            if BertUnicode.classOf(p).combiningClass == 0 { flush(&pending, into: &splitter) }
            pending.append(p)
        }
    }

    /// Puts `pending`'s non-starters in canonical order, drops the nonspacing marks, lowercases
    /// the rest and sends it on.
    private func flush(_ pending: inout [Unicode.Scalar], into splitter: inout WordSplitter) {
        guard !pending.isEmpty else { return }
        let first = BertUnicode.classOf(pending[0]).combiningClass == 0 ? 1 : 0
        if pending.count - first > 1 {
            // Stable: marks of equal class keep their order. (Swift's sort is stable.)
            pending[first...].sort { BertUnicode.classOf($0).combiningClass < BertUnicode.classOf($1).combiningClass }
        }
        for p in pending {
            let c = BertUnicode.classOf(p)
            if !c.isNonspacingMark { appendLowercased(p, c, to: &splitter) }
        }
        pending.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func appendLowercased(_ s: Unicode.Scalar, _ c: BertUnicode.Class? = nil, to splitter: inout WordSplitter) {
        guard lowercase else { splitter.emit(s); return }
        if s.value < 0x80 {
            splitter.emit(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(UInt8(s.value) | 0x20) : s)
        } else if (c ?? BertUnicode.classOf(s)).changesWhenLowercased {
            for l in s.properties.lowercaseMapping.unicodeScalars { splitter.emit(l) }
        } else {
            splitter.emit(s)
        }
    }
}

/// The pre-tokenizer on a stream of normalized scalars: words are runs between whitespace,
/// each punctuation scalar a word of its own; each word goes to `body` as soon as it ends.
private struct WordSplitter {
    let maxWordLength: Int
    let body: (ArraySlice<Unicode.Scalar>) -> Bool
    var word: [Unicode.Scalar] = []
    /// `body` asked for no more words.
    private(set) var stopped = false

    init(maxWordLength: Int, body: @escaping (ArraySlice<Unicode.Scalar>) -> Bool) {
        self.maxWordLength = maxWordLength
        self.body = body
    }

    @inline(__always)
    mutating func emit(_ s: Unicode.Scalar) {
        if stopped { return }
        let c = s.value < 0x80 ? nil : BertUnicode.classOf(s)
        if c?.isWhitespace ?? BertUnicode.isWhitespace(s) {
            endWord()
        } else if c?.isPunctuation ?? BertUnicode.isPunctuation(s) {
            endWord()
            if !stopped { stopped = !body([s]) }
        } else if word.count <= maxWordLength {
            word.append(s)
        }
    }

    mutating func endWord() {
        guard !word.isEmpty && !stopped else { return }
        stopped = !body(word[...])
        word.removeAll(keepingCapacity: true)
    }

    mutating func finish() { endWord() }
}
