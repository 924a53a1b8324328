import Foundation

/// The report on stdout: one table per group, then the GEMM threading ratios, the targets and
/// the peers' ratios.
enum TableReport {
    static let groupTitles: [String: String] = [
        "sgemm": "SGEMM peak, cblas_sgemm on OpenBLAS's threads (start of run)",
        "sgemm-end": "SGEMM peak again (end of run)",
        "matmul": "matmul: Reference.matmul (naive loop) vs Tensor.matmul",
        "attention": "attention, (B, H, N, d); naive = Reference.attention(Backward)",
        "layers": "HeedNN layers",
        "gemm-threading": "GEMM threading: Heed's workers over single-threaded sgemm (perCore) vs OpenBLAS's threads",
        "train": "training steps",
        "quantized": "dense layer x·Wᵀ + b on Float32, int8 and bf16 weights (the kernels of the level in the header)",
    ]

    static func header(_ s: Session, policy: RunPolicy) -> String {
        var lines = [s.machine.summary]
        lines.append("runs: warm-up + ≥\(policy.minRuns) timed runs per case (more, up to \(policy.maxRuns), while a group's round is under \(policy.minGroupSeconds) s), cases of a group interleaved")
        lines.append("FLOPs:")
        for (what, formula) in flopFormulas { lines.append("  \(what): \(formula)") }
        lines.append("""
        columns: times per call (median, min, max); GFLOP/s from the median; % peak = that ÷ this run's best 2048³ SGEMM;
          × naive = naive median ÷ this median; tensor MiB = Heed's allocator peak during a run, the case's inputs included
          (naive: its [Float]/[Double] working arrays are not tensors, see RSS); RSS MiB = process VmHWM during the warm-up
          run, \(s.machine.rssPeakResettable ? "reset just before it (/proc/self/clear_refs), Heed's buffer cache emptied, heap trimmed" : "NOT resettable here: the lifetime peak so far");
          cores = process CPU time ÷ wall time over the timed runs (\(s.machine.cores) when a parallel case has the machine to itself)
        """)
        return lines.joined(separator: "\n")
    }

    static func table(_ s: Session, group: String) -> String {
        let rows = s.measured.filter { $0.bench.group == group }
        guard !rows.isEmpty else { return "" }
        let isAttention = group == "attention"
        var cells: [[String]] = [["shape", "path"] + (isAttention ? ["mask", "pass"] : group == "layers" ? ["pass"] : [])
                                 + ["median ms", "min ms", "max ms", "runs", "GFLOP/s", "% peak", "× naive", "tensor MiB", "RSS MiB", "cores"]]
        for m in rows {
            let b = m.bench
            var row = [b.shape, b.path]
            if isAttention { row += [b.causal ? "causal" : "full", b.pass.rawValue] } else if group == "layers" { row.append(b.pass.rawValue) }
            row += [ms(m.median), ms(m.min), ms(m.max), "\(m.times.count)" + (b.callsPerRun > 1 ? "×\(b.callsPerRun)" : ""),
                    String(format: "%.1f", m.gflops),
                    s.percentOfPeak(m).map { String(format: "%.0f%%", $0) } ?? "—",
                    s.speedUp(m).map { String(format: "%.0f×", $0) } ?? "—",
                    mib(m.peakTensorBytes), m.peakRSSBytes.map(mib) ?? "—", String(format: "%.2f", m.coresUsed)]
            cells.append(row)
        }
        return "\n== \(groupTitles[group] ?? group)\n" + format(cells, leftColumns: isAttention ? 4 : group == "layers" ? 3 : 2)
    }

    /// OpenBLAS-threaded time ÷ perCore time, per shape: > 1 means Heed's own split is faster.
    static func threadingRatios(_ s: Session) -> String {
        let per = s.measured.filter { $0.bench.group == "gemm-threading" && $0.bench.path == "perCore" }
        guard !per.isEmpty else { return "" }
        var cells = [["shape", "perCore GFLOP/s", "openBLAS GFLOP/s", "openBLAS time ÷ perCore time", "faster"]]
        for p in per {
            guard let o = s.find(p.bench.name.replacingOccurrences(of: "/perCore", with: "/openBLAS")) else { continue }
            let r = o.median / p.median
            cells.append([p.bench.shape, String(format: "%.1f", p.gflops), String(format: "%.1f", o.gflops),
                          String(format: "%.2f", r), r >= 1 ? "perCore" : "openBLAS"])
        }
        return "\n== GEMM threading ratio (> 1: Heed's workers with single-threaded sgemm win)\n" + format(cells, leftColumns: 1)
    }

