import Foundation
import XCTest

/// Where the tests find all-MiniLM-L6-v2 and the fixtures made from it by the reference.
public enum MiniLMFixtures {
    /// The repository root (this file is Tests/HeedTestSupport/ModelFixtures.swift).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures/minilm`: the JSON made by `make_minilm_fixtures.py` with sentence-transformers.
    public static let fixtureDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm")

    /// The model folder: `$HEED_MINILM_DIR`, else `models/all-MiniLM-L6-v2` in the repository
    /// (what `make model` / `tools/fetch-minilm.py` writes). Throws XCTSkip, naming both, when
    /// the folder has no model.safetensors, so the tests that need the 90 MB model skip on a
    /// machine without it and say why.
    public static func modelDirectory() throws -> URL {
        let env = ProcessInfo.processInfo.environment["HEED_MINILM_DIR"]
        let dir = env.map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else {
            throw XCTSkip("all-MiniLM-L6-v2 not found at \(dir.path): run `make model` "
                          + "(python3 tools/fetch-minilm.py) or set HEED_MINILM_DIR")
        }
        return dir
    }

    /// A fixture JSON file decoded as `T`.
    public static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        let url = fixtureDirectory.appendingPathComponent(name)
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }
}
