import Foundation
import FuzzSupport
import HeedNN

// The real all-MiniLM-L6-v2 tokenizer ($HEED_MINILM_DIR, else models/all-MiniLM-L6-v2), loaded
// once, on the input decoded as UTF-8 (ill-formed sequences repaired to U+FFFD): encode and
// tokenize must not trap, and ids must be in the vocabulary, framed by [CLS] … [SEP], and
// agree with tokenize.
let tokenizer: BertTokenizer = {
    let dir = environmentDirectory("HEED_MINILM_DIR", default: "models/all-MiniLM-L6-v2")
    do { return try BertTokenizer(modelDirectory: dir) } catch { fatalError("FuzzTokenizer: \(error)") }
}()

@_cdecl("FuzzTokenizer_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    _ = tokenizer  // load before fuzzing, so a missing folder stops the run at once
    return runFuzzer(argc, argv) { data, size in
        let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
        let ids = tokenizer.encode(text)
        precondition(ids.count >= 2 && ids.count <= tokenizer.maxLength && ids.first == tokenizer.clsID
                     && ids.last == tokenizer.sepID && ids.allSatisfy { tokenizer.token(for: $0) != nil })
        // tokenize is encode without the frame and the cut.
        let pieces = tokenizer.tokenize(text)
        precondition(pieces.prefix(ids.count - 2).map { tokenizer.id(for: $0) } == ids.dropFirst().dropLast().map { Optional($0) },
                     "encode and tokenize disagree")
        return 0
    }
}
