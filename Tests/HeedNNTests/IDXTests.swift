import CZlib
import Foundation
import Heed
import HeedNN
import XCTest

/// IDX files and Fashion-MNIST: small files generated into a temp directory, plain and gzipped
/// (gzip made here with zlib's deflate), every error case, mutated bytes, and the real test split
/// when Debian's dataset-fashion-mnist is installed.
final class IDXTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("heed-idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(at: dir) }

    @discardableResult
    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Asserts that `body` throws `expected` and that the message names the file.
    func assertThrows(_ expected: DataError, file: StaticString = #filePath, line: UInt = #line,
                      _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("no error; expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error as? DataError, expected, file: file, line: line)
        }
    }

    // MARK: reading

    func testPlainU8Images() throws {
        let a = try IDXArray(bytes: idx(0x08, [3, 2, 2], Array(0..<12)), file: "x")
        XCTAssertEqual(a.magic, 0x0803)
        XCTAssertEqual(a.elementType, .uint8)
        XCTAssertEqual(a.shape, [3, 2, 2])
        XCTAssertEqual(Array(a.payload), Array(0..<12))
        XCTAssertEqual(a.floats(), (0..<12).map(Float.init))
        XCTAssertEqual(a.ints(), Array(0..<12))
    }

    func testGzipIsDetectedByContentNotName() throws {
        let plain = idx(0x08, [4, 3], (0..<12).map { UInt8($0 * 20) })
        let gz = try write(gzip(plain), "images-no-extension")
        let raw = try write(plain, "misleading.gz")
        for url in [gz, raw] {
            let a = try IDXArray(contentsOf: url)
            XCTAssertEqual(a.shape, [4, 3], url.lastPathComponent)
            XCTAssertEqual(Array(a.payload), Array(plain[12...]), url.lastPathComponent)
        }
    }

    func testConcatenatedGzipMembersAreJoined() throws {
        let plain = idx(0x08, [300], (0..<300).map { UInt8($0 % 251) })
        let url = try write(gzip(Array(plain[..<100])) + gzip(Array(plain[100...])), "two-members")
        XCTAssertEqual(Array(try IDXArray(contentsOf: url).payload), Array(plain[8...]))
    }

    func testLargeGzipGrowsPastItsSizeHint() throws {
        // Highly compressible, so the trailer's size exceeds the 64× trust limit of the hint.
        let payload = [UInt8](repeating: 7, count: 1 << 20)
        let url = try write(gzip(idx(0x08, [1 << 20], payload)), "big.gz")
        XCTAssertEqual(Array(try IDXArray(contentsOf: url).payload), payload)
    }

    func testSignedAndFloatTypesAreBigEndian() throws {
        XCTAssertEqual(try IDXArray(bytes: idx(0x09, [2], [0x80, 0x7F]), file: "i8").ints(), [-128, 127])
        XCTAssertEqual(try IDXArray(bytes: idx(0x0B, [2], [0xFF, 0xFE, 0x01, 0x2C]), file: "i16").ints(), [-2, 300])
        let i32 = try IDXArray(bytes: idx(0x0C, [2], [0xFF, 0xFE, 0xEE, 0x90, 0x7F, 0xFF, 0xFF, 0xFF]), file: "i32")
        XCTAssertEqual(i32.ints(), [-70000, Int(Int32.max)])
        let f32 = try IDXArray(bytes: idx(0x0D, [2], [0x3F, 0xC0, 0, 0, 0xBE, 0x80, 0, 0]), file: "f32")
        XCTAssertEqual(f32.floats(), [1.5, -0.25])
        let f64 = try IDXArray(bytes: idx(0x0E, [1, 1], [0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18]), file: "f64")
        XCTAssertEqual(f64.shape, [1, 1])
        XCTAssertEqual(f64.floats(), [Float(Double.pi)])
    }

    func testEmptyArray() throws {
        let a = try IDXArray(bytes: idx(0x08, [0, 28, 28], []), file: "empty")
        XCTAssertEqual(a.shape, [0, 28, 28])
        XCTAssertEqual(a.floats(), [])
    }

    // MARK: errors

    func testBadMagic() {
        var b = idx(0x08, [2], [1, 2])
        b[0] = 0x12
        assertThrows(.badMagic(file: "f", found: 0x1200_0801,
                               expected: "0x0000TTRR (TT a type code, RR the number of dimensions)")) {
            _ = try IDXArray(bytes: b, file: "f")
        }
        let message = DataError.badMagic(file: "f", found: 0x1200_0801, expected: "x").description
        XCTAssertTrue(message.hasPrefix("f: ") && message.contains("0x12000801"), message)
    }

    func testUnsupportedType() {
        assertThrows(.unsupportedType(file: "f", typeCode: 0x0A)) { _ = try IDXArray(bytes: idx(0x0A, [1], [0]), file: "f") }
    }

    func testTruncatedHeader() {
        // Rank 3 needs 4 + 12 header bytes; only two sizes are present.
        let b = Array(idx(0x08, [2, 2, 2], Array(repeating: 0, count: 8))[..<12])
        assertThrows(.truncated(file: "f", expected: 16, actual: 12)) { _ = try IDXArray(bytes: b, file: "f") }
        assertThrows(.truncated(file: "f", expected: 4, actual: 2)) { _ = try IDXArray(bytes: [0, 0], file: "f") }
    }

    func testTruncatedAndOverlongData() {
        let b = idx(0x08, [3, 2, 2], Array(0..<12))
        assertThrows(.truncated(file: "f", expected: 28, actual: 27)) { _ = try IDXArray(bytes: Array(b.dropLast()), file: "f") }
        assertThrows(.trailingBytes(file: "f", expected: 28, actual: 29)) { _ = try IDXArray(bytes: b + [0], file: "f") }
        let f32 = idx(0x0D, [3], Array(repeating: 0, count: 11))  // 3 floats need 12 bytes
        assertThrows(.truncated(file: "f", expected: 20, actual: 19)) { _ = try IDXArray(bytes: f32, file: "f") }
    }

    func testHugeDimensionsDoNotOverflow() {
        let b: [UInt8] = [0, 0, 0x0E, 4] + Array(repeating: 0xFF, count: 16)
        assertThrows(.truncated(file: "f", expected: .max, actual: 20)) { _ = try IDXArray(bytes: b, file: "f") }
        // Huge sizes times a zero size: a valid empty array (the product overflows on the way).
        let empty = try? IDXArray(bytes: Array(b[..<16]) + [0, 0, 0, 0], file: "f")
        XCTAssertEqual(empty?.count, 0)
        XCTAssertEqual(empty?.floats(), [])
    }

    func testCorruptGzip() throws {
        let plain = idx(0x08, [64], (0..<64).map { UInt8($0 * 3 % 256) })
        let gz = gzip(plain)
        var flipped = gz
        flipped[flipped.count / 2] ^= 0xFF                                  // deflate body or CRC
        var badCRC = gz
        badCRC[badCRC.count - 8] ^= 0x01                                    // CRC-32 of the data
        for (name, bytes) in [("flipped", flipped), ("bad-crc", badCRC), ("cut", Array(gz.dropLast(5))),
                              ("header-only", Array(gz.prefix(10))), ("garbage-after", gz + [1, 2, 3])] {
            let url = try write(bytes, name)
            do {
                _ = try IDXArray(contentsOf: url)
                XCTFail("\(name): no error")
            } catch {
                guard case let .corruptGzip(file, reason) = error else { XCTFail("\(name): \(error)"); continue }
                XCTAssertEqual(file, url.path)
                XCTAssertTrue(error.description.hasPrefix(url.path), error.description)
                if name == "cut" || name == "header-only" { XCTAssertTrue(reason.hasPrefix("truncated"), reason) }
                if name == "garbage-after" { XCTAssertTrue(reason.contains("3 bytes after"), reason) }
            }
        }
    }

    func testMissingAndUnreadableFiles() {
        let missing = dir.appendingPathComponent("nope")
        assertThrows(.fileNotFound(path: missing.path, hint: "Check the path.")) { _ = try IDXArray(contentsOf: missing) }
        do {
            _ = try IDXArray(contentsOf: dir)  // a directory
            XCTFail("reading a directory succeeded")
        } catch {
            guard case let .unreadable(file, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, dir.path)
            XCTAssertEqual(reason, "is a directory, not a regular file")
        }
    }

    /// Mutated and truncated bytes, plain and gzipped: every outcome is a value or a DataError
    /// (typed throws make any other error impossible); a crash fails the whole run. In memory:
    /// `IDXArray(bytes:file:)` takes the same path as a file, gzip detection included.
    func testMutatedBytesNeverCrash() throws {
        let plain = idx(0x08, [5, 3, 3], (0..<45).map { UInt8($0 * 7 % 256) })
        let gz = gzip(plain)
        for bytes in [plain, gz] {
            for n in 0..<bytes.count {
                XCTAssertThrowsError(try IDXArray(bytes: Array(bytes.prefix(n)), file: "f"), "prefix of \(n) bytes")
            }
        }
        var rng = Xoshiro256(seed: 2024)
        var parsed = 0, rejected = 0
        for trial in 0..<20000 {
            var b = trial % 2 == 0 ? plain : gz
            for _ in 0...(rng.next() % 3) {
                // Mostly the header (first 16 bytes), sometimes anywhere.
                let i = Int(rng.next() % UInt64(rng.next() % 4 == 0 ? b.count : 16))
                b[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 5 == 0 { b.removeLast(Int(rng.next() % UInt64(b.count))) }
            do {
                let a = try IDXArray(bytes: b, file: "f")
                XCTAssertEqual(a.payload.count, a.count * a.elementType.byteCount)
                _ = a.floats()
                parsed += 1
            } catch {
                XCTAssertTrue(error.description.hasPrefix("f: "), error.description)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 5000)
        XCTAssertGreaterThan(parsed, 500)
    }

    // MARK: Fashion-MNIST layout

    func writeFashion(split: String = "t10k", images n: Int, labels: [UInt8], gzipImages: Bool = true) throws {
        let pixels = (0..<(n * 28 * 28)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let images = idx(0x08, [n, 28, 28], pixels)
        try write(gzipImages ? gzip(images) : images, "\(split)-images-idx3-ubyte" + (gzipImages ? ".gz" : ""))
        try write(idx(0x08, [labels.count], labels), "\(split)-labels-idx1-ubyte")
    }

    func testFashionMNISTFromGeneratedFiles() throws {
        try writeFashion(images: 3, labels: [9, 0, 4])
        let d = try Dataset.fashionMNIST(directory: dir, split: .test)
        XCTAssertEqual(d.images.shape, [3, 28, 28])
        XCTAssertEqual(d.labels, [9, 0, 4])
        XCTAssertEqual(d.classNames[9], "Ankle boot")
        let expected = (0..<(3 * 28 * 28)).map { Float(UInt8(truncatingIfNeeded: $0 &* 37)) / 255 }
        XCTAssertEqual(d.images.scalars, expected)  // exactly p / 255
    }

    func testFashionMNISTErrors() throws {
        try writeFashion(split: "train", images: 3, labels: [1, 2], gzipImages: false)
        let imagesPath = dir.appendingPathComponent("train-images-idx3-ubyte").path
        let labelsPath = dir.appendingPathComponent("train-labels-idx1-ubyte").path
        assertThrows(.countMismatch(imagesFile: imagesPath, images: 3, labelsFile: labelsPath, labels: 2)) {
            _ = try Dataset.fashionMNIST(directory: dir, split: .train)
        }
        try write(idx(0x08, [3], [1, 10, 2]), "train-labels-idx1-ubyte")
        assertThrows(.labelOutOfRange(file: labelsPath, index: 1, value: 10, classCount: 10)) {
            _ = try Dataset.fashionMNIST(directory: dir, split: .train)
        }
        try write(idx(0x08, [3, 2, 2], Array(repeating: 0, count: 12)), "train-images-idx3-ubyte")
        assertThrows(.unexpectedShape(file: imagesPath, found: [3, 2, 2], expected: "[n, 28, 28]")) {
            _ = try Dataset.fashionMNIST(directory: dir, split: .train)
        }
        try write(idx(0x08, [3], [1, 2, 3]), "train-images-idx3-ubyte")  // labels where images belong
        assertThrows(.badMagic(file: imagesPath, found: 0x0801, expected: "0x00000803 (u8 images [n, rows, cols])")) {
            _ = try Dataset.fashionMNIST(directory: dir, split: .train)
        }
    }

    func testMissingFashionMNISTSaysHowToGetIt() {
        do {
            _ = try Dataset.fashionMNIST(directory: dir, split: .test)
            XCTFail("no error for an empty directory")
        } catch {
            guard case let .fileNotFound(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dir.appendingPathComponent("t10k-images-idx3-ubyte.gz").path)
            for phrase in ["t10k-images-idx3-ubyte", "apt-get install dataset-fashion-mnist", "--data DIR"] {
                XCTAssertTrue(error.description.contains(phrase), "'\(phrase)' missing from: \(error)")
            }
        }
    }

    /// The real test split. Facts checked with Python's gzip module on Debian's files: 10,000
    /// images, 1,000 per class, first labels 9 2 1 1 6 1 4 6 5 7, first image's pixels sum to 33456.
    func testRealFashionMNISTTestSplit() throws {
        let d: Dataset
        do { d = try Dataset.fashionMNIST(split: .test) } catch {
            guard case .fileNotFound = error else { throw error }
            throw XCTSkip("Fashion-MNIST is not installed: \(error)")
        }
        XCTAssertEqual(d.images.shape, [10000, 28, 28])
        XCTAssertEqual(Array(d.labels.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        XCTAssertEqual(d.classNames[d.labels[0]], "Ankle boot")
        XCTAssertEqual((0..<10).map { c in d.labels.count(where: { $0 == c }) }, Array(repeating: 1000, count: 10))
        let first = Array(d.images.scalars.prefix(784))
        XCTAssertEqual(first.reduce(0) { $0 + Double($1) * 255 }, 33456, accuracy: 1e-3)
        XCTAssertEqual(d.images.scalars.min(), 0)
        XCTAssertEqual(d.images.scalars.max(), 1)
    }
}

// MARK: fixtures

/// An IDX file: magic 00 00 type rank, big-endian sizes, then `payload` as given.
func idx(_ type: UInt8, _ shape: [Int], _ payload: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for d in shape { b += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
    return b + payload
}

/// A gzip file of `input` (deflate with the gzip wrapper: windowBits 15 + 16).
func gzip(_ input: [UInt8]) -> [UInt8] {
    var s = z_stream()
    precondition(czlib_deflateInit2(&s, Z_DEFAULT_COMPRESSION, 15 + 16) == Z_OK)
    defer { deflateEnd(&s) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&s, UInt(input.count))) + 64)
    var input = input
    let rc = input.withUnsafeMutableBufferPointer { i in
        out.withUnsafeMutableBufferPointer { o in
            s.next_in = i.baseAddress
            s.avail_in = UInt32(i.count)
            s.next_out = o.baseAddress
            s.avail_out = UInt32(o.count)
            return deflate(&s, Z_FINISH)
        }
    }
    precondition(rc == Z_STREAM_END, "gzip fixture: deflate returned \(rc)")
    return Array(out.prefix(Int(s.total_out)))
}
