import Heed

/// A model that maps a batch of images [B, H, W] to class logits [B, classes].
public protocol ImageClassifier: Module {
    func callAsFunction(_ images: Tensor) -> Tensor
    /// Floating-point operations of one forward pass per example (2 per multiply-add), for
    /// comparing models; the backward costs about twice as much again.
    var flopsPerExample: Int { get }
}

/// The models `heed train --model …` knows, by name.
public enum ModelKind: String, CaseIterable, Sendable {
    case mlp, pooling, vit

    public func make(seed: UInt64) -> any ImageClassifier {
        switch self {
        case .mlp: return MLPClassifier(seed: seed)
        case .pooling: return RowAttentionClassifier(seed: seed)
        case .vit: return VisionTransformer(seed: seed)
        }
    }

    public var summary: String {
        switch self {
        case .mlp: return "the design document's MLP: Flatten → Dense(128, relu) → Dense(10)"
        case .pooling: return "rows as a sequence, the document's additive attention pooling (§3–4)"
        case .vit: return "a small vision Transformer over image patches"
        }
    }
}
