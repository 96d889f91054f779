import MetricsTestKit
import Testing

@testable import Spillway

@Suite struct RateLimiterTests {
    private struct Fixture {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let perClient: InMemoryRateLimitStore<TokenBucket>
        let global: InMemoryRateLimitStore<TokenBucket>
        let limiter: RateLimiter

        init(perClientCapacity: Int = 2, globalCapacity: Int = 3) throws {
            perClient = InMemoryRateLimitStore(
                algorithm: try TokenBucket(capacity: perClientCapacity, refill: 1, per: .seconds(1)),
                clock: clock
            )
            global = InMemoryRateLimitStore(
                algorithm: try TokenBucket(capacity: globalCapacity, refill: 10, per: .seconds(1)),
                clock: clock
            )
            limiter = try RateLimiter(
                policies: [
                    try RateLimitPolicy(name: "per-client", key: .clientAddress(), store: perClient),
                    try RateLimitPolicy(name: "global", key: .global, store: global),
                ],
                clock: clock,
                metricsFactory: metrics
            )
        }

        func count(_ policy: String, _ outcome: String) -> Int64 {
            metrics.counterTotal(
                label: "spillway_ratelimit_decisions_total",
                dimensions: [("policy", policy), ("outcome", outcome)]
            )
        }
    }

    private func from(_ peer: String) -> RateLimitRequest { RateLimitRequest(peerAddress: peer) }

    @Test func aRequestPassesOnlyWhenEveryPolicyAllows() async throws {
        let fixture = try Fixture()
        #expect(try await fixture.limiter.check(from("198.51.100.1")).isAllowed)
        #expect(try await fixture.limiter.check(from("198.51.100.1")).isAllowed)
        let denied = try await fixture.limiter.check(from("198.51.100.1"))
        #expect(!denied.isAllowed)
        #expect(denied.deniedBy?.policy == "per-client")
        #expect(denied.statusCode == 429)
        // The global policy was not consulted for the denied request: one unit is left for someone else.
        #expect(denied.policies[1].decision == nil)
        #expect(try await fixture.limiter.check(from("198.51.100.2")).isAllowed)
        #expect(try fixture.global.acquire(key: "global", cost: 0).remaining == 0)
        #expect(fixture.count("per-client", "denied") == 1)
        #expect(fixture.count("per-client", "allowed") == 3)
        #expect(fixture.count("global", "allowed") == 3)
    }

    @Test func aDenialByALaterPolicyRefundsTheEarlierOnes() async throws {
        let fixture = try Fixture()
        for client in 1...3 { #expect(try await fixture.limiter.check(from("198.51.100.\(client)")).isAllowed) }
        let denied = try await fixture.limiter.check(from("198.51.100.9"))
        #expect(denied.deniedBy?.policy == "global")
        #expect(denied.policies[0].refunded)
        #expect(try fixture.perClient.acquire(key: "198.51.100.9", cost: 0).remaining == 2)
        #expect(fixture.count("per-client", "refunded") == 1)
        #expect(fixture.count("global", "denied") == 1)
        // The global bucket refills 10/s: 100 ms later the same client gets through with its full per-client quota.
        fixture.clock.advance(by: .milliseconds(100))
        let allowed = try await fixture.limiter.check(from("198.51.100.9"))
        #expect(allowed.isAllowed && allowed.policies[0].decision?.remaining == 1)
    }

    @Test func policiesWithoutAKeyAreSkipped() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let limiter = try RateLimiter(
            policies: [
                try RateLimitPolicy(
                    name: "per-api-key",
                    key: .header("x-api-key"),
                    algorithm: try GCRA(limit: 1, period: .seconds(60)),
                    clock: clock
                )
            ],
            clock: clock,
            metricsFactory: metrics
        )
        for _ in 0..<5 { #expect(try await limiter.check(RateLimitRequest(peerAddress: "198.51.100.1")).isAllowed) }
        let keyed = RateLimitRequest(peerAddress: "198.51.100.1", headers: [("X-Api-Key", "k1")])
        #expect(try await limiter.check(keyed).isAllowed)
        #expect(try await !limiter.check(keyed).isAllowed)
        #expect(
            metrics.counterTotal(
                label: "spillway_ratelimit_decisions_total",
                dimensions: [("policy", "per-api-key"), ("outcome", "skipped")]
            ) == 5
        )
        #expect(try await limiter.check(RateLimitRequest(peerAddress: nil)).headerFields().isEmpty)
    }

