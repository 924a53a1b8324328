import Foundation
import Heed

/// What one epoch did, as `heed train --log` writes it (one JSON object per line).
public struct EpochReport: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
    public var examplesPerSecond: Double
    public var learningRate: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, testLoss: Double, testAccuracy: Double,
                seconds: Double, examplesPerSecond: Double, learningRate: Double) {
        (self.epoch, self.trainLoss, self.trainAccuracy, self.testLoss, self.testAccuracy) =
            (epoch, trainLoss, trainAccuracy, testLoss, testAccuracy)
        (self.seconds, self.examplesPerSecond, self.learningRate) = (seconds, examplesPerSecond, learningRate)
    }

    enum CodingKeys: String, CodingKey {
        case epoch, seconds
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case testLoss = "test_loss", testAccuracy = "test_accuracy"
        case examplesPerSecond = "examples_per_second", learningRate = "learning_rate"
    }
}

/// Supervised training of an image classifier with cross-entropy: the loop behind
/// `heed train` and `heed experiment`.
///
/// Reproducible: the batch order of epoch k depends only on (seed, k), and dropout draws from
/// the global generator reseeded at the start of every epoch from (seed, k). Heed's kernels
/// split work by a fixed rule per thread count, so the same seed and thread count give the
/// same numbers — and resuming from a checkpoint saved after epoch k continues exactly as
/// the uninterrupted run does.
public final class Trainer {
    public let model: any ImageClassifier
    public let optimizer: any Optimizer
    public let train: Dataset
    public let test: Dataset
    public let batchSize: Int
    public let seed: UInt64
    /// Learning rate at optimizer step s (default: constant).
    public let schedule: (Int) -> Float
    /// Completed epochs.
    public internal(set) var epoch = 0
    /// What a batch with a non-finite loss or gradient does (default: stop training).
    public var nonFinitePolicy: NonFinitePolicy = .stop
    /// Batches whose step `nonFinitePolicy = .skipBatch` skipped, since this trainer was made.
    public private(set) var skippedBatches = 0

    public init(model: any ImageClassifier, optimizer: any Optimizer, train: Dataset, test: Dataset,
                batchSize: Int, seed: UInt64, schedule: ((Int) -> Float)? = nil) {
        check(batchSize > 0, "Trainer: batch size \(batchSize) must be positive")
        self.model = model
        self.optimizer = optimizer
        self.train = train
        self.test = test
        self.batchSize = batchSize
        self.seed = seed
        let lr = optimizer.learningRate
        self.schedule = schedule ?? { _ in lr }
    }

    public var batchesPerEpoch: Int { (train.count + batchSize - 1) / batchSize }

    /// Trains one epoch. `progress(batch, batches, runningLoss, runningAccuracy)` is called
    /// after every batch.
    ///
    /// Every step checks the loss and then every gradient before the optimizer steps: the first
    /// NaN or infinity stops training with `TrainerError.nonFinite` naming the step and what
    /// was not finite (the parameters keep the values of the last good step), or, with
    /// `nonFinitePolicy = .skipBatch`, skips that batch's step. Skipped batches count neither
    /// in the loss nor in the accuracy.
    public func trainEpoch(progress: ((Int, Int, Double, Double) -> Void)? = nil) throws -> (loss: Double, accuracy: Double, seconds: Double) {
        let loader = DataLoader(train, batchSize: batchSize, shuffle: true, seed: seed)
        HeedRandom.manualSeed(seed &+ 0x9E37_79B9 &* UInt64(truncatingIfNeeded: epoch &+ 1))
        model.train()
        let start = DispatchTime.now()
        var lossSum = 0.0, correct = 0, seen = 0
        var b = 0
        let named = model.namedParameters()
        for batch in loader.epoch(epoch) {
            b += 1
            optimizer.learningRate = schedule(optimizer.stepCount)
            let logits = model(batch.images)
            let loss = crossEntropy(logits: logits, targets: batch.labels)
            optimizer.zeroGrad()
            let value = loss.item
            var culprit: NonFiniteValue?
            if !value.isFinite {
                culprit = .loss(value, parameter: named.first { !$0.tensor.isFinite }?.name)
            } else {
                loss.backward()
                culprit = Trainer.firstNonFiniteGradient(named)
            }
            if let culprit {
                switch nonFinitePolicy {
                case .stop:
                    optimizer.zeroGrad()
                    throw TrainerError.nonFinite(step: optimizer.stepCount + 1, epoch: epoch + 1, batch: b, culprit: culprit)
                case .skipBatch:
                    optimizer.zeroGrad()
                    skippedBatches += 1
                    progress?(b, loader.batchCount, lossSum / Double(max(seen, 1)), Double(correct) / Double(max(seen, 1)))
                    continue
                }
            }
            optimizer.step()
            let n = batch.labels.count
            lossSum += Double(value) * Double(n)
            correct += Int((accuracy(logits: logits.detach(), targets: batch.labels) * Float(n)).rounded())
            seen += n
            progress?(b, loader.batchCount, lossSum / Double(seen), Double(correct) / Double(seen))
        }
        epoch += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return (lossSum / Double(max(seen, 1)), Double(correct) / Double(max(seen, 1)), seconds)
    }

