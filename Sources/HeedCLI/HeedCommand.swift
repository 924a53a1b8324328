import ArgumentParser

@main
struct HeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heed",
        abstract: "Heed: train and compare attention models on Fashion-MNIST; sentence embeddings with a pretrained BERT.",
        subcommands: [Train.self, Eval.self, Experiment.self, Embed.self, Similarity.self])
}
