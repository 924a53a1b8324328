import Foundation
import Heed

/// A learning rate as a pure function of the number of optimizer steps already taken
/// (0 before the first step). Set it before each step:
/// `opt.learningRate = schedule.lr(at: opt.stepCount); opt.step()` — the order of PyTorch's
/// `optimizer.step(); scheduler.step()`, so the first step uses `lr(at: 0)`.
/// Computed in Double, as the Python schedulers are.
public protocol LearningRateSchedule: Sendable {
    func lr(at step: Int) -> Float
}

/// lr·γ^⌊step / stepSize⌋: PyTorch's `StepLR` (the step may count epochs instead).
public struct StepDecay: LearningRateSchedule {
    public let learningRate: Float
    public let stepSize: Int
    public let gamma: Float

    public init(learningRate: Float, stepSize: Int, gamma: Float = 0.1) {
        check(stepSize > 0, "StepDecay: stepSize \(stepSize) must be positive")
        self.learningRate = learningRate
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func lr(at step: Int) -> Float {
        check(step >= 0, "StepDecay: negative step \(step)")
        return Float(Double(learningRate) * pow(Double(gamma), Double(step / stepSize)))
    }
}

/// Linear warm-up then half a cosine, Hugging Face's `get_cosine_schedule_with_warmup`
/// (`get_cosine_with_min_lr_schedule_with_warmup` when `minLearningRate` > 0):
///
///     step < warmup:  lr·step / warmup
///     after:          min + (lr − min)·½(1 + cos(π·progress)),
///                     progress = (step − warmup) / (total − warmup)
///
/// One deliberate difference: past `totalSteps` the rate stays at `minLearningRate`, where
/// Hugging Face's formula would climb back up the cosine.
public struct CosineWithWarmup: LearningRateSchedule {
    public let learningRate: Float
    public let warmupSteps: Int
    public let totalSteps: Int
    public let minLearningRate: Float

    public init(learningRate: Float, warmupSteps: Int, totalSteps: Int, minLearningRate: Float = 0) {
        check(warmupSteps >= 0 && totalSteps >= warmupSteps,
              "CosineWithWarmup: need 0 ≤ warmupSteps (\(warmupSteps)) ≤ totalSteps (\(totalSteps))")
        check(minLearningRate >= 0 && minLearningRate <= learningRate,
              "CosineWithWarmup: minLearningRate \(minLearningRate) outside [0, \(learningRate)]")
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLearningRate = minLearningRate
    }

    public func lr(at step: Int) -> Float {
        check(step >= 0, "CosineWithWarmup: negative step \(step)")
        let top = Double(learningRate), bottom = Double(minLearningRate)
        if step < warmupSteps { return Float(top * Double(step) / Double(Swift.max(1, warmupSteps))) }
        let progress = Swift.min(1, Double(step - warmupSteps) / Double(Swift.max(1, totalSteps - warmupSteps)))
        return Float(bottom + (top - bottom) * 0.5 * (1 + cos(Double.pi * progress)))
    }
}