    /// The first parameter (in `namedParameters()` order) whose gradient is not finite.
    static func firstNonFiniteGradient(_ named: [(name: String, tensor: Tensor)]) -> NonFiniteValue? {
        for (name, p) in named {
            if let g = p.grad, let (i, v) = g.firstNonFinite() { return .gradient(parameter: name, index: i, value: v) }
        }
        return nil
    }

    /// Mean loss and accuracy on `data`, in evaluation mode, without recording a graph.
    public func evaluate(_ data: Dataset, batchSize: Int = 1000) -> (loss: Double, accuracy: Double) {
        Trainer.evaluate(model, data, batchSize: batchSize)
    }

    /// The model is switched to evaluation mode for the pass and back to the mode it was in.
    public static func evaluate(_ model: any ImageClassifier, _ data: Dataset, batchSize: Int = 1000) -> (loss: Double, accuracy: Double) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        return noGrad {
            var lossSum = 0.0, correct = 0.0
            for batch in DataLoader(data, batchSize: batchSize, shuffle: false).epoch(0) {
                let logits = model(batch.images)
                let n = Double(batch.labels.count)
                lossSum += Double(crossEntropy(logits: logits, targets: batch.labels).item) * n
                correct += Double(accuracy(logits: logits, targets: batch.labels)) * n
            }
            return (lossSum / Double(max(data.count, 1)), correct / Double(max(data.count, 1)))
        }
    }
}

/// Why training or a checkpoint cannot go on.
public enum TrainerError: Error, Equatable, CustomStringConvertible {
    /// The checkpoint was trained with another value of `setting` (`seed`, `batch_size`):
    /// resuming would follow another data order and other dropout masks.
    case settingMismatch(file: String, setting: String, checkpoint: String, trainer: String)
    /// The loss or a gradient of optimizer step `step` (1-based: the step that would have been
    /// taken; batch `batch` of epoch `epoch`) was NaN or infinite. `culprit` names what was found
    /// first: the loss, or the parameter whose gradient (or value) is not finite.
    case nonFinite(step: Int, epoch: Int, batch: Int, culprit: NonFiniteValue)
    /// A tensor about to be saved holds NaN or ±infinity: the checkpoint is not written, and
    /// the previous one stays.
    case nonFiniteState(file: String, name: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case let .settingMismatch(file, setting, checkpoint, trainer):
            return "\(file): saved with \(setting) \(checkpoint), but this run has \(setting) \(trainer); "
                + "resume with the same \(setting) to continue the saved run exactly"
        case let .nonFinite(step, epoch, batch, culprit):
            return "training stopped at step \(step) (epoch \(epoch), batch \(batch)): \(culprit); "
                + "lower the learning rate, clip gradients, or skip such batches (--skip-nonfinite-batches)"
        case let .nonFiniteState(file, name, index, value):
            return "\(file): not saved: '\(name)' holds \(value) at element \(index)"
        }
    }
}

/// The first non-finite value a training step met.
public enum NonFiniteValue: Equatable, Sendable, CustomStringConvertible {
    /// The loss itself; `parameter` is the first parameter already holding a non-finite value, if any.
    case loss(Float, parameter: String?)
    /// The gradient of `parameter` (the loss was finite).
    case gradient(parameter: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case let .loss(value, parameter):
            return "the loss is \(value)" + (parameter.map { ", and parameter '\($0)' already holds a non-finite value" }
                                              ?? " while every parameter is finite")
        case let .gradient(parameter, index, value):
            return "the gradient of '\(parameter)' is \(value) at element \(index)"
        }
    }
}

/// What `Trainer` does with a batch whose loss or gradients are not finite.
public enum NonFinitePolicy: Sendable {
    /// Throw `TrainerError.nonFinite` before the optimizer steps (the default).
    case stop
    /// Take no optimizer step for that batch, count it in `Trainer.skippedBatches`, go on.
    case skipBatch
}
