import Foundation

/// `--svg DIR`: two hand-written SVG charts of the attention cases, which a person reads faster
/// than the JSON — `attention-gflops.svg` (GFLOP/s vs N, with this run's SGEMM peak) and
/// `attention-memory.svg` (peak tensor memory vs N), each with a forward and a forward+backward
/// panel; one line per path (naive, materialised, tiled, and PyTorch when `--peers` ran), solid
/// for the full mask and dashed for causal (throughput only: causal allocates what full does).
/// Both axes are logarithmic.
enum SVGReport {
    struct Series {
        let label: String
        let color: String
        let dashed: Bool
        let points: [(x: Double, y: Double, tip: String)]
    }

    struct Panel {
        let title: String
        let yLabel: String
        let series: [Series]
        /// Horizontal reference lines (y, label).
        let rules: [(y: Double, label: String)]
        let yFormat: (Double) -> String
        /// Grid at powers of 2 (1, 2, 4 … 64 MiB …) instead of 1, 2, 5 × 10ᵏ.
        var binaryGrid = false
    }

    static let colors = ["naive": "#7f7f7f", "materialized": "#1f77b4", "tiled": "#ff7f0e", "pytorch": "#2ca02c"]
    static let pathOrder = ["naive", "materialized", "tiled", "pytorch"]

