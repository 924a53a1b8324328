import XCTest
@testable import Heed
import HeedTestSupport

/// Comparisons, `where` and `maskedFill` (Tensor+Compare.swift): 0/1 masks against hand-computed
/// values and the naive broadcasting oracle; gradients by finite differences and by hand.
final class CompareTests: XCTestCase {
    let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
    let y = Tensor([1, 3, 2, 4, 6, 5], shape: [2, 3])

    func testTensorComparisons() {
        XCTAssertEqual((x .== y).scalars, [1, 0, 0, 1, 0, 0])
        XCTAssertEqual((x .!= y).scalars, [0, 1, 1, 0, 1, 1])
        XCTAssertEqual((x .< y).scalars, [0, 1, 0, 0, 1, 0])
        XCTAssertEqual((x .<= y).scalars, [1, 1, 0, 1, 1, 0])
        XCTAssertEqual((x .> y).scalars, [0, 0, 1, 0, 0, 1])
        XCTAssertEqual((x .>= y).scalars, [1, 0, 1, 1, 0, 1])
        XCTAssertEqual((x .< y).shape, [2, 3])
    }

    func testScalarComparisons() {
        XCTAssertEqual((x .== 3).scalars, [0, 0, 1, 0, 0, 0])
        XCTAssertEqual((x .!= 3).scalars, [1, 1, 0, 1, 1, 1])
        XCTAssertEqual((x .< 3).scalars, [1, 1, 0, 0, 0, 0])
        XCTAssertEqual((x .<= 3).scalars, [1, 1, 1, 0, 0, 0])
        XCTAssertEqual((x .> 3).scalars, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual((x .>= 3).scalars, [0, 0, 1, 1, 1, 1])
    }

    func testNaNAndSignedZero() {
        // IEEE: NaN compares unequal to everything, itself included; −0 == +0.
        let a = Tensor([.nan, .nan, 0, -.infinity])
        let b = Tensor([.nan, 1, -0.0, -.infinity])
        XCTAssertEqual((a .== b).scalars, [0, 0, 1, 1])
        XCTAssertEqual((a .!= b).scalars, [1, 1, 0, 0])
        XCTAssertEqual((a .< b).scalars, [0, 0, 0, 0])
        XCTAssertEqual((a .<= b).scalars, [0, 0, 1, 1])
        XCTAssertEqual((a .> b).scalars, [0, 0, 0, 0])
        XCTAssertEqual((a .>= b).scalars, [0, 0, 1, 1])
    }

    func testBroadcastingAgainstOracle() {
        let cmp: [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Bool)] = [
            ("==", { $0 .== $1 }, { $0 == $1 }), ("!=", { $0 .!= $1 }, { $0 != $1 }),
            ("<", { $0 .< $1 }, { $0 < $1 }), ("<=", { $0 .<= $1 }, { $0 <= $1 }),
            (">", { $0 .> $1 }, { $0 > $1 }), (">=", { $0 .>= $1 }, { $0 >= $1 }),
        ]
        // Values on a coarse grid so that equality actually occurs; views included.
        func grid(_ shape: [Int], _ seed: UInt64) -> Tensor {
            Tensor(rand(shape, seed, low: 0, high: 4).scalars.map { $0.rounded(.down) }, shape: shape)
        }
        let pairs: [(Tensor, Tensor)] = [
            (grid([2, 3], 1), grid([3], 2)), (grid([4, 1], 3), grid([1, 5], 4)),
            (grid([4, 1, 3], 5), grid([2, 1], 6)), (grid([2, 3], 7), Tensor.scalar(2)),
            (grid([5, 3], 8).T, grid([5], 9)), (grid([3, 40], 10).slice(axis: 1, 0..<40, step: 3), grid([3, 1], 11)),
            (grid([1, 17], 12).expanded([4, 17]), grid([4, 17], 13)),
        ]
        for (a, b) in pairs {
            for (name, op, f) in cmp {
                let want = naiveBinary(a, b) { f($0, $1) ? 1 : 0 }
                XCTAssertEqual(op(a, b).shape, want.shape, name)
                XCTAssertEqual(op(a, b).scalars, want.scalars, "\(name): \(a.shape) vs \(b.shape)")
            }
        }
        let row = Tensor([2, 5, 1])
        XCTAssertEqual((x .> row).scalars, [0, 0, 1, 1, 0, 1])
    }

    func testMasksCarryNoGradient() {
        let a = x.detach().requiringGrad()
        let m = a .> 2
        XCTAssertFalse(m.requiresGrad)
        XCTAssertNil(m.gradFunctionName)
    }

    // MARK: where

