import Foundation

/// `--peers` for the embedding cases: the same texts through sentence-transformers
/// (`SentenceTransformer(folder).encode(texts, batch_size=…)`, PyTorch) and through onnxruntime
/// (the same model exported once by tools/export-minilm-onnx.py; the HF tokenizer, then mean
/// pooling and normalisation in numpy, as sentence-transformers does), both on two threads,
/// interleaved run by run with Heed's case (PeerServer.swift says why).
struct EmbedPeerReport: Encodable {
    var python: String
    var status: String
    var versions: [String: String]? = nil
    var threads: Int? = nil
    /// Why onnxruntime did not run, when it did not.
    var onnxStatus: String? = nil
    var cases: [EmbedPeerCase] = []

    enum CodingKeys: String, CodingKey {
        case python, status, versions, threads, cases
        case onnxStatus = "onnx_status"
    }

    func peer(_ key: String, _ engine: String) -> EmbedPeerCase? {
        cases.first { $0.key == key && $0.engine == engine }
    }
}

struct EmbedPeerCase: Encodable {
    let key: String
    /// "sentence-transformers" or "onnxruntime".
    let engine: String
    let items: Int
    /// Seconds per call, the peer's and Heed's, interleaved.
    let peer: TimeSummary
    let heed: TimeSummary
    /// From the medians; Heed ÷ peer > 1: Heed is faster.
    let itemsPerS: Double, heedItemsPerS: Double, heedOverPeer: Double

    init(key: String, engine: String, items: Int, peer: TimeSummary, heed: TimeSummary) {
        (self.key, self.engine, self.items, self.peer, self.heed) = (key, engine, items, peer, heed)
        itemsPerS = Double(items) / peer.medianS
        heedItemsPerS = Double(items) / heed.medianS
        heedOverPeer = peer.medianS / heed.medianS
    }

    enum CodingKeys: String, CodingKey {
        case key, engine, items, peer, heed
        case itemsPerS = "items_per_s", heedItemsPerS = "heed_items_per_s", heedOverPeer = "heed_over_peer"
    }
}

enum EmbedPeers {
    static let engines = ["sentence-transformers", "onnxruntime"]

    /// The fixture script that exports the model, next to this source in the repository.
    static let exportScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../tools/export-minilm-onnx.py").standardized.path

    /// `cases`: Heed's embed cases, each timed again here alternating with the peers' runs.
    static func run(python: String, modelDirectory: String, workloads: [EmbeddingBench.Workload],
                    cases: [BenchCase], policy: RunPolicy, threads: Int) -> EmbedPeerReport {
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
        let (onnx, onnxStatus) = onnxModel(python: python, modelDirectory: modelDirectory)
        report.onnxStatus = onnxStatus
        let request: [String: Any] = [
            "model": URL(fileURLWithPath: modelDirectory).path, "onnx": onnx ?? NSNull(), "threads": threads,
            "workloads": workloads.map { ["key": $0.key, "texts": $0.texts, "batch_size": $0.batchSize, "calls": $0.callsPerRun] },
        ]
        do {
            let server = try PeerServer(python: python, source: pythonScript, name: "embed-peers", setUp: request)
            if let ort = server.setUpAnswer["onnxruntime"] as? String { report.versions?["onnxruntime"] = ort }
            let running = engines.filter { $0 != "onnxruntime" || onnx != nil }
            for (w, workload) in workloads.enumerated() {
                guard let heed = cases.first(where: { $0.name == "embed/\(workload.key)" }) else { continue }
                log("  peers: \(heed.name) against \(running.joined(separator: " and ")), interleaved")
                let bodies: [() throws -> Double] = [heed.interleavedBody()] + running.map { engine in
                    let id = w * engines.count + engines.firstIndex(of: engine)!
                    return { try server.run(id) }
                }
                let times = try interleave(bodies, policy: policy)
                for (e, engine) in running.enumerated() {
                    report.cases.append(EmbedPeerCase(key: workload.key, engine: engine, items: workload.texts.count,
                                                      peer: TimeSummary(times[e + 1]), heed: TimeSummary(times[0])))
                }
            }
            report.status = "ran"
        } catch {
            report.status = "failed: \(error)"
        }
        return report
    }

    /// The ONNX export of the model (made by the fixture script on first use, kept next to the
    /// model), or nil and why not.
    static func onnxModel(python: String, modelDirectory: String) -> (String?, String) {
        let file = URL(fileURLWithPath: modelDirectory).appendingPathComponent("onnx-heed/model.onnx").path
        if FileManager.default.fileExists(atPath: file) { return (file, "ran") }
        guard Peers.shell(python, ["-c", "import onnxruntime, onnx, onnxscript"]).status == 0 else {
            return (nil, "skipped: onnxruntime, onnx or onnxscript not importable by \(python)")
        }
        do {
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        } catch {
            return (nil, "skipped: cannot create the folder for \(file): \(error)")
        }
        log("peers: exporting the model to \(file) (\(exportScript))")
        let r = Peers.shell(python, [exportScript, modelDirectory, file], passStderr: true)
        return r.status == 0 ? (file, "ran") : (nil, "skipped: \(exportScript) exited \(r.status) (its error is above)")
    }

    /// PeerServer's protocol. Case id = workload · 2 + engine (0 sentence-transformers, 1
    /// onnxruntime); one run = `calls` encode calls of the workload, seconds per call. At set-up
    /// the onnxruntime pipeline's embeddings are checked against sentence-transformers' on the
    /// first workload, so the two peers compute the same thing.
    static let pythonScript = #"""
    import json, os, sys, time, warnings
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    def send(o):
        sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()

    req = json.loads(sys.stdin.readline())
    torch.set_num_threads(req["threads"])
    st = SentenceTransformer(req["model"], device="cpu")
    answer = {}
    ort_embed = None
    if req["onnx"]:
        import onnxruntime as ort
        from transformers import AutoTokenizer
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = req["threads"]
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(req["onnx"], opts, providers=["CPUExecutionProvider"])
        tok = AutoTokenizer.from_pretrained(req["model"])
        max_len = st.max_seq_length
        def ort_embed(texts, batch_size):
            out = []
            for i in range(0, len(texts), batch_size):
                t = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=max_len, return_tensors="np")
                h = sess.run(None, {"input_ids": t["input_ids"], "attention_mask": t["attention_mask"],
                                    "token_type_ids": t["token_type_ids"]})[0]
                m = t["attention_mask"][..., None].astype(np.float32)
                e = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
                out.append(e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12))
            return np.concatenate(out)
        sample = req["workloads"][0]["texts"][:16]
        err = float(np.abs(ort_embed(sample, 8) - st.encode(sample, batch_size=8)).max())
        if err > 1e-4:
            send({"error": f"onnxruntime's embeddings differ from sentence-transformers' by {err:g}"}); sys.exit(1)
        answer["onnxruntime"] = ort.__version__
    send(answer)
    for line in sys.stdin:
        i = json.loads(line)["run"]
        w = req["workloads"][i // 2]
        t0 = time.perf_counter()
        for _ in range(w["calls"]):
            if i % 2 == 0:
                st.encode(w["texts"], batch_size=w["batch_size"], show_progress_bar=False)
            else:
                ort_embed(w["texts"], w["batch_size"])
        send({"seconds": (time.perf_counter() - t0) / w["calls"]})
    """#
}
