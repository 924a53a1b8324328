import XCTest
import CBLAS
import CHeedKernels
@testable import Heed
import HeedTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The CPU-dispatched C kernels (Sources/CHeedKernels) at every level this CPU can run, against
/// the Swift SIMD code they must equal bit for bit (itself checked against Glibc's Double
/// functions to a few ulp in VectorMathTests), and directly against Glibc for exp.
final class CPUDispatchTests: XCTestCase {
    /// Inputs with every edge the kernels branch on: ±0, ±∞, NaN, the clamps of exp, erfc's
    /// split points, subnormals, and a dense random spread; an odd count, so the tail runs.
    static let inputs: [Float] = {
        var xs: [Float] = [0, -0, .infinity, -.infinity, .nan, 1, -1, 88.72, 88.73, 89, 89.5, -87.33, -87.34,
                           -88, -103, -104, 0.25, 0.5, 0.625, -0.625, 0.84375, -0.84375, 9.19, 9.3, 9.31, -9.3,
                           .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                           -.greatestFiniteMagnitude, 1e-8, -1e-8]
        var g = Xoshiro256(seed: 17)
        for i in 0..<20_000 {
            let u = Float(g.next() >> 40) / Float(1 << 24)
            let scale: Float = [0.5, 4, 12, 100][i % 4]
            xs.append((u * 2 - 1) * scale)
        }
        xs.append(3)   // odd count: a partial last vector
        return xs
    }()

