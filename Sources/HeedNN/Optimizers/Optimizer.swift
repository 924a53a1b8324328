import Heed

/// Updates parameters in place from their gradients.
///
/// Optimizers are classes: each owns per-parameter state buffers, and the parameters it updates
/// are shared references already; a copied struct would share the parameters yet fork the state.
/// The step counter is `stepCount`, not `step`, because Swift cannot declare both `var step` and
/// `func step()`.
///
/// Typical loop (the learning rate set from a schedule before each step, as PyTorch's
/// `LambdaLR` does when `scheduler.step()` follows `optimizer.step()`):
///
///     opt.learningRate = schedule.lr(at: opt.stepCount)
///     opt.zeroGrad(); loss.backward(); opt.step()
public protocol Optimizer: AnyObject {
    /// The parameters, in the order given at creation.
    var parameters: [Tensor] { get }
    var learningRate: Float { get set }
    /// The number of `step()` calls so far; restored by `loadState`.
    var stepCount: Int { get }
    /// Updates every parameter that has a gradient; parameters whose `grad` is nil are skipped
    /// and their state is left as it is (PyTorch's behaviour).
    func step()
    /// Clears every parameter's gradient (default: `grad = nil`, PyTorch's `set_to_none=True`).
    func zeroGrad()
    /// Copies of the state buffers, named `<parameter name>.<buffer>`, plus `step`: what
    /// `loadState` needs to continue bit-identically. Save them with the parameters.
    func stateTensors() -> [(String, Tensor)]
    /// Replaces the state with one from `stateTensors()` of an optimizer of the same kind over
    /// parameters of the same names and shapes. Validates everything before changing anything.
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Why a saved optimizer state cannot be loaded.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case unexpectedKey(String)
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    case invalidCount(key: String, values: [Float])
    /// A buffer holds NaN or ±infinity: resuming would train on it and save it again.
    case nonFinite(key: String, index: Int, value: Float)
    /// A second-moment buffer (a running mean of squares) holds a negative value.
    case negative(key: String, index: Int, value: Float)
    /// A parameter's own step count exceeds the optimizer's: the state was not written by one run.
    case stepBeyondCount(key: String, step: Int, stepCount: Int)

    public var description: String {
        switch self {
        case .missingKey(let k): return "optimizer state: '\(k)' is missing"
        case .unexpectedKey(let k): return "optimizer state: '\(k)' matches no parameter or buffer of this optimizer"
        case let .shapeMismatch(k, e, f): return "optimizer state: '\(k)' has shape \(f), expected \(e)"
        case let .invalidCount(k, v): return "optimizer state: '\(k)' = \(v) is not a step count"
        case let .nonFinite(k, i, v): return "optimizer state: '\(k)' holds \(v) at element \(i)"
        case let .negative(k, i, v): return "optimizer state: '\(k)' holds \(v) at element \(i), but it is a mean of squares (≥ 0)"
        case let .stepBeyondCount(k, step, count):
            return "optimizer state: '\(k)' = \(step) steps, more than the optimizer's \(count)"
        }
    }
}

/// Parameter names, checks and state (de)serialisation shared by the optimizers.
struct ParameterSlots {
    let tensors: [Tensor]
    let names: [String]

    init(_ named: [(name: String, tensor: Tensor)], _ op: String) {
        tensors = named.map(\.tensor)
        names = named.map(\.name)
        check(Set(names).count == names.count, "\(op): parameter names are not unique: \(names)")
        check(Set(tensors.map(ObjectIdentifier.init)).count == tensors.count,
              "\(op): a parameter appears twice (it would be updated twice per step)")
        for (n, t) in named {
            check(t.isLeaf && t.isContiguous, "\(op): parameter '\(n)' of shape \(t.shape) is not a dense leaf")
        }
    }

    /// Calls `body(index, parameter, gradient)` for each parameter that has a gradient, after
    /// checking the gradient's shape: the loop every optimizer's `step()` runs.
    func forEachGradient(_ op: String, _ body: (Int, Tensor, Tensor) -> Void) {
        for (i, p) in tensors.enumerated() {
            guard let g = p.grad else { continue }
            check(g.shape == p.shape, "\(op): gradient of shape \(g.shape) for parameter '\(names[i])' of shape \(p.shape)")
            body(i, p, g)
        }
    }

    /// Unnamed parameters are called "0", "1", … (PyTorch's state_dict indices).
    static func indexed(_ tensors: [Tensor]) -> [(name: String, tensor: Tensor)] {
        tensors.enumerated().map { (String($0.offset), $0.element) }
    }

    /// A step count as [⌊n / 2²⁴⌋, n mod 2²⁴]: one Float32 holds integers exactly only up to
    /// 2²⁴ (17M steps); two hold them up to 2⁴⁸.
    static func encodeCount(_ n: Int) -> Tensor {
        Tensor([Float(n >> 24), Float(n & 0xFF_FFFF)], shape: [2])
    }

    static func decodeCount(_ state: [String: Tensor], _ key: String) throws -> Int {
        guard let t = state[key] else { throw OptimizerStateError.missingKey(key) }
        let v = t.scalars
        guard t.shape == [2], v.allSatisfy({ $0 >= 0 && $0 < 0x1p24 && $0 == $0.rounded() }) else {
            throw OptimizerStateError.invalidCount(key: key, values: v)
        }
        return Int(v[0]) << 24 + Int(v[1])
    }

    /// A private dense copy of a saved buffer, after its shape is checked and every element is
    /// found finite (and ≥ 0 when `nonNegative`): the caller's tensor may be a view,
    /// memory-mapped, or reused.
    static func buffer(_ state: [String: Tensor], _ key: String, shape: [Int], nonNegative: Bool = false) throws -> Tensor? {
        guard let t = state[key] else { return nil }
        guard t.shape == shape else {
            throw OptimizerStateError.shapeMismatch(key: key, expected: shape, found: t.shape)
        }
        let copy = snapshot(t)
        if let (i, v) = copy.firstNonFinite() { throw OptimizerStateError.nonFinite(key: key, index: i, value: v) }
        if nonNegative, let i = copy.scalars.firstIndex(where: { $0 < 0 }) {
            throw OptimizerStateError.negative(key: key, index: i, value: copy.scalars[i])
        }
        return copy
    }

    static func snapshot(_ t: Tensor) -> Tensor { Tensor(t.scalars, shape: t.shape) }

    /// Throws for a key that is not one of `known`: a state saved for other parameters must
    /// not load silently.
    static func rejectUnknownKeys(_ state: [String: Tensor], known: Set<String>) throws {
        if let k = state.keys.sorted().first(where: { !known.contains($0) }) {
            throw OptimizerStateError.unexpectedKey(k)
        }
    }
}

/// SIMD16 access to raw buffers for the update loops: whole vectors where 16 elements remain,
/// a zero-padded partial vector for the tail, so each update formula is written once.
/// Explicit vectors, not scalar loops left to the auto-vectoriser: the SGD momentum loop, for
/// one, stayed scalar (1.4 ns per element against 0.2).
enum Lanes {
    typealias V = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ j: Int, _ n: Int) -> V {
        if j + 16 <= n { return UnsafeRawPointer(p + j).loadUnaligned(as: V.self) }
        var v = V()
        for l in 0..<(n - j) { v[l] = p[j + l] }
        return v
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>, _ j: Int, _ n: Int) -> V { load(UnsafePointer(p), j, n) }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ j: Int, _ n: Int) {
        if j + 16 <= n { UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: V.self); return }
        for l in 0..<(n - j) { p[j + l] = v[l] }
    }
}
