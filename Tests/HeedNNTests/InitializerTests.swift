import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// Statistical checks use fixed seeds (so they are deterministic) and a tolerance of 5 standard
/// errors of the estimator, computed from the target distribution: a correct initialiser fails
/// for fewer than 1 in 10⁶ seeds, while a wrong scale (e.g. a fan of in + out instead of in) is
/// off by tens of standard errors.
final class InitializerTests: XCTestCase {
    /// (mean of w, mean of w²) in Double.
    static func moments(_ t: Tensor) -> (mean: Double, meanSquare: Double, n: Double) {
        let v = t.scalars.map(Double.init), n = Double(v.count)
        return (v.reduce(0, +) / n, v.reduce(0) { $0 + $1 * $1 } / n, n)
    }

    func testFans() {
        XCTAssertTrue(Initializer.fans([10, 20]) == (20, 10), "Linear weight [out, in]")
        XCTAssertTrue(Initializer.fans([8, 4, 3, 3]) == (36, 72), "conv weight [out, in, kh, kw]")
        XCTAssertTrue(Initializer.fans([7]) == (7, 7), "a bias")
    }

    /// U(±b), b = √(6/(fanIn + fanOut)) = √(6/500) = 0.10954. E[w²] = b²/3 = 2/500 = 0.004 and
    /// Var(w²) = b⁴/5 − b⁴/9 = 4b⁴/45, so the sample E[w²] over n = 60,000 has standard error
    /// √(4/45)·b²/√n (0.37 % of the target); the mean has standard error b/√(3n).
    func testGlorotUniformBoundsAndVariance() {
        let w = Initializer.glorotUniform()([200, 300], seed: 1)
        XCTAssertEqual(w.shape, [200, 300])
        XCTAssertFalse(w.requiresGrad)
        let b = (6.0 / 500).squareRoot()
        let values = w.scalars
        XCTAssertTrue(values.allSatisfy { abs(Double($0)) <= b }, "within ±√(6/(fanIn + fanOut))")
        XCTAssertGreaterThan(Double(values.map(abs).max()!), 0.999 * b, "and reaching the bound (P(miss) = 0.999ⁿ ≈ 1e-26)")
        let m = Self.moments(w)
        XCTAssertEqual(m.mean, 0, accuracy: 5 * b / (3 * m.n).squareRoot())
        XCTAssertEqual(m.meanSquare, 2.0 / 500, accuracy: 5 * (4.0 / 45).squareRoot() * b * b / m.n.squareRoot())
        // gain scales the bound.
        let g = Initializer.glorotUniform(gain: 2)([200, 300], seed: 1)
        assertClose(g, w * 2, rtol: 1e-6, atol: 0, "gain 2 = twice the same draw")
    }

    func testGlorotNormalVariance() {
        let w = Initializer.glorotNormal()([300, 200], seed: 2)
        let m = Self.moments(w)
        // Normal: Var(w²) = 2σ⁴, so E[w²]'s standard error is σ²·√(2/n).
        XCTAssertEqual(m.meanSquare, 2.0 / 500, accuracy: 5 * 2.0 / 500 * (2 / m.n).squareRoot())
    }

    /// He: Var = gain²/fanIn = 2/512 for ReLU's gain √2, by fanOut 2/256. Standard errors as
    /// above: σ²·√(2/n) for the normal, √(4/45)·b²/√n for the uniform (b = √3·σ).
    func testKaimingVariances() {
        let shape = [256, 512]
        let normal = Self.moments(Initializer.kaimingNormal()(shape, seed: 3))
        XCTAssertEqual(normal.meanSquare, 2.0 / 512, accuracy: 5 * 2.0 / 512 * (2 / normal.n).squareRoot())
        let byFanOut = Self.moments(Initializer.kaimingNormal(mode: .fanOut)(shape, seed: 4))
        XCTAssertEqual(byFanOut.meanSquare, 2.0 / 256, accuracy: 5 * 2.0 / 256 * (2 / byFanOut.n).squareRoot())

        let u = Initializer.kaimingUniform()(shape, seed: 5)
        let b = (6.0 / 512).squareRoot()   // √3·σ
        XCTAssertTrue(u.scalars.allSatisfy { abs(Double($0)) <= b })
        let um = Self.moments(u)
        XCTAssertEqual(um.meanSquare, 2.0 / 512, accuracy: 5 * (4.0 / 45).squareRoot() * b * b / um.n.squareRoot())
        // gain √(1/3) by fanIn is PyTorch's nn.Linear default, U(±1/√fanIn).
        let linearDefault = Initializer.kaimingUniform(gain: (1 / Float(3)).squareRoot())([4, 100], seed: 6)
        XCTAssertTrue(linearDefault.scalars.allSatisfy { abs($0) <= 0.1 + 1e-7 })
        XCTAssertGreaterThan(linearDefault.scalars.map(abs).max()!, 0.099)
    }

