import Foundation
import Heed

/// Why a checkpoint does not fit a module, or cannot continue a training run. Format problems
/// are `SafetensorsError`s. Every case names the file.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The module has a parameter the file lacks.
    case missingParameter(name: String, file: String)
    /// The file has a tensor the module lacks (only with `strict`).
    case unexpectedParameter(name: String, file: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int], file: String)
    /// A tensor holds NaN or ±infinity (element `index`, row-major); refused unless the load
    /// allows non-finite values.
    case nonFinite(name: String, index: Int, value: Float, file: String)
    /// A `__metadata__` value a training checkpoint needs is missing or makes no sense.
    case invalidMetadata(file: String, key: String, value: String?, reason: String)
    /// The file is not a training checkpoint (`Trainer.save`): it holds no optimizer state.
    case notATrainingCheckpoint(file: String, format: String?)
    /// The optimizer state in the checkpoint cannot be loaded.
    case optimizerState(file: String, OptimizerStateError)
    /// A quantized layer's tensor (codes, scales) that cannot be what it claims.
    case invalidQuantization(name: String, file: String, reason: String)

    public var description: String {
        switch self {
        case let .missingParameter(name, file):
            return "\(file): no tensor for parameter '\(name)'"
        case let .unexpectedParameter(name, file):
            return "\(file): tensor '\(name)' matches no parameter of the module (load with strict: false to ignore it)"
        case let .shapeMismatch(name, expected, found, file):
            return "\(file): parameter '\(name)' has shape \(expected) but the file holds \(found)"
        case let .nonFinite(name, index, value, file):
            return "\(file): tensor '\(name)' holds \(value) at element \(index) (load with allowNonFinite: true to inspect such a file)"
        case let .invalidMetadata(file, key, value, reason):
            return "\(file): metadata '\(key)' = \(value.map { "'\($0)'" } ?? "(missing)"): \(reason)"
        case let .notATrainingCheckpoint(file, format):
            return "\(file): not a training checkpoint (format \(format.map { "'\($0)'" } ?? "unset"), expected "
                + "'\(TrainingCheckpoint.format)'): it holds no optimizer state to resume from"
        case let .invalidQuantization(name, file, reason):
            return "\(file): quantized tensor '\(name)': \(reason)"
        case let .optimizerState(file, error):
            return "\(file): \(error)"
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
    /// are widened to Float32. A training checkpoint (`Trainer.save`) loads too: its optimizer
    /// state is not the module's and is passed over.
    ///
    /// All or nothing: names and shapes are checked and every tensor decoded and checked
    /// before the first parameter changes, so a failed load leaves the module as it was (at
    /// the cost of one extra copy of the weights while loading). A missing parameter is always
    /// an error; tensors the module lacks are an error when `strict` (the default); a NaN or
    /// infinity is an error unless `allowNonFinite`.
    public func load(from url: URL, strict: Bool = true, allowNonFinite: Bool = false) throws {
        try load(from: SafetensorsFile(contentsOf: url), strict: strict, allowNonFinite: allowNonFinite)
    }

    /// `load(from:)` for a file already open.
    public func load(from file: SafetensorsFile, strict: Bool = true, allowNonFinite: Bool = false) throws {
        let parameters = namedParameters()
        for (name, tensor) in parameters {
            guard let info = file.info(name) else { throw CheckpointError.missingParameter(name: name, file: file.file) }
            guard info.shape == tensor.shape else {
                throw CheckpointError.shapeMismatch(name: name, expected: tensor.shape, found: info.shape, file: file.file)
            }
        }
        if strict {
            let known = Set(parameters.map(\.name))
            let training = TrainingCheckpoint.isTrainingCheckpoint(file)
            if let extra = file.names.first(where: { !known.contains($0) && !(training && TrainingCheckpoint.isOptimizerTensor($0)) }) {
                throw CheckpointError.unexpectedParameter(name: extra, file: file.file)
            }
        }
        let values = try parameters.map { try file.tensor($0.name, allowNonFinite: allowNonFinite) }
        noGrad {
            // Empty parameters have nothing to copy (and Heed's `assign` refuses some of them
            // as non-contiguous, e.g. [4, 0, 2]).
            for ((_, parameter), value) in zip(parameters, values) where parameter.count > 0 {
                parameter.assign(value)
            }
        }
    }
}

extension SafetensorsFile {
    /// `tensor(name)`, refused with `CheckpointError.nonFinite` when it holds a NaN or an
    /// infinity, unless `allowNonFinite`: the check every weight load makes.
    func tensor(_ name: String, allowNonFinite: Bool) throws -> Tensor {
        let t = try tensor(name)
        if !allowNonFinite, let (index, value) = t.firstNonFinite() {
            throw CheckpointError.nonFinite(name: name, index: index, value: value, file: file)
        }
        return t
    }
}