    /// Float32 time ÷ int8 (bf16) time per shape: > 1 means the quantized layer is faster.
    static func quantizedRatios(_ s: Session) -> String {
        let fp32 = s.measured.filter { $0.bench.group == "quantized" && $0.bench.path == "fp32" }
        guard !fp32.isEmpty else { return "" }
        var cells = [["shape", "fp32 GFLOP/s", "int8 GFLOP/s", "bf16 GFLOP/s", "fp32 time ÷ int8 time", "fp32 time ÷ bf16 time"]]
        for f in fp32 {
            let other = ["int8", "bf16"].map { s.find(f.bench.name.replacingOccurrences(of: "/fp32", with: "/\($0)")) }
            cells.append([f.bench.shape, String(format: "%.1f", f.gflops)]
                         + other.map { $0.map { String(format: "%.1f", $0.gflops) } ?? "—" }
                         + other.map { $0.map { String(format: "%.2f", f.median / $0.median) } ?? "—" })
        }
        return "\n== quantized dense layers: speed-up over Float32 (same run, interleaved)\n" + format(cells, leftColumns: 1)
    }

    /// Set when the SGEMM peak moved by more than 15% between the start and the end of the run,
    /// or when parallel cases kept fewer than 1.5 of the cores busy: another tenant held a core
    /// for part of the run (or, for a few cases, the work was split unevenly).
    static func loadWarning(_ s: Session) -> String? {
        var out: [String] = []
        if s.peakStart > 0, s.peakEnd > 0 {
            let lo = Swift.min(s.peakStart, s.peakEnd), hi = Swift.max(s.peakStart, s.peakEnd)
            if lo < 0.85 * hi {
                out.append(String(format: "the SGEMM 2048³ peak moved from %.0f to %.0f GFLOP/s between the start and the end of the run: the machine's load changed (another tenant on the cores?). Figures from different groups are not comparable; within a group the cases ran interleaved.",
                                  s.peakStart, s.peakEnd))
            }
        }
        if s.machine.cores > 1 {
            // Naive loops, one-thread SGEMM and the (serial) tokenizer are not meant to use both cores.
            let parallel = s.measured.filter { !["naive", "serial"].contains($0.bench.path) && !$0.bench.path.hasPrefix("cblas 1 ") }
            let starved = parallel.filter { $0.coresUsed < 1.5 }
            if starved.count * 5 > parallel.count {
                out.append("\(starved.count) of \(parallel.count) parallel cases kept fewer than 1.5 cores busy (column cores): another tenant held a core during them, so their times are too long.")
            }
        }
        guard !out.isEmpty else { return nil }
        return "warning: " + out.joined(separator: " ") + " Load average at start \(s.machine.loadAverageStart), at end \(s.machine.loadAverageEnd)."
    }

    static func targets(_ checks: [TargetCheck]) -> String {
        guard !checks.isEmpty else { return "" }
        var cells = [["target", "this run", "wanted", "", "detail"]]
        for c in checks {
            let v = c.unit == "×" ? String(format: "%.2f×", c.value) : String(format: "%.1f %@", c.value, c.unit)
            let w = c.unit == "×" ? "\(c.comparison) \(String(format: "%g", c.threshold))×" : "\(c.comparison) \(String(format: "%g", c.threshold)) \(c.unit)"
            cells.append([c.target, v, w, c.met ? "met" : "MISSED", c.detail])
        }
        return "\n== targets (issue), from this run\n" + format(cells, leftColumns: 1, alsoLeft: [3, 4])
    }

    static func skipped() -> String {
        let s = skippedCases
        return s.isEmpty ? "" : "\n== not measured\n" + s.map { "  \($0.name): skipped: \($0.reason)" }.joined(separator: "\n")
    }

