import Heed

// A tiny end-to-end check of the engine: a tensor expression, its gradient, printed.
let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).requiringGrad()
let w = Tensor([0.5, -1, 2], shape: [3, 1]).requiringGrad()
let y = (x.matmul(w).tanh() + x.softmax(axis: 1).sum(axis: 1, keepDims: true)).sum()
y.backward()
print("y =", y.item)
print("dy/dx =", x.grad!)
print("dy/dw =", w.grad!)

// One manual gradient step, as an optimizer would take it.
noGrad { w -= 0.1 * w.grad! }
print("w after one SGD step =", w)