    /// The Swift reference over `xs`, 16 lanes at a time with a zero-filled tail (as mapUnary).
    static func reference(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>) -> [Float] {
        var out = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                var i = 0
                while i < xs.count {
                    let n = min(16, xs.count - i)
                    storePartial(f(loadPartial(x.baseAddress! + i, n)), y.baseAddress! + i, n)
                    i += 16
                }
            }
        }
        return out
    }

    static func run(_ kernel: UnaryKernel, _ xs: [Float]) -> [Float] {
        var out = [Float](repeating: -42, count: xs.count)
        xs.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { kernel(x.baseAddress, $0.baseAddress, xs.count) } }
        return out
    }

    /// x, computed at run time (so that arithmetic on it runs under the thread's MXCSR).
    @inline(never) @_optimize(none) static func opaque(_ x: Float) -> Float { x }

    /// First index where the two differ in bits (NaN equals NaN), or nil.
    static func firstDifference(_ a: [Float], _ b: [Float]) -> Int? {
        zip(a, b).enumerated().first { _, p in !(p.0.bitPattern == p.1.bitPattern || (p.0.isNaN && p.1.isNaN)) }?.offset
    }

    func testEveryLevelThisCPUHasIsRunnable() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set((cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " ").map(String.init))
        let expected: CPULevel
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"].allSatisfy(flags.contains)
        if avx512 && flags.contains("avx512_vnni") && flags.contains("avx512_bf16") { expected = .avx512bf16 }
        else if avx512 && flags.contains("avx512_vnni") { expected = .avx512vnni }
        else if avx512 { expected = .avx512 }
        else if ["avx2", "fma", "f16c", "bmi2"].allSatisfy(flags.contains) { expected = .avx2 }
        else { expected = .baseline }
        XCTAssertEqual(CPUDispatch.supportedLevel, expected, "cpuid/XGETBV against /proc/cpuinfo's flags")
        for level in CPULevel.allCases {
            let table = CPUDispatch.kernels(for: level)
            XCTAssertEqual(table != nil, level <= expected, "\(level)")
            XCTAssertEqual(table.map { Int($0.pointee.level) }, level <= expected ? level.rawValue : nil)
        }
    }

    func testElementwiseKernelsEqualTheSwiftCodeAtEveryLevel() throws {
        let xs = Self.inputs
        let cases: [(String, (UnsafePointer<heed_kernel_table>) -> UnaryKernel, (SIMD16<Float>) -> SIMD16<Float>)] = [
            ("exp", { $0.pointee.exp }, { vexp($0) }),
            ("tanh", { $0.pointee.tanh }, { vtanh($0) }),
            ("sigmoid", { $0.pointee.sigmoid }, { vsigmoid($0) }),
            ("gelu_erf", { $0.pointee.gelu_erf }, { GeluErfF()($0) }),
            ("gelu_erf_grad", { $0.pointee.gelu_erf_grad }, { GeluErfGradF()($0) }),
            ("gelu_tanh", { $0.pointee.gelu_tanh }, { GeluTanhF()($0) }),
            ("gelu_tanh_grad", { $0.pointee.gelu_tanh_grad }, { GeluTanhGradF()($0) }),
        ]
        for (name, pick, swift) in cases {
            let expected = Self.reference(xs, swift)
            for level in CPUDispatch.runnableLevels {
                let got = Self.run(pick(CPUDispatch.kernels(for: level)!), xs)
                if let i = Self.firstDifference(got, expected) {
                    XCTFail("\(name) at \(level): x = \(xs[i]) gives \(got[i]), the Swift code \(expected[i])")
                }
            }
        }
    }

    /// The Adam kernel equals the scalar reference bit for bit at every level, with coupled
    /// (L2) and decoupled (AdamW) weight decay, at lengths that leave partial vectors and one
    /// large enough to be split over the cores.
    func testAdamUpdateEqualsTheReferenceAtEveryLevel() {
        var rng = SystemRandomNumberGenerator()
        // The second half of each array mixes in what the kernel flushes: subnormal moments and
        // weights, zero gradients and gradients whose square underflows.
        func draw(_ n: Int, _ normal: ClosedRange<Float>, _ tiny: ClosedRange<Float>) -> [Float] {
            (0..<n).map { i in
                i < n / 2 || Int.random(in: 0..<3, using: &rng) == 0
                    ? Float.random(in: normal, using: &rng) : Float.random(in: tiny, using: &rng)
            }
        }
        let sub = Float.leastNormalMagnitude
        for n in [1, 15, 16, 17, 100_003] {
            let p0 = draw(n, -2...2, -sub...sub)
            let g = draw(n, -1...1, -1e-19...1e-19).map { abs($0) < 1e-21 ? 0 : $0 }
            let m0 = draw(n, -0.1...0.1, -sub...sub)
            let v0 = draw(n, 0...0.01, 0...sub)
            let variants = [
                OptimizerKernels.AdamCoefficients(beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-3 / (1 - 0.9 * 0.9),
                                                  bias2Sqrt: (1 - 0.999 * 0.999 as Float).squareRoot(), l2: 0.01, decay: 1),
                OptimizerKernels.AdamCoefficients(beta1: 0.8, beta2: 0.99, eps: 1e-6, stepSize: 3e-3,
                                                  bias2Sqrt: 0.3, l2: 0, decay: 1 - 3e-3 * 0.05),
            ]
            for k in variants {
                var (pr, mr, vr) = (p0, m0, v0)
                Reference.adamUpdate(&pr, g, &mr, &vr, k)
                for level in CPUDispatch.runnableLevels {
                    var (p, m, v) = (p0, m0, v0)
                    p.withUnsafeMutableBufferPointer { pb in
                        m.withUnsafeMutableBufferPointer { mb in
                            v.withUnsafeMutableBufferPointer { vb in
                                OptimizerKernels.adamUpdate(pb.baseAddress!, g, mb.baseAddress!, vb.baseAddress!, count: n, k,
                                                            kernels: CPUDispatch.kernels(for: level)!)
                            }
                        }
                    }
                    for (name, got, want) in [("p", p, pr), ("m", m, mr), ("v", v, vr)] {
                        if let i = Self.firstDifference(got, want) {
                            XCTFail("adam n = \(n) l2 = \(k.l2) at \(level): \(name)[\(i)] = \(got[i]), reference \(want[i])")
                        }
                    }
                    // The flush is the kernel's alone: this thread computes subnormals again after it.
                    XCTAssertEqual(Self.opaque(sub) / 4, sub / 4, "adam at \(level) left subnormals flushed")
                    XCTAssertTrue((Self.opaque(sub) / 4).isSubnormal)
                }
            }
        }
    }

    func testExpWithinTwoUlpAtEveryLevel() {
        let xs = VectorMathTests.grid(-87.3, 88.7, 200_001)
        for level in CPUDispatch.runnableLevels {
            let y = Self.run(CPUDispatch.kernels(for: level)!.pointee.exp, xs)
            var worst = 0.0, at: Float = 0
            for (x, v) in zip(xs, y) {
                let e = VectorMathTests.ulpError(v, Glibc.exp(Double(x)))
                if !(e <= worst) { worst = e; at = x }
            }
            XCTAssertLessThanOrEqual(worst, 2, "exp at \(level): \(worst) ulp at x = \(at)")
        }
    }

    func testExpShiftedSumEqualsTheSwiftCodeAtEveryLevel() {
        var g = Xoshiro256(seed: 3)
        for n in [1, 15, 16, 17, 64, 100, 1024, 1031] {
            var row = (0..<n).map { _ in Float(g.next() >> 40) / Float(1 << 20) - 8 }
            if n > 2 { row[1] = -.infinity; row[n - 1] = -.infinity }   // masked keys
            let shift = row.max()!
            var expected = row
            let expectedSum = expected.withUnsafeMutableBufferPointer { expShiftedInPlaceSIMD($0.baseAddress!, n, shift) }
            for level in CPUDispatch.runnableLevels {
                var got = row
                let sum = got.withUnsafeMutableBufferPointer { CPUDispatch.kernels(for: level)!.pointee.exp_shifted_sum($0.baseAddress, n, shift) }
                XCTAssertEqual(sum.bitPattern, expectedSum.bitPattern, "n = \(n) at \(level): sum")
                XCTAssertNil(Self.firstDifference(got, expected), "n = \(n) at \(level): row")
                if n > 2 { XCTAssertEqual(got[1], 0, "a masked key is exactly 0") }
            }
        }
    }

    /// The ops route through the level in use; on this CPU that is the highest one unless
    /// HEED_CPU says otherwise (the suite also runs with HEED_CPU=baseline).
    func testOpsUseTheChosenLevel() {
        let wanted = CPUDispatch.levelFromEnvironment() ?? CPUDispatch.supportedLevel
        XCTAssertEqual(CPUDispatch.level, wanted)
        let x = Tensor(Self.inputs.filter { $0.isFinite }, shape: [Self.inputs.filter { $0.isFinite }.count])
        XCTAssertNil(Self.firstDifference(x.exp().scalars, Self.reference(x.scalars) { vexp($0) }))
        XCTAssertNil(Self.firstDifference(x.gelu().scalars, Self.reference(x.scalars) { GeluErfF()($0) }))
    }

    func testHeedCPUNamesALevelOrStops() {
        restoringEnvironment("HEED_CPU") {
            unsetenv("HEED_CPU")
            XCTAssertNil(CPUDispatch.levelFromEnvironment())
            for level in CPULevel.allCases {
                setenv("HEED_CPU", level.description, 1)
                XCTAssertEqual(CPUDispatch.levelFromEnvironment(), level)
            }
            setenv("HEED_CPU", "AVX2", 1)
            assertStops(containing: "HEED_CPU='AVX2' is not a level (baseline, avx2, avx512, avx512vnni, avx512bf16)") {
                _ = CPUDispatch.levelFromEnvironment()
            }
        }
    }
}

