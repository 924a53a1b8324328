import Foundation
import Heed
import HeedNN
import HeedTestSupport
import XCTest

/// The `heed` command on bad input, run as a user runs it (the binary built beside this test
/// bundle): every flag out of range, every file that is not what it should be, every
/// checkpoint that lies ends with a message naming the option or the file and a non-zero exit
/// status — 64 (usage) for what the options say, 1 for what the files hold — never a trap
/// and never a silent default.
final class CLIInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("heed-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The `heed` executable: a sibling of the test bundle in the build directory.
    static let heed: URL = {
        var url = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        while url.pathComponents.count > 1 && !FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("heed").path) {
            url = url.deletingLastPathComponent()
        }
        return url.appendingPathComponent("heed")
    }()

    /// `status`: the exit status, or -signal when a signal ended the process.
    struct Outcome { let status: Int32; let stdout: String; let stderr: String }

    /// Runs `heed args…`, killing it after `timeout` seconds (a hang fails the test).
    func heed(_ args: [String], timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let p = Process()
        p.executableURL = Self.heed
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        // Files, not pipes: nothing to drain while it runs, and a chatty child cannot block.
        let outURL = dir.appendingPathComponent(".stdout-\(UUID().uuidString)")
        let errURL = dir.appendingPathComponent(".stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            p.terminate()
            XCTFail("heed \(args.joined(separator: " ")): still running after \(timeout) s", file: file, line: line)
        }
        p.waitUntilExit()
        let status = p.terminationReason == .exit ? p.terminationStatus : -p.terminationStatus
        return Outcome(status: status, stdout: try text(of: outURL), stderr: try text(of: errURL))
    }

    /// A captured output file's text. Not `String(contentsOf:)`: on an empty file (most
    /// stdouts here) swift-foundation leaks the 4 KiB buffer it read into, which LeakSanitizer
    /// reports (tools/sanitize.sh); FileHandle does not.
    func text(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    }

    /// `heed args` exits with `status` (not by a signal) and says `message` on stderr.
    func expect(_ args: [String], status: Int32, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try heed(args, file: file, line: line)
        let command = "heed " + args.joined(separator: " ")
        XCTAssertEqual(r.status, status, "\(command): exit status; stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), "\(command): expected \(message.debugDescription) in stderr: \(r.stderr)",
                      file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("precondition"), "\(command) trapped: \(r.stderr)",
                       file: file, line: line)
    }

    // MARK: Options

    func testOutOfRangeOptionsAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["train", "--batch-size", "0"], "--batch-size must be between 1 and 65536 (got 0)"),
            (["train", "--batch-size=-1"], "--batch-size must be between 1 and 65536 (got -1)"),
            (["train", "--batch-size", "9223372036854775807"], "--batch-size must be between 1 and 65536 (got 9223372036854775807)"),
            (["train", "--epochs", "1000000000000000000"], "--epochs must be between 1 and 1000000 (got 1000000000000000000)"),
            (["train", "--epochs", "0"], "--epochs must be between 1 and 1000000 (got 0)"),
            (["train", "--lr", "nan"], "--lr must be a finite number ≥ 0 (got nan)"),
            (["train", "--lr=-1"], "--lr must be a finite number ≥ 0 (got -1.0)"),
            (["train", "--lr", "inf"], "--lr must be a finite number ≥ 0 (got inf)"),
            (["train", "--weight-decay", "nan"], "--weight-decay must be a finite number ≥ 0 (got nan)"),
            (["train", "--schedule", "cosine", "--warmup=-1"], "--warmup must be between 0 and 2147483647 (got -1)"),
            (["train", "--warmup", "5"], "--warmup 5 needs --schedule cosine"),
            (["experiment", "--lr", "nan"], "--lr must be a finite number ≥ 0 (got nan)"),
            (["embed", "--batch-size", "1000000000000000000"], "--batch-size must be between 1 and 4096 (got 1000000000000000000)"),
            (["embed", "--batch-size", "0"], "--batch-size must be between 1 and 4096 (got 0)"),
        ]
        for (args, message) in cases { try expect(args, status: 64, message) }
    }

    func testPathsAreCheckedBeforeAnyWork() throws {
        let missing = path("no/such/dir/ck.safetensors")
        try expect(["train", "--save", missing], status: 64, "--save \(missing): the directory \(path("no/such/dir")) does not exist")
        try expect(["train", "--save", dir.path], status: 64, "--save \(dir.path): is a directory")
        try expect(["train", "--resume", path("absent")], status: 64, "--resume \(path("absent")): no such file")
        try expect(["train", "--log", path("x/log.jsonl")], status: 64, "--log \(path("x/log.jsonl")): the directory")
        try expect(["train", "--data", path("absent")], status: 64, "--data \(path("absent")): no such directory")
        try expect(["eval", "--checkpoint", dir.path], status: 64, "--checkpoint \(dir.path): is a directory, not a regular file")
        try expect(["embed", dir.path], status: 64, "FILE \(dir.path): is a directory, not a file of texts")
        try expect(["embed", "--model", path("nomodel"), "-"], status: 64, "--model \(path("nomodel")): no such directory")
        try expect(["experiment", "--svg", path("x/chart.svg")], status: 64, "--svg \(path("x/chart.svg")): the directory")
    }

    /// A FIFO where a checkpoint or a data file belongs: refused at once, never opened (an
    /// `open` for reading would block until a writer came).
    func testFIFOsDoNotHang() throws {
        let fifo = path("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try expect(["eval", "--checkpoint", fifo], status: 64, "--checkpoint \(fifo): is a FIFO, not a regular file")
        try expect(["train", "--resume", fifo], status: 64, "--resume \(fifo): is a FIFO, not a regular file")
        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(data.appendingPathComponent("t10k-images-idx3-ubyte").path, 0o600), 0)
        try writeLabels(data, "t10k", [1])
        let m = try checkpoint("m.safetensors")
        try expect(["eval", "--checkpoint", m, "--data", data.path], status: 1,
                   "\(data.path)/t10k-images-idx3-ubyte: cannot read the file: is a FIFO (named pipe), not a regular file")
    }

    // MARK: Files that lie

    /// A small Fashion-MNIST-shaped data directory (`n` images per split), so runs are quick.
    func dataDirectory(_ name: String = "data", train: Int = 64, test: Int = 32) throws -> URL {
        let d = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        for (split, n) in [("train", train), ("t10k", test)] {
            let pixels = (0..<(n * 784)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 784) }
            try Data(idxBytes(0x08, [n, 28, 28], pixels)).write(to: d.appendingPathComponent("\(split)-images-idx3-ubyte"))
            try writeLabels(d, split, (0..<n).map { UInt8($0 % 10) })
        }
        return d
    }

    func writeLabels(_ d: URL, _ split: String, _ labels: [UInt8]) throws {
        try Data(idxBytes(0x08, [labels.count], labels)).write(to: d.appendingPathComponent("\(split)-labels-idx1-ubyte"))
    }

    /// A training checkpoint of the MLP after one epoch on the small data, made by `heed train`.
    func checkpoint(_ name: String) throws -> String {
        let data = try dataDirectory("ckdata")
        let p = path(name)
        let r = try heed(["train", "--model", "mlp", "--epochs", "1", "--data", data.path, "--save", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        return p
    }

    /// `source` rewritten with some tensors and metadata replaced.
    func rewrite(_ source: String, to name: String, tensors: [String: (Tensor) -> Tensor] = [:],
                 metadata: [String: String] = [:]) throws -> String {
        let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: source))
        let out = path(name)
        try SafetensorsFile.write(try file.names.map { n in (n, try tensors[n].map { $0(try file.tensor(n)) } ?? file.tensor(n)) },
                                  metadata: file.metadata.merging(metadata) { $1 }, to: URL(fileURLWithPath: out))
        return out
    }

    func poison(_ value: Float, at index: Int) -> (Tensor) -> Tensor {
        { t in var v = t.scalars; v[index] = value; return Tensor(v, shape: t.shape) }
    }

    func testCheckpointsThatLieAreRefused() throws {
        let good = try checkpoint("good.safetensors")
        let data = try dataDirectory()
        let minus5 = try rewrite(good, to: "minus5.safetensors", metadata: ["epoch": "-5"])
        try expect(["train", "--resume", minus5, "--data", data.path, "--epochs", "2"], status: 1,
                   "\(minus5): metadata 'epoch' = '-5': not a count of completed epochs")
        let nanWeights = try rewrite(good, to: "nanw.safetensors", tensors: ["hidden.weight": poison(.nan, at: 17)])
        try expect(["eval", "--checkpoint", nanWeights, "--data", data.path], status: 1,
                   "\(nanWeights): tensor 'hidden.weight' holds nan at element 17")
        let inspected = try heed(["eval", "--checkpoint", nanWeights, "--data", data.path, "--allow-nonfinite", "--json"])
        XCTAssertEqual(inspected.status, 0, inspected.stderr)
        XCTAssertTrue(inspected.stdout.contains("\"test_loss\":\"NaN\""), inspected.stdout)
        let nanMoments = try rewrite(good, to: "nanm.safetensors", tensors: ["optimizer/output.weight.exp_avg": poison(.nan, at: 2)])
        try expect(["train", "--resume", nanMoments, "--data", data.path, "--epochs", "2"], status: 1,
                   "\(nanMoments): optimizer state: 'output.weight.exp_avg' holds nan at element 2")
        let modelOnly = path("model-only.safetensors")
        try MLPClassifier(seed: 0).save(to: URL(fileURLWithPath: modelOnly), metadata: ["model": "mlp"])
        try expect(["train", "--resume", modelOnly, "--data", data.path, "--epochs", "2"], status: 1,
                   "\(modelOnly): not a training checkpoint")
    }

    func testEmptySplitIsAnError() throws {
        let data = try dataDirectory("empty", train: 0, test: 0)
        try expect(["train", "--data", data.path, "--epochs", "1"], status: 1,
                   "\(data.path)/train-images-idx3-ubyte: holds no examples")
    }

    /// A learning rate that diverges: training stops at the first non-finite loss and names the
    /// step; the checkpoint of the last good epoch stays as it was.
    func testDivergingRunStopsAndKeepsTheLastCheckpoint() throws {
        let data = try dataDirectory(train: 256)
        let ck = path("ck.safetensors")
        let r = try heed(["train", "--data", data.path, "--epochs", "3", "--lr", "1e20", "--save", ck])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("training stopped at step"), r.stderr)
        XCTAssertTrue(r.stderr.contains("the loss is"), r.stderr)
        if FileManager.default.fileExists(atPath: ck) {
            let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: ck))
            for name in file.names { XCTAssertTrue(try file.tensor(name).isFinite, "\(name) saved non-finite") }
        }
        let skipped = try heed(["train", "--data", data.path, "--epochs", "1", "--lr", "1e20", "--skip-nonfinite-batches", "--json"])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stderr.contains("batches with a non-finite loss or gradient skipped"), skipped.stderr)
    }

    /// A config.json with fewer layers than the weights: refused, naming a tensor of the
    /// layer it leaves out (the real all-MiniLM-L6-v2, its config cut to 5 layers).
    func testTruncatedBertConfigIsRefused() throws {
        let model = try MiniLMFixtures.modelDirectory()
        let copy = dir.appendingPathComponent("minilm5")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: model.path) where name != "config.json" {
            try FileManager.default.createSymbolicLink(at: copy.appendingPathComponent(name),
                                                       withDestinationURL: model.appendingPathComponent(name))
        }
        let config = try String(contentsOf: model.appendingPathComponent("config.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"num_hidden_layers\": 6", with: "\"num_hidden_layers\": 5")
        XCTAssertTrue(config.contains("\"num_hidden_layers\": 5"))
        try config.write(to: copy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try expect(["similarity", "--model", copy.path, "a", "b"], status: 1,
                   "\(copy.path)/model.safetensors: tensor 'encoder.layer.5.")
    }
}

/// An IDX file: magic 00 00 type rank, big-endian sizes, then `payload`.
func idxBytes(_ type: UInt8, _ shape: [Int], _ payload: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for d in shape { b += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
    return b + payload
}
