import ArgumentParser
import Foundation
import Heed
import HeedNN

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a checkpoint on the Fashion-MNIST test split.")

    @Option(help: "A checkpoint written by `heed train --save`.") var checkpoint: String
    @OptionGroup var dataOptions: DataOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(name: .customLong("allow-nonfinite"), help: "Evaluate a checkpoint even if it holds NaN or infinite weights (to inspect it).")
    var allowNonFinite = false
    @Option(help: "Evaluate with every dense layer on float32, int8 (SmoothQuant-calibrated on --calibration-examples training images) or bf16 weights.")
    var quantize: WeightFormat = .float32
    @Option(help: "Training images the int8 calibration runs (first ones of the training split).")
    var calibrationExamples = 512

    func validate() throws {
        try OptionCheck.readableFile(checkpoint, "--checkpoint")
        try OptionCheck.inRange(calibrationExamples, 1...60_000, "--calibration-examples")
    }

    struct Result: Codable {
        var model: String, checkpoint: String, epoch: Int?, parameters: Int
        var weights: String, weightBytes: Int
        var testAccuracy: Double, testLoss: Double
        enum CodingKeys: String, CodingKey {
            case model, checkpoint, epoch, parameters, weights
            case weightBytes = "weight_bytes"
            case testAccuracy = "test_accuracy", testLoss = "test_loss"
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: checkpoint)
        let file = try SafetensorsFile(contentsOf: url)
        guard let name = file.metadata["model"], let kind = ModelKind(rawValue: name) else {
            throw ValidationError("\(checkpoint): no known model name in its metadata (expected one of \(ModelKind.allCases.map(\.rawValue)))")
        }
        let model = kind.make(seed: 0)
        try model.load(from: file, allowNonFinite: allowNonFinite)
        switch quantize {
        case .int8:
            let train = try dataOptions.load(.train)
            let calibration = train.subset(Array(0..<min(calibrationExamples, train.count)))
            model.eval()
            model.quantizeLinearsInt8 {
                for batch in DataLoader(calibration, batchSize: 256, shuffle: false).epoch(0) { _ = model(batch.images) }
            }
        case .bf16, .float32:
            model.quantizeLinears(quantize)
        }
        let (loss, acc) = Trainer.evaluate(model, try dataOptions.load(.test))
        let result = Result(model: name, checkpoint: checkpoint, epoch: file.metadata["epoch"].flatMap(Int.init),
                            parameters: model.parameterCount, weights: quantize.rawValue, weightBytes: model.computeWeightBytes,
                            testAccuracy: acc, testLoss: loss)
        print(json ? try jsonLine(result) : String(format: "%@ (%@, %@ weights, %d bytes): test accuracy %.4f, loss %.4f",
                                                   name, checkpoint, quantize.rawValue, result.weightBytes, acc, loss))
    }
}
