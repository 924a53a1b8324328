import Dispatch
import Foundation
import Heed

/// How many times to run, and for how long.
struct RunPolicy {
    /// Timed runs per case, at least (the warm-up is extra).
    var minRuns = 5
    /// More rounds while a group's rounds add up to less than this many seconds…
    var minGroupSeconds = 1.0
    /// …but never more than this many.
    var maxRuns = 25
}

@inline(__always) func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// CPU time of the whole process (all threads), in seconds. Its growth over a run divided by
/// the run's wall time is the number of cores the run kept busy: ~2 for a two-core kernel on a
/// quiet machine, less when another tenant takes a core.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs a group of cases interleaved, so that a comparison within the group (tiled against
/// materialised, causal against not, our threads against OpenBLAS's) sees the same noise.
///
/// The host is shared: another tenant can take the second core for seconds at a time, which
/// moves single timings by ±40%. Running A B C A B C … instead of A A A B B B C C C spreads
/// such a stretch over every case of the group instead of sinking one of them.
///
/// 1. Set-up: every case allocates its inputs (outside the timing).
/// 2. Warm-up: each case runs once, with Heed's buffer cache emptied, the heap trimmed and the
///    RSS high-water mark reset just before, so the case's peak RSS is its own (first-touch) working set and not
///    the cached buffers of its neighbours. That run is not timed into the statistics.
/// 3. Rounds: every case once per round, at least `minRuns` rounds, more (up to `maxRuns`)
///    while a round is short, so quick cases get more samples.
///
/// Times are per call (a run of `callsPerRun` calls, divided).
///
/// Peak tensor bytes: the case's inputs plus, over all its runs, the most bytes Heed had alive
/// at once beyond what was alive when the run started.
func runGroup(_ cases: [BenchCase], policy: RunPolicy, progress: (String) -> Void) -> [Measured] {
    guard !cases.isEmpty else { return [] }
    var bodies: [() -> Void] = []
    var inputBytes: [Int] = []
    for c in cases {
        let before = MemoryStats.liveBytes
        bodies.append(c.setUp())
        inputBytes.append(MemoryStats.liveBytes - before)
    }
    var extra = [Int](repeating: 0, count: cases.count)
    var warm = [Double](repeating: 0, count: cases.count)
    var rss = [Int?](repeating: nil, count: cases.count)
    var cpu = [Double](repeating: 0, count: cases.count), wall = [Double](repeating: 0, count: cases.count)

    func timed(_ i: Int) -> Double {
        let live = MemoryStats.liveBytes
        MemoryStats.resetPeak()
        let c0 = cpuSeconds()
        let t0 = seconds()
        bodies[i]()
        let t = seconds() - t0
        cpu[i] += cpuSeconds() - c0
        wall[i] += t
        extra[i] = Swift.max(extra[i], MemoryStats.peakBytes - live)
        return t
    }

    for i in cases.indices {
        progress("  warm-up \(cases[i].name)")
        MemoryStats.emptyCache()
        ProcessMemory.trimHeap()
        if ProcessMemory.canResetPeak { ProcessMemory.resetPeak() }
        warm[i] = timed(i) / Double(cases[i].callsPerRun)
        rss[i] = ProcessMemory.peakRSS
    }
    cpu = cpu.map { _ in 0 }
    wall = wall.map { _ in 0 }
    let round = zip(warm, cases).reduce(0) { $0 + $1.0 * Double($1.1.callsPerRun) }
    let rounds = Swift.max(policy.minRuns,
                           Swift.min(policy.maxRuns, Int((policy.minGroupSeconds / Swift.max(round, 1e-6)).rounded(.up))))
    var times = [[Double]](repeating: [], count: cases.count)
    progress("  \(rounds) rounds of \(cases.count) case(s), ~\(String(format: "%.2f", round)) s a round")
    for _ in 0..<rounds {
        for i in cases.indices { times[i].append(timed(i) / Double(cases[i].callsPerRun)) }
    }
    bodies.removeAll()           // frees the inputs before the next group
    MemoryStats.emptyCache()
    return cases.indices.map { i in
        Measured(bench: cases[i], times: times[i], warmUp: warm[i],
                 peakTensorBytes: inputBytes[i] + extra[i], peakRSSBytes: rss[i], coresUsed: cpu[i] / wall[i])
    }
}
