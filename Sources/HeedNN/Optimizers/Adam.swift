import Foundation
import Heed

/// Adam (Kingma & Ba, 2015): PyTorch's `torch.optim.Adam` algorithm, for each parameter p with a
/// gradient g, at that parameter's own step t (a parameter without a gradient does not advance):
///
///     g ← g + λ·p                          (L2 weight decay λ ≠ 0, added to the gradient)
///     m ← m + (1 − β₁)(g − m)              (= β₁m + (1 − β₁)g, written as torch's lerp)
///     v ← β₂v + (1 − β₂)g²
///     p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)      (ε outside the square root)
///
/// `AdamW` replaces the first line with the decoupled decay p ← p·(1 − lr·λ), before the update.
/// The bias corrections are computed in Double, as PyTorch does in Python floats. One fused pass
/// per parameter over raw buffers; m and v are allocated once, at the parameter's first step.
/// Saved state: `step`, and per parameter `<name>.step`, `<name>.exp_avg`, `<name>.exp_avg_sq`.
public class Adam: Optimizer {
    private let slots: ParameterSlots
    public var learningRate: Float
    public let betas: (Float, Float)
    public let eps: Float
    public let weightDecay: Float
    /// AdamW's decay p ← p·(1 − lr·λ) instead of Adam's g ← g + λ·p.
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private var expAvg: [Tensor?], expAvgSq: [Tensor?]
    private var parameterSteps: [Int]

    init(slots: ParameterSlots, learningRate: Float, betas: (Float, Float), eps: Float, weightDecay: Float,
         decoupled: Bool, _ op: String) {
        check(learningRate >= 0 && eps >= 0 && weightDecay >= 0,
              "\(op): negative learningRate \(learningRate), eps \(eps) or weightDecay \(weightDecay)")
        check((0..<1).contains(betas.0) && (0..<1).contains(betas.1), "\(op): betas \(betas) outside [0, 1)")
        self.slots = slots
        self.learningRate = learningRate
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
        decoupledWeightDecay = decoupled
        expAvg = Array(repeating: nil, count: slots.tensors.count)
        expAvgSq = expAvg
        parameterSteps = Array(repeating: 0, count: slots.tensors.count)
    }

    /// Named parameters (`module.namedParameters()`) name the saved state after them.
    public convenience init(_ namedParameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3,
                            betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 0) {
        self.init(slots: ParameterSlots(namedParameters, "Adam"), learningRate: learningRate, betas: betas,
                  eps: eps, weightDecay: weightDecay, decoupled: false, "Adam")
    }

    /// Parameters named by position: "0", "1", …
    public convenience init(_ parameters: [Tensor], learningRate: Float = 1e-3,
                            betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 0) {
        self.init(ParameterSlots.indexed(parameters), learningRate: learningRate, betas: betas, eps: eps,
                  weightDecay: weightDecay)
    }

    public var parameters: [Tensor] { slots.tensors }
    public var parameterNames: [String] { slots.names }

    public func step() {
        stepCount += 1
        noGrad {
            slots.forEachGradient("Adam") { i, p, g in
                if parameterSteps[i] == 0 {
                    expAvg[i] = Tensor.zeros(p.shape)
                    expAvgSq[i] = Tensor.zeros(p.shape)
                }
                parameterSteps[i] += 1
                let t = Double(parameterSteps[i])
                let k = OptimizerKernels.AdamCoefficients(
                    beta1: betas.0, beta2: betas.1, eps: eps,
                    stepSize: Float(Double(learningRate) / (1 - pow(Double(betas.0), t))),
                    bias2Sqrt: Float((1 - pow(Double(betas.1), t)).squareRoot()),
                    l2: decoupledWeightDecay ? 0 : weightDecay,
                    decay: decoupledWeightDecay ? Float(1 - Double(learningRate) * Double(weightDecay)) : 1)
                g.withUnsafeBufferPointer { gb in
                    p.withUnsafeMutableBufferPointer { pb in
                        expAvg[i]!.withUnsafeMutableBufferPointer { mb in
                            expAvgSq[i]!.withUnsafeMutableBufferPointer { vb in
                                OptimizerKernels.adamUpdate(pb.baseAddress!, gb.baseAddress!, mb.baseAddress!, vb.baseAddress!, count: pb.count, k)
                            }
                        }
                    }
                }
            }
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        var out = [("step", ParameterSlots.encodeCount(stepCount))]
        for (i, name) in slots.names.enumerated() where parameterSteps[i] > 0 {
            out.append(("\(name).step", ParameterSlots.encodeCount(parameterSteps[i])))
            out.append(("\(name).exp_avg", ParameterSlots.snapshot(expAvg[i]!)))
            out.append(("\(name).exp_avg_sq", ParameterSlots.snapshot(expAvgSq[i]!)))
        }
        return out
    }

    public func loadState(_ state: [String: Tensor]) throws {
        let count = try ParameterSlots.decodeCount(state, "step")
        var known: Set = ["step"]
        var m: [Tensor?] = [], v: [Tensor?] = [], steps: [Int] = []
        for (name, p) in zip(slots.names, slots.tensors) {
            let keys = ["\(name).step", "\(name).exp_avg", "\(name).exp_avg_sq"]
            known.formUnion(keys)
            if state[keys[0]] == nil {  // a parameter that never had a gradient
                if keys.dropFirst().contains(where: { state[$0] != nil }) { throw OptimizerStateError.missingKey(keys[0]) }
                m.append(nil); v.append(nil); steps.append(0)
                continue
            }
            let t = try ParameterSlots.decodeCount(state, keys[0])
            // A parameter's step counts the optimizer steps in which it had a gradient.
            guard t >= 1 && t <= count else {
                throw t < 1 ? OptimizerStateError.invalidCount(key: keys[0], values: state[keys[0]]!.scalars)
                            : OptimizerStateError.stepBeyondCount(key: keys[0], step: t, stepCount: count)
            }
            guard let mi = try ParameterSlots.buffer(state, keys[1], shape: p.shape) else { throw OptimizerStateError.missingKey(keys[1]) }
            guard let vi = try ParameterSlots.buffer(state, keys[2], shape: p.shape, nonNegative: true) else {
                throw OptimizerStateError.missingKey(keys[2])
            }
            m.append(mi); v.append(vi); steps.append(t)
        }
        try ParameterSlots.rejectUnknownKeys(state, known: known)
        stepCount = count
        (expAvg, expAvgSq, parameterSteps) = (m, v, steps)
    }
}

/// AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay p ← p·(1 − lr·λ) before
/// the update, PyTorch's `torch.optim.AdamW` (default λ = 0.01).
public final class AdamW: Adam {
    public init(_ namedParameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3,
                betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        super.init(slots: ParameterSlots(namedParameters, "AdamW"), learningRate: learningRate, betas: betas,
                   eps: eps, weightDecay: weightDecay, decoupled: true, "AdamW")
    }

    /// Parameters named by position: "0", "1", …
    public convenience init(_ parameters: [Tensor], learningRate: Float = 1e-3,
                            betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.init(ParameterSlots.indexed(parameters), learningRate: learningRate, betas: betas, eps: eps,
                  weightDecay: weightDecay)
    }
}
