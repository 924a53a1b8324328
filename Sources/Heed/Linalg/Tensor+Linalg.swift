import CBLAS

/// Dense linear algebra on 2-D tensors through LAPACKE: SVD, QR, linear solve and inverse.
///
/// Every routine works on a fresh row-major copy of its input (LAPACK overwrites its arguments;
/// Heed ops never mutate their inputs). Wrong shapes are programmer errors and stop with a
/// `check`; failures that depend on the values (a singular matrix, NaN in the input, an
/// SVD that does not converge) throw a `LinalgError`.

/// Why a linear-algebra routine could not produce a result for the values it was given.
public enum LinalgError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The LU factorisation found U[pivot, pivot] (0-based) exactly zero: the matrix is singular.
    case singular(op: String, pivot: Int)
    /// The SVD's iteration did not converge.
    case noConvergence(op: String)
    /// The input holds NaN or ±infinity.
    case nonFinite(op: String)
    /// LAPACKE returned `info` < 0: an illegal argument (a bug in Heed) or no memory for its workspace.
    case lapackFailure(op: String, info: Int)

    public var description: String {
        switch self {
        case let .singular(op, pivot):
            return "\(op): the matrix is singular (U[\(pivot), \(pivot)] of its LU factorisation is exactly zero)"
        case let .noConvergence(op):
            return "\(op): the singular value iteration did not converge"
        case let .nonFinite(op):
            return "\(op): the input contains NaN or infinity"
        case let .lapackFailure(op, info):
            let reason = info == Int(LAPACK_WORK_MEMORY_ERROR) || info == Int(LAPACK_TRANSPOSE_MEMORY_ERROR)
                ? "out of memory for the LAPACK workspace" : "LAPACK rejected argument \(-info)"
            return "\(op): \(reason) (info \(info))"
        }
    }
}

/// The shapes `qr` returns for an [m, n] matrix, k = min(m, n), as in `numpy.linalg.qr`.
public enum QRMode: Sendable {
    /// Q [m, k] with orthonormal columns, R [k, n].
    case reduced
    /// Q [m, m] orthogonal, R [m, n] (rows past k are zero).
    case complete
}

