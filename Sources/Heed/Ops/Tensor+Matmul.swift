/// Matrix products through `cblas_sgemm`, NumPy `matmul` semantics: 1-D operands are promoted
/// (and the added axis removed again), leading batch axes broadcast. Transposed views are
/// passed to BLAS as transposes, never copied.
extension Tensor {
    public func matmul(_ other: Tensor) -> Tensor { matmul(other, threading: .perCore) }

    /// `matmul` with an explicit threading strategy, for the benchmark's comparison.
    @_spi(Benchmarks) public func matmul(_ other: Tensor, threading: GemmThreading) -> Tensor {
        check(rank >= 1 && other.rank >= 1,
              "matmul: operands must have at least one axis, got \(shape) and \(other.shape)")
        if rank == 1 && other.rank == 1 {
            return unsqueezed(0).matmul(other.unsqueezed(1), threading: threading).reshaped([])
        }
        if rank == 1 { return unsqueezed(0).matmul(other, threading: threading).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1), threading: threading).squeezed(-1) }

        if other.rank == 2 && rank > 2 && isContiguous {
            // [..., m, k]·[k, n]: fold the batch into the rows, one large GEMM (Linear layers).
            let k = shape[rank - 1]
            check(other.shape[0] == k, "matmul: inner dimensions differ: \(shape) × \(other.shape)")
            return reshaped([-1, k]).matmul(other, threading: threading).reshaped(Array(shape.dropLast()) + [other.shape[1]])
        }
        let (a, b) = (self, other)
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
        let k2 = b.shape[b.rank - 2], n = b.shape[b.rank - 1]
        check(k == k2, "matmul: inner dimensions differ: \(a.shape) × \(b.shape)")
        let batchShape = broadcastShapes(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), op: "matmul")
        let out = Tensor(uninitializedShape: batchShape + [m, n])
        let (ga, gb) = (a.gemmOperand(batchShape), b.gemmOperand(batchShape))
        batchedGemm(m: m, n: n, k: k, alpha: 1, a: ga.operand, b: gb.operand,
                    beta: 0, c: out.base, ldc: Swift.max(n, 1), cStride: m * n, threading: threading)
        withExtendedLifetime((ga.keepAlive, gb.keepAlive)) {}
        // Each gradient is produced in its operand's memory order: for the transposed weight
        // of a Linear layer (W viewed as Wᵀ) dW comes out dense as [out, in] instead of as a
        // transposed view that would need a strided copy.
        let aTransposed = a.blasLayout()?.transposed ?? false, bTransposed = b.blasLayout()?.transposed ?? false
        return out.recorded("matmul", [a, b]) { g in
            let da = !a.requiresGrad ? nil
                : aTransposed ? b.matmul(g.transposed()).transposed() : g.matmul(b.transposed())
            let db = !b.requiresGrad ? nil
                : bTransposed ? g.transposed().matmul(a).transposed() : a.transposed().matmul(g)
            return [da.map { reduceGradient($0, to: a.shape) }, db.map { reduceGradient($0, to: b.shape) }]
        }
    }

    /// A BLAS view of this operand, copying only when the last two axes have no unit stride.
    func gemmOperand(_ batchShape: [Int]) -> (operand: GemmOperand, keepAlive: Tensor) {
        let t = blasLayout() == nil ? noGrad { detach().contiguous() } : self
        let layout = t.blasLayout()!
        return (GemmOperand(pointer: t.base, transposed: layout.transposed, ld: layout.ld,
                            batchOffsets: t.batchOffsets(batchShape)), t)
    }
}

infix operator • : MultiplicationPrecedence
/// `a • b` is `a.matmul(b)` (Python's `@`).
public func • (a: Tensor, b: Tensor) -> Tensor { a.matmul(b) }
