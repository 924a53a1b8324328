import Foundation
import Heed

/// A sentence-transformers model folder run end to end: text → WordPiece ids → BERT →
/// pooling → (optionally) L2 normalisation, as `SentenceTransformer(folder).encode(texts)`.
///
///     let embedder = try SentenceEmbedder(contentsOf: URL(fileURLWithPath: "models/all-MiniLM-L6-v2"))
///     let e = embedder.embed(["A man is eating food.", "Someone is eating."])   // [2, 384]
///
/// The folder's `modules.json` must name a Transformer module (a BERT: config.json,
/// model.safetensors, vocab.txt, tokenizer_config.json, sentence_bert_config.json), then a
/// Pooling module, optionally followed by Normalize; other modules are refused.
public final class SentenceEmbedder {
    public let model: BertModel
    public let tokenizer: BertTokenizer
    public let pooling: SentencePooling
    /// Whether embeddings are scaled to unit length (a Normalize module).
    public let normalizes: Bool
    /// sentence_bert_config.json's `do_lower_case`: texts lower-cased before tokenizing.
    public let lowercasesInput: Bool

    public init(contentsOf directory: URL) throws {
        let modulesURL = directory.appendingPathComponent("modules.json")
        let modules = try ModelFolderError.decode([ModuleEntry].self, modulesURL).sorted { $0.idx < $1.idx }
        func unsupported(_ reason: String) -> ModelFolderError { .unsupported(file: modulesURL.path, reason: reason) }
        let kinds = modules.map { $0.type.split(separator: ".").last.map(String.init) ?? $0.type }
        guard kinds.count >= 2, kinds[0] == "Transformer", kinds[1] == "Pooling",
              kinds.count == 2 || (kinds.count == 3 && kinds[2] == "Normalize") else {
            throw unsupported("modules \(kinds) (Heed runs Transformer, Pooling and an optional Normalize)")
        }
        let encoderDirectory = modules[0].path.isEmpty ? directory : directory.appendingPathComponent(modules[0].path)
        let settingsURL = encoderDirectory.appendingPathComponent("sentence_bert_config.json")
        let settings = try ModelFolderError.decode(SentenceBertConfig.self, settingsURL)
        model = try BertModel(contentsOf: encoderDirectory)
        // As sentence-transformers: max_seq_length, never past the position embeddings.
        let maxLength = min(settings.max_seq_length ?? model.config.maxPositions, model.config.maxPositions)
        guard maxLength >= 2 else {
            throw ModelFolderError.malformed(file: settingsURL.path,
                                             reason: "max_seq_length \(maxLength) leaves no room for [CLS] and [SEP]")
        }
        tokenizer = try BertTokenizer(modelDirectory: encoderDirectory, maxLength: maxLength)
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw ModelFolderError.malformed(file: encoderDirectory.appendingPathComponent("vocab.txt").path,
                                             reason: "\(tokenizer.vocabularySize) tokens, but the model embeds only \(model.config.vocabularySize)")
        }
        pooling = try SentencePooling(contentsOf: directory.appendingPathComponent(modules[1].path)
                                                           .appendingPathComponent("config.json"))
        normalizes = kinds.count == 3
        lowercasesInput = settings.do_lower_case ?? false
    }

    /// The width of an embedding.
    /// Runs the encoder's dense layers on int8 or bf16 weights from now on. int8 is calibrated:
    /// embedding `calibration` (by default `CalibrationTexts.sentences()`) records each layer's
    /// input column maxima, and SmoothQuant's smoothing (α = 0.5) moves BERT's outlier channels
    /// from the 8-bit activations into the weights; `smoothing: false` quantizes plainly, as
    /// PyTorch's and onnxruntime's dynamic quantization do (mean cosine to the Float32
    /// embeddings 0.9987 here against 0.9994 smoothed).
    public func quantize(_ format: WeightFormat, smoothing: Bool = true, calibration: [String]? = nil) {
        guard format == .int8 && smoothing else { return model.quantize(format) }
        model.quantize(.float32)
        let texts = calibration ?? CalibrationTexts.sentences()
        model.quantizeInt8 { _ = embed(texts) }
    }

    public var dimension: Int { model.config.hiddenSize * pooling.modes.count }

    /// Token ids of each text, [CLS] … [SEP], cut to the model's maximum length.
    public func encode(_ texts: [String]) -> [[Int32]] {
        var out = [[Int32]](repeating: [], count: texts.count)
        // Tokenizing is a few percent of embedding: worth both cores on a large input (a
        // short sentence takes a few µs, so 32 of them pay for a thread hop).
        out.withUnsafeMutableBufferPointer { rows in
            Parallel.forRanges(texts.count, grain: 32) { range in
                for i in range { rows[i] = tokenizer.encode(lowercasesInput ? texts[i].lowercased() : texts[i]) }
            }
        }
        return out
    }

    /// Embeddings [texts.count, dimension], row i for texts[i].
    ///
    /// As sentence-transformers does, texts are sorted by length (token count here) and run
    /// in batches of `batchSize`, so each batch pads to similar lengths; rows come back in
    /// the input's order. Inference only: no graph, dropout off whatever the model's mode.
    public func embed(_ texts: [String], batchSize: Int = 32) -> Tensor {
        embed(tokenIDs: encode(texts), batchSize: batchSize)
    }

    /// `embed` for texts already encoded (rows of `encode`).
    public func embed(tokenIDs rows: [[Int32]], batchSize: Int = 32) -> Tensor {
        check(batchSize > 0, "SentenceEmbedder.embed: batch size \(batchSize) must be positive")
        let out = Tensor.zeros([rows.count, dimension])
        let order = rows.indices.sorted { rows[$0].count > rows[$1].count }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let d = dimension
        out.withUnsafeMutableBufferPointer { out in
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let chunk = order[start..<min(start + batchSize, order.count)]
                let batch = embed(TokenizedBatch(chunk.map { rows[$0] }, padID: tokenizer.padID))
                batch.withUnsafeBufferPointer { e in
                    for (j, row) in chunk.enumerated() {
                        (out.baseAddress! + row * d).update(from: e.baseAddress! + j * d, count: d)
                    }
                }
            }
        }
        return out
    }

    /// Embeddings [B, dimension] of one padded batch, rows in the batch's order.
    public func embed(_ batch: TokenizedBatch) -> Tensor {
        noGrad {
            let padded = batch.attentionMask.contains(0)
            let mask = padded ? Tensor(batch.attentionMask.map(Float.init), shape: [batch.batchSize, batch.length]) : nil
            let hidden = model(ids: batch.ids.map(Int.init), batch: batch.batchSize, length: batch.length,
                               attentionMask: mask)
            let pooled = pooling(hidden, mask: mask)
            return normalizes ? pooled.l2Normalized() : pooled
        }
    }

    /// One entry of modules.json.
    private struct ModuleEntry: Decodable {
        let idx: Int
        let path: String
        let type: String
    }

    /// sentence_bert_config.json.
    private struct SentenceBertConfig: Decodable {
        let max_seq_length: Int?
        let do_lower_case: Bool?
    }
}

/// Cosine similarity of two vectors of equal length (0 when either is zero).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    check(a.count == b.count, "cosineSimilarity: lengths \(a.count) and \(b.count) differ")
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
    }
    return na == 0 || nb == 0 ? 0 : Float(dot / (na.squareRoot() * nb.squareRoot()))
}
