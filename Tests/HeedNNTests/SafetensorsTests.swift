import Foundation
import Glibc
import XCTest
import Heed
import HeedNN
import HeedTestSupport

// MARK: - Building files by hand

/// Little-endian bytes of integers (and, through `bitPattern`, of floats).
func leBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
}

/// A safetensors file from a header text and a byte buffer; `length` forges the length prefix.
func rawSafetensors(_ header: String, _ buffer: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let json = Array(header.utf8)
    return leBytes([length ?? UInt64(json.count)]) + json + buffer
}

/// A well-formed file whose tensors are laid out back to back in the given order.
func makeSafetensors(_ entries: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])],
                     metadata: String? = nil) -> [UInt8] {
    var members = metadata.map { ["\"__metadata__\":\($0)"] } ?? []
    var buffer: [UInt8] = []
    for e in entries {
        members.append("\"\(e.name)\":{\"dtype\":\"\(e.dtype)\",\"shape\":\(e.shape),\"data_offsets\":[\(buffer.count),\(buffer.count + e.bytes.count)]}")
        buffer += e.bytes
    }
    return rawSafetensors("{" + members.joined(separator: ",") + "}", buffer)
}

func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

/// A fresh directory, removed by the returned closure.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("heed-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    return url
}

final class SafetensorsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    private func assertError(_ bytes: [UInt8], _ expected: SafetensorsError,
                             file: StaticString = #filePath, line: UInt = #line) {
        assertError(bytes, file: file, line: line) { $0 == expected }
    }

    /// Opening `bytes` (labelled "bad.st") must throw an error that `matches` and names the file.
    private func assertError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line,
                             _ matches: (SafetensorsError) -> Bool) {
        do {
            let f = try SafetensorsFile(bytes: bytes, label: "bad.st")
            XCTFail("opened a malformed file: \(f.tensors)", file: file, line: line)
        } catch {
            XCTAssertTrue(matches(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix("bad.st: "), "message does not name the file: \(error)", file: file, line: line)
        }
    }

    // MARK: Round trip

    func testRoundTripKeepsNamesShapesBitsAndMetadata() throws {
        let special: [Float] = [.infinity, -.infinity, -0.0, Float(bitPattern: 1), Float(bitPattern: 0x7FC0_1234),
                                .greatestFiniteMagnitude]
        let tensors: [(String, Tensor)] = [
            ("layer.weight", Tensor((0..<6).map { Float($0) * 0.37 - 1 }, shape: [2, 3])),
            ("special", Tensor(special, shape: [6])),
            ("scalar", Tensor.scalar(2.5)),
            ("empty", Tensor.zeros([0, 3])),
            ("empty.inner", Tensor.zeros([4, 0, 2])),
            // A non-contiguous view is written in its own row-major order.
            ("transposed", Tensor((0..<6).map(Float.init), shape: [2, 3]).transposed()),
            ("needs.grad", Tensor([1, 2, 3]).requiringGrad()),
        ]
        let metadata = ["epoch": "3", "note": "quote \" backslash \\ newline \n tab \t bell \u{07} é ✓ 😀"]
        let url = directory.appendingPathComponent("model.safetensors")
        try SafetensorsFile.write(tensors, metadata: metadata, to: url)

        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(Set(file.names), Set(tensors.map(\.0)))
        for (name, t) in tensors {
            let info = try XCTUnwrap(file.info(name), name)
            XCTAssertEqual(info.dtype, .f32, name)
            XCTAssertEqual(info.shape, t.shape, name)
            let read = try file.tensor(name)
            XCTAssertEqual(read.shape, t.shape, name)
            XCTAssertEqual(bits(read), bits(t), name)
        }
        XCTAssertEqual(try file.tensor("transposed").scalars, [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(try listing(), ["model.safetensors"], "no temporary file left behind")
    }

    func testHeaderIsSortedPaddedAndIndependentOfOrder() throws {
        let a = directory.appendingPathComponent("a.safetensors"), b = directory.appendingPathComponent("b.safetensors")
        let tensors: [(String, Tensor)] = [("b", Tensor([1, 2])), ("a", Tensor.scalar(3)), ("Z", Tensor([4]))]
        try SafetensorsFile.write(tensors, metadata: ["z": "1", "k": "v"], to: a)
        try SafetensorsFile.write(tensors.reversed(), metadata: ["k": "v", "z": "1"], to: b)
        let bytes = try [UInt8](Data(contentsOf: a))
        XCTAssertEqual(bytes, try [UInt8](Data(contentsOf: b)), "same tensors, same bytes")

        // __metadata__ first (as the reference library writes it), then names in byte order.
        let json = #"{"__metadata__":{"k":"v","z":"1"},"Z":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},"#
            + #""a":{"data_offsets":[4,8],"dtype":"F32","shape":[]},"b":{"data_offsets":[8,16],"dtype":"F32","shape":[2]}}"#
        let padded = json + String(repeating: " ", count: (8 - json.utf8.count % 8) % 8)
        XCTAssertEqual(padded.utf8.count % 8, 0)
        XCTAssertEqual(bytes, leBytes([UInt64(padded.utf8.count)]) + Array(padded.utf8)
                       + leBytes([Float(4), 3, 1, 2].map(\.bitPattern)))
    }

    // MARK: Decoding other dtypes

    func testDecodesHalfPrecisionAgainstHandComputedValues() throws {
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125), (0x7BFF, 65504),
            (0x0400, 0x1p-14),           // smallest normal
            (0x0001, 0x1p-24),           // smallest subnormal
            (0x03FF, 1023 * 0x1p-24),    // largest subnormal
            (0x8001, -0x1p-24), (0x8000, -0.0), (0x7C00, .infinity), (0xFC00, -.infinity),
            (0x7E00, Float(bitPattern: 0x7FC0_0000)),   // quiet NaN
            (0x7C01, Float(bitPattern: 0x7F80_2000)),   // signalling NaN, payload kept
        ]
        let file = try SafetensorsFile(bytes: makeSafetensors([("h", "F16", [cases.count], leBytes(cases.map(\.0)))]))
        XCTAssertEqual(bits(try file.tensor("h")), cases.map(\.1.bitPattern))
    }

    /// Every one of the 65 536 half values against Swift's own Float16 conversion.
    func testDecodesEveryHalfValueLikeFloat16() throws {
        #if !(os(macOS) && arch(x86_64))  // Float16 is unavailable there
        let all = (0...UInt16.max).map { $0 }
        let got = try SafetensorsFile(bytes: makeSafetensors([("h", "F16", [all.count], leBytes(all))])).tensor("h").scalars
        for (h, g) in zip(all, got) {
            let want = Float(Float16(bitPattern: h))
            if want.isNaN { XCTAssertTrue(g.isNaN, "0x\(String(h, radix: 16))"); continue }
            XCTAssertEqual(g.bitPattern, want.bitPattern, "0x\(String(h, radix: 16))")
        }
        #endif
    }

    func testDecodesBFloat16AgainstHandComputedValues() throws {
        let cases: [(UInt16, Float)] = [
            (0x3F80, 1), (0xC000, -2), (0x4049, 3.140625), (0x7F7F, 0x1.FEp127), (0x0001, 0x1p-133),
            (0x8000, -0.0), (0x7F80, .infinity), (0xFF80, -.infinity), (0x7FC0, Float(bitPattern: 0x7FC0_0000)),
        ]
        let file = try SafetensorsFile(bytes: makeSafetensors([("b", "BF16", [3, 3], leBytes(cases.map(\.0)))]))
        let t = try file.tensor("b")
        XCTAssertEqual(t.shape, [3, 3])
        XCTAssertEqual(bits(t), cases.map(\.1.bitPattern))
    }

    func testDecodesDoublesAndExactIntegers() throws {
        let file = try SafetensorsFile(bytes: makeSafetensors([
            ("f64", "F64", [4], leBytes([1.5, -2, 0.1, 1e300].map { (d: Double) in d.bitPattern })),
            ("i64", "I64", [3], leBytes([Int64(-3), 1 << 24, -(1 << 53)])),
            ("i32", "I32", [2], leBytes([Int32(-7), 1 << 30])),
            ("i16", "I16", [2], leBytes([Int16.min, .max])),
            ("i8", "I8", [2], leBytes([Int8.min, .max])),
            ("u8", "U8", [2], [0, 255]),
            ("u16", "U16", [1], leBytes([UInt16.max])),
            ("u32", "U32", [1], leBytes([UInt32(1) << 31])),
            ("u64", "U64", [1], leBytes([UInt64(1) << 63])),
            ("bool", "BOOL", [2], [0, 1]),
        ]))
        // F64 rounds to nearest, overflowing to infinity, as PyTorch's .float() does.
        XCTAssertEqual(try file.tensor("f64").scalars, [1.5, -2, Float(0.1 as Double), .infinity])
        XCTAssertEqual(try file.tensor("i64").scalars, [-3, 0x1p24, -0x1p53])
        XCTAssertEqual(try file.tensor("i32").scalars, [-7, 0x1p30])
        XCTAssertEqual(try file.tensor("i16").scalars, [-32768, 32767])
        XCTAssertEqual(try file.tensor("i8").scalars, [-128, 127])
        XCTAssertEqual(try file.tensor("u8").scalars, [0, 255])
        XCTAssertEqual(try file.tensor("u16").scalars, [65535])
        XCTAssertEqual(try file.tensor("u32").scalars, [0x1p31])
        XCTAssertEqual(try file.tensor("u64").scalars, [0x1p63])
        XCTAssertEqual(try file.tensor("bool").scalars, [0, 1])
    }

    func testRefusesIntegersWithoutExactFloatValue() throws {
        let file = try SafetensorsFile(bytes: makeSafetensors([
            ("i64", "I64", [2], leBytes([Int64(1), (1 << 24) + 1])),
            ("bool", "BOOL", [3], [1, 0, 2]),
        ]), label: "ints.st")
        XCTAssertThrowsError(try file.tensor("i64")) {
            XCTAssertEqual($0 as? SafetensorsError, .elementNotConvertible(file: "ints.st", name: "i64", dtype: "I64", index: 1, value: "16777217"))
        }
        XCTAssertThrowsError(try file.tensor("bool")) {
            XCTAssertEqual($0 as? SafetensorsError, .elementNotConvertible(file: "ints.st", name: "bool", dtype: "BOOL", index: 2, value: "2"))
        }
    }

    func testKnownButUnconvertibleDtypeOpensAndRefusesOnlyThatTensor() throws {
        let file = try SafetensorsFile(bytes: makeSafetensors([
            ("f8", "F8_E4M3", [2], [0x38, 0x40]), ("ok", "F32", [1], leBytes([Float(5).bitPattern])),
        ]), label: "f8.st")
        XCTAssertEqual(file.info("f8")?.dtype, .f8E4M3)
        XCTAssertThrowsError(try file.tensor("f8")) {
            XCTAssertEqual($0 as? SafetensorsError, .unsupportedDtype(file: "f8.st", name: "f8", dtype: "F8_E4M3"))
        }
        XCTAssertEqual(try file.tensor("ok").scalars, [5])
        XCTAssertThrowsError(try file.tensor("nope")) {
            XCTAssertEqual($0 as? SafetensorsError, .tensorNotFound(file: "f8.st", name: "nope"))
        }
    }

    /// Files other writers produce: no padding (so elements are unaligned), leading whitespace,
    /// extra fields, null metadata, escaped names, no tensors at all.
    func testAcceptsValidVariants() throws {
        let half = leBytes([UInt16(0x3C00), 0xC000])
        let unaligned = try SafetensorsFile(bytes: rawSafetensors(
            #"  {"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4],"extra":[1,{"y":null}]},"__metadata__":null}"#
            + "\n\t ", half))
        XCTAssertEqual(try unaligned.tensor("x").scalars, [1, -2])
        XCTAssertEqual(unaligned.metadata, [:])
        let escaped = try SafetensorsFile(bytes: rawSafetensors(
            #"{"caf\u00e9 \ud83d\ude00":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, leBytes([Float(1).bitPattern])))
        XCTAssertEqual(escaped.names, ["café 😀"])
        XCTAssertEqual(try SafetensorsFile(bytes: rawSafetensors("{}")).tensors, [])
    }

    // MARK: Malformed files

    func testMalformedFilesThrowTheRightError() {
        let f32 = #""dtype":"F32""#
        assertError([1, 2, 3, 4, 5], .fileTooSmall(file: "bad.st", size: 5))
        assertError([], .fileTooSmall(file: "bad.st", size: 0))
        assertError(rawSafetensors("{}", length: 1000), .headerLengthInvalid(file: "bad.st", length: 1000, fileSize: 10))
        assertError(rawSafetensors("{}", length: .max), .headerLengthInvalid(file: "bad.st", length: .max, fileSize: 10))
        assertError(rawSafetensors("{}", length: 200_000_000)) { $0.description.contains("100 MB") }

        func notJSON(_ header: [UInt8], _ reason: String, line: UInt = #line) {
            assertError(leBytes([UInt64(header.count)]) + header, line: line) {
                if case .headerNotJSON(_, let r) = $0 { r.contains(reason) } else { false }
            }
        }
        notJSON(Array("{not json}".utf8), "expected a string key")
        notJSON(Array(#"{"a":{}} x"#.utf8), "after the JSON value")
        notJSON([], "unexpected end")
        notJSON(Array(#"{"a":1,}"#.utf8), "expected a string key")
        notJSON(Array(#"{"a":01}"#.utf8), "expected ','")
        notJSON(Array("{\"\u{01}\":1}".utf8), "control character")
        notJSON(Array(#"{"\ud800":1}"#.utf8), "lone surrogate")
        notJSON([UInt8(ascii: "{"), UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\""), UInt8(ascii: ":"), UInt8(ascii: "1"), UInt8(ascii: "}")], "UTF-8")
        notJSON(Array((String(repeating: "[", count: 100_000)).utf8), "nesting deeper")  // no stack overflow

        func invalid(_ header: String, _ reason: String, _ buffer: [UInt8] = [], line: UInt = #line) {
            assertError(rawSafetensors(header, buffer), line: line) {
                if case .headerInvalid(_, let r) = $0 { r.contains(reason) } else { false }
            }
        }
        invalid("[]", "not a JSON object")
        invalid(#"{"a":[]}"#, "'a' is not an object")
        invalid(#"{"a":{"shape":[],"data_offsets":[0,4]}}"#, "no 'dtype'", [0, 0, 0, 0])
        invalid(#"{"a":{\#(f32),"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, "more than one 'dtype'", [0, 0, 0, 0])
        invalid(#"{"a":{\#(f32),"shape":[1.0],"data_offsets":[0,4]}}"#, "non-negative integers", [0, 0, 0, 0])
        invalid(#"{"a":{\#(f32),"shape":[-1],"data_offsets":[0,4]}}"#, "non-negative integers", [0, 0, 0, 0])
        invalid(#"{"a":{\#(f32),"shape":[1],"data_offsets":[0,99999999999999999999]}}"#, "non-negative integers")
        invalid(#"{"a":{\#(f32),"shape":[1],"data_offsets":[0]}}"#, "2 numbers")
        invalid(#"{"a":{\#(f32),"shape":[1],"data_offsets":[4,0]}}"#, "end before", [0, 0, 0, 0])
        invalid(#"{"a":{\#(f32),"shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0]}}"#, "too large")
        invalid(#"{"__metadata__":{"k":1}}"#, "not a string")
        invalid(#"{"__metadata__":{"k":"a","k":"b"}}"#, "appears twice")

        assertError(rawSafetensors(#"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, .init(repeating: 0, count: 16)),
                    .unknownDtype(file: "bad.st", name: "a", dtype: "F128"))
        assertError(rawSafetensors(#"{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}"#, [0]),
                    .unknownDtype(file: "bad.st", name: "a", dtype: "F4"))
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[3],"data_offsets":[0,8]}}"#, .init(repeating: 0, count: 8)),
                    .shapeSizeMismatch(file: "bad.st", name: "a", shape: [3], dtype: "F32", byteCount: 8))
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[100],"data_offsets":[0,400]}}"#, .init(repeating: 0, count: 8)),
                    .offsetsOutsideFile(file: "bad.st", name: "a", begin: 0, end: 400, bufferSize: 8))
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[2],"data_offsets":[0,8]},"b":{\#(f32),"shape":[2],"data_offsets":[4,12]}}"#,
                                   .init(repeating: 0, count: 12)),
                    .overlappingTensors(file: "bad.st", first: "a", second: "b"))
        // Two names for the same bytes (the aliasing trick) is an overlap too.
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[1],"data_offsets":[0,4]},"b":{\#(f32),"shape":[1],"data_offsets":[0,4]}}"#,
                                   .init(repeating: 0, count: 4)),
                    .overlappingTensors(file: "bad.st", first: "a", second: "b"))
        assertError(rawSafetensors(#"{"b":{\#(f32),"shape":[1],"data_offsets":[8,12]},"a":{\#(f32),"shape":[1],"data_offsets":[0,4]}}"#,
                                   .init(repeating: 0, count: 12)),
                    .gapBetweenTensors(file: "bad.st", previous: "a", next: "b", gapBegin: 4, gapEnd: 8))
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[1],"data_offsets":[4,8]}}"#, .init(repeating: 0, count: 8)),
                    .gapBetweenTensors(file: "bad.st", previous: nil, next: "a", gapBegin: 0, gapEnd: 4))
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[1],"data_offsets":[0,4]}}"#, .init(repeating: 0, count: 8)),
                    .bufferNotCovered(file: "bad.st", covered: 4, bufferSize: 8))
        assertError(rawSafetensors(#"{"a":{\#(f32),"shape":[0],"data_offsets":[0,0]},"a":{\#(f32),"shape":[0],"data_offsets":[0,0]}}"#),
                    .duplicateName(file: "bad.st", name: "a"))
    }

    func testTruncatedFilesOnDiskThrow() throws {
        let url = directory.appendingPathComponent("whole.safetensors")
        try SafetensorsFile.write([("a", Tensor([1, 2])), ("b", Tensor([3, 4, 5]))], to: url)
        let whole = try [UInt8](Data(contentsOf: url))
        let dataStart = whole.count - 20
        let cut = directory.appendingPathComponent("cut.safetensors")
        for (keep, expected) in [
            (whole.count - 1, SafetensorsError.offsetsOutsideFile(file: cut.path, name: "b", begin: 8, end: 20, bufferSize: 19)),
            (dataStart - 3, .headerLengthInvalid(file: cut.path, length: UInt64(dataStart - 8), fileSize: dataStart - 3)),
            (7, .fileTooSmall(file: cut.path, size: 7)),
            (0, .fileTooSmall(file: cut.path, size: 0)),
        ] {
            try Data(whole.prefix(keep)).write(to: cut)
            XCTAssertThrowsError(try SafetensorsFile(contentsOf: cut), "\(keep) bytes") {
                XCTAssertEqual($0 as? SafetensorsError, expected)
            }
        }
    }

    func testOpeningWhatIsNotAFileThrows() {
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: directory.appendingPathComponent("absent"))) {
            XCTAssertEqual($0 as? SafetensorsError, .io(file: directory.appendingPathComponent("absent").path, operation: "open", code: ENOENT))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: directory)) {
            XCTAssertEqual($0 as? SafetensorsError, .notARegularFile(file: directory.path, kind: "a directory"))
        }
    }

    // MARK: Fuzzing

    /// Random and mutated inputs must be refused with an error or accepted consistently,
    /// never trap. A trap would end the test process, so reaching the end is the assertion.
    func testRandomAndMutatedInputsNeverTrap() {
        var rng = Xoshiro256(seed: 2024)
        var accepted = 0, rejected = 0
        func run(_ bytes: [UInt8]) {
            guard let file = try? SafetensorsFile(bytes: bytes) else { rejected += 1; return }
            accepted += 1
            var covered = 0
            for info in file.tensors {
                covered += info.byteRange.count
                XCTAssertEqual(info.shape.reduce(1, *) * info.dtype.byteSize, info.byteRange.count, info.name)
                if let t = try? file.tensor(info.name) { XCTAssertEqual(t.shape, info.shape) }
            }
            let headerEnd = 8 + bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
            XCTAssertEqual(headerEnd + covered, bytes.count, "accepted tensors must tile the buffer")
        }

        // 1. Byte flips, insertions, deletions, truncations and forged lengths of valid files.
        let seeds = [
            makeSafetensors([("a", "F32", [2], leBytes([Float(1).bitPattern, Float(2).bitPattern])),
                             ("b", "F16", [1, 2], leBytes([UInt16(0x3C00), 0x7E00])),
                             ("e", "BF16", [0, 2], [])], metadata: #"{"k":"v"}"#),
            makeSafetensors([("i", "I64", [2], leBytes([Int64(-1), 1 << 40])), ("s", "BOOL", [], [1]), ("u", "U8", [3], [1, 2, 3])]),
        ]
        for _ in 0..<3000 {
            var b = seeds[Int(rng.next() % 2)]
            for _ in 0..<(1 + rng.next() % 4) {
                let i = Int(rng.next() % UInt64(max(b.count, 1)))
                switch rng.next() % 6 {
                case 0, 1: if i < b.count { b[i] = UInt8(truncatingIfNeeded: rng.next()) }
                case 2: if i < b.count { b[i] = Array("{}[]\":,0123456789-.e \\u".utf8).randomElement(using: &rng)! }
                case 3: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: min(i, b.count))
                case 4: if i < b.count { b.remove(at: i) }
                default: b = Array(b.prefix(i))
                }
            }
            if rng.next() % 8 == 0, b.count >= 8 {
                b.replaceSubrange(0..<8, with: leBytes([rng.next() % UInt64(b.count + 4)]))
            }
            run(b)
        }

        // 2. Mostly well-formed layouts of random tensors; half of them then get one field replaced by
        //    a plausible wrong value, a duplicated name, a tensor moved, or a byte too many or
        //    too few.
        let dtypes: [(String, Int)] = [("F32", 4), ("F16", 2), ("BF16", 2), ("I64", 8), ("BOOL", 1), ("U8", 1),
                                       ("F8_E5M2", 1), ("C64", 8)]
        let wrong = ["-1", "1.5", "1e3", "9223372036854775807", "18446744073709551616", "4611686018427387904",
                     "\"4\"", "null", "[]", "[0]", "0", "3", "{}"]
        for _ in 0..<3000 {
            var fields: [[String]] = []  // per tensor, JSON texts: name, dtype, shape, begin, end
            var offset = 0
            for k in 0..<Int(rng.next() % 4) {
                // Now and then a hole before a tensor, or a second name for the previous bytes.
                if k > 0 && rng.next() % 8 == 0 { fields.append(["\"t\(k)\""] + fields[k - 1][1...]); continue }
                if rng.next() % 8 == 0 { offset += 1 + Int(rng.next() % 4) }
                let (dtype, size) = dtypes.randomElement(using: &rng)!
                let shape = (0..<Int(rng.next() % 3)).map { _ in Int(rng.next() % 4) }
                let byteCount = shape.reduce(1, *) * size
                fields.append(["\"t\(k)\"", "\"\(dtype)\"", "\(shape)", "\(offset)", "\(offset + byteCount)"])
                offset += byteCount
            }
            var buffer = (0..<offset).map { _ in UInt8(rng.next() % 3) }  // mostly valid BOOLs too
            if rng.next() % 2 == 0 {
                let i = Int(rng.next() % UInt64(max(fields.count, 1)))
                switch rng.next() % 5 {
                case 0 where !fields.isEmpty: fields[i][1 + Int(rng.next() % 4)] = wrong.randomElement(using: &rng)!
                case 1 where !fields.isEmpty: fields[i][0] = fields.randomElement(using: &rng)![0]
                case 2 where !fields.isEmpty:  // slide one tensor: overlaps, gaps, out of range
                    let d = Int(rng.next() % 9) - 4
                    for j in 3...4 { fields[i][j] = String(Int(fields[i][j])! + d) }
                case 3: buffer.append(0)
                default: if !buffer.isEmpty { buffer.removeLast() }
                }
            }
            let members = fields.map { "\($0[0]):{\"dtype\":\($0[1]),\"shape\":\($0[2]),\"data_offsets\":[\($0[3]),\($0[4])]}" }
            run(rawSafetensors("{" + members.joined(separator: ",") + "}", buffer))
        }
        XCTAssertGreaterThan(accepted, 1000, "the fuzzer should also produce valid files")
        XCTAssertGreaterThan(rejected, 2000)
    }

    // MARK: Atomic writes

    func testFailuresLeaveThePreviousFileAndNoTemporaryFile() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        try SafetensorsFile.write([("w", Tensor([1, 2, 3]))], to: url)
        let previous = try Data(contentsOf: url)

        for (tensors, reason) in [([("", Tensor([1]))], "empty"),
                                  ([("__metadata__", Tensor([1]))], "reserved for the metadata"),
                                  ([("w", Tensor([1])), ("w", Tensor([2]))], "appears more than once")] {
            XCTAssertThrowsError(try SafetensorsFile.write(tensors, to: url)) {
                XCTAssertEqual($0 as? SafetensorsError, .invalidName(file: url.path, name: tensors[0].0, reason: reason))
            }
        }
        XCTAssertEqual(try Data(contentsOf: url), previous)
        XCTAssertEqual(try listing(), ["model.safetensors"])

        // Writing stops halfway (the file size limit makes write(2) fail with EFBIG after 4 KB).
        let big = Tensor.randomUniform([10_000], seed: 1)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)  // otherwise the signal ends the process
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var small = limit
        small.rlim_cur = 4096
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
        let result = Result { try SafetensorsFile.write([("w", big)], to: url) }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        signal(SIGXFSZ, oldHandler)
        XCTAssertThrowsError(try result.get()) {
            guard case .io(url.path, let operation, EFBIG)? = $0 as? SafetensorsError else { return XCTFail("\($0)") }
            XCTAssertTrue(operation.hasPrefix("write to \(directory.path)/.model.safetensors.tmp-"), operation)
        }
        XCTAssertEqual(try Data(contentsOf: url), previous, "the previous checkpoint survives")
        XCTAssertEqual(try listing(), ["model.safetensors"], "the temporary file is removed")

        // The rename fails: the target is a non-empty directory.
        let blocked = directory.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        try Data([1]).write(to: blocked.appendingPathComponent("inside"))
        XCTAssertThrowsError(try SafetensorsFile.write([("w", Tensor([1]))], to: blocked)) {
            guard case .io(blocked.path, let operation, _)? = $0 as? SafetensorsError else { return XCTFail("\($0)") }
            XCTAssertTrue(operation.hasPrefix("rename"), operation)
        }
        XCTAssertEqual(try listing(), ["blocked", "model.safetensors"])

        let nowhere = directory.appendingPathComponent("missing/model.safetensors")
        XCTAssertThrowsError(try SafetensorsFile.write([("w", Tensor([1]))], to: nowhere)) {
            guard case .io(nowhere.path, _, ENOENT)? = $0 as? SafetensorsError else { return XCTFail("\($0)") }
        }
    }

    // MARK: Interoperability with the reference (Python) library

    /// Made by Tests/Fixtures/make_safetensors_fixtures.py with safetensors 0.8.0; the expected
    /// values are the ones that script writes.
    func testReadsFileWrittenByPythonLibrary() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/python_fixture.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, ["format": "np", "producer": "make_safetensors_fixtures.py"])
        XCTAssertEqual(Set(file.names), ["f32", "f16", "bf16", "scalar", "empty", "layers.0.weight"])
        let expected: [(String, SafetensorsDtype, [Int], [Float])] = [
            ("f32", .f32, [2, 3], [1.5, -2.25, 0, 1024, .greatestFiniteMagnitude, -0.0]),
            ("f16", .f16, [8], [1, -2, 0.5, 65504, 0x1p-14, 0x1p-24, .infinity, -.infinity]),
            ("bf16", .bf16, [2, 3], [1, -2, 3.140625, .infinity, 0x1p-133, -0.0]),
            ("scalar", .f32, [], [42]),
            ("empty", .f32, [0, 4], []),
            ("layers.0.weight", .f32, [3, 2], [0, 0.25, 0.5, 0.75, 1, 1.25]),
        ]
        for (name, dtype, shape, values) in expected {
            XCTAssertEqual(file.info(name)?.dtype, dtype, name)
            let t = try file.tensor(name)
            XCTAssertEqual(t.shape, shape, name)
            XCTAssertEqual(bits(t), values.map(\.bitPattern), name)
        }
    }

    /// The tensors Tests/Fixtures/verify_heed_file.py expects (keep the two in step).
    static var interopTensors: [(String, Tensor)] { [
        ("blocks.0.attn.query.weight", Tensor((0..<12).map { Float($0) / 8 - 0.75 }, shape: [3, 4])),
        ("blocks.0.attn.query.bias", Tensor([0.125, -0.5, 3])),
        ("special", Tensor([0x7F80_0000, 0xFF80_0000, 0x8000_0000, 0x0000_0001, 0x7FC0_0000, 0x7F7F_FFFF]
                            .map { Float(bitPattern: $0) }, shape: [2, 3])),
        ("scalar", Tensor.scalar(2.5)),
        ("empty", Tensor.zeros([0, 3])),
        (#"name "with" quotes\and é"#, Tensor([1, 2])),
    ] }
    static let interopMetadata = ["epoch": "3", "format": "pt", "note": "line1\nline2 \"quoted\" é ✓"]

    /// Writes the interop file and reads it back. With HEED_SAFETENSORS_EXPORT=path it is also
    /// written there, for verify_heed_file.py to check with the reference library.
    func testInteropFileRoundTrips() throws {
        let url = directory.appendingPathComponent("interop.safetensors")
        try SafetensorsFile.write(Self.interopTensors, metadata: Self.interopMetadata, to: url)
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, Self.interopMetadata)
        for (name, t) in Self.interopTensors { XCTAssertEqual(bits(try file.tensor(name)), bits(t), name) }
        if let export = ProcessInfo.processInfo.environment["HEED_SAFETENSORS_EXPORT"] {
            try SafetensorsFile.write(Self.interopTensors, metadata: Self.interopMetadata, to: URL(fileURLWithPath: export))
        }
    }
}
