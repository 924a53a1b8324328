import ArgumentParser
import Foundation
import HeedNN

/// The design document's experiment (§5) done honestly: each model trains with the same data,
/// epochs, batch size, optimizer and seed, and the table compares what they cost and reach.
struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the models under the same budget and compare them.")

    @Option(parsing: .upToNextOption, help: "Models to compare.") var models: [ModelKind] = [.mlp, .pooling, .vit]
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var options: TrainingOptions
    @Option(help: "Write the test-accuracy curves here (SVG).") var svg = "experiment.svg"
    @Flag(help: "Print the summaries as JSON lines.") var json = false

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("--models needs at least one of \(ModelKind.allCases.map(\.rawValue))") }
        try OptionCheck.writableFile(svg, "--svg")
    }

    func run() throws {
        let train = try dataOptions.load(.train), test = try dataOptions.load(.test)
        var summaries: [TrainingSummary] = []
        for kind in models {
            printError("training \(kind.rawValue): \(kind.summary)")
            summaries.append(try runTraining(kind, options, train: train, test: test, resume: nil, save: nil, log: nil))
        }
        let chart = LineChart(
            title: "Fashion-MNIST test accuracy (same budget: \(options.epochs) epochs, batch \(options.batchSize), lr \(options.lr))",
            xLabel: "epoch", yLabel: "test accuracy",
            series: summaries.map { s in (s.model, s.history.map { (Double($0.epoch), $0.testAccuracy) }) })
        try chart.svg().write(toFile: svg, atomically: true, encoding: .utf8)
        if json {
            for s in summaries { print(try jsonLine(s)) }
        } else {
            print(table(summaries))
            print("accuracy curves: \(svg)")
        }
    }

    func table(_ rows: [TrainingSummary]) -> String {
        var out = "| model | parameters | MFLOPs/example (fwd) | s/epoch (median) | examples/s | test accuracy |\n"
        out += "|---|---:|---:|---:|---:|---:|\n"
        for r in rows {
            out += String(format: "| %@ | %d | %.2f | %.2f | %.0f | %.4f |\n", r.model, r.parameters,
                          Double(r.flopsPerExample) / 1e6, r.secondsPerEpoch, r.examplesPerSecond, r.testAccuracy)
        }
        return out
    }
}
