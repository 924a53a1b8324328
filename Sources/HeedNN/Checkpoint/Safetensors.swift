import Foundation
import Glibc
import Heed

#if _endian(big)
#error("safetensors data is little-endian; this reader loads elements in the host's byte order")
#endif

/// The element types of the safetensors format (the reference library's names). Sub-byte types
/// (F4, F6_*) are not listed: their byte sizes cannot be checked the same way, so such files are
/// refused as `unknownDtype`.
public enum SafetensorsDtype: String, CaseIterable, Sendable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8E5M2 = "F8_E5M2", f8E4M3 = "F8_E4M3", f8E8M0 = "F8_E8M0"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case i64 = "I64", u64 = "U64", f64 = "F64", c64 = "C64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .i64, .u64, .f64, .c64: 8
        }
    }

    /// Whether `SafetensorsFile.tensor(_:)` converts it to Float32. Floats convert as PyTorch's
    /// `.float()` does (F16 and BF16 exactly, F64 rounded to nearest); integers and BOOL only
    /// when every element is exactly representable, otherwise reading throws. The 8-bit floats
    /// and complex numbers have no Heed meaning yet.
    public var isConvertibleToFloat32: Bool {
        switch self {
        case .f8E5M2, .f8E4M3, .f8E8M0, .c64: false
        default: true
        }
    }
}

/// A safetensors file (the checkpoint format of PyTorch and Hugging Face), opened and checked.
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …,
/// "__metadata__": {"key": "value"}}`, then the byte buffer the offsets point into.
///
/// Everything is validated when the file is opened — header length, JSON, types, dtypes,
/// shapes against byte lengths (overflow-checked), offsets against the buffer, and that the
/// tensors tile the buffer with no gap or overlap — so no input bytes can make a later read go
/// out of bounds. Tensors are decoded on request from a read-only memory map.
///
/// The map assumes the file is not truncated while open (the kernel would raise SIGBUS);
/// `write` never truncates: it renames a new file over the old one, so a reader of the
/// previous checkpoint keeps its intact copy.
public struct SafetensorsFile: Sendable {
    public struct TensorInfo: Equatable, Sendable {
        public let name: String
        public let dtype: SafetensorsDtype
        public let shape: [Int]
        /// Byte range in the data buffer (relative to its start, as in `data_offsets`).
        public let byteRange: Range<Int>
    }

    /// The reference library's limit: parsing a larger header is a denial of service, not a model.
    public static let maxHeaderLength = 100_000_000

    /// The path, or the label of an in-memory buffer; used in error messages.
    public let file: String
    /// `__metadata__`: free-form string pairs (training step, format, …).
    public let metadata: [String: String]
    /// Every tensor, in buffer order.
    public let tensors: [TensorInfo]
    private let index: [String: Int]
    private let bytes: ByteStore
    private let dataStart: Int

    public var names: [String] { tensors.map(\.name) }

    public func info(_ name: String) -> TensorInfo? { index[name].map { tensors[$0] } }

    /// Maps the file read-only and validates it.
    public init(contentsOf url: URL) throws(SafetensorsError) {
        try self.init(bytes: ByteStore(mapping: url.path), file: url.path)
    }

    /// Validates bytes already in memory (copied); `label` stands for the file in errors.
    public init(bytes: [UInt8], label: String = "<memory>") throws(SafetensorsError) {
        try self.init(bytes: ByteStore(copying: bytes), file: label)
    }

    private init(bytes: ByteStore, file: String) throws(SafetensorsError) {
        let header = try SafetensorsHeader(bytes.buffer, file: file)
        self.file = file
        self.bytes = bytes
        self.dataStart = header.dataStart
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.index = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    /// The elements of `name` as stored, for a tensor whose dtype is `info(name).dtype` and as
    /// wide as T (int8 codes as Int8, bf16 bits as UInt16): no conversion.
    public func rawValues<T>(_ name: String, as type: T.Type) throws(SafetensorsError) -> [T] {
        guard let info = info(name) else { throw .tensorNotFound(file: file, name: name) }
        check(info.dtype.byteSize == MemoryLayout<T>.size,
              "SafetensorsFile.rawValues: '\(name)' is \(info.dtype.rawValue), not \(MemoryLayout<T>.size)-byte elements")
        let count = info.shape.reduce(1, *)
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 {
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(
                    from: bytes.buffer.baseAddress! + dataStart + info.byteRange.lowerBound, byteCount: count * MemoryLayout<T>.size)
            }
            initialized = count
        }
    }

