import Foundation
import Heed

/// Why a checkpoint does not fit a module. Format problems are `SafetensorsError`s.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The module has a parameter the file lacks.
    case missingParameter(name: String, file: String)
    /// The file has a tensor the module lacks (only with `strict`).
    case unexpectedParameter(name: String, file: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int], file: String)
    /// A training checkpoint's model and optimizer files do not belong together.
    case inconsistentPair(file: String, reason: String)

    public var description: String {
        switch self {
        case let .inconsistentPair(file, reason):
            return "\(file): \(reason)"
        case let .missingParameter(name, file):
            return "\(file): no tensor for parameter '\(name)'"
        case let .unexpectedParameter(name, file):
            return "\(file): tensor '\(name)' matches no parameter of the module (load with strict: false to ignore it)"
        case let .shapeMismatch(name, expected, found, file):
            return "\(file): parameter '\(name)' has shape \(expected) but the file holds \(found)"
        }
    }
}

extension Module {
    /// Saves every parameter under its dotted name (`namedParameters()`) as F32 safetensors,
    /// atomically (see `SafetensorsFile.write`). PyTorch reads it with
    /// `safetensors.torch.load_file`.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafetensorsFile.write(namedParameters().map { ($0.name, $0.tensor) }, metadata: metadata, to: url)
    }

    /// Copies the tensors of a safetensors file into this module's parameters, in place (so
    /// optimizers holding them see the new values). F16, BF16 and the other convertible dtypes
    /// are widened to Float32.
    ///
    /// All or nothing: names and shapes are checked and every tensor decoded before the first
    /// parameter changes, so a failed load leaves the module as it was (at the cost of one
    /// extra copy of the weights while loading). A missing parameter is always an error;
    /// tensors the module lacks are an error only when `strict`.
    public func load(from url: URL, strict: Bool = true) throws {
        let file = try SafetensorsFile(contentsOf: url)
        let parameters = namedParameters()
        for (name, tensor) in parameters {
            guard let info = file.info(name) else { throw CheckpointError.missingParameter(name: name, file: file.file) }
            guard info.shape == tensor.shape else {
                throw CheckpointError.shapeMismatch(name: name, expected: tensor.shape, found: info.shape, file: file.file)
            }
        }
        if strict {
            let known = Set(parameters.map(\.name))
            if let extra = file.names.first(where: { !known.contains($0) }) {
                throw CheckpointError.unexpectedParameter(name: extra, file: file.file)
            }
        }
        let values = try parameters.map { try file.tensor($0.name) }
        noGrad {
            // Empty parameters have nothing to copy (and Heed's `assign` refuses some of them
            // as non-contiguous, e.g. [4, 0, 2]).
            for ((_, parameter), value) in zip(parameters, values) where parameter.count > 0 {
                parameter.assign(value)
            }
        }
    }
}