    static func write(_ s: Session, to dir: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let charted = Set(AttentionShape.standard.map(\.label))
        let attention = s.measured.filter {
            $0.bench.group == "attention" && $0.bench.n != nil && charted.contains(String($0.bench.shape.prefix { $0 != " " }))
        }
        guard !attention.isEmpty else { return [] }
        var shapeOf: [Int: String] = [:]
        for m in attention { shapeOf[m.bench.n!] = m.bench.shape }
        let ticks = shapeOf.keys.sorted().map { (Double($0), "N = \($0)", shapeOf[$0]!) }

        func series(_ pass: Pass, masks: [Bool] = [false, true], _ value: (Measured) -> Double) -> [Series] {
            var out: [Series] = []
            for path in pathOrder where path != "pytorch" {
                for causal in masks {
                    let pts = attention.filter { $0.bench.path == path && $0.bench.causal == causal && $0.bench.pass == pass }
                        .sorted { $0.bench.n! < $1.bench.n! }
                        .map { m in (x: Double(m.bench.n!), y: value(m), tip: "\(m.bench.name): \(String(format: "%.1f GFLOP/s, %.1f MiB, median %.2f ms", m.gflops, Double(m.peakTensorBytes) / 1_048_576, m.median * 1e3))") }
                    if !pts.isEmpty {
                        out.append(Series(label: "\(path) \(causal ? "causal" : "full")", color: colors[path]!, dashed: causal, points: pts))
                    }
                }
            }
            return out
        }
        func peerSeries(_ pass: Pass) -> [Series] {
            guard let cases = s.peers?.cases.filter({ charted.contains($0.label) }), !cases.isEmpty else { return [] }
            return [false, true].compactMap { causal in
                let pts = cases.filter { $0.pass == pass.rawValue && $0.causal == causal }.sorted { $0.shape[2] < $1.shape[2] }
                    .map { c in (x: Double(c.shape[2]), y: c.gflops, tip: "PyTorch \(c.label) \(causal ? "causal" : "full") \(c.pass): \(String(format: "%.1f", c.gflops)) GFLOP/s (Heed \(String(format: "%.1f", c.heedGflops)) interleaved)") }
                return pts.isEmpty ? nil : Series(label: "pytorch \(causal ? "causal" : "full")", color: colors["pytorch"]!, dashed: causal, points: pts)
            }
        }

        let peakRule = s.peak > 0 ? [(y: s.peak, label: String(format: "SGEMM 2048³ peak %.0f", s.peak))] : []
        let gflopsFormat: (Double) -> String = { String(format: $0 < 10 ? "%.1f" : "%.0f", $0) }
        let gflops = chart(
            title: "Attention throughput vs sequence length",
            subtitle: "GFLOP/s from the median time (forward 4·B·H·N²·d, causal half, fwd+bwd 3×); \(s.machine.cpu), \(s.machine.cpuFlags)",
            ticks: ticks,
            panels: [Pass.fwd, .fwdBwd].map { pass in
                Panel(title: pass == .fwd ? "forward" : "forward + backward", yLabel: "GFLOP/s",
                      series: series(pass) { $0.gflops } + peerSeries(pass), rules: peakRule, yFormat: gflopsFormat)
            })
        let mibFormat: (Double) -> String = {
            $0 >= 1024 ? String(format: "%g GiB", $0 / 1024) : $0 >= 1 ? String(format: "%g MiB", $0) : String(format: "%g KiB", $0 * 1024)
        }
        let memory = chart(
            title: "Attention peak tensor memory vs sequence length",
            subtitle: "Heed's allocator peak during a run, inputs included; full mask (causal allocates the same); naive: tensors only, its Swift arrays are not counted",
            ticks: ticks,
            panels: [Pass.fwd, .fwdBwd].map { pass in
                Panel(title: pass == .fwd ? "forward" : "forward + backward", yLabel: "peak tensor memory",
                      series: series(pass, masks: [false]) { Double($0.peakTensorBytes) / 1_048_576 },
                      rules: pass == .fwdBwd ? [(y: 64, label: "64 MiB (S4 tiled target)")] : [], yFormat: mibFormat,
                      binaryGrid: true)
            })
        let files = [("attention-gflops.svg", gflops), ("attention-memory.svg", memory)]
        for (name, svg) in files {
            try svg.write(toFile: (dir as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return files.map { (dir as NSString).appendingPathComponent($0.0) }
    }

    // MARK: drawing

    static let panelW = 470.0, panelH = 330.0
    static let left = 78.0, right = 24.0, top = 128.0, bottom = 74.0

    static func chart(title: String, subtitle: String, ticks: [(x: Double, label: String, sub: String)], panels: [Panel]) -> String {
        let width = Double(panels.count) * (left + panelW + right)
        let height = top + panelH + bottom
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="26" text-anchor="middle" font-size="19" font-weight="bold">\(esc(title))</text>
        <text x="\(width / 2)" y="46" text-anchor="middle" font-size="11.5" fill="#444">\(esc(subtitle))</text>

        """
        svg += legend(panels.flatMap(\.series), width: width, y: 70)
        let xs = ticks.map(\.x)
        let xLo = log2(xs.min()! / 1.5), xHi = log2(xs.max()! * 1.5)
        for (i, p) in panels.enumerated() {
            let x0 = Double(i) * (left + panelW + right) + left
            svg += panel(p, x0: x0, y0: top, ticks: ticks, xLo: xLo, xHi: xHi)
        }
        return svg + "</svg>\n"
    }

    static func legend(_ all: [Series], width: Double, y: Double) -> String {
        var seen = Set<String>(), items: [Series] = []
        for s in all where seen.insert(s.label).inserted { items.append(s) }
        let itemW = 178.0
        let perRow = Swift.max(1, Int((width - 40) / itemW))
        var out = ""
        for (i, s) in items.enumerated() {
            let row = Double(i / perRow), col = Double(i % perRow)
            let rowCount = Double(Swift.min(perRow, items.count - Int(row) * perRow))
            let x = (width - rowCount * itemW) / 2 + col * itemW, yy = y + row * 20
            out += "<line x1=\"\(x)\" y1=\"\(yy)\" x2=\"\(x + 30)\" y2=\"\(yy)\" stroke=\"\(s.color)\" stroke-width=\"2.5\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            out += "<circle cx=\"\(x + 15)\" cy=\"\(yy)\" r=\"3.5\" fill=\"\(s.color)\"/>"
            out += "<text x=\"\(x + 38)\" y=\"\(yy + 4)\" font-size=\"12.5\">\(esc(s.label))</text>\n"
        }
        return out
    }

    static func panel(_ p: Panel, x0: Double, y0: Double, ticks: [(x: Double, label: String, sub: String)], xLo: Double, xHi: Double) -> String {
        let ys = (p.series.flatMap { $0.points.map(\.y) } + p.rules.map(\.y)).filter { $0 > 0 }
        guard !ys.isEmpty else { return "" }
        let yLo = floor(log10(ys.min()!) * 2) / 2 - 0.1, yHi = ceil(log10(ys.max()!) * 2) / 2 + 0.1
        func px(_ x: Double) -> Double { x0 + (log2(x) - xLo) / (xHi - xLo) * panelW }
        func py(_ y: Double) -> Double { y0 + panelH - (log10(y) - yLo) / (yHi - yLo) * panelH }
        var out = "<g>\n<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 - 10)\" text-anchor=\"middle\" font-size=\"14.5\" font-weight=\"bold\">\(esc(p.title))</text>\n"
        out += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelW)\" height=\"\(panelH)\" fill=\"none\" stroke=\"#999\"/>\n"
        // y grid at 1, 2, 5 × 10^k, or at 2^k
        var grid: [Double] = []
        if p.binaryGrid {
            var k = floor(yLo / log10(2.0))
            while k * log10(2.0) <= yHi { grid.append(pow(2, k)); k += 1 }
        } else {
            var k = floor(yLo)
            while k <= yHi { grid += [1.0, 2.0, 5.0].map { $0 * pow(10, k) }; k += 1 }
        }
        for v in grid where log10(v) >= yLo && log10(v) <= yHi {
            // Decades (powers of 4 on the binary grid) darker than the lines between.
            let major = p.binaryGrid ? Int(log2(v).rounded()) % 2 == 0 : abs(log10(v) - log10(v).rounded()) < 1e-9
            let y = py(v)
            out += "<line x1=\"\(x0)\" y1=\"\(y)\" x2=\"\(x0 + panelW)\" y2=\"\(y)\" stroke=\"\(major ? "#d0d0d0" : "#ececec")\"/>"
            out += "<text x=\"\(x0 - 6)\" y=\"\(y + 4)\" text-anchor=\"end\" font-size=\"11\" fill=\"#333\">\(esc(p.yFormat(v)))</text>\n"
        }
        for t in ticks {
            let x = px(t.x)
            out += "<line x1=\"\(x)\" y1=\"\(y0)\" x2=\"\(x)\" y2=\"\(y0 + panelH)\" stroke=\"#ececec\"/>"
            out += "<text x=\"\(x)\" y=\"\(y0 + panelH + 17)\" text-anchor=\"middle\" font-size=\"11.5\">\(esc(t.label))</text>"
            out += "<text x=\"\(x)\" y=\"\(y0 + panelH + 32)\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">\(esc(t.sub))</text>\n"
        }
        out += "<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 + panelH + 56)\" text-anchor=\"middle\" font-size=\"12\">sequence length N (log scale); below it the shape (B, H, N, d)</text>\n"
        out += "<text transform=\"translate(\(x0 - 60) \(y0 + panelH / 2)) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(esc(p.yLabel)) (log scale)</text>\n"
        for r in p.rules where r.y > 0 {
            let y = py(r.y)
            out += "<line x1=\"\(x0)\" y1=\"\(y)\" x2=\"\(x0 + panelW)\" y2=\"\(y)\" stroke=\"#d62728\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"/>"
            out += "<text x=\"\(x0 + 6)\" y=\"\(y - 5)\" font-size=\"11\" fill=\"#d62728\">\(esc(r.label))</text>\n"
        }
        for s in p.series {
            let pts = s.points.filter { $0.y > 0 }
            let d = pts.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            out += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2.2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for q in pts {
                out += "<circle cx=\(String(format: "\"%.1f\" cy=\"%.1f\"", px(q.x), py(q.y))) r=\"3.5\" fill=\"\(s.dashed ? "white" : s.color)\" stroke=\"\(s.color)\" stroke-width=\"1.5\"><title>\(esc(q.tip))</title></circle>\n"
            }
        }
        return out + "</g>\n"
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
