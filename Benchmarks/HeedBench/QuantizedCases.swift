import Heed

/// A dense layer x·Wᵀ + b on a Float32 weight (`linear`, the GEMM Heed runs everywhere), an int8
/// one (dynamic u8 activations, `vpdpbusd` where the CPU has it) and a bf16 one (`vdpbf16ps`),
/// at all-MiniLM-L6-v2's two FFN shapes: one token (a decoder step), one sentence (12 tokens)
/// and a batch of 32 sentences (384 rows). One group per shape, the three weights interleaved.
enum QuantizedBench {
    static let paths = ["fp32", "int8", "bf16"]

    static func groups(quick: Bool) -> [[BenchCase]] {
        let rows = quick ? [12] : [1, 12, 384]
        let widths = quick ? [(384, 1536)] : [(384, 1536), (1536, 384)]
        return rows.flatMap { m in widths.map { k, n in paths.map { layerCase(m: m, k: k, n: n, path: $0) } } }
    }

    static func layerCase(m: Int, k: Int, n: Int, path: String) -> BenchCase {
        let flops = 2 * Double(m) * Double(k) * Double(n)
        let calls = flops < 2e7 ? 20 : 1   // the small ones take microseconds
        return BenchCase(group: "quantized", name: "quantized/\(m)x\(k)x\(n)/\(path)", shape: "x [\(m), \(k)] · Wᵀ [\(k), \(n)]",
                         path: path, flops: flops, callsPerRun: calls) {
            let x = Tensor.randomNormal([m, k], seed: 1)
            let w = Tensor.randomNormal([n, k], seed: 2) * (1 / Float(k).squareRoot())
            let b = Tensor.randomNormal([n], seed: 3)
            switch path {
            case "int8":
                let q = Int8Weight(quantizing: w)
                return { for _ in 0..<calls { blackHole(x.linear(weight: q, bias: b)) } }
            case "bf16":
                let q = BF16Weight(converting: w)
                return { for _ in 0..<calls { blackHole(x.linear(weight: q, bias: b)) } }
            default:
                return { for _ in 0..<calls { blackHole(x.linear(weight: w, bias: b)) } }
            }
        }
    }
}
