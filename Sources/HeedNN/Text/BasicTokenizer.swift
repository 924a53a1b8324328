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
        var scalars: [Unicode.Scalar] = []
        var words: [Range<Int>] = []
        normalize(text[...], into: &scalars)
        split(scalars, into: &words)
        return words.map { String(String.UnicodeScalarView(scalars[$0])) }
    }

    /// Appends the normalized scalars of `text` to `out`.
    func normalize(_ text: Substring, into out: inout [Unicode.Scalar]) {
        // Non-ASCII scalars wait in `run` until an ASCII scalar, a space or an ideograph ends
        // it: NFD may reorder adjacent combining marks, and every scalar that ends a run is a
        // starter that NFD leaves alone, so decomposing run by run equals decomposing the text.
        var run: [Unicode.Scalar] = []
        out.reserveCapacity(out.count + text.utf8.count)
        for s in text.unicodeScalars {
            let v = s.value
            if cleanText && BertUnicode.isDropped(s) { continue }
            if v < 0x80 {
                if !run.isEmpty { flush(&run, into: &out) }
                if cleanText && BertUnicode.isWhitespace(s) {
                    out.append(" ")
                } else if lowercase && v >= 0x41 && v <= 0x5A {
                    out.append(Unicode.Scalar(UInt8(v) | 0x20))
                } else {
                    out.append(s)
                }
            } else if cleanText && BertUnicode.isWhitespace(s) {
                if !run.isEmpty { flush(&run, into: &out) }
                out.append(" ")
            } else if handleChineseCharacters && BertUnicode.isChinese(s) {
                if !run.isEmpty { flush(&run, into: &out) }
                out.append(" ")
                run.append(s)  // the compatibility ideographs F900–FAFF decompose under NFD
                flush(&run, into: &out)
                out.append(" ")
            } else {
                run.append(s)
            }
        }
        if !run.isEmpty { flush(&run, into: &out) }
    }

    /// Strips accents from and lowercases a run of non-ASCII scalars, appending them to `out`.
    private func flush(_ run: inout [Unicode.Scalar], into out: inout [Unicode.Scalar]) {
        if stripAccents {
            // A scalar newer than the reference's NFD tables is, to them, a starter without a
            // decomposition: it ends the stretch decomposed so far and passes through as is.
            var start = 0
            for i in run.indices where !BertUnicode.isInNormalizationTables(run[i]) {
                appendStripped(run[start..<i], to: &out)
                appendStripped(run[i...i], to: &out, decompose: false)
                start = i + 1
            }
            appendStripped(run[start...], to: &out)
        } else {
            for s in run { appendLowercased(s, to: &out) }
        }
        run.removeAll(keepingCapacity: true)
    }

    /// NFD, minus nonspacing marks, lowercased.
    private func appendStripped(_ scalars: ArraySlice<Unicode.Scalar>, to out: inout [Unicode.Scalar],
                                decompose: Bool = true) {
        guard !scalars.isEmpty else { return }
        if !decompose {
            for s in scalars where !BertUnicode.isNonspacingMark(s) { appendLowercased(s, to: &out) }
            return
        }
        let nfd = String(String.UnicodeScalarView(scalars)).decomposedStringWithCanonicalMapping
        for s in nfd.unicodeScalars where !BertUnicode.isNonspacingMark(s) {
            appendLowercased(s, to: &out)
        }
    }

    @inline(__always)
    private func appendLowercased(_ s: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        guard lowercase else { out.append(s); return }
        if s.value < 0x80 {
            out.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(UInt8(s.value) | 0x20) : s)
        } else if s.properties.changesWhenLowercased {
            out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
        } else {
            out.append(s)
        }
    }

    /// Appends the words of normalized `scalars` to `words`: runs between whitespace, with each
    /// punctuation scalar a word of its own.
    func split(_ scalars: [Unicode.Scalar], into words: inout [Range<Int>]) {
        var start = 0
        for (i, s) in scalars.enumerated() {
            if BertUnicode.isWhitespace(s) {
                if start < i { words.append(start..<i) }
                start = i + 1
            } else if BertUnicode.isPunctuation(s) {
                if start < i { words.append(start..<i) }
                words.append(i..<(i + 1))
                start = i + 1
            }
        }
        if start < scalars.count { words.append(start..<scalars.count) }
    }
}
