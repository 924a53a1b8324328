import Foundation
import XCTest
import HeedTestSupport
@testable import HeedNN

/// BertTokenizer: hand-computed splits on a tiny vocabulary, the reference's ids on the real
/// all-MiniLM-L6-v2 vocabulary (fixtures from make_minilm_fixtures.py), and the load errors.
final class TokenizerTests: XCTestCase {
    // MARK: - A tiny vocabulary, hand-computed

    static let tinyVocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",   // 0–4
        "un", "##aff", "##af", "##able", "hello",      // 5–9
        ",", "world", "!", "##s", "cafe",              // 10–14
        "中", "文", "a", "##a", "u",                   // 15–19
        "σοφοσ", "i", "##b", "x", "e\u{301}",    // 20–24  (e + combining acute: only without stripping)
    ]

    /// A model folder in a temporary directory holding `files` (name → contents).
    func folder(_ files: [String: Data]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("heed-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for (name, contents) in files { try contents.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    func tinyFolder(vocabulary: [String] = TokenizerTests.tinyVocabulary,
                    config: String = #"{"do_lower_case": true, "strip_accents": null}"#,
                    maxSeqLength: Int? = nil) throws -> URL {
        var files = ["vocab.txt": Data((vocabulary.joined(separator: "\n") + "\n").utf8),
                     "tokenizer_config.json": Data(config.utf8)]
        if let maxSeqLength {
            files["sentence_bert_config.json"] = Data(#"{"max_seq_length": \#(maxSeqLength)}"#.utf8)
        }
        return try folder(files)
    }

    func tiny(maxSeqLength: Int? = nil) throws -> BertTokenizer {
        try BertTokenizer(modelDirectory: tinyFolder(maxSeqLength: maxSeqLength))
    }

    func testGreedyLongestMatchWithContinuations() throws {
        let t = try tiny()
        // "un" then the longest continuation "##aff" (not "##af"), then "##able".
        XCTAssertEqual(t.tokenize("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(t.encode("unaffable"), [2, 5, 6, 8, 3])
        XCTAssertEqual(t.tokenize("aaa"), ["a", "##a", "##a"])
        XCTAssertEqual(t.tokenize("worlds"), ["world", "##s"])
    }

    func testUnsplittableWordIsOneUnknown() throws {
        let t = try tiny()
        // "un" matches but "##x" does not: the whole word is [UNK], no partial pieces kept.
        XCTAssertEqual(t.tokenize("unx hello"), ["[UNK]", "hello"])
        XCTAssertEqual(t.tokenize("zzz"), ["[UNK]"])
    }

    func testWordLengthLimitIs100Scalars() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize(String(repeating: "a", count: 100)), ["a"] + Array(repeating: "##a", count: 99))
        XCTAssertEqual(t.tokenize(String(repeating: "a", count: 101)), ["[UNK]"])
        // Scalars, not bytes or Characters: 100 two-byte scalars are within the limit...
        XCTAssertEqual(t.tokenize(String(repeating: "中", count: 3)), ["中", "中", "中"])
    }

    func testPunctuationAndWhitespaceSplit() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("hello,world!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(t.tokenize("  hello\t\n world  "), ["hello", "world"])
        // Controls are dropped, not turned into spaces: "hel\u{1}lo" is one word.
        XCTAssertEqual(t.tokenize("hel\u{1}lo wor\u{0B}ld"), ["hello", "world"])
    }

    func testLowercaseAndAccents() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("CAFÉ Café cafe\u{301}"), ["cafe", "cafe", "cafe"])
        // Σ lowercases scalar by scalar (σ, never the final ς): the reference maps each char
        // with char::to_lowercase, not str::to_lowercase. A written ς stays ς.
        XCTAssertEqual(t.tokenize("ΣΟΦΟΣ σοφός"), ["σοφοσ", "[UNK]"])
        // İ decomposes to I + U+0307 before lowercasing, so its dot is stripped like an accent.
        XCTAssertEqual(t.tokenize("İ"), ["i"])
    }

    func testVocabularyIsMatchedByBytesNotCanonicalEquivalence() throws {
        // "é" precomposed is canonically equal to "e\u{301}" (token 24) for Swift's ==, but
        // the reference compares bytes. With accents kept, "é" must not find token 24.
        let dir = try tinyFolder(config: #"{"do_lower_case": false, "strip_accents": false}"#)
        let t = try BertTokenizer(modelDirectory: dir)
        XCTAssertEqual(t.tokenize("\u{E9}"), ["[UNK]"])
        XCTAssertEqual(t.tokenize("e\u{301}"), ["e\u{301}"])
        XCTAssertEqual(t.tokenize("Hello"), ["[UNK]"])  // no lowercasing
    }

    func testChineseCharactersAreSplit() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("中文"), ["中", "文"])
        XCTAssertEqual(t.tokenize("hello中a"), ["hello", "中", "a"])
    }

    func testSpecialTokensInTextAreKept() throws {
        let t = try tiny()
        XCTAssertEqual(t.encode("hello[MASK]world"), [2, 9, 4, 11, 3])
        // Case-sensitive, before normalisation: "[mask]" is text.
        XCTAssertEqual(t.tokenize("[mask]"), ["[UNK]", "[UNK]", "[UNK]"])
    }

    func testTruncationKeepsSeparatorLast() throws {
        let t = try tiny(maxSeqLength: 5)
        XCTAssertEqual(t.maxLength, 5)
        XCTAssertEqual(t.encode("hello world hello world"), [2, 9, 11, 9, 3])
        // A word cut in the middle of its pieces.
        XCTAssertEqual(t.encode("world unaffable"), [2, 11, 5, 6, 3])
        XCTAssertEqual(t.encode(""), [2, 3])
        let short = try BertTokenizer(modelDirectory: tinyFolder(), maxLength: 2)
        XCTAssertEqual(short.encode("hello"), [2, 3])
    }

    /// Encoding stops reading at the length limit: a long text encodes as its prefix does, and
    /// the words after the limit are never normalised (the closure sees only what it asked for).
    func testEncodingStopsAtTheLimit() throws {
        let t = try tiny(maxSeqLength: 6)
        let text = String(repeating: "hello world ", count: 100_000) + "unaffable"
        XCTAssertEqual(t.encode(text), [2, 9, 11, 9, 11, 3])
        var seen = 0
        t.basic.forEachWord(in: text[...]) { _ in seen += 1; return seen < 3 }
        XCTAssertEqual(seen, 3, "forEachWord went on after its body returned false")
    }

    /// One word of 300,000 scalars (no space, nothing ASCII): one [UNK], and only the first
    /// 101 scalars of it are kept while the word is read to its end.
    func testHugeWordWithoutSpacesIsOneUnknown() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize(String(repeating: "é", count: 300_000)), ["[UNK]"])
        XCTAssertEqual(t.tokenize(String(repeating: "é", count: 300_000) + " cafe"), ["[UNK]", "cafe"])
        var lengths: [Int] = []
        t.basic.forEachWord(in: (String(repeating: "e\u{301}", count: 5000) + " ab")[...], maxWordLength: 100) {
            lengths.append($0.count); return true
        }
        XCTAssertEqual(lengths, [101, 2])
    }

    func testBatchPadsToLongestWithMask() throws {
        let t = try tiny()
        let batch = t.encodeBatch(["hello", "hello, world", ""])
        XCTAssertEqual(batch.batchSize, 3)
        XCTAssertEqual(batch.length, 5)
        XCTAssertEqual(batch.ids, [2, 9, 3, 0, 0,
                                   2, 9, 10, 11, 3,
                                   2, 3, 0, 0, 0])
        XCTAssertEqual(batch.attentionMask, [1, 1, 1, 0, 0,
                                             1, 1, 1, 1, 1,
                                             1, 1, 0, 0, 0])
        XCTAssertEqual(Array(batch.ids(ofRow: 0)), [2, 9, 3])
        let empty = t.encodeBatch([])
        XCTAssertEqual(empty.batchSize, 0)
        XCTAssertEqual(empty.ids, [])
    }

    func testDefaultsWithoutSentenceBertConfig() throws {
        let t = try tiny()
        XCTAssertEqual(t.maxLength, 512)
        XCTAssertEqual(t.clsID, 2); XCTAssertEqual(t.sepID, 3)
        XCTAssertEqual(t.padID, 0); XCTAssertEqual(t.unknownID, 1)
        XCTAssertEqual(t.vocabularySize, TokenizerTests.tinyVocabulary.count)
        XCTAssertEqual(t.token(for: 9), "hello")
        XCTAssertNil(t.token(for: 999))
        XCTAssertEqual(t.id(for: "##able"), 8)
    }

    // MARK: - Load errors

    func assertThrows(_ expected: (TokenizerError) -> Bool, _ dir: URL, mentions file: String,
                      line: UInt = #line) {
        XCTAssertThrowsError(try BertTokenizer(modelDirectory: dir), line: line) { error in
            guard let e = error as? TokenizerError else { return XCTFail("\(error) is not a TokenizerError", line: line) }
            XCTAssertTrue(expected(e), "unexpected \(e)", line: line)
            XCTAssertTrue(e.description.contains(file), "\(e) does not name \(file)", line: line)
        }
    }

    func testMissingFiles() throws {
        let config = Data(#"{"do_lower_case": true}"#.utf8)
        assertThrows({ if case .unreadableFile = $0 { true } else { false } },
                     try folder(["tokenizer_config.json": config]), mentions: "vocab.txt")
        assertThrows({ if case .unreadableFile = $0 { true } else { false } },
                     try folder(["vocab.txt": Data("[PAD]\n".utf8)]), mentions: "tokenizer_config.json")
    }

    func testMalformedConfig() throws {
        let vocab = Data(TokenizerTests.tinyVocabulary.joined(separator: "\n").utf8)
        for (name, bad) in [("tokenizer_config.json", "{\"do_lower_case\": tru"),
                            ("tokenizer_config.json", "[1, 2]"),
                            ("tokenizer_config.json", #"{"do_lower_case": "yes"}"#),
                            ("tokenizer_config.json", #"{"unk_token": 3}"#),
                            ("sentence_bert_config.json", #"{"max_seq_length": "long"}"#)] {
            var files = ["vocab.txt": vocab, "tokenizer_config.json": Data("{}".utf8)]
            files[name] = Data(bad.utf8)
            assertThrows({ if case .malformedJSON = $0 { true } else { false } }, try folder(files), mentions: name)
        }
        let tooShort = try tinyFolder(maxSeqLength: 1)
        assertThrows({ if case .invalidMaxLength = $0 { true } else { false } }, tooShort, mentions: "sentence_bert_config.json")
    }

    func testBadVocabularies() throws {
        let withoutUnknown = TokenizerTests.tinyVocabulary.filter { $0 != "[UNK]" }
        assertThrows({ if case .missingSpecialToken(_, "unk_token", "[UNK]") = $0 { true } else { false } },
                     try tinyFolder(vocabulary: withoutUnknown), mentions: "vocab.txt")
        assertThrows({ if case .emptyVocabulary = $0 { true } else { false } },
                     try folder(["vocab.txt": Data(), "tokenizer_config.json": Data("{}".utf8)]), mentions: "vocab.txt")
        assertThrows({ if case .duplicateToken(_, "hello", 10, 26) = $0 { true } else { false } },
                     try tinyFolder(vocabulary: TokenizerTests.tinyVocabulary + ["hello"]), mentions: "vocab.txt")
        var invalid = Data("[PAD]\n[UNK]\n".utf8)
        invalid.append(contentsOf: [0x61, 0xC3, 0x28, 0x0A])  // "a", a truncated 2-byte sequence
        assertThrows({ if case .invalidUTF8(_, 13) = $0 { true } else { false } },
                     try folder(["vocab.txt": invalid, "tokenizer_config.json": Data("{}".utf8)]), mentions: "vocab.txt")
    }

    func testVocabularyLineEndings() throws {
        let dir = try folder(["vocab.txt": Data("[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\n\nlast".utf8),
                              "tokenizer_config.json": Data("{}".utf8)])
        let t = try BertTokenizer(modelDirectory: dir)
        XCTAssertEqual(t.vocabularySize, 6)  // the empty line is a token; no token after "last"
        XCTAssertEqual(t.id(for: "[UNK]"), 1)
        XCTAssertEqual(t.id(for: "last"), 5)
    }

    // MARK: - The reference's ids on all-MiniLM-L6-v2

    struct Example: Decodable { let text: String; let input_ids: [Int32] }

    func minilm() throws -> BertTokenizer {
        try BertTokenizer(modelDirectory: MiniLMFixtures.modelDirectory())
    }

    func assertMatches(_ examples: [Example], _ t: BertTokenizer, _ name: String) {
        var failures = 0
        for e in examples {
            let ids = t.encode(e.text)
            guard ids != e.input_ids else { continue }
            failures += 1
            if failures <= 20 {
                let show = { (ids: [Int32]) in ids.map { t.token(for: $0) ?? "?\($0)" } }
                XCTFail("""
                    \(name): \(e.text.unicodeScalars.map { $0.escaped(asASCII: true) }.joined().debugDescription)
                      expected \(show(e.input_ids))
                      actual   \(show(ids))
                    """)
            }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) of \(examples.count) texts differ")
    }

    func testMiniLMTrickyTexts() throws {
        let t = try minilm()
        XCTAssertEqual(t.maxLength, 256)
        let examples = try MiniLMFixtures.load("tokens.json", as: [Example].self)
        XCTAssertGreaterThan(examples.count, 60)
        assertMatches(examples, t, "tokens.json")
    }

    func testMiniLMFuzzTexts() throws {
        let t = try minilm()
        assertMatches(try MiniLMFixtures.load("fuzz_tokens.json", as: [Example].self), t, "fuzz_tokens.json")
    }

    func testMiniLMEmbeddingFixtureIDs() throws {
        struct Sentence: Decodable { let text: String; let input_ids: [Int32] }
        struct File: Decodable { let sentences: [Sentence] }
        let file = try MiniLMFixtures.load("embeddings.json", as: File.self)
        assertMatches(file.sentences.map { Example(text: $0.text, input_ids: $0.input_ids) }, try minilm(),
                      "embeddings.json")
    }

    /// Texts that stress the normalisation (canonical reordering, decompositions that start
    /// with a non-starter, singletons, Hangul, long runs with no ASCII): the reference
    /// normaliser's words, from make_normalization_fixtures.py.
    func testNormalizationStressMatchesReference() throws {
        struct Example: Decodable { let text: String; let words: [String] }
        struct File: Decodable { let texts: [Example] }
        let basic = try minilm().basic
        let file = try MiniLMFixtures.load("normalization_words.json", as: File.self)
        XCTAssertGreaterThan(file.texts.count, 3000)
        var failures = 0
        for e in file.texts {
            let words = basic.tokenize(e.text)
            // Compared as scalars: Swift's String == would call canonically equivalent words equal.
            guard words.map({ Array($0.unicodeScalars) }) != e.words.map({ Array($0.unicodeScalars) }) else { continue }
            failures += 1
            if failures <= 10 {
                let hex = { (s: String) in s.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ") }
                XCTFail("\(hex(e.text)):\n  expected \(e.words.map(hex))\n  actual   \(words.map(hex))")
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(file.texts.count) texts differ from the reference")
    }

    /// Every code point c: the words of "a" + c + "a" hashed per block, as the fixture script
    /// does with the reference. Catches a table that differs from the reference's Unicode version.
    func testUnicodeSweepMatchesReference() throws {
        struct Sweep: Decodable { let block: Int; let hashes: [String] }
        let sweep = try MiniLMFixtures.load("unicode_sweep.json", as: Sweep.self)
        let basic = try minilm().basic
        var bad: [String] = []
        for (b, expected) in sweep.hashes.enumerated() {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            var first = true
            for v in (b * sweep.block)..<((b + 1) * sweep.block) {
                guard let c = Unicode.Scalar(UInt32(v)) else { continue }  // surrogates
                if !first { hash = (hash ^ 0x0A) &* 0x100_0000_01b3 }
                first = false
                var text = "a"; text.unicodeScalars.append(c); text += "a"
                for byte in basic.tokenize(text).joined(separator: " ").utf8 {
                    hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
                }
            }
            let actual = String(hash, radix: 16)
            if String(repeating: "0", count: 16 - actual.count) + actual != expected {
                bad.append(String(b * sweep.block, radix: 16, uppercase: true))
            }
        }
        XCTAssertEqual(bad, [], "blocks starting at these code points (hex) differ from the reference")
    }
}