    /// The tensor called `name`, converted to a new Float32 tensor (no autograd history).
    public func tensor(_ name: String) throws(SafetensorsError) -> Tensor {
        guard let info = info(name) else { throw .tensorNotFound(file: file, name: name) }
        guard info.dtype.isConvertibleToFloat32 else {
            throw .unsupportedDtype(file: file, name: name, dtype: info.dtype.rawValue)
        }
        let out = Tensor.zeros(info.shape)
        // Nothing to decode; and Heed does not count an empty [4, 0, 2] as contiguous, so it
        // refuses it a mutable buffer.
        if out.count == 0 { return out }
        let src = UnsafeRawBufferPointer(rebasing: bytes.buffer[(dataStart + info.byteRange.lowerBound)...]
                                                       .prefix(info.byteRange.count))
        // The buffer accessor rethrows untyped errors, so decoding reports its failure as a value.
        if let failure = out.withUnsafeMutableBufferPointer({ decode(info, src, into: $0) }) { throw failure }
        return out
    }

    /// Converts `src` (exactly count × dtype size bytes, checked at open) into `dst`; returns
    /// the error of the first element that has no Float32 value. Loads are unaligned: other
    /// writers do not pad the header to the element size.
    private func decode(_ info: TensorInfo, _ src: UnsafeRawBufferPointer,
                        into dst: UnsafeMutableBufferPointer<Float>) -> SafetensorsError? {
        let n = dst.count
        switch info.dtype {
        case .f32:
            if n > 0 { UnsafeMutableRawPointer(dst.baseAddress!).copyMemory(from: src.baseAddress!, byteCount: 4 * n) }
        case .f16:
            for i in 0..<n { dst[i] = floatFromHalf(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            // BF16 is the top half of a Float32: widening is a shift, exact for every value.
            for i in 0..<n { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .f64:
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .bool:
            for i in 0..<n {
                let b = src[i]
                guard b <= 1 else { return notConvertible(info, i, String(b)) }
                dst[i] = Float(b)
            }
        case .u8: return integers(UInt8.self, info, src, dst)
        case .i8: return integers(Int8.self, info, src, dst)
        case .i16: return integers(Int16.self, info, src, dst)
        case .u16: return integers(UInt16.self, info, src, dst)
        case .i32: return integers(Int32.self, info, src, dst)
        case .u32: return integers(UInt32.self, info, src, dst)
        case .i64: return integers(Int64.self, info, src, dst)
        case .u64: return integers(UInt64.self, info, src, dst)
        case .f8E5M2, .f8E4M3, .f8E8M0, .c64:
            return .unsupportedDtype(file: file, name: info.name, dtype: info.dtype.rawValue)
        }
        return nil
    }

    private func integers<I: FixedWidthInteger>(_: I.Type, _ info: TensorInfo, _ src: UnsafeRawBufferPointer,
                                                 _ dst: UnsafeMutableBufferPointer<Float>) -> SafetensorsError? {
        for i in 0..<dst.count {
            let v = src.loadUnaligned(fromByteOffset: i * MemoryLayout<I>.size, as: I.self)
            guard let f = Float(exactly: v) else { return notConvertible(info, i, String(v)) }
            dst[i] = f
        }
        return nil
    }

    private func notConvertible(_ info: TensorInfo, _ index: Int, _ value: String) -> SafetensorsError {
        .elementNotConvertible(file: file, name: info.name, dtype: info.dtype.rawValue, index: index, value: value)
    }
}

/// IEEE 754 binary16 → binary32, exact for every input (NaN payloads kept).
@inline(__always)
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    switch exponent {
    case 0x1F:  // inf / NaN
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    case 0:     // zero / subnormal: mantissa · 2⁻²⁴, exact in Float32
        let magnitude = Float(mantissa) * 0x1p-24
        return sign != 0 ? -magnitude : magnitude
    default:    // rebias the exponent from 15 to 127
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}

/// The file's bytes: a private read-only mapping, or an owned copy. Unmapped or freed with the
/// last `SafetensorsFile` that uses it.
final class ByteStore: @unchecked Sendable {  // immutable after init
    let buffer: UnsafeRawBufferPointer
    private let isMapped: Bool

    init(copying bytes: [UInt8]) {
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { p.copyMemory(from: $0) }
        buffer = UnsafeRawBufferPointer(p)
        isMapped = false
    }

    init(mapping path: String) throws(SafetensorsError) {
        let file: RegularFile
        do { file = try RegularFile(path) } catch { throw SafetensorsError(error, file: path) }
        // The mapping outlives the descriptor, which `file` closes.
        let size = file.size
        // mmap cannot map 0 bytes, and nothing shorter than the length prefix is a file anyway.
        guard size >= 8 else { throw .fileTooSmall(file: path, size: size) }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, file.descriptor, 0)
        guard let p, p != MAP_FAILED else { throw .io(file: path, operation: "mmap", code: errno) }
        buffer = UnsafeRawBufferPointer(start: p, count: size)
        isMapped = true
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count)
        } else {
            buffer.deallocate()
        }
    }
}
