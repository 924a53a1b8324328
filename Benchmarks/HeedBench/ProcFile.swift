import Foundation

/// The text of a small system file (/proc, /etc), or nil when it cannot be read.
///
/// Not `String(contentsOfFile:)`: /proc files report a size of 0, and on that path
/// swift-foundation (Swift 6.3) leaks the 4 KiB buffer it reads into, once per call — the
/// benchmark reads /proc/self/status around every case. FileHandle reads to the end without
/// that leak (checked under LeakSanitizer).
func readSystemFile(_ path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    guard let data = try? handle.readToEnd() else { return nil }
    return String(decoding: data, as: UTF8.self)
}
