import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import Spillway
import SpillwayHummingbird
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
        router.add(middleware: RateLimitMiddleware(limiter: try Self.limiter(clock: clock)))
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
        var configuration = SpillwayConfiguration(
            limiter: .init(name: "test", algorithm: RecordingLimit(4, samples: samples)),
            metrics: .init(factory: metrics)
        )
        configuration.rateLimiter = try Self.limiter(clock: clock)
        let router = Router()
        router.addSpillway(configuration, clock: clock)
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
}
