import Foundation

/// `--peers`: the same attention shapes through PyTorch's `scaled_dot_product_attention` on two
/// threads, in the same run, timed the same way (warm-up, ≥ 5 runs, median/min/max), so the
/// Heed/PyTorch ratio is from one machine at one moment. Runs only when `import torch` works in
/// the chosen Python; otherwise the report says it was skipped and why.
struct PeerReport: Encodable {
    var python: String
    var status: String
    var torchVersion: String? = nil
    var threads: Int? = nil
    var cases: [PeerCase] = []

    enum CodingKeys: String, CodingKey {
        case python, status, cases, threads
        case torchVersion = "torch_version"
    }
}

struct PeerCase: Codable {
    let label: String
    let shape: [Int]
    let causal: Bool
    let pass: String
    let runs: Int
    let medianS: Double
    let minS: Double
    let maxS: Double
    let flops: Double
    let gflops: Double
    /// Why a case has fewer runs than the others, when it does.
    var note: String? = nil
    /// Filled in by the Swift side: Heed's faster path at the same case, and Heed ÷ PyTorch.
    var heedPath: String? = nil
    var heedGflops: Double? = nil
    var heedOverTorch: Double? = nil

    enum CodingKeys: String, CodingKey {
        case label, shape, causal, pass, runs, flops, gflops, note
        case medianS = "median_s", minS = "min_s", maxS = "max_s"
        case heedPath = "heed_path", heedGflops = "heed_gflops", heedOverTorch = "heed_over_torch"
    }
}

enum Peers {
    static func run(python: String, shapes: [AttentionShape], policy: RunPolicy, threads: Int) -> PeerReport {
        var report = PeerReport(python: python, status: "")
        let probe = shell(python, ["-c", "import torch; print(torch.__version__)"])
        guard probe.status == 0 else {
            report.status = "skipped: torch not importable by \(python)"
            return report
        }
        report.torchVersion = probe.out.trimmingCharacters(in: .whitespacesAndNewlines)
        report.threads = threads
        let request: [String: Any] = [
            "shapes": shapes.map { ["label": $0.label, "dims": $0.dims] },
            "min_runs": policy.minRuns, "max_runs": policy.maxRuns, "min_seconds": policy.minGroupSeconds / 4,
            "threads": threads, "slow_seconds": 4.0,
        ]
        let (cases, status) = runScript(python, pythonScript, name: "peers", request: request, as: [PeerCase].self)
        report.cases = cases ?? []
        report.status = status
        return report
    }

    /// Writes `source` to a temporary file and runs it with `python`, the request as JSON on its
    /// stdin and its progress lines on our stderr; decodes its stdout as `T`. Returns the value
    /// (nil on failure) and the report's status: "ran", or what failed.
    static func runScript<T: Decodable>(_ python: String, _ source: String, name: String, request: [String: Any],
                                        as type: T.Type) -> (T?, String) {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("heed-bench-\(name)-\(getpid()).py")
        defer { try? FileManager.default.removeItem(at: script) }
        do {
            try source.write(to: script, atomically: true, encoding: .utf8)
            let r = shell(python, [script.path], input: try JSONSerialization.data(withJSONObject: request), passStderr: true)
            guard r.status == 0 else { return (nil, "failed: \(python) exited \(r.status) (its error is above)") }
            return (try JSONDecoder().decode(T.self, from: Data(r.out.utf8)), "ran")
        } catch {
            return (nil, "failed: \(error)")
        }
    }

