// swift-tools-version: 6.1
// Benchmarks live in their own package so that `swift build` and `swift test` of Spillway never build the
// benchmark harness. Run from this folder: `swift package benchmark` (see docs/benchmarks.md).
import PackageDescription

let package = Package(
    name: "spillway-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "spillway", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "LimiterBenchmarks",
            dependencies: [
                .product(name: "Spillway", package: "spillway"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Limiter",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
