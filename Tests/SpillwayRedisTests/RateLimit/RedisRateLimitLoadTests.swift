import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayRedis

/// Real redis-server, real sockets, real time: gated by `SPILLWAY_LOAD_TESTS=1` (set by `scripts/test`).
@Suite(.enabled(if: loadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test does)"), .serialized)
struct RedisRateLimitLoadTests {
    /// One decision as a worker saw it.
    struct Sample: Sendable {
        var at: Duration
        var latency: Duration
        var allowed: Bool
    }

    /// Runs `workers` tasks per limiter, each sending a request every `interval` (back to back when `nil`) until
    /// `duration` has passed, and runs `events` at their offsets. Returns every sample, in no particular order.
    ///
    /// Workers pace themselves (or at least yield) because a decision that never suspends — the breaker open, the
    /// fallback answering — would otherwise keep a cooperative thread forever and starve the other workers, the
    /// timers and the client's reconnection tasks on this 2-core machine, which is not what a server does.
    private func hammer(
        _ limiters: [RateLimiter],
        workers: Int,
        interval: Duration? = nil,
        for duration: Duration,
        events: [(at: Duration, run: @Sendable () async throws -> Void)] = []
    ) async throws -> [Sample] {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: duration)
        return try await withThrowingTaskGroup(of: [Sample].self) { group in
            for limiter in limiters {
                for worker in 0..<workers {
                    group.addTask {
                        var samples: [Sample] = []
                        let request = RateLimitRequest(peerAddress: "198.51.100.\(worker)")
                        var next = start
                        while clock.now < end {
                            if let interval {
                                next = next.advanced(by: interval)
                                if next > clock.now { try await clock.sleep(until: next) }
                            } else {
                                await Task.yield()
                            }
                            let sent = clock.now
                            let result = try await limiter.check(request)
                            let done = clock.now
                            let sample = Sample(
                                at: start.duration(to: sent),
                                latency: sent.duration(to: done),
                                allowed: result.isAllowed
                            )
                            samples.append(sample)
                        }
                        return samples
                    }
                }
            }
            group.addTask {
                for event in events {
                    try await clock.sleep(until: start.advanced(by: event.at))
                    try await event.run()
                }
                return []
            }
            var all: [Sample] = []
            for try await samples in group { all += samples }
            return all
        }
    }

    private func globalLimiter<Algorithm: RedisRateLimitAlgorithm>(
        _ algorithm: Algorithm,
        redis: RedisClient,
        prefix: String,
        configuration: (inout RedisRateLimitStore<Algorithm>.Configuration) -> Void = { _ in }
    ) throws -> (RateLimiter, RedisRateLimitStore<Algorithm>) {
        var storeConfiguration = RedisRateLimitStore<Algorithm>.Configuration(keyPrefix: prefix)
        configuration(&storeConfiguration)
        let store = try RedisRateLimitStore(
            name: "global",
            algorithm: algorithm,
            redis: redis,
            configuration: storeConfiguration
        )
        return (try RateLimiter(policies: [try RateLimitPolicy(name: "global", key: .global, store: store)]), store)
    }

    /// Two limiter instances (own clients, own connections) against one redis-server enforce one limit: in a
    /// 4-second saturating run, the admitted rate in the steady state (after the initial burst) is within 2 % of
    /// the configured rate.
    @Test(arguments: ["gcra", "token-bucket", "sliding-window"])
    func twoInstancesEnforceOneGlobalLimitWithinTwoPercent(algorithm: String) async throws {
        let rate = 400.0
        let burst = 20
        try await withRedisServer { server in
            try await withRateLimitClient(server) { first in
                try await withRateLimitClient(server) { second in
                    let prefix = uniqueRateLimitPrefix()
                    // Fail closed with a generous timeout: a fallback could only lower the count, never hide excess.
                    let configure: (inout RedisRateLimitStore<GCRA>.Configuration) -> Void = {
                        $0.failurePolicy = .failClosed
                        $0.timeout = .seconds(1)
                    }
                    let limiters: [RateLimiter]
                    switch algorithm {
                    case "gcra":
                        let gcra = try GCRA(limit: Int(rate), period: .seconds(1), burst: burst)
                        limiters = [
                            try globalLimiter(gcra, redis: first, prefix: prefix, configuration: configure).0,
                            try globalLimiter(gcra, redis: second, prefix: prefix, configuration: configure).0,
                        ]
                    case "token-bucket":
                        let bucket = try TokenBucket(capacity: burst, refill: Int(rate), per: .seconds(1))
                        limiters = [
                            try globalLimiter(bucket, redis: first, prefix: prefix) {
                                $0.failurePolicy = .failClosed
                                $0.timeout = .seconds(1)
                            }.0,
                            try globalLimiter(bucket, redis: second, prefix: prefix) {
                                $0.failurePolicy = .failClosed
                                $0.timeout = .seconds(1)
                            }.0,
                        ]
                    default:
                        // 400 per 1 s window; the first window admits its whole limit at once.
                        let window = try SlidingWindow(limit: Int(rate), window: .seconds(1))
                        limiters = [
                            try globalLimiter(window, redis: first, prefix: prefix) {
                                $0.failurePolicy = .failClosed
                                $0.timeout = .seconds(1)
                            }.0,
                            try globalLimiter(window, redis: second, prefix: prefix) {
                                $0.failurePolicy = .failClosed
                                $0.timeout = .seconds(1)
                            }.0,
                        ]
                    }
                    // Connections open and the script cached before the clock starts, so that the run measures
                    // limiting, not connection setup.
                    for client in [first, second] {
                        _ = try await client.ping()
                        for script in [
                            RedisRateLimitScripts.gcra, RedisRateLimitScripts.tokenBucket,
                            RedisRateLimitScripts.slidingWindow,
                        ] {
                            try await script.load(on: client)
                        }
                    }
                    let samples = try await hammer(limiters, workers: 4, for: .seconds(4))
                    let allowed = samples.filter(\.allowed).count
                    // The steady state, by send time: from 1 s (past the burst, and past the sliding window's
                    // first window, which admits its whole limit at once) to 3.5 s (before the workers stop).
                    let from = Duration.seconds(1)
                    let to = Duration.milliseconds(3500)
                    let steady = samples.filter { $0.at >= from && $0.at < to }
                    let observedRate = Double(steady.filter(\.allowed).count) / (to - from).seconds
                    print(
                        "[ratelimit-load] \(algorithm): \(samples.count) decisions, \(allowed) allowed in 4 s; "
                            + "steady state \(observedRate)/s, configured \(rate)/s"
                    )
                    #expect(steady.count > 2 * steady.filter(\.allowed).count, "the run did not saturate the limit")
                    #expect(abs(observedRate / rate - 1) <= 0.02, "\(algorithm): \(observedRate)/s")
                }
            }
        }
    }

    /// Chaos: redis-server is killed mid-run and started again. Requests keep being answered — as the failure policy
    /// says — and none waits longer than the Redis timeout (plus scheduling slack on a loaded machine); once Redis
    /// is back, the breaker's probe restores shared limiting.
    @Test(arguments: ["fail-open", "fail-closed", "local-fallback"])
    func redisDiesAndReturns(policy: String) async throws {
        let rate = 200.0
        let timeout = Duration.milliseconds(50)
        let slack = Duration.milliseconds(30)
        let failurePolicy: RedisFailurePolicy =
            switch policy {
            case "fail-open": .failOpen
            case "fail-closed": .failClosed
            default: .localFallback(share: 0.5)
            }
        let server = try await RedisServer.start()
        defer {
            server.kill()
            server.stop()
        }
        try await withRateLimitClient(server) { first in
            try await withRateLimitClient(server) { second in
                let prefix = uniqueRateLimitPrefix()
                let gcra = try GCRA(limit: Int(rate), period: .seconds(1), burst: 10)
                let configure: (inout RedisRateLimitStore<GCRA>.Configuration) -> Void = {
                    $0.failurePolicy = failurePolicy
                    $0.timeout = timeout
                    $0.breaker = .init(failureThreshold: 3, openDuration: .milliseconds(500))
                }
                let (limiterA, storeA) = try globalLimiter(gcra, redis: first, prefix: prefix, configuration: configure)
                let (limiterB, storeB) = try globalLimiter(
                    gcra,
                    redis: second,
                    prefix: prefix,
                    configuration: configure
                )
                let samples = try await hammer(
                    [limiterA, limiterB],
                    workers: 2,
                    interval: .milliseconds(1),
                    for: .seconds(6),
                    events: [
                        (at: .seconds(1.5), run: { server.kill() }),
                        (at: .seconds(3), run: { try await server.start() }),
                    ]
                )
                func allowedRate(_ from: Duration, _ to: Duration) -> Double {
                    let window = samples.filter { $0.at >= from && $0.at < to }
                    return Double(window.filter(\.allowed).count) / (to - from).seconds
                }
                func answered(_ from: Duration, _ to: Duration) -> Int {
                    samples.filter { $0.at >= from && $0.at < to }.count
                }
                let slowest = samples.map(\.latency).max()!
                let outage = allowedRate(.seconds(1.7), .seconds(3))
                let before = allowedRate(.milliseconds(500), .seconds(1.5))
                let after = allowedRate(.seconds(4.5), .seconds(6))
                print(
                    "[ratelimit-chaos] \(policy): \(samples.count) decisions, slowest \(slowest); allowed/s before "
                        + "\(before), during outage \(outage), after recovery \(after); breakers "
                        + "\(storeA.breakerState), \(storeB.breakerState)"
                )
                #expect(slowest <= timeout + slack, "a request waited \(slowest)")
                #expect(answered(.seconds(1.7), .seconds(3)) > 100, "requests stopped being answered during the outage")
                #expect(abs(before / rate - 1) < 0.1, "shared limiting before the outage: \(before)/s")
                switch policy {
                case "fail-open":
                    let during = samples.filter { $0.at >= .seconds(1.7) && $0.at < .seconds(3) }
                    let deniedDuring = during.filter { !$0.allowed }.count
                    #expect(deniedDuring == 0, "fail-open denied \(deniedDuring) requests during the outage")
                case "fail-closed":
                    #expect(outage == 0, "fail-closed admitted \(outage)/s")
                default:
                    // Each instance enforces half the limit locally: together about the shared rate.
                    #expect(outage > rate * 0.8 && outage < rate * 1.3, "local fallback: \(outage)/s")
                }
                #expect(abs(after / rate - 1) < 0.1, "shared limiting after recovery: \(after)/s")
                #expect(storeA.breakerState == "closed" && storeB.breakerState == "closed")
            }
        }
    }

    /// A Redis that stops answering (`CLIENT PAUSE`) costs each request at most the timeout; the breaker then
    /// answers without waiting, and closes again after the pause.
    @Test func aPausedRedisCostsAtMostTheTimeout() async throws {
        let timeout = Duration.milliseconds(50)
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                try await withRateLimitClient(server) { admin in
                    let (limiter, store) = try globalLimiter(
                        try GCRA(limit: 200, period: .seconds(1), burst: 10),
                        redis: client,
                        prefix: uniqueRateLimitPrefix()
                    ) {
                        $0.failurePolicy = .localFallback(share: 1)
                        $0.timeout = timeout
                        $0.breaker = .init(failureThreshold: 3, openDuration: .milliseconds(300))
                    }
                    let samples = try await hammer(
                        [limiter],
                        workers: 4,
                        interval: .milliseconds(1),
                        for: .seconds(3),
                        events: [
                            (
                                at: .seconds(0.5),
                                run: { _ = try await admin.execute(RedisRawCommand("CLIENT", "PAUSE", "1000", "ALL")) }
                            )
                        ]
                    )
                    let slowest = samples.map(\.latency).max()!
                    let waited = samples.filter { $0.latency >= timeout }.count
                    print(
                        "[ratelimit-pause] \(samples.count) decisions, slowest \(slowest), \(waited) waited the timeout"
                    )
                    #expect(slowest <= timeout + .milliseconds(30))
                    // Only the requests in flight before the breaker opened (and each probe) paid the timeout.
                    #expect(waited <= 4 * 8)
                    #expect(store.breakerState == "closed")
                }
            }
        }
    }
}
