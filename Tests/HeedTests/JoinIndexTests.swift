import XCTest
@testable import Heed
import HeedTestSupport

/// Joining/splitting (`Tensor+Join.swift`) and integer indexing (`Tensor+Index.swift`):
/// hand-computed values, storage sharing of split views, torch.gather semantics, and gradients
/// (finite differences, and hand-computed scatter-adds where indices repeat).
final class JoinIndexTests: XCTestCase {

    func iota(_ shape: [Int]) -> Tensor { Tensor.arange(shape.reduce(1, *)).reshaped(shape) }

    // MARK: - concatenate

    func testConcatenateAlongAxes() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([7, 8, 9], shape: [1, 3])
        let c0 = Tensor.concatenate([a, b], axis: 0)
        XCTAssertEqual(c0.shape, [3, 3])
        assertClose(c0, [1, 2, 3, 4, 5, 6, 7, 8, 9], rtol: 0, atol: 0)

        let p = Tensor([10, 11], shape: [2, 1]), q = Tensor([20, 21, 22, 23], shape: [2, 2])
        let c1 = Tensor.concatenate([a, p, q], axis: 1)
        XCTAssertEqual(c1.shape, [2, 6])
        assertClose(c1, [1, 2, 3, 10, 20, 21,
                         4, 5, 6, 11, 22, 23], rtol: 0, atol: 0)

