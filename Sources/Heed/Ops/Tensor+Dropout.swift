/// Dropout masks from the same stateless, vectorised hash as attention dropout
/// (`dropoutHash`): 16 lanes per step on baseline SSE2, split over the cores, where drawing
/// Bernoulli samples from xoshiro256** one at a time cost ~1.1 ns per element.
extension Tensor {
    /// A tensor of `shape` whose elements are 1/(1 − p) with probability 1 − p and 0 otherwise
    /// (inverted dropout's scaled mask); the same seed gives the same mask on every machine.
    public static func dropoutMask(_ shape: [Int], p: Float, seed: UInt64) -> Tensor {
        check(p >= 0 && p < 1, "dropoutMask: probability \(p) outside [0, 1)")
        let out = Tensor(uninitializedShape: shape)
        let n = out.count, o = out.base
        let keep = SIMD16<Float>(repeating: 1 / (1 - p))
        let threshold = SIMD16<UInt32>(repeating: dropoutThreshold(p))
        let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        Parallel.forRanges((n + 15) / 16, grain: elementwiseGrain / 16) { blocks in
            for blk in blocks {
                let start = blk * 16
                let idx = lanes &+ UInt32(truncatingIfNeeded: start)
                let kept = (dropoutHash(seed, idx, high: UInt32(truncatingIfNeeded: start >> 32)) &>> 8) .>= threshold
                let v = SIMD16<Float>().replacing(with: keep, where: kept)
                if start + 16 <= n { store16(v, o + start) } else { storePartial(v, o + start, n - start) }
            }
        }
        return out
    }
}
