import ArgumentParser
import Foundation
import Heed

/// `heed-bench`: Heed's speed and memory on this machine, as fractions of what this machine's
/// BLAS does in the same run. The table goes to stdout, progress to stderr.
@main
struct HeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heed-bench",
        abstract: "Times Heed's matmul, attention (naive, materialised, tiled) and layers against this machine's SGEMM peak.",
        discussion: """
        Build it in release for this machine: `make bench` (swift build -c release -Xswiftc -target-cpu \
        -Xswiftc native --product heed-bench). The full run takes a few minutes; --quick a few seconds.
        """)

    @Option(help: "Write every case, the machine and the SGEMM peak as JSON to this file.")
    var json: String?

    @Option(help: "Draw attention-gflops.svg and attention-memory.svg into this directory.")
    var svg: String?

    @Option(parsing: .singleValue,
            help: "Run only cases whose name contains this text (case-insensitive; repeat or separate by commas for any of several). The 2048³ SGEMM peak always runs. --list shows the names.")
    var filter: [String] = []

    @Flag(help: "A seconds-long subset (CI): S1 attention, small matmuls, the layers, one GEMM-threading shape.")
    var quick = false

    @Flag(help: "Also run the attention shapes through PyTorch's scaled_dot_product_attention, and the embedding texts through sentence-transformers (2 threads), when the Python can import them.")
    var peers = false

    @Option(help: "The Python for --peers.")
    var python = ProcessInfo.processInfo.environment["HEED_BENCH_PYTHON"] ?? "python3"

    @Option(help: "The all-MiniLM-L6-v2 folder for the embedding cases (default: $HEED_MINILM_DIR, else models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(help: "Timed runs per case, at least (after one warm-up).")
    var runs = 5

    @Flag(help: "Run every attention, layer, training and embedding case twice, interleaved: with Heed's dispatched kernels forced to baseline x86-64 and at the best level this CPU supports; prints baseline ÷ best per case.")
    var compareBaseline = false

    @Flag(help: "Skip the SGEMM peak at the start and end (for profiling one case: they would dominate a profile of the process; % peak then shows —).")
    var noPeak = false

    @Flag(help: "List the cases that would run, without running them.")
    var list = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let started = seconds()
        if let model { EmbeddingBench.modelDirectory = model }
        let policy = RunPolicy(minRuns: runs, minGroupSeconds: quick ? 0.2 : 1.0, maxRuns: quick ? 10 : 25)
        let plan = Plan(quick: quick)
        let terms = filter.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        let selected: ([BenchCase]) -> [BenchCase] = { cases in
            terms.isEmpty ? cases : cases.filter { c in terms.contains { c.name.lowercased().contains($0) } }
        }
        let groups = plan.groups.map(selected).filter { !$0.isEmpty }
            .map { compareBaseline ? DispatchComparison.withBaselineTwins($0) : $0 }

        if list {
            for c in plan.peakGroup(end: false) + groups.flatMap({ $0 }) + plan.peakGroup(end: true) { print(c.name) }
            for s in skippedCases { print("\(s.name)  (skipped: \(s.reason))") }
            return
        }

        var session = Session(machine: .current(), quick: quick)
        log(session.machine.summary)
        let progress: (String) -> Void = { log($0) }
        func measure(_ cases: [BenchCase]) -> [Measured] {
            let done = runGroup(cases, policy: policy, progress: progress)
            for m in done {
                log(String(format: "%@: median %@ ms, %.1f GFLOP/s", m.bench.name, TableReport.ms(m.median), m.gflops))
            }
            return done
        }

        // The yardstick first and last: the peak is the better of the two, and a large gap
        // between them says the machine's load changed during the run.
        let start = noPeak ? [] : measure(plan.peakGroup(end: false))
        session.measured += start
        session.peakStart = start.first { $0.bench.name == Plan.peakName(end: false) }?.bestGflops ?? .nan
        for g in groups { session.measured += measure(g) }
        if peers {
            log("peers: PyTorch via \(python)")
            let shapes = (AttentionShape.standard + [.s2d32]).filter { s in
                session.measured.contains { $0.bench.group == "attention" && $0.bench.n == s.n }
            }
            // Heed's faster path (materialised or tiled) at each (shape, mask, pass).
            let best = Dictionary(grouping: session.measured.filter { $0.bench.group == "attention" && $0.bench.path != "naive" },
                                  by: { $0.bench.baselineKey })
                .values.compactMap { $0.max { $0.gflops < $1.gflops }?.bench }
                .sorted { ($0.n ?? 0, $0.pass.rawValue, $0.causal ? 1 : 0) < ($1.n ?? 0, $1.pass.rawValue, $1.causal ? 1 : 0) }
            session.peers = Peers.run(python: python, cases: best, shapes: shapes, policy: policy, threads: Parallel.workerCount)
            if session.measured.contains(where: { $0.bench.group == "embed" }) {
                log("peers: sentence-transformers and onnxruntime via \(python)")
                let embedCases = session.measured.map(\.bench).filter { $0.group == "embed" }
                session.embedPeers = EmbedPeers.run(python: python, modelDirectory: EmbeddingBench.modelDirectory,
                                                    workloads: EmbeddingBench.workloads(quick: quick),
                                                    cases: embedCases, policy: policy, threads: Parallel.workerCount)
            }
        }
        let end = noPeak ? [] : measure(plan.peakGroup(end: true))
        session.measured += end
        session.peakEnd = end.first { $0.bench.name == Plan.peakName(end: true) }?.bestGflops ?? .nan
        session.machine.loadAverageEnd = MachineInfo.loadAverage()
        session.seconds = seconds() - started

        print(TableReport.header(session, policy: policy))
        if noPeak {
            print("\nSGEMM 2048³ peak: not measured (--no-peak)")
        } else {
            print(String(format: "\nSGEMM 2048³ peak (best run, OpenBLAS %d threads): %.1f GFLOP/s (start %.1f, end %.1f)",
                         Parallel.workerCount, session.peak, session.peakStart, session.peakEnd))
        }
        if let w = TableReport.loadWarning(session) { print("\n" + w) }
        for group in ["sgemm", "matmul", "attention", "layers", "quantized", "train", "gemm-threading", "sgemm-end"] {
            let t = TableReport.table(session, group: group)
            if !t.isEmpty { print(t) }
        }
        print(TableReport.embedTable(session))
        print(TableReport.tokenizeTable(session))
        print(TableReport.threadingRatios(session))
        print(TableReport.quantizedRatios(session))
        print(DispatchComparison.table(session))
        print(TableReport.skipped())
        print(TableReport.targets(session.targetChecks()))
        if let p = session.peers { print(PeersReport.table(p)) }
        print(String(format: "\nran %d cases in %.0f s; load average at end %@", session.measured.count, session.seconds,
                     session.machine.loadAverageEnd))
        if let w = TableReport.loadWarning(session) { print(w) }

        if let json {
            try JSONReport(session: session, policy: policy).write(to: json)
            print("wrote \(json)")
        }
        if let svg {
            for f in try SVGReport.write(session, to: svg) { print("wrote \(f)") }
        }
    }
}

func log(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
