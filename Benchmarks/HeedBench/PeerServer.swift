import Foundation
import Heed

/// A peer (PyTorch, sentence-transformers, onnxruntime) kept running in a Python process that
/// answers one JSON line per request, so that its runs can be interleaved with Heed's.
///
/// Why interleave: this host is shared and its speed moves by ±40 % over seconds. Timing all of
/// Heed's cases and then all of the peer's compares two different machines; alternating one
/// Heed run and one peer run, round after round (`interleave`), gives both the same noise, so
/// the ratio of their medians is about the code, not the moment.
///
/// Protocol: the first line written is the set-up request; the script answers with one line
/// (its `cases`, or an `error`). Then each {"run": id} is answered by {"seconds": s}, one timed
/// call of case `id` (a case's first call is its warm-up). Closing stdin ends the script.
final class PeerServer {
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private var buffer = Data()
    private let script: URL
    /// The script's answer to the set-up request.
    private(set) var setUpAnswer: [String: Any] = [:]

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `python` on `source` and sends `setUp`; returns the script's answer to it.
    init(python: String, source: String, name: String, setUp: [String: Any]) throws {
        script = FileManager.default.temporaryDirectory.appendingPathComponent("heed-bench-\(name)-\(getpid()).py")
        try source.write(to: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script.path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError   // progress and tracebacks
        try process.run()
        setUpAnswer = try request(setUp)
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: script)
    }

    /// Writes one request line and reads the answer line.
    func request(_ object: [String: Any]) throws -> [String: Any] {
        var line = try JSONSerialization.data(withJSONObject: object)
        line.append(0x0A)
        try input.fileHandleForWriting.write(contentsOf: line)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let answer = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                guard let value = try JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                    throw Failure(description: "the peer script answered something that is not a JSON object")
                }
                if let error = value["error"] as? String { throw Failure(description: error) }
                return value
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                process.waitUntilExit()
                throw Failure(description: "the peer script exited (status \(process.terminationStatus); its error is above)")
            }
            buffer.append(chunk)
        }
    }

    /// One timed call of case `id`, in seconds, as the script measured it.
    func run(_ id: Int) throws -> Double {
        guard let s = try request(["run": id])["seconds"] as? Double else {
            throw Failure(description: "the peer script's answer to run \(id) has no seconds")
        }
        return s
    }
}

/// Times several bodies round-robin: one warm-up call each, then rounds of one call each, at
/// least `policy.minRuns` rounds, more (up to `policy.maxRuns`) while a round is short; a single
/// round when `stopIf` says so after the warm-up. Each body returns the seconds of one call.
/// Returns every body's timed calls, in order.
func interleave(_ bodies: [() throws -> Double], policy: RunPolicy, stopIf: () -> Bool = { false }) throws -> [[Double]] {
    var round = 0.0
    for body in bodies { round += try body() }
    let rounds = stopIf() ? 1
        : max(policy.minRuns, min(policy.maxRuns, Int((policy.minGroupSeconds / max(round, 1e-6)).rounded(.up))))
    var times = [[Double]](repeating: [], count: bodies.count)
    for _ in 0..<rounds {
        for (i, body) in bodies.enumerated() { times[i].append(try body()) }
    }
    return times
}

extension BenchCase {
    /// A fresh set-up of this case as one `interleave` body: seconds per call of one timed run.
    func interleavedBody() -> () -> Double {
        let body = setUp()
        return {
            let t0 = seconds()
            body()
            return (seconds() - t0) / Double(callsPerRun)
        }
    }
}

/// Median, min and max of a list of seconds.
struct TimeSummary: Codable {
    let runs: Int
    let medianS: Double
    let minS: Double
    let maxS: Double

    init(_ times: [Double]) {
        runs = times.count
        medianS = times.median
        minS = times.min() ?? .nan
        maxS = times.max() ?? .nan
    }

    enum CodingKeys: String, CodingKey {
        case runs, medianS = "median_s", minS = "min_s", maxS = "max_s"
    }
}
