import Foundation
import FuzzSupport
import Heed
import HeedNN

// The resume path: the input written as a checkpoint, then Trainer.resume(from:) of a small
// MLP trainer (4 → 3 → 2, Adam) over 8 synthetic examples. A resume that fails must leave the
// trainer as it was; one that succeeds is followed by an epoch and an evaluation.
//
// Today a checkpoint is two files, `X` and `X.optimizer.safetensors`; the input holds both:
// a little-endian UInt32 n, then n bytes of `X`, then the optimizer file. writeCheckpoint and
// readCheckpoint are the only places that know it (for a single-file format, both become one
// plain write / read).
func writeCheckpoint(_ input: [UInt8], to url: URL) {
    let n = input.count >= 4 ? Int(input[0]) | Int(input[1]) << 8 | Int(input[2]) << 16 | Int(input[3]) << 24 : 0
    let rest = input.dropFirst(4)
    let split = rest.startIndex + min(n, rest.count)
    writeFile(rest[..<split], to: url)
    writeFile(rest[split...], to: Trainer.optimizerURL(url))
}

/// The bytes of a checkpoint saved at `url`, as one fuzz input.
func readCheckpoint(_ url: URL) throws -> [UInt8] {
    let model = try [UInt8](Data(contentsOf: url)), optimizer = try [UInt8](Data(contentsOf: Trainer.optimizerURL(url)))
    let n = UInt32(model.count)
    return [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: n >> $0) } + model + optimizer
}

nonisolated(unsafe) let examples: Dataset = Dataset(
    images: Tensor((0..<32).map { Float(($0 * 7) % 11) / 11 }, shape: [8, 2, 2]),
    labels: [0, 1, 1, 0, 1, 0, 0, 1], classNames: ["a", "b"])

func makeTrainer() -> Trainer {
    let model = MLPClassifier(inputCount: 4, hiddenCount: 3, classes: 2, seed: 1)
    return Trainer(model: model, optimizer: Adam(model.namedParameters(), learningRate: 0.01),
                   train: examples, test: examples, batchSize: 4, seed: 7)
}

/// Seeds: the trainer's own checkpoints after one and after two epochs, and the raw files of
/// the first (safetensors/, for FuzzSafetensors' corpus).
func writeSeeds(_ dir: URL) throws {
    let trainer = makeTrainer()
    let raw = dir.appendingPathComponent("safetensors", isDirectory: true)
    try FileManager.default.createDirectory(at: raw, withIntermediateDirectories: true)
    let url = scratchDirectory.appendingPathComponent("mlp.safetensors")
    for epoch in 1...2 {
        _ = trainer.trainEpoch()
        try trainer.save(to: url, modelName: "mlp")
        let input = try readCheckpoint(url)
        writeFile(input, to: dir.appendingPathComponent("mlp-epoch\(epoch).checkpoint"))
        // The seed must be what the body resumes from.
        let check = scratchDirectory.appendingPathComponent("check.safetensors")
        writeCheckpoint(input, to: check)
        try makeTrainer().resume(from: check)
        if epoch == 1 {
            for file in [url, Trainer.optimizerURL(url)] {
                writeFile(try [UInt8](Data(contentsOf: file)), to: raw.appendingPathComponent(file.lastPathComponent))
            }
        }
    }
}

func state(_ t: Trainer) -> [[Float]] {
    t.model.namedParameters().map(\.tensor.scalars) + t.optimizer.stateTensors().map(\.1.scalars) + [[Float(t.epoch)]]
}

@_cdecl("FuzzCheckpoint_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, writeSeeds: writeSeeds) { data, size in
        let url = scratchDirectory.appendingPathComponent("fuzz.safetensors")
        writeCheckpoint(fuzzInput(data, size), to: url)
        let trainer = makeTrainer()
        let before = state(trainer)
        do {
            try trainer.resume(from: url)
        } catch {
            precondition(state(trainer).elementsEqual(before) { $0.elementsEqual($1) { $0.bitPattern == $1.bitPattern } },
                         "a failed resume (\(error)) changed the trainer")
            return 0
        }
        _ = trainer.trainEpoch()
        _ = trainer.evaluate(trainer.test)
        return 0
    }
}
