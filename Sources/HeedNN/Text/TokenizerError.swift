import Foundation

/// Why a tokenizer could not be built from a model folder. Every case names the file, so a
/// broken download says which file to fetch again.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file is absent or could not be read (permissions, a directory in its place).
    case unreadableFile(path: String, reason: String)
    /// The file's bytes are not UTF-8 (the first bad byte's offset).
    case invalidUTF8(path: String, offset: Int)
    /// The JSON does not parse, or is not an object, or a field has the wrong type.
    case malformedJSON(path: String, reason: String)
    /// vocab.txt holds no tokens.
    case emptyVocabulary(path: String)
    /// A token appears on two lines of vocab.txt: its id would be ambiguous (lines are 1-based).
    case duplicateToken(path: String, token: String, firstLine: Int, line: Int)
    /// A special token the encoder needs ([CLS], [SEP], [PAD], [UNK]) is not in vocab.txt.
    case missingSpecialToken(path: String, role: String, token: String)
    /// A length that cannot hold [CLS] and [SEP].
    case invalidMaxLength(path: String, value: Int)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "tokenizer: cannot read \(path): \(reason)"
        case let .invalidUTF8(path, offset):
            return "tokenizer: \(path) is not UTF-8 (bad byte at offset \(offset))"
        case let .malformedJSON(path, reason):
            return "tokenizer: \(path) is not valid JSON for a tokenizer: \(reason)"
        case let .emptyVocabulary(path):
            return "tokenizer: \(path) holds no tokens"
        case let .duplicateToken(path, token, firstLine, line):
            return "tokenizer: \(path): token \(token.debugDescription) on line \(line) already on line \(firstLine)"
        case let .missingSpecialToken(path, role, token):
            return "tokenizer: the \(role) token \(token.debugDescription) is not in \(path)"
        case let .invalidMaxLength(path, value):
            return "tokenizer: \(path): max length \(value) leaves no room for [CLS] and [SEP]"
        }
    }
}
