/// Joining and splitting along an axis. `split` returns views; `concatenate` copies once.
extension Tensor {
    /// Joins tensors whose shapes agree except along `axis`.
    public static func concatenate(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        check(!tensors.isEmpty, "concatenate: no tensors given")
        let first = tensors[0]
        let ax = normalizeAxis(axis, rank: first.rank, op: "concatenate")
        for t in tensors {
            check(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
                  "concatenate: shapes \(tensors.map(\.shape)) differ outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[ax] = tensors.reduce(0) { $0 + $1.shape[ax] }
        let out = Tensor(uninitializedShape: outShape)
        var ranges: [Range<Int>] = []
        var start = 0
        for t in tensors {
            let r = start..<(start + t.shape[ax])
            copyStrided(from: t, to: out.slice(axis: ax, r))
            ranges.append(r)
            start = r.upperBound
        }
        return out.recorded("concatenate", tensors) { g in
            zip(tensors, ranges).map { t, r in t.requiresGrad ? g.slice(axis: ax, r) : nil }
        }
    }

    /// Joins equally shaped tensors along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        check(!tensors.isEmpty, "stack: no tensors given")
        check(tensors.allSatisfy { $0.shape == tensors[0].shape },
              "stack: shapes differ: \(tensors.map(\.shape))")
        let ax = normalizeAxis(axis, rank: tensors[0].rank + 1, op: "stack")
        return concatenate(tensors.map { $0.unsqueezed(ax) }, axis: ax)
    }

    /// Views of consecutive pieces of the given sizes along `axis` (sizes must add up).
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let ax = normalizeAxis(axis, rank: rank, op: "split")
        check(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[ax],
              "split: sizes \(sizes) do not add up to \(shape[ax]) along axis \(axis) of shape \(shape)")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return slice(axis: ax, start..<(start + s))
        }
    }

    /// `parts` equal views along `axis` (the size must divide evenly).
    public func split(into parts: Int, axis: Int = 0) -> [Tensor] {
        let ax = normalizeAxis(axis, rank: rank, op: "split")
        check(parts > 0 && shape[ax] % parts == 0,
              "split: axis \(axis) of shape \(shape) does not split into \(parts) equal parts")
        return split(sizes: Array(repeating: shape[ax] / parts, count: parts), axis: ax)
    }
}
