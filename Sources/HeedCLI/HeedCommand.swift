import ArgumentParser

@main
struct HeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heed",
        abstract: "Heed: train and compare attention models on Fashion-MNIST.",
        subcommands: [Train.self, Eval.self, Experiment.self])
}