    /// Runs `executable` (looked up in PATH) with `arguments`, feeding `input` on stdin; its
    /// stderr is captured, or passed through to ours (progress lines) with `passStderr`.
    static func shell(_ executable: String, _ arguments: [String], input: Data? = nil,
                      passStderr: Bool = false) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = passStderr ? FileHandle.standardError : err
        p.standardInput = inp
        do { try p.run() } catch { return (-1, "", "\(error)") }
        if let input { inp.fileHandleForWriting.write(input) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes before waiting: a child that fills a pipe would otherwise block.
        let errData = UncheckedBox()
        let group = DispatchGroup()
        if !passStderr {
            DispatchQueue.global().async(group: group) { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
    }

    private final class UncheckedBox: @unchecked Sendable { var data = Data() }

    /// Times torch.nn.functional.scaled_dot_product_attention like runGroup times Heed: one
    /// warm-up, then min_runs..max_runs runs, per case. A case whose warm-up takes longer than
    /// slow_seconds is not repeated (its one run is reported, with a note): PyTorch's CPU
    /// backward at 16384 tokens falls back to a kernel at a few GFLOP/s, a minute a run, which
    /// would make --peers take longer than the whole benchmark. Reads the request as JSON on
    /// stdin, prints the cases as JSON on stdout.
    static let pythonScript = #"""
    import json, statistics, sys, time, warnings
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch
    import torch.nn.functional as F

    req = json.load(sys.stdin)
    torch.set_num_threads(req["threads"])
    out = []
    for s in req["shapes"]:
        b, h, n, d = s["dims"]
        for pass_ in ("fwd", "fwd+bwd"):
            for causal in (False, True):
                g = torch.Generator().manual_seed(0)
                q, k, v, do = (torch.randn(b, h, n, d, generator=g) for _ in range(4))
                if pass_ == "fwd+bwd":
                    for t in (q, k, v):
                        t.requires_grad_(True)
                def body():
                    if pass_ == "fwd":
                        with torch.no_grad():
                            F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                    else:
                        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        o.backward(do)
                        q.grad = k.grad = v.grad = None
                t0 = time.perf_counter(); body(); warm = time.perf_counter() - t0
                note = None
                if warm > req["slow_seconds"]:
                    times = [warm]
                    note = f"one run only: it took {warm:.0f} s"
                else:
                    runs = max(req["min_runs"], min(req["max_runs"], int(req["min_seconds"] / max(warm, 1e-6)) + 1))
                    times = []
                    for _ in range(runs):
                        t0 = time.perf_counter(); body(); times.append(time.perf_counter() - t0)
                pairs = n * (n + 1) / 2 if causal else n * n
                flops = 4 * b * h * d * pairs * (1 if pass_ == "fwd" else 3)
                med = statistics.median(times)
                out.append(dict(label=s["label"], shape=[b, h, n, d], causal=causal, **{"pass": pass_}, runs=len(times),
                                median_s=med, min_s=min(times), max_s=max(times), flops=flops, gflops=flops / med / 1e9,
                                note=note))
                print(f"  peers: {s['label']} {'causal' if causal else 'full'} {pass_}: {flops / med / 1e9:.1f} GFLOP/s",
                      file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)
    """#
}

extension Session {
    /// Heed's faster path (materialised or tiled) at each PyTorch case, and Heed ÷ PyTorch in
    /// GFLOP/s (> 1: Heed is faster).
    mutating func fillPeerRatios() {
        guard var p = peers else { return }
        for i in p.cases.indices {
            let c = p.cases[i]
            let heed = measured.filter {
                $0.bench.group == "attention" && $0.bench.n == c.shape[2] && $0.bench.causal == c.causal
                    && $0.bench.pass.rawValue == c.pass && $0.bench.path != "naive"
            }.max { $0.gflops < $1.gflops }
            guard let heed else { continue }
            p.cases[i].heedPath = heed.bench.path
            p.cases[i].heedGflops = heed.gflops
            p.cases[i].heedOverTorch = heed.gflops / c.gflops
        }
        peers = p
    }
}

enum PeersReport {
    static func table(_ p: PeerReport) -> String {
        guard p.status == "ran" else { return "\n== peers: \(p.status)" }
        var cells = [["shape", "mask", "pass", "PyTorch ms", "runs", "PyTorch GFLOP/s", "Heed GFLOP/s", "Heed path", "Heed ÷ PyTorch", "note"]]
        for c in p.cases {
            cells.append(["\(c.label) (\(c.shape.map(String.init).joined(separator: ", ")))", c.causal ? "causal" : "full", c.pass,
                          TableReport.ms(c.medianS), "\(c.runs)", String(format: "%.1f", c.gflops),
                          c.heedGflops.map { String(format: "%.1f", $0) } ?? "—", c.heedPath ?? "—",
                          c.heedOverTorch.map { String(format: "%.2f", $0) } ?? "—", c.note ?? ""])
        }
        return "\n== peers: PyTorch \(p.torchVersion ?? "?") scaled_dot_product_attention, \(p.threads ?? 0) threads, same run (> 1: Heed faster)\n"
            + TableReport.format(cells, leftColumns: 3, alsoLeft: [7, 9])
    }
}
