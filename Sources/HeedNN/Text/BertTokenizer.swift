/// The BERT WordPiece tokenizer of a sentence-transformers model folder (all-MiniLM-L6-v2 and
/// its kin), giving the same ids as Hugging Face's fast tokenizer that sentence-transformers runs.
///
///     let tokenizer = try BertTokenizer(modelDirectory: url)
///     tokenizer.encode("Hello, world!")   // [101, 7592, 1010, 2088, 999, 102]
///
/// Ids are `Int32`: vocabularies are far below 2³¹ tokens, and a batch of them is half the size
/// of `[Int]` (`Embedding` takes `ids.map(Int.init)`). Token type ids are omitted: for a single
/// text they are all 0.
public struct BertTokenizer: Sendable {
    /// The text cleaning and word splitting before WordPiece.
    public let basic: BasicTokenizer
    /// Encodings are cut to this many ids, [CLS] and [SEP] included.
    public let maxLength: Int
    public let clsID: Int32, sepID: Int32, padID: Int32, unknownID: Int32
    /// Special tokens found verbatim in a text become their id, not words (e.g. "[MASK]"),
    /// matched before normalisation and case-sensitively, as the reference's added tokens.
    let specialTokens: [(bytes: [UInt8], id: Int32)]
    let wordPiece: WordPiece

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { wordPiece.vocabulary.count }

    /// The token of an id, nil outside the vocabulary.
    public func token(for id: Int32) -> String? {
        let tokens = wordPiece.vocabulary.tokens
        return id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }

    /// The id of a token, nil when it is not in the vocabulary.
    public func id(for token: String) -> Int32? { wordPiece.vocabulary.id(of: token) }

    /// [CLS], the WordPiece ids of `text`, [SEP]; cut to `maxLength` with [SEP] kept last.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [clsID]
        appendIDs(of: text, to: &ids, limit: maxLength - 1)
        ids.append(sepID)
        return ids
    }

    /// The wordpieces of `text`, without [CLS]/[SEP] and without truncation.
    public func tokenize(_ text: String) -> [String] {
        var ids: [Int32] = []
        appendIDs(of: text, to: &ids, limit: .max)
        let tokens = wordPiece.vocabulary.tokens
        return ids.map { tokens[Int($0)] }
    }

    /// Encodes each text and pads them to the longest: ids [B, L] and mask [B, L], row-major.
    public func encodeBatch(_ texts: [String]) -> TokenizedBatch {
        TokenizedBatch(texts.map(encode), padID: padID)
    }

    /// Appends the ids of `text` (no [CLS]/[SEP]) to `ids` until it holds `limit` ids. Stops
    /// reading the text there: a 50 MB line costs what its first `limit` tokens cost.
    func appendIDs(of text: String, to ids: inout [Int32], limit: Int) {
        var buffer: [UInt8] = []
        forEachPiece(of: text) { piece in
            switch piece {
            case let .special(id):
                ids.append(id)
            case let .text(segment):
                basic.forEachWord(in: segment, maxWordLength: wordPiece.maxInputCharacters) { word in
                    wordPiece.appendIDs(of: word, to: &ids, buffer: &buffer)
                    return ids.count < limit
                }
            }
            return ids.count < limit
        }
        if ids.count > limit { ids.removeSubrange(limit...) }
    }

    enum Piece { case text(Substring), special(Int32) }

    /// Calls `body` with `text` cut around verbatim special tokens, in order, until it returns
    /// false: at each position the longest one that starts there, leftmost first (the
    /// reference's leftmost-longest Aho–Corasick match).
    func forEachPiece(of text: String, _ body: (Piece) -> Bool) {
        guard !specialTokens.isEmpty else { _ = body(.text(text[...])); return }
        let utf8 = text.utf8
        var segmentStart = utf8.startIndex
        var i = utf8.startIndex
        while i != utf8.endIndex {
            var best: (length: Int, id: Int32)?
            for special in specialTokens where special.bytes.first == utf8[i] {
                if utf8[i...].starts(with: special.bytes), special.bytes.count > (best?.length ?? 0) {
                    best = (special.bytes.count, special.id)
                }
            }
            if let best {
                if segmentStart != i && !body(.text(text[segmentStart..<i])) { return }
                if !body(.special(best.id)) { return }
                i = utf8.index(i, offsetBy: best.length)
                segmentStart = i
            } else {
                i = utf8.index(after: i)
            }
        }
        if segmentStart != utf8.endIndex { _ = body(.text(text[segmentStart...])) }
    }
}