/// BLASSetup: OpenBLAS must not stay on a pre-AVX2 fallback core on a CPU with AVX2+FMA
/// (Debian's 0.3.21 picks "Prescott" on CPUs newer than it, 6× slower GEMMs).
final class BLASSetupTests: XCTestCase {
    func testOpenBLASRunsKernelsMatchingTheCPU() throws {
        BLASSetup.prepare()
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else {
            throw XCTSkip("OPENBLAS_CORETYPE is set: the machine chose OpenBLAS's core")
        }
        let core = String(cString: openblas_get_corename())
        let preAVX2 = ["Prescott", "Katmai", "Coppermine", "Northwood", "Core2", "Penryn", "Dunnington",
                       "Nehalem", "Atom", "Sandybridge", "Opteron", "Opteron_SSE3", "Barcelona", "Bobcat", "Nano"]
        if CPUDispatch.supportedLevel >= .avx2 {
            XCTAssertFalse(preAVX2.contains(core), "OpenBLAS still on \(core) on a CPU at \(CPUDispatch.supportedLevel)")
        }
        if let c = BLASSetup.coreCorrection { XCTAssertEqual(c.to, core) }
        // The process environment is left as the user gave it.
        XCTAssertNil(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
    }
}

/// The layer-norm kernels (layer_norm.inc) equal their Swift twins bit for bit at every level.
final class LayerNormKernelTests: XCTestCase {
    private func expectEqual(_ got: [[Float]], _ want: [[Float]], _ names: [String], _ what: String) {
        for (k, name) in names.enumerated() {
            if let i = CPUDispatchTests.firstDifference(got[k], want[k]) {
                XCTFail("\(what): \(name)[\(i)] = \(got[k][i]), Swift \(want[k][i])")
            }
        }
    }

