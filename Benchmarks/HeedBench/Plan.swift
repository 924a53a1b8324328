import Heed

/// Which cases run, grouped for interleaving (see `runGroup`), in the full run and in `--quick`.
///
/// Budget: the full run is meant to stay within ~5 minutes on 2 cores. The naive loops cost
/// the most: Reference.attention(Backward) runs ~1.5 GFLOP/s on one core (Double accumulation,
/// one query row at a time), so naive S2 forward (2.1 GFLOP) is ~1.4 s a run and forward+backward
/// ~3 s (~35 s for its group of 6 rounds, full and causal). Hence naive runs at S1 and S2 only,
/// as the issue asks; S3 forward alone would be ~25 s a run. `--quick` keeps naive forward at S1.
struct Plan {
    let quick: Bool

    static func peakName(end: Bool) -> String {
        "\(end ? "sgemm-end" : "sgemm")/\(GemmShape.peak.key)/\(Parallel.workerCount)t"
    }

    /// The SGEMM yardstick: 2048³ and the attention-shaped products on OpenBLAS's threads, and
    /// 2048³ on one thread for scale (full run only).
    func peakGroup(end: Bool) -> [BenchCase] {
        let group = end ? "sgemm-end" : "sgemm"
        let w = Parallel.workerCount
        if quick { return sgemmCases(group: group, shapes: [.peak], threads: [w]) }
        return sgemmCases(group: group, shapes: [.peak, .attentionQK, .attentionPV], threads: [w])
            + (w > 1 ? sgemmCases(group: group, shapes: [.peak], threads: [1]) : [])
    }

    var groups: [[BenchCase]] {
        var g: [[BenchCase]] = []
        for n in quick ? [64, 128] : [128, 256, 512] { g.append(matmulCases(sizes: [n])) }

        let shapes = quick ? [AttentionShape.s1] : AttentionShape.standard
        for s in shapes {
            for pass in [Pass.fwd, .fwdBwd] {
                let naive = s.label == "S1" || s.label == "S2"
                let impls = AttentionImpl.allCases.filter { $0 != .naive || (naive && !(quick && pass == .fwdBwd)) }
                // One group per (shape, pass): paths × masks interleaved, so tiled vs
                // materialised and causal vs full are compared under the same load; S2's
                // group also holds d = 32 (S2d32), for the d = 32 ÷ d = 64 ratio.
                let extra = s.label == "S2" ? [AttentionShape.s2d32] : []
                g.append(([s] + extra).flatMap { shape in
                    impls.filter { $0 != .naive || shape.label == s.label }
                        .flatMap { impl in [false, true].map { attentionCase(shape, impl, causal: $0, pass: pass) } }
                })
            }
        }

        for c in layerCases() { g.append([c]) }
        g += QuantizedBench.groups(quick: quick)
        g.append(trainingCases())
        g += EmbeddingBench.groups(quick: quick)
        for c in TokenizerBench.cases(quick: quick) { g.append([c]) }

        let threading: [GemmShape] = quick
            ? [GemmShape(m: 256, n: 256, k: 64, batch: 32, transB: true)]
            : [.peak, .attentionQK, .attentionPV,
               GemmShape(m: 1024, n: 1024, k: 64, batch: 8),
               GemmShape(m: 1024, n: 64, k: 1024, batch: 8),
               GemmShape(m: 256, n: 256, k: 64, batch: 32, transB: true)]
        // perCore and openBLAS interleaved, one shape at a time.
        for s in threading { g.append(gemmThreadingCases([s])) }
        return g.filter { !$0.isEmpty }
    }
}
