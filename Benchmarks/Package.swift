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
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
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
        .executableTarget(
            name: "CacheBenchmarks",
            dependencies: [
                .product(name: "Spillway", package: "spillway"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Cache",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RedisBenchmarks",
            dependencies: [
                .product(name: "SpillwayRedis", package: "spillway"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Redis",
            exclude: ["compare.sh"],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
