import Heed

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay:
/// PyTorch's `torch.optim.SGD` algorithm, for each parameter p with a gradient g:
///
///     g ← g + λ·p                                        (weight decay λ ≠ 0)
///     b ← g at the parameter's first step, else μ·b + (1 − τ)·g   (momentum μ ≠ 0, dampening τ)
///     g ← g + μ·b with Nesterov, else b                  (μ ≠ 0)
///     p ← p − lr·g
///
/// One fused pass per parameter over raw buffers; a momentum buffer is allocated once, at its
/// parameter's first step. Saved state: `step` and `<name>.momentum_buffer`.
public final class SGD: Optimizer {
    private let slots: ParameterSlots
    public var learningRate: Float
    public let momentum: Float
    public let dampening: Float
    public let weightDecay: Float
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var momentumBuffers: [Tensor?]

    /// Named parameters (`module.namedParameters()`) name the saved state after them.
    public init(_ namedParameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3,
                momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        check(learningRate >= 0 && momentum >= 0 && weightDecay >= 0,
              "SGD: negative learningRate \(learningRate), momentum \(momentum) or weightDecay \(weightDecay)")
        check(!nesterov || (momentum > 0 && dampening == 0),
              "SGD: Nesterov momentum needs momentum > 0 and dampening 0 (got \(momentum), \(dampening))")
        slots = ParameterSlots(namedParameters, "SGD")
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        momentumBuffers = Array(repeating: nil, count: namedParameters.count)
    }

    /// Parameters named by position: "0", "1", …
    public convenience init(_ parameters: [Tensor], learningRate: Float = 1e-3, momentum: Float = 0,
                            dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.init(ParameterSlots.indexed(parameters), learningRate: learningRate, momentum: momentum,
                  dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
    }

    public var parameters: [Tensor] { slots.tensors }
    public var parameterNames: [String] { slots.names }

    public func step() {
        stepCount += 1
        noGrad {
            slots.forEachGradient("SGD") { i, p, g in
                let first = momentumBuffers[i] == nil
                if momentum != 0 && first { momentumBuffers[i] = Tensor.zeros(p.shape) }
                g.withUnsafeBufferPointer { gb in
                    p.withUnsafeMutableBufferPointer { pb in
                        if let buffer = momentumBuffers[i] {
                            buffer.withUnsafeMutableBufferPointer { bb in
                                update(pb.baseAddress!, gb.baseAddress!, bb.baseAddress!, pb.count, first: first)
                            }
                        } else {
                            update(pb.baseAddress!, gb.baseAddress!, nil, pb.count, first: false)
                        }
                    }
                }
            }
        }
    }

    /// p [n], g [n], b [n] (nil without momentum). The branches are loop-invariant.
    private func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                        _ b: UnsafeMutablePointer<Float>?, _ n: Int, first: Bool) {
        let lr = learningRate, wd = weightDecay, mu = momentum, keep = 1 - dampening, nesterov = nesterov
        for j in stride(from: 0, to: n, by: 16) {
            let pj = Lanes.load(p, j, n)
            var d = Lanes.load(g, j, n)
            if wd != 0 { d += wd * pj }
            if let b {
                var bj = d
                if !first { bj = mu * Lanes.load(b, j, n) + keep * d }
                Lanes.store(bj, b, j, n)
                if nesterov { d += mu * bj } else { d = bj }
            }
            Lanes.store(pj - lr * d, p, j, n)
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        var out = [("step", ParameterSlots.encodeCount(stepCount))]
        for (name, b) in zip(slots.names, momentumBuffers) {
            if let b { out.append(("\(name).momentum_buffer", ParameterSlots.snapshot(b))) }
        }
        return out
    }

    public func loadState(_ state: [String: Tensor]) throws {
        let count = try ParameterSlots.decodeCount(state, "step")
        var known: Set = ["step"]
        var buffers: [Tensor?] = []
        for (name, p) in zip(slots.names, slots.tensors) {
            let key = "\(name).momentum_buffer"
            if momentum != 0 { known.insert(key) }
            buffers.append(try ParameterSlots.buffer(state, key, shape: p.shape))
        }
        try ParameterSlots.rejectUnknownKeys(state, known: known)
        stepCount = count
        momentumBuffers = buffers
    }
}
