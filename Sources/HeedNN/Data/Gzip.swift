import CZlib

/// Whole-file gzip decompression through zlib (no `gunzip` process).
enum Gzip {
    /// Whether `bytes` start with gzip's magic number 1f 8b (the content decides, not the name).
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// zlib's counters are 32-bit: feed and drain at most this many bytes per `inflate` call.
    private static let chunk = 1 << 30

    /// The decompressed contents of a whole .gz file. Concatenated members are joined, as
    /// `gunzip` does; anything else after the last member, a bad CRC or an early end throws
    /// `corruptGzip` naming `file`.
    static func decompress(_ input: [UInt8], file: String) throws(DataError) -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: the largest window, and the gzip (or zlib) wrapper detected from the header.
        guard czlib_inflateInit2(&stream, 15 + 32) == Z_OK else {
            throw .corruptGzip(file: file, reason: "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }

        var out = [UInt8](repeating: 0, count: sizeHint(input))
        var produced = 0
        let failure: String? = input.withUnsafeBufferPointer { inBuf in
            var fed = 0  // bytes of `inBuf` handed to zlib so far
            while true {
                if stream.avail_in == 0 && fed < inBuf.count {
                    let n = min(inBuf.count - fed, chunk)
                    stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + fed)
                    stream.avail_in = UInt32(n)
                    fed += n
                }
                if produced == out.count {
                    out.append(contentsOf: repeatElement(0, count: max(out.count, 1 << 16)))
                }
                let room = min(out.count - produced, chunk)
                let rc = out.withUnsafeMutableBufferPointer { o in
                    stream.next_out = o.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                produced += room - Int(stream.avail_out)
                let unread = fed - Int(stream.avail_in)  // position of the next unread byte
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if unread == inBuf.count { return nil }
                    if unread + 1 < inBuf.count && inBuf[unread] == 0x1F && inBuf[unread + 1] == 0x8B {
                        inflateReset(&stream)  // another member; keeps next_in/avail_in
                        continue
                    }
                    return "\(inBuf.count - unread) bytes after the end of the gzip stream"
                case Z_BUF_ERROR where unread == inBuf.count:
                    return "truncated: the stream stops after \(inBuf.count) compressed bytes"
                case Z_DATA_ERROR:
                    return stream.msg.map { String(cString: $0) } ?? "invalid deflate data"
                case Z_NEED_DICT:
                    return "the stream needs a preset dictionary"
                case Z_MEM_ERROR:
                    return "zlib ran out of memory"
                default:
                    return "zlib error \(rc) at compressed byte \(unread)"
                }
            }
        }
        if let failure { throw .corruptGzip(file: file, reason: failure) }
        out.removeLast(out.count - produced)
        return out
    }

    /// The initial output size: gzip's trailer stores the uncompressed size mod 2³² (exact for
    /// one member under 4 GiB). It is only a hint, since the bytes may be corrupt, so it is
    /// trusted up to a 64× ratio; past that the buffer grows by doubling.
    private static func sizeHint(_ input: [UInt8]) -> Int {
        guard input.count >= 18 else { return 1 << 12 }
        let n = input.count
        let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        return max(1 << 12, min(isize, 64 * n))
    }
}
