import XCTest
@testable import Heed
import HeedTestSupport

/// matmul through cblas_sgemm against the plain triple loop of `Reference.matmul`.
final class MatmulTests: XCTestCase {
    /// float32 dot products of length k carry ≈ k·ε relative rounding; the oracle sums in Double.
    func tolerance(_ k: Int) -> Float { 2e-6 * Float(max(k, 1)).squareRoot() + 1e-6 }

    func testHandComputed() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([7, 8, 9, 10, 11, 12], shape: [3, 2])
        assertClose(a.matmul(b), [58, 64, 139, 154], "a·b")
        assertClose(a • b, [58, 64, 139, 154], "a • b")
    }

    /// All four transpose combinations, reached as views (BLAS receives CblasTrans, no copy).
    func testTransposeCombinationsAndAwkwardSizes() {
        let sizes = [1, 3, 17, 129]
        var seed: UInt64 = 10
        for m in sizes { for k in sizes { for n in [1, 17, 129] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                seed += 1
                let a = ta ? rand([k, m], seed).transposed() : rand([m, k], seed)
                let b = tb ? rand([n, k], seed + 1000).transposed() : rand([k, n], seed + 1000)
                XCTAssertNotNil(a.blasLayout(), "a view must reach BLAS without a copy")
                XCTAssertNotNil(b.blasLayout(), "b view must reach BLAS without a copy")
                assertClose(a.matmul(b), Reference.matmul(a, b), rtol: 1e-5, atol: tolerance(k),
                            "matmul m=\(m) k=\(k) n=\(n) transA=\(ta) transB=\(tb)")
            }
        } } }
    }

    func testNonSquareStridedViews() {
        // A row-sliced and a column-sliced operand: leading dimension larger than the row length.
        let big = rand([10, 40], 3)
        let a = big.slice(axis: 1, 5..<22)              // [10, 17], ld 40
        let b = rand([30, 25], 4).slice(axis: 0, 2..<19).slice(axis: 1, 3..<24)  // [17, 21]
        assertClose(a.matmul(b), Reference.matmul(a, b), atol: tolerance(17), "sliced operands")
        // Stepped slice: no unit stride in either axis → copied, still correct.
        let c = rand([10, 34], 5).slice(axis: 1, 0..<34, step: 2)
        XCTAssertNil(c.blasLayout())
        assertClose(c.matmul(b), Reference.matmul(c, b), atol: tolerance(17), "stepped slice")
    }

    func testBatchedAndBroadcast() {
        let a = rand([2, 3, 5, 7], 6), b = rand([2, 3, 7, 4], 7)
        assertClose(a.matmul(b), Reference.matmul(a, b), atol: tolerance(7), "batched")
        let shared = rand([7, 4], 8)                    // broadcast over both batch axes
        assertClose(a.matmul(shared), Reference.matmul(a, shared.reshaped([1, 7, 4])).reshaped([2, 3, 5, 4]),
                    atol: tolerance(7), "broadcast right operand")
        let c = rand([3, 1, 5, 7], 9), d = rand([4, 7, 2], 10) // [3,1] × [4] → [3,4]
        assertClose(c.matmul(d), Reference.matmul(c, d), atol: tolerance(7), "broadcast batch axes")
        // Batched transposed views (the Kᵀ of attention).
        let q = rand([2, 3, 6, 8], 11), k = rand([2, 3, 9, 8], 12)
        assertClose(q.matmul(k.transposed()), Reference.matmul(q, k.transposed()), atol: tolerance(8), "Q·Kᵀ")
    }

    /// Few rows and many columns (a dense layer on one short sentence) split the columns of B
    /// over the cores instead of the rows of A: every transpose combination, odd widths.
    func testFewRowsSplitColumns() {
        for (m, k, n) in [(1, 384, 1536), (3, 512, 1029), (12, 384, 1153)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = ta ? rand([k, m], UInt64(m + k)).transposed() : rand([m, k], UInt64(m + k))
                let b = tb ? rand([n, k], UInt64(n)).transposed() : rand([k, n], UInt64(n))
                XCTAssertGreaterThanOrEqual(n * k, gemmParallelBElements, "large enough to run on every core")
                assertClose(a.matmul(b), Reference.matmul(a, b), rtol: 1e-5, atol: tolerance(k),
                            "m=\(m) k=\(k) n=\(n) transA=\(ta) transB=\(tb)")
            }
        }
    }

    /// A·Bᵀ with at most 64 rows (a dense layer on a sentence or a small batch) runs on the
    /// dispatched few-rows kernel: every level, row counts around the vector widths, widths off
    /// the register tile, a row stride wider than the row, a batch, and β = 1 through `linear`.
    func testFewRowsKernelAtEveryLevel() {
        for level in CPUDispatch.runnableLevels {
            CPUDispatch.withLevel(level) {
                for (m, k, n) in [(1, 7, 5), (1, 16, 1), (3, 50, 35), (4, 384, 515), (5, 33, 13), (16, 64, 70), (17, 100, 130),
                                  (64, 384, 1153), (40, 3, 2)] {
                    let a = rand([m, k + 3], UInt64(m * k)).slice(axis: 1, 1..<(k + 1))   // row stride k + 3
                    let w = rand([n, k], UInt64(n + k)), bias = rand([n], UInt64(n))
                    let label = "\(level) m=\(m) k=\(k) n=\(n)"
                    assertClose(a.matmul(w.transposed()), Reference.matmul(a, w.transposed()), rtol: 1e-5,
                                atol: tolerance(k), "\(label) A·Wᵀ")
                    assertClose(a.linear(weight: w, bias: bias), Reference.matmul(a, w.transposed()) + bias, rtol: 1e-5,
                                atol: tolerance(k), "\(label) linear")
                    let ab = rand([2, m, k], UInt64(m + 1)), wb = rand([2, n, k], UInt64(n + 1))
                    assertClose(ab.matmul(wb.transposed()), Reference.matmul(ab, wb.transposed()), rtol: 1e-5,
                                atol: tolerance(k), "\(label) batched")
                }
            }
        }
    }

    /// `linear` is x·Wᵀ + b in one op (bias rows first, then a β = 1 GEMM).
    func testLinear() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let w = Tensor([1, 0, -1, 2, 1, 0], shape: [2, 3]), b = Tensor([10, 20])
        assertClose(x.linear(weight: w, bias: b), [1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20], "hand-computed")
        for (shape, out) in [([5, 7], 9), ([2, 3, 17], 129), ([4, 1, 64], 1536), ([1, 384], 1536)] {
            let x = rand(shape, UInt64(out)), w = rand([out, shape.last!], 7), b = rand([out], 8)
            let expected = Reference.matmul(x.reshaped([-1, shape.last!]), w.transposed()) + b
            assertClose(x.linear(weight: w, bias: b), expected.reshaped(Array(shape.dropLast()) + [out]),
                        atol: tolerance(shape.last!), "linear \(shape) → \(out)")
            assertClose(x.linear(weight: w), Reference.matmul(x.reshaped([-1, shape.last!]), w.transposed())
                        .reshaped(Array(shape.dropLast()) + [out]), atol: tolerance(shape.last!), "no bias")
        }
        // A transposed (strided) input reaches BLAS as a transpose.
        let xt = rand([6, 4], 30).transposed()
        let w2 = rand([5, 6], 31), b2 = rand([5], 32)
        assertClose(xt.linear(weight: w2, bias: b2), Reference.matmul(xt, w2.transposed()) + b2, atol: tolerance(6), "xᵀ")
        gradCheck("linear", [rand([2, 3, 4], 33), rand([5, 4], 34), rand([5], 35)]) {
            $0[0].linear(weight: $0[1], bias: $0[2])
        }
        gradCheck("linear, transposed input", [rand([4, 3], 36), rand([5, 4], 37), rand([5], 38)]) {
            $0[0].transposed().linear(weight: $0[1], bias: $0[2])
        }
    }

    func testVectorOperands() {
        let m = rand([4, 3], 13), v = rand([3], 14), u = rand([4], 15)
        assertClose(m.matmul(v), Reference.matmul(m, v.reshaped([3, 1])).reshaped([4]), "matrix·vector")
        assertClose(u.matmul(m), Reference.matmul(u.reshaped([1, 4]), m).reshaped([3]), "vector·matrix")
        let dot = v.matmul(v)
        XCTAssertEqual(dot.shape, [])
        XCTAssertEqual(dot.item, v.scalars.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-5)
    }

    func testEmptyInnerDimensionGivesZeros() {
        let a = Tensor.zeros([3, 0]), b = Tensor.zeros([0, 2])
        assertClose(a.matmul(b), [Float](repeating: 0, count: 6), "k = 0")
    }

    func testGradients() {
        gradCheck("matmul", [rand([3, 4], 20), rand([4, 5], 21)]) { $0[0].matmul($0[1]) }
        gradCheck("matmul transposed views", [rand([4, 3], 22), rand([5, 4], 23)]) {
            $0[0].transposed().matmul($0[1].transposed())
        }
        gradCheck("batched broadcast matmul", [rand([2, 3, 4], 24), rand([4, 2], 25)]) { $0[0].matmul($0[1]) }
        gradCheck("matrix·vector", [rand([3, 4], 26), rand([4], 27)]) { $0[0].matmul($0[1]) }
        gradCheck("vector·vector", [rand([5], 28), rand([5], 29)]) { $0[0].matmul($0[1]) }
    }
}
