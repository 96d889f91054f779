import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Synchronization
import Testing

@Suite struct RateLimitMiddlewareTests {
    /// Two requests per minute per API key, counted on a manual clock.
    static func limiter(clock: ManualClock) throws -> RateLimiter {
        let bucket = try TokenBucket(capacity: 2, refill: 2, per: .seconds(60))
        let store = InMemoryRateLimitStore(algorithm: bucket, clock: clock)
        return try RateLimiter(
            policies: [try RateLimitPolicy(name: "per-key", key: .header("x-api-key"), store: store)],
            clock: clock,
            metricsFactory: TestMetrics()
        )
    }

    @Test func deniesWith429RetryAfterRateLimitFieldsAndJSON() async throws {
        let clock = ManualClock()
        let router = Router()
        router.add(middleware: try RateLimitMiddleware(limiter: Self.limiter(clock: clock)))
        router.get("/items") { _, _ in "items" }
        let key: HTTPFields = [HTTPField.Name("x-api-key")!: "k-1"]
        try await Application(router: router).test(.router) { client in
            for remaining in [1, 0] {
                try await client.execute(uri: "/items", method: .get, headers: key) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[HTTPField.Name("RateLimit-Policy")!] == #""per-key";q=2;w=60"#)
                    let fields = response.headers[HTTPField.Name("RateLimit")!] ?? ""
                    #expect(fields.hasPrefix(#""per-key";r=\#(remaining);t="#), "\(fields)")
                }
            }
            try await client.execute(uri: "/items", method: .get, headers: key) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
                #expect(response.headers[values: .retryAfter].count == 1)
                #expect(response.headers[HTTPField.Name("RateLimit")!] == #""per-key";r=0;t=30"#)
                let body = try #require(
                    JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                )
                #expect(body["error"] as? String == "rate_limited")
                #expect(body["reason"] as? String == "per-key")
                #expect(body["retry_after_s"] as? Int == 30)
            }
            // Another key has its own quota; a request without a key is not limited by this policy.
            try await client.execute(uri: "/items", method: .get, headers: [HTTPField.Name("x-api-key")!: "k-2"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/items", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func spillwayMiddlewareRateLimitsBeforeAdmissionAndCountsIt() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let samples = RecordingLimit.Samples()
        let configuration = SpillwayConfiguration(
            limiter: .init(name: "test", algorithm: RecordingLimit(4, samples: samples)),
            metrics: .init(factory: metrics)
        )
        let router = Router()
        try router.addSpillway(configuration, rateLimiter: Self.limiter(clock: clock), clock: clock)
        router.get("/items") { _, _ in "items" }
        let key: HTTPFields = [HTTPField.Name("x-api-key")!: "k-1"]
        try await Application(router: router).test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/items", method: .get, headers: key) {
                    #expect($0.status == .ok)
                    #expect($0.headers[HTTPField.Name("RateLimit")!] != nil)
                }
            }
            try await client.execute(uri: "/items", method: .get, headers: key) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
            }
        }
        #expect(GoodputMetricsTests.requests(metrics, route: "/items", status: 429, outcome: "rate_limited") == 1)
        #expect(samples.all.count == 2, "the denied request never took a permit")
    }

    static func limiter(_ key: RateLimitKey, clock: ManualClock) throws -> RateLimiter {
        let bucket = try TokenBucket(capacity: 2, refill: 2, per: .seconds(60))
        let store = InMemoryRateLimitStore(algorithm: bucket, clock: clock)
        return try RateLimiter(
            policies: [try RateLimitPolicy(name: "per-client", key: key, store: store)],
            clock: clock,
            metricsFactory: TestMetrics()
        )
    }

    /// Defect: with a context that records no remote address (`BasicRequestContext`), every client shared the key
    /// `"unknown"`: a per-client limit silently became one global limit. Now it is refused when the router is built.
    @Test func perClientPoliciesAreRefusedWhereTheContextRecordsNoAddress() throws {
        let clock = ManualClock()
        let perClient = try Self.limiter(.clientAddress(), clock: clock)
        let error = #expect(throws: SpillwayConfigurationError.self) {
            try RateLimitMiddleware<BasicRequestContext>(limiter: perClient)
        }
        #expect(error?.code == .clientAddressUnavailable)
        #expect(error?.message.contains("'per-client'") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("BasicRequestContext") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("RemoteAddressRequestContext") == true, "\(error?.message ?? "")")
        // The client address as the fallback of a header key is refused too, and so is the combined middleware.
        let fallback = try Self.limiter(.header("x-api-key").orElse(.clientAddress()), clock: clock)
        #expect(throws: SpillwayConfigurationError.self) {
            try RateLimitMiddleware<BasicRequestContext>(limiter: fallback)
        }
        #expect(throws: SpillwayConfigurationError.self) { try Router().addSpillway(rateLimiter: perClient) }
        #expect(throws: SpillwayConfigurationError.self) {
            try SpillwayMiddleware<BasicRequestContext>(rateLimiter: fallback)
        }
        // Keys that do not depend on the peer work with any context.
        for key in [RateLimitKey.header("x-api-key"), .global, RateLimitKey { $0.headerValues("x-tenant").first }] {
            _ = try RateLimitMiddleware<BasicRequestContext>(limiter: Self.limiter(key, clock: clock))
            _ = try Router().addSpillway(rateLimiter: Self.limiter(key, clock: clock))
        }
    }

    @Test func perClientPoliciesKeyOnThePeerWithAContextThatRecordsIt() async throws {
        let keys = KeyLog()
        let recordingKey = RateLimitKey { request in
            let key = ClientAddressResolver().key(for: request)
            keys.append(key)
            return key
        }
        let router = Router(context: ClientAddressRequestContext.self)
        // No `try`: the context's conformance to RemoteAddressRequestContext is checked by the compiler.
        router.add(middleware: RateLimitMiddleware(limiter: try Self.limiter(recordingKey, clock: ManualClock())))
        router.get("/items") { _, _ in "items" }
        try await Application(router: router).test(.live) { client in
            try await client.execute(uri: "/items", method: .get) { #expect($0.status == .ok) }
        }
        #expect(!keys.all.isEmpty)
        #expect(keys.all.allSatisfy { $0 != "unknown" }, "\(keys.all)")
    }
}

/// The keys a rate-limit key function produced.
final class KeyLog: Sendable {
    private let keys = Mutex<[String]>([])
    var all: [String] { keys.withLock { $0 } }
    func append(_ key: String) { keys.withLock { $0.append(key) } }
}
