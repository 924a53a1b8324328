import CBLAS
import CHeedKernels

/// One matrix operand as BLAS sees it: row-major, transposed or not, with a leading dimension.
/// Any view whose last two axes have unit stride in one direction qualifies, so transposes and
/// row/column slices reach BLAS without a copy.
struct GemmOperand {
    let pointer: UnsafePointer<Float>
    let transposed: Bool
    let ld: Int
    /// Element offset of each matrix of the batch from `pointer`.
    let batchOffsets: [Int]

    var blasTrans: CBLAS_TRANSPOSE { transposed ? CblasTrans : CblasNoTrans }
}

extension Tensor {
    /// How BLAS can read the last two axes of this view in place, or nil if it cannot.
    func blasLayout() -> (transposed: Bool, ld: Int)? {
        let r = shape[rank - 2], c = shape[rank - 1]
        let sr = strides[rank - 2], sc = strides[rank - 1]
        if (sc == 1 || c == 1) && (r == 1 || sr >= Swift.max(1, c)) {
            return (false, r == 1 ? Swift.max(1, c) : Swift.max(sr, 1))
        }
        if (sr == 1 || r == 1) && (c == 1 || sc >= Swift.max(1, r)) {
            return (true, c == 1 ? Swift.max(1, r) : Swift.max(sc, 1))
        }
        return nil
    }

    /// Offsets of each matrix when the batch axes (all but the last two) broadcast to `batchShape`.
    func batchOffsets(_ batchShape: [Int]) -> [Int] {
        let full = shape.count - 2
        let bs = Tensor(storage: storage, shape: Array(shape[..<full]), strides: Array(strides[..<full]))
            .broadcastStrides(to: batchShape)
        var offsets = [Int](repeating: 0, count: shapeCount(batchShape))
        var index = [Int](repeating: 0, count: batchShape.count)
        var o = 0
        for b in 0..<offsets.count {
            offsets[b] = o
            var d = batchShape.count - 1
            while d >= 0 {
                index[d] += 1
                o += bs[d]
                if index[d] < batchShape[d] { break }
                o -= bs[d] * batchShape[d]
                index[d] = 0
                d -= 1
            }
        }
        return offsets
    }
}

/// Who runs the threads of a batched GEMM.
@_spi(Benchmarks) public enum GemmThreading: Sendable {
    /// Heed's workers over (matrix, row panel) tasks, each a single-threaded `cblas_sgemm`.
    case perCore
    /// One `cblas_sgemm` per matrix on OpenBLAS's own threads (for comparison only).
    case openBLAS
}

/// Below this many flops a GEMM runs on the calling thread. A hop to a polling worker
/// (WorkerPool) costs 1–2 µs, about 0.2 MFLOP of single-core SGEMM; 2 MFLOP was right for
/// libdispatch's ~5–10 µs wake-ups. Measured with the pool: 0.5 M made the Transformer block's
/// step ~5 % and one sentence's embedding ~10 % faster.
let gemmParallelFlops = 500_000
/// …or when a few-row product reads at least this many elements of B (1 MiB, ~50 µs of
/// memory traffic on one core).
let gemmParallelBElements = 1 << 18

