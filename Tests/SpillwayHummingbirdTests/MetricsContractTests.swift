import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOPosix
import Prometheus
import Spillway
import SpillwayHummingbird
import Synchronization
import Testing

/// The alert rules (`observability/prometheus/spillway-alerts.yml`) and the Grafana dashboard
/// (`observability/grafana/spillway.json`) name Spillway's metrics as strings; a renamed metric would leave an alert
/// that never fires. This test serves a Hummingbird app protected by `addSpillway()` with its `/metrics` route, sends
/// requests through every component the app can link (admission, rate limit, a resilience pipeline with breaker,
/// retry budget and throttle, a cache), scrapes, and checks that every name the rules and the dashboard use for
/// those components is served.
///
/// Names of the modules this test target does not link (jobs, Redis, PostgreSQL, proxy, the HTTP client) are checked against the sources by
/// `observability/check`, which `scripts/test` runs before the build.
@Suite struct MetricsContractTests {
    /// Prefixes of the metrics the app below emits.
    static let servedFamilies = [
        "spillway_http_", "spillway_limiter_", "spillway_ratelimit_decisions_", "spillway_resilience_",
        "spillway_circuit_breaker_", "spillway_retry_budget_", "spillway_throttle_", "spillway_cache_",
        "spillway_event_loop_", "spillway_pressure_", "process_",
    ]
    /// Prefixes of the metrics of modules this target does not link; `observability/check` covers them.
    static let unlinkedFamilies = [
        "spillway_ratelimit_redis_", "spillway_redis_", "spillway_jobs_", "spillway_proxy_", "spillway_http_client_",
        "spillway_postgres_",
    ]

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `spillway_…` and `process_…` metric name in the rules and the dashboard, with the file it was found in.
    static func namesUsedByRulesAndDashboard() throws -> [String: String] {
        var names: [String: String] = [:]
        for path in ["observability/prometheus/spillway-alerts.yml", "observability/grafana/spillway.json"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
            for match in text.matches(of: /\b(?:spillway|process)_[a-z0-9_]+/) {
                let name = String(match.output)
                if names[name] == nil { names[name] = path }
            }
        }
        return names
    }

    /// The metric names of every sample in a Prometheus text exposition.
    static func sampleNames(_ exposition: String) -> Set<String> {
        var names = Set<String>()
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            if let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) {
                names.insert(String(line[..<end]))
            }
        }
        return names
    }

    struct DependencyDown: Error {}

    @Test(.timeLimit(.minutes(1)))
    func everyNameTheRulesAndTheDashboardUseIsServed() async throws {
        let used = try Self.namesUsedByRulesAndDashboard()
        #expect(used.count >= 30, "the rules and the dashboard were read: \(used.count) names")
        for name in used.keys.sorted() {
            let family = (Self.unlinkedFamilies + Self.servedFamilies).first { name.hasPrefix($0) }
            #expect(family != nil, "\(name) (in \(used[name]!)) belongs to no family this test knows")
        }

        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        GoodputMetricsConfiguration.configureBuckets(of: &factory)
        let metrics = factory

        let router = Router()
        router.addPrometheusMetrics(registry: registry)
        var configuration = SpillwayConfiguration()
        configuration.metrics = GoodputMetricsConfiguration(factory: metrics)
        configuration.limiter.metricsFactory = metrics
        let perClient = try RateLimitPolicy(
            name: "per-client",
            key: .header("x-client"),
            algorithm: TokenBucket(capacity: 1, refill: 1, per: .seconds(3600))
        )
        // Watermarks over readings nothing measures here: they never refuse, and their refusal counters exist.
        configuration.pressure = try PressureWatermarks(
            openFileDescriptorFraction: 0.9,
            pressure: ProcessPressure(),
            metricsFactory: metrics
        )
        try router.addSpillway(configuration, rateLimiter: RateLimiter(policies: [perClient], metricsFactory: metrics))

        let budget = RetryBudget(configuration: .finagle(name: "catalog"), metricsFactory: metrics)
        let breaker = CircuitBreaker(configuration: .init(name: "catalog"), metricsFactory: metrics)
        // After one failure the SRE formula rejects the retry with probability (1 - 0) / (1 + 1): a high draw admits it.
        let throttle = AdaptiveThrottle(
            configuration: .init(name: "catalog"),
            random: RandomSource { 0.99 },
            metricsFactory: metrics
        )
        let pipeline = ResiliencePipeline<String>(name: "catalog", budget: budget, metricsFactory: metrics)
            .retry(RetryPolicy(maxAttempts: 2, backoff: Backoff(base: .zero)))
            .circuitBreaker(breaker)
            .throttle(throttle)
        let calls = CallCount()
        router.get("/catalog") { _, _ -> String in
            try await pipeline.execute {
                // The first call fails (retryable), the retry succeeds.
                guard calls.next() > 1 else { throw DependencyDown() }
                return "catalog"
            }
        }
        let cache = Cache<String, String>(configuration: .init(name: "items", metricsFactory: metrics)) { key in
            "item \(key)"
        }
        router.get("/items/:id") { _, context -> String in
            try await cache.value(for: context.parameters.require("id"))
        }

        ProcessMetricsService(pressure: ProcessPressure(), metricsFactory: metrics).sample()
        let lagProbe = EventLoopLagProbe(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            interval: .milliseconds(1),
            pressure: ProcessPressure(),
            metricsFactory: metrics
        )
        let probing = Task { try await lagProbe.run() }
        defer { probing.cancel() }

        try await Application(router: router).test(.live) { client in
            try await client.execute(uri: "/catalog", method: .get) { #expect($0.status == .ok) }
            for _ in 0..<2 {
                try await client.execute(uri: "/items/7", method: .get) { #expect($0.status == .ok) }
            }
            let limited: HTTPFields = [HTTPField.Name("x-client")!: "a"]
            try await client.execute(uri: "/items/8", method: .get, headers: limited) { #expect($0.status == .ok) }
            try await client.execute(uri: "/items/8", method: .get, headers: limited) {
                #expect($0.status == .tooManyRequests)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let served = Self.sampleNames(String(buffer: response.body))
                #expect(served.contains("spillway_http_goodput_total"), "the scrape was parsed: \(served.sorted())")
                let expected = used.keys.filter { name in
                    Self.servedFamilies.contains { name.hasPrefix($0) }
                        && !Self.unlinkedFamilies.contains { name.hasPrefix($0) }
                }
                #expect(expected.count >= 20, "the rules and the dashboard use the served families: \(expected)")
                for name in expected.sorted() {
                    #expect(served.contains(name), "\(name), used in \(used[name]!), is not served by /metrics")
                }
            }
        }
    }
}

/// Counts calls from concurrent tasks.
private final class CallCount: Sendable {
    private let value = Mutex(0)

    /// Adds one and returns the new count.
    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}
