import Glibc

/// Why a safetensors file could not be read or written. Every case names the file (its path, or
/// the label given to an in-memory buffer) and, where there is one, the tensor.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// Shorter than the 8-byte header length.
    case fileTooSmall(file: String, size: Int)
    /// The header length is larger than the file or than the 100 MB the reference library allows.
    case headerLengthInvalid(file: String, length: UInt64, fileSize: Int)
    /// The header is not valid UTF-8 JSON.
    case headerNotJSON(file: String, reason: String)
    /// Valid JSON, but not a safetensors header (wrong types, missing fields, bad numbers).
    case headerInvalid(file: String, reason: String)
    /// A tensor name appears twice (the JSON allows it, the format does not).
    case duplicateName(file: String, name: String)
    /// A dtype string this reader does not know, so its byte layout cannot be checked.
    case unknownDtype(file: String, name: String, dtype: String)
    /// A known dtype that has no conversion to Float32 here (F8_*, C64).
    case unsupportedDtype(file: String, name: String, dtype: String)
    /// `shape` × the dtype's size is not the byte length `data_offsets` give.
    case shapeSizeMismatch(file: String, name: String, shape: [Int], dtype: String, byteCount: Int)
    /// `data_offsets` reach past the end of the byte buffer (a truncated file, or a bad header).
    case offsetsOutsideFile(file: String, name: String, begin: Int, end: Int, bufferSize: Int)
    case overlappingTensors(file: String, first: String, second: String)
    /// Bytes that belong to no tensor before `next` (the format requires tensors to tile the buffer).
    case gapBetweenTensors(file: String, previous: String?, next: String, gapBegin: Int, gapEnd: Int)
    /// Bytes after the last tensor.
    case bufferNotCovered(file: String, covered: Int, bufferSize: Int)
    /// An integer element with no exact Float32 value (|v| > 2²⁴ and not a multiple of the
    /// spacing there), or a BOOL byte that is neither 0 nor 1. Never silently rounded.
    case elementNotConvertible(file: String, name: String, dtype: String, index: Int, value: String)
    case tensorNotFound(file: String, name: String)
    /// Refused by the writer before anything was written.
    case invalidName(file: String, name: String, reason: String)
    /// A system call failed; `code` is its errno.
    case io(file: String, operation: String, code: Int32)
    /// The path names a directory, a FIFO, a device…: refused before anything blocks on it.
    case notARegularFile(file: String, kind: String)

    public var description: String {
        switch self {
        case let .fileTooSmall(file, size):
            return "\(file): \(size) bytes is too small for a safetensors file (the header length alone takes 8)"
        case let .headerLengthInvalid(file, length, fileSize):
            let why = length > UInt64(SafetensorsFile.maxHeaderLength)
                ? "exceeds the \(SafetensorsFile.maxHeaderLength / 1_000_000) MB limit"
                : "does not fit in the file of \(fileSize) bytes"
            return "\(file): header length \(length) \(why)"
        case let .headerNotJSON(file, reason):
            return "\(file): header is not valid JSON: \(reason)"
        case let .headerInvalid(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .duplicateName(file, name):
            return "\(file): name '\(name)' appears more than once in the header"
        case let .unknownDtype(file, name, dtype):
            return "\(file): tensor '\(name)' has unknown dtype '\(dtype)'"
        case let .unsupportedDtype(file, name, dtype):
            return "\(file): tensor '\(name)' has dtype \(dtype), which Heed cannot convert to Float32"
        case let .shapeSizeMismatch(file, name, shape, dtype, byteCount):
            return "\(file): tensor '\(name)' of shape \(shape) and dtype \(dtype) does not fill its \(byteCount) bytes"
        case let .offsetsOutsideFile(file, name, begin, end, bufferSize):
            return "\(file): tensor '\(name)' has data_offsets [\(begin), \(end)] outside the \(bufferSize)-byte buffer (truncated file?)"
        case let .overlappingTensors(file, first, second):
            return "\(file): tensors '\(first)' and '\(second)' overlap"
        case let .gapBetweenTensors(file, previous, next, gapBegin, gapEnd):
            let after = previous.map { "between '\($0)' and" } ?? "before"
            return "\(file): bytes [\(gapBegin), \(gapEnd)) \(after) '\(next)' belong to no tensor"
        case let .bufferNotCovered(file, covered, bufferSize):
            return "\(file): tensors cover \(covered) of the \(bufferSize) buffer bytes; the rest belongs to no tensor"
        case let .elementNotConvertible(file, name, dtype, index, value):
            let why = dtype == "BOOL" ? "is neither 0 nor 1" : "has no exact Float32 value"
            return "\(file): element [\(index)] = \(value) of tensor '\(name)' (\(dtype)) \(why)"
        case let .tensorNotFound(file, name):
            return "\(file): no tensor named '\(name)'"
        case let .invalidName(file, name, reason):
            return "\(file): cannot write tensor name '\(name)': \(reason)"
        case let .io(file, operation, code):
            return "\(file): \(operation) failed: \(String(cString: strerror(code)))"
        case let .notARegularFile(file, kind):
            return "\(file): is \(kind), not a regular file"
        }
    }

    /// A `RegularFile` failure as the safetensors reader reports it.
    init(_ failure: RegularFile.Failure, file: String) {
        switch failure {
        case let .system(operation, code): self = .io(file: file, operation: operation, code: code)
        case let .notRegular(kind): self = .notARegularFile(file: file, kind: kind)
        case .tooLarge: self = .io(file: file, operation: failure.reason, code: EFBIG)
        }
    }
}
