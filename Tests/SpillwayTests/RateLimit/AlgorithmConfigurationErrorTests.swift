import Testing

@testable import Spillway

/// The algorithms share one "at least 1" check (`RateLimitArithmetic.atLeastOne`); each message still names the
/// parameter and the value given.
@Suite struct AlgorithmConfigurationErrorTests {
    @Test func eachCountBelowOneIsNamedWithItsValue() {
        #expect(throws: RateLimitError.configuration("limit must be at least 1 (got 0)")) {
            try GCRA(limit: 0, period: .seconds(1))
        }
        #expect(throws: RateLimitError.configuration("burst must be at least 1 (got -2)")) {
            try GCRA(limit: 1, period: .seconds(1), burst: -2)
        }
        #expect(throws: RateLimitError.configuration("limit must be at least 1 (got 0)")) {
            try SlidingWindow(limit: 0, window: .seconds(1))
        }
        #expect(throws: RateLimitError.configuration("capacity must be at least 1 (got 0)")) {
            try TokenBucket(capacity: 0, refill: 1, per: .seconds(1))
        }
        #expect(throws: RateLimitError.configuration("refill must be at least 1 token (got 0)")) {
            try TokenBucket(capacity: 1, refill: 0, per: .seconds(1))
        }
    }
}
