import CZlib
import Foundation
import Heed
@testable import HeedNN
import XCTest

/// What every reader does with a path that is not a regular file, a file far too large, and
/// gzip streams that decompress to more (or claim more) than the IDX header needs: a typed
/// error naming the file, promptly, with no allocation the data does not justify.
final class FileInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A FIFO at `name`. If a reader blocks on it (the bug this guards against), a watchdog
    /// opens it for writing after 10 s, which releases the reader, and the test fails instead
    /// of hanging the suite.
    func fifo(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> (URL, () -> Void) {
        let p = path(name)
        guard mkfifo(p, 0o600) == 0 else { throw XCTSkip("mkfifo failed: \(String(cString: strerror(errno)))") }
        let done = DispatchSemaphore(value: 0)
        let released = Flag()
        Thread.detachNewThread {
            if done.wait(timeout: .now() + 10) == .timedOut {
                released.set()
                let fd = open(p, O_WRONLY)
                if fd >= 0 { close(fd) }
            }
        }
        return (URL(fileURLWithPath: p), {
            done.signal()
            XCTAssertFalse(released.isSet, "a reader blocked on the FIFO \(p)", file: file, line: line)
        })
    }

    func testFIFOsAreRefusedWithoutBlocking() throws {
        let (url, finish) = try fifo("pipe")
        defer { finish() }
        XCTAssertThrowsError(try IDXArray(contentsOf: url)) { error in
            XCTAssertEqual(error as? DataError, .unreadable(file: url.path, reason: "is a FIFO (named pipe), not a regular file"))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: url)) { error in
            XCTAssertEqual(error as? SafetensorsError, .notARegularFile(file: url.path, kind: "a FIFO (named pipe)"))
            XCTAssertEqual("\(error)", "\(url.path): is a FIFO (named pipe), not a regular file")
        }
        XCTAssertThrowsError(try MLPClassifier(seed: 0).load(from: url)) { error in
            XCTAssertEqual(error as? SafetensorsError, .notARegularFile(file: url.path, kind: "a FIFO (named pipe)"))
        }
        XCTAssertThrowsError(try BertConfig(contentsOf: url)) { error in
            XCTAssertEqual(error as? ModelFolderError, .unreadable(file: url.path, reason: "is a FIFO (named pipe), not a regular file"))
        }
        XCTAssertThrowsError(try BertTokenizer.readVocabulary(url)) { error in
            XCTAssertEqual(error as? TokenizerError, .unreadableFile(path: url.path, reason: "is a FIFO (named pipe), not a regular file"))
        }
    }

    func testDevicesAndDirectoriesAreRefused() {
        XCTAssertThrowsError(try IDXArray(contentsOf: URL(fileURLWithPath: "/dev/zero"))) { error in
            XCTAssertEqual(error as? DataError, .unreadable(file: "/dev/zero", reason: "is a character device, not a regular file"))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: URL(fileURLWithPath: "/dev/zero"))) { error in
            XCTAssertEqual(error as? SafetensorsError, .notARegularFile(file: "/dev/zero", kind: "a character device"))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: dir)) { error in
            XCTAssertEqual(error as? SafetensorsError, .notARegularFile(file: dir.path, kind: "a directory"))
        }
    }

    /// A 20 GB sparse file: refused from its header (IDX) or its size (text), never read whole.
    func testHugeSparseFilesAreRefusedFromTheHeader() throws {
        let p = path("sparse")
        let fd = open(p, O_WRONLY | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, 20 << 30), 0)
        close(fd)
        let url = URL(fileURLWithPath: p)
        XCTAssertThrowsError(try IDXArray(contentsOf: url)) { error in
            XCTAssertEqual(error as? DataError, .unsupportedType(file: p, typeCode: 0))
        }
        XCTAssertThrowsError(try BertTokenizer.readVocabulary(url)) { error in
            XCTAssertEqual(error as? TokenizerError, .unreadableFile(
                path: p, reason: "\(20 << 30) bytes is more than the \(RegularFile.textLimit)-byte limit for this file"))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: url)) { error in
            guard case .headerNotJSON = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
        // A header that claims more than the file holds is refused before the data is allocated.
        let header = idx(0x08, [30_000_000, 28, 28], [])
        let h = open(p, O_WRONLY)
        _ = header.withUnsafeBytes { pwrite(h, $0.baseAddress, $0.count, 0) }
        close(h)
        XCTAssertThrowsError(try IDXArray(contentsOf: url)) { error in
            XCTAssertEqual(error as? DataError, .truncated(file: p, expected: 16 + 30_000_000 * 784, actual: 20 << 30))
        }
    }

    /// One IDX array, then far more zeros in further gzip members than anything needs: only
    /// `trailingScanLimit` of them are inflated, and the error says "at least".
    func testGzipBombIsInflatedOnlyAsFarAsTheHeaderNeeds() throws {
        let image = idx(0x08, [1, 28, 28], [UInt8](repeating: 7, count: 784))
        let zeros = gzip([UInt8](repeating: 0, count: 16 << 20))  // 16 MiB in ~16 KB
        let bomb = gzip(image) + Array([[UInt8]](repeating: zeros, count: 64).joined())  // 1 GiB inflated
        let start = DispatchTime.now()
        XCTAssertThrowsError(try IDXArray(bytes: bomb, file: "bomb.gz")) { error in
            let limit = IDXArray.trailingScanLimit
            XCTAssertEqual(error as? DataError, .trailingBytes(file: "bomb.gz", expected: 800, actual: 800 + limit))
            XCTAssertTrue("\(error)".contains("at least \(limit) unexpected bytes"), "\(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        XCTAssertLessThan(seconds, 30, "inflating the whole bomb instead of the scan limit")
    }

    /// A header that claims 6 GB of images over a few real ones, and a trailer that claims
    /// 4 GiB: the reader grows its buffer with the data, so the process's peak RSS stays put.
    func testClaimedSizesAllocateNothing() throws {
        let honest = gzip(idx(0x08, [8_000_000, 28, 28], [UInt8](repeating: 1, count: 100 * 784)))
        var liar = honest
        for i in 1...4 { liar[liar.count - i] = 0xFF }  // ISIZE, the trailer's length mod 2³²
        let before = peakRSS()
        XCTAssertThrowsError(try IDXArray(bytes: honest, file: "short.gz")) { error in
            XCTAssertEqual(error as? DataError, .truncated(file: "short.gz", expected: 16 + 8_000_000 * 784, actual: 16 + 100 * 784))
        }
        XCTAssertThrowsError(try IDXArray(bytes: liar, file: "liar.gz")) { error in
            XCTAssertEqual(error as? DataError, .corruptGzip(file: "liar.gz", reason: "incorrect length check"))
        }
        XCTAssertLessThan(peakRSS() - before, 256 << 20, "reading grew the peak RSS by more than 256 MiB")
    }

    /// Members joined at every possible split of the input into chunks, the next member's
    /// magic straddling a refill among them.
    func testConcatenatedMembersAcrossInputChunks() throws {
        let plain = idx(0x08, [6, 5], (0..<30).map { UInt8($0 * 9 % 256) })
        let joined = gzip(Array(plain[..<13])) + gzip(Array(plain[13...]))
        for chunk in 1...40 {
            var stream = try GzipStream(MemoryStream(bytes: joined, file: "m"), inputChunk: chunk)
            var out: [UInt8] = []
            do { _ = try stream.append(upTo: 1000, to: &out, chunk: 7) } catch { XCTFail("input chunk \(chunk): \(error)") }
            XCTAssertEqual(out, plain, "input chunk \(chunk)")
        }
    }

    func testEmptySplitIsAnError() throws {
        try Data(idx(0x08, [0, 28, 28], [])).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(idx(0x08, [0], [])).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
        XCTAssertThrowsError(try Dataset.fashionMNIST(directory: dir, split: .test)) { error in
            XCTAssertEqual(error as? DataError, .emptySplit(file: path("t10k-images-idx3-ubyte")))
        }
    }

    func peakRSS() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }
}

/// A flag one thread sets and another reads.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
