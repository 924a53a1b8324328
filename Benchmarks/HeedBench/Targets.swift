import Foundation

/// The benchmark issue's targets, checked against this run's own numbers (ratios within one
/// run, so the host's noise cancels as far as it can).
struct TargetCheck: Codable {
    let target: String
    let value: Double
    let threshold: Double
    /// "≥" or "<".
    let comparison: String
    let unit: String
    let met: Bool
    let detail: String
}

extension Session {
    private func attention(_ s: String, _ path: String, causal: Bool, _ pass: Pass) -> Measured? {
        find("attention/\(s)/\(path)/\(causal ? "causal" : "full")/\(pass.rawValue)")
    }

    /// The faster of the materialised and tiled paths.
    private func best(_ s: String, causal: Bool, _ pass: Pass) -> Measured? {
        ["materialized", "tiled"].compactMap { attention(s, $0, causal: causal, pass) }.max { $0.gflops < $1.gflops }
    }

    func targetChecks() -> [TargetCheck] {
        var out: [TargetCheck] = []
        func check(_ target: String, _ value: Double?, _ cmp: String, _ threshold: Double, _ unit: String, _ detail: String) {
            guard let value, value.isFinite else { return }
            out.append(TargetCheck(target: target, value: value, threshold: threshold, comparison: cmp, unit: unit,
                                   met: cmp == "<" ? value < threshold : value >= threshold, detail: detail))
        }
        for (pass, threshold) in [(Pass.fwd, 75.0), (.fwdBwd, 60.0)] {
            for s in ["S2", "S3"] {
                for causal in [false, true] {
                    guard let m = best(s, causal: causal, pass) else { continue }
                    check("\(s) \(causal ? "causal" : "full") \(pass.rawValue), best path, % of SGEMM 2048³ peak",
                          percentOfPeak(m), "≥", threshold, "%",
                          String(format: "%@ %.1f GFLOP/s of %.1f", m.bench.path, m.gflops, peak))
                }
            }
        }
        // Issue 12: head size 32 at ≥ 0.85× the GFLOP/s of 64, same N, tiled.
        for pass in [Pass.fwd, .fwdBwd] {
            for causal in [false, true] {
                if let d32 = attention("S2d32", "tiled", causal: causal, pass), let d64 = attention("S2", "tiled", causal: causal, pass) {
                    check("S2 tiled \(causal ? "causal" : "full") \(pass.rawValue), GFLOP/s at d = 32 ÷ d = 64",
                          d32.gflops / d64.gflops, "≥", 0.85, "×", String(format: "%.1f vs %.1f GFLOP/s", d32.gflops, d64.gflops))
                }
            }
        }
        for causal in [false, true] {
            if let m = best("S2", causal: causal, .fwd) {
                check("S2 \(causal ? "causal" : "full") fwd, speed-up of the best path over naive",
                      speedUp(m), "≥", 40, "×", "\(m.bench.path)")
            }
        }
        for causal in [false, true] {
            if let m = attention("S4", "tiled", causal: causal, .fwdBwd) {
                check("S4 tiled \(causal ? "causal" : "full") fwd+bwd, peak tensor memory",
                      Double(m.peakTensorBytes) / 1_048_576, "<", 64, "MiB", "inputs, dOut and gradients included")
            }
        }
        for pass in [Pass.fwd, .fwdBwd] {
            for causal in [false, true] {
                if let t = attention("S3", "tiled", causal: causal, pass),
                   let m = attention("S3", "materialized", causal: causal, pass) {
                    check("S3 \(causal ? "causal" : "full") \(pass.rawValue), tiled throughput / materialised",
                          100 * t.gflops / m.gflops, "≥", 90, "%",
                          String(format: "%.1f vs %.1f GFLOP/s", t.gflops, m.gflops))
                }
            }
        }
        for pass in [Pass.fwd, .fwdBwd] {
            for path in ["materialized", "tiled"] {
                if let full = attention("S3", path, causal: false, pass), let causal = attention("S3", path, causal: true, pass) {
                    check("S3 \(path) \(pass.rawValue), causal speed-up over full (time ratio)",
                          full.median / causal.median, "≥", 1.6, "×",
                          String(format: "%.1f ms vs %.1f ms", full.median * 1e3, causal.median * 1e3))
                }
            }
        }
        // Embeddings (issue 7): at least sentence-transformers' throughput (with --peers, from
        // interleaved runs), else the issue's figures for it on this machine; one sentence under
        // 10 ms. Issue 12: ≥ 1.2× onnxruntime's throughput on short sentences at batch 32, and
        // one sentence at most onnxruntime's latency.
        let issueFigures = ["short/b32": 335.0, "passages-256/b16": 25.0]
        for (key, figure) in issueFigures.sorted(by: { $0.key > $1.key }) {
            guard let heed = find("embed/\(key)"), let rate = heed.itemsPerSecond else { continue }
            if let peer = embedPeers?.peer(key, "sentence-transformers") {
                check("embed \(key), Heed ÷ sentence-transformers texts/s (interleaved)", peer.heedOverPeer, "≥", 1, "×",
                      String(format: "%.1f vs %.1f texts/s", peer.heedItemsPerS, peer.itemsPerS))
            } else {
                check("embed \(key), Heed ÷ sentence-transformers texts/s (the issue's figure; no --peers)", rate / figure, "≥", 1, "×",
                      String(format: "%.1f vs %.0f texts/s", rate, figure))
            }
        }
        if let peer = embedPeers?.peer("short/b32", "onnxruntime") {
            check("embed short/b32, Heed ÷ onnxruntime texts/s (interleaved)", peer.heedOverPeer, "≥", 1.2, "×",
                  String(format: "%.1f vs %.1f texts/s", peer.heedItemsPerS, peer.itemsPerS))
        }
        if let single = find("embed/single") {
            check("embed one sentence, latency", single.median * 1e3, "<", 10, "ms",
                  String(format: "median of %d×%d calls, min %.2f ms", single.times.count, single.bench.callsPerRun, single.min * 1e3))
        }
        if let peer = embedPeers?.peer("single", "onnxruntime") {
            check("embed one sentence, onnxruntime latency ÷ Heed's (interleaved)", peer.heedOverPeer, "≥", 1, "×",
                  String(format: "%.2f vs %.2f ms", peer.heed.medianS * 1e3, peer.peer.medianS * 1e3))
        }
        return out
    }
}
