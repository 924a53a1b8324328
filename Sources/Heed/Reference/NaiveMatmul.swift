/// Naive reference kernels: plain loops, no BLAS, no SIMD, no tiling. They are the tests'
/// oracle and the benchmark's baseline, so they favour obviousness over speed and accumulate
/// in Double where that makes them a better oracle.
public enum Reference {
    /// C = A·B for row-major A [m, k] and B [k, n], as a flat [m·n] array.
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        check(a.count == m * k && b.count == k * n,
              "Reference.matmul: \(a.count) and \(b.count) elements for [\(m), \(k)] × [\(k), \(n)]")
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    /// `matmul` for tensors of any rank ≥ 2 with NumPy batch broadcasting, by index arithmetic.
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        check(b.shape[b.rank - 2] == k, "Reference.matmul: inner dimensions differ: \(a.shape) × \(b.shape)")
        let batch = broadcastShapes(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), op: "Reference.matmul")
        let ae = a.detach().expanded(batch + [m, k]).contiguous().scalars
        let be = b.detach().expanded(batch + [k, n]).contiguous().scalars
        var out: [Float] = []
        for i in 0..<shapeCount(batch) {
            out += matmul(Array(ae[(i * m * k)..<((i + 1) * m * k)]), Array(be[(i * k * n)..<((i + 1) * k * n)]),
                          m: m, k: k, n: n)
        }
        return Tensor(out, shape: batch + [m, n])
    }
}