    /// N(0, σ²) cut at ±2σ. With Z = 2Φ(2) − 1 and φ the standard normal density, the truncated
    /// moments are E[z²] = 1 − 4φ(2)/Z = 0.7737 and E[z⁴] = 3E[z²] − 16φ(2)/Z; the sample E[w²]
    /// over n = 65,536 has standard error σ²·√((E[z⁴] − E[z²]²)/n) (0.46 % of the target).
    func testTruncatedNormal() {
        let std: Float = 0.5
        let w = Initializer.truncatedNormal(std: std)([256, 256], seed: 7)
        XCTAssertTrue(w.scalars.allSatisfy { abs($0) <= 2 * std }, "within ±2σ")
        XCTAssertGreaterThan(w.scalars.map(abs).max()!, 0.99 * 2 * std, "the tails are kept up to the cut")
        let phi2 = exp(-2.0) / (2 * Double.pi).squareRoot(), z = erf(2 / 2.squareRoot())
        let ez2 = 1 - 4 * phi2 / z, ez4 = 3 * ez2 - 16 * phi2 / z
        let s2 = Double(std * std)
        let m = Self.moments(w)
        XCTAssertEqual(m.meanSquare, s2 * ez2, accuracy: 5 * s2 * ((ez4 - ez2 * ez2) / m.n).squareRoot())
        XCTAssertEqual(m.mean, 0, accuracy: 5 * (s2 * ez2 / m.n).squareRoot())
        // With a mean: the cut is around it.
        let shifted = Initializer.truncatedNormal(mean: 3, std: 0.1)([1000], seed: 8)
        XCTAssertTrue(shifted.scalars.allSatisfy { abs($0 - 3) <= 0.2 + 1e-6 })
        // Deterministic with a seed (the redraws included), different across seeds.
        XCTAssertEqual(Initializer.truncatedNormal()([500], seed: 9).scalars, Initializer.truncatedNormal()([500], seed: 9).scalars)
        XCTAssertNotEqual(Initializer.truncatedNormal()([500], seed: 9).scalars, Initializer.truncatedNormal()([500], seed: 10).scalars)
        // Without one, repeatable through the global generator.
        HeedRandom.manualSeed(11)
        let a = Initializer.truncatedNormal()([50])
        HeedRandom.manualSeed(11)
        XCTAssertEqual(Initializer.truncatedNormal()([50]).scalars, a.scalars)
    }

    /// WᵀW = gain²·I for square and tall shapes, WWᵀ = gain²·I for wide ones (float rounding of
    /// Householder QR: ~10 ulp, so 1e-5 absolute).
    func testOrthogonalGram() {
        for (shape, gain) in [([8, 8], Float(1)), ([12, 5], 1), ([5, 12], 1), ([4, 2, 3], 1), ([10, 6], 2)] {
            let w = Initializer.orthogonal(gain: gain)(shape, seed: 12)
            XCTAssertEqual(w.shape, shape)
            let rows = shape[0], cols = w.count / rows
            let m = w.reshaped([rows, cols])
            let gram = rows >= cols ? m.T.matmul(m) : m.matmul(m.T)
            let k = min(rows, cols)
            let identity = (0..<(k * k)).map { $0 / k == $0 % k ? gain * gain : 0 }
            assertClose(gram, identity, rtol: 0, atol: 1e-5 * gain * gain, "orthogonal \(shape) gain \(gain)")
        }
    }

    /// The sign fix: W is Q of the seeded normal matrix A with R's diagonal made positive, so
    /// Wᵀ·A (tall) or W·Aᵀ (wide) is upper triangular with a positive diagonal — the unique
    /// such QR. A comes from the same seed: orthogonal draws A = randomNormal([rows, cols]) first.
    func testOrthogonalSignConvention() {
        for shape in [[6, 4], [4, 6], [5, 5]] {
            let w = Initializer.orthogonal()(shape, seed: 13)
            let a = Tensor.randomNormal(shape, seed: 13)
            let r = shape[0] >= shape[1] ? w.T.matmul(a) : w.matmul(a.T)     // [k, k]
            let k = r.shape[0]
            for i in 0..<k {
                XCTAssertGreaterThan(r[element: [i, i]], 0.01, "\(shape): diag(R)[\(i)] positive")
                for j in 0..<i { XCTAssertEqual(r[element: [i, j]], 0, accuracy: 1e-5, "\(shape): R[\(i), \(j)] below the diagonal") }
            }
        }
    }

    func testApplyToParameterAndLinearOption() {
        let layer = Linear(6, 4, seed: 14)
        Initializer.orthogonal().apply(to: layer.weight, seed: 15)
        XCTAssertEqual(layer.weight.scalars, Initializer.orthogonal()([4, 6], seed: 15).scalars)
        XCTAssertTrue(layer.weight.requiresGrad && layer.weight.isLeaf, "still a trainable leaf")
        layer(rand([2, 6], 16)).sum().backward()
        XCTAssertNotNil(layer.weight.grad)

        let glorot = Linear(6, 4, initializer: .glorotUniform(), seed: 17)
        XCTAssertEqual(glorot.weight.scalars, Initializer.glorotUniform()([4, 6], seed: 17).scalars)
        XCTAssertEqual(glorot.bias!.scalars, [0, 0, 0, 0], "bias zeros by default")
        XCTAssertTrue(glorot.weight.requiresGrad && glorot.bias!.requiresGrad)
        let custom = Linear(6, 4, bias: true, initializer: .zeros, biasInitializer: .constant(0.5))
        XCTAssertEqual(custom.bias!.scalars, [0.5, 0.5, 0.5, 0.5])
        XCTAssertNil(Linear(6, 4, bias: false, initializer: .kaimingNormal()).bias)
        // The default stays PyTorch's U(±1/√in).
        XCTAssertTrue(Linear(100, 50, seed: 18).weight.scalars.allSatisfy { abs($0) <= 0.1 })
    }
}
