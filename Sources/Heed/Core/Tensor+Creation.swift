/// Ways to make a tensor: constants, ranges, arrays, and seeded random draws.
extension Tensor {
    /// A tensor filled with `value`.
    public static func full(_ value: Float, shape: [Int]) -> Tensor {
        check(shape.allSatisfy { $0 >= 0 }, "full: negative dimension in shape \(shape)")
        let storage = TensorStorage(repeating: value, count: shapeCount(shape))
        return Tensor(storage: storage, shape: shape, strides: contiguousStrides(shape))
    }

    public static func zeros(_ shape: [Int]) -> Tensor { full(0, shape: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { full(1, shape: shape) }
    public static func zeros(like t: Tensor) -> Tensor { full(0, shape: t.shape) }
    public static func ones(like t: Tensor) -> Tensor { full(1, shape: t.shape) }

    /// A rank-0 tensor.
    public static func scalar(_ value: Float) -> Tensor { full(value, shape: []) }

    /// Copies `values` into a tensor of `shape` (a 1-D tensor when `shape` is omitted).
    public convenience init(_ values: [Float], shape: [Int]? = nil) {
        let shape = shape ?? [values.count]
        check(shapeCount(shape) == values.count,
              "Tensor(_:shape:): \(values.count) values do not fill shape \(shape)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: values.count) }
    }

    /// `[start, start+step, …)` up to but excluding `end`, as in `numpy.arange`.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        check(step != 0, "arange: step must not be 0")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let t = Tensor(uninitializedShape: [n])
        for i in 0..<n { t.base[i] = start + Float(i) * step }
        return t
    }

    public static func arange(_ end: Int) -> Tensor { arange(0, Float(end)) }

    /// Normal samples N(mean, std²) from `rng`.
    public static func randomNormal<G: RandomNumberGenerator>(
        _ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout G) -> Tensor {
        var x = Xoshiro256(seed: rng.next())
        let t = Tensor(uninitializedShape: shape)
        let n = t.count
        var i = 0
        while i < n {
            let (a, b) = x.nextNormalPair()
            t.base[i] = mean + std * a
            if i + 1 < n { t.base[i + 1] = mean + std * b }
            i += 2
        }
        return t
    }

    /// Uniform samples in [low, high) from `rng`.
    public static func randomUniform<G: RandomNumberGenerator>(
        _ shape: [Int], low: Float = 0, high: Float = 1, using rng: inout G) -> Tensor {
        var x = Xoshiro256(seed: rng.next())
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count {
            // low + (high − low)·u can round up to `high` even though u < 1 (for [3, 5):
            // 3 + 2·(1 − 2⁻²⁴) rounds to 5); keep the interval half-open.
            let v = low + (high - low) * x.nextUnitFloat()
            t.base[i] = v < high ? v : Swift.max(low, high.nextDown)
        }
        return t
    }

    /// 1 with probability `p`, else 0, from `rng`.
    public static func randomBernoulli<G: RandomNumberGenerator>(
        _ shape: [Int], p: Float, using rng: inout G) -> Tensor {
        check(p >= 0 && p <= 1, "randomBernoulli: probability \(p) outside [0, 1]")
        var x = Xoshiro256(seed: rng.next())
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.base[i] = x.nextUnitFloat() < p ? 1 : 0 }
        return t
    }

    /// Seeded variants: the same seed gives the same tensor on every machine. Without a seed
    /// they draw from the global generator (`HeedRandom.manualSeed`).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64? = nil) -> Tensor {
        withGenerator(seed) { randomNormal(shape, mean: mean, std: std, using: &$0) }
    }

    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64? = nil) -> Tensor {
        withGenerator(seed) { randomUniform(shape, low: low, high: high, using: &$0) }
    }

    public static func randomBernoulli(_ shape: [Int], p: Float, seed: UInt64? = nil) -> Tensor {
        withGenerator(seed) { randomBernoulli(shape, p: p, using: &$0) }
    }

    private static func withGenerator(_ seed: UInt64?, _ body: (inout Xoshiro256) -> Tensor) -> Tensor {
        if let seed {
            var g = Xoshiro256(seed: seed)
            return body(&g)
        }
        return HeedRandom.withGlobal(body)
    }
}
