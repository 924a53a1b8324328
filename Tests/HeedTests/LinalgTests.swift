import XCTest
@testable import Heed
import HeedTestSupport

/// Tolerances: Float32 has eps ≈ 1.2e-7, and the LAPACK routines used are backward stable, so a
/// residual like ‖U·S·Vt − A‖ or ‖QᵀQ − I‖ is about c·n·eps·‖A‖ with c·n well under 100 for
/// these sizes (entries of A are O(1)). rtol 1e-4 / atol 1e-5 sits above that and far below
/// the size of any real error.
private let rtol: Float = 1e-4
private let atol: Float = 1e-5

/// A well-conditioned square matrix: uniform [−1, 1) entries plus 3·I (diagonally dominant
/// for these small sizes, so the condition number stays small).
private func wellConditioned(_ n: Int, _ seed: UInt64) -> Tensor {
    rand([n, n], seed) + 3 * Tensor.identity(n, n)
}

/// The [m, n] shapes every factorisation is tried on: square, tall, wide, vectors, 1×1.
private let shapes: [[Int]] = [[4, 4], [7, 3], [3, 7], [1, 1], [1, 5], [6, 1]]

final class LinalgTests: XCTestCase {

    // MARK: SVD

    func testSVDKnownSingularValues() throws {
        // AᵀA = [[25, 20], [20, 25]] has eigenvalues 45 and 5.
        let (_, s, _) = try Tensor([3, 0, 4, 5], shape: [2, 2]).svd()
        assertClose(s, [Float(45).squareRoot(), Float(5).squareRoot()], rtol: rtol, atol: atol, "S of [[3,0],[4,5]]")

        // diag(3, 2, 1) between two rotations (3-4-5 triangles, exact in binary up to rounding).
        let r1 = Tensor([0.6, -0.8, 0, 0.8, 0.6, 0, 0, 0, 1], shape: [3, 3])
        let r2 = Tensor([1, 0, 0, 0, 0.8, -0.6, 0, 0.6, 0.8], shape: [3, 3])
        let a = r1 • Tensor([3, 0, 0, 0, 2, 0, 0, 0, 1], shape: [3, 3]) • r2
        assertClose(try a.svd().s, [3, 2, 1], rtol: rtol, atol: atol, "S of rotated diag(3, 2, 1)")
    }

    func testSVDThinReconstructs() throws {
        for (i, shape) in shapes.enumerated() {
            let (m, n) = (shape[0], shape[1]), k = min(m, n)
            let a = rand(shape, 10 + UInt64(i))
            let (u, s, vt) = try a.svd()
            XCTAssertEqual([u.shape, s.shape, vt.shape], [[m, k], [k], [k, n]], "thin SVD shapes of \(shape)")
            assertDescendingNonNegative(s, "S of \(shape)")
            assertClose(u.T • u, .identity(k, k), rtol: rtol, atol: atol, "UᵀU of \(shape)")
            assertClose(vt • vt.T, .identity(k, k), rtol: rtol, atol: atol, "Vt·Vtᵀ of \(shape)")
            assertClose((u * s) • vt, a, rtol: rtol, atol: atol, "U·diag(S)·Vt of \(shape)")
        }
    }

    func testSVDFullReconstructs() throws {
        for (i, shape) in shapes.enumerated() {
            let (m, n) = (shape[0], shape[1]), k = min(m, n)
            let a = rand(shape, 20 + UInt64(i))
            let (u, s, vt) = try a.svd(fullMatrices: true)
            XCTAssertEqual([u.shape, s.shape, vt.shape], [[m, m], [k], [n, n]], "full SVD shapes of \(shape)")
            assertDescendingNonNegative(s, "S of \(shape)")
            assertClose(u.T • u, .identity(m, m), rtol: rtol, atol: atol, "UᵀU of \(shape)")
            assertClose(vt • vt.T, .identity(n, n), rtol: rtol, atol: atol, "Vt·Vtᵀ of \(shape)")
            // Only the first k columns of U and rows of Vt meet a singular value.
            let product = (u.slice(axis: 1, 0..<k) * s) • vt.slice(axis: 0, 0..<k)
            assertClose(product, a, rtol: rtol, atol: atol, "U·diag(S)·Vt of \(shape)")
        }
    }

