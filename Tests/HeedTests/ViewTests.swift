import XCTest
@testable import Heed
import HeedTestSupport

/// Views (`Tensor+View.swift`): shapes, strides, hand-computed element values, storage sharing
/// (a view is `===` on `.storage` and a write through one shows in the other), and gradients.
final class ViewTests: XCTestCase {

    /// 0, 1, 2, … in `shape`: every element names its own row-major position.
    func iota(_ shape: [Int]) -> Tensor { Tensor.arange(shape.reduce(1, *)).reshaped(shape) }

    /// Asserts that `a` and `b` share storage and that a write through `a` (at multi-index `ia`)
    /// is visible through `b` (at `ib`).
    func assertSharesStorage(_ a: Tensor, _ ia: [Int], _ b: Tensor, _ ib: [Int], _ name: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(a.storage === b.storage, "\(name): storage not shared", file: file, line: line)
        let o = zip(ia, a.strides).reduce(0) { $0 + $1.0 * $1.1 }
        let old = a.base[o]
        a.base[o] = 1234.5
        XCTAssertEqual(b[element: ib], 1234.5, "\(name): write through one view not seen in the other", file: file, line: line)
        a.base[o] = old
    }

    // MARK: - reshaped

    func testReshapeContiguousIsAViewIncludingInferredSize() {
        let x = iota([2, 3, 4])
        let a = x.reshaped([4, -1])
        XCTAssertEqual(a.shape, [4, 6]); XCTAssertEqual(a.strides, [6, 1])
        assertClose(a, (0..<24).map(Float.init), rtol: 0, atol: 0)
        XCTAssertEqual(a[element: [2, 5]], 17)
        assertSharesStorage(x, [1, 0, 2], a, [2, 2], "reshape [4,-1]")   // 1·12 + 2 = 14 = 2·6 + 2
        let flat = x.reshaped([-1])
        XCTAssertEqual(flat.shape, [24]); XCTAssertTrue(flat.storage === x.storage)
        XCTAssertEqual(x.reshaped([2, -1, 2]).shape, [2, 6, 2])
        XCTAssertTrue(x.reshaped([2, 3, 4]) === x, "reshape to the same shape returns self")
        // On a contiguous window at an offset, the view keeps the offset.
        let w = x[1].reshaped([3, 2, 2])
        XCTAssertEqual(w.offset, 12); XCTAssertEqual(w[element: [2, 1, 0]], 22)
    }

