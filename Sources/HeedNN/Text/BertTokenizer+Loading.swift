import Foundation
import Heed

extension BertTokenizer {
    /// Loads `vocab.txt` (one token a line, the id its line number), `tokenizer_config.json`
    /// (do_lower_case, strip_accents, tokenize_chinese_chars, the special tokens) and, if
    /// present, `sentence_bert_config.json` (max_seq_length) from a model folder.
    /// `maxLength` overrides the configured length.
    public init(modelDirectory: URL, maxLength: Int? = nil) throws {
        let vocabURL = modelDirectory.appendingPathComponent("vocab.txt")
        let configURL = modelDirectory.appendingPathComponent("tokenizer_config.json")
        let sbertURL = modelDirectory.appendingPathComponent("sentence_bert_config.json")

        let config = try Self.decode(TokenizerConfig.self, from: configURL)
        var length: Int
        if FileManager.default.fileExists(atPath: sbertURL.path) {
            length = try Self.decode(SentenceBertConfig.self, from: sbertURL).max_seq_length ?? 512
        } else {
            // HF writes a huge sentinel when a model sets no limit; BERT's positions stop at 512.
            let model = config.model_max_length ?? 512
            length = model >= 2 && model <= 1_000_000 ? Int(model) : 512
        }
        if let maxLength {
            check(maxLength >= 2, "BertTokenizer: maxLength \(maxLength) leaves no room for [CLS] and [SEP]")
            length = maxLength
        }
        guard length >= 2 else { throw TokenizerError.invalidMaxLength(path: sbertURL.path, value: length) }

        let specials: [(role: String, token: String)] = [
            ("cls_token", config.cls_token?.content ?? "[CLS]"),
            ("sep_token", config.sep_token?.content ?? "[SEP]"),
            ("pad_token", config.pad_token?.content ?? "[PAD]"),
            ("unk_token", config.unk_token?.content ?? "[UNK]"),
            ("mask_token", config.mask_token?.content ?? "[MASK]"),
        ]
        let basic = BasicTokenizer(lowercase: config.do_lower_case ?? true, stripAccents: config.strip_accents,
                                   handleChineseCharacters: config.tokenize_chinese_chars ?? true)
        try self.init(vocabulary: Self.readVocabulary(vocabURL), vocabularyPath: vocabURL.path,
                      basic: basic,
                      maxLength: length, specials: specials)
    }

    /// A tokenizer from tokens in id order; `specials` are (role, token) with the roles
    /// cls_token, sep_token, pad_token, unk_token and optionally mask_token.
    init(vocabulary tokens: [String], vocabularyPath: String, basic: BasicTokenizer,
         maxLength: Int, specials: [(role: String, token: String)]) throws {
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary(path: vocabularyPath) }
        let vocabulary: Vocabulary
        switch Vocabulary.make(tokens) {
        case let .success(v): vocabulary = v
        case let .failure(dup):
            throw TokenizerError.duplicateToken(path: vocabularyPath, token: tokens[dup.second],
                                                firstLine: dup.first + 1, line: dup.second + 1)
        }
        var ids: [String: Int32] = [:]
        var found: [(bytes: [UInt8], id: Int32)] = []
        for (role, token) in specials {
            if let id = vocabulary.id(of: token) {
                ids[role] = id
                found.append((Array(token.utf8), id))
            } else if role != "mask_token" {  // [MASK] matters only to masked-LM training
                throw TokenizerError.missingSpecialToken(path: vocabularyPath, role: role, token: token)
            }
        }
        self.basic = basic
        self.maxLength = maxLength
        clsID = ids["cls_token"]!
        sepID = ids["sep_token"]!
        padID = ids["pad_token"]!
        unknownID = ids["unk_token"]!
        specialTokens = found.filter { !$0.bytes.isEmpty }
        wordPiece = WordPiece(vocabulary: vocabulary, unknownID: unknownID)
    }

    /// The lines of vocab.txt: split at \n, a \r before it dropped, no token after a final \n
    /// (Python's `readlines` + `rstrip("\n")` in text mode, as transformers reads it).
    static func readVocabulary(_ url: URL) throws -> [String] {
        let text = try readUTF8(url)
        // Split on the scalar "\n", not on Characters: "\r\n" is one Character in Swift.
        var tokens: [String] = []
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            var token = String.UnicodeScalarView(line)
            if token.last == "\r" { token.removeLast() }
            tokens.append(String(token))
        }
        if text.isEmpty || text.unicodeScalars.last == "\n" { tokens.removeLast() }
        return tokens
    }

    static func readUTF8(_ url: URL) throws -> String {
        let data: [UInt8]
        do { data = try RegularFile(url.path).readAll(limit: RegularFile.textLimit) } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.isMissing ? "no such file" : error.reason)
        }
        if let text = String(validating: data, as: UTF8.self) { return text }
        var offset = 0
        var decoder = UTF8()
        var bytes = data.makeIterator()
        decoding: while true {
            switch decoder.decode(&bytes) {
            case let .scalarValue(s): offset += UTF8.width(s)
            case .emptyInput, .error: break decoding
            }
        }
        throw TokenizerError.invalidUTF8(path: url.path, offset: offset)
    }

    /// The fields of tokenizer_config.json the tokenizer uses; the rest is ignored.
    struct TokenizerConfig: Decodable {
        var do_lower_case: Bool?
        var strip_accents: Bool?
        var tokenize_chinese_chars: Bool?
        var model_max_length: Double?
        var cls_token: SpecialToken?, sep_token: SpecialToken?, pad_token: SpecialToken?
        var unk_token: SpecialToken?, mask_token: SpecialToken?
    }

    struct SentenceBertConfig: Decodable {
        var max_seq_length: Int?
    }

    /// A special token, written either as a string or as an AddedToken {"content": ...}.
    struct SpecialToken: Decodable {
        var content: String
        private enum Keys: String, CodingKey { case content }
        init(from decoder: Decoder) throws {
            if let s = try? decoder.singleValueContainer().decode(String.self) {
                content = s
            } else {
                content = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .content)
            }
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let text = try readUTF8(url)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw TokenizerError.malformedJSON(path: url.path, reason: jsonDecodingFailure(error))
        }
    }
}
