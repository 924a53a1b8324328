import Foundation

/// `--json PATH`: every case as an object, plus the machine, the build, the SGEMM peak, the FLOP
/// formulas, the targets and the peers. Keys are snake_case; a figure that does not apply
/// (`speedup_vs_naive` without a naive run, `percent_of_peak` of a case without FLOPs) is
/// written as null, never left out, so every case has the same keys.
struct JSONCase: Encodable {
    let m: Measured
    let percentOfPeak: Double?
    let speedUp: Double?

    enum Key: String, CodingKey {
        case name, group, shape, n, path, causal, pass, runs, calls_per_run, warmup_s
        case median_s, min_s, max_s, times_s, flops, gflops, best_gflops, percent_of_peak, speedup_vs_naive
        case peak_tensor_bytes, peak_rss_bytes, cpu_cores_used, items_per_call, items_per_s
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        let b = m.bench
        try c.encode(b.name, forKey: .name)
        try c.encode(b.group, forKey: .group)
        try c.encode(b.shape, forKey: .shape)
        try c.encode(b.n, forKey: .n)                        // Optional: null when not a sequence case
        try c.encode(b.path, forKey: .path)
        try c.encode(b.causal, forKey: .causal)
        try c.encode(b.pass.rawValue, forKey: .pass)
        try c.encode(m.times.count, forKey: .runs)
        try c.encode(b.callsPerRun, forKey: .calls_per_run)
        try c.encode(m.warmUp, forKey: .warmup_s)
        try c.encode(m.median, forKey: .median_s)
        try c.encode(m.min, forKey: .min_s)
        try c.encode(m.max, forKey: .max_s)
        try c.encode(m.times, forKey: .times_s)
        try c.encode(b.flops, forKey: .flops)
        try c.encode(m.gflops, forKey: .gflops)
        try c.encode(m.bestGflops, forKey: .best_gflops)
        try c.encode(percentOfPeak, forKey: .percent_of_peak)
        try c.encode(speedUp, forKey: .speedup_vs_naive)
        try c.encode(m.peakTensorBytes, forKey: .peak_tensor_bytes)
        try c.encode(m.peakRSSBytes, forKey: .peak_rss_bytes)
        try c.encode(m.coresUsed, forKey: .cpu_cores_used)
        try c.encode(b.items, forKey: .items_per_call)
        try c.encode(m.itemsPerSecond, forKey: .items_per_s)
    }
}

struct JSONReport: Encodable {
    let session: Session
    let policy: RunPolicy

    enum Key: String, CodingKey {
        case schema, generated, quick, duration_s, machine, sgemm_peak_gflops, sgemm_peak_gflops_start,
             sgemm_peak_gflops_end, load_warning, method, flop_formulas, cases, skipped, targets, peers, embedding_peers
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode("heed-bench/1", forKey: .schema)
        try c.encode(ISO8601DateFormatter().string(from: Date()), forKey: .generated)
        try c.encode(session.quick, forKey: .quick)
        try c.encode(session.seconds, forKey: .duration_s)
        try c.encode(session.machine, forKey: .machine)
        try c.encode(session.peak, forKey: .sgemm_peak_gflops)
        try c.encode(session.peakStart.isNaN ? nil : session.peakStart, forKey: .sgemm_peak_gflops_start)
        try c.encode(session.peakEnd.isNaN ? nil : session.peakEnd, forKey: .sgemm_peak_gflops_end)
        try c.encode(TableReport.loadWarning(session), forKey: .load_warning)
        try c.encode([
            "cpu_cores_used": "process CPU time / wall time over the timed runs",
            "runs": "one untimed warm-up, then at least \(policy.minRuns) timed runs per case (up to \(policy.maxRuns) while a group's round is under \(policy.minGroupSeconds) s); the cases of a group run interleaved",
            "times": "seconds per call (a run of calls_per_run calls, divided)",
            "gflops": "flops / median_s; best_gflops = flops / min_s",
            "sgemm_peak_gflops": "best (min-time) 2048³ cblas_sgemm run of the session on OpenBLAS's threads, measured at the start and at the end",
            "percent_of_peak": "gflops / sgemm_peak_gflops × 100",
            "items_per_s": "texts per second from the median (embedding cases; items_per_call texts a call), input bytes per second (tokenize cases), null elsewhere",
            "speedup_vs_naive": "median of the naive case with the same shape, mask and pass / this median; null without one",
            "peak_tensor_bytes": "Heed's allocator (MemoryStats): the case's inputs plus the most bytes alive during any run beyond those alive when it started; naive cases' [Float]/[Double] arrays are not counted",
            "peak_rss_bytes": session.machine.rssPeakResettable
                ? "process VmHWM during the warm-up run, reset via /proc/self/clear_refs just before it, with Heed's buffer cache emptied and the heap trimmed"
                : "process VmHWM (lifetime peak so far: this machine refused the reset)",
        ], forKey: .method)
        try c.encode(Dictionary(uniqueKeysWithValues: flopFormulas), forKey: .flop_formulas)
        try c.encode(session.measured.map { JSONCase(m: $0, percentOfPeak: session.percentOfPeak($0), speedUp: session.speedUp($0)) },
                     forKey: .cases)
        try c.encode(skippedCases.map { ["name": $0.name, "reason": $0.reason] }, forKey: .skipped)
        try c.encode(session.targetChecks(), forKey: .targets)
        try c.encode(session.peers, forKey: .peers)
        try c.encode(session.embedPeers, forKey: .embedding_peers)
    }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }
}
