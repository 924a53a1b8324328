/// Bytes read in order, a buffer at a time: a file as it is read, bytes in memory, or what
/// gzip inflates from either. Readers pull exactly what the format's header says they need,
/// so nothing is allocated for data that is not there.
protocol ByteStream {
    /// The label errors name (the path, or what the caller called an in-memory buffer).
    var file: String { get }
    /// Fills as much of `buffer` as the stream has; returns the count, fewer than asked only at
    /// the end of the stream (0 once it is over).
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int
}

extension ByteStream {
    /// Up to `count` bytes, appended to `bytes` in chunks of at most `chunk`: the array grows
    /// with the data that really arrives, never to a size a header only claims.
    mutating func append(upTo count: Int, to bytes: inout [UInt8], chunk: Int = 1 << 22) throws(DataError) -> Int {
        try forEachChunk(upTo: count, chunk: chunk) { bytes += $0 }
    }

    /// Reads and discards up to `limit` bytes; returns how many there were.
    mutating func skip(upTo limit: Int) throws(DataError) -> Int {
        try forEachChunk(upTo: limit, chunk: 1 << 16) { _ in }
    }

    /// Reads up to `limit` bytes through one scratch buffer of at most `chunk`, handing each
    /// chunk to `body`; returns the count read (fewer only at the end of the stream).
    private mutating func forEachChunk(upTo limit: Int, chunk: Int, _ body: (ArraySlice<UInt8>) -> Void) throws(DataError) -> Int {
        var scratch = [UInt8](repeating: 0, count: min(limit, chunk))
        var got = 0
        while got < limit {
            let want = min(limit - got, scratch.count)
            let n = scratch.withUnsafeMutableBytes { s in
                Result { () throws(DataError) in try read(into: UnsafeMutableRawBufferPointer(rebasing: s[..<want])) }
            }
            let k = try n.get()
            if k == 0 { break }
            body(scratch[..<k])
            got += k
        }
        return got
    }
}

/// A regular file read sequentially from an offset.
struct FileStream: ByteStream {
    let source: RegularFile
    var offset: Int

    var file: String { source.path }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        let n: Int
        do { n = try source.read(into: buffer, at: offset) } catch { throw DataError(error, file: file) }
        offset += n
        return n
    }
}

/// Bytes already in memory.
struct MemoryStream: ByteStream {
    let bytes: [UInt8]
    let file: String
    var offset = 0

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n > 0 {
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
        }
        offset += n
        return n
    }
}

extension DataError {
    /// A `RegularFile` failure as the dataset readers report it.
    init(_ failure: RegularFile.Failure, file: String, missingHint: String = "Check the path.") {
        self = failure.isMissing ? .fileNotFound(path: file, hint: missingHint) : .unreadable(file: file, reason: failure.reason)
    }
}
