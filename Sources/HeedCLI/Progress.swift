import Foundation

/// One epoch's progress: a redrawn bar with loss, accuracy, examples/s and ETA on a terminal;
/// on anything else (a pipe, a CI log) nothing until the epoch's summary line.
struct ProgressBar {
    let label: String
    let total: Int
    let batchSize: Int
    let start = DispatchTime.now()
    let interactive = isatty(STDERR_FILENO) != 0
    private var lastDraw: UInt64 = 0

    init(label: String, total: Int, batchSize: Int) {
        self.label = label
        self.total = total
        self.batchSize = batchSize
    }

    mutating func update(_ done: Int, loss: Double, accuracy: Double) {
        guard interactive else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard done == total || now - lastDraw > 100_000_000 else { return }   // ≤ 10 redraws/s
        lastDraw = now
        let elapsed = Double(now - start.uptimeNanoseconds) / 1e9
        let rate = Double(done * batchSize) / max(elapsed, 1e-9)
        let eta = elapsed / Double(max(done, 1)) * Double(total - done)
        let width = 24
        let filled = width * done / max(total, 1)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ %@ %3d%%  loss %.4f  acc %.4f  %6.0f ex/s  ETA %3.0fs",
                          label, bar, 100 * done / max(total, 1), loss, accuracy, rate, eta)
        printError("\r" + line + "\u{1B}[K", terminator: "")
    }

    /// Clears the bar so the summary line starts at column 0.
    func finish() {
        if interactive { printError("\r\u{1B}[K", terminator: "") }
    }
}