        let u = iota([2, 2, 1]), v = iota([2, 2, 3]) + 100
        let cl = Tensor.concatenate([u, v], axis: -1)
        XCTAssertEqual(cl.shape, [2, 2, 4])
        assertClose(cl, [0, 100, 101, 102,   1, 103, 104, 105,
                         2, 106, 107, 108,   3, 109, 110, 111], rtol: 0, atol: 0)
        // Middle axis of 3-D, with a size-0 piece in between.
        let m = Tensor.concatenate([iota([2, 1, 2]), Tensor.zeros([2, 0, 2]), iota([2, 2, 2]) + 10], axis: 1)
        XCTAssertEqual(m.shape, [2, 3, 2])
        assertClose(m, [0, 1, 10, 11, 12, 13,   2, 3, 14, 15, 16, 17], rtol: 0, atol: 0)
        // Non-contiguous inputs are read through their strides.
        let t = Tensor.concatenate([a.T, Tensor([-1, -2], shape: [1, 2])], axis: 0)
        assertClose(t, Tensor([1, 4, 2, 5, 3, 6, -1, -2], shape: [4, 2]), rtol: 0, atol: 0)
        let e = Tensor.concatenate([Tensor([1, 2], shape: [1, 2]).expanded([2, 2]), a.slice(axis: 1, 0..<3, step: 2)], axis: 1)
        assertClose(e, [1, 2, 1, 3, 1, 2, 4, 6], rtol: 0, atol: 0)
    }

    // MARK: - stack

    func testStackNewFirstAndLastAxis() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), b = a * 10
        let s0 = Tensor.stack([a, b])
        XCTAssertEqual(s0.shape, [2, 2, 3])
        assertClose(s0, [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], rtol: 0, atol: 0)
        let sl = Tensor.stack([a, b], axis: -1)
        XCTAssertEqual(sl.shape, [2, 3, 2])
        assertClose(sl, [1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60], rtol: 0, atol: 0)
        assertClose(Tensor.stack([a, b], axis: 2), sl, rtol: 0, atol: 0)
        let s1 = Tensor.stack([a, b, a], axis: 1)
        XCTAssertEqual(s1.shape, [2, 3, 3])
        assertClose(s1.select(axis: 0, 1), [4, 5, 6, 40, 50, 60, 4, 5, 6], rtol: 0, atol: 0)
        // Scalars stack into a vector.
        assertClose(Tensor.stack([.scalar(3), .scalar(4)]), [3, 4], rtol: 0, atol: 0)
    }

    // MARK: - split

    func testSplitReturnsViewsSharingStorage() {
        let x = iota([4, 6])
        let parts = x.split(sizes: [1, 3, 2], axis: 1)
        XCTAssertEqual(parts.map(\.shape), [[4, 1], [4, 3], [4, 2]])
        for p in parts { XCTAssertTrue(p.storage === x.storage, "split piece must be a view") }
        assertClose(parts[0], [0, 6, 12, 18], rtol: 0, atol: 0)
        assertClose(parts[1], [1, 2, 3, 7, 8, 9, 13, 14, 15, 19, 20, 21], rtol: 0, atol: 0)
        assertClose(parts[2], [4, 5, 10, 11, 16, 17, 22, 23], rtol: 0, atol: 0)
        x.base[15] = -1                               // x[2, 3] is piece 1's [2, 2]
        XCTAssertEqual(parts[1][element: [2, 2]], -1)
        parts[2].base[parts[2].strides[0] * 3 + 1] = -2    // piece 2's [3, 1] is x[3, 5]
        XCTAssertEqual(x[element: [3, 5]], -2)
        x.base[15] = 15; x.base[23] = 23             // restore iota
        // Re-joining the pieces gives x back.
        assertClose(Tensor.concatenate(parts, axis: -1), x, rtol: 0, atol: 0)

        let halves = x.split(into: 2)
        XCTAssertEqual(halves.map(\.shape), [[2, 6], [2, 6]])
        XCTAssertTrue(halves[1].storage === x.storage); XCTAssertEqual(halves[1].offset, 12)
        XCTAssertTrue(halves[1].isContiguous)
        let thirds = x.split(into: 3, axis: -1)
        XCTAssertEqual(thirds.map(\.shape), [[4, 2], [4, 2], [4, 2]])
        assertClose(thirds[2], [4, 5, 10, 11, 16, 17, 22, 23], rtol: 0, atol: 0)
        XCTAssertTrue(thirds.allSatisfy { $0.storage === x.storage })
        let withEmpty = x.split(sizes: [0, 4, 0], axis: 0)
        XCTAssertEqual(withEmpty.map(\.shape), [[0, 6], [4, 6], [0, 6]])
        // Split of a transposed view: views of the same storage.
        let tp = x.T.split(sizes: [2, 4])
        XCTAssertTrue(tp[1].storage === x.storage)
        assertClose(tp[0], [0, 6, 12, 18, 1, 7, 13, 19], rtol: 0, atol: 0)
    }

    // MARK: - Gradients through join/split

    func testGradConcatenateStackSplit() {
        gradCheck("concatenate axis 1", [rand([2, 3], 1), rand([2, 1], 2), rand([2, 2], 3)]) {
            Tensor.concatenate($0, axis: 1)
        }
        gradCheck("concatenate axis 0", [rand([1, 3], 4), rand([3, 3], 5)]) { Tensor.concatenate($0, axis: 0) }
        gradCheck("concatenate axis -1 of 3-D, transposed input", [rand([2, 2, 3], 6), rand([2, 3, 2], 7)]) {
            Tensor.concatenate([$0[0], $0[1].transposed(1, 2)], axis: -1)
        }
        gradCheck("stack axis 0", [rand([2, 3], 8), rand([2, 3], 9)]) { Tensor.stack($0) }
        gradCheck("stack axis -1", [rand([2, 3], 10), rand([2, 3], 11), rand([2, 3], 12)]) { Tensor.stack($0, axis: -1) }
        gradCheck("split sizes", [rand([3, 6], 13)]) {
            let p = $0[0].split(sizes: [1, 3, 2], axis: 1)
            return Tensor.concatenate([p[2] * p[2], p[0] * 3], axis: 1)   // piece 1 unused
        }
        gradCheck("split into", [rand([4, 3], 14)]) {
            let p = $0[0].split(into: 2)
            return p[0] * p[1] + p[0]
        }
    }

    func testHandComputedJoinGradients() {
        // Only the input that requires grad receives one; the unused split piece gets zeros.
        let a = Tensor([1, 2], shape: [1, 2]).requiringGrad()
        let b = Tensor([3, 4], shape: [1, 2])
        Tensor.concatenate([b, a], axis: 0).backward(Tensor([10, 20, 30, 40], shape: [2, 2]))
        assertClose(a.grad!, Tensor([30, 40], shape: [1, 2]), rtol: 0, atol: 0)
        XCTAssertNil(b.grad)

        let x = Tensor([1, 2, 3, 4, 5, 6]).requiringGrad()
        let p = x.split(sizes: [2, 1, 3])
        (p[0].sum() * 2 + p[2].sum() * 5).backward()
        assertClose(x.grad!, [2, 2, 0, 5, 5, 5], rtol: 0, atol: 0)

        let s = Tensor([1, 2]).requiringGrad(), t = Tensor([3, 4]).requiringGrad()
        Tensor.stack([s, t], axis: 1).backward(Tensor([1, 2, 3, 4], shape: [2, 2]))
        assertClose(s.grad!, [1, 3], rtol: 0, atol: 0); assertClose(t.grad!, [2, 4], rtol: 0, atol: 0)

        // The same tensor joined with itself: both slices of the gradient add up.
        let r = Tensor([1, 2]).requiringGrad()
        Tensor.concatenate([r, r * 3, r]).backward(Tensor([1, 2, 3, 4, 5, 6]))
        assertClose(r.grad!, [1 + 9 + 5, 2 + 12 + 6], rtol: 0, atol: 0)
    }

    // MARK: - indexSelect

    func testIndexSelectWithIntArray() {
        let x = iota([4, 3])                              // row r = [3r, 3r+1, 3r+2]
        let rows = x.indexSelect(axis: 0, [2, 0, 2])
        XCTAssertEqual(rows.shape, [3, 3])
        assertClose(rows, [6, 7, 8, 0, 1, 2, 6, 7, 8], rtol: 0, atol: 0)
        let cols = x.indexSelect(axis: 1, [2, 0, 2, 2])
        XCTAssertEqual(cols.shape, [4, 4])
        assertClose(cols.select(axis: 0, 1), [5, 3, 5, 5], rtol: 0, atol: 0)
        assertClose(x.indexSelect(axis: -1, [1]), Tensor([1, 4, 7, 10], shape: [4, 1]), rtol: 0, atol: 0)
        // From a transposed (non-contiguous) table: rows of xᵀ are columns of x.
        assertClose(x.T.indexSelect(axis: 0, [2, 1]), Tensor([2, 5, 8, 11, 1, 4, 7, 10], shape: [2, 4]), rtol: 0, atol: 0)
        // With an explicit index shape on a middle axis: [2, 4, 3] × index [2, 2] → [2, 2, 2, 3].
        let y = iota([2, 4, 3])
        let z = y.indexSelect(axis: 1, [3, 0, 0, 1], indexShape: [2, 2])
        XCTAssertEqual(z.shape, [2, 2, 2, 3])
        assertClose(z.select(axis: 0, 1).select(axis: 0, 0), [21, 22, 23, 12, 13, 14], rtol: 0, atol: 0)
    }

    func testEmbeddingLookupWithTensorIndices() {
        let table = iota([5, 3])                          // V = 5, D = 3
        let ids = Tensor([1, 3, 0, 1, 4, 1], shape: [2, 3])   // B = 2, N = 3; id 1 three times
        let e = table.indexSelect(axis: 0, ids)
        XCTAssertEqual(e.shape, [2, 3, 3])
        assertClose(e, [3, 4, 5, 9, 10, 11, 0, 1, 2,
                        3, 4, 5, 12, 13, 14, 3, 4, 5], rtol: 0, atol: 0)
        // Backward scatters-adds: row 1 collects three gradient rows, row 2 none.
        let w = table.detach().requiringGrad()
        let g = iota([2, 3, 3])                           // g[b, n, :] = 9b + 3n + [0, 1, 2]
        w.indexSelect(axis: 0, ids).backward(g)
        assertClose(w.grad!, [6, 7, 8,                    // id 0 ← g[0, 2]
                              0 + 9 + 15, 1 + 10 + 16, 2 + 11 + 17,   // id 1 ← g[0,0] + g[1,0] + g[1,2]
                              0, 0, 0,                    // id 2 unused
                              3, 4, 5,                    // id 3 ← g[0, 1]
                              12, 13, 14], rtol: 0, atol: 0)   // id 4 ← g[1, 1]
        // Repeated indices in a used-twice graph: gradients keep accumulating.
        let v = Tensor([1, 2, 3]).requiringGrad()
        let idx = Tensor([2, 2, 0, 2])
        (v.indexSelect(axis: 0, idx) * Tensor([1, 10, 100, 1000])).sum().backward()
        assertClose(v.grad!, [100, 0, 1011], rtol: 0, atol: 0)
    }

    func testGradIndexSelect() {
        gradCheck("indexSelect rows with repeats", [rand([5, 3], 20)]) { $0[0].indexSelect(axis: 0, [4, 1, 1, 0, 4]) }
        gradCheck("indexSelect cols with repeats", [rand([3, 4], 21)]) { $0[0].indexSelect(axis: 1, [3, 3, 0]) }
        gradCheck("embedding lookup", [rand([6, 4], 22)]) {
            $0[0].indexSelect(axis: 0, Tensor([5, 0, 5, 2, 2, 2], shape: [3, 2]))
        }
        gradCheck("indexSelect middle axis of transposed", [rand([4, 2, 3], 23)]) {
            $0[0].transposed(0, 2).indexSelect(axis: 1, [1, 0, 1], indexShape: [3])
        }
    }

    // MARK: - gather

    func testGatherMatchesTorchGather() {
        // torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]]))
        //   = [[1, 1], [4, 3]]   (the example in PyTorch's documentation)
        let t = Tensor([1, 2, 3, 4], shape: [2, 2])
        assertClose(t.gather(axis: 1, index: Tensor([0, 0, 1, 0], shape: [2, 2])), Tensor([1, 1, 4, 3], shape: [2, 2]), rtol: 0, atol: 0)
        // dim 0: out[i][j] = t[index[i][j]][j]; the index may be longer along the gather axis.
        assertClose(t.gather(axis: 0, index: Tensor([1, 0, 0, 0, 1, 1], shape: [3, 2])),
                    Tensor([3, 2, 1, 2, 3, 4], shape: [3, 2]), rtol: 0, atol: 0)
        // An index smaller than the input along the other axis: out[i][j] = x[i][index[i][j]].
        let x = iota([3, 4])                              // x[i][j] = 4i + j
        assertClose(x.gather(axis: 1, index: Tensor([3, 0, 0, 1, 1, 2], shape: [2, 3])),
                    Tensor([3, 0, 0, 5, 5, 6], shape: [2, 3]), rtol: 0, atol: 0)
        assertClose(x.gather(axis: 0, index: Tensor([2, 0, 1, 2], shape: [2, 2])),
                    Tensor([8, 1, 4, 9], shape: [2, 2]), rtol: 0, atol: 0)
        assertClose(x.gather(axis: -1, index: Tensor([1, 1, 1], shape: [3, 1])), Tensor([1, 5, 9], shape: [3, 1]), rtol: 0, atol: 0)
        // Through a transposed input: xᵀ[i][j] = x[j][i] = 4j + i.
        assertClose(x.T.gather(axis: 1, index: Tensor([2, 0, 1, 1], shape: [2, 2])),
                    Tensor([8, 0, 5, 5], shape: [2, 2]), rtol: 0, atol: 0)
        // A non-contiguous index is read in its own row-major order: indexᵀ = [[0, 3], [1, 3], [2, 2]].
        assertClose(x.gather(axis: 1, index: Tensor([0, 1, 2, 3, 3, 2], shape: [2, 3]).T),
                    Tensor([0, 3, 5, 7, 10, 10], shape: [3, 2]), rtol: 0, atol: 0)
        // 3-D along the middle axis: out[a][b][c] = y[a][index[a][b][c]][c].
        let y = iota([2, 3, 2])                           // y[a][b][c] = 6a + 2b + c
        assertClose(y.gather(axis: 1, index: Tensor([2, 0, 1, 1], shape: [2, 1, 2])),
                    Tensor([4, 1, 8, 9], shape: [2, 1, 2]), rtol: 0, atol: 0)
    }

    func testGatherGradientScatterAddsWithRepeats() {
        let t = Tensor([1, 2, 3, 4], shape: [2, 2]).requiringGrad()
        t.gather(axis: 1, index: Tensor([0, 0, 1, 0], shape: [2, 2])).backward(Tensor([1, 2, 3, 4], shape: [2, 2]))
        // Row 0 gathers t[0][0] twice (1 + 2); row 1 takes t[1][1] (3) and t[1][0] (4).
        assertClose(t.grad!, Tensor([3, 0, 4, 3], shape: [2, 2]), rtol: 0, atol: 0)
        let u = Tensor.zeros([2, 3]).requiringGrad()
        u.gather(axis: 0, index: Tensor([1, 0, 1, 1, 1, 1], shape: [2, 3])).backward(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))
        assertClose(u.grad!, Tensor([0, 2, 0, 5, 5, 9], shape: [2, 3]), rtol: 0, atol: 0)

        gradCheck("gather axis 1 with repeats", [rand([3, 4], 30)]) {
            $0[0].gather(axis: 1, index: Tensor([3, 3, 0, 1, 1, 1, 2, 0, 2], shape: [3, 3]))
        }
        gradCheck("gather axis 0, smaller index", [rand([3, 4], 31)]) {
            $0[0].gather(axis: 0, index: Tensor([2, 2, 0, 1, 0, 2], shape: [2, 3]))
        }
        gradCheck("gather 3-D middle axis of a permuted input", [rand([2, 4, 3], 32)]) {
            $0[0].permuted([0, 2, 1]).gather(axis: 1, index: Tensor([0, 2, 2, 1, 1, 0, 2, 2], shape: [2, 2, 2]))
        }
    }
}
