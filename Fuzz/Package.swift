// swift-tools-version:6.0
// libFuzzer targets for Heed's readers of untrusted bytes. A separate package, so that the root
// package's `swift build` / `swift test` never compile them or need libFuzzer; it depends on
// Heed by path, as Examples/ does, and so sees only Heed's public API. Build and run it with
// tools/fuzz.sh, which passes `-sanitize=fuzzer,address` (a plain `swift build` here fails to
// link: nothing defines LLVMFuzzerRunDriver without the fuzzer runtime).
import PackageDescription

let heedNN: Target.Dependency = .product(name: "HeedNN", package: "Heed")
let heed: Target.Dependency = .product(name: "Heed", package: "Heed")

// A target's only file would otherwise be compiled as a main file, whose top-level code SwiftPM
// names `<Target>_main`: the same symbol each target defines with @_cdecl to call libFuzzer.
let fuzzTarget: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "HeedFuzz",
    dependencies: [
        // `name:` because a path package's identity is its folder's name (see Examples/Package.swift).
        .package(name: "Heed", path: ".."),
    ],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver prototype and a gzip writer (zlib), header only.
        .systemLibrary(name: "CFuzzSupport", path: "Sources/CFuzzSupport"),
        // The entry-point glue and helpers the targets share.
        .target(name: "FuzzSupport", dependencies: ["CFuzzSupport", heed]),
        // One executable per reader; each body is a few lines over the public API.
        .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzSupport", heedNN, heed], swiftSettings: fuzzTarget),
        .executableTarget(name: "FuzzIDX", dependencies: ["FuzzSupport", heedNN], swiftSettings: fuzzTarget),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["FuzzSupport", heedNN], swiftSettings: fuzzTarget),
        .executableTarget(name: "FuzzModelConfig", dependencies: ["FuzzSupport", heedNN, heed], swiftSettings: fuzzTarget),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["FuzzSupport", heedNN, heed], swiftSettings: fuzzTarget),
    ]
)
