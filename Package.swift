// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Heed",
    products: [
        .library(name: "Heed", targets: ["Heed"]),
        .library(name: "HeedNN", targets: ["HeedNN"]),
        .executable(name: "heed", targets: ["heed"]),
        .executable(name: "heed-bench", targets: ["heed-bench"]),
    ],
    dependencies: [
        // The command-line tools use it; the libraries depend on nothing but the C libraries.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // OpenBLAS (cblas_*) and LAPACKE through a module map; paths come from pkg-config.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // zlib, for HeedNN's dataset reader (gzip-compressed IDX files), the same way.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The kernels whose speed depends on the instruction set, in C compiled per x86-64 level
        // and chosen at run time (Swift has no per-function target attribute).
        .target(name: "CHeedKernels"),
        .target(name: "Heed", dependencies: ["CBLAS", "CHeedKernels"]),
        .target(name: "HeedNN", dependencies: ["Heed", "CZlib"]),
        // The `heed` command line (not Sources/heed: it would collide with Sources/Heed on
        // case-insensitive disks).
        .executableTarget(name: "heed", dependencies: [
            "Heed", "HeedNN", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/HeedCLI"),
        .executableTarget(name: "heed-demo", dependencies: ["Heed"], path: "Sources/HeedDemo"),
        // The benchmark (`make bench`): Heed against the naive loops and this machine's SGEMM peak.
        .executableTarget(
            name: "heed-bench",
            dependencies: ["Heed", "HeedNN", "CBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/HeedBench"
        ),
        // Test helpers shared by the test targets (public API of Heed only).
        .target(name: "HeedTestSupport", dependencies: ["Heed"], path: "Tests/HeedTestSupport"),
        .testTarget(name: "HeedTests", dependencies: ["Heed", "HeedTestSupport"]),
        .testTarget(name: "HeedNNTests", dependencies: ["HeedNN", "Heed", "CZlib", "HeedTestSupport"]),
        // The `heed` binary run as a user runs it, on bad flags and bad files (the dependency
        // builds it beside the tests).
        .testTarget(name: "HeedCLITests", dependencies: ["heed", "HeedNN", "Heed", "HeedTestSupport"]),
    ]
)