    func testReshapeOfTransposedViewsWhenStridesAllowAndCopiesOtherwise() {
        let x = iota([3, 4])                    // x[i, j] = 4i + j
        let t = x.T                             // [4, 3], strides [1, 4]: t[i, j] = 4j + i
        XCTAssertEqual(t.strides, [1, 4])
        // Splitting t's first axis (4 = 2·2) keeps each old axis whole: a view.
        let v = t.reshaped([2, 2, 3])
        XCTAssertEqual(v.strides, [2, 1, 4])
        XCTAssertTrue(v.storage === x.storage, "split of a transposed axis should be a view")
        assertClose(v, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], rtol: 0, atol: 0)
        assertSharesStorage(x, [2, 3], v, [1, 1, 2], "reshape of transpose")   // t[3, 2] = x[2, 3]
        // Merging t's two axes needs them adjacent in memory, which they are not: a copy.
        let c = t.reshaped([12])
        XCTAssertFalse(c.storage === x.storage, "merging transposed axes must copy")
        assertClose(c, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], rtol: 0, atol: 0)
        x.base[0] = 99
        XCTAssertEqual(c[element: [0]], 0, "a copy must not see later writes")
        x.base[0] = 0
        // A step-sliced view: rows of 6 taking every 2nd column → [4, 3], strides [6, 2].
        let s = iota([4, 6]).slice(axis: 1, 0..<6, step: 2)
        let sv = s.reshaped([2, 2, 3])          // splits the row axis only: a view
        XCTAssertEqual(sv.strides, [12, 6, 2]); XCTAssertTrue(sv.storage === s.storage)
        assertClose(sv, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22], rtol: 0, atol: 0)
        // Merging is a view too: stride 6 = 2·3, so the 12 elements are evenly spaced by 2.
        let sf = s.reshaped([12])
        XCTAssertEqual(sf.strides, [2]); XCTAssertTrue(sf.storage === s.storage)
        assertClose(sf, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22], rtol: 0, atol: 0)
        // Every 2nd of the first 4 columns: [4, 2], strides [6, 2] with 6 ≠ 2·2: merging must copy.
        let s2 = iota([4, 6]).slice(axis: 1, 0..<4, step: 2)
        let sc = s2.reshaped([8])
        XCTAssertFalse(sc.storage === s2.storage)
        assertClose(sc, [0, 2, 6, 8, 12, 14, 18, 20], rtol: 0, atol: 0)
        // Permuted 3-D: [2,3,4] → permute [1,0,2] = [3,2,4] strides [4,12,1]; [3,8] cannot view.
        let p = iota([2, 3, 4]).permuted([1, 0, 2])
        let p8 = p.reshaped([3, 8])
        XCTAssertFalse(p8.storage === p.storage)
        assertClose(p8.select(axis: 0, 1), [4, 5, 6, 7, 16, 17, 18, 19], rtol: 0, atol: 0)
        let p6 = p.reshaped([6, 4])             // merging [3, 2] with strides [4, 12]: not a view either
        XCTAssertFalse(p6.storage === p.storage)
        assertClose(p6.select(axis: 0, 1), [12, 13, 14, 15], rtol: 0, atol: 0)
        let pv = p.reshaped([3, 2, 2, 2])       // splitting the last axis: a view
        XCTAssertTrue(pv.storage === p.storage)
        XCTAssertEqual(pv[element: [2, 1, 1, 0]], 22)  // p[2, 1, 2] = x[1, 2, 2] = 12 + 8 + 2
    }

    // MARK: - transposed / permuted / T

    func testTransposePermuteAndT() {
        let x = iota([2, 3, 4])
        let t = x.transposed(0, 2)
        XCTAssertEqual(t.shape, [4, 3, 2]); XCTAssertEqual(t.strides, [1, 4, 12]); XCTAssertFalse(t.isContiguous)
        XCTAssertEqual(t[element: [3, 1, 1]], 12 + 4 + 3)
        assertSharesStorage(t, [3, 1, 1], x, [1, 1, 3], "transposed")
        let d = x.transposed()                  // the last two by default
        XCTAssertEqual(d.shape, [2, 4, 3]); XCTAssertEqual(d[element: [1, 3, 2]], 12 + 8 + 3)
        let p = x.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3]); XCTAssertEqual(p.strides, [1, 12, 4])
        XCTAssertEqual(p[element: [3, 1, 2]], 12 + 8 + 3)
        XCTAssertEqual(x.permuted([-1, 0, 1]).shape, [4, 2, 3], "negative axes in permute")
        XCTAssertTrue(p.storage === x.storage)
        // Permuting back gives the original layout again.
        let back = p.permuted([1, 2, 0])
        XCTAssertEqual(back.shape, x.shape); XCTAssertEqual(back.strides, x.strides); XCTAssertTrue(back.isContiguous)
        let m = iota([2, 3])
        assertClose(m.T, Tensor([0, 3, 1, 4, 2, 5], shape: [3, 2]), rtol: 0, atol: 0)
        XCTAssertTrue(m.T.T.isContiguous)
    }

    // MARK: - slice / select / subscript

    func testSliceWithStepSelectAndSubscript() {
        let v = Tensor.arange(10)
        let s = v.slice(axis: 0, 1..<8, step: 3)
        assertClose(s, [1, 4, 7], rtol: 0, atol: 0)
        XCTAssertEqual(s.offset, 1); XCTAssertEqual(s.strides, [3])
        assertSharesStorage(s, [2], v, [7], "slice with step")
        XCTAssertEqual(v.slice(axis: 0, 2..<9, step: 3).shape, [3])    // 2, 5, 8
        XCTAssertEqual(v.slice(axis: 0, 2..<8, step: 3).shape, [2])    // 2, 5
        XCTAssertEqual(v.slice(axis: 0, 4..<4).shape, [0])

        let x = iota([3, 4])
        let cols = x.slice(axis: -1, 1..<4, step: 2)                   // columns 1 and 3
        assertClose(cols, Tensor([1, 3, 5, 7, 9, 11], shape: [3, 2]), rtol: 0, atol: 0)
        XCTAssertFalse(cols.isContiguous)
        let rows = x.slice(axis: 0, 1..<3)
        XCTAssertTrue(rows.isContiguous); XCTAssertEqual(rows.offset, 4)
        // Slicing a slice composes offsets and strides.
        let ss = x.slice(axis: 1, 0..<4, step: 2).slice(axis: 0, 0..<3, step: 2)
        assertClose(ss, Tensor([0, 2, 8, 10], shape: [2, 2]), rtol: 0, atol: 0)

        let col2 = x.select(axis: 1, 2)
        XCTAssertEqual(col2.shape, [3]); assertClose(col2, [2, 6, 10], rtol: 0, atol: 0)
        assertSharesStorage(col2, [1], x, [1, 2], "select")
        assertClose(x.select(axis: -1, -1), [3, 7, 11], rtol: 0, atol: 0)
        assertClose(x[1], [4, 5, 6, 7], rtol: 0, atol: 0)
        assertClose(x[-1], [8, 9, 10, 11], rtol: 0, atol: 0)
        XCTAssertTrue(x[2].storage === x.storage)
        XCTAssertEqual(iota([2, 3, 4])[1][2].scalars, [20, 21, 22, 23])
        // Select on a transposed view: row 1 of xᵀ is column 1 of x.
        assertClose(x.T[1], [1, 5, 9], rtol: 0, atol: 0)
        XCTAssertTrue(x.T[1].storage === x.storage)
    }

    // MARK: - expanded

    func testExpandedIsStrideZeroAndSharesStorage() {
        let c = Tensor([1, 2, 3], shape: [3, 1])
        let e = c.expanded([3, 4])
        XCTAssertEqual(e.shape, [3, 4]); XCTAssertEqual(e.strides, [1, 0])
        assertClose(e, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], rtol: 0, atol: 0)
        XCTAssertTrue(e.storage === c.storage); XCTAssertFalse(e.isContiguous)
        c.base[1] = 20                           // one write shows in four places
        assertClose(e.select(axis: 0, 1), [20, 20, 20, 20], rtol: 0, atol: 0)
        c.base[1] = 2
        let lead = c.expanded([2, 3, -1])        // a new leading axis, -1 keeps the size-1 axis
        XCTAssertEqual(lead.shape, [2, 3, 1]); XCTAssertEqual(lead.strides[0], 0)
        XCTAssertEqual(lead[element: [1, 2, 0]], 3)
        let r = Tensor([5, 6]).expanded([3, 2])
        XCTAssertEqual(r.strides, [0, 1]); assertClose(r, [5, 6, 5, 6, 5, 6], rtol: 0, atol: 0)
        XCTAssertTrue(c.expanded([3, 1]) === c)
    }

    // MARK: - unsqueezed / squeezed / flattened

    func testUnsqueezeSqueezeFlatten() {
        let x = iota([2, 3])
        XCTAssertEqual(x.unsqueezed(0).shape, [1, 2, 3])
        XCTAssertEqual(x.unsqueezed(1).shape, [2, 1, 3])
        XCTAssertEqual(x.unsqueezed(-1).shape, [2, 3, 1])
        XCTAssertTrue(x.unsqueezed(1).storage === x.storage)
        assertClose(x.unsqueezed(1), (0..<6).map(Float.init), rtol: 0, atol: 0)
        let y = iota([1, 3, 1, 2])
        XCTAssertEqual(y.squeezed().shape, [3, 2])
        XCTAssertEqual(y.squeezed(2).shape, [1, 3, 2])
        XCTAssertEqual(y.squeezed(-4).shape, [3, 1, 2])
        XCTAssertTrue(y.squeezed().storage === y.storage)
        let z = iota([2, 3, 4, 5])
        XCTAssertEqual(z.flattened().shape, [120])
        XCTAssertEqual(z.flattened(from: 1).shape, [2, 60])
        XCTAssertEqual(z.flattened(from: 1, to: 2).shape, [2, 12, 5])
        XCTAssertEqual(z.flattened(from: -2).shape, [2, 3, 20])
        XCTAssertEqual(z.flattened(from: 1, to: 2)[element: [1, 7, 3]], 60 + 35 + 3)   // (1, 1, 3, 3)
        XCTAssertTrue(z.flattened().storage === z.storage)
        // On non-contiguous views: unsqueeze of a transpose stays a view; flatten copies.
        let t = x.T
        let tu = t.unsqueezed(1)
        XCTAssertTrue(tu.storage === x.storage); XCTAssertEqual(tu.shape, [3, 1, 2])
        assertClose(tu, [0, 3, 1, 4, 2, 5], rtol: 0, atol: 0)
        XCTAssertEqual(t.unsqueezed(0).squeezed(0).strides, t.strides)
        let tf = t.flattened()
        XCTAssertFalse(tf.storage === x.storage); assertClose(tf, [0, 3, 1, 4, 2, 5], rtol: 0, atol: 0)
    }

    // MARK: - contiguous / isContiguous

    func testContiguousAndIsContiguous() {
        let x = iota([3, 4])
        XCTAssertTrue(x.isContiguous)
        XCTAssertTrue(x.contiguous() === x, "contiguous() of a contiguous tensor is self")
        let rows = x.slice(axis: 0, 1..<3)
        XCTAssertTrue(rows.isContiguous); XCTAssertTrue(rows.contiguous() === rows)
        let t = x.T
        XCTAssertFalse(t.isContiguous)
        let tc = t.contiguous()
        XCTAssertFalse(tc === t); XCTAssertFalse(tc.storage === x.storage)
        XCTAssertTrue(tc.isContiguous); XCTAssertEqual(tc.strides, [3, 1]); XCTAssertEqual(tc.offset, 0)
        assertClose(tc, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], rtol: 0, atol: 0)
        x.base[1] = 100
        XCTAssertEqual(tc[element: [1, 0]], 1, "the copy is independent")
        x.base[1] = 1
        XCTAssertFalse(x.slice(axis: 1, 0..<3).isContiguous)
        XCTAssertFalse(x.slice(axis: 0, 0..<3, step: 2).isContiguous)
        XCTAssertFalse(Tensor([1, 2]).expanded([3, 2]).isContiguous)
        // Size-1 axes may have any stride. A row of xᵀ ([1, 3], strides [1, 4]) is not contiguous
        // (its long axis has stride 4); a column of xᵀ ([4, 1], strides [1, 4]) is.
        XCTAssertFalse(t.slice(axis: 0, 0..<1).isContiguous)
        XCTAssertTrue(t.slice(axis: 1, 0..<1).isContiguous)       // shape [4, 1], strides [1, 4]
        XCTAssertTrue(Tensor([7]).expanded([1]).isContiguous)
        XCTAssertTrue(x.unsqueezed(0).isContiguous)
        let col = x.T.slice(axis: 1, 2..<3)                         // = row 2 of x as [4, 1]
        assertClose(col.contiguous(), [8, 9, 10, 11], rtol: 0, atol: 0)
        XCTAssertTrue(col.contiguous() === col)
    }

    // MARK: - Gradients through every view

    func testGradientsFlowThroughEveryView() {
        gradCheck("reshape", [rand([2, 3, 4], 1)]) { $0[0].reshaped([4, -1]) }
        gradCheck("reshape of transpose (view)", [rand([3, 4], 2)]) { $0[0].T.reshaped([2, 2, 3]) }
        gradCheck("reshape of transpose (copy)", [rand([3, 4], 3)]) { $0[0].T.reshaped([12]) }
        gradCheck("transposed", [rand([2, 3, 4], 4)]) { $0[0].transposed(0, 2) }
        gradCheck("permuted", [rand([2, 3, 4], 5)]) { $0[0].permuted([1, 2, 0]) }
        gradCheck("T", [rand([3, 5], 6)]) { $0[0].T }
        gradCheck("slice", [rand([4, 5], 7)]) { $0[0].slice(axis: 0, 1..<3) }
        gradCheck("slice with step", [rand([4, 7], 8)]) { $0[0].slice(axis: 1, 1..<7, step: 3) }
        gradCheck("slice of slice", [rand([6, 6], 9)]) { $0[0].slice(axis: 0, 0..<6, step: 2).slice(axis: 1, 1..<5, step: 2) }
        gradCheck("select", [rand([3, 4], 10)]) { $0[0].select(axis: 1, -2) }
        gradCheck("subscript", [rand([3, 4], 11)]) { $0[0][2] }
        gradCheck("expand", [rand([3, 1], 12)]) { $0[0].expanded([2, 3, 4]) }
        gradCheck("expand of slice", [rand([2, 4], 13)]) { $0[0].slice(axis: 0, 1..<2).expanded([5, 4]) }
        gradCheck("unsqueeze", [rand([3, 4], 14)]) { $0[0].unsqueezed(1) }
        gradCheck("squeeze", [rand([3, 1, 4], 15)]) { $0[0].squeezed() }
        gradCheck("flatten", [rand([2, 3, 4], 16)]) { $0[0].flattened(from: 1) }
        gradCheck("contiguous", [rand([3, 4], 17)]) { $0[0].T.contiguous() }
        // A view used twice: gradients add.
        gradCheck("two views of one tensor", [rand([4, 4], 18)]) { $0[0].T * $0[0].slice(axis: 0, 0..<4) }
    }

    func testHandComputedViewGradients() {
        // Slice with step: ones land on positions 1, 4, 7 only.
        let v = Tensor.arange(10).requiringGrad()
        v.slice(axis: 0, 1..<8, step: 3).sum().backward()
        assertClose(v.grad!, [0, 1, 0, 0, 1, 0, 0, 1, 0, 0], rtol: 0, atol: 0)
        // Expand is a sum-reduction backward: each of the 3 entries was used 2·4 times.
        let c = Tensor([1, 2, 3], shape: [3, 1]).requiringGrad()
        c.expanded([2, 3, 4]).sum().backward()
        assertClose(c.grad!, Tensor([8, 8, 8], shape: [3, 1]), rtol: 0, atol: 0)
        // Weighted: d/dc Σ w·expand(c) sums w over the broadcast axis.
        let d = Tensor([1, 2], shape: [2, 1]).requiringGrad()
        d.expanded([2, 3]).backward(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))
        assertClose(d.grad!, Tensor([6, 15], shape: [2, 1]), rtol: 0, atol: 0)
        XCTAssertTrue(d.grad!.isContiguous, "stored gradients are dense")
        // Transpose: the gradient comes back transposed.
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).requiringGrad()
        m.T.backward(Tensor([10, 20, 30, 40, 50, 60], shape: [3, 2]))
        assertClose(m.grad!, Tensor([10, 30, 50, 20, 40, 60], shape: [2, 3]), rtol: 0, atol: 0)
        // Select: only the chosen column gets a gradient.
        let s = Tensor.zeros([2, 3]).requiringGrad()
        s.select(axis: 1, 1).backward(Tensor([7, 9]))
        assertClose(s.grad!, [0, 7, 0, 0, 9, 0], rtol: 0, atol: 0)
    }
}
