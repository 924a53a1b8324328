import Foundation

/// `--peers`: the same attention shapes through PyTorch's `scaled_dot_product_attention` on two
/// threads, interleaved run by run with Heed's best path at the same case (PeerServer.swift says
/// why), so Heed ÷ PyTorch compares the two under the same load. Runs only when `import torch`
/// works in the chosen Python; otherwise the report says it was skipped and why.
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

struct PeerCase: Encodable {
    let label: String
    let shape: [Int]
    let causal: Bool
    let pass: String
    let flops: Double
    /// PyTorch's and Heed's calls, interleaved.
    let torch: TimeSummary
    let heed: TimeSummary
    /// Heed's path here: the faster of materialised and tiled in the main measurement.
    let heedPath: String
    /// Why a case has fewer runs than the others, when it does.
    let note: String?
    /// From the medians; Heed ÷ PyTorch > 1: Heed is faster.
    let gflops: Double, heedGflops: Double, heedOverTorch: Double

    init(label: String, shape: [Int], causal: Bool, pass: String, flops: Double, torch: TimeSummary,
         heed: TimeSummary, heedPath: String, note: String?) {
        (self.label, self.shape, self.causal, self.pass, self.flops) = (label, shape, causal, pass, flops)
        (self.torch, self.heed, self.heedPath, self.note) = (torch, heed, heedPath, note)
        gflops = flops / torch.medianS / 1e9
        heedGflops = flops / heed.medianS / 1e9
        heedOverTorch = torch.medianS / heed.medianS
    }

    enum CodingKeys: String, CodingKey {
        case label, shape, causal, pass, flops, torch, heed, note, gflops
        case heedPath = "heed_path", heedGflops = "heed_gflops", heedOverTorch = "heed_over_torch"
    }
}

enum Peers {
    /// A peer call slower than this is not repeated (its warm-up and one timed run are
    /// reported, with a note): PyTorch's CPU backward at 16384 tokens falls back to a kernel at
    /// a few GFLOP/s, a minute a run, which would make --peers take longer than the benchmark.
    static let slowSeconds = 4.0

    /// `cases`: Heed's best measured attention case per (shape, mask, pass), each timed again
    /// here, alternating with PyTorch's.
    static func run(python: String, cases: [BenchCase], shapes: [AttentionShape], policy: RunPolicy,
                    threads: Int) -> PeerReport {
        var report = PeerReport(python: python, status: "")
        let probe = shell(python, ["-c", "import torch; print(torch.__version__)"])
        guard probe.status == 0 else {
            report.status = "skipped: torch not importable by \(python)"
            return report
        }
        report.torchVersion = probe.out.trimmingCharacters(in: .whitespacesAndNewlines)
        report.threads = threads
        let work: [(BenchCase, AttentionShape)] = cases.compactMap { c in
            shapes.first { $0.n == c.n && $0.label == c.shape.split(separator: " ").first.map(String.init) }.map { (c, $0) }
        }
        let request: [String: Any] = [
            "threads": threads,
            "cases": work.map { c, s in ["dims": s.dims, "causal": c.causal, "pass": c.pass.rawValue] },
        ]
        do {
            let server = try PeerServer(python: python, source: pythonScript, name: "peers", setUp: request)
            for (i, (c, s)) in work.enumerated() {
                log("  peers: \(c.name) against PyTorch, interleaved")
                let heed = c.interleavedBody()
                var slow = false
                let times = try interleave([heed, { let t = try server.run(i); slow = slow || t > slowSeconds; return t }],
                                           policy: policy, stopIf: { slow })
                report.cases.append(PeerCase(label: s.label, shape: s.dims, causal: c.causal, pass: c.pass.rawValue,
                                             flops: c.flops, torch: TimeSummary(times[1]), heed: TimeSummary(times[0]),
                                             heedPath: c.path,
                                             note: slow ? String(format: "one run only: PyTorch took %.0f s", times[1].max() ?? 0) : nil))
            }
            report.status = "ran"
        } catch {
            report.status = "failed: \(error)"
        }
        return report
    }

    /// Runs `executable` (looked up in PATH) with `arguments` and an empty stdin; its stderr is
    /// captured, or passed through to ours (progress lines) with `passStderr`.
    static func shell(_ executable: String, _ arguments: [String],
                      passStderr: Bool = false) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = passStderr ? FileHandle.standardError : err
        p.standardInput = inp
        do { try p.run() } catch { return (-1, "", "\(error)") }
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

    /// PeerServer's protocol for torch.nn.functional.scaled_dot_product_attention: the set-up
    /// names the cases; each run builds the case's inputs on its first call (freeing the
    /// previous case's) and times one call.
    static let pythonScript = #"""
    import json, sys, time, warnings
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch
    import torch.nn.functional as F

    def send(o):
        sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()

    req = json.loads(sys.stdin.readline())
    torch.set_num_threads(req["threads"])
    cases = req["cases"]
    send({"cases": len(cases)})
    current, body = None, None
    for line in sys.stdin:
        i = json.loads(line)["run"]
        if i != current:
            c = cases[i]
            b, h, n, d = c["dims"]
            g = torch.Generator().manual_seed(0)
            q, k, v, do = (torch.randn(b, h, n, d, generator=g) for _ in range(4))
            causal, backward = c["causal"], c["pass"] == "fwd+bwd"
            if backward:
                for t in (q, k, v):
                    t.requires_grad_(True)
            def body(q=q, k=k, v=v, do=do, causal=causal, backward=backward):
                if not backward:
                    with torch.no_grad():
                        F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                else:
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                    o.backward(do)
                    q.grad = k.grad = v.grad = None
            current = i
        t0 = time.perf_counter(); body(); send({"seconds": time.perf_counter() - t0})
    """#
}

enum PeersReport {
    static func table(_ p: PeerReport) -> String {
        guard p.status == "ran" else { return "\n== peers: \(p.status)" }
        var cells = [["shape", "mask", "pass", "runs", "PyTorch ms", "min", "max", "Heed ms", "min", "max",
                      "PyTorch GFLOP/s", "Heed GFLOP/s", "Heed path", "Heed ÷ PyTorch", "note"]]
        for c in p.cases {
            cells.append(["\(c.label) (\(c.shape.map(String.init).joined(separator: ", ")))", c.causal ? "causal" : "full", c.pass,
                          "\(c.torch.runs)", TableReport.ms(c.torch.medianS), TableReport.ms(c.torch.minS), TableReport.ms(c.torch.maxS),
                          TableReport.ms(c.heed.medianS), TableReport.ms(c.heed.minS), TableReport.ms(c.heed.maxS),
                          String(format: "%.1f", c.gflops), String(format: "%.1f", c.heedGflops), c.heedPath,
                          String(format: "%.2f", c.heedOverTorch), c.note ?? ""])
        }
        return "\n== peers: PyTorch \(p.torchVersion ?? "?") scaled_dot_product_attention, \(p.threads ?? 0) threads, each case interleaved run by run with Heed's (> 1: Heed faster)\n"
            + TableReport.format(cells, leftColumns: 3, alsoLeft: [12, 14])
    }
}
