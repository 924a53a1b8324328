/// Integer indexing: `indexSelect` (embedding lookup) and `gather` (PyTorch's `torch.gather`).
/// Indices arrive as `[Int]` or as Float tensors holding whole numbers (Heed has one dtype;
/// Float32 represents every integer up to 2²⁴ exactly). Backward scatters-adds the gradient.
extension Tensor {
    /// Picks entries along `axis` by index. The result's shape is
    /// `shape[..<axis] + indexShape + shape[(axis+1)...]`; with a table [V, D] and ids [B, N]
    /// that is the embedding lookup [B, N, D].
    public func indexSelect(axis: Int, _ indices: [Int], indexShape: [Int]? = nil) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank, op: "indexSelect")
        let ishape = indexShape ?? [indices.count]
        check(shapeCount(ishape) == indices.count,
              "indexSelect: index shape \(ishape) does not hold \(indices.count) indices")
        let n = shape[ax]
        for i in indices {
            check(i >= 0 && i < n, "indexSelect: index \(i) out of range for axis \(axis) of shape \(shape)")
        }
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        let src = noGrad { detach().contiguous() }
        let out = Tensor(uninitializedShape: Array(shape[..<ax]) + ishape + Array(shape[(ax + 1)...]))
        let ps = src.base, po = out.base
        let k = indices.count
        indices.withUnsafeBufferPointer { idx in
            for o in 0..<outer {
                for j in 0..<k {
                    (po + (o * k + j) * inner).update(from: ps + (o * n + idx[j]) * inner, count: inner)
                }
            }
        }
        let x = self
        return out.recorded("indexSelect", [x]) { g in
            let gc = g.contiguous()
            let dx = Tensor.zeros(x.shape)
            let pg = gc.base, pd = dx.base
            for o in 0..<outer {
                for j in 0..<k {
                    let d = pd + (o * n + indices[j]) * inner, s = pg + (o * k + j) * inner
                    for e in 0..<inner { d[e] += s[e] }
                }
            }
            return [dx]
        }
    }

    /// `indexSelect` with indices from a tensor of whole numbers.
    public func indexSelect(axis: Int, _ indices: Tensor) -> Tensor {
        indexSelect(axis: axis, indices.integerValues(op: "indexSelect"), indexShape: indices.shape)
    }

    /// out[i₀…iₙ] = self[i₀…index[i₀…iₙ]…iₙ] with the index replacing position `axis`
    /// (`torch.gather`). `index` has the same rank; its sizes may be smaller than self's.
    public func gather(axis: Int, index: Tensor) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank, op: "gather")
        check(index.rank == rank && (0..<rank).allSatisfy { $0 == ax || index.shape[$0] <= shape[$0] },
              "gather: index of shape \(index.shape) does not fit a tensor of shape \(shape) along axis \(axis)")
        let idx = index.integerValues(op: "gather")
        for i in idx {
            check(i >= 0 && i < shape[ax], "gather: index \(i) out of range for axis \(axis) of shape \(shape)")
        }
        let offsets = gatherOffsets(index.shape, idx, ax)
        let out = Tensor(uninitializedShape: index.shape)
        for (j, o) in offsets.enumerated() { out.base[j] = base[o] }
        let x = self
        return out.recorded("gather", [x]) { g in
            let gc = g.contiguous()
            let dx = Tensor.zeros(x.shape)
            let dOffsets = dx.gatherOffsets(index.shape, idx, ax)
            for (j, o) in dOffsets.enumerated() { dx.base[o] += gc.base[j] }
            return [dx]
        }
    }

    /// Storage offsets (relative to `base`) addressed by a gather with this index layout.
    private func gatherOffsets(_ ishape: [Int], _ idx: [Int], _ ax: Int) -> [Int] {
        var offsets = [Int](repeating: 0, count: idx.count)
        var pos = [Int](repeating: 0, count: ishape.count)
        for j in 0..<idx.count {
            var o = 0
            for d in 0..<ishape.count { o += (d == ax ? idx[j] : pos[d]) * strides[d] }
            offsets[j] = o
            var d = ishape.count - 1
            while d >= 0 {
                pos[d] += 1
                if pos[d] < ishape[d] { break }
                pos[d] = 0
                d -= 1
            }
        }
        return offsets
    }

    /// The elements as integers; a programmer error if any is not a whole number.
    func integerValues(op: String) -> [Int] {
        scalars.map { v in
            check(v == v.rounded() && Swift.abs(v) <= 16_777_216,
                  "\(op): index value \(v) is not a whole number")
            return Int(v)
        }
    }
}
