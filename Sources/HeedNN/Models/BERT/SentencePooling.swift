import Foundation
import Heed

/// How sentence-transformers turns token states into one vector: its `Pooling` module
/// (`1_Pooling/config.json`). Several modes concatenate, in sentence-transformers' order
/// (cls, max, mean, mean-sqrt-len).
public struct SentencePooling: Equatable, Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// The first token's state ([CLS]).
        case cls
        /// Element-wise maximum over real tokens.
        case max
        /// Mean over real tokens.
        case mean
        /// Sum over real tokens divided by √(token count).
        case meanSqrtLength
    }

    public var modes: [Mode]

    public init(modes: [Mode]) {
        check(!modes.isEmpty, "SentencePooling: no pooling mode")
        self.modes = Mode.allCases.filter(modes.contains)
    }

    /// Reads `1_Pooling/config.json`; modes Heed does not implement (weighted mean, last
    /// token) are refused, not ignored.
    public init(contentsOf url: URL) throws(ModelFolderError) {
        let raw = try ModelFolderError.decode(RawConfig.self, url)
        if raw.pooling_mode_weightedmean_tokens == true || raw.pooling_mode_lasttoken == true {
            throw .unsupported(file: url.path, reason: "weighted-mean and last-token pooling")
        }
        let flags: [(Mode, Bool?)] = [(.cls, raw.pooling_mode_cls_token), (.max, raw.pooling_mode_max_tokens),
                                      (.mean, raw.pooling_mode_mean_tokens), (.meanSqrtLength, raw.pooling_mode_mean_sqrt_len_tokens)]
        let modes = flags.filter { $0.1 == true }.map(\.0)
        guard !modes.isEmpty else { throw .malformed(file: url.path, reason: "no pooling mode is enabled") }
        self.init(modes: modes)
    }

    /// hidden [B, L, H] with `mask` [B, L] (1 real, 0 padding; nil = all real) → [B, H·modes.count].
    public func callAsFunction(_ hidden: Tensor, mask: Tensor?) -> Tensor {
        check(hidden.rank == 3 && (mask == nil || mask!.shape == Array(hidden.shape.prefix(2))),
              "SentencePooling: hidden \(hidden.shape) and mask \(mask?.shape ?? []) are not [B, L, H] and [B, L]")
        let weights = mask?.unsqueezed(2)
        // sentence-transformers clamps the count at 1e-9, so an empty row pools to zeros.
        let count = mask.map { $0.sum(axis: 1, keepDims: true).maximum(1e-9) }
            ?? Tensor.full(Float(hidden.shape[1]), shape: [1, 1])
        func sum() -> Tensor { (weights.map { hidden * $0 } ?? hidden).sum(axis: 1) }
        let parts = modes.map { mode -> Tensor in
            switch mode {
            case .cls: hidden.select(axis: 1, 0)
            // Padding is pushed to −1e9 first, as sentence-transformers does.
            case .max: (weights.map { hidden + ($0 - 1) * 1e9 } ?? hidden).max(axis: 1)
            case .mean: sum() / count
            case .meanSqrtLength: sum() / count.sqrt()
            }
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 1)
    }

    /// 1_Pooling/config.json's keys.
    private struct RawConfig: Decodable {
        let pooling_mode_cls_token: Bool?
        let pooling_mode_mean_tokens: Bool?
        let pooling_mode_max_tokens: Bool?
        let pooling_mode_mean_sqrt_len_tokens: Bool?
        let pooling_mode_weightedmean_tokens: Bool?
        let pooling_mode_lasttoken: Bool?
    }
}

extension Tensor {
    /// Rows scaled to unit Euclidean length over the last axis: x / max(‖x‖₂, 1e-12)
    /// (PyTorch's `F.normalize`, which sentence-transformers' `Normalize` calls).
    public func l2Normalized(eps: Float = 1e-12) -> Tensor {
        self / (self * self).sum(axis: -1, keepDims: true).sqrt().maximum(eps)
    }
}
