/// Shape arithmetic shared by every op: strides, broadcasting, axis normalisation.
/// All failures here are programmer errors and stop with the op's name and the shapes.

/// Row-major (C-order) strides for `shape`.
@inlinable
public func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = acc
        acc *= max(shape[i], 1)
    }
    return strides
}

@inlinable
func shapeCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// NumPy broadcasting: align from the right; sizes must match or be 1.
public func broadcastShapes(_ a: [Int], _ b: [Int], op: String) -> [Int] {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let da = i < n - a.count ? 1 : a[i - (n - a.count)]
        let db = i < n - b.count ? 1 : b[i - (n - b.count)]
        check(da == db || da == 1 || db == 1,
              "\(op): shapes \(a) and \(b) do not broadcast")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Maps a possibly negative axis into `0..<rank`.
@inlinable
func normalizeAxis(_ axis: Int, rank: Int, op: String) -> Int {
    let a = axis < 0 ? axis + rank : axis
    check(a >= 0 && a < rank, "\(op): axis \(axis) out of range for a tensor of rank \(rank)")
    return a
}

/// Normalises, sorts and de-duplicates an axis list; `nil` means every axis.
func normalizeAxes(_ axes: [Int]?, rank: Int, op: String) -> [Int] {
    guard let axes else { return Array(0..<rank) }
    let n = axes.map { normalizeAxis($0, rank: rank, op: op) }
    check(Set(n).count == n.count, "\(op): repeated axis in \(axes)")
    return n.sorted()
}
