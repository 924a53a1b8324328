/// Greedy longest-match-first WordPiece (BERT's subword split, as Hugging Face's `WordPiece`).
///
/// A word is split from the left, each piece the longest vocabulary token that matches there,
/// pieces after the first looked up with the "##" continuation prefix. A word that cannot be
/// split to the end, or that is longer than `maxInputCharacters` scalars, becomes one unknown
/// token: no partial pieces, as the reference.
struct WordPiece: Sendable {
    let vocabulary: Vocabulary
    let unknownID: Int32
    var maxInputCharacters = 100

    /// Appends the ids of `word` (normalized scalars without whitespace) to `ids`.
    /// `buffer` is scratch space reused across words to avoid an allocation per word.
    func appendIDs(of word: ArraySlice<Unicode.Scalar>, to ids: inout [Int32], buffer: inout [UInt8]) {
        if word.count > maxInputCharacters { ids.append(unknownID); return }
        buffer.removeAll(keepingCapacity: true)
        for s in word { appendUTF8(s, to: &buffer) }
        let first = ids.count
        let ok: Bool = buffer.withUnsafeBufferPointer { utf8 in
            var start = 0
            while start < utf8.count {
                var end = utf8.count
                var found: Int32?
                while start < end {
                    let key = UnsafeBufferPointer(rebasing: utf8[start..<end])
                    if let id = vocabulary.id(of: key, continuation: start > 0) { found = id; break }
                    // One scalar shorter: back over UTF-8 continuation bytes (10xxxxxx).
                    end -= 1
                    while end > start && utf8[end] & 0xC0 == 0x80 { end -= 1 }
                }
                guard let id = found else { return false }
                ids.append(id)
                start = end
            }
            return true
        }
        if !ok {
            ids.removeSubrange(first...)
            ids.append(unknownID)
        }
    }

    @inline(__always)
    private func appendUTF8(_ s: Unicode.Scalar, to buffer: inout [UInt8]) {
        let v = s.value
        if v < 0x80 {
            buffer.append(UInt8(v))
        } else {
            for b in UTF8.encode(s)! { buffer.append(b) }
        }
    }
}
