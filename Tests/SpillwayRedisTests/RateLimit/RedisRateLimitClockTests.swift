import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// What each rate-limit script does when Redis' clock (`TIME`) goes backwards, as after an NTP step or a VM
/// restored from a snapshot: no extra grant at the jump, and no denial lasting as long as the jump — refills
/// resume at their normal pace on the new timeline (issue 11, tests that must be able to fail).
///
/// Each script runs on a real redis-server with its `TIME` call replaced by two extra arguments, so the test sets
/// the server time it sees.
@Suite(.timeLimit(.minutes(1))) struct RedisRateLimitClockTests {
    /// One decision of `algorithm`'s script at server time `microseconds` (since the Unix epoch).
    struct ScriptedClock<Algorithm: RedisRateLimitAlgorithm> {
        let algorithm: Algorithm
        let script: RedisScript
        let redis: RedisClient
        let key: String

        init(_ algorithm: Algorithm, redis: RedisClient) {
            let source = algorithm.redisScript.source
            let call = "redis.call('TIME')"
            precondition(source.components(separatedBy: call).count == 2, "the script must read TIME exactly once")
            self.algorithm = algorithm
            self.script = RedisScript(source.replacingOccurrences(of: call, with: "{ARGV[#ARGV - 1], ARGV[#ARGV]}"))
            self.redis = redis
            self.key = uniqueRateLimitPrefix() + "clock"
        }

        /// `(allowed, remaining)` of acquiring `cost` at `microseconds`.
        func acquire(_ cost: Int = 1, at microseconds: Int64) async throws -> (allowed: Bool, remaining: Int64) {
            let arguments =
                [RedisArgument("acquire"), RedisArgument(cost), RedisArgument(0)] + algorithm.redisArguments
                + [RedisArgument(microseconds / 1_000_000), RedisArgument(microseconds % 1_000_000)]
            let reply = try await script.run(on: redis, keys: [key], arguments: arguments)
            guard case .array(let values) = reply, values.count == 4, case .integer(let allowed) = values[0],
                case .integer(let remaining) = values[1]
            else {
                Issue.record("unexpected reply \(reply)")
                return (false, -1)
            }
            return (allowed == 1, remaining)
        }
    }

    /// For each jump, on a fresh key: drains a burst of 4 at `now`, moves the clock back by the jump, and checks
    /// both rules; `refill` is how long one unit takes to come back after the drain on a steady clock.
    func check<Algorithm: RedisRateLimitAlgorithm>(
        _ algorithm: Algorithm,
        refill: Duration,
        redis: RedisClient
    ) async throws {
        let now: Int64 = 1_800_000_000_000_000
        for jump in [Duration.milliseconds(1), .seconds(3_600)] {
            let clock = ScriptedClock(algorithm, redis: redis)
            for _ in 0..<4 { #expect(try await clock.acquire(at: now).allowed, "\(algorithm)") }
            #expect(try await !clock.acquire(at: now).allowed, "\(algorithm)")
            let back = now - jump.nanoseconds / 1_000
            // No extra grant: the drained key stays drained at the jump, and a second look changes nothing.
            let atJump = try await clock.acquire(at: back)
            #expect(!atJump.allowed && atJump.remaining == 0, "\(algorithm), \(jump) back: \(atJump)")
            #expect(try await !clock.acquire(at: back).allowed, "\(algorithm), \(jump) back")
            // No denial for as long as the jump: one unit is back after one refill period on the new timeline.
            let later = back + refill.nanoseconds / 1_000
            #expect(try await clock.acquire(at: later).allowed, "\(algorithm), \(jump) back, one refill later")
            #expect(try await !clock.acquire(at: later).allowed, "\(algorithm), \(jump) back, one refill later")
        }
    }

    @Test func tokenBucket() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let bucket = try TokenBucket(capacity: 4, refill: 1, per: .seconds(10))
                try await check(bucket, refill: .seconds(10), redis: client)
            }
        }
    }

    @Test func gcra() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                try await check(try GCRA(limit: 1, period: .seconds(10), burst: 4), refill: .seconds(10), redis: client)
            }
        }
    }

    @Test func slidingWindow() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                // 4 units in the window that ended 2.5 s ago weigh 3: one unit is free.
                let window = try SlidingWindow(limit: 4, window: .seconds(10))
                try await check(window, refill: .milliseconds(12_500), redis: client)
            }
        }
    }
}
