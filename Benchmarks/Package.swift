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
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
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
        // A plain server for the wrk overhead benchmark (scripts/bench-hummingbird), not a `swift package benchmark`.
        .executableTarget(
            name: "HummingbirdOverhead",
            dependencies: [
                .product(name: "Spillway", package: "spillway"),
                .product(name: "SpillwayHummingbird", package: "spillway"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/Hummingbird"
        ),
        .executableTarget(
            name: "RateLimitBenchmarks",
            dependencies: [
                .product(name: "Spillway", package: "spillway"),
                .product(name: "SpillwayRedis", package: "spillway"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RateLimit",
            exclude: ["compare.sh"],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The floor under `spillway proxy`'s throughput: SwiftNIO forwarding the same traffic with no proxy logic
        // (`FORWARDER=` in scripts/bench-proxy); a plain program.
        .executableTarget(
            name: "NIOForwarder",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/NIOForwarder"
        ),
        // The measurement behind SpillwayJobs' choice of GRDB over sqlite-nio (docs/benchmarks.md); a plain program.
        .executableTarget(
            name: "SQLiteChoice",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            path: "Benchmarks/SQLiteChoice"
        ),
    ],
    swiftLanguageModes: [.v6]
)
