/// The affine map of a dense layer as one op: x·Wᵀ + b with W in PyTorch's [out, in] layout.
extension Tensor {
    /// x [..., in] · weightᵀ + bias → [..., out], for weight [out, in] and bias [out]
    /// (PyTorch's `F.linear`).
    ///
    /// Fused because a dense layer is mostly memory traffic around its GEMM at inference widths:
    /// the output starts as copies of the bias row and the GEMM accumulates into it (β = 1),
    /// where `x.matmul(w.T) + b` writes the product, then reads it and writes it again with a
    /// second allocation. W reaches BLAS as a transpose flag, never copied.
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let k = rank >= 1 ? shape[rank - 1] : -1
        check(rank >= 1 && weight.rank == 2 && weight.shape[1] == k
              && (bias == nil || bias!.shape == [weight.shape[0]]),
              "linear: input \(shape), weight \(weight.shape) and bias \(bias?.shape ?? []) are not [..., in], [out, in] and [out]")
        guard let bias else { return matmul(weight.transposed()) }
        let n = weight.shape[0]
        let x = rank == 2 ? self : reshaped([-1, k])
        let m = x.shape[0]
        let out = Tensor(uninitializedShape: [m, n])
        if m > 0 && n > 0 {
            let b = bias.contiguous()
            let (src, dst) = (UncheckedSendable(UnsafePointer(b.base)), UncheckedSendable(out.base))
            Parallel.forRanges(m, grain: Swift.max(1, 32_768 / n)) { rows in
                for r in rows { (dst.value + r * n).update(from: src.value, count: n) }
            }
            withExtendedLifetime(b) {}
            let (ga, gw) = (x.gemmOperand([]), weight.transposed().gemmOperand([]))
            batchedGemm(m: m, n: n, k: k, alpha: 1, a: ga.operand, b: gw.operand,
                        beta: 1, c: out.base, ldc: n, cStride: m * n)
            withExtendedLifetime((ga.keepAlive, gw.keepAlive)) {}
        }
        let y = out.recorded("linear", [x, weight, bias]) { g in
            [x.requiresGrad ? g.matmul(weight) : nil,
             weight.requiresGrad ? g.transposed().matmul(x) : nil,
             bias.requiresGrad ? g.sum(axis: 0) : nil]
        }
        return rank == 2 ? y : y.reshaped(Array(shape.dropLast()) + [n])
    }
}
