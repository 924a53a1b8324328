/// Views: new shape/strides/offset over the same storage, O(rank), no data copied.
/// Each records a backward that maps the gradient back through the view.
extension Tensor {
    func view(shape: [Int], strides: [Int], offset: Int) -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Same elements in a new shape; one dimension may be -1 (inferred). A view whenever the
    /// strides allow it (always for contiguous tensors), otherwise a copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        check(inferred.count <= 1, "reshape: more than one -1 in \(newShape)")
        if let i = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            check(known > 0 && count % known == 0,
                  "reshape: cannot reshape \(shape) to \(newShape)")
            target[i] = count / known
        }
        check(target.allSatisfy { $0 >= 0 } && shapeCount(target) == count,
              "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        let source = self
        let result: Tensor
        if let st = viewStrides(for: target) {
            result = view(shape: target, strides: st, offset: offset)
        } else {
            let out = Tensor(uninitializedShape: shape)
            copyStrided(from: self, to: out)
            result = out.view(shape: target, strides: contiguousStrides(target), offset: 0)
        }
        return result.recorded("reshape", [source]) { g in [g.reshaped(source.shape)] }
    }

    /// Strides that read this view in `target` shape without copying, or nil (NumPy's rule:
    /// each group of old dims that merges into new dims must itself be contiguous).
    private func viewStrides(for target: [Int]) -> [Int]? {
        if isContiguous { return contiguousStrides(target) }
        let old = zip(shape, strides).filter { $0.0 != 1 }
        var out = [Int](repeating: 0, count: target.count)
        var oi = 0
        var ti = 0
        while ti < target.count {
            if target[ti] == 1 { out[ti] = 1; ti += 1; continue }
            guard oi < old.count else { return nil }
            // Grow a group of old dims and a group of new dims until their sizes match.
            var oldSize = old[oi].0, newSize = target[ti]
            let groupStartOld = oi, groupStartNew = ti
            while oldSize != newSize {
                if oldSize < newSize {
                    oi += 1
                    guard oi < old.count else { return nil }
                    oldSize *= old[oi].0
                } else {
                    ti += 1
                    guard ti < target.count else { return nil }
                    newSize *= target[ti]
                }
            }
            for j in groupStartOld..<oi where old[j].1 != old[j + 1].1 * old[j + 1].0 { return nil }
            var s = old[oi].1
            for j in stride(from: ti, through: groupStartNew, by: -1) {
                out[j] = s
                s *= target[j]
            }
            oi += 1
            ti += 1
        }
        return oi == old.count ? out : nil
    }

    /// Reorders the dimensions: result dim i is input dim `axes[i]`.
    public func permuted(_ axes: [Int]) -> Tensor {
        check(axes.count == rank && Set(axes.map { normalizeAxis($0, rank: rank, op: "permute") }).count == rank,
              "permute: \(axes) is not a permutation of the \(rank) axes of a tensor of shape \(shape)")
        let ax = axes.map { normalizeAxis($0, rank: rank, op: "permute") }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in ax.enumerated() { inverse[a] = i }
        return view(shape: ax.map { shape[$0] }, strides: ax.map { strides[$0] }, offset: offset)
            .recorded("permute", [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (by default the last two: the matrix transpose of a batch).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        check(rank >= 2 || (rank == 1 && a == -2 && b == -1), "transpose: tensor of shape \(shape) has fewer than 2 axes")
        if rank < 2 { return self }
        var axes = Array(0..<rank)
        axes.swapAt(normalizeAxis(a, rank: rank, op: "transpose"), normalizeAxis(b, rank: rank, op: "transpose"))
        return permuted(axes)
    }

    /// The matrix transpose of a 2-D tensor.
    public var T: Tensor { transposed() }

    /// Elements `range` (stepping by `step`) along `axis`, as a view.
    public func slice(axis: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank, op: "slice")
        check(step > 0, "slice: step must be positive, got \(step)")
        check(range.lowerBound >= 0 && range.upperBound <= shape[ax],
              "slice: range \(range) out of bounds for axis \(axis) of shape \(shape)")
        var newShape = shape, newStrides = strides
        newShape[ax] = (range.count + step - 1) / step
        newStrides[ax] = strides[ax] * step
        let source = self
        return view(shape: newShape, strides: newStrides, offset: offset + range.lowerBound * strides[ax])
            .recorded("slice", [source]) { g in
                let full = Tensor.zeros(source.shape)
                copyStrided(from: g, to: full.slice(axis: ax, range, step: step))
                return [full]
            }
    }

    /// The sub-tensor at `index` along `axis` (that axis removed), as a view.
    public func select(axis: Int, _ index: Int) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank, op: "select")
        let i = index < 0 ? index + shape[ax] : index
        check(i >= 0 && i < shape[ax], "select: index \(index) out of range for axis \(axis) of shape \(shape)")
        var s = shape; s.remove(at: ax)
        return slice(axis: ax, i..<(i + 1)).reshaped(s)
    }

    /// `t[i]` selects along the first axis.
    public subscript(_ index: Int) -> Tensor { select(axis: 0, index) }

    /// Broadcasts to `newShape` without copying (stride 0 on expanded axes). -1 keeps a size.
    public func expanded(_ newShape: [Int]) -> Tensor {
        let lead = newShape.count - rank
        check(lead >= 0, "expand: cannot expand shape \(shape) to \(newShape)")
        let target = newShape.enumerated().map { i, n in n == -1 && i >= lead ? shape[i - lead] : n }
        let st = broadcastStrides(to: target)
        if target == shape { return self }
        let source = self
        return view(shape: target, strides: st, offset: offset)
            .recorded("expand", [source]) { g in [reduceGradient(g, to: source.shape)] }
    }

    /// Inserts a size-1 axis at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank + 1, op: "unsqueeze")
        var s = shape; s.insert(1, at: ax)
        return reshaped(s)
    }

    /// Removes size-1 axes (all of them, or just `axis`).
    public func squeezed(_ axis: Int? = nil) -> Tensor {
        if let axis {
            let ax = normalizeAxis(axis, rank: rank, op: "squeeze")
            check(shape[ax] == 1, "squeeze: axis \(axis) of shape \(shape) has size \(shape[ax]), not 1")
            var s = shape; s.remove(at: ax)
            return reshaped(s)
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// Merges axes `start...end` into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = normalizeAxis(start, rank: rank, op: "flatten"), e = normalizeAxis(end, rank: rank, op: "flatten")
        check(s <= e, "flatten: start axis \(start) after end axis \(end) for shape \(shape)")
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }
}
