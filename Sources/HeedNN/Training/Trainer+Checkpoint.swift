import Foundation
import Heed

/// A training checkpoint: the model and its optimizer state in one safetensors file, written
/// atomically by `Trainer.save`, so the pair can never be torn — a kill at any instant leaves
/// either the previous checkpoint or the new one under the name, both complete (a model file
/// and an optimizer file renamed one after the other could be left from two different epochs,
/// and then nothing resumed).
///
/// Layout: the model's parameters under their own names (`layers.0.weight`, …), the optimizer's
/// state under `optimizer/` (`optimizer/step`, `optimizer/layers.0.weight.exp_avg`, …), and
/// `__metadata__` with `format` = `heed-training-checkpoint`, `epoch`, `model`, `seed`,
/// `batch_size`. PyTorch reads the model with `safetensors.torch.load_file` and dropping the
/// `optimizer/` keys; `Module.load(from:)` passes over them by itself.
public enum TrainingCheckpoint {
    /// `__metadata__["format"]` of a training checkpoint.
    public static let format = "heed-training-checkpoint"
    /// The prefix of the optimizer's tensors. A "/" never occurs in a module's dotted names.
    public static let optimizerPrefix = "optimizer/"

    static func isTrainingCheckpoint(_ file: SafetensorsFile) -> Bool { file.metadata["format"] == format }

    static func isOptimizerTensor(_ name: String) -> Bool { name.hasPrefix(optimizerPrefix) }
}

extension Trainer {
    /// Saves the model, the optimizer state and the epoch to `url`, as one atomic file (see
    /// `TrainingCheckpoint`).
    ///
    /// Never writes a non-finite value: every tensor is checked first, and a NaN or an
    /// infinity throws `TrainerError.nonFiniteState` naming it, leaving the previous
    /// checkpoint in place.
    public func save(to url: URL, modelName: String) throws {
        let meta = ["epoch": String(epoch), "model": modelName, "seed": String(seed),
                    "batch_size": String(batchSize), "format": TrainingCheckpoint.format]
        let parameters = model.namedParameters().map { ($0.name, $0.tensor) }
        for (name, _) in parameters {
            check(!TrainingCheckpoint.isOptimizerTensor(name),
                  "Trainer.save: parameter '\(name)' would collide with the optimizer's '\(TrainingCheckpoint.optimizerPrefix)' tensors")
        }
        let state = optimizer.stateTensors().map { (TrainingCheckpoint.optimizerPrefix + $0.0, $0.1) }
        for (name, tensor) in parameters + state {
            if let (index, value) = tensor.firstNonFinite() {
                throw TrainerError.nonFiniteState(file: url.path, name: name, index: index, value: value)
            }
        }
        try SafetensorsFile.write(parameters + state, metadata: meta, to: url)
    }

    /// Restores model, optimizer and epoch from a checkpoint written by `save(to:)`.
    ///
    /// All or nothing: a file that is not a training checkpoint, metadata that make no sense
    /// (an epoch that is not a count, more optimizer steps than its epochs hold), a checkpoint
    /// saved with another seed or batch size (it would continue a different run), optimizer
    /// state that is not finite or not consistent, a model tensor that is missing, extra or
    /// not finite: each throws an error naming the file, and leaves the model, the optimizer
    /// and `epoch` as they were.
    public func resume(from url: URL) throws {
        let file = try SafetensorsFile(contentsOf: url)
        guard TrainingCheckpoint.isTrainingCheckpoint(file) else {
            throw CheckpointError.notATrainingCheckpoint(file: file.file, format: file.metadata["format"])
        }
        let raw = file.metadata["epoch"]
        guard let e = raw.flatMap(Int.init), e >= 0, e <= Int(Int32.max) else {
            throw CheckpointError.invalidMetadata(file: file.file, key: "epoch", value: raw,
                                                  reason: "not a count of completed epochs (0 … \(Int32.max))")
        }
        for (key, value) in [("seed", String(seed)), ("batch_size", String(batchSize))] {
            // Checkpoints without the key (written by other tools) are taken on trust.
            if let saved = file.metadata[key], saved != value {
                throw TrainerError.settingMismatch(file: file.file, setting: key, checkpoint: saved, trainer: value)
            }
        }
        var state: [String: Tensor] = [:]
        for name in file.names where TrainingCheckpoint.isOptimizerTensor(name) {
            state[String(name.dropFirst(TrainingCheckpoint.optimizerPrefix.count))] = try file.tensor(name)
        }
        // Both loads validate before they change anything; if the model's fails after the
        // optimizer's succeeded, the optimizer's previous state goes back.
        let previous = Dictionary(uniqueKeysWithValues: optimizer.stateTensors())
        do {
            try optimizer.loadState(state)
        } catch let error as OptimizerStateError {
            throw CheckpointError.optimizerState(file: file.file, error)
        }
        do {
            // Skipped batches take no step, so a run has at most one step per batch.
            let (most, overflow) = e.multipliedReportingOverflow(by: batchesPerEpoch)
            guard overflow || optimizer.stepCount <= most else {
                throw CheckpointError.invalidMetadata(
                    file: file.file, key: "epoch", value: raw,
                    reason: "\(e) epochs of \(batchesPerEpoch) batches cannot hold the optimizer's \(optimizer.stepCount) steps")
            }
            try model.load(from: file)
        } catch {
            try? optimizer.loadState(previous)
            throw error
        }
        epoch = e
    }
}
