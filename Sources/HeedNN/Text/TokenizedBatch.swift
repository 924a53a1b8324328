import Heed

/// Encoded texts padded to a common length, laid out to feed a BERT: `ids` and
/// `attentionMask` are [batchSize, length] row-major, length the longest encoding.
public struct TokenizedBatch: Sendable, Equatable {
    public let batchSize: Int
    public let length: Int
    /// Token ids [B, L]; each row its text's ids then the [PAD] id.
    public let ids: [Int32]
    /// [B, L]: 1 at a real token, 0 at padding.
    public let attentionMask: [Int32]

    public init(_ encodings: [[Int32]], padID: Int32) {
        batchSize = encodings.count
        length = encodings.map(\.count).max() ?? 0
        var ids = [Int32](repeating: padID, count: batchSize * length)
        var mask = [Int32](repeating: 0, count: batchSize * length)
        for (b, row) in encodings.enumerated() {
            for (t, id) in row.enumerated() {
                ids[b * length + t] = id
                mask[b * length + t] = 1
            }
        }
        self.ids = ids
        self.attentionMask = mask
    }

    /// Row `b`'s ids without padding.
    public func ids(ofRow b: Int) -> ArraySlice<Int32> {
        check(b >= 0 && b < batchSize, "TokenizedBatch: row \(b) outside 0..<\(batchSize)")
        let row = b * length
        let real = attentionMask[row..<(row + length)].reduce(0) { $0 + Int($1) }
        return ids[row..<(row + real)]
    }
}
