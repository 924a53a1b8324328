import Foundation
import Heed

/// An array read from an IDX file, the format of MNIST and Fashion-MNIST.
///
/// Layout: a 4-byte magic `00 00 TT RR` (TT the element type code, RR the number of
/// dimensions), then RR big-endian UInt32 sizes, then the elements in row-major order,
/// big-endian. Images are `0x00000803` (u8, [n, rows, cols]); labels `0x00000801` (u8, [n]).
public struct IDXArray: Sendable {
    public enum ElementType: UInt8, Sendable {
        case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

        public var byteCount: Int {
            switch self {
            case .uint8, .int8: 1
            case .int16: 2
            case .int32, .float32: 4
            case .float64: 8
            }
        }
    }

    public let elementType: ElementType
    public let shape: [Int]
    /// The whole file (decompressed); the elements start at `headerCount`.
    private let bytes: [UInt8]
    private let headerCount: Int

    /// The number of elements (stored: `shape.reduce(1, *)` could overflow before a zero size).
    public let count: Int

    public var magic: UInt32 { UInt32(elementType.rawValue) << 8 | UInt32(shape.count) }

    /// The elements' bytes as stored: row-major, big-endian. No copy.
    public var payload: ArraySlice<UInt8> { bytes[headerCount...] }

    /// Reads an IDX file, plain or gzip-compressed.
    public init(contentsOf url: URL) throws(DataError) {
        try self.init(bytes: readFile(url, missingHint: "Check the path."), file: url.path)
    }

    /// Parses the bytes of an IDX file, plain or gzip-compressed (told apart by gzip's magic
    /// number 1f 8b, never a valid IDX start); `file` names the source in errors.
    public init(bytes: [UInt8], file: String) throws(DataError) {
        let bytes = Gzip.isGzip(bytes) ? try Gzip.decompress(bytes, file: file) : bytes
        guard bytes.count >= 4 else { throw .truncated(file: file, expected: 4, actual: bytes.count) }
        guard bytes[0] == 0 && bytes[1] == 0 else {
            throw .badMagic(file: file, found: bigEndianUInt32(bytes, at: 0),
                            expected: "0x0000TTRR (TT a type code, RR the number of dimensions)")
        }
        guard let type = ElementType(rawValue: bytes[2]) else {
            throw .unsupportedType(file: file, typeCode: bytes[2])
        }
        let rank = Int(bytes[3])
        let headerCount = 4 + 4 * rank
        guard bytes.count >= headerCount else {
            throw .truncated(file: file, expected: headerCount, actual: bytes.count)
        }
        let shape = (0..<rank).map { Int(bigEndianUInt32(bytes, at: 4 + 4 * $0)) }
        // Up to 255 sizes of up to 2³² − 1 each: the product can overflow Int. Saturating is
        // exact here: a saturated total only shrinks again through a zero size, and then is 0.
        var total = type.byteCount
        for d in shape {
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            total = overflow ? .max : p
        }
        let expected = total > Int.max - headerCount ? Int.max : headerCount + total
        if bytes.count < expected { throw .truncated(file: file, expected: expected, actual: bytes.count) }
        if bytes.count > expected { throw .trailingBytes(file: file, expected: expected, actual: bytes.count) }
        self.elementType = type
        self.shape = shape
        self.bytes = bytes
        self.headerCount = headerCount
        self.count = total / type.byteCount
    }

    /// Every element converted to Float (exact for the 8- and 16-bit types; i32 and f64 round).
    public func floats() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { b in
            let p = b.baseAddress! + headerCount
            for i in 0..<out.count {
                switch elementType {
                case .uint8: out[i] = Float(p[i])
                case .int8: out[i] = Float(Int8(bitPattern: p[i]))
                case .int16: out[i] = Float(Int16(bitPattern: UInt16(p[2 * i]) << 8 | UInt16(p[2 * i + 1])))
                case .int32: out[i] = Float(Int32(bitPattern: bigEndianUInt32(p + 4 * i)))
                case .float32: out[i] = Float(bitPattern: bigEndianUInt32(p + 4 * i))
                case .float64:
                    let bits = UInt64(bigEndianUInt32(p + 8 * i)) << 32 | UInt64(bigEndianUInt32(p + 8 * i + 4))
                    out[i] = Float(Double(bitPattern: bits))
                }
            }
        }
        return out
    }

    /// Every element as an Int. Integer element types only (a programmer error otherwise).
    public func ints() -> [Int] {
        check(elementType != .float32 && elementType != .float64,
              "IDXArray.ints: the elements are \(elementType), not integers")
        return bytes.withUnsafeBufferPointer { b in
            let p = b.baseAddress! + headerCount
            return (0..<count).map { i in
                switch elementType {
                case .uint8: Int(p[i])
                case .int8: Int(Int8(bitPattern: p[i]))
                case .int16: Int(Int16(bitPattern: UInt16(p[2 * i]) << 8 | UInt16(p[2 * i + 1])))
                default: Int(Int32(bitPattern: bigEndianUInt32(p + 4 * i)))
                }
            }
        }
    }
}

/// The bytes of `url`. A missing file throws `fileNotFound` carrying `missingHint`; other
/// failures `unreadable` with the system's reason (POSIX calls: Foundation's errors on Linux
/// say only "NSCocoaErrorDomain error 256").
func readFile(_ url: URL, missingHint: String) throws(DataError) -> [UInt8] {
    let path = url.path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
        let e = errno
        if e == ENOENT { throw .fileNotFound(path: path, hint: missingHint) }
        throw .unreadable(file: path, reason: String(cString: strerror(e)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var filled = 0
    while filled < bytes.count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
        if n == 0 { break }  // the file shrank while being read
        filled += n
    }
    bytes.removeLast(bytes.count - filled)
    return bytes
}

private func bigEndianUInt32(_ b: [UInt8], at i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

private func bigEndianUInt32(_ p: UnsafePointer<UInt8>) -> UInt32 {
    UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
}