    @Test func allowedResponsesCarryBothFieldsForEveryPolicy() async throws {
        let fixture = try Fixture(perClientCapacity: 10, globalCapacity: 100)
        let result = try await fixture.limiter.check(from("198.51.100.1"))
        let fields = result.headerFields()
        #expect(fields.map(\.name) == ["RateLimit-Policy", "RateLimit"])
        #expect(fields[0].value == #""per-client";q=10;w=10, "global";q=100;w=10"#)
        #expect(fields[1].value == #""per-client";r=9;t=1, "global";r=99;t=1"#)
        #expect(result.headerFields(includingPolicy: false).map(\.name) == ["RateLimit"])
        #expect(result.statusCode == nil && result.retryAfter == nil)
    }

    @Test func deniedResponsesCarry429RetryAfterAndTheDenyingPolicy() async throws {
        let fixture = try Fixture()
        _ = try await fixture.limiter.check(from("198.51.100.1"), cost: 2)
        fixture.clock.advance(by: .milliseconds(200))
        let denied = try await fixture.limiter.check(from("198.51.100.1"))
        #expect(denied.retryAfter == .milliseconds(800))
        let fields = denied.headerFields()
        #expect(fields.map(\.name) == ["RateLimit-Policy", "RateLimit", "Retry-After"])
        #expect(fields[1].value == #""per-client";r=0;t=1"#)
        #expect(fields[2].value == "1")
        // Rounded up to whole seconds, never 0.
        let later = try await fixture.limiter.check(from("198.51.100.1"), cost: 2)
        #expect(later.retryAfter == .milliseconds(1_800))
        #expect(later.headerFields().last! == (name: "Retry-After", value: "2"))
    }

    @Test func aCostAboveCapacityIsDeniedWithoutRetryAfter() async throws {
        let fixture = try Fixture()
        let denied = try await fixture.limiter.check(from("198.51.100.1"), cost: 3)
        #expect(!denied.isAllowed && denied.statusCode == 429)
        #expect(denied.retryAfter == nil)
        #expect(denied.deniedBy?.decision?.exceedsCapacity == true)
        let fields = denied.headerFields()
        #expect(fields.map(\.name) == ["RateLimit-Policy", "RateLimit"])
        #expect(fields[1].value == #""per-client";r=2"#)
        #expect(try await fixture.limiter.check(from("198.51.100.1"), cost: 2).isAllowed)
    }

    @Test func misuseIsReportedNotCrashed() async throws {
        let store = InMemoryRateLimitStore(algorithm: try GCRA(limit: 1, period: .seconds(1)))
        let policy = try RateLimitPolicy(name: "a", key: .global, store: store)
        #expect(throws: RateLimitError.self) { try RateLimiter(policies: [policy, policy]) }
        for name in ["", "has space", "quote\"", String(repeating: "x", count: 65), "é"] {
            #expect(throws: RateLimitError.self) { try RateLimitPolicy(name: name, key: .global, store: store) }
        }
        let limiter = try RateLimiter(policies: [policy])
        await #expect(throws: RateLimitError.self) {
            try await limiter.check(RateLimitRequest(peerAddress: nil), cost: -1)
        }
        let empty = try RateLimiter(policies: [])
        let result = try await empty.check(RateLimitRequest(peerAddress: nil))
        #expect(result.isAllowed && result.headerFields().isEmpty)
    }

    @Test func structuredStringsEscapeQuotesAndBackslashes() {
        #expect(RateLimitHeaderFormat.string(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(RateLimitHeaderFormat.string("tab\there") == #""tabhere""#)
    }
}