    func testSVDOfViewLeavesInputAloneAndRecordsNoGraph() throws {
        let a = rand([3, 5], 30).requiringGrad()
        let before = a.scalars
        let (_, s, _) = try a.svd()
        let (_, st, _) = try a.T.svd()   // a strided view: same singular values
        XCTAssertEqual(a.scalars, before, "svd must not modify its input")
        assertClose(st, s, rtol: rtol, atol: atol, "S of Aᵀ")
        XCTAssertFalse(s.requiresGrad, "svd results carry no autograd history")
    }

    func testEmptyMatrices() throws {
        let (u, s, vt) = try Tensor.zeros([0, 3]).svd(fullMatrices: true)
        XCTAssertEqual([u.shape, s.shape, vt.shape], [[0, 0], [0], [3, 3]])
        assertClose(vt, .identity(3, 3), "Vt of an empty matrix")
        let (q, r) = try Tensor.zeros([3, 0]).qr(mode: .complete)
        XCTAssertEqual([q.shape, r.shape], [[3, 3], [3, 0]])
        assertClose(q, .identity(3, 3), "Q of an empty matrix")
        XCTAssertEqual(try Tensor.zeros([0, 0]).inverse().shape, [0, 0])
    }

    // MARK: QR

    func testQRHandComputed() throws {
        // First column [3, 4] has norm 5; the second, [1, 2], projects to 2.2 on it and leaves
        // a residual of norm 0.4. LAPACK picks the signs, so compare magnitudes.
        let a = Tensor([3, 1, 4, 2], shape: [2, 2])
        let (q, r) = try a.qr()
        assertClose(r.abs(), [5, 2.2, 0, 0.4], rtol: rtol, atol: atol, "|R|")
        assertClose(q • r, a, rtol: rtol, atol: atol, "QR")
    }

    func testQRReconstructsBothModes() throws {
        for mode in [QRMode.reduced, .complete] {
            for (i, shape) in shapes.enumerated() {
                let (m, n) = (shape[0], shape[1]), k = min(m, n)
                let a = rand(shape, 40 + UInt64(i))
                let (q, r) = try a.qr(mode: mode)
                let qCols = mode == .complete ? m : k
                XCTAssertEqual([q.shape, r.shape], [[m, qCols], [qCols, n]], "\(mode) QR shapes of \(shape)")
                assertClose(q.T • q, .identity(qCols, qCols), rtol: rtol, atol: atol, "QᵀQ of \(shape), \(mode)")
                assertClose(q • r, a, rtol: rtol, atol: atol, "QR of \(shape), \(mode)")
                for row in 0..<r.shape[0] {
                    for col in 0..<min(row, n) {
                        XCTAssertEqual(r[element: [row, col]], 0, "R[\(row), \(col)] below the diagonal, \(shape), \(mode)")
                    }
                }
            }
        }
    }

    /// Orthogonal initialisation relies on this: Q of a weight-sized matrix is orthonormal to
    /// float precision. Measured max |QᵀQ − I| ≈ 8e-7 (7 eps) at 256×128 with OpenBLAS 0.3.21;
    /// the bound m·eps ≈ 3e-5 is loose, so 5e-6 still catches a Q that is merely "nearly" orthogonal.
    func testQROrthonormalAtWeightSize() throws {
        let (q, _) = try Tensor.randomNormal([256, 128], seed: 50).qr()
        assertClose(q.T • q, .identity(128, 128), rtol: 0, atol: 5e-6, "QᵀQ of a 256×128 Q")
        let (qc, _) = try Tensor.randomNormal([128, 128], seed: 51).qr(mode: .complete)
        assertClose(qc • qc.T, .identity(128, 128), rtol: 0, atol: 5e-6, "QQᵀ of a 128×128 Q")
    }

    // MARK: solve and inverse

    func testSolveHandComputed() throws {
        // 2x + y = 3, x + 3y = 5 → (0.8, 1.4); with right-hand side (1, 2) → (0.2, 0.6).
        let a = Tensor([2, 1, 1, 3], shape: [2, 2])
        assertClose(try a.solve(Tensor([3, 5])), [0.8, 1.4], rtol: rtol, atol: atol, "x for b [2]")
        assertClose(try a.solve(Tensor([3, 1, 5, 2], shape: [2, 2])), [0.8, 0.2, 1.4, 0.6],
                    rtol: rtol, atol: atol, "x for b [2, 2]")
    }

