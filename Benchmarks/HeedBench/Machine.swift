import CBLAS
import Foundation
import Heed

/// The machine and the build a run happened on: the figures mean nothing without them.
struct MachineInfo: Codable {
    var cpu: String
    var cores: Int
    var heedWorkers: Int
    var memoryBytes: Int?
    var os: String
    var kernel: String
    var openblas: String
    var openblasCore: String
    var openblasEnvironment: [String: String]
    var swift: String
    var build: String
    var cpuFlags: String
    /// The level Heed's CPU-dispatched kernels run at (CPUDispatch; HEED_CPU forces one).
    var kernelLevel: String
    /// 1-, 5- and 15-minute load averages when the run started and ended: a busy neighbour
    /// shows here.
    var loadAverageStart: String
    var loadAverageEnd: String = ""
    var rssPeakResettable: Bool

    enum CodingKeys: String, CodingKey {
        case cpu, cores, os, kernel, openblas, swift, build
        case heedWorkers = "heed_workers", memoryBytes = "memory_bytes", openblasCore = "openblas_core"
        case openblasEnvironment = "openblas_environment", cpuFlags = "cpu_flags", kernelLevel = "kernel_level"
        case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end"
        case rssPeakResettable = "rss_peak_resettable"
    }

    static func current() -> MachineInfo {
        BLASSetup.prepare()
        return MachineInfo(
            cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount, heedWorkers: Parallel.workerCount,
            memoryBytes: meminfoTotal(), os: osName(), kernel: kernelRelease(),
            openblas: openblas_get_config().map { String(cString: $0) }?.trimmingCharacters(in: .whitespaces) ?? "?",
            openblasCore: openblasCoreDescription(),
            openblasEnvironment: ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("OPENBLAS") },
            swift: swiftVersion, build: buildConfiguration, cpuFlags: cpuFlags,
            kernelLevel: "\(CPUDispatch.level) (supported: \(CPUDispatch.supportedLevel))",
            loadAverageStart: loadAverage(), rssPeakResettable: ProcessMemory.canResetPeak)
    }

    /// OpenBLAS's core, and the one it fell back to when Heed corrected it (BLASSetup).
    private static func openblasCoreDescription() -> String {
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        guard let c = BLASSetup.coreCorrection else { return core }
        return "\(core), set by Heed: OpenBLAS had fallen back to \(c.from) on this CPU"
    }

    static func loadAverage() -> String {
        (readSystemFile("/proc/loadavg") ?? "")
            .split(separator: " ").prefix(3).joined(separator: " ")
    }

    private static func cpuModel() -> String {
        guard let text = readSystemFile("/proc/cpuinfo") else { return "?" }
        var model = "?", family = "", number = ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "model name" where model == "?": model = parts[1]
            case "cpu family" where family.isEmpty: family = parts[1]
            case "model" where number.isEmpty: number = parts[1]
            default: break
            }
        }
        let avx512 = text.contains("avx512f") ? ", AVX-512" : text.contains(" avx2") ? ", AVX2" : ""
        return "\(model) (family \(family), model \(number)\(avx512))"
    }

    private static func meminfoTotal() -> Int? {
        guard let text = readSystemFile("/proc/meminfo"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kb = Int(line.split(separator: " ")[1]) else { return nil }
        return kb * 1024
    }

    private static func osName() -> String {
        guard let text = readSystemFile("/etc/os-release"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") }) else { return "?" }
        return line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    private static func kernelRelease() -> String {
        (readSystemFile("/proc/sys/kernel/osrelease") ?? "?")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The compiler that built this binary, as precisely as `#if compiler` can tell.
    static let swiftVersion: String = {
        #if compiler(>=6.4)
        return "≥ 6.4"
        #elseif compiler(>=6.3.1)
        return "6.3.1"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()

    static let buildConfiguration: String = {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }()

    /// `make bench` adds `-DHEED_BENCH_NATIVE` beside `-target-cpu native`, so the binary can say
    /// which it was built with.
    static let cpuFlags: String = {
        #if HEED_BENCH_NATIVE
        return "-target-cpu native"
        #else
        return "baseline x86-64 (no -target-cpu)"
        #endif
    }()

    /// One line for the report's header.
    var summary: String {
        let mem = memoryBytes.map { String(format: "%.0f GiB", Double($0) / 1_073_741_824) } ?? "?"
        return """
        machine: \(cpu), \(cores) cores (Heed workers \(heedWorkers)), \(mem), \(os), Linux \(kernel)
        OpenBLAS: \(openblas) (core \(openblasCore))\(openblasEnvironment.isEmpty ? "" : ", env " + openblasEnvironment.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))
        build: Swift \(swift), \(build), \(cpuFlags); dispatched kernels: \(kernelLevel); load average at start \(loadAverageStart)
        """
    }
}
