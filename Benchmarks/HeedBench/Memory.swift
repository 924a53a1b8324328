import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process's resident set size, from /proc/self/status.
///
/// VmHWM is the high-water mark over the process's whole life unless it is reset: writing "5"
/// to /proc/self/clear_refs sets it back to the current RSS (Linux ≥ 4.0; checked at start-up,
/// since a sandbox may refuse the write). With the reset each case gets its own peak; without
/// it the figure is the lifetime peak so far, and the report says so.
enum ProcessMemory {
    /// Whether the VmHWM reset works here (checked once).
    static let canResetPeak: Bool = {
        guard FileManager.default.fileExists(atPath: "/proc/self/status") else { return false }
        return resetPeak()
    }()

    /// Sets VmHWM back to the current RSS; false when /proc/self/clear_refs refuses.
    @discardableResult
    static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        do { try h.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// Hands the heap's free memory back to the system (glibc's `malloc_trim`, looked up at run
    /// time: Swift's Glibc module does not declare it), so the next case's RSS does not carry
    /// the previous cases' freed blocks.
    static func trimHeap() {
        #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        if let f = trimFunction { _ = unsafeBitCast(f, to: Trim.self)(0) }
        #endif
    }

    #if canImport(Glibc)
    nonisolated(unsafe) private static let trimFunction = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim")
    #endif

    /// VmHWM in bytes (nil off Linux).
    static var peakRSS: Int? { field("VmHWM") }
    /// VmRSS in bytes (nil off Linux).
    static var currentRSS: Int? { field("VmRSS") }

    private static func field(_ name: String) -> Int? {
        guard let text = readSystemFile("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmHWM:\t  218448 kB"
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
