import Foundation
import FuzzSupport
import Heed
import HeedNN

// The resume path: the input written as a checkpoint file, then Trainer.resume(from:) of a
// small MLP trainer (4 → 3 → 2, Adam) over 8 synthetic examples. A resume that fails must leave
// the trainer as it was; one that succeeds is followed by an epoch and an evaluation (a
// resumed state that passes validation must train without trapping; a non-finite loss or
// gradient it leads to is a thrown error, which is fine).

nonisolated(unsafe) let examples: Dataset = Dataset(
    images: Tensor((0..<32).map { Float(($0 * 7) % 11) / 11 }, shape: [8, 2, 2]),
    labels: [0, 1, 1, 0, 1, 0, 0, 1], classNames: ["a", "b"])

func makeTrainer() -> Trainer {
    let model = MLPClassifier(inputCount: 4, hiddenCount: 3, classes: 2, seed: 1)
    return Trainer(model: model, optimizer: Adam(model.namedParameters(), learningRate: 0.01),
                   train: examples, test: examples, batchSize: 4, seed: 7)
}

/// Seeds: the trainer's own checkpoints after one and after two epochs, and a copy of the
/// first in safetensors/ (for FuzzSafetensors' corpus).
func writeSeeds(_ dir: URL) throws {
    let trainer = makeTrainer()
    let raw = dir.appendingPathComponent("safetensors", isDirectory: true)
    try FileManager.default.createDirectory(at: raw, withIntermediateDirectories: true)
    for epoch in 1...2 {
        _ = try trainer.trainEpoch()
        let url = dir.appendingPathComponent("mlp-epoch\(epoch).safetensors")
        try trainer.save(to: url, modelName: "mlp")
        try makeTrainer().resume(from: url)  // the seed must be what the body resumes from
        if epoch == 1 { try FileManager.default.copyItem(at: url, to: raw.appendingPathComponent(url.lastPathComponent)) }
    }
}

func state(_ t: Trainer) -> [[Float]] {
    t.model.namedParameters().map(\.tensor.scalars) + t.optimizer.stateTensors().map(\.1.scalars) + [[Float(t.epoch)]]
}

@_cdecl("FuzzCheckpoint_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, writeSeeds: writeSeeds) { data, size in
        let url = scratchDirectory.appendingPathComponent("fuzz.safetensors")
        writeFile(fuzzInput(data, size), to: url)
        let trainer = makeTrainer()
        let before = state(trainer)
        do {
            try trainer.resume(from: url)
        } catch {
            precondition(state(trainer).elementsEqual(before) { $0.elementsEqual($1) { $0.bitPattern == $1.bitPattern } },
                         "a failed resume (\(error)) changed the trainer")
            return 0
        }
        do { _ = try trainer.trainEpoch() } catch { return 0 }
        _ = trainer.evaluate(trainer.test)
        return 0
    }
}
