import Foundation

/// Why a model folder (a Hugging Face / sentence-transformers directory) cannot be used.
/// Problems inside model.safetensors are `SafetensorsError`s and `CheckpointError`s, and the
/// tokenizer's files give `TokenizerError`s; each names its file.
public enum ModelFolderError: Error, CustomStringConvertible, Equatable {
    /// A file the folder must have is not there.
    case missingFile(String)
    /// The file is there but cannot be read: a directory, a FIFO, no permission, too large.
    case unreadable(file: String, reason: String)
    /// The file is there but is not the JSON we expect.
    case malformed(file: String, reason: String)
    /// Well-formed, but asks for something Heed does not implement.
    case unsupported(file: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(file): "\(file): no such file (is this a sentence-transformers model folder?)"
        case let .unreadable(file, reason): "\(file): cannot read the file: \(reason)"
        case let .malformed(file, reason): "\(file): \(reason)"
        case let .unsupported(file, reason): "\(file): not supported: \(reason)"
        }
    }

    /// Reads and decodes a JSON file of the folder, mapping every failure to a typed error
    /// that names the file.
    static func decode<T: Decodable>(_ type: T.Type, _ url: URL) throws(ModelFolderError) -> T {
        let bytes: [UInt8]
        do { bytes = try RegularFile(url.path).readAll(limit: RegularFile.textLimit) } catch {
            throw error.isMissing ? .missingFile(url.path) : .unreadable(file: url.path, reason: error.reason)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .malformed(file: url.path, reason: jsonDecodingFailure(error))
        }
    }
}

/// What a `JSONDecoder` failure means for the file's author: the missing key, or the path of
/// the value with the wrong type, or that the text is not JSON at all. Shared by the model
/// folder's and the tokenizer's readers.
func jsonDecodingFailure(_ error: Error) -> String {
    switch error {
    case let DecodingError.keyNotFound(key, _):
        return "missing key '\(key.stringValue)'"
    case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
        return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
    default:
        return "not valid JSON"
    }
}
