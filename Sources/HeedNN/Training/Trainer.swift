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
    public private(set) var epoch = 0

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
    public func trainEpoch(progress: ((Int, Int, Double, Double) -> Void)? = nil) -> (loss: Double, accuracy: Double, seconds: Double) {
        let loader = DataLoader(train, batchSize: batchSize, shuffle: true, seed: seed)
        HeedRandom.manualSeed(seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        model.train()
        let start = DispatchTime.now()
        var lossSum = 0.0, correct = 0, seen = 0
        var b = 0
        for batch in loader.epoch(epoch) {
            optimizer.learningRate = schedule(optimizer.stepCount)
            let logits = model(batch.images)
            let loss = crossEntropy(logits: logits, targets: batch.labels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            let n = batch.labels.count
            lossSum += Double(loss.item) * Double(n)
            correct += Int((accuracy(logits: logits.detach(), targets: batch.labels) * Float(n)).rounded())
            seen += n
            b += 1
            progress?(b, loader.batchCount, lossSum / Double(seen), Double(correct) / Double(seen))
        }
        epoch += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return (lossSum / Double(max(seen, 1)), Double(correct) / Double(max(seen, 1)), seconds)
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

    // MARK: - Checkpoints

    /// Saves the model to `url` (plain safetensors, loadable by PyTorch by parameter name) and
    /// the optimizer state to `url` + ".optimizer.safetensors"; both record the epoch, and the
    /// optimizer file is written first, so a crash between the two leaves a detectable pair.
    public func save(to url: URL, modelName: String) throws {
        let meta = ["epoch": String(epoch), "model": modelName, "seed": String(seed),
                    "batch_size": String(batchSize), "format": "heed"]
        try SafetensorsFile.write(optimizer.stateTensors(), metadata: meta, to: Trainer.optimizerURL(url))
        try model.save(to: url, metadata: meta)
    }

    /// Restores model, optimizer and epoch from a `save(to:)` pair.
    ///
    /// All or nothing: a pair whose files record different epochs throws
    /// `CheckpointError.inconsistentPair`, a checkpoint saved with another seed or batch size
    /// `TrainerError.settingMismatch` (it would continue a different run), and any failure
    /// leaves the model, the optimizer and `epoch` as they were.
    public func resume(from url: URL) throws {
        let modelFile = try SafetensorsFile(contentsOf: url)
        let optimFile = try SafetensorsFile(contentsOf: Trainer.optimizerURL(url))
        guard let e = modelFile.metadata["epoch"].flatMap(Int.init), optimFile.metadata["epoch"] == String(e) else {
            throw CheckpointError.inconsistentPair(file: url.path, reason: "the model file records epoch "
                + "\(modelFile.metadata["epoch"] ?? "none") but the optimizer file epoch \(optimFile.metadata["epoch"] ?? "none")")
        }
        for (key, value) in [("seed", String(seed)), ("batch_size", String(batchSize))] {
            // Checkpoints without the key (written by other tools) are taken on trust.
            if let saved = modelFile.metadata[key], saved != value {
                throw TrainerError.settingMismatch(file: url.path, setting: key, checkpoint: saved, trainer: value)
            }
        }
        var state: [String: Tensor] = [:]
        for name in optimFile.names { state[name] = try optimFile.tensor(name) }
        // Both loads validate before they change anything; if the model's fails after the
        // optimizer's succeeded, the optimizer's previous state goes back.
        let previous = Dictionary(uniqueKeysWithValues: optimizer.stateTensors())
        try optimizer.loadState(state)
        do {
            try model.load(from: url)
        } catch {
            try? optimizer.loadState(previous)
            throw error
        }
        epoch = e
    }

    public static func optimizerURL(_ url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".optimizer.safetensors")
    }
}

/// Why a checkpoint cannot continue this trainer's run.
public enum TrainerError: Error, Equatable, CustomStringConvertible {
    /// The checkpoint was trained with another value of `setting` (`seed`, `batch_size`):
    /// resuming would follow another data order and other dropout masks.
    case settingMismatch(file: String, setting: String, checkpoint: String, trainer: String)

    public var description: String {
        switch self {
        case let .settingMismatch(file, setting, checkpoint, trainer):
            return "\(file): saved with \(setting) \(checkpoint), but this run has \(setting) \(trainer); "
                + "resume with the same \(setting) to continue the saved run exactly"
        }
    }
}
