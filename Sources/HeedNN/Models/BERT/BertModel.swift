import Foundation
import Heed

/// One post-norm BERT encoder layer, with Hugging Face's parameter names so a `BertModel`
/// checkpoint loads as it is:
///
///     a = LayerNorm(x + Dropout(Attention(x)·W_oᵀ))      attention.output.{dense, LayerNorm}
///     y = LayerNorm(a + Dropout(act(a·W_1ᵀ)·W_2ᵀ))       intermediate.dense, output.{dense, LayerNorm}
///
/// Attention is `scaledDotProductAttention` on head views of the Q, K, V projections
/// (attention.self.{query, key, value}); padded keys are masked, never materialised as
/// an additive [B, 1, 1, L] tensor as Hugging Face does.
///
/// The three projections' weights live in one [3·hidden, hidden] buffer (and their biases in
/// one [3·hidden]), `query`, `key` and `value` being views of its thirds: without a graph to
/// record (inference) one GEMM computes Q, K and V together, which on a batch of short
/// sentences (~450 rows) took 2.0 ms where three took 2.1–3.5. Loading, optimizer steps and
/// the three separate projections used while recording gradients all write and read the same
/// memory, so the fused path always sees the current weights.
public final class BertLayer: Module {
    public let query: Linear, key: Linear, value: Linear
    public let attentionOutput: Linear, attentionNorm: LayerNorm
    public let intermediate: Linear
    public let output: Linear, outputNorm: LayerNorm
    public let config: BertConfig
    private let attentionDropout: Dropout, outputDropout: Dropout
    private let qkvWeight: Tensor, qkvBias: Tensor
    private var qkvQuantized: QuantizedWeight?

    init(config: BertConfig, _ parameter: (String, [Int]) throws -> Tensor) rethrows {
        let (h, f) = (config.hiddenSize, config.intermediateSize)
        func linear(_ name: String, _ inCount: Int, _ outCount: Int) throws -> Linear {
            Linear(weight: try parameter("\(name).weight", [outCount, inCount]), bias: try parameter("\(name).bias", [outCount]))
        }
        func norm(_ name: String) throws -> LayerNorm {
            try LayerNorm(weight: parameter("\(name).weight", [h]), bias: parameter("\(name).bias", [h]), eps: config.layerNormEps)
        }
        self.config = config
        let projections = try ["query", "key", "value"].map { try linear("attention.self.\($0)", h, h) }
        let (fusedWeight, fusedBias) = noGrad {
            (Tensor.concatenate(projections.map(\.weight), axis: 0), Tensor.concatenate(projections.map { $0.bias! }, axis: 0))
        }
        let thirds = (0..<3).map { i in
            noGrad {
                Linear(weight: fusedWeight.slice(axis: 0, i * h..<(i + 1) * h).requiringGrad(projections[i].weight.requiresGrad),
                       bias: fusedBias.slice(axis: 0, i * h..<(i + 1) * h).requiringGrad(projections[i].bias!.requiresGrad))
            }
        }
        (qkvWeight, qkvBias) = (fusedWeight, fusedBias)
        (query, key, value) = (thirds[0], thirds[1], thirds[2])
        attentionOutput = try linear("attention.output.dense", h, h)
        attentionNorm = try norm("attention.output.LayerNorm")
        intermediate = try linear("intermediate.dense", h, f)
        output = try linear("output.dense", f, h)
        outputNorm = try norm("output.LayerNorm")
        attentionDropout = Dropout(config.hiddenDropout)
        outputDropout = Dropout(config.hiddenDropout)
    }

    /// Runs the layer's six dense layers on int8 or bf16 weights (`Linear.quantize`), the
    /// fused Q·K·V product of inference included; `.float32` goes back.
    public func quantize(_ format: WeightFormat) {
        for l in [query, key, value, attentionOutput, intermediate, output] { l.quantize(format) }
        qkvQuantized = format == .float32 ? nil : .concatenated([query, key, value].map { $0.quantizedWeight! })
    }

