import Heed

/// Labelled examples held in memory: `images` [n, ...] (contiguous, one row per example) and
/// `labels` [n], each in `0..<classNames.count`.
public struct Dataset {
    public let images: Tensor
    public let labels: [Int]
    public let classNames: [String]

    public init(images: Tensor, labels: [Int], classNames: [String]) {
        check(images.rank >= 1 && images.shape[0] == labels.count,
              "Dataset: \(labels.count) labels for images of shape \(images.shape)")
        self.images = noGrad { images.detach().contiguous() }
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { labels.count }
    /// The shape of one example, e.g. [28, 28].
    public var exampleShape: [Int] { Array(images.shape.dropFirst()) }

    /// The examples at `indices`, in that order (rows copied).
    public func subset(_ indices: [Int]) -> Dataset {
        let rows = gatherRows(images, indices)
        return Dataset(images: rows, labels: indices.map { labels[$0] }, classNames: classNames)
    }

    /// Splits off `fraction` of the examples, chosen by a seeded shuffle, as a validation set:
    /// the same seed gives the same split on every machine. Both parts keep the original order.
    public func validationSplit(fraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        check(fraction >= 0 && fraction <= 1, "validationSplit: fraction \(fraction) outside [0, 1]")
        var rng = Xoshiro256(seed: seed)
        let order = seededPermutation(count, using: &rng)
        let validationCount = Int((fraction * Double(count)).rounded())
        let validation = order[..<validationCount].sorted()
        let train = order[validationCount...].sorted()
        return (subset(train), subset(validation))
    }
}

/// A fresh [indices.count, ...] tensor holding `source`'s rows at `indices`: one memcpy per row.
func gatherRows(_ source: Tensor, _ indices: [Int]) -> Tensor {
    let n = source.shape[0]
    let row = source.shape.dropFirst().reduce(1, *)
    let out = Tensor.zeros([indices.count] + source.shape.dropFirst())
    for i in indices { check(i >= 0 && i < n, "gatherRows: index \(i) out of range 0..<\(n)") }
    out.withUnsafeMutableBufferPointer { dst in
        source.withUnsafeBufferPointer { src in
            guard let d = dst.baseAddress, let s = src.baseAddress else { return }  // no elements
            for (r, i) in indices.enumerated() {
                (d + r * row).update(from: s + i * row, count: row)
            }
        }
    }
    return out
}

/// A uniformly random permutation of 0..<n by Fisher–Yates. Written out, rather than
/// `shuffled(using:)`, so the order depends only on the generator's output, not on how the
/// standard library's shuffle happens to consume it.
func seededPermutation(_ n: Int, using rng: inout Xoshiro256) -> [Int] {
    var p = Array(0..<n)
    for i in stride(from: n - 1, to: 0, by: -1) {
        p.swapAt(i, Int(uniformBelow(UInt64(i + 1), using: &rng)))
    }
    return p
}

/// Uniform in 0..<bound without modulo bias (Lemire's multiply-and-reject).
private func uniformBelow(_ bound: UInt64, using rng: inout Xoshiro256) -> UInt64 {
    var m = rng.next().multipliedFullWidth(by: bound)
    if m.low < bound {
        let threshold = (0 &- bound) % bound
        while m.low < threshold { m = rng.next().multipliedFullWidth(by: bound) }
    }
    return m.high
}