    /// The embedding cases: texts per second, and sentence-transformers' in the same run.
    static func embedTable(_ s: Session) -> String {
        let rows = s.measured.filter { $0.bench.group == "embed" }
        guard !rows.isEmpty else { return "" }
        let peers = s.embedPeers?.status == "ran" ? s.embedPeers : nil
        var cells = [["workload", "weights", "median ms", "min ms", "max ms", "runs", "texts/s", "× float32", "GFLOP/s", "% peak", "tensor MiB", "RSS MiB", "cores"]]
        for m in rows {
            let base = s.find(m.bench.name.replacingOccurrences(of: "/int8", with: "").replacingOccurrences(of: "/bf16", with: ""))
            cells.append([m.bench.shape, m.bench.path == "heed" ? "float32" : String(m.bench.path.dropFirst(5)), ms(m.median), ms(m.min), ms(m.max),
                          "\(m.times.count)" + (m.bench.callsPerRun > 1 ? "×\(m.bench.callsPerRun)" : ""),
                          String(format: "%.1f", m.itemsPerSecond ?? .nan),
                          base.map { String(format: "%.2f", $0.median / m.median) } ?? "—", String(format: "%.1f", m.gflops),
                          s.percentOfPeak(m).map { String(format: "%.0f%%", $0) } ?? "—",
                          mib(m.peakTensorBytes), m.peakRSSBytes.map(mib) ?? "—", String(format: "%.2f", m.coresUsed)])
        }
        var title = "\n== sentence embeddings, all-MiniLM-L6-v2 (\(EmbeddingBench.modelDirectory)), end to end: tokenize, BERT, pool, normalise"
        var peerTable = ""
        if let p = s.embedPeers {
            if let peers {
                let v = peers.versions ?? [:]
                title += "\n   peers: sentence-transformers \(v["sentence_transformers"] ?? "?") (torch \(v["torch"] ?? "?")), onnxruntime \(v["onnxruntime"].map { $0 } ?? "— (\(peers.onnxStatus ?? "?"))"), \(peers.threads ?? 0) threads, same texts"
                var pc = [["workload", "peer", "runs", "peer ms", "min", "max", "Heed ms", "min", "max", "peer texts/s", "Heed texts/s", "Heed ÷ peer"]]
                for c in peers.cases {
                    pc.append([c.key, c.engine, "\(c.peer.runs)", ms(c.peer.medianS), ms(c.peer.minS), ms(c.peer.maxS),
                               ms(c.heed.medianS), ms(c.heed.minS), ms(c.heed.maxS), String(format: "%.1f", c.itemsPerS),
                               String(format: "%.1f", c.heedItemsPerS), String(format: "%.2f", c.heedOverPeer)])
                }
                peerTable = "\n== embedding peers, each case interleaved run by run with Heed's (> 1: Heed faster)\n" + format(pc, leftColumns: 2)
            } else {
                title += "\n   peers: \(p.status)"
            }
        }
        return title + "\n" + format(cells, leftColumns: 2) + peerTable
    }

    /// The tokenizer cases: bytes per second and seconds per MB (`items` is the input's bytes).
    static func tokenizeTable(_ s: Session) -> String {
        let rows = s.measured.filter { $0.bench.group == "tokenize" }
        guard !rows.isEmpty else { return "" }
        var cells = [["workload", "MB", "median ms", "min ms", "max ms", "runs", "MB/s", "s/MB", "RSS MiB"]]
        for m in rows {
            let mb = Double(m.bench.items ?? 0) / 1e6
            cells.append([m.bench.shape, String(format: "%.1f", mb), ms(m.median), ms(m.min), ms(m.max), "\(m.times.count)",
                          String(format: "%.1f", mb / m.median), String(format: "%.4f", m.median / mb),
                          m.peakRSSBytes.map(mib) ?? "—"])
        }
        return "\n== WordPiece tokenizer (all-MiniLM-L6-v2), pathological inputs: time per MB should not grow with the input\n"
            + format(cells, leftColumns: 1)
    }

    static func ms(_ t: Double) -> String {
        let v = t * 1e3
        return String(format: v < 10 ? "%.3f" : v < 100 ? "%.2f" : v < 1000 ? "%.1f" : "%.0f", v)
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

    /// Columns padded to their widest cell: the first `leftColumns` (and those in `alsoLeft`)
    /// left-aligned, the numbers right-aligned.
    static func format(_ cells: [[String]], leftColumns: Int, alsoLeft: Set<Int> = []) -> String {
        let widths = (0..<(cells.map(\.count).max() ?? 0)).map { c in cells.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return cells.enumerated().map { r, row in
            let line = row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c < leftColumns || alsoLeft.contains(c) ? cell + pad : pad + cell
            }.joined(separator: "  ")
            let rule = r == 0 ? "\n" + String(repeating: "-", count: line.count) : ""
            return String(line.reversed().drop(while: { $0 == " " }).reversed()) + rule
        }.joined(separator: "\n")
    }
}
