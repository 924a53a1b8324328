import CHeedKernels
#if canImport(Glibc)
import Glibc
#endif

/// An x86-64 instruction-set level that Heed's dispatched kernels are compiled for.
public enum CPULevel: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// x86-64 (SSE2) — or any CPU that is not x86-64.
    case baseline = 0
    /// x86-64-v3: AVX2, FMA, F16C, BMI.
    case avx2 = 1
    /// x86-64-v4: AVX-512 F/BW/DQ/VL.
    case avx512 = 2
    /// AVX-512 with VNNI (`vpdpbusd`), for the int8 product: Ice Lake and later, Zen 4.
    case avx512vnni = 3
    /// AVX-512 with VNNI and BF16 (`vdpbf16ps`), for the bf16 product: Cooper Lake, Sapphire
    /// Rapids and later, Zen 4. Levels 3 and 4 differ from `avx512` in those two products only.
    case avx512bf16 = 4

    public static func < (a: CPULevel, b: CPULevel) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["baseline", "avx2", "avx512", "avx512vnni", "avx512bf16"][rawValue] }
}

/// Runtime CPU dispatch, as PyTorch's ATen, numpy and OpenBLAS's DYNAMIC_ARCH do it: the hot
/// kernels (Sources/CHeedKernels) are compiled for every level, and the first use picks the
/// highest one this CPU and OS support — or the level named by the environment's `HEED_CPU`
/// (`baseline`, `avx2`, `avx512`, `avx512vnni`, `avx512bf16`), so that tests and benchmarks can run any lower level here.
/// Every level computes bit-identical results; they differ in speed only.
public enum CPUDispatch {
    /// The highest level this CPU and OS support.
    public static var supportedLevel: CPULevel { CPULevel(rawValue: Int(heed_cpu_supported_level())) ?? .baseline }

    /// The level the kernels run at in this process (chosen once).
    public static var level: CPULevel { CPULevel(rawValue: Int(kernels.pointee.level))! }

    /// Every level this machine can run, lowest first (what the tests loop over).
    public static var runnableLevels: [CPULevel] { CPULevel.allCases.filter { $0 <= supportedLevel } }

    /// The kernel table of `level`, nil when this CPU cannot run it.
    public static func kernels(for level: CPULevel) -> UnsafePointer<heed_kernel_table>? {
        heed_kernels_for_level(Int32(level.rawValue))
    }

    /// The kernels in use: `withLevel`'s while it runs, else `HEED_CPU`'s level, else the
    /// highest supported.
    static var kernels: UnsafePointer<heed_kernel_table> { override ?? chosen }

    /// Runs `body` with the kernels of `level` (which this CPU must support), for comparing
    /// levels in one process — the benchmark's `--compare-baseline`. Not for use while Heed ops
    /// run on other threads: the level is process-wide.
    public static func withLevel<T>(_ level: CPULevel, _ body: () throws -> T) rethrows -> T {
        guard let table = kernels(for: level) else {
            checkFailure("CPUDispatch.withLevel(\(level)): this CPU supports up to \(supportedLevel)")
        }
        let saved = override
        override = table
        defer { override = saved }
        return try body()
    }

    nonisolated(unsafe) private static var override: UnsafePointer<heed_kernel_table>? = nil

    nonisolated(unsafe) private static let chosen: UnsafePointer<heed_kernel_table> = {
        let wanted = levelFromEnvironment() ?? supportedLevel
        guard let table = kernels(for: wanted) else {
            checkFailure("HEED_CPU=\(wanted): this CPU supports up to \(supportedLevel)")
        }
        return table
    }()

    /// `HEED_CPU`, nil when unset or empty (`HEED_CPU= cmd` clears it). A value that names no level stops the process naming it: a
    /// silently ignored typo would let a test of the baseline kernels run the AVX-512 ones.
    static func levelFromEnvironment() -> CPULevel? {
        guard let raw = getenv("HEED_CPU"), raw.pointee != 0 else { return nil }
        let text = String(cString: raw)
        guard let level = CPULevel.allCases.first(where: { $0.description == text }) else {
            checkFailure("HEED_CPU='\(text)' is not a level (baseline, avx2, avx512, avx512vnni, avx512bf16)")
        }
        return level
    }
}
