/// Softmax and log-softmax along one axis: fused row kernels forward and backward (composing
/// them from exp/sum/div would cost three extra passes and two temporaries).
extension Tensor {
    public func softmax(axis: Int = -1) -> Tensor {
        rowwise(axis, "softmax", forward: softmaxRows, backward: softmaxBackwardRows)
    }

    public func logSoftmax(axis: Int = -1) -> Tensor {
        rowwise(axis, "logSoftmax", forward: logSoftmaxRows, backward: logSoftmaxBackwardRows)
    }

    /// Runs a row kernel along `axis`: directly when it is the contiguous last axis, otherwise
    /// on a copy with the axis moved last, returning a permuted view of the result.
    private func rowwise(
        _ axis: Int, _ op: String,
        forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void,
        backward: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void
    ) -> Tensor {
        let x = self
        if rank == 0 {   // a single element: run it as a length-1 row so the graph stays connected
            return reshaped([1]).rowwise(0, op, forward: forward, backward: backward).reshaped([])
        }
        let ax = normalizeAxis(axis, rank: rank, op: op)
        let last = ax == rank - 1
        let order = (0..<rank).filter { $0 != ax } + [ax]
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in order.enumerated() { inverse[a] = i }
        let moved = last ? x.detach() : x.detach().permuted(order)
        let src = moved.contiguous()
        let n = shape[ax], rows = n == 0 ? 0 : count / n
        let y = Tensor(uninitializedShape: src.shape)
        forward(src.base, y.base, rows, n)
        let out = last ? y : y.permuted(inverse)
        return out.recorded(op, [x]) { g in
            let gm = (last ? g : g.permuted(order)).contiguous()
            let dx = Tensor(uninitializedShape: y.shape)
            backward(y.base, gm.base, dx.base, rows, n)
            return [last ? dx : dx.permuted(inverse)]
        }
    }
}
