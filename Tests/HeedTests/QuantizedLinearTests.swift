import XCTest
@testable import Heed
import HeedTestSupport

/// The int8 and bf16 dense-layer products (Sources/CHeedKernels/quant_gemm.inc) at every level
/// this CPU runs — vpdpbusd and vdpbf16ps where it has them, their emulations below — against
/// the scalar references in Reference/NaiveQuantized.swift, bit for bit; and against the Float32
/// layer within the error the quantization allows.
final class QuantizedLinearTests: XCTestCase {
    /// (m, k, n): one row, k and n with tails of every size, more rows than a register tile, a
    /// MiniLM width, and enough work to split over the cores.
    static let shapes = [(1, 1, 1), (1, 7, 5), (2, 4, 16), (3, 17, 33), (7, 64, 64), (13, 100, 70),
                         (6, 385, 80), (50, 384, 96), (65, 130, 200)]

    /// x with the rows the quantizer branches on: all zeros, all equal, negative only, one huge value.
    static func input(_ m: Int, _ k: Int, seed: UInt64) -> [Float] {
        var x = rand([m, k], seed, low: -2, high: 3).scalars
        if m > 3 {
            for kk in 0..<k { x[kk] = 0; x[k + kk] = 0.75; x[2 * k + kk] = -abs(x[2 * k + kk]) }
            x[3 * k] = 1e4
        }
        return x
    }

    func testQuantizedRowsHaveHandComputedCodes() {
        // s = (15.4375 + 0.5)/255 = 0.0625 exactly, z = 0.5/s = 8; 0.53125/s = 8.5 and
        // 0.59375/s = 9.5 round to even (8, 10).
        let x: [Float] = [-0.5, 0, 0.53125, 0.59375, 15.4375]
        let ref = Reference.quantizeRowU8(x)
        XCTAssertEqual(ref.codes, [0, 8, 16, 18, 255])
        XCTAssertEqual(ref.scale, 0.0625)
        XCTAssertEqual(ref.zero, 8)
        for level in CPUDispatch.runnableLevels {
            var q = [UInt8](repeating: 99, count: 8), s: Float = 0, z: Int32 = 0
            CPUDispatch.kernels(for: level)!.pointee.quantize_rows_u8(x, 5, 1, 5, nil, &q, 8, &s, &z)
            XCTAssertEqual(q, [0, 8, 16, 18, 255, 0, 0, 0], "\(level): codes, padded with zeros to 8")
            XCTAssertEqual(s, 0.0625, "\(level)")
            XCTAssertEqual(z, 8, "\(level)")
        }
        XCTAssertEqual(Reference.quantizeRowU8([0, 0]).scale, 1, "a row of zeros")
        XCTAssertEqual(Reference.quantizeRowU8([.nan, 1]).codes, [0, 255], "NaN is no crash: code 0")
    }

    func testWeightsQuantizePerChannel() {
        let w = Int8Weight(quantizing: Tensor([0.5, -1.27, 0.127, 0, 0, 0], shape: [2, 3]))
        XCTAssertEqual(w.scales, [Float(1.27) / 127, 1])
        XCTAssertEqual(w.codes, [50, -127, 13, 0, 0, 0])
        assertClose(w.dequantized(), [0.5, -1.27, 0.13, 0, 0, 0], rtol: 1e-6)
        XCTAssertEqual(bfloat16Bits(1), 0x3F80)
        XCTAssertEqual(bfloat16Bits(1.00390625), 0x3F80, "a tie rounds to even")
        XCTAssertEqual(bfloat16Bits(1.01171875), 0x3F82, "a tie rounds to even")
        XCTAssertEqual(bfloat16Bits(-2.5), 0xC020)
        XCTAssertEqual(bfloat16Bits(.greatestFiniteMagnitude), 0x7F80, "rounds to +∞")
        XCTAssertTrue(Float(bitPattern: UInt32(bfloat16Bits(.nan)) << 16).isNaN)
    }

    func testInt8LinearEqualsTheReferenceAtEveryLevel() {
        for (si, (m, k, n)) in Self.shapes.enumerated() {
            let x = Self.input(m, k, seed: UInt64(si))
            // Every third shape with input smoothing (SmoothQuant's per-column c).
            let c = si % 3 == 0 ? rand([k], UInt64(300 + si), low: 0.25, high: 4).scalars : nil
            let w = Int8Weight(quantizing: rand([n, k], UInt64(100 + si), low: -0.5, high: 0.5), inputScales: c)
            let bias = si % 2 == 0 ? rand([n], UInt64(200 + si)) : nil
            let expected = Reference.int8Linear(x, m: m, k: k, weight: w, bias: bias?.scalars)
            for level in CPUDispatch.runnableLevels {
                let y = CPUDispatch.withLevel(level) { Tensor(x, shape: [m, k]).linear(weight: w, bias: bias).scalars }
                XCTAssertNil(CPUDispatchTests.firstDifference(y, expected), "int8 (\(m), \(k), \(n)) at \(level)")
            }
        }
    }

