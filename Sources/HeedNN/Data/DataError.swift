/// Why a dataset file could not be read. Every case names the file and the reason, so the message
/// alone says what to fix; malformed bytes always end here, never in a crash.
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// No file at `path`; `hint` says how to get it.
    case fileNotFound(path: String, hint: String)
    /// The file exists but could not be read (a directory, no permission, an I/O error).
    case unreadable(file: String, reason: String)
    /// The first four bytes are not the IDX magic that was expected.
    case badMagic(file: String, found: UInt32, expected: String)
    /// The magic's third byte is not one of IDX's element type codes.
    case unsupportedType(file: String, typeCode: UInt8)
    /// The (decompressed) contents are shorter than the header says.
    case truncated(file: String, expected: Int, actual: Int)
    /// The (decompressed) contents are longer than the header says. A gzipped file is read at
    /// most `IDXArray.trailingScanLimit` bytes past the expected end, so `actual` is then a
    /// lower bound.
    case trailingBytes(file: String, expected: Int, actual: Int)
    /// A well-formed IDX array of the wrong shape for the dataset (e.g. images not 28×28).
    case unexpectedShape(file: String, found: [Int], expected: String)
    case countMismatch(imagesFile: String, images: Int, labelsFile: String, labels: Int)
    case labelOutOfRange(file: String, index: Int, value: Int, classCount: Int)
    /// A data split with no examples: training or evaluating on it would report made-up numbers.
    case emptySplit(file: String)
    /// zlib rejected the stream, or it ended early.
    case corruptGzip(file: String, reason: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path, hint):
            return "\(path): file not found. \(hint)"
        case let .unreadable(file, reason):
            return "\(file): cannot read the file: \(reason)"
        case let .badMagic(file, found, expected):
            return "\(file): not the expected IDX file: magic number \(hex(found)), expected \(expected)"
        case let .unsupportedType(file, code):
            return "\(file): IDX element type code \(hex(code)) is not one of "
                + "0x08 (u8), 0x09 (i8), 0x0B (i16), 0x0C (i32), 0x0D (f32), 0x0E (f64)"
        case let .truncated(file, expected, actual):
            let need = expected == .max ? "more bytes than can be addressed" : "\(expected) bytes"
            return "\(file): truncated: the IDX header calls for \(need), the data has \(actual)"
        case let .trailingBytes(file, expected, actual):
            // A stream of unknown length is read only `trailingScanLimit` bytes past the end.
            let extra = actual - expected
            let count = extra >= IDXArray.trailingScanLimit ? "at least \(extra)" : "\(extra)"
            let has = extra >= IDXArray.trailingScanLimit ? "at least \(actual)" : "\(actual)"
            return "\(file): \(count) unexpected bytes after the data: "
                + "the IDX header calls for \(expected) bytes, the data has \(has)"
        case let .unexpectedShape(file, found, expected):
            return "\(file): the array has shape \(found), expected \(expected)"
        case let .countMismatch(imagesFile, images, labelsFile, labels):
            return "\(imagesFile) has \(images) images but \(labelsFile) has \(labels) labels"
        case let .labelOutOfRange(file, index, value, classCount):
            return "\(file): label \(value) at index \(index) is outside 0..<\(classCount)"
        case let .emptySplit(file):
            return "\(file): holds no examples (an empty split cannot be trained or evaluated on)"
        case let .corruptGzip(file, reason):
            return "\(file): corrupt gzip data: \(reason)"
        }
    }
}

/// `0x00000803`-style hex, zero-padded to the width of the type.
func hex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
}
