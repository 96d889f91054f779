import Benchmark
import Spillway

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    let manyKeys = (0..<100_000).map { "10.\($0 >> 16).\(($0 >> 8) & 0xFF).\($0 & 0xFF)" }

    // The arithmetic alone, without lock, dictionary or clock: what a store adds is the difference.
    Benchmark("GCRA.evaluate alone (no store)") { benchmark in
        let gcra = try unlimitedGCRA()
        var state: GCRA.State?
        let now = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            blackHole(try gcra.evaluate(&state, cost: 1, now: now))
        }
    }

    Benchmark("SlidingWindow.evaluate alone (no store)") { benchmark in
        let window = try unlimitedWindow()
        var state: SlidingWindow.State?
        let now = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            blackHole(try window.evaluate(&state, cost: 1, now: now))
        }
    }

    Benchmark("in-memory GCRA, single key") { benchmark in
        let store = InMemoryRateLimitStore(algorithm: try unlimitedGCRA())
        for _ in benchmark.scaledIterations {
            blackHole(try store.acquire(key: "198.51.100.7", cost: 1))
        }
    }

    Benchmark("in-memory token bucket, single key") { benchmark in
        let store = InMemoryRateLimitStore(algorithm: try unlimitedBucket())
        for _ in benchmark.scaledIterations {
            blackHole(try store.acquire(key: "198.51.100.7", cost: 1))
        }
    }

    Benchmark("in-memory sliding window, single key") { benchmark in
        let store = InMemoryRateLimitStore(algorithm: try unlimitedWindow())
        for _ in benchmark.scaledIterations {
            blackHole(try store.acquire(key: "198.51.100.7", cost: 1))
        }
    }

    Benchmark("in-memory GCRA, 100k keys round-robin") { benchmark in
        let store = InMemoryRateLimitStore(algorithm: try unlimitedGCRA(), configuration: .init(maxKeys: 131_072))
        for key in manyKeys { _ = try store.acquire(key: key, cost: 1) }
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try store.acquire(key: manyKeys[index], cost: 1))
            index = index == manyKeys.count - 1 ? 0 : index + 1
        }
    }

    Benchmark("in-memory sliding window, 100k keys round-robin") { benchmark in
        let store = InMemoryRateLimitStore(algorithm: try unlimitedWindow(), configuration: .init(maxKeys: 131_072))
        for key in manyKeys { _ = try store.acquire(key: key, cost: 1) }
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try store.acquire(key: manyKeys[index], cost: 1))
            index = index == manyKeys.count - 1 ? 0 : index + 1
        }
    }

    Benchmark("RateLimiter.check, per-client + global, 100k clients") { benchmark in
        let limiter = try RateLimiter(policies: [
            try RateLimitPolicy(
                name: "per-client",
                key: .clientAddress(),
                algorithm: try unlimitedGCRA(),
                configuration: .init(maxKeys: 131_072)
            ),
            try RateLimitPolicy(name: "global", key: .global, algorithm: try unlimitedBucket()),
        ])
        let requests = manyKeys.map { RateLimitRequest(peerAddress: $0) }
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await limiter.check(requests[index]))
            index = index == requests.count - 1 ? 0 : index + 1
        }
    }
}

// Rates no benchmark can exhaust, so that every decision takes the "allowed" path and updates state.
func unlimitedGCRA() throws -> GCRA { try GCRA(limit: 1_000_000_000, period: .seconds(1)) }
func unlimitedBucket() throws -> TokenBucket {
    try TokenBucket(capacity: 1_000_000_000, refill: 1_000_000_000, per: .seconds(1))
}
func unlimitedWindow() throws -> SlidingWindow { try SlidingWindow(limit: 1_000_000_000, window: .seconds(1)) }
