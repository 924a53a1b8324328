import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// LayerNorm the layer (the fused op itself is tested in HeedTests/LayerNormTests.swift).
final class LayerNormLayerTests: XCTestCase {
    /// (x − μ)/√(σ² + ε)·w + b per row of the last axis, in Double.
    static func oracle(_ x: Tensor, weight: [Float]?, bias: [Float]?, eps: Float) -> [Float] {
        let c = x.shape.last!, v = x.scalars
        var out = [Float](repeating: 0, count: v.count)
        for r in 0..<(v.count / c) {
            let row = (0..<c).map { Double(v[r * c + $0]) }
            let m = row.reduce(0, +) / Double(c)
            let variance = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(c)
            for j in 0..<c {
                let xhat = (row[j] - m) / (variance + Double(eps)).squareRoot()
                out[r * c + j] = Float(xhat * Double(weight?[j] ?? 1) + Double(bias?[j] ?? 0))
            }
        }
        return out
    }

    func testDefaultsAndHandComputedRows() {
        let ln = LayerNorm(4)
        XCTAssertEqual(ln.namedParameters().map(\.name), ["weight", "bias"])
        XCTAssertEqual(ln.weight!.scalars, [1, 1, 1, 1])
        XCTAssertEqual(ln.bias!.scalars, [0, 0, 0, 0])
        XCTAssertEqual(ln.parameterCount, 8)
        // Row 1: μ = 2.5, σ² = 1.25. Row 2: μ = 3, σ² = (1 + 1 + 1 + 9)/4 = 3.
        let y = ln(Tensor([1, 2, 3, 4, 2, 2, 2, 6], shape: [2, 4]))
        let s1 = (1.25 + 1e-5).squareRoot(), s2 = (3 + 1e-5).squareRoot()
        assertClose(y, [-1.5 / s1, -0.5 / s1, 0.5 / s1, 1.5 / s1, -1 / s2, -1 / s2, -1 / s2, 3 / s2].map { Float($0) },
                    rtol: 1e-6, "hand-computed rows")
    }

    func testAffineAgainstDoubleOracle() {
        let ln = LayerNorm(6, eps: 1e-3)
        noGrad {
            ln.weight!.assign(rand([6], 1, low: 0.5, high: 2))
            ln.bias!.assign(rand([6], 2))
        }
        let x = rand([2, 3, 6], 3, low: -3, high: 3)
        assertClose(ln(x).scalars, Self.oracle(x, weight: ln.weight!.scalars, bias: ln.bias!.scalars, eps: 1e-3),
                    rtol: 1e-5, atol: 1e-6, "LayerNorm(6, eps: 1e-3)")
    }

    func testWithoutAffine() {
        let ln = LayerNorm(5, affine: false)
        XCTAssertTrue(ln.namedParameters().isEmpty)
        XCTAssertNil(ln.weight); XCTAssertNil(ln.bias)
        let x = rand([4, 5], 4)
        assertClose(ln(x).scalars, Self.oracle(x, weight: nil, bias: nil, eps: 1e-5), rtol: 1e-5, atol: 1e-6, "no affine")
    }

    /// The fused backward against finite differences, through the layer's own parameters.
    func testGradients() {
        let ln = LayerNorm(7)
        noGrad {
            ln.weight!.assign(rand([7], 5, low: 0.5, high: 1.5))
            ln.bias!.assign(rand([7], 6))
        }
        let x = rand([2, 3, 7], 7)
        parameterGradCheck("LayerNorm", ln) { ln(x) }
        gradCheck("LayerNorm input", [x]) { ln($0[0]) }
    }
}