    /// Rebuilds the fused Q·K·V weight from the three projections' (after `loadQuantized`).
    public override func quantizedWeightsChanged() {
        let parts = [query, key, value].compactMap(\.quantizedWeight)
        guard parts.count == 3, parts.allSatisfy({ $0.format == parts[0].format }) else { qkvQuantized = nil; return }
        if case .int8(let q) = parts[0], !parts.allSatisfy({ if case .int8(let w) = $0 { w.inputScales == q.inputScales } else { false } }) {
            qkvQuantized = nil   // different smoothings: the three products run apart
            return
        }
        qkvQuantized = .concatenated(parts)
    }

    private var denseLayers: [Linear] { [query, key, value, attentionOutput, intermediate, output] }

    /// Starts recording the dense layers' input maxima (`Linear.observeInputs`) for
    /// `quantizeInt8(smoothing:)`.
    public func observeInputs() { for l in denseLayers { l.observeInputs() } }

    /// int8 with SmoothQuant input smoothing from the inputs observed since `observeInputs()`.
    /// Q, K and V share their input and one product, so they share one c, from the maxima of
    /// their stacked weights.
    public func quantizeInt8(smoothing alpha: Float = 0.5) {
        guard let maxima = query.observedInputMaxima else {
            checkFailure("BertLayer.quantizeInt8(smoothing:): no inputs observed; call observeInputs() and run calibration data first")
        }
        for l in [attentionOutput, intermediate, output] { l.quantizeInt8(smoothing: alpha) }
        let c = Int8Weight.smoothingScales(inputMaxima: maxima, weight: qkvWeight.detach(), alpha: alpha)
        let parts = [query, key, value].map { Int8Weight(quantizing: $0.weight.detach(), inputScales: c) }
        for (l, p) in zip([query, key, value], parts) { l.setQuantizedWeight(.int8(p)); l.observeInputs(false) }
        qkvQuantized = .concatenated(parts.map { .int8($0) })
    }

    public override var children: [(name: String, module: Module)] {
        [("attention.self.query", query), ("attention.self.key", key), ("attention.self.value", value),
         ("attention.output.dense", attentionOutput), ("attention.output.LayerNorm", attentionNorm),
         ("intermediate.dense", intermediate), ("output.dense", output), ("output.LayerNorm", outputNorm),
         ("attention.output.dropout", attentionDropout), ("output.dropout", outputDropout)]
    }

    /// x [B, L, hidden] → [B, L, hidden]; `keyPadding` [B, L] is 1 for real tokens, 0 for padding.
    public func callAsFunction(_ x: Tensor, keyPadding: Tensor?) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        let (heads, d) = (config.headCount, config.headDim)
        // [B, L, H·d] → [B, H, L, d] as views: the attention kernels read strided heads in place.
        func heads4(_ t: Tensor) -> Tensor { t.reshaped([b, n, heads, d]).permuted([0, 2, 1, 3]) }
        let (q, k, v): (Tensor, Tensor, Tensor)
        // Separately while recording, and for quantized projections that cannot share one product.
        if GradMode.isEnabled || (qkvQuantized == nil && [query, key, value].contains { $0.quantizedWeight != nil }) {
            (q, k, v) = (query(x), key(x), value(x))
        } else {
            query.observe(x)   // calibration (a no-op unless observing): Q, K and V share x
            let qkv = qkvQuantized.map { x.linear(weight: $0, bias: qkvBias) } ?? x.linear(weight: qkvWeight, bias: qkvBias)
            let h = config.hiddenSize
            (q, k, v) = (qkv.slice(axis: 2, 0..<h), qkv.slice(axis: 2, h..<2 * h), qkv.slice(axis: 2, 2 * h..<3 * h))
        }
        let o = scaledDotProductAttention(query: heads4(q), key: heads4(k), value: heads4(v),
                                          mask: keyPadding.map { .keyPadding($0) },
                                          dropout: isTraining ? config.attentionDropout : 0)
        // The kernel stores O as [B, L, H, d]: merging the heads back is a free reshape.
        let merged = o.permuted([0, 2, 1, 3]).reshaped([b, n, heads * d])
        let a = attentionNorm(attentionDropout(attentionOutput(merged)) + x)
        let hidden = intermediate(a)
        let activated = switch config.activation {
        case .gelu: hidden.gelu()
        case .geluTanh: hidden.gelu(approximate: .tanh)
        case .relu: hidden.relu()
        }
        return outputNorm(outputDropout(output(activated)) + a)
    }
}

