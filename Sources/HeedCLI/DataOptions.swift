import ArgumentParser
import Foundation
import HeedNN

/// Where the Fashion-MNIST files are; the error for missing files says how to get them.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Directory with the Fashion-MNIST IDX files (default: \(Dataset.fashionMNISTDirectory.path)).")
    var data: String?

    func validate() throws {
        if let data { try OptionCheck.directory(data, "--data") }
    }

    func load(_ split: Dataset.Split) throws -> Dataset {
        try Dataset.fashionMNIST(directory: data.map { URL(fileURLWithPath: $0) }, split: split)
    }
}

/// Prints to standard error (progress and messages; standard output carries results).
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// JSON for one value, with sorted keys so output is stable. JSON has no NaN or infinity, and
/// a diverged run's loss can be either: they are written as the strings "NaN", "Infinity",
/// "-Infinity" (JSONEncoder's default throws, which lost the whole summary to a "{}").
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
