import Heed

/// Splits images into non-overlapping p×p patches and projects each one (ViT's patch
/// embedding): images [B, H, W] (one channel) or [B, C, H, W] → [B, (H/p)·(W/p), dim], patches
/// in row-major order (left to right, then top to bottom).
///
///     patch[b, (py, px)] = x[b, :, py·p..<(py+1)·p, px·p..<(px+1)·p] flattened as (c, i, j)
///     y = patch·Wᵀ + b     W [dim, C·p·p]
///
/// Equivalent to PyTorch's `nn.Conv2d(C, dim, kernel_size: p, stride: p)` followed by
/// flatten(2).transpose(1, 2): the conv weight [dim, C, p, p] is this W reshaped (same bytes),
/// and the initialisation is the conv's and Linear's default, U(±1/√(C·p·p)). The patches are
/// one reshape/permute copy; the projection is one GEMM.
public final class PatchEmbedding: Module, UnaryLayer {
    public let imageSize: Int
    public let patchSize: Int
    public let channels: Int
    public let projection: Linear

    public init(imageSize: Int = 28, patchSize: Int = 7, channels: Int = 1, dim: Int, seed: UInt64? = nil) {
        check(patchSize > 0 && imageSize % patchSize == 0,
              "PatchEmbedding: image size \(imageSize) is not a multiple of patch size \(patchSize)")
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        projection = Linear(channels * patchSize * patchSize, dim, seed: seed)
    }

    public var patchesPerSide: Int { imageSize / patchSize }
    public var patchCount: Int { patchesPerSide * patchesPerSide }
    public var dim: Int { projection.outputCount }

    public override var children: [(name: String, module: Module)] { [("projection", projection)] }

    /// The flattened patches [B, patchCount, C·p·p], before the projection.
    public func patches(_ x: Tensor) -> Tensor {
        let image = x.rank == 3 && channels == 1 ? x.unsqueezed(1) : x
        check(image.rank == 4 && Array(image.shape[1...]) == [channels, imageSize, imageSize],
              "PatchEmbedding: input of shape \(x.shape) is not [B, \(channels), \(imageSize), \(imageSize)]"
              + (channels == 1 ? " or [B, \(imageSize), \(imageSize)]" : ""))
        let (b, n, p) = (image.shape[0], patchesPerSide, patchSize)
        return image.reshaped([b, channels, n, p, n, p])       // [B, C, py, i, px, j]
            .permuted([0, 2, 4, 1, 3, 5])                      // [B, py, px, C, i, j]
            .reshaped([b, n * n, channels * p * p])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { projection(patches(x)) }
}
