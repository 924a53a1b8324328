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

    /// One timed call of case `id`, in seconds, as the script measured it. Returns once the
    /// peer's threads are idle again (`settle`).
    func run(_ id: Int) throws -> Double {
        guard let s = try request(["run": id])["seconds"] as? Double else {
            throw Failure(description: "the peer script's answer to run \(id) has no seconds")
        }
        settle()
        return s
    }

    /// Waits (up to 0.2 s) until none of the peer's threads is running, seen twice 1 ms apart.
    /// Why: PyTorch's OpenMP threads and onnxruntime's pool keep spinning after a call —
    /// measured here, onnxruntime's process burns a core for ~50 ms after a call, PyTorch's for
    /// 5–8 ms — and the Heed call that follows ran 40 % slower on the one core left. Each side of
    /// a comparison should have the machine to itself; the peer's own time is the script's timing,
    /// untouched. (Heed's workers poll for 100 µs after a call, which needs no wait.) The thread
    /// states, not their CPU time: a spinning thread's run time is only brought up to date at
    /// the scheduler's tick.
    private func settle() {
        let start = seconds()
        var idle = 0
        while idle < 2 && seconds() - start < 0.2 {
            usleep(1000)
            idle = peerIsRunning() ? 0 : idle + 1
        }
    }

    /// Whether any thread of the peer is running or runnable (state R in /proc/PID/task/*/stat);
    /// false where /proc cannot tell, which ends `settle` at once.
    private func peerIsRunning() -> Bool {
        let tasks = "/proc/\(process.processIdentifier)/task"
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return false }
        return threads.contains { tid in
            guard let handle = FileHandle(forReadingAtPath: "\(tasks)/\(tid)/stat") else { return false }
            defer { try? handle.close() }
            // "tid (comm) S …": the state follows the last ')', the command name may hold any byte.
            guard let data = try? handle.readToEnd(), let close = data.lastIndex(of: UInt8(ascii: ")")),
                  close + 2 < data.endIndex else { return false }
            return data[close + 2] == UInt8(ascii: "R")
        }
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
