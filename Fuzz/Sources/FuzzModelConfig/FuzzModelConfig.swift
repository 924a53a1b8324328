import Foundation
import FuzzSupport
import Heed
import HeedNN

// The JSON readers of a sentence-transformers model folder. The first input byte picks the
// file (mod 5), the rest is its contents, written into a tiny but complete model folder (a
// 1-layer BERT of width 8 and a 10-token vocabulary, made once per process); then that file's
// own reader runs, and SentenceEmbedder(contentsOf:) reads the whole folder (modules.json
// first) and, when it loads, embeds a sentence. The file is put back afterwards.
let files: [(path: String, original: String)] = [
    ("config.json", #"{"vocab_size": 16, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16, "model_type": "bert", "hidden_act": "gelu"}"#),
    ("tokenizer_config.json", #"{"do_lower_case": true, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": true, "strip_accents": null, "model_max_length": 512}"#),
    ("sentence_bert_config.json", #"{"max_seq_length": 12, "do_lower_case": false}"#),
    ("1_Pooling/config.json", #"{"word_embedding_dimension": 8, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}"#),
    ("modules.json", #"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#),
]

let folder: URL = {
    let dir = scratchDirectory.appendingPathComponent("model", isDirectory: true)
    do {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        for (path, text) in files { writeFile(Array(text.utf8), to: dir.appendingPathComponent(path)) }
        writeFile(Array("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nfox\n##es\n,\n.\n".utf8), to: dir.appendingPathComponent("vocab.txt"))
        let config = try BertConfig(contentsOf: dir.appendingPathComponent("config.json"))
        try BertModel(config: config, seed: 1).save(to: dir.appendingPathComponent("model.safetensors"))
        _ = try SentenceEmbedder(contentsOf: dir)  // the unfuzzed folder must load
    } catch {
        fatalError("FuzzModelConfig: cannot make the model folder: \(error)")
    }
    return dir
}()

/// Seeds: each stand-in file behind its selector byte (the script adds the real folder's).
func writeSeeds(_ dir: URL) throws {
    for (i, file) in files.enumerated() {
        writeFile([UInt8(i)] + Array(file.original.utf8), to: dir.appendingPathComponent("tiny-\(i)"))
    }
}

@_cdecl("FuzzModelConfig_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, writeSeeds: writeSeeds) { data, size in
        let input = fuzzInput(data, size)
        _ = folder  // made on the first input (not in seed mode)
        guard let kind = input.first.map({ Int($0) % files.count }) else { return 0 }
        let url = folder.appendingPathComponent(files[kind].path)
        writeFile(input.dropFirst(), to: url)
        defer { writeFile(Array(files[kind].original.utf8), to: url) }
        switch files[kind].path {
        case "config.json": _ = try? BertConfig(contentsOf: url)
        case "1_Pooling/config.json": _ = try? SentencePooling(contentsOf: url)
        case "modules.json": break  // read only by SentenceEmbedder
        default: _ = try? BertTokenizer(modelDirectory: folder)
        }
        if let embedder = try? SentenceEmbedder(contentsOf: folder) {
            let e = embedder.embed(["The foxes, the fox."])
            precondition(e.shape == [1, embedder.dimension], "embedding \(e.shape)")
        }
        return 0
    }
}