extension Tensor {
    /// The singular value decomposition A = U·diag(S)·Vt of a 2-D [m, n] tensor, k = min(m, n).
    /// Thin by default: U [m, k], S [k], Vt [k, n]; with `fullMatrices`, U [m, m] and Vt [n, n].
    /// S is non-negative and descending. LAPACK's divide-and-conquer `sgesdd`.
    ///
    /// Not differentiable: the results are plain tensors with no autograd history (the SVD's
    /// gradient is undefined where singular values repeat).
    public func svd(fullMatrices: Bool = false) throws -> (u: Tensor, s: Tensor, vt: Tensor) {
        check(rank == 2, "svd: expected a 2-D matrix, got shape \(shape)")
        let m = shape[0], n = shape[1], k = Swift.min(m, n)
        let (uCols, vtRows) = fullMatrices ? (m, n) : (k, k)
        let s = Tensor(uninitializedShape: [k])
        // LAPACK returns at once for an empty matrix and would leave the full U and Vt unset.
        if k == 0 { return (.identity(m, uCols), s, .identity(vtRows, n)) }
        let a = try lapackCopy("svd")
        let u = Tensor(uninitializedShape: [m, uCols]), vt = Tensor(uninitializedShape: [vtRows, n])
        let info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, lapackChar(fullMatrices ? "A" : "S"),
                                  Int32(m), Int32(n), a.base, Int32(n), s.base,
                                  u.base, Int32(uCols), vt.base, Int32(n))
        if info > 0 { throw LinalgError.noConvergence(op: "svd") }
        try checkInfo(info, "svd")
        return (u, s, vt)
    }

    /// The QR factorisation A = Q·R of a 2-D [m, n] tensor by Householder reflections
    /// (`sgeqrf`, then `sorgqr` to form Q). Q's columns are orthonormal to float precision and
    /// R is upper triangular with exact zeros below the diagonal; R's diagonal may be negative
    /// (LAPACK's sign convention). Not differentiable.
    public func qr(mode: QRMode = .reduced) throws -> (q: Tensor, r: Tensor) {
        check(rank == 2, "qr: expected a 2-D matrix, got shape \(shape)")
        let m = shape[0], n = shape[1], k = Swift.min(m, n)
        let qCols = mode == .complete ? m : k, rRows = mode == .complete ? m : k
        // After sgeqrf: R on and above the diagonal of `a`, the reflectors below it.
        let a = try lapackCopy("qr")
        let tau = Tensor(uninitializedShape: [k])
        if k > 0 { try checkInfo(LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a.base, Int32(n), tau.base), "qr") }
        let r = Tensor.zeros([rRows, n]), q = Tensor.zeros([m, qCols])
        let pa = a.base, pr = r.base, pq = q.base
        for i in 0..<k { for j in i..<n { pr[i * n + j] = pa[i * n + j] } }
        // sorgqr builds Q in place from the k reflector columns; a complete Q needs m columns of room.
        for i in 0..<m { for j in 0..<k { pq[i * qCols + j] = pa[i * n + j] } }
        if m > 0 && qCols > 0 {
            try checkInfo(LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(qCols), Int32(k),
                                         pq, Int32(qCols), tau.base), "qr")
        }
        return (q, r)
    }

    /// x with A·x = b, for a square A [n, n] (`self`) and b [n] or [n, k]; x has b's shape.
    /// LU with partial pivoting (`sgesv`). Throws `.singular` when a pivot is exactly zero; a
    /// nearly singular A gives a large, inaccurate x instead (no condition number is estimated).
    ///
    /// Differentiable in A and b: db = A⁻ᵀ·g, solved with the LU factors saved from the forward
    /// (no second factorisation), and dA = −db·xᵀ.
    public func solve(_ b: Tensor) throws -> Tensor {
        check(rank == 2 && shape[0] == shape[1], "solve: A of shape \(shape) is not a square matrix")
        check((b.rank == 1 || b.rank == 2) && b.shape[0] == shape[0],
              "solve: b of shape \(b.shape) does not match A of shape \(shape)")
        let a = self, n = shape[0], nrhs = b.rank == 1 ? 1 : b.shape[1]
        let lu = try lapackCopy("solve")   // A's LU factors once sgesv returns
        let x = try b.lapackCopy("solve")  // b in, x out
        var pivots = [Int32](repeating: 0, count: n)
        let info = LAPACKE_sgesv(LAPACK_ROW_MAJOR, Int32(n), Int32(nrhs), lu.base, Int32(Swift.max(n, 1)),
                                 &pivots, x.base, Int32(Swift.max(nrhs, 1)))
        try checkLU(info, "solve")
        return x.recorded("solve", [a, b]) { g in
            let db = luSolveTransposed(lu, pivots, g)            // Aᵀ·db = g
            let dA = a.requiresGrad ? -(db.reshaped([n, nrhs]) • x.reshaped([n, nrhs]).T) : nil
            return [dA, b.requiresGrad ? db : nil]
        }
    }

    /// A⁻¹ for a square A [n, n] (`self`), by LU (`sgetrf`) and `sgetri`. Throws `.singular` when
    /// a pivot is exactly zero. Prefer `solve` to multiplying by the inverse: it is cheaper and
    /// more accurate.
    ///
    /// Differentiable: d(A⁻¹) = −A⁻¹·dA·A⁻¹, so dA = −A⁻ᵀ·g·A⁻ᵀ.
    public func inverse() throws -> Tensor {
        check(rank == 2 && shape[0] == shape[1], "inverse: A of shape \(shape) is not a square matrix")
        let a = self, n = shape[0]
        let inv = try lapackCopy("inverse")
        if n > 0 {
            var pivots = [Int32](repeating: 0, count: n)
            try checkLU(LAPACKE_sgetrf(LAPACK_ROW_MAJOR, Int32(n), Int32(n), inv.base, Int32(n), &pivots), "inverse")
            try checkLU(LAPACKE_sgetri(LAPACK_ROW_MAJOR, Int32(n), inv.base, Int32(n), pivots), "inverse")
        }
        return inv.recorded("inverse", [a]) { g in
            let t = inv.T
            return [-(t • g • t)]
        }
    }

    /// A fresh contiguous copy, free of autograd history, for LAPACK to overwrite. Non-finite
    /// values are rejected here: LAPACKE's own NaN scan would report them as an "illegal
    /// argument", and it lets ±infinity through to produce garbage.
    fileprivate func lapackCopy(_ op: String) throws -> Tensor {
        BLASSetup.prepare()   // every LAPACK call starts from a copy made here
        let out = Tensor(uninitializedShape: shape)
        copyStrided(from: self, to: out)
        let p = out.base
        for i in 0..<out.count where !p[i].isFinite { throw LinalgError.nonFinite(op: op) }
        return out
    }

    /// The [rows, cols] matrix with ones on the main diagonal and zeros elsewhere.
    static func identity(_ rows: Int, _ cols: Int) -> Tensor {
        let t = Tensor.zeros([rows, cols])
        for i in 0..<Swift.min(rows, cols) { t.base[i * cols + i] = 1 }
        return t
    }
}

/// Solves Aᵀ·X = rhs with the LU factors and pivots that `sgesv` left behind, rhs [n] or [n, k].
/// The `_work` variant skips LAPACKE's NaN scan, so a NaN gradient flows through as NaN, as it
/// does through every other op, instead of failing inside a backward pass that cannot throw.
private func luSolveTransposed(_ lu: Tensor, _ pivots: [Int32], _ rhs: Tensor) -> Tensor {
    let n = lu.shape[0], nrhs = rhs.rank == 1 ? 1 : rhs.shape[1]
    let x = Tensor(uninitializedShape: rhs.shape)
    copyStrided(from: rhs, to: x)
    let info = LAPACKE_sgetrs_work(LAPACK_ROW_MAJOR, lapackChar("T"), Int32(n), Int32(nrhs), lu.base,
                                   Int32(Swift.max(n, 1)), pivots, x.base, Int32(Swift.max(nrhs, 1)))
    check(info == 0, "solve (backward): sgetrs failed with info \(info)")
    return x
}

/// info > 0 from an LU routine: U[info−1, info−1] is exactly zero.
private func checkLU(_ info: Int32, _ op: String) throws {
    if info > 0 { throw LinalgError.singular(op: op, pivot: Int(info) - 1) }
    try checkInfo(info, op)
}

private func checkInfo(_ info: Int32, _ op: String) throws {
    if info < 0 { throw LinalgError.lapackFailure(op: op, info: Int(info)) }
}

private func lapackChar(_ c: Unicode.Scalar) -> CChar { CChar(UInt8(ascii: c)) }
