import Foundation

/// A small SVG line chart (no dependencies): one polyline per series, axes with ticks, legend.
struct LineChart {
    let title: String
    let xLabel: String
    let yLabel: String
    let series: [(name: String, points: [(Double, Double)])]

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    func svg(width: Double = 720, height: Double = 440) -> String {
        let (left, right, top, bottom) = (70.0, 170.0, 40.0, 50.0)
        let all = series.flatMap(\.points)
        let xs = all.map(\.0), ys = all.map(\.1)
        let (x0, x1) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        let pad = max((y1 - y0) * 0.1, 0.005)
        y0 -= pad; y1 += pad
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="14">\(escape(title))</text>
        <line x1="\(left)" y1="\(top + ph)" x2="\(left + pw)" y2="\(top + ph)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + ph)" stroke="black"/>

        """
        for i in 0...5 {
            let y = y0 + (y1 - y0) * Double(i) / 5
            s += "<line x1=\"\(left - 4)\" y1=\"\(py(y))\" x2=\"\(left + pw)\" y2=\"\(py(y))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 8)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: "%.3f", y))</text>\n"
        }
        // Whole-number ticks (epochs), at most about ten of them.
        let step = max(1, Int(((x1 - x0) / 10).rounded(.up)))
        for x in stride(from: Int(x0.rounded(.up)), through: Int(x1), by: step) {
            s += "<text x=\"\(px(Double(x)))\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(x)</text>\n"
        }
        s += "<text x=\"\(left + pw / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(18 \(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, serie) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let pts = serie.points.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
            for p in serie.points { s += "<circle cx=\"\(px(p.0))\" cy=\"\(py(p.1))\" r=\"3\" fill=\"\(color)\"/>\n" }
            let ly = top + 10 + Double(i) * 20
            s += "<line x1=\"\(left + pw + 15)\" y1=\"\(ly)\" x2=\"\(left + pw + 35)\" y2=\"\(ly)\" stroke=\"\(color)\" stroke-width=\"2\"/>"
            s += "<text x=\"\(left + pw + 40)\" y=\"\(ly + 4)\">\(escape(serie.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    private func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
