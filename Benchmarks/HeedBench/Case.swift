/// What one benchmark case is: a name, what it computes (shape, path, causal, pass), how many
/// floating-point operations that is, and how to set it up. Setting up allocates the inputs
/// and returns the body that the harness times.

/// Forward only, or forward and backward.
enum Pass: String, Codable {
    case fwd
    case fwdBwd = "fwd+bwd"
}

struct BenchCase {
    /// Section of the report: "sgemm", "matmul", "attention", "layers", "gemm-threading".
    let group: String
    /// Unique and stable, `group/…` (what `--filter` matches and the JSON's `name`).
    let name: String
    /// Human-readable shape, e.g. "(1, 8, 1024, 64)" or "1024×1024×64 Bᵀ".
    let shape: String
    /// Sequence length, for the charts (attention cases only).
    var n: Int? = nil
    /// "naive", "materialized", "tiled", "heed", "cblas", "perCore", "openBLAS" …
    let path: String
    var causal: Bool = false
    var pass: Pass = .fwd
    /// Floating-point operations of one call.
    let flops: Double
    /// Calls per timed run, for cases too short to time one call reliably (< ~1 ms); the
    /// report gives times per call.
    var callsPerRun = 1
    /// Texts (or other items) one call processes, for a throughput in items/s; nil for
    /// cases measured in FLOPs only.
    var items: Int? = nil
    /// Cases with the same key and path "naive" are this case's baseline for the speed-up.
    var baselineKey: String { "\(group)|\(shape)|\(causal)|\(pass.rawValue)" }
    /// Allocates the inputs (outside the timing) and returns the timed body.
    let setUp: () -> () -> Void
}

/// One case's measurements.
struct Measured {
    let bench: BenchCase
    /// Timed runs, in seconds, in the order they ran (warm-up excluded).
    let times: [Double]
    let warmUp: Double
    /// Heed's allocator: the case's inputs plus the most bytes its runs had alive at once.
    let peakTensorBytes: Int
    /// Process VmHWM during the warm-up (see Memory.swift); nil where /proc is missing.
    let peakRSSBytes: Int?
    /// Process CPU time ÷ wall time over the timed runs: the cores the case kept busy.
    let coresUsed: Double

    var median: Double { times.median }
    var min: Double { times.min() ?? .nan }
    var max: Double { times.max() ?? .nan }
    /// From the median time.
    var gflops: Double { bench.flops / median / 1e9 }
    /// From the fastest run.
    var bestGflops: Double { bench.flops / min / 1e9 }
    /// Items per second from the median time (cases with `items`).
    var itemsPerSecond: Double? { bench.items.map { Double($0) / median } }
}

extension Array where Element == Double {
    var median: Double {
        guard !isEmpty else { return .nan }
        let s = sorted()
        return count % 2 == 1 ? s[count / 2] : (s[count / 2 - 1] + s[count / 2]) / 2
    }
}

/// Keeps a result alive and opaque to the optimiser, so no timed call is elided.
@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }
