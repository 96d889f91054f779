import Benchmark
import Spillway
import Synchronization

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    redisRateLimitBenchmarks()

    // Floors: what any keyed store pays per decision before doing arithmetic.
    Benchmark("floor: ContinuousClock.nanosecondsSinceOrigin") { benchmark in
        let clock = ContinuousClock()
        for _ in benchmark.scaledIterations { blackHole(clock._nanosecondsSinceOrigin) }
    }

    Benchmark("floor: Mutex<[String: Int]> lookup + update, one key") { benchmark in
        let table = Mutex<[String: Int]>(["198.51.100.7": 0])
        let key = "198.51.100.7"
        for _ in benchmark.scaledIterations { table.withLock { $0[key, default: 0] += 1 } }
    }

    // The arithmetic alone, without lock, dictionary or clock: what a store adds is the difference.
    Benchmark("GCRA.evaluate alone (no store)") { benchmark in
        let gcra = try unlimitedGCRA()
        var state: GCRA.State?
        let now = ContinuousClock()._nanosecondsSinceOrigin
        for _ in benchmark.scaledIterations {
            blackHole(try gcra._evaluate(&state, cost: 1, atNanoseconds: now))
        }
    }

    Benchmark("SlidingWindow.evaluate alone (no store)") { benchmark in
        let window = try unlimitedWindow()
        var state: SlidingWindow.State?
        let now = ContinuousClock()._nanosecondsSinceOrigin
        for _ in benchmark.scaledIterations {
            blackHole(try window._evaluate(&state, cost: 1, atNanoseconds: now))
        }
    }

    Benchmark("ClientAddressResolver.key, IPv4 peer, no proxies") { benchmark in
        let resolver = ClientAddressResolver()
        let request = RateLimitRequest(peerAddress: "198.51.100.7")
        for _ in benchmark.scaledIterations { blackHole(resolver.key(for: request)) }
    }

    Benchmark("ClientAddressResolver.key, X-Forwarded-For through 2 trusted hops") { benchmark in
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
        let request = RateLimitRequest(
            peerAddress: "10.0.0.1",
            headers: [("X-Forwarded-For", "203.0.113.9, 198.51.100.7, 10.1.2.3")]
        )
        for _ in benchmark.scaledIterations { blackHole(resolver.key(for: request)) }
    }

    Benchmark("RateLimiter.check, one global policy") { benchmark in
        let limiter = try RateLimiter(policies: [
            try RateLimitPolicy(name: "global", key: .global, algorithm: try unlimitedGCRA())
        ])
        let request = RateLimitRequest(peerAddress: "198.51.100.7")
        for _ in benchmark.scaledIterations { blackHole(try await limiter.check(request)) }
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

    // 100 000 clients, all held by the store (their state stays busy), visited round-robin: every
    // decision is a cache-cold lookup. The stores are filled once, in `setup`, outside the measurement.
    let fixture = ManyKeysFixture.shared
    Benchmark(
        "in-memory GCRA, 100k keys round-robin",
        configuration: Benchmark.defaultConfiguration,
        closure: { benchmark in
            let store = fixture.gcra
            let keys = fixture.keys
            var index = 0
            for _ in benchmark.scaledIterations {
                blackHole(try store.acquire(key: keys[index], cost: 1))
                index = index == keys.count - 1 ? 0 : index + 1
            }
        },
        setup: { try fixture.prepare() }
    )

    Benchmark(
        "in-memory sliding window, 100k keys round-robin",
        configuration: Benchmark.defaultConfiguration,
        closure: { benchmark in
            let store = fixture.window
            let keys = fixture.keys
            var index = 0
            for _ in benchmark.scaledIterations {
                blackHole(try store.acquire(key: keys[index], cost: 1))
                index = index == keys.count - 1 ? 0 : index + 1
            }
        },
        setup: { try fixture.prepare() }
    )

    // The whole check: client address parsed from the peer, per-client GCRA over 100k clients, then a global bucket.
    Benchmark(
        "RateLimiter.check, per-client + global, 100k clients",
        configuration: Benchmark.defaultConfiguration,
        closure: { benchmark in
            let limiter = fixture.limiter
            let requests = fixture.requests
            var index = 0
            for _ in benchmark.scaledIterations {
                blackHole(try await limiter.check(requests[index]))
                index = index == requests.count - 1 ? 0 : index + 1
            }
        },
        setup: { try fixture.prepare() }
    )
}

