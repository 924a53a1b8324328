import XCTest
import Heed
import HeedTestSupport

/// The fused `layerNorm` op (`Tensor+LayerNorm.swift`) against a Double oracle (forward and
/// backward), the same function composed from primitive ops (forward and autograd), and
/// central finite differences.
final class LayerNormOpTests: XCTestCase {
    /// y, and dx, dw, db for an upstream gradient `dout`, row by row in Double.
    static func oracle(_ x: [Float], _ w: [Float]?, _ b: [Float]?, _ dout: [Float], c: Int, eps: Float)
        -> (y: [Float], dx: [Float], dw: [Float], db: [Float]) {
        let rows = x.count / c
        var y = [Float](repeating: 0, count: x.count), dx = y
        var dw = [Double](repeating: 0, count: c), db = dw
        for r in 0..<rows {
            let row = (0..<c).map { Double(x[r * c + $0]) }
            let m = row.reduce(0, +) / Double(c)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(c)
            let rstd = 1 / (v + Double(eps)).squareRoot()
            let xhat = row.map { ($0 - m) * rstd }
            let g = (0..<c).map { Double(dout[r * c + $0]) }
            let dxhat = (0..<c).map { g[$0] * Double(w?[$0] ?? 1) }
            let meanA = dxhat.reduce(0, +) / Double(c)
            let meanB = zip(dxhat, xhat).reduce(0) { $0 + $1.0 * $1.1 } / Double(c)
            for j in 0..<c {
                y[r * c + j] = Float(xhat[j] * Double(w?[j] ?? 1) + Double(b?[j] ?? 0))
                dx[r * c + j] = Float(rstd * (dxhat[j] - meanA - xhat[j] * meanB))
                dw[j] += g[j] * xhat[j]
                db[j] += g[j]
            }
        }
        return (y, dx, dw.map(Float.init), db.map(Float.init))
    }

    /// The same function from primitive ops, differentiated by autograd.
    static func composed(_ x: Tensor, _ w: Tensor?, _ b: Tensor?, eps: Float) -> Tensor {
        let centered = x - x.mean(axis: -1, keepDims: true)
        var y = centered * (x.variance(axes: [-1], keepDims: true) + eps).rsqrt()
        if let w { y = y * w }
        if let b { y = y + b }
        return y
    }

    /// Forward and all three gradients against the oracle and the composed version.
    func check(rows: Int, c: Int, offset: Float = 0, affine: (Bool, Bool) = (true, true), eps: Float = 1e-5,
               rtol: Float = 1e-4, atol: Float = 1e-5, composedAtol: Float? = nil, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let x = (rand([rows, c], 1) * 2 + offset).requiringGrad()
        let w = affine.0 ? rand([c], 2, low: 0.5, high: 1.5).requiringGrad() : nil
        let b = affine.1 ? rand([c], 3).requiringGrad() : nil
        let dout = rand([rows, c], 4)
        let y = x.layerNorm(weight: w, bias: b, eps: eps)
        XCTAssertEqual(y.gradFunctionName, "layerNorm", file: file, line: line)
        y.backward(dout)
        let o = Self.oracle(x.scalars, w?.scalars, b?.scalars, dout.scalars, c: c, eps: eps)
        assertClose(y.scalars, o.y, rtol: rtol, atol: atol, "\(name): y", file: file, line: line)
        // dx is a difference of terms of size |dxhat|·rstd: an absolute tolerance on that scale.
        assertClose(x.grad!.scalars, o.dx, rtol: rtol, atol: atol, "\(name): dx", file: file, line: line)
        // dw, db: sums over `rows` terms of size ~1.
        let sumTol = atol * Float(rows).squareRoot()
        if let w { assertClose(w.grad!.scalars, o.dw, rtol: rtol, atol: sumTol, "\(name): dw", file: file, line: line) }
        if let b { assertClose(b.grad!.scalars, o.db, rtol: rtol, atol: sumTol, "\(name): db", file: file, line: line) }

        // The composed version agrees on every output and gradient.
        let cAtol = composedAtol ?? atol, cSumTol = cAtol * Float(rows).squareRoot()
        let (x2, w2, b2) = (Tensor(x.scalars, shape: x.shape).requiringGrad(),
                            w.map { Tensor($0.scalars).requiringGrad() }, b.map { Tensor($0.scalars).requiringGrad() })
        let y2 = Self.composed(x2, w2, b2, eps: eps)
        y2.backward(dout)
        assertClose(y, y2, rtol: rtol, atol: cAtol, "\(name): fused vs composed y", file: file, line: line)
        assertClose(x.grad!, x2.grad!, rtol: rtol, atol: cAtol, "\(name): fused vs composed dx", file: file, line: line)
        if let w, let w2 { assertClose(w.grad!, w2.grad!, rtol: rtol, atol: cSumTol, "\(name): fused vs composed dw", file: file, line: line) }
        if let b, let b2 { assertClose(b.grad!, b2.grad!, rtol: rtol, atol: cSumTol, "\(name): fused vs composed db", file: file, line: line) }
    }

