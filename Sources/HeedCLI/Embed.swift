import ArgumentParser
import Foundation
import Heed
import HeedNN

/// Where the model folder is when --model is not given.
let defaultModelDirectory = ProcessInfo.processInfo.environment["HEED_MINILM_DIR"] ?? "models/all-MiniLM-L6-v2"

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sentence embeddings from a sentence-transformers BERT folder (e.g. all-MiniLM-L6-v2).",
        discussion: """
        Reads one text per line (or, with --jsonl, one JSON object with a "text" field per line) \
        from FILE or stdin and writes one JSON line per text: {"text": ..., "embedding": [...]}, \
        or {"text": ..., "input_ids": [...]} with --tokens. Lines that are not valid UTF-8 (or not \
        such JSON) are reported on stderr and skipped; the exit status is then 1.
        """)

    @Option(help: "The model folder (modules.json, config.json, model.safetensors, vocab.txt, …).")
    var model = defaultModelDirectory
    @Argument(help: "Input file; stdin when omitted or '-'.") var file: String?
    @Flag(help: "Read JSON lines with a \"text\" field (a text may then hold newlines or nothing).") var jsonl = false
    @Flag(help: "Write the token ids instead of embeddings.") var tokens = false
    @Option(help: "Texts per forward pass.") var batchSize = 32
    @Option(help: "Run the encoder's dense layers on int8 (dynamic activation quantization) or bf16 weights: float32, int8 or bf16.")
    var quantize: WeightFormat = .float32

    func validate() throws {
        try OptionCheck.inRange(batchSize, 1...4096, "--batch-size")
        try OptionCheck.directory(model, "--model")
        if let file, file != "-" { try OptionCheck.readableStream(file, "FILE") }
    }

    func run() throws {
        let embedder = try SentenceEmbedder(contentsOf: URL(fileURLWithPath: model))
        embedder.quantize(quantize)
        let input: LineReader
        if let file, file != "-" {
            guard let reader = LineReader(path: file) else {
                throw ValidationError("\(file): cannot open for reading: \(String(cString: strerror(errno)))")
            }
            input = reader
        } else {
            input = LineReader(fileDescriptor: 0, name: "stdin")
        }
        let source = file ?? "stdin"
        var rejected = 0
        // Texts go through in chunks so memory stays bounded on any input, and sorting by
        // length (inside `embed`) still has many texts to group.
        let chunkSize = max(1024, 32 * batchSize)
        var texts: [String] = []
        func flush() {
            guard !texts.isEmpty else { return }
            let ids = embedder.encode(texts)
            var out = ""
            if tokens {
                for (text, row) in zip(texts, ids) {
                    out += "{\"text\":" + jsonStringLiteral(text) + ",\"input_ids\":[" + row.map(String.init).joined(separator: ",") + "]}\n"
                }
            } else {
                let e = embedder.embed(tokenIDs: ids, batchSize: batchSize)
                let d = embedder.dimension
                e.withUnsafeBufferPointer { e in
                    for (i, text) in texts.enumerated() {
                        out += "{\"text\":" + jsonStringLiteral(text) + ",\"embedding\":["
                        out += (0..<d).map { e[i * d + $0].description }.joined(separator: ",") + "]}\n"
                    }
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            texts.removeAll(keepingCapacity: true)
        }
        while let (number, bytes) = try input.next() {
            guard let line = String(validating: bytes, as: UTF8.self) else {
                warn("\(source):\(number): not valid UTF-8, skipped")
                rejected += 1
                continue
            }
            if jsonl {
                if line.allSatisfy(\.isWhitespace) { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let text = object["text"] as? String else {
                    warn("\(source):\(number): not a JSON object with a string \"text\", skipped")
                    rejected += 1
                    continue
                }
                texts.append(text)
            } else {
                texts.append(line)
            }
            if texts.count >= chunkSize { flush() }
        }
        flush()
        if rejected > 0 {
            warn("\(source): \(rejected) line\(rejected == 1 ? "" : "s") skipped")
            throw ExitCode(1)
        }
    }
}

struct Similarity: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cosine similarity of two texts' sentence embeddings.")

    @Option(help: "The model folder (modules.json, config.json, model.safetensors, vocab.txt, …).")
    var model = defaultModelDirectory
    @Argument(help: "The first text.") var a: String
    @Argument(help: "The second text.") var b: String
    @Option(help: "Run the encoder's dense layers on float32, int8 or bf16 weights.") var quantize: WeightFormat = .float32

    func validate() throws {
        try OptionCheck.directory(model, "--model")
    }

    func run() throws {
        let embedder = try SentenceEmbedder(contentsOf: URL(fileURLWithPath: model))
        embedder.quantize(quantize)
        let e = embedder.embed([a, b])
        print(String(format: "%.6f", cosineSimilarity(e.select(axis: 0, 0).scalars, e.select(axis: 0, 1).scalars)))
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("heed: \(message)\n".utf8))
}

/// Lines of a file descriptor as raw bytes (without the "\n", and without a "\r" before it),
/// numbered from 1, read in blocks: UTF-8 is validated per line by the caller, so one bad
/// line cannot take the rest of the input with it. A last line without "\n" counts; an empty
/// input has no lines.
final class LineReader {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    /// The current line starts here; bytes before `scanned` hold no "\n".
    private var start = 0, scanned = 0
    private var block = [UInt8](repeating: 0, count: 1 << 16)
    private var eof = false
    private var number = 0

    /// What read errors name.
    let name: String

    init(fileDescriptor: Int32, name: String) { fd = fileDescriptor; ownsDescriptor = false; self.name = name }

    init?(path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        self.fd = fd
        ownsDescriptor = true
        name = path
    }

    deinit { if ownsDescriptor { close(fd) } }

    struct ReadError: Error, CustomStringConvertible {
        let name: String
        let errno: Int32
        var description: String { "\(name): read failed: \(String(cString: strerror(errno)))" }
    }

    func next() throws -> (Int, ArraySlice<UInt8>)? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = buffer[start..<end]
                start = newline + 1
                scanned = start
                number += 1
                return (number, line)
            }
            scanned = buffer.count
            if eof {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                number += 1
                return (number, line)
            }
            if start > 0 { buffer.removeSubrange(0..<start); scanned -= start; start = 0 }
            let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(name: name, errno: errno)
            }
            if n == 0 { eof = true } else { buffer += block[0..<n] }
        }
    }
}

extension WeightFormat: ExpressibleByArgument {}
