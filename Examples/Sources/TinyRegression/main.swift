import Heed

#if canImport(Glibc)
import Glibc
#endif

// Fits a 2-layer MLP, 2 → 16 (tanh) → 1, to y = tanh(2·x₀) + x₀·x₁ on 256 random points with plain
// gradient descent, printing the mean squared error. Exits 1 if the loss did not go down, so CI
// notices when the public API stops doing what a user expects.

let n = 256, hidden = 16
let steps = 200, lr: Float = 0.1

// Data: x ~ U[-1, 1)², y = tanh(2·x₀) + x₀·x₁ (no gradients needed).
let x = Tensor.randomUniform([n, 2], low: -1, high: 1, seed: 1)          // (n, 2)
let x0 = x.slice(axis: 1, 0..<1), x1 = x.slice(axis: 1, 1..<2)           // (n, 1) views
let y = (2 * x0).tanh() + x0 * x1                                        // (n, 1)

/// y = tanh(x·w1 + b1)·w2 + b2. Weights N(0, 1/fan_in), biases zero.
struct MLP {
    let w1, b1, w2, b2: Tensor

    init(inputs: Int, hidden: Int, seed: UInt64) {
        w1 = Tensor.randomNormal([inputs, hidden], std: 1 / Float(inputs).squareRoot(), seed: seed).requiringGrad()
        b1 = Tensor.zeros([hidden]).requiringGrad()
        w2 = Tensor.randomNormal([hidden, 1], std: 1 / Float(hidden).squareRoot(), seed: seed + 1).requiringGrad()
        b2 = Tensor.zeros([1]).requiringGrad()
    }

    var parameters: [Tensor] { [w1, b1, w2, b2] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = (x.matmul(w1) + b1).tanh()                               // (n, hidden)
        return h.matmul(w2) + b2                                         // (n, 1)
    }
}

let model = MLP(inputs: 2, hidden: hidden, seed: 2)

var losses: [Float] = []
for step in 0...steps {
    let loss = (model(x) - y).square().mean()
    losses.append(loss.item)
    if step % 25 == 0 { print("step \(step): loss \(loss.item)") }
    if step == steps { break }

    loss.backward()
    for p in model.parameters {
        guard let g = p.grad else {
            print("FAIL: a parameter of shape \(p.shape) got no gradient")
            exit(1)
        }
        noGrad { p -= lr * g }
        p.zeroGrad()
    }
}

let first = losses.first!, last = losses.last!
guard last.isFinite, last < 0.5 * first else {
    print("FAIL: loss went from \(first) to \(last); expected it to at least halve")
    exit(1)
}
print("loss \(first) → \(last) in \(steps) steps: OK")
