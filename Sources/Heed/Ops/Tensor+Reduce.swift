/// Reductions over any set of axes (`nil` = all), with `keepDims` as in NumPy/PyTorch.
extension Tensor {
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizeAxes(axes, rank: rank, op: "sum")
        let x = self
        return reduceRaw(ax, keepDims: keepDims, SumReducer.self).recorded("sum", [x]) { g in
            [g.reshaped(x.reducedShape(ax, keepDims: true)).expanded(x.shape)]
        }
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizeAxes(axes, rank: rank, op: "mean")
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) * (1 / Float(n))   // empty → 0·∞ = NaN, as PyTorch
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Σ(x − mean)² / (N − correction). `correction: 0` is the population variance (NumPy and
    /// mlx default, what LayerNorm uses); pass 1 for PyTorch's unbiased default.
    /// Two passes (mean, then squared deviations) for accuracy; composed, so autograd is free.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, correction: Int = 0) -> Tensor {
        let ax = normalizeAxes(axes, rank: rank, op: "variance")
        let n = ax.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(axes: ax, keepDims: true)
        return (centered * centered).sum(axes: ax, keepDims: keepDims) * (1 / Float(Swift.max(n - correction, 0)))
    }

    /// Largest element; the gradient is shared equally among tied maxima (as `torch.amax`).
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes, keepDims, MaxReducer.self, "max")
    }

    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes, keepDims, MinReducer.self, "min")
    }

    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    private func extremum<R: Reducer>(_ axes: [Int]?, _ keepDims: Bool, _ r: R.Type, _ op: String) -> Tensor {
        let ax = normalizeAxes(axes, rank: rank, op: op)
        let x = self
        let out = reduceRaw(ax, keepDims: keepDims, r)
        return out.recorded(op, [x]) { g in
            let kept = x.reducedShape(ax, keepDims: true)
            let hit = x .== out.reshaped(kept)
            let ties = hit.sum(axes: ax, keepDims: true)
            return [hit * (g.reshaped(kept) / ties)]
        }
    }

    /// Index of the largest element along `axis` (the first on ties), as Float values
    /// (Heed's one dtype; exact up to 2²⁴). Not differentiable.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor { argExtremum(axis, keepDims, greater: true) }

    public func argmin(axis: Int, keepDims: Bool = false) -> Tensor { argExtremum(axis, keepDims, greater: false) }

    private func argExtremum(_ axis: Int, _ keepDims: Bool, greater: Bool) -> Tensor {
        let op = greater ? "argmax" : "argmin"
        let ax = normalizeAxis(axis, rank: rank, op: op)
        check(shape[ax] > 0, "\(op): axis \(axis) of shape \(shape) is empty")
        let (src, outer, n, _) = ax == rank - 1 && isContiguous
            ? (self, count / shape[ax], shape[ax], 1) : movedLast(ax)
        let out = Tensor(uninitializedShape: reducedShape([ax], keepDims: keepDims))
        let p = src.base, o = out.base
        for r in 0..<outer {
            let row = p + r * n
            var best = row[0], bi = 0
            for i in 1..<n {
                let v = row[i]
                if greater ? v > best : v < best { best = v; bi = i }
            }
            o[r] = Float(bi)
        }
        return out
    }

    /// Copy with `axis` moved last, as an [outer, n, 1] layout.
    private func movedLast(_ ax: Int) -> (source: Tensor, outer: Int, reduce: Int, inner: Int) {
        let order = (0..<rank).filter { $0 != ax } + [ax]
        let moved = detach().permuted(order)
        let c = Tensor(uninitializedShape: moved.shape)
        copyStrided(from: moved, to: c)
        return (c, count / shape[ax], shape[ax], 1)
    }

    /// log Σ exp(x) without overflow: max + log Σ exp(x − max). Rows that are all −∞ give −∞.
    /// The backward is g·softmax(x), written out so that an all −∞ row gets a zero gradient
    /// (as softmax gives zeros for it) instead of 0/0.
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizeAxes(axes, rank: rank, op: "logsumexp")
        let x = self
        let (m, total) = noGrad { () -> (Tensor, Tensor) in
            let raw = x.max(axes: ax, keepDims: true)
            let m = raw.maskedFill(raw.abs() .== .infinity, 0)  // ±∞ max: shift by 0 instead
            return (m, (x - m).exp().sum(axes: ax, keepDims: true))
        }
        let lse = noGrad { total.log() + m }
        let out = keepDims ? lse : lse.reshaped(reducedShape(ax, keepDims: false))
        return out.recorded("logsumexp", [x]) { g in
            // e^(x − m)/Σ rather than e^(x − lse): x − lse loses digits when |x| ≫ 1.
            let weights = ((x - m).exp() / total).maskedFill(total .== 0, 0)
            return [weights * g.reshaped(lse.shape)]
        }
    }

    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor { logSumExp(axes: [axis], keepDims: keepDims) }
}
