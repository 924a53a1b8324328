/// The token → id table of a WordPiece vocabulary, keyed by UTF-8 bytes.
///
/// Bytes, not `String`: Swift compares Strings by canonical equivalence ("é" == "e\u{301}"),
/// the reference compares bytes, and only byte keys let WordPiece look up a slice of a word
/// without building a String for every candidate. Open addressing, FNV-1a hashes, at most
/// half full.
struct Vocabulary: Sendable {
    /// The tokens by id, as read.
    let tokens: [String]
    /// Every token's UTF-8 bytes, back to back; token i is bytes[offsets[i]..<offsets[i + 1]].
    private let bytes: [UInt8]
    private let offsets: [Int]
    /// Token ids, -1 for an empty slot; the count is a power of two.
    private let slots: [Int32]

    /// Builds the table; returns the ids of the first pair of equal tokens instead, if any.
    static func make(_ tokens: [String]) -> Result<Vocabulary, DuplicateToken> {
        var bytes: [UInt8] = []
        var offsets = [0]
        for t in tokens {
            bytes.append(contentsOf: t.utf8)
            offsets.append(bytes.count)
        }
        var capacity = 16
        while capacity < 2 * tokens.count { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        for id in tokens.indices {
            let key = bytes[offsets[id]..<offsets[id + 1]]
            var slot = Int(truncatingIfNeeded: fnv1a(key, seed: fnvOffset)) & (capacity - 1)
            while slots[slot] >= 0 {
                let other = Int(slots[slot])
                if bytes[offsets[other]..<offsets[other + 1]].elementsEqual(key) {
                    return .failure(DuplicateToken(first: other, second: id))
                }
                slot = (slot + 1) & (capacity - 1)
            }
            slots[slot] = Int32(id)
        }
        return .success(Vocabulary(tokens: tokens, bytes: bytes, offsets: offsets, slots: slots))
    }

    struct DuplicateToken: Error { let first: Int, second: Int }

    var count: Int { tokens.count }

    /// The id of the token spelled by `key`, or of "##" + `key` when `continuation` is set.
    func id(of key: UnsafeBufferPointer<UInt8>, continuation: Bool) -> Int32? {
        let seed = continuation ? Vocabulary.continuationSeed : Vocabulary.fnvOffset
        let prefix = continuation ? 2 : 0
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Vocabulary.fnv1a(key, seed: seed)) & mask
        return bytes.withUnsafeBufferPointer { stored in
            while true {
                let id = slots[slot]
                if id < 0 { return nil }
                let start = offsets[Int(id)], end = offsets[Int(id) + 1]
                if end - start == key.count + prefix
                    && (prefix == 0 || (stored[start] == 0x23 && stored[start + 1] == 0x23))
                    && Vocabulary.equal(stored, start + prefix, key) {
                    return id
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func id(of token: String) -> Int32? {
        var token = token
        return token.withUTF8 { id(of: $0, continuation: false) }
    }

    @inline(__always)
    private static func equal(_ stored: UnsafeBufferPointer<UInt8>, _ start: Int,
                              _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<key.count where stored[start + i] != key[i] { return false }
        return true
    }

    private static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    /// The hash state after "##", so a continuation lookup hashes as if the prefix were there.
    private static let continuationSeed: UInt64 = fnv1a([0x23, 0x23], seed: fnvOffset)

    @inline(__always)
    private static func fnv1a<C: Collection>(_ key: C, seed: UInt64) -> UInt64 where C.Element == UInt8 {
        var h = seed
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    private init(tokens: [String], bytes: [UInt8], offsets: [Int], slots: [Int32]) {
        self.tokens = tokens
        self.bytes = bytes
        self.offsets = offsets
        self.slots = slots
    }
}
