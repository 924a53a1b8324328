import CZlib

/// gzip decompression through zlib (no `gunzip` process), as a stream: the reader pulls what it
/// needs, so a gzip bomb inflates only as far as the IDX header says the data goes, and the
/// trailer's claimed size is never trusted for an allocation.
enum Gzip {
    /// Whether `bytes` start with gzip's magic number 1f 8b (the content decides, not the name).
    static func isGzip<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var i = bytes.makeIterator()
        return i.next() == 0x1F && i.next() == 0x8B
    }
}

/// The inflated bytes of a gzip stream read from `Source`. Concatenated members are joined, as
/// `gunzip` does; anything else after the last member, a bad CRC or an early end throws
/// `corruptGzip` naming the file.
final class GzipStream<Source: ByteStream>: ByteStream {
    private var source: Source
    /// zlib keeps a pointer back to its z_stream, so the struct must not move: it lives on the heap.
    private let stream: UnsafeMutablePointer<z_stream>
    /// Compressed bytes from `source`; zlib reads `avail_in` of them at `next_in`.
    private let input: UnsafeMutableRawBufferPointer
    /// Compressed bytes taken from `source` so far.
    private var consumed = 0
    private var sourceEnded = false
    private var finished = false

    var file: String { source.file }

    init(_ source: Source, inputChunk: Int = 1 << 18) throws(DataError) {
        self.source = source
        // Room for two bytes at least: a member's end checks the next two for gzip's magic.
        input = .allocate(byteCount: max(inputChunk, 2), alignment: 16)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 32: the largest window, and the gzip (or zlib) wrapper detected from the header.
        guard czlib_inflateInit2(stream, 15 + 32) == Z_OK else {
            stream.deallocate()
            input.deallocate()
            throw .corruptGzip(file: source.file, reason: "zlib could not start inflating")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        var produced = 0
        while produced < buffer.count && !finished {
            if stream.pointee.avail_in == 0 && !sourceEnded { try refill() }
            // At most 1 GiB per call: zlib's counters are 32-bit.
            let room = min(buffer.count - produced, 1 << 30)
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
            stream.pointee.avail_out = UInt32(room)
            let rc = inflate(stream, Z_NO_FLUSH)
            produced += room - Int(stream.pointee.avail_out)
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                try endOfMember()
            case Z_BUF_ERROR where stream.pointee.avail_in == 0 && sourceEnded:
                throw corrupt("truncated: the stream stops after \(consumed) compressed bytes")
            case Z_BUF_ERROR:
                continue  // no progress possible without more input or room: the loop refills
            case Z_DATA_ERROR:
                throw corrupt(stream.pointee.msg.map { String(cString: $0) } ?? "invalid deflate data")
            case Z_NEED_DICT:
                throw corrupt("the stream needs a preset dictionary")
            case Z_MEM_ERROR:
                throw corrupt("zlib ran out of memory")
            default:
                throw corrupt("zlib error \(rc) at compressed byte \(consumed - Int(stream.pointee.avail_in))")
            }
        }
        return produced
    }

    /// Hands zlib more compressed bytes, after the ones it has not read yet (moved to the front).
    private func refill() throws(DataError) {
        let kept = Int(stream.pointee.avail_in)
        if kept > 0 { input.baseAddress!.copyMemory(from: UnsafeRawPointer(stream.pointee.next_in!), byteCount: kept) }
        let k = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: input[kept...]))
        if k == 0 { sourceEnded = true }
        consumed += k
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = UInt32(kept + k)
    }

    /// A member ended: another member follows, or the input must end here.
    private func endOfMember() throws(DataError) {
        // Two bytes tell whether another member starts (its magic may straddle a refill).
        if stream.pointee.avail_in < 2 && !sourceEnded { try refill() }
        let left = Int(stream.pointee.avail_in)
        if left == 0 { finished = true; return }
        let next = stream.pointee.next_in!
        if left >= 2 && next[0] == 0x1F && next[1] == 0x8B {
            inflateReset(stream)  // keeps next_in / avail_in
            return
        }
        // Count what is left for the message: compressed input is bounded by the file's size.
        let rest = try source.skip(upTo: .max)
        throw corrupt("\(left + rest) bytes after the end of the gzip stream")
    }

    private func corrupt(_ reason: String) -> DataError { .corruptGzip(file: source.file, reason: reason) }
}
