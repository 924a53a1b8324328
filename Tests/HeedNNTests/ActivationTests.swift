import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class ActivationTests: XCTestCase {
    let x = Tensor([-2, -0.5, 0, 0.5, 1, 3])

    func testHandComputedValues() {
        let xs: [Double] = [-2, -0.5, 0, 0.5, 1, 3]
        let phi = { (v: Double) in 0.5 * (1 + erf(v / 2.squareRoot())) }
        let geluTanh = { (v: Double) in 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))) }
        assertClose(ReLU()(x), [0, 0, 0, 0.5, 1, 3], rtol: 0, atol: 0, "relu")
        assertClose(GELU()(x), xs.map { Float($0 * phi($0)) }, rtol: 1e-5, atol: 1e-6, "gelu exact")
        assertClose(GELU(approximation: .tanh)(x), xs.map { Float(geluTanh($0)) }, rtol: 1e-5, atol: 1e-6, "gelu tanh")
        assertClose(Tanh()(x), xs.map { Float(tanh($0)) }, rtol: 1e-5, atol: 1e-6, "tanh")
        assertClose(Sigmoid()(x), xs.map { Float(1 / (1 + exp(-$0))) }, rtol: 1e-5, atol: 1e-6, "sigmoid")
        // gelu(1) = Φ(1) = 0.841345, sigmoid(0) = 1/2: two values by hand.
        XCTAssertEqual(GELU()(Tensor([1])).item, 0.841345, accuracy: 1e-6)
        XCTAssertEqual(Sigmoid()(Tensor([0])).item, 0.5)
    }

    func testEnumMatchesModules() {
        let layers: [(Activation, any UnaryLayer)] = [(.relu, ReLU()), (.gelu, GELU()), (.geluTanh, GELU(approximation: .tanh)),
                                                      (.tanh, Tanh()), (.sigmoid, Sigmoid())]
        for (f, layer) in layers {
            XCTAssertEqual(f(x).scalars, layer(x).scalars, "\(f)")
            XCTAssertEqual(layer.parameterCount, 0)
        }
    }

    func testGradients() {
        // Inputs away from relu's kink at 0.
        let v = Tensor([-1.5, -0.3, 0.2, 0.7, 2.1, 1.1], shape: [2, 3])
        for (name, layer) in [("relu", ReLU()), ("gelu", GELU()), ("geluTanh", GELU(approximation: .tanh)),
                              ("tanh", Tanh()), ("sigmoid", Sigmoid())] as [(String, any UnaryLayer)] {
            gradCheck(name, [v]) { layer($0[0]) }
        }
    }
}
