// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Heed",
    products: [
        .library(name: "Heed", targets: ["Heed"]),
        .library(name: "HeedNN", targets: ["HeedNN"]),
    ],
    targets: [
        // The only C: OpenBLAS (cblas_*) and LAPACKE through a module map; paths come from pkg-config.
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
        .target(name: "Heed", dependencies: ["CBLAS"]),
        .target(name: "HeedNN", dependencies: ["Heed", "CZlib"]),
        .executableTarget(name: "heed-demo", dependencies: ["Heed"], path: "Sources/HeedDemo"),
        // Test helpers shared by the test targets (public API of Heed only).
        .target(name: "HeedTestSupport", dependencies: ["Heed"], path: "Tests/HeedTestSupport"),
        .testTarget(name: "HeedTests", dependencies: ["Heed", "HeedTestSupport"]),
        .testTarget(name: "HeedNNTests", dependencies: ["HeedNN", "Heed", "CZlib", "HeedTestSupport"]),
    ]
)
