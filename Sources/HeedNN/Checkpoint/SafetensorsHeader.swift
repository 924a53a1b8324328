/// The checked contents of a safetensors header: every rule of the format is enforced here,
/// once, when a file is opened.
struct SafetensorsHeader {
    typealias TensorInfo = SafetensorsFile.TensorInfo

    /// Offset of the byte buffer in the file: 8 + the header length.
    let dataStart: Int
    let metadata: [String: String]
    /// Sorted by offset.
    let tensors: [TensorInfo]

    init(_ bytes: UnsafeRawBufferPointer, file: String) throws(SafetensorsError) {
        func invalid(_ reason: String) -> SafetensorsError { .headerInvalid(file: file, reason: reason) }

        guard bytes.count >= 8 else { throw .fileTooSmall(file: file, size: bytes.count) }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * k) }  // little-endian on any host
        guard length <= UInt64(SafetensorsFile.maxHeaderLength), length <= UInt64(bytes.count - 8) else {
            throw .headerLengthInvalid(file: file, length: length, fileSize: bytes.count)
        }
        dataStart = 8 + Int(length)
        let bufferSize = bytes.count - dataStart

        let json: JSONValue
        do {
            json = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        } catch {
            throw .headerNotJSON(file: file, reason: error.reason)
        }
        guard case .object(let members) = json else { throw invalid("the header is not a JSON object") }

        // Swift compares strings by canonical equivalence, so two names that differ only in
        // Unicode normalisation also count as duplicates: they could not be told apart by name.
        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        for member in members {
            let (name, value) = (member.key, member.value)
            guard seen.insert(name).inserted else { throw .duplicateName(file: file, name: name) }
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value, invalid)
            } else {
                tensors.append(try Self.parseTensor(name, value, bufferSize: bufferSize, file: file, invalid))
            }
        }
        self.metadata = metadata
        self.tensors = try Self.checkTiling(tensors, bufferSize: bufferSize, file: file)
    }

    /// `{"key": "value", …}`: the reference library accepts only strings (or no metadata).
    private static func parseMetadata(_ value: JSONValue, _ invalid: (String) -> SafetensorsError)
        throws(SafetensorsError) -> [String: String] {
        if case .null = value { return [:] }
        guard case .object(let pairs) = value else { throw invalid("__metadata__ is not an object") }
        var out: [String: String] = [:]
        for pair in pairs {
            let (key, v) = (pair.key, pair.value)
            guard case .string(let s) = v else { throw invalid("__metadata__ value of '\(key)' is not a string") }
            guard out.updateValue(s, forKey: key) == nil else { throw invalid("__metadata__ key '\(key)' appears twice") }
        }
        return out
    }

    private static func parseTensor(_ name: String, _ value: JSONValue, bufferSize: Int, file: String,
                                    _ invalid: (String) -> SafetensorsError) throws(SafetensorsError) -> TensorInfo {
        guard case .object(let fields) = value else { throw invalid("tensor '\(name)' is not an object") }
        // Other fields are ignored, as the reference library does.
        func field(_ key: String) throws(SafetensorsError) -> JSONValue {
            let matches = fields.filter { $0.key == key }
            guard matches.count == 1 else {
                throw invalid("tensor '\(name)' has \(matches.isEmpty ? "no" : "more than one") '\(key)'")
            }
            return matches[0].value
        }
        func integers(_ key: String) throws(SafetensorsError) -> [Int] {
            guard case .array(let items) = try field(key) else { throw invalid("tensor '\(name)': '\(key)' is not an array") }
            var out: [Int] = []
            for item in items {
                // Integers only, written plainly: "2.0", "2e0", "-1" and anything past Int.max are refused.
                guard case .number(let text) = item, !text.hasPrefix("-"), let v = Int(text) else {
                    throw invalid("tensor '\(name)': '\(key)' holds something other than non-negative integers")
                }
                out.append(v)
            }
            return out
        }

        guard case .string(let dtypeName) = try field("dtype") else { throw invalid("tensor '\(name)': 'dtype' is not a string") }
        guard let dtype = SafetensorsDtype(rawValue: dtypeName) else {
            throw .unknownDtype(file: file, name: name, dtype: dtypeName)
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else { throw invalid("tensor '\(name)': 'data_offsets' does not hold 2 numbers") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw invalid("tensor '\(name)': data_offsets [\(begin), \(end)] end before they begin") }
        guard end <= bufferSize else {
            throw .offsetsOutsideFile(file: file, name: name, begin: begin, end: end, bufferSize: bufferSize)
        }

        // Π max(d, 1) must fit an Int even for an empty tensor: strides are computed from it.
        var padded = 1
        for d in shape {
            let (p, overflow) = padded.multipliedReportingOverflow(by: max(d, 1))
            guard !overflow else { throw invalid("tensor '\(name)': shape \(shape) is too large") }
            padded = p
        }
        let count = shape.contains(0) ? 0 : padded
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, byteCount == end - begin else {
            throw .shapeSizeMismatch(file: file, name: name, shape: shape, dtype: dtypeName, byteCount: end - begin)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// The tensors must tile the buffer exactly: sorted by offset, each begins where the
    /// previous one ended, and the last ends at the end of the file. This also rules out two
    /// names aliasing the same bytes.
    private static func checkTiling(_ tensors: [TensorInfo], bufferSize: Int, file: String)
        throws(SafetensorsError) -> [TensorInfo] {
        let sorted = tensors.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound)
        }
        var cursor = 0
        var previous: String? = nil
        for t in sorted {
            if t.byteRange.lowerBound < cursor {
                throw .overlappingTensors(file: file, first: previous ?? "?", second: t.name)
            }
            if t.byteRange.lowerBound > cursor {
                throw .gapBetweenTensors(file: file, previous: previous, next: t.name,
                                         gapBegin: cursor, gapEnd: t.byteRange.lowerBound)
            }
            cursor = t.byteRange.upperBound
            previous = t.name
        }
        guard cursor == bufferSize else { throw .bufferNotCovered(file: file, covered: cursor, bufferSize: bufferSize) }
        return sorted
    }
}