    func testRowWidthsAcrossTheSIMDTail() {
        check(rows: 3, c: 1, "c = 1 (x̂ = 0)")
        check(rows: 4, c: 5, "tail only")
        check(rows: 3, c: 16, "one vector")
        check(rows: 5, c: 37, "two vectors + tail")
        check(rows: 7, c: 64, "d = 64")
    }

    /// Enough rows for two chunks: dweight/dbias partial sums are combined across threads.
    func testManyRowsRunInParallelChunks() {
        check(rows: 544, c: 64, "[32·17, 64]")
        check(rows: 2000, c: 33, "2000 × 33")
    }

    func testWithoutWeightOrBias() {
        check(rows: 4, c: 20, affine: (false, false), "no affine")
        check(rows: 4, c: 20, affine: (true, false), "weight only")
        check(rows: 4, c: 20, affine: (false, true), "bias only")
    }

    /// Rows sitting on a large common offset: the mean is summed relative to x[0] and the
    /// variance from centred values, so the result keeps the accuracy of the small deviations.
    /// (Σx² − C·μ² in Float would lose every digit here: Σx² ≈ 6.4e7 has an ulp of 4, while the
    /// quantity wanted, C·σ², is ≈ 21.) What is left is rounding μ itself to a Float near 1000,
    /// ≤ ulp(1000)/2 = 3.05e-5, times rstd ≈ √3: 5.3e-5. The composed ops (mean by a plain sum,
    /// measured 1.3e-4 here, 4.5× the fused error) get the looser tolerance.
    func testLargeOffsetKeepsPrecision() {
        check(rows: 6, c: 64, offset: 1000, rtol: 0, atol: 6e-5, composedAtol: 3e-4, "offset 1000")
    }

    func testLargeEpsDominatesVariance() {
        check(rows: 3, c: 8, eps: 10, "eps 10")
    }

    func testHandComputedRow() {
        // x = [1, 2, 3, 4]: μ = 2.5, σ² = 1.25, x̂ = [−1.5, −0.5, 0.5, 1.5]/√1.25.
        let y = Tensor([1, 2, 3, 4], shape: [1, 4]).layerNorm(eps: 0)
        let s = Float(1.25).squareRoot()
        assertClose(y, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], rtol: 1e-6, "x̂")
        // A constant row normalises to 0 (not NaN) as long as eps > 0.
        XCTAssertEqual(Tensor.full(3, shape: [2, 5]).layerNorm().scalars, [Float](repeating: 0, count: 10))
    }

    func testFiniteDifferences() {
        let x = rand([3, 2, 7], 10), w = rand([7], 11, low: 0.5, high: 1.5), b = rand([7], 12)
        gradCheck("layerNorm", [x, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        gradCheck("layerNorm, no affine", [rand([4, 18], 13)]) { $0[0].layerNorm() }
    }

    /// A transposed (non-contiguous) input: normalised along its own last axis, and the
    /// gradient flows back through the view.
    func testNonContiguousInput() {
        let base = rand([9, 4], 20)
        let xt = base.T                                 // [4, 9], strides [1, 4]
        let y = xt.layerNorm()
        assertClose(y, Self.composed(xt.contiguous(), nil, nil, eps: 1e-5), rtol: 1e-5, atol: 1e-6, "transposed input")
        gradCheck("layerNorm of a transposed view", [base]) { $0[0].T.layerNorm() }
    }

    /// Each use of a tensor accumulates its own gradient (+= in the engine).
    func testGradientAccumulatesOverTwoUses() {
        let x = rand([2, 6], 30).requiringGrad()
        let w = Tensor.ones([6]).requiringGrad()
        let dout = rand([2, 6], 31)
        (x.layerNorm(weight: w) * dout).sum().backward()
        let once = w.grad!.scalars
        w.zeroGrad()
        ((x.layerNorm(weight: w) + x.layerNorm(weight: w)) * dout).sum().backward()
        assertClose(w.grad!.scalars, once.map { 2 * $0 }, rtol: 1e-6, "two uses")
    }
}
