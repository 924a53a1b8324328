import CFuzzSupport
import Foundation
import Heed

/// libFuzzer's callback: one input, `size` bytes at `data` (nil when empty); returns 0.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// Hands the process's arguments to libFuzzer, which runs `callback` until a finding or the
/// `-runs` / `-max_total_time` limit. Called from each target's `@_cdecl("<Target>_main")`:
/// SwiftPM links an executable with `main` aliased to that symbol.
///
/// With `HEED_FUZZ_SEEDS=<dir>` set, `writeSeeds(dir)` runs instead and nothing is fuzzed: the
/// targets whose seeds are made by Heed itself (a checkpoint of a small trainer) write them so.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                      writeSeeds: ((URL) throws -> Void)? = nil, _ callback: FuzzCallback) -> Int32 {
    if let dir = ProcessInfo.processInfo.environment["HEED_FUZZ_SEEDS"] {
        guard let writeSeeds else { return 0 }
        let url = URL(fileURLWithPath: dir)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try writeSeeds(url)
        } catch {
            FileHandle.standardError.write(Data("writing seeds into \(dir): \(error)\n".utf8))
            return 1
        }
        return 0
    }
    // Heed keeps freed tensor buffers of 64 kB and more for reuse; ASan should see every free
    // (a use after free of a cached buffer would go unnoticed) and every allocation's size.
    MemoryStats.cacheLimitBytes = 0
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// The input as an array (libFuzzer passes nil for the empty input).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A directory of this process's own under $TMPDIR, removed at exit (a crash leaves it; the
/// script points TMPDIR into its scratch folder and clears it).
public let scratchDirectory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("heed-fuzz-\(getpid())", isDirectory: true)
    try? FileManager.default.removeItem(at: url)
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        fatalError("fuzz: cannot create \(url.path): \(error)")
    }
    atexit { try? FileManager.default.removeItem(at: scratchDirectory) }
    return url
}()

/// Writes `bytes` to `url`, replacing it (not atomically: the readers see a plain file).
/// A failure is the machine's, not Heed's: it stops the run with a message.
public func writeFile(_ bytes: some Collection<UInt8>, to url: URL) {
    do {
        try Data(bytes).write(to: url)
    } catch {
        fatalError("fuzz: cannot write \(url.path): \(error)")
    }
}

/// `bytes` as one gzip member (zlib, level 6), as `gzip` writes it.
public func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: fuzz_gzip_bound(bytes.count))
    var length = out.count
    let rc = bytes.withUnsafeBufferPointer { i in
        out.withUnsafeMutableBufferPointer { o in fuzz_gzip(i.baseAddress, i.count, o.baseAddress, &length) }
    }
    precondition(rc == Z_OK, "fuzz: zlib could not compress \(bytes.count) bytes (\(rc))")
    out.removeLast(out.count - length)
    return out
}

/// A directory named by the environment variable `name`, else `fallback` (relative to the
/// current directory).
public func environmentDirectory(_ name: String, default fallback: String) -> URL {
    URL(fileURLWithPath: ProcessInfo.processInfo.environment[name] ?? fallback, isDirectory: true)
}
