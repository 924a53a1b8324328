extension Reference {
    /// One activation row as the int8 product quantizes it (quant_gemm.inc's
    /// quantize_rows_u8): scale s = (max − min)/255 over the row and 0, zero point
    /// z = round(−min/s), code = clamp(round(x/s) + z, 0, 255), rounding to nearest even.
    public static func quantizeRowU8(_ x: [Float]) -> (codes: [UInt8], scale: Float, zero: Int32) {
        var (lo, hi): (Float, Float) = (0, 0)
        for v in x {
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        var s = (hi - lo) / 255
        if !(s > 0) || s == .infinity { s = 1 }
        let z = clampCode((0 - lo) / s, plus: 0)
        let codes = x.map { UInt8(clampCode($0 / s, plus: z)) }
        return (codes, s, Int32(z))
    }

    private static func clampCode(_ v: Float, plus z: Float) -> Float {
        let r = v.rounded(.toNearestOrEven) + z
        return r > 255 ? 255 : (r >= 0 ? r : 0)   // NaN → 0
    }

    /// x [m, k] · Wᵀ + b on an int8 weight, one output at a time: each row times the weight's
    /// 1/c (input smoothing) when it has one, quantized, exact integer sums, then
    /// Float(Σ q·w − z·Σ w) · (s·t) + b — the same operations as the kernel's epilogue.
    public static func int8Linear(_ x: [Float], m: Int, k: Int, weight: Int8Weight, bias: [Float]?) -> [Float] {
        let n = weight.outFeatures
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            var row = Array(x[i * k..<(i + 1) * k])
            if let r = weight.inputReciprocals { for kk in 0..<k { row[kk] = row[kk] * r[kk] } }
            let (q, s, z) = quantizeRowU8(row)
            for j in 0..<n {
                var dot = 0, sum = 0
                for kk in 0..<k {
                    let w = Int(weight.codes[j * k + kk])
                    dot += Int(q[kk]) * w
                    sum += w
                }
                var v = Float(Int32(dot - Int(z) * sum)) * (s * weight.scales[j])
                if let bias { v = v + bias[j] }
                y[i * n + j] = v
            }
        }
        return y
    }

    /// x [m, k] · Wᵀ + b on a bf16 weight, in vdpbf16ps's order: x rounded to bf16, then per
    /// pair of k (zero-padded) the odd product is added, then the even one, every input and
    /// result flushed as FTZ/DAZ do; then the bias.
    public static func bf16Linear(_ x: [Float], m: Int, k: Int, weight: BF16Weight, bias: [Float]?) -> [Float] {
        let n = weight.outFeatures, f = flushSubnormal
        let value = { (b: UInt16) in f(Float(bitPattern: UInt32(b) << 16)) }
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            var xb = x[i * k..<(i + 1) * k].map(bfloat16Bits)
            if k % 2 == 1 { xb.append(0) }
            for j in 0..<n {
                var wb = Array(weight.bits[j * k..<(j + 1) * k])
                if k % 2 == 1 { wb.append(0) }
                var acc: Float = 0
                for g in stride(from: 0, to: xb.count, by: 2) {
                    acc = f(acc + f(value(xb[g + 1]) * value(wb[g + 1])))
                    acc = f(acc + f(value(xb[g]) * value(wb[g])))
                }
                if let bias { acc = f(acc + f(bias[j])) }
                y[i * n + j] = acc
            }
        }
        return y
    }
}
