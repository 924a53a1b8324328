import XCTest
import Heed

/// Shared by every test target: one `assertClose`, one finite-difference checker.

/// Compares two tensors element-wise (shapes must match): |a − b| ≤ atol + rtol·|b|.
/// On failure the message names the tensor and the worst index, llm.c's `check_tensor` habit.
public func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ name: String = "tensor", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(name): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    assertClose(actual.scalars, expected.scalars, rtol: rtol, atol: atol, name, file: file, line: line)
}

public func assertClose(_ actual: Tensor, _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ name: String = "tensor", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.scalars, expected, rtol: rtol, atol: atol, name, file: file, line: line)
}

public func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ name: String = "tensor", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(name): element count", file: file, line: line)
    var worst = -1
    var worstExcess: Float = 0
    var bad = 0
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        if a == e { continue }  // also covers matching infinities
        let excess = abs(a - e) - (atol + rtol * abs(e))
        if excess > 0 || a.isNaN != e.isNaN {
            bad += 1
            if worst < 0 || excess > worstExcess || a.isNaN { worst = i; worstExcess = excess }
        }
    }
    if worst >= 0 {
        XCTFail("\(name): \(bad) of \(actual.count) elements differ; worst at [\(worst)]: \(actual[worst]) vs expected \(expected[worst]) (rtol \(rtol), atol \(atol))",
                file: file, line: line)
    }
}

/// Checks the gradients autograd gives `f` against central finite differences.
///
/// The loss is L = Σ f(x)·R with fixed random weights R (so every output element matters and
/// errors cannot cancel), summed in Double. Heed's ops are Float32, so each difference carries
/// the rounding of f itself: with h = 1e-3 that error is ≈ 1e-7·|L|/2h ≈ 5e-5·|L|, while the
/// O(h²) truncation error is ≈ 1e-6. The default tolerance (rtol 1e-2, atol 1e-3 scaled by the
/// gradient's size) sits well above both and far below the error of any wrong rule.
public func gradCheck(_ name: String, _ inputs: [Tensor], h: Float = 1e-3, rtol: Float = 1e-2, atol: Float = 1e-3,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    let leaves = inputs.map { Tensor($0.scalars, shape: $0.shape).requiringGrad() }
    checkGradients(name, leaves.enumerated().map { ("input \($0.offset)", $0.element) }, h: h, rtol: rtol, atol: atol,
                   file: file, line: line) { f(leaves) }
}

/// The finite-difference check itself, over tensors `f` already reads (inputs or a module's
/// parameters): each element is perturbed in place by ±h, the loss recomputed without a graph.
public func checkGradients(_ name: String, _ leaves: [(name: String, tensor: Tensor)], h: Float = 1e-3,
                           rtol: Float = 1e-2, atol: Float = 1e-3,
                           file: StaticString = #filePath, line: UInt = #line, _ f: () -> Tensor) {
    for (_, leaf) in leaves { leaf.zeroGrad() }
    let out = f()
    let weights = Tensor.randomUniform(out.shape, low: -1, high: 1, seed: 1234)
    (out * weights).sum().backward()
    let w = weights.scalars.map(Double.init)
    func loss() -> Double { zip(noGrad(f).scalars, w).reduce(0) { $0 + Double($1.0) * $1.1 } }
    for (leafName, leaf) in leaves {
        let analytic = leaf.grad?.scalars ?? [Float](repeating: 0, count: leaf.count)
        var numeric = [Float](repeating: 0, count: leaf.count)
        let p = leaf.storage.pointer + leaf.offset
        for i in 0..<leaf.count {
            let x0 = p[i]
            p[i] = x0 + h; let lp = loss()
            p[i] = x0 - h; let lm = loss()
            p[i] = x0
            numeric[i] = Float((lp - lm) / (2 * Double(h)))
        }
        let scale = max(1, numeric.map(abs).max() ?? 1)
        assertClose(analytic, numeric, rtol: rtol, atol: atol * scale, "\(name): d/d \(leafName)", file: file, line: line)
    }
}

/// Deterministic test data: uniform in [low, high).
public func rand(_ shape: [Int], _ seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor.randomUniform(shape, low: low, high: high, seed: seed)
}

/// Runs `body` with the buffer cache's limit set to `bytes`, then puts the old limit back.
/// For tests of the cache itself: the sanitizer runs turn it off (HEED_CACHE_LIMIT_BYTES=0).
public func withBufferCacheLimit<T>(_ bytes: Int, _ body: () throws -> T) rethrows -> T {
    let saved = MemoryStats.cacheLimitBytes
    defer { MemoryStats.cacheLimitBytes = saved }
    MemoryStats.cacheLimitBytes = bytes
    return try body()
}

/// Runs `body` and then puts the environment variable `name` back as it was (set or unset):
/// for tests of settings read from the environment (HEED_CPU, HEED_CACHE_LIMIT_BYTES).
public func restoringEnvironment(_ name: String, _ body: () throws -> Void) rethrows {
    let saved = getenv(name).map { String(cString: $0) }
    defer { if let saved { setenv(name, saved, 1) } else { unsetenv(name) } }
    try body()
}
