// swift-tools-version: 6.1
// The Spillway example service: its own package, so that building Spillway never builds the example's extra
// dependencies. Run from this folder: `swift run SpillwayExample` (see README.md).
import PackageDescription

let package = Package(
    name: "spillway-example",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "spillway", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        .executableTarget(
            name: "SpillwayExample",
            dependencies: [
                .product(name: "Spillway", package: "spillway"),
                .product(name: "SpillwayHummingbird", package: "spillway"),
                .product(name: "SpillwayHTTPClient", package: "spillway"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
