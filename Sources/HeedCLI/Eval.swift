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

    func validate() throws {
        try OptionCheck.readableFile(checkpoint, "--checkpoint")
    }

    struct Result: Codable {
        var model: String, checkpoint: String, epoch: Int?, parameters: Int
        var testAccuracy: Double, testLoss: Double
        enum CodingKeys: String, CodingKey {
            case model, checkpoint, epoch, parameters
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
        let (loss, acc) = Trainer.evaluate(model, try dataOptions.load(.test))
        let result = Result(model: name, checkpoint: checkpoint, epoch: file.metadata["epoch"].flatMap(Int.init),
                            parameters: model.parameterCount, testAccuracy: acc, testLoss: loss)
        print(json ? try jsonLine(result) : String(format: "%@ (%@): test accuracy %.4f, loss %.4f", name, checkpoint, acc, loss))
    }
}
