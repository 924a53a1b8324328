// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Heed",
    products: [
        .library(name: "Heed", targets: ["Heed"]),
    ],
    targets: [
        // The only C: OpenBLAS (cblas_*) and LAPACKE through a module map; paths come from pkg-config.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(name: "Heed", dependencies: ["CBLAS"]),
        .executableTarget(name: "heed-demo", dependencies: ["Heed"], path: "Sources/HeedDemo"),
        .testTarget(name: "HeedTests", dependencies: ["Heed"]),
    ]
)
