import Foundation

/// Everything one run produced: what the table, the JSON and the charts are drawn from.
struct Session {
    var machine: MachineInfo
    var measured: [Measured] = []
    /// Best 2048³ `cblas_sgemm` GFLOP/s (OpenBLAS threads = cores) at the start and at the end
    /// of the run; the peak is the better of the two (the fastest run of the session).
    var peakStart: Double = .nan
    var peakEnd: Double = .nan
    var peers: PeerReport? = nil
    var embedPeers: EmbedPeerReport? = nil
    var seconds: Double = 0
    var quick = false

    var peak: Double { Swift.max(peakStart.isNaN ? 0 : peakStart, peakEnd.isNaN ? 0 : peakEnd) }

    func percentOfPeak(_ m: Measured) -> Double? {
        peak > 0 && m.bench.flops > 0 ? 100 * m.gflops / peak : nil
    }

    /// Median time of the naive case with the same group, shape, mask and pass ÷ this one's.
    func speedUp(_ m: Measured) -> Double? {
        guard m.bench.path != "naive",
              let naive = measured.first(where: { $0.bench.path == "naive" && $0.bench.baselineKey == m.bench.baselineKey })
        else { return nil }
        return naive.median / m.median
    }

    func find(_ name: String) -> Measured? { measured.first { $0.bench.name == name } }
}

/// The FLOP counts, printed once at the top of the report and stored in the JSON.
let flopFormulas: [(String, String)] = [
    ("GEMM", "2·m·n·k per matrix"),
    ("attention forward", "4·B·H·Nq·Nk·d (Q·Kᵀ and P·V); causal counts only the N·(N+1)/2 visible pairs (the useful half)"),
    ("attention forward+backward", "3 × forward (the backward's four products are twice the forward's two; recomputation is not counted)"),
    ("MultiHeadAttention", "8·B·N·E² (four projections) + 4·B·N²·E (attention); forward+backward 3×"),
    ("AdditiveAttentionPooling", "2·B·N·(in·hidden + hidden + in); forward+backward 3×"),
    ("sentence embedding", "per text of n tokens, layers × (2·n·(4h² + 2h·f) + 4·n²·h): GEMMs and attention products of the real tokens, padding excluded"),
]