/// Stores already holding 100 000 keys, built once per benchmark process.
final class ManyKeysFixture: Sendable {
    struct Filled {
        var keys: [String]
        var requests: [RateLimitRequest]
        var gcra: InMemoryRateLimitStore<GCRA>
        var window: InMemoryRateLimitStore<SlidingWindow>
        var limiter: RateLimiter
    }

    static let shared = ManyKeysFixture()
    private let filled = Mutex<Filled?>(nil)

    var keys: [String] { filled.withLock { $0!.keys } }
    var requests: [RateLimitRequest] { filled.withLock { $0!.requests } }
    var gcra: InMemoryRateLimitStore<GCRA> { filled.withLock { $0!.gcra } }
    var window: InMemoryRateLimitStore<SlidingWindow> { filled.withLock { $0!.window } }
    var limiter: RateLimiter { filled.withLock { $0!.limiter } }

    func prepare() throws {
        guard filled.withLock({ $0 == nil }) else { return }
        let keys = (0..<100_000).map { "10.\($0 >> 16).\(($0 >> 8) & 0xFF).\($0 & 0xFF)" }
        let bounds = InMemoryRateLimitStore<GCRA>.Configuration(maxKeys: 131_072)
        let gcra = InMemoryRateLimitStore(algorithm: try residentGCRA(), configuration: bounds)
        let window = InMemoryRateLimitStore(
            algorithm: try residentWindow(),
            configuration: .init(maxKeys: bounds.maxKeys)
        )
        for key in keys {
            _ = try gcra.acquire(key: key, cost: 1)
            _ = try window.acquire(key: key, cost: 1)
        }
        let perClient = InMemoryRateLimitStore(algorithm: try residentGCRA(), configuration: bounds)
        let limiter = try RateLimiter(policies: [
            try RateLimitPolicy(name: "per-client", key: .clientAddress(), store: perClient),
            try RateLimitPolicy(name: "global", key: .global, algorithm: try unlimitedBucket()),
        ])
        let requests = keys.map { RateLimitRequest(peerAddress: $0) }
        for key in keys { _ = try perClient.acquire(key: key, cost: 1) }
        precondition(gcra.count == keys.count && window.count == keys.count, "the stores dropped keys")
        filled.withLock { $0 = Filled(keys: keys, requests: requests, gcra: gcra, window: window, limiter: limiter) }
    }
}

// Rates no benchmark can exhaust, so that every decision takes the "allowed" path and updates state.
func unlimitedGCRA() throws -> GCRA { try GCRA(limit: 1_000_000_000, period: .seconds(1)) }
func unlimitedBucket() throws -> TokenBucket {
    try TokenBucket(capacity: 1_000_000_000, refill: 1_000_000_000, per: .seconds(1))
}
func unlimitedWindow() throws -> SlidingWindow { try SlidingWindow(limit: 1_000_000_000, window: .seconds(1)) }

// Never exhausted in a run either, but each decision keeps its key busy for seconds (GCRA: 3.6 s per request) or an
// hour (the window), so that 100k keys stay resident. Both keep their arithmetic within 64 bits, as real limits do.
func residentGCRA() throws -> GCRA { try GCRA(limit: 1_000, period: .seconds(3600), burst: 1_000_000) }
func residentWindow() throws -> SlidingWindow { try SlidingWindow(limit: 1_000_000, window: .seconds(3600)) }
