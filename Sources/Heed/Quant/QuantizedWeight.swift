import CHeedKernels
#if canImport(Glibc)
import Glibc
#endif

/// A dense layer's weight [out, in] as int8 codes with one Float32 scale per output channel:
/// w[j][kk] ≈ codes[j][kk] · scales[j], codes in −127…127 (symmetric, as onnxruntime's and
/// PyTorch's per-channel weight quantization). Held packed for the dispatched int8 product
/// (`vpdpbusd` on AVX-512 VNNI, exact emulation elsewhere); `Tensor.linear(weight:bias:)` runs it.
///
/// With `inputScales` c (SmoothQuant, Xiao et al. 2023), the codes are those of W·diag(c) and
/// every activation row is divided by c before it is quantized: an input channel that carries
/// outliers (BERT's hidden states have a few) no longer stretches the whole row's 8-bit range.
/// The product is the same, x·Wᵀ = (x/c)·(W·diag(c))ᵀ; only the rounding moves.
public final class Int8Weight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// [out, in], row-major: what a checkpoint stores.
    public let codes: [Int8]
    /// [out]: one scale per output channel.
    public let scales: [Float]
    /// [in]: the input smoothing c, or nil.
    public let inputScales: [Float]?
    let inputReciprocals: [Float]?   // 1/c, what the activation quantizer multiplies by
    let packed: [Int8]        // heed_pack_int8's panels
    let paddedSums: [Int32]   // Σ_kk codes[j][kk], padded to whole panels of 16
    let paddedScales: [Float]

    /// Quantizes `weight` [out, in] (times `inputScales` per column, when given): scale =
    /// max|w[j]| / 127 per row (1 for a row of zeros), codes rounded to nearest even.
    public convenience init(quantizing weight: Tensor, inputScales: [Float]? = nil) {
        check(weight.rank == 2, "Int8Weight(quantizing:): weight \(weight.shape) is not [out, in]")
        let (n, k) = (weight.shape[0], weight.shape[1])
        var w = weight.scalars
        if let c = inputScales {
            check(c.count == k, "Int8Weight(quantizing:): \(c.count) input scales for weight \(weight.shape)")
            for j in 0..<n { for kk in 0..<k { w[j * k + kk] *= c[kk] } }
        }
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
        self.init(codes: codes, scales: scales, inputScales: inputScales, outFeatures: n, inFeatures: k)
    }

    /// Codes [out, in] and scales [out] as a checkpoint holds them. Scales must be finite and
    /// positive (a file's are validated before this, by the code that reads it).
    public init(codes: [Int8], scales: [Float], inputScales: [Float]? = nil, outFeatures: Int, inFeatures: Int) {
        check(outFeatures >= 0 && inFeatures >= 0 && codes.count == outFeatures * inFeatures
              && scales.count == outFeatures,
              "Int8Weight: \(codes.count) codes and \(scales.count) scales for [\(outFeatures), \(inFeatures)]")
        check(scales.allSatisfy { $0.isFinite && $0 > 0 }, "Int8Weight: a scale is not finite and positive")
        check(inputScales == nil || (inputScales!.count == inFeatures && inputScales!.allSatisfy { $0.isNormal && $0 > 0 }),
              "Int8Weight: \(inputScales?.count ?? 0) input scales for \(inFeatures) inputs, or one not finite and positive")
        check(inFeatures <= Int8Weight.maxInFeatures,
              "Int8Weight: \(inFeatures) input features exceed \(Int8Weight.maxInFeatures), where the int32 sums could overflow")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.codes = codes
        self.scales = scales
        self.inputScales = inputScales
        self.inputReciprocals = inputScales?.map { 1 / $0 }
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

    /// codes · scale (÷ the input scale), [out, in].
    public func dequantized() -> Tensor {
        var w = [Float](repeating: 0, count: codes.count)
        for j in 0..<outFeatures {
            for kk in 0..<inFeatures {
                let v = Float(codes[j * inFeatures + kk]) * scales[j]
                w[j * inFeatures + kk] = inputScales.map { v / $0[kk] } ?? v
            }
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

/// The storage formats a dense layer's weight can run in.
public enum WeightFormat: String, CaseIterable, Sendable {
    case float32, int8, bf16
}

/// A dense layer's weight in a quantized format, as `Linear.quantize(_:)` holds it.
public enum QuantizedWeight: @unchecked Sendable {
    case int8(Int8Weight)
    case bf16(BF16Weight)

    /// `weight` [out, in] in `format` (`.int8` or `.bf16`).
    public init(_ weight: Tensor, format: WeightFormat) {
        switch format {
        case .int8: self = .int8(Int8Weight(quantizing: weight))
        case .bf16: self = .bf16(BF16Weight(converting: weight))
        case .float32: checkFailure("QuantizedWeight: float32 is not a quantized format")
        }
    }

    public var format: WeightFormat {
        switch self { case .int8: .int8; case .bf16: .bf16 }
    }
    public var outFeatures: Int {
        switch self { case .int8(let w): w.outFeatures; case .bf16(let w): w.outFeatures }
    }
    public var inFeatures: Int {
        switch self { case .int8(let w): w.inFeatures; case .bf16(let w): w.inFeatures }
    }
    /// The values the layer computes with, [out, in].
    public func dequantized() -> Tensor {
        switch self { case .int8(let w): w.dequantized(); case .bf16(let w): w.dequantized() }
    }

    /// The weights stacked along the output axis (one product for several layers on the same
    /// input, e.g. Q, K and V): the same codes and scales, so the same results as each alone.
    /// int8 parts must share their input smoothing.
    public static func concatenated(_ parts: [QuantizedWeight]) -> QuantizedWeight {
        let k = parts.first?.inFeatures ?? 0
        check(!parts.isEmpty && parts.allSatisfy { $0.inFeatures == k && $0.format == parts[0].format },
              "QuantizedWeight.concatenated: the parts differ in format or input features")
        let n = parts.reduce(0) { $0 + $1.outFeatures }
        switch parts[0] {
        case .int8(let first):
            let w = parts.map { if case .int8(let w) = $0 { w } else { fatalError() } }
            check(w.allSatisfy { $0.inputScales == first.inputScales },
                  "QuantizedWeight.concatenated: the int8 parts have different input smoothing")
            return .int8(Int8Weight(codes: w.flatMap(\.codes), scales: w.flatMap(\.scales), inputScales: first.inputScales,
                                    outFeatures: n, inFeatures: k))
        case .bf16:
            let w = parts.map { if case .bf16(let w) = $0 { w } else { fatalError() } }
            return .bf16(BF16Weight(bits: w.flatMap(\.bits), outFeatures: n, inFeatures: k))
        }
    }
}

extension Int8Weight {
    /// SmoothQuant's input scales (Xiao et al. 2023): c = max|x|^α / max|w|^(1−α) per input
    /// column, from the column maxima of the layer's inputs seen on calibration data and of
    /// `weight` [out, in] (α = 0.5 splits the range evenly between activations and weights).
    /// Columns never seen non-zero get c = 1.
    public static func smoothingScales(inputMaxima: [Float], weight: Tensor, alpha: Float = 0.5) -> [Float] {
        check(weight.rank == 2 && weight.shape[1] == inputMaxima.count && alpha >= 0 && alpha <= 1,
              "Int8Weight.smoothingScales: \(inputMaxima.count) maxima for weight \(weight.shape), α = \(alpha)")
        let (n, k) = (weight.shape[0], weight.shape[1]), w = weight.scalars
        return (0..<k).map { kk in
            var wm: Float = 0
            for j in 0..<n { wm = Swift.max(wm, abs(w[j * k + kk])) }
            let xm = inputMaxima[kk]
            guard xm > 0, wm > 0, xm.isFinite else { return 1 }
            let c = powf(xm, alpha) / powf(wm, 1 - alpha)
            return c.isNormal ? c : 1
        }
    }
}
