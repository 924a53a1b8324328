import CHeedKernels

/// A dense layer's weight [out, in] as int8 codes with one Float32 scale per output channel:
/// w[j][kk] ≈ codes[j][kk] · scales[j], codes in −127…127 (symmetric, as onnxruntime's and
/// PyTorch's per-channel weight quantization). Held packed for the dispatched int8 product
/// (`vpdpbusd` on AVX-512 VNNI, exact emulation elsewhere); `Tensor.linear(weight:bias:)` runs it.
public final class Int8Weight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// [out, in], row-major: what a checkpoint stores.
    public let codes: [Int8]
    /// [out]: one scale per output channel.
    public let scales: [Float]
    let packed: [Int8]        // heed_pack_int8's panels
    let paddedSums: [Int32]   // Σ_kk codes[j][kk], padded to whole panels of 16
    let paddedScales: [Float]

    /// Quantizes `weight` [out, in]: scale = max|w[j]| / 127 per row (1 for a row of zeros),
    /// codes rounded to nearest even.
    public convenience init(quantizing weight: Tensor) {
        check(weight.rank == 2, "Int8Weight(quantizing:): weight \(weight.shape) is not [out, in]")
        let (n, k) = (weight.shape[0], weight.shape[1])
        let w = weight.scalars
        var codes = [Int8](repeating: 0, count: n * k), scales = [Float](repeating: 1, count: n)
        for j in 0..<n {
            let row = w[j * k..<(j + 1) * k]
            let maxAbs = row.reduce(Float(0)) { Swift.max($0, abs($1)) }
            let scale = maxAbs > 0 && maxAbs.isFinite ? maxAbs / 127 : 1
            scales[j] = scale
            for kk in 0..<k {
                let q = (w[j * k + kk] / scale).rounded(.toNearestOrEven)
                codes[j * k + kk] = Int8(q.isNaN ? 0 : Swift.min(127, Swift.max(-127, q)))
            }
        }
        self.init(codes: codes, scales: scales, outFeatures: n, inFeatures: k)
    }

    /// Codes [out, in] and scales [out] as a checkpoint holds them. Scales must be finite and
    /// positive (a file's are validated before this, by the code that reads it).
    public init(codes: [Int8], scales: [Float], outFeatures: Int, inFeatures: Int) {
        check(outFeatures >= 0 && inFeatures >= 0 && codes.count == outFeatures * inFeatures
              && scales.count == outFeatures,
              "Int8Weight: \(codes.count) codes and \(scales.count) scales for [\(outFeatures), \(inFeatures)]")
        check(scales.allSatisfy { $0.isFinite && $0 > 0 }, "Int8Weight: a scale is not finite and positive")
        check(inFeatures <= Int8Weight.maxInFeatures,
              "Int8Weight: \(inFeatures) input features exceed \(Int8Weight.maxInFeatures), where the int32 sums could overflow")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.codes = codes
        self.scales = scales
        let panels = (outFeatures + 15) / 16, groups = (inFeatures + 3) / 4
        var packed = [Int8](repeating: 0, count: panels * groups * 64)
        codes.withUnsafeBufferPointer { c in
            packed.withUnsafeMutableBufferPointer { heed_pack_int8(c.baseAddress, outFeatures, inFeatures, $0.baseAddress) }
        }
        self.packed = packed
        var sums = [Int32](repeating: 0, count: panels * 16), padded = [Float](repeating: 0, count: panels * 16)
        for j in 0..<outFeatures {
            var s: Int32 = 0
            for kk in 0..<inFeatures { s += Int32(codes[j * inFeatures + kk]) }
            sums[j] = s
            padded[j] = scales[j]
        }
        self.paddedSums = sums
        self.paddedScales = padded
    }

    /// u8 · s8 products summed in int32: 255 · 127 · k stays below 2³¹ up to this k.
    public static let maxInFeatures = 65_536

    /// codes · scale, [out, in].
    public func dequantized() -> Tensor {
        var w = [Float](repeating: 0, count: codes.count)
        for j in 0..<outFeatures {
            for kk in 0..<inFeatures { w[j * inFeatures + kk] = Float(codes[j * inFeatures + kk]) * scales[j] }
        }
        return Tensor(w, shape: [outFeatures, inFeatures])
    }
}

/// A dense layer's weight [out, in] in bfloat16 (the top 16 bits of each Float32, rounded to
/// nearest even), packed for the dispatched bf16 product (`vdpbf16ps` on AVX-512 BF16, the same
/// operations elsewhere).
public final class BF16Weight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// [out, in] bf16 bit patterns, row-major: what a checkpoint stores.
    public let bits: [UInt16]
    let packed: [UInt16]

    /// Rounds `weight` [out, in] to bf16.
    public convenience init(converting weight: Tensor) {
        check(weight.rank == 2, "BF16Weight(converting:): weight \(weight.shape) is not [out, in]")
        self.init(bits: weight.scalars.map(bfloat16Bits), outFeatures: weight.shape[0], inFeatures: weight.shape[1])
    }

    public init(bits: [UInt16], outFeatures: Int, inFeatures: Int) {
        check(outFeatures >= 0 && inFeatures >= 0 && bits.count == outFeatures * inFeatures,
              "BF16Weight: \(bits.count) values for [\(outFeatures), \(inFeatures)]")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.bits = bits
        var packed = [UInt16](repeating: 0, count: (outFeatures + 15) / 16 * ((inFeatures + 1) / 2) * 32)
        bits.withUnsafeBufferPointer { b in
            packed.withUnsafeMutableBufferPointer { heed_pack_bf16(b.baseAddress, outFeatures, inFeatures, $0.baseAddress) }
        }
        self.packed = packed
    }

    /// The bf16 values as Float32, [out, in].
    public func dequantized() -> Tensor {
        Tensor(bits.map { Float(bitPattern: UInt32($0) << 16) }, shape: [outFeatures, inFeatures])
    }
}

/// The bf16 bit pattern of `x`, rounded to nearest even; a NaN stays a (quiet) NaN. The same
/// integer operations as the kernel's activation conversion (convert_rows_bf16).
public func bfloat16Bits(_ x: Float) -> UInt16 {
    let u = x.bitPattern
    if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 0x40) }
    return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
}
