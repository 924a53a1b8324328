import CBLAS
@_spi(Benchmarks) import Heed

/// One GEMM problem: C[batch] = A[batch]·op(B[batch]), A [m, k], op(B) [k, n].
struct GemmShape {
    let m: Int, n: Int, k: Int
    var batch = 1
    /// B is stored [n, k] and read transposed (attention's Q·Kᵀ).
    var transB = false

    var label: String {
        (batch > 1 ? "\(batch)×" : "") + "\(m)×\(n)×\(k)" + (transB ? " Bᵀ" : "")
    }
    /// The same in ASCII, for case names (what --filter matches).
    var key: String {
        (batch > 1 ? "\(batch)x" : "") + "\(m)x\(n)x\(k)" + (transB ? "-Bt" : "")
    }
    var flops: Double { 2 * Double(batch) * Double(m) * Double(n) * Double(k) }
    /// Calls per timed run so that one run is ≳ 10 ms at ~150 GFLOP/s.
    var callsPerRun: Int { Swift.max(1, Int(1.5e9 / flops)) }

    static let peak = GemmShape(m: 2048, n: 2048, k: 2048)
    /// The attention kernels' products: Q_blk·Kᵀ at N = 1024 and a P·V-like 512×64×512.
    static let attentionQK = GemmShape(m: 1024, n: 1024, k: 64, transB: true)
    static let attentionPV = GemmShape(m: 512, n: 64, k: 512)
}

/// `cblas_sgemm` itself, with OpenBLAS's own threads: what this machine's BLAS does right now,
/// the yardstick every other figure is a fraction of. The buffers are Heed tensors only so the
/// allocator counts them.
func sgemmCases(group: String, shapes: [GemmShape], threads: [Int]) -> [BenchCase] {
    shapes.flatMap { s in
        threads.map { t in
            BenchCase(group: group, name: "\(group)/\(s.key)/\(t)t", shape: s.label, path: "cblas \(t) thread\(t == 1 ? "" : "s")",
                      flops: s.flops, callsPerRun: s.callsPerRun) {
                let a = Tensor.randomNormal([s.m, s.k], seed: 1)
                let b = Tensor.randomNormal(s.transB ? [s.n, s.k] : [s.k, s.n], seed: 2)
                let c = Tensor.zeros([s.m, s.n])
                let calls = s.callsPerRun
                return {
                    // Heed keeps OpenBLAS single-threaded (its own workers split the work), so
                    // set the count for this call and put it back.
                    openblas_set_num_threads(Int32(t))
                    for _ in 0..<calls {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans,
                                    Int32(s.m), Int32(s.n), Int32(s.k), 1,
                                    a.storage.pointer, Int32(s.k), b.storage.pointer, Int32(s.transB ? s.k : s.n),
                                    0, c.storage.pointer, Int32(s.n))
                    }
                    openblas_set_num_threads(1)
                }
            }
        }
    }
}

/// `Tensor.matmul` with Heed's workers over (matrix, row panel), each a single-threaded
/// `cblas_sgemm`, against one OpenBLAS-threaded call per matrix (the attention issue's
/// question). Operands are tensors so the batched shapes go through the same code as the model.
func gemmThreadingCases(_ shapes: [GemmShape]) -> [BenchCase] {
    shapes.flatMap { s in
        [GemmThreading.perCore, .openBLAS].map { threading in
            let path = threading == .perCore ? "perCore" : "openBLAS"
            return BenchCase(group: "gemm-threading", name: "gemm-threading/\(s.key)/\(path)", shape: s.label,
                             path: path, flops: s.flops, callsPerRun: s.callsPerRun) {
                let lead = s.batch > 1 ? [s.batch] : []
                let a = Tensor.randomNormal(lead + [s.m, s.k], seed: 1)
                let b = s.transB ? Tensor.randomNormal(lead + [s.n, s.k], seed: 2).transposed()
                                 : Tensor.randomNormal(lead + [s.k, s.n], seed: 2)
                let calls = s.callsPerRun
                return { noGrad { for _ in 0..<calls { blackHole(a.matmul(b, threading: threading)) } } }
            }
        }
    }
}

/// Square products: `Reference.matmul` (triple loop over [Float], Double accumulation) against
/// `Tensor.matmul`.
func matmulCases(sizes: [Int]) -> [BenchCase] {
    sizes.flatMap { n -> [BenchCase] in
        let s = GemmShape(m: n, n: n, k: n)
        let naive = BenchCase(group: "matmul", name: "matmul/\(n)/naive", shape: s.label, path: "naive", flops: s.flops) {
            let a = Tensor.randomNormal([n, n], seed: 1).scalars, b = Tensor.randomNormal([n, n], seed: 2).scalars
            return { blackHole(Reference.matmul(a, b, m: n, k: n, n: n)) }
        }
        let heed = BenchCase(group: "matmul", name: "matmul/\(n)/heed", shape: s.label, path: "heed",
                             flops: s.flops, callsPerRun: s.callsPerRun) {
            let a = Tensor.randomNormal([n, n], seed: 1), b = Tensor.randomNormal([n, n], seed: 2)
            let calls = s.callsPerRun
            return { noGrad { for _ in 0..<calls { blackHole(a.matmul(b)) } } }
        }
        return [naive, heed]
    }
}