    func testBF16LinearEqualsTheReferenceAtEveryLevel() {
        for (si, (m, k, n)) in Self.shapes.enumerated() {
            let x = Self.input(m, k, seed: UInt64(si))
            let w = BF16Weight(converting: rand([n, k], UInt64(100 + si), low: -0.5, high: 0.5))
            let bias = si % 2 == 1 ? rand([n], UInt64(200 + si)) : nil
            let expected = Reference.bf16Linear(x, m: m, k: k, weight: w, bias: bias?.scalars)
            for level in CPUDispatch.runnableLevels {
                let y = CPUDispatch.withLevel(level) { Tensor(x, shape: [m, k]).linear(weight: w, bias: bias).scalars }
                XCTAssertNil(CPUDispatchTests.firstDifference(y, expected), "bf16 (\(m), \(k), \(n)) at \(level)")
            }
        }
    }

    /// Each term x·w is off by at most |w|·s/2 + |x|·t/2 + s·t/4 (s, t: the row's and the
    /// channel's scales); bf16 rounds each factor by at most 2⁻⁹ relatively.
    func testQuantizedLinearsStayWithinTheQuantizationError() {
        let (m, k, n) = (9, 200, 48)
        let x = rand([m, k], 5, low: -1, high: 2), wf = rand([n, k], 6, low: -0.3, high: 0.3), b = rand([n], 7)
        let exact = x.linear(weight: wf, bias: b).scalars
        let w8 = Int8Weight(quantizing: wf), w16 = BF16Weight(converting: wf)
        let (y8, y16) = (x.linear(weight: w8, bias: b).scalars, x.linear(weight: w16, bias: b).scalars)
        let (xs, ws) = (x.scalars, wf.scalars)
        for i in 0..<m {
            let s = Reference.quantizeRowU8(Array(xs[i * k..<(i + 1) * k])).scale
            for j in 0..<n {
                var bound8: Float = 0, bound16: Float = 0
                for kk in 0..<k {
                    let (xv, wv) = (abs(xs[i * k + kk]), abs(ws[j * k + kk]))
                    bound8 += wv * s / 2 + xv * w8.scales[j] / 2 + s * w8.scales[j] / 4
                    bound16 += xv * wv * (2 * 0x1p-9 + 0x1p-18)
                }
                XCTAssertLessThanOrEqual(abs(y8[i * n + j] - exact[i * n + j]), bound8 * 1.01 + 1e-5, "int8 (\(i), \(j))")
                XCTAssertLessThanOrEqual(abs(y16[i * n + j] - exact[i * n + j]), bound16 * 1.01 + 1e-4, "bf16 (\(i), \(j))")
            }
        }
    }

    /// A column 100× larger than the rest stretches every row's 8-bit range; smoothing by
    /// c = √max|x| / √max|w| per column (α = 0.5) takes it out and the error falls.
    func testInputSmoothingTamesAnOutlierColumn() {
        let (m, k, n) = (16, 96, 32)
        var xs = rand([m, k], 21).scalars
        for i in 0..<m { xs[i * k + 5] *= 100 }
        let x = Tensor(xs, shape: [m, k]), w = rand([n, k], 22, low: -0.2, high: 0.2)
        let exact = x.linear(weight: w).scalars
        let ws = w.scalars
        let c = (0..<k).map { kk in
            let xm = (0..<m).map { abs(xs[$0 * k + kk]) }.max()!, wm = (0..<n).map { abs(ws[$0 * k + kk]) }.max()!
            return (xm / wm).squareRoot()
        }
        func error(_ q: Int8Weight) -> Float {
            zip(x.linear(weight: q).scalars, exact).map { abs($0 - $1) }.max()!
        }
        let (plain, smoothed) = (error(Int8Weight(quantizing: w)), error(Int8Weight(quantizing: w, inputScales: c)))
        XCTAssertLessThan(smoothed, plain / 3, "max error \(smoothed) smoothed against \(plain) plain")
        // Each dequantized weight is within half a code of W·diag(c), divided by c.
        let q = Int8Weight(quantizing: w, inputScales: c), deq = q.dequantized().scalars
        for j in 0..<n {
            for kk in 0..<k {
                XCTAssertLessThanOrEqual(abs(deq[j * k + kk] - ws[j * k + kk]), q.scales[j] / (2 * c[kk]) * 1.0001, "(\(j), \(kk))")
            }
        }
    }

    func testBatchedInputAndTheGradientToTheInput() {
        let x = rand([2, 3, 20], 9)
        x.requiresGrad = true
        let w8 = Int8Weight(quantizing: rand([5, 20], 10)), w16 = BF16Weight(converting: rand([5, 20], 11))
        for (name, y, w) in [("int8", x.linear(weight: w8), w8.dequantized()), ("bf16", x.linear(weight: w16), w16.dequantized())] {
            XCTAssertEqual(y.shape, [2, 3, 5], name)
            x.grad = nil
            let g = rand([2, 3, 5], 12)
            (y * g).sum().backward()
            assertClose(x.grad!, g.reshaped([6, 5]).matmul(w).reshaped([2, 3, 20]), rtol: 1e-5, atol: 1e-6)
        }
    }

    func testBadShapesStopNamingTheOp() {
        let w = Int8Weight(quantizing: rand([4, 3], 1))
        assertStops(containing: "linear(int8): input [2, 5], weight [4, 3]") { _ = rand([2, 5], 2).linear(weight: w) }
        assertStops(containing: "Int8Weight: a scale is not finite and positive") {
            _ = Int8Weight(codes: [1, 2], scales: [0], outFeatures: 1, inFeatures: 2)
        }
    }
}