    func testWhereForward() {
        let c = Tensor([1, 0, 1, 0, 0, 1], shape: [2, 3])
        XCTAssertEqual(Tensor.where(c, x, y).scalars, [1, 3, 3, 4, 6, 6])
        // Any nonzero value selects `a` (NaN too: NaN != 0).
        XCTAssertEqual(Tensor.where(Tensor([2, -1, 0, .nan]), Tensor([1, 1, 1, 1]), Tensor([0, 0, 0, 0])).scalars,
                       [1, 1, 0, 1])
        // All three broadcast: condition [2, 1], a [3], b scalar.
        let w = Tensor.where(Tensor([1, 0], shape: [2, 1]), Tensor([7, 8, 9]), Tensor.scalar(-1))
        XCTAssertEqual(w.shape, [2, 3])
        XCTAssertEqual(w.scalars, [7, 8, 9, -1, -1, -1])
        // Condition [3] against a [2, 1] and b [1, 3]: shape [2, 3].
        let v = Tensor.where(Tensor([0, 1, 0]), Tensor([10, 20], shape: [2, 1]), Tensor([1, 2, 3], shape: [1, 3]))
        XCTAssertEqual(v.scalars, [1, 10, 3, 1, 20, 3])
        // Non-contiguous branches: a transposed and b expanded.
        let t = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2]).T   // [[1, 3, 5], [2, 4, 6]]
        XCTAssertEqual(Tensor.where(x .> 3, t, Tensor([0, 0, 0]).expanded([2, 3])).scalars, [0, 0, 0, 2, 4, 6])
    }

    func testWhereGradients() {
        // Both branches get the gradient where they were chosen, reduced to their own shapes.
        let c = Tensor([1, 0, 1, 0, 0, 1], shape: [2, 3])
        gradCheck("where", [rand([2, 3], 20), rand([2, 3], 21)]) { Tensor.where(c, $0[0], $0[1]) }
        gradCheck("where broadcast", [rand([3], 22), rand([2, 1], 23)]) { Tensor.where(c, $0[0], $0[1]) }
        gradCheck("where scalar branch", [rand([2, 3], 24), Tensor.scalar(0.5)]) { Tensor.where(c, $0[0], $0[1]) }
        // A condition computed from the input (a kink-free piecewise function away from 0).
        let p = Tensor([0.5, -0.7, 1.2, -1.5, 0.3, -0.2], shape: [2, 3])
        gradCheck("leaky", [p]) { Tensor.where($0[0] .> 0, $0[0], $0[0] * 0.1) }

        // By hand: d/da Σ where(c, a, b)·1 = c reduced; d/db = 1 − c reduced.
        let a = Tensor([1, 2, 3]).requiringGrad(), b = Tensor([5], shape: [1]).requiringGrad()
        let cond = Tensor([1, 0, 1, 0, 0, 1], shape: [2, 3])
        Tensor.where(cond, a, b).sum().backward()
        XCTAssertEqual(a.grad!.scalars, [1, 0, 2])
        XCTAssertEqual(b.grad!.shape, [1])
        XCTAssertEqual(b.grad!.scalars, [3])
    }

    func testWhereGradientDoesNotLeakNaNFromTheUnchosenBranch() {
        // The unchosen branch gets exactly 0, even where the chosen side's gradient is huge.
        let a = Tensor([1, 2]).requiringGrad(), b = Tensor([3, 4]).requiringGrad()
        let out = Tensor.where(Tensor([1, 0]), a, b)
        out.backward(Tensor([1e30, 7]))
        XCTAssertEqual(a.grad!.scalars, [1e30, 0])
        XCTAssertEqual(b.grad!.scalars, [0, 7])
    }

    // MARK: maskedFill

    func testMaskedFill() {
        let m = Tensor([0, 1, 0, 1, 1, 0], shape: [2, 3])
        XCTAssertEqual(x.maskedFill(m, -9).scalars, [1, -9, 3, -9, -9, 6])
        XCTAssertEqual(x.maskedFill(m, -9).shape, [2, 3])
        // The mask broadcasts to self: a row mask and a column mask.
        XCTAssertEqual(x.maskedFill(Tensor([1, 0, 0]), 0).scalars, [0, 2, 3, 0, 5, 6])
        XCTAssertEqual(x.maskedFill(Tensor([0, 1], shape: [2, 1]), 0).scalars, [1, 2, 3, 0, 0, 0])
        // -inf fill, the attention-mask use.
        let s = Tensor([0.5, 1.5, 2.5]).maskedFill(Tensor([0, 0, 1]), -.infinity).scalars
        XCTAssertEqual(s, [0.5, 1.5, -.infinity])
        // A mask made by a comparison on a non-contiguous view.
        XCTAssertEqual(x.T.maskedFill(x.T .> 4, 0).scalars, [1, 4, 2, 0, 3, 0])
    }

    func testMaskedFillGradient() {
        // The filled positions are constants: gradient 0 there, 1·g elsewhere.
        let m = Tensor([0, 1, 0, 1, 1, 0], shape: [2, 3])
        gradCheck("maskedFill", [rand([2, 3], 30)]) { $0[0].maskedFill(m, 3) }
        gradCheck("maskedFill row mask", [rand([2, 3], 31)]) { $0[0].maskedFill(Tensor([0, 1, 0]), -1) * $0[0] }
        let v = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).requiringGrad()
        (v.maskedFill(m, 100) * Tensor([1, 2, 3])).sum().backward()
        XCTAssertEqual(v.grad!.scalars, [1, 0, 3, 0, 0, 3])
    }
}
