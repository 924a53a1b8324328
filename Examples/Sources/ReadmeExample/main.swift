// The API example in README.md, verbatim (between the markers), so CI proves it compiles and runs.
// README-BEGIN
import Heed

// One causal self-attention head over 4 tokens of width 8.
let n = 4, d = 8
let x = Tensor.randomNormal([n, d], seed: 0)                              // (n, d) input
let wq = Tensor.randomNormal([d, d], std: 0.3, seed: 1).requiringGrad()   // parameters
let wk = Tensor.randomNormal([d, d], std: 0.3, seed: 2).requiringGrad()

let q = x.matmul(wq), k = x.matmul(wk)                                    // (n, d)
let future = Tensor.arange(n).reshaped([n, 1]) .< Tensor.arange(n)        // 0/1 mask, (n, n)
let scores = (q.matmul(k.T) / Float(d).squareRoot()).maskedFill(future, -.infinity)
let out = scores.softmax(axis: -1).matmul(x)                              // (n, d)

let loss = out.square().mean()
loss.backward()                                                           // fills wq.grad, wk.grad
print("loss", loss.item)
print("dloss/dwq", wq.grad!)

noGrad { wq -= 0.1 * wq.grad! }                                           // one SGD step
wq.zeroGrad()
// README-END