/// C[i] = α·op(A[i])·op(B[i]) + β·C[i] for every matrix i of a batch; C is row-major with
/// leading dimension `ldc` and matrices `cStride` apart. OpenBLAS 0.3.21 has no batched GEMM,
/// so the batching is ours: the batch, and when it is smaller than the core count also the
/// rows of C, are split into tasks that run single-threaded `cblas_sgemm` on every core.
func batchedGemm(m: Int, n: Int, k: Int, alpha: Float, a: GemmOperand, b: GemmOperand,
                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, cStride: Int,
                 threading: GemmThreading = .perCore) {
    BLASSetup.prepare()
    let batch = a.batchOffsets.count
    check(b.batchOffsets.count == batch, "batchedGemm: batch sizes \(batch) and \(b.batchOffsets.count) differ")
    if m == 0 || n == 0 || batch == 0 { return }
    if k == 0 {
        // BLAS would scale C by β; with nothing to add that is the whole product.
        for i in 0..<batch {
            for r in 0..<m {
                let row = c + i * cStride + r * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
        }
        return
    }
    if threading == .openBLAS {
        // The alternative, kept for the benchmark's comparison: OpenBLAS's own pool, one call
        // per matrix. Switching OpenBLAS's global thread count is not safe while other threads
        // call BLAS, so nothing but the benchmark uses this.
        openblas_set_num_threads(Int32(Parallel.workerCount))
        defer { openblas_set_num_threads(1) }
        for i in 0..<batch {
            cblas_sgemm(CblasRowMajor, a.blasTrans, b.blasTrans, Int32(m), Int32(n), Int32(k), alpha,
                        a.pointer + a.batchOffsets[i], Int32(a.ld), b.pointer + b.batchOffsets[i], Int32(b.ld),
                        beta, c + i * cStride, Int32(ldc))
        }
        return
    }
    if m <= gemmFewRowsLimit && !a.transposed && b.transposed && alpha == 1 && (beta == 0 || beta == 1) {
        return gemmFewRows(m: m, n: n, k: k, a: a, b: b, beta: beta, c: c, ldc: ldc, cStride: cStride)
    }
    let flops = 2 * m * n * k * batch
    let workers = flops < gemmParallelFlops ? 1 : Parallel.workerCount
    let cores = Parallel.workerCount
    if cores > 1 && batch < cores && m < 16 * cores && n >= 64 * cores
        && (flops >= gemmParallelFlops || n * k >= gemmParallelBElements) {
        // Too few rows for a panel per core (a dense layer on one short sentence): split the
        // columns instead. Such products are bound by reading B, not by flops, so they go
        // parallel once B is large, and each core streams its half.
        let bColumnStep = b.transposed ? b.ld : 1
        let parts = (workers + batch - 1) / batch
        Parallel.forRanges(batch * parts, grain: 1) { range in
            for task in range {
                let i = task / parts, p = task % parts
                let c0 = p * n / parts, c1 = (p + 1) * n / parts
                cblas_sgemm(CblasRowMajor, a.blasTrans, b.blasTrans,
                            Int32(m), Int32(c1 - c0), Int32(k), alpha,
                            a.pointer + a.batchOffsets[i], Int32(a.ld),
                            b.pointer + b.batchOffsets[i] + c0 * bColumnStep, Int32(b.ld),
                            beta, c + i * cStride + c0, Int32(ldc))
            }
        }
        return
    }
    // Row panels per matrix: enough tasks for every core, panels of at least 16 rows.
    let panels = batch >= workers ? 1 : Swift.min(Swift.max(1, m / 16), (workers + batch - 1) / batch)
    let tasks = batch * panels
    // Row r of op(A) starts at r·ld without transpose, at column r (offset r) with it.
    let aRowStep = a.transposed ? 1 : a.ld
    Parallel.forRanges(tasks, grain: tasks / Swift.max(workers, 1)) { range in
        for task in range {
            let i = task / panels, p = task % panels
            let r0 = p * m / panels, r1 = (p + 1) * m / panels
            if r1 == r0 { continue }
            cblas_sgemm(CblasRowMajor, a.blasTrans, b.blasTrans,
                        Int32(r1 - r0), Int32(n), Int32(k), alpha,
                        a.pointer + a.batchOffsets[i] + r0 * aRowStep, Int32(a.ld),
                        b.pointer + b.batchOffsets[i], Int32(b.ld),
                        beta, c + i * cStride + r0 * ldc, Int32(ldc))
        }
    }
}

/// Products with at most this many rows in A and B transposed (a dense layer, x·Wᵀ, on a
/// sentence or a small batch) run on `gemmFewRows`.
let gemmFewRowsLimit = 64

/// C = A·Bᵀ (+ C when β = 1) for few-row A, on the dispatched kernel (CHeedKernels'
/// gemm_few_rows): Aᵀ is packed once per matrix (k × m rounded up to 16), W = B is read in
/// place, once; the columns of C are split over the cores when the product is large.
/// cblas_sgemm re-packs all of B on every call, which at m ≈ 12 costs about as much as the
/// product (all-MiniLM-L6-v2 on one sentence spent 40 % of its time in OpenBLAS's packing).
private func gemmFewRows(m: Int, n: Int, k: Int, a: GemmOperand, b: GemmOperand, beta: Float,
                         c: UnsafeMutablePointer<Float>, ldc: Int, cStride: Int) {
    let batch = a.batchOffsets.count
    let dot = m <= gemmDotRowsLimit
    let mpad = (m + 15) / 16 * 16
    let packed = dot ? nil : Tensor(uninitializedShape: [batch, k * mpad])
    for i in 0..<batch {
        if let packed {
            heed_pack_transposed(a.pointer + a.batchOffsets[i], a.ld, m, k, 1, packed.base + i * k * mpad, mpad)
        }
        if beta == 0 {
            for r in 0..<m { (c + i * cStride + r * ldc).update(repeating: 0, count: n) }
        }
    }
    let kernels = CPUDispatch.kernels.pointee
    let (broadcast, dotRows) = (kernels.gemm_few_rows!, kernels.gemm_dot_rows!)
    let large = 2 * m * n * k * batch >= gemmParallelFlops || n * k >= gemmParallelBElements
    let parts = large ? Swift.max(1, Swift.min(n / 16, (Parallel.workerCount + batch - 1) / batch)) : 1
    let xt = packed?.base
    Parallel.forRanges(batch * parts, grain: 1) { range in
        for task in range {
            let i = task / parts, p = task % parts
            let c0 = p * n / parts, c1 = (p + 1) * n / parts
            let w = b.pointer + b.batchOffsets[i] + c0 * b.ld, y = c + i * cStride + c0
            if let xt {
                broadcast(xt + i * k * mpad, mpad, m, k, w, b.ld, c1 - c0, y, ldc)
            } else {
                dotRows(a.pointer + a.batchOffsets[i], a.ld, m, k, w, b.ld, c1 - c0, y, ldc)
            }
        }
    }
    withExtendedLifetime(packed) {}
}

/// Up to this many rows, `gemmFewRows` runs the dot-product kernel (gemm_dot_rows) on X as it
/// is: measured single-threaded at k = 384, n = 1536, it took 90 µs at m = 1 where the
/// broadcast kernel, which pads the rows to 16, took 200–230; at m = 4 125–160 µs against
/// 275–340; at m = 11 the two were even, and beyond that the broadcast kernel wins.
let gemmDotRowsLimit = 4
