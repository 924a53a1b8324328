import Foundation

/// `--peers` for the embedding cases: the same texts through sentence-transformers
/// (`SentenceTransformer(folder).encode(texts, batch_size=…)`, PyTorch on two threads), in the
/// same run and timed the same way, so Heed ÷ sentence-transformers is from one moment.
struct EmbedPeerReport: Encodable {
    var python: String
    var status: String
    var versions: [String: String]? = nil
    var threads: Int? = nil
    var cases: [EmbedPeerCase] = []
}

struct EmbedPeerCase: Codable {
    let key: String
    let items: Int
    let runs: Int
    let medianS: Double
    let minS: Double
    let maxS: Double
    var itemsPerS: Double { Double(items) / medianS }
    /// Filled in by the Swift side.
    var heedItemsPerS: Double? = nil
    var heedOverPeer: Double? = nil

    enum CodingKeys: String, CodingKey {
        case key, items, runs
        case medianS = "median_s", minS = "min_s", maxS = "max_s"
        case heedItemsPerS = "heed_items_per_s", heedOverPeer = "heed_over_peer"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(items, forKey: .items)
        try c.encode(runs, forKey: .runs)
        try c.encode(medianS, forKey: .medianS)
        try c.encode(minS, forKey: .minS)
        try c.encode(maxS, forKey: .maxS)
        try c.encode(heedItemsPerS, forKey: .heedItemsPerS)
        try c.encode(heedOverPeer, forKey: .heedOverPeer)
    }
}

enum EmbedPeers {
    static func run(python: String, modelDirectory: String, workloads: [EmbeddingBench.Workload],
                    policy: RunPolicy, threads: Int) -> EmbedPeerReport {
        var report = EmbedPeerReport(python: python, status: "")
        let probe = Peers.shell(python, ["-c", "import sentence_transformers, torch, transformers; print(sentence_transformers.__version__, torch.__version__, transformers.__version__)"])
        guard probe.status == 0 else {
            report.status = "skipped: sentence_transformers not importable by \(python)"
            return report
        }
        let v = probe.out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        report.versions = ["sentence_transformers": v.first ?? "?", "torch": v.count > 1 ? v[1] : "?",
                           "transformers": v.count > 2 ? v[2] : "?"]
        report.threads = threads
        let request: [String: Any] = [
            "model": URL(fileURLWithPath: modelDirectory).path, "threads": threads,
            "min_runs": policy.minRuns, "max_runs": policy.maxRuns, "min_seconds": policy.minGroupSeconds,
            "workloads": workloads.map { ["key": $0.key, "texts": $0.texts, "batch_size": $0.batchSize, "calls": $0.callsPerRun] },
        ]
        let (cases, status) = Peers.runScript(python, pythonScript, name: "embed-peers", request: request, as: [EmbedPeerCase].self)
        report.cases = cases ?? []
        report.status = status
        return report
    }

    /// One warm-up call, then min_runs..max_runs timed runs (more while the runs add up to
    /// less than min_seconds), each of `calls` encode calls; times per call.
    static let pythonScript = #"""
    import json, os, statistics, sys, time, warnings
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    import torch
    from sentence_transformers import SentenceTransformer

    req = json.load(sys.stdin)
    torch.set_num_threads(req["threads"])
    model = SentenceTransformer(req["model"], device="cpu")
    out = []
    for w in req["workloads"]:
        def body():
            for _ in range(w["calls"]):
                model.encode(w["texts"], batch_size=w["batch_size"], show_progress_bar=False)
        t0 = time.perf_counter(); body(); warm = time.perf_counter() - t0
        runs = max(req["min_runs"], min(req["max_runs"], int(req["min_seconds"] / max(warm, 1e-6)) + 1))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter(); body(); times.append((time.perf_counter() - t0) / w["calls"])
        med = statistics.median(times)
        out.append(dict(key=w["key"], items=len(w["texts"]), runs=runs, median_s=med, min_s=min(times), max_s=max(times)))
        print(f"  peers: sentence-transformers {w['key']}: {len(w['texts']) / med:.1f} texts/s", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)
    """#
}

extension Session {
    /// Heed's items/s at each sentence-transformers case, and Heed ÷ sentence-transformers.
    mutating func fillEmbedPeerRatios() {
        guard var p = embedPeers else { return }
        for i in p.cases.indices {
            guard let heed = find("embed/\(p.cases[i].key)")?.itemsPerSecond else { continue }
            p.cases[i].heedItemsPerS = heed
            p.cases[i].heedOverPeer = heed / p.cases[i].itemsPerS
        }
        embedPeers = p
    }
}
