import Foundation
import Heed

/// A BERT encoder's hyper-parameters: the `config.json` of a Hugging Face `BertModel`.
public struct BertConfig: Equatable, Sendable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEps: Float
    public var activation: Activation
    /// Dropout after the embeddings and after each residual branch (training only).
    public var hiddenDropout: Float
    /// Dropout on the attention weights (training only).
    public var attentionDropout: Float

    /// The feed-forward activation (`hidden_act`).
    public enum Activation: String, Sendable {
        /// Exact GELU, x·Φ(x) (Hugging Face's "gelu").
        case gelu
        /// The tanh approximation ("gelu_new", "gelu_pytorch_tanh").
        case geluTanh
        case relu
    }

    public init(vocabularySize: Int = 30522, hiddenSize: Int = 384, layerCount: Int = 6, headCount: Int = 12,
                intermediateSize: Int = 1536, maxPositions: Int = 512, typeVocabularySize: Int = 2,
                layerNormEps: Float = 1e-12, activation: Activation = .gelu,
                hiddenDropout: Float = 0.1, attentionDropout: Float = 0.1) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEps = layerNormEps
        self.activation = activation
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
    }

    public var headDim: Int { hiddenSize / headCount }

    /// Reads `config.json`. Refuses what this encoder does not implement (relative position
    /// embeddings, other activations, non-BERT model types) rather than running it wrongly.
    public init(contentsOf url: URL) throws(ModelFolderError) {
        let raw = try ModelFolderError.decode(RawConfig.self, url)
        func bad(_ reason: String) -> ModelFolderError { .unsupported(file: url.path, reason: reason) }
        if let type = raw.model_type, type != "bert" { throw bad("model_type '\(type)' (only 'bert')") }
        if let p = raw.position_embedding_type, p != "absolute" {
            throw bad("position_embedding_type '\(p)' (only 'absolute')")
        }
        let activation: Activation
        switch raw.hidden_act ?? "gelu" {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .geluTanh
        case "relu": activation = .relu
        case let other: throw bad("hidden_act '\(other)'")
        }
        self.init(vocabularySize: raw.vocab_size, hiddenSize: raw.hidden_size, layerCount: raw.num_hidden_layers,
                  headCount: raw.num_attention_heads, intermediateSize: raw.intermediate_size,
                  maxPositions: raw.max_position_embeddings, typeVocabularySize: raw.type_vocab_size ?? 2,
                  layerNormEps: Float(raw.layer_norm_eps ?? 1e-12), activation: activation,
                  hiddenDropout: Float(raw.hidden_dropout_prob ?? 0.1),
                  attentionDropout: Float(raw.attention_probs_dropout_prob ?? 0.1))
        let sizes = [vocabularySize, hiddenSize, layerCount, headCount, intermediateSize, maxPositions, typeVocabularySize]
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }) else {
            throw .malformed(file: url.path, reason: "sizes must be positive and below 2^24: \(sizes)")
        }
        guard hiddenSize % headCount == 0 else {
            throw .malformed(file: url.path, reason: "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(headCount)")
        }
        guard layerNormEps.isFinite && layerNormEps >= 0,
              [hiddenDropout, attentionDropout].allSatisfy({ $0 >= 0 && $0 < 1 }) else {
            throw .malformed(file: url.path, reason: "layer_norm_eps must be finite and ≥ 0, dropouts in [0, 1)")
        }
    }

    /// config.json's keys, as Hugging Face writes them.
    private struct RawConfig: Decodable {
        let vocab_size: Int
        let hidden_size: Int
        let num_hidden_layers: Int
        let num_attention_heads: Int
        let intermediate_size: Int
        let max_position_embeddings: Int
        let type_vocab_size: Int?
        let layer_norm_eps: Double?
        let hidden_act: String?
        let hidden_dropout_prob: Double?
        let attention_probs_dropout_prob: Double?
        let model_type: String?
        let position_embedding_type: String?
    }
}