/// The BERT encoder (Hugging Face's `BertModel` without its pooler): token ids [B, L] →
/// hidden states [B, L, hidden], from word + position + token-type embeddings through
/// `config.layerCount` post-norm layers. Parameter names are Hugging Face's
/// (`embeddings.word_embeddings.weight`, `encoder.layer.3.attention.self.query.bias`, …).
///
/// The pooler (`pooler.dense`, a tanh layer on [CLS] for next-sentence prediction) is not
/// built: sentence embeddings do not use it, and loading skips it.
public final class BertModel: Module {
    public let config: BertConfig
    public let wordEmbeddings: Embedding, positionEmbeddings: Embedding, tokenTypeEmbeddings: Embedding
    public let embeddingNorm: LayerNorm
    public let layers: [BertLayer]
    private let embeddingDropout: Dropout

    /// A new model initialised as Hugging Face initialises BERT: weights N(0, 0.02²), biases
    /// zero, LayerNorms one and zero.
    public convenience init(config: BertConfig, seed: UInt64? = nil) {
        var counter: UInt64 = 0
        self.init(config: config) { name, shape in
            counter += 1
            if name.hasSuffix("LayerNorm.weight") { return Tensor.ones(shape).requiringGrad() }
            if name.hasSuffix(".bias") { return Tensor.zeros(shape).requiringGrad() }
            return Tensor.randomNormal(shape, std: 0.02, seed: seed.map { $0 &+ counter }).requiringGrad()
        }
    }

