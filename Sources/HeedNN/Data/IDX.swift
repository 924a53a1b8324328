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
    /// The header and the elements, as stored (decompressed); the elements start at `headerCount`.
    private let bytes: [UInt8]
    private let headerCount: Int

    /// The number of elements (stored: `shape.reduce(1, *)` could overflow before a zero size).
    public let count: Int

    public var magic: UInt32 { UInt32(elementType.rawValue) << 8 | UInt32(shape.count) }

    /// The elements' bytes as stored: row-major, big-endian. No copy.
    public var payload: ArraySlice<UInt8> { bytes[headerCount...] }

    /// Reads an IDX file, plain or gzip-compressed (told apart by gzip's magic number 1f 8b,
    /// never a valid IDX start).
    ///
    /// Header first: `expecting(type, shape)` runs on the header alone and may throw (a
    /// dataset that wants [n, 28, 28] images refuses anything else before a byte of data is
    /// read); a plain file's size is checked against the header before the elements are
    /// allocated; a gzipped file is inflated only as far as the header says the data goes.
    public init(contentsOf url: URL,
                expecting: ((ElementType, [Int]) throws(DataError) -> Void)? = nil) throws(DataError) {
        let source: RegularFile
        do { source = try RegularFile(url.path) } catch { throw DataError(error, file: url.path) }
        var magic = FileStream(source: source, offset: 0)
        var head: [UInt8] = []
        _ = try magic.append(upTo: 2, to: &head)
        var plain = FileStream(source: source, offset: 0)
        if Gzip.isGzip(head) {
            var inflated = try GzipStream(plain)
            try self.init(&inflated, knownSize: nil, expecting: expecting)
        } else {
            try self.init(&plain, knownSize: source.size, expecting: expecting)
        }
    }

    /// Parses the bytes of an IDX file, plain or gzip-compressed; `file` names the source in errors.
    public init(bytes: [UInt8], file: String,
                expecting: ((ElementType, [Int]) throws(DataError) -> Void)? = nil) throws(DataError) {
        var plain = MemoryStream(bytes: bytes, file: file)
        if Gzip.isGzip(bytes) {
            var inflated = try GzipStream(plain)
            try self.init(&inflated, knownSize: nil, expecting: expecting)
        } else {
            try self.init(&plain, knownSize: bytes.count, expecting: expecting)
        }
    }

    /// How far past the expected end a stream of unknown size is read to count trailing bytes.
    static let trailingScanLimit = 1 << 26

    /// `knownSize`: the stream's total length when it is known up front (plain files).
    private init<S: ByteStream>(_ stream: inout S, knownSize: Int?,
                                expecting: ((ElementType, [Int]) throws(DataError) -> Void)?) throws(DataError) {
        let file = stream.file
        var bytes: [UInt8] = []
        _ = try stream.append(upTo: 4, to: &bytes)
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
        _ = try stream.append(upTo: 4 * rank, to: &bytes)
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
        try expecting?(type, shape)
        if let knownSize {
            if knownSize < expected { throw .truncated(file: file, expected: expected, actual: knownSize) }
            if knownSize > expected { throw .trailingBytes(file: file, expected: expected, actual: knownSize) }
            bytes.reserveCapacity(expected)
        }
        _ = try stream.append(upTo: expected - headerCount, to: &bytes)
        if bytes.count < expected { throw .truncated(file: file, expected: expected, actual: bytes.count) }
        let extra = try stream.skip(upTo: IDXArray.trailingScanLimit)
        if extra > 0 { throw .trailingBytes(file: file, expected: expected, actual: expected + extra) }
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

private func bigEndianUInt32(_ b: [UInt8], at i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

private func bigEndianUInt32(_ p: UnsafePointer<UInt8>) -> UInt32 {
    UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
}