    func testSolveRandomSatisfiesSystem() throws {
        let a = wellConditioned(6, 60)
        let (aBefore, b) = (a.scalars, rand([6, 4], 61))
        let bBefore = b.scalars
        let x = try a.solve(b)
        XCTAssertEqual(x.shape, [6, 4])
        assertClose(a • x, b, rtol: rtol, atol: atol, "A·x for b [6, 4]")
        XCTAssertEqual(a.scalars, aBefore, "solve must not modify A")
        XCTAssertEqual(b.scalars, bBefore, "solve must not modify b")
        let v = rand([6], 62)
        assertClose(a • (try a.solve(v)), v, rtol: rtol, atol: atol, "A·x for b [6]")
        // A transposed view is solved as the matrix it shows.
        assertClose(a.T • (try a.T.solve(b)), b, rtol: rtol, atol: atol, "Aᵀ·x for a strided A")
    }

    func testInverse() throws {
        // [[4, 7], [2, 6]] has determinant 10.
        let inv = try Tensor([4, 7, 2, 6], shape: [2, 2]).inverse()
        assertClose(inv, [0.6, -0.7, -0.2, 0.4], rtol: rtol, atol: atol, "inverse of [[4,7],[2,6]]")
        let a = wellConditioned(5, 70)
        let ai = try a.inverse()
        assertClose(ai • a, .identity(5, 5), rtol: rtol, atol: atol, "A⁻¹·A")
        assertClose(a • ai, .identity(5, 5), rtol: rtol, atol: atol, "A·A⁻¹")
    }

    func testSolveGradient() {
        gradCheck("solve, b [4, 3]", [wellConditioned(4, 80), rand([4, 3], 81)]) { try! $0[0].solve($0[1]) }
        gradCheck("solve, b [4]", [wellConditioned(4, 82), rand([4], 83)]) { try! $0[0].solve($0[1]) }
        gradCheck("solve, Aᵀ", [wellConditioned(3, 84), rand([3, 2], 85)]) { try! $0[0].T.solve($0[1]) }
    }

    func testInverseGradient() {
        gradCheck("inverse", [wellConditioned(4, 90)]) { try! $0[0].inverse() }
        // Through a composition, so the incoming gradient is not the plain seed.
        gradCheck("inverse composed", [wellConditioned(3, 91), rand([3, 3], 92)]) {
            (try! $0[0].inverse() • $0[1]).tanh()
        }
    }

    // MARK: errors

    func testSingularMatrixThrows() {
        // Rows (1, 2) and (2, 4): after pivoting on 2, the second pivot is 2 − 0.5·4 = 0 exactly.
        let a = Tensor([1, 2, 2, 4], shape: [2, 2])
        XCTAssertThrowsError(try a.solve(Tensor([1, 1]))) { error in
            XCTAssertEqual(error as? LinalgError, .singular(op: "solve", pivot: 1))
        }
        XCTAssertThrowsError(try a.inverse()) { error in
            XCTAssertEqual(error as? LinalgError, .singular(op: "inverse", pivot: 1))
            XCTAssertEqual("\(error)", "inverse: the matrix is singular (U[1, 1] of its LU factorisation is exactly zero)")
        }
        XCTAssertThrowsError(try Tensor.zeros([3, 3]).inverse()) { error in
            XCTAssertEqual(error as? LinalgError, .singular(op: "inverse", pivot: 0))
        }
    }

    func testNonFiniteInputThrows() {
        let a = Tensor([1, .nan, 0, 1], shape: [2, 2])
        let b = Tensor([1, .infinity])
        let identity = Tensor.identity(2, 2)
        XCTAssertThrowsError(try a.svd()) { XCTAssertEqual($0 as? LinalgError, .nonFinite(op: "svd")) }
        XCTAssertThrowsError(try a.qr()) { XCTAssertEqual($0 as? LinalgError, .nonFinite(op: "qr")) }
        XCTAssertThrowsError(try a.inverse()) { XCTAssertEqual($0 as? LinalgError, .nonFinite(op: "inverse")) }
        XCTAssertThrowsError(try identity.solve(b)) { XCTAssertEqual($0 as? LinalgError, .nonFinite(op: "solve")) }
    }

    // MARK: helpers

    private func assertDescendingNonNegative(_ s: Tensor, _ name: String,
                                             file: StaticString = #filePath, line: UInt = #line) {
        let v = s.scalars
        XCTAssertTrue(v.allSatisfy { $0 >= 0 }, "\(name): negative singular value in \(v)", file: file, line: line)
        XCTAssertTrue(zip(v, v.dropFirst()).allSatisfy { $0 >= $1 }, "\(name): not descending: \(v)", file: file, line: line)
    }
}