    /// Reads `config.json` and the weights of `model.safetensors` in `directory` (F32, F16 or
    /// BF16, widened to Float32). Every parameter must be in the file with its shape. The model
    /// comes back in evaluation mode (no dropout), as `from_pretrained` returns it.
    ///
    /// Strict by default: a tensor of the encoder's own (`embeddings.*`, `encoder.*`) that no
    /// parameter uses is an error naming it — a config.json with fewer layers than the weights
    /// would otherwise run a truncated model without a word. Tensors outside the encoder (the
    /// pooler, task heads such as `cls.*` or `classifier.*`) and the `embeddings.position_ids`
    /// buffer are not the encoder's and are passed over; `strict: false` passes over anything
    /// unused. A NaN or an infinity in a weight is an error unless `allowNonFinite`.
    public convenience init(contentsOf directory: URL, strict: Bool = true, allowNonFinite: Bool = false) throws {
        let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ModelFolderError.missingFile(weightsURL.path)
        }
        let file = try SafetensorsFile(contentsOf: weightsURL)
        // Checkpoints of `BertFor…` heads keep the encoder under "bert.".
        let prefix = file.info("embeddings.word_embeddings.weight") == nil
            && file.info("bert.embeddings.word_embeddings.weight") != nil ? "bert." : ""
        var used: Set<String> = []
        try self.init(config: config) { name, shape in
            guard let info = file.info(prefix + name) else {
                throw CheckpointError.missingParameter(name: prefix + name, file: file.file)
            }
            guard info.shape == shape else {
                throw CheckpointError.shapeMismatch(name: prefix + name, expected: shape, found: info.shape, file: file.file)
            }
            used.insert(prefix + name)
            return try file.tensor(prefix + name, allowNonFinite: allowNonFinite).requiringGrad()
        }
        if strict {
            let encoder = [prefix + "embeddings.", prefix + "encoder."]
            let unused = file.names.first { name in
                !used.contains(name) && name != prefix + "embeddings.position_ids" && encoder.contains { name.hasPrefix($0) }
            }
            if let unused { throw CheckpointError.unexpectedParameter(name: unused, file: file.file) }
        }
        eval()
    }

    /// Builds every layer from `parameter(name, shape)`, which returns the tensor for a
    /// Hugging Face name: random for a new model, decoded from the file when loading (one
    /// copy of the weights, no random initialisation thrown away).
    init(config: BertConfig, _ parameter: (String, [Int]) throws -> Tensor) rethrows {
        let h = config.hiddenSize
        self.config = config
        wordEmbeddings = Embedding(weight: try parameter("embeddings.word_embeddings.weight", [config.vocabularySize, h]))
        positionEmbeddings = Embedding(weight: try parameter("embeddings.position_embeddings.weight", [config.maxPositions, h]))
        tokenTypeEmbeddings = Embedding(weight: try parameter("embeddings.token_type_embeddings.weight", [config.typeVocabularySize, h]))
        embeddingNorm = try LayerNorm(weight: parameter("embeddings.LayerNorm.weight", [h]),
                                      bias: parameter("embeddings.LayerNorm.bias", [h]), eps: config.layerNormEps)
        layers = try (0..<config.layerCount).map { i in
            try BertLayer(config: config) { name, shape in try parameter("encoder.layer.\(i).\(name)", shape) }
        }
        embeddingDropout = Dropout(config.hiddenDropout)
    }

    public override var children: [(name: String, module: Module)] {
        [("embeddings.word_embeddings", wordEmbeddings), ("embeddings.position_embeddings", positionEmbeddings),
         ("embeddings.token_type_embeddings", tokenTypeEmbeddings), ("embeddings.LayerNorm", embeddingNorm),
         ("embeddings.dropout", embeddingDropout)]
            + layers.enumerated().map { ("encoder.layer.\($0.offset)", $0.element) }
    }

    /// Every encoder layer's dense layers on int8 or bf16 weights (`BertLayer.quantize`); the
    /// embeddings and layer norms stay Float32.
    /// int8 with SmoothQuant input smoothing calibrated on what `calibrate` runs through the
    /// model (e.g. embedding a few dozen texts): every layer observes its inputs while it runs.
    public func quantizeInt8(smoothing alpha: Float = 0.5, calibrate: () -> Void) {
        for layer in layers { layer.observeInputs() }
        noGrad { calibrate() }
        for layer in layers { layer.quantizeInt8(smoothing: alpha) }
    }

    public func quantize(_ format: WeightFormat) {
        for layer in layers { layer.quantize(format) }
    }

    /// Hidden states [B, L, hidden] for `ids` laid out [B, L] (row-major).
    /// - `attentionMask`: [B, L], 1 for real tokens and 0 for padding (Hugging Face's
    ///   `attention_mask`); nil when nothing is padded.
    /// - `tokenTypes`: segment ids [B, L] (all 0 when nil: single texts).
    public func callAsFunction(ids: [Int], batch: Int, length: Int, attentionMask: Tensor? = nil,
                               tokenTypes: [Int]? = nil) -> Tensor {
        check(batch >= 0 && length >= 0 && ids.count == batch * length,
              "BertModel: \(ids.count) ids are not [batch \(batch), length \(length)]")
        check(length <= config.maxPositions,
              "BertModel: length \(length) exceeds the \(config.maxPositions) position embeddings")
        check(attentionMask == nil || attentionMask!.shape == [batch, length],
              "BertModel: attention mask \(attentionMask!.shape) is not [\(batch), \(length)]")
        check(tokenTypes == nil || tokenTypes!.count == ids.count,
              "BertModel: \(tokenTypes!.count) token types for \(ids.count) ids")
        var x = wordEmbeddings(ids, shape: [batch, length])
            + positionEmbeddings.weight.slice(axis: 0, 0..<length)
        x = x + (tokenTypes.map { tokenTypeEmbeddings($0, shape: [batch, length]) }
                 ?? tokenTypeEmbeddings.weight.select(axis: 0, 0))
        x = embeddingDropout(embeddingNorm(x))
        for layer in layers { x = layer(x, keyPadding: attentionMask) }
        return x
    }
}
