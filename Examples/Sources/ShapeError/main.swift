import Heed

// A shape error, made on purpose, as a user's release build would meet it: Heed's checks stop
// with the op and the shapes at every optimisation level (a `precondition` would print nothing
// at -O). CI builds this with `-c release`, runs it and expects the message on stderr:
//
//     Fatal error: matmul: inner dimensions differ: [2, 3] × [4, 5]

let a = Tensor.zeros([2, 3]), b = Tensor.zeros([4, 5])
let c = a.matmul(b)
print("not reached: \(c.shape)")
