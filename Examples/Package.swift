// swift-tools-version:6.0
// A user's package: depends on Heed by path, as an app would by URL, so it sees only what Heed
// makes public. CI builds and runs it (`make example`).
import PackageDescription

let package = Package(
    name: "HeedExamples",
    dependencies: [
        // `name:` because a path package's identity is its folder's name ("heed" in a clone, the
        // worktree's name elsewhere); naming it keeps `package: "Heed"` below true everywhere.
        .package(name: "Heed", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "TinyRegression",
            dependencies: [.product(name: "Heed", package: "Heed")]
        ),
        // The README's API example, kept compiling.
        .executableTarget(name: "ReadmeExample", dependencies: [.product(name: "Heed", package: "Heed")]),
        // A deliberate shape error: its message must survive a release build.
        .executableTarget(name: "ShapeError", dependencies: [.product(name: "Heed", package: "Heed")]),
    ]
)