    func testLayerNormKernelsEqualTheSwiftTwinAtEveryLevel() {
        var rng = SystemRandomNumberGenerator()
        for c in [1, 7, 16, 17, 64, 100, 384] {
            let rows = 5   // row 2 sits on a large common offset
            let x = (0..<rows * c).map { i in Float.random(in: -3...3, using: &rng) + (i / c == 2 ? 1000 : 0) }
            let w = (0..<c).map { _ in Float.random(in: 0.5...1.5, using: &rng) }
            let b = (0..<c).map { _ in Float.random(in: -1...1, using: &rng) }
            let dout = (0..<rows * c).map { _ in Float.random(in: -1...1, using: &rng) }
            for (hasW, hasB) in [(true, true), (true, false), (false, true), (false, false)] {
                func forward(_ level: CPULevel?) -> [[Float]] {
                    var y = [Float](repeating: 0, count: rows * c), mean = [Float](repeating: 0, count: rows), rstd = mean
                    w.withUnsafeBufferPointer { wb in
                        b.withUnsafeBufferPointer { bb in
                            let (wp, bp) = (hasW ? wb.baseAddress : nil, hasB ? bb.baseAddress : nil)
                            if let level {
                                layerNormForward(&y, &mean, &rstd, x, wp, bp, rows: rows, c: c, eps: 1e-5,
                                                 kernels: CPUDispatch.kernels(for: level)!)
                            } else {
                                layerNormForwardRows(0..<rows, &y, &mean, &rstd, x, wp, bp, c: c, eps: 1e-5)
                            }
                        }
                    }
                    return [y, mean, rstd]
                }
                let want = forward(nil)
                for level in CPUDispatch.runnableLevels {
                    expectEqual(forward(level), want, ["y", "mean", "rstd"], "layer norm c = \(c) w \(hasW) b \(hasB) at \(level)")
                }
                let weight = hasW ? w : [Float](repeating: 1, count: c)
                func backward(_ level: CPULevel?) -> [[Float]] {
                    // dw and db start non-zero: the kernel accumulates into them.
                    var dx = [Float](repeating: 0, count: rows * c), dw = [Float](repeating: 0.25, count: c)
                    var db = [Float](repeating: -0.5, count: c)
                    if let level {   // the kernel itself: layerNormBackward may split the rows into chunks
                        CPUDispatch.kernels(for: level)!.pointee.layer_norm_backward!(&dx, &dw, &db, dout, x, weight, want[1],
                                                                                      want[2], rows, c)
                    } else {
                        layerNormBackwardRows(0..<rows, &dx, &dw, &db, dout, x, weight, want[1], want[2], c: c)
                    }
                    return [dx, dw, db]
                }
                let wantB = backward(nil)
                for level in CPUDispatch.runnableLevels {
                    expectEqual(backward(level), wantB, ["dx", "dw", "db"], "layer norm backward c = \(c) at \(level)")
                }
            }
        }
    }
}
