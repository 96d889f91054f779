import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayRedis

/// A Redis stand-in that answers every command with `reply` (by default a rate-limit script's "allowed, 9 left"),
/// and fails like the real client when the task's `Deadline` has already passed. It records the deadline each call
/// saw.
final class DeadlineCheckingRedis: RedisCommandExecutor, Sendable {
    private let clock: any SpillwayClock
    private let reply: RESPValue
    private let seen = Mutex<[Deadline?]>([])

    init(
        clock: any SpillwayClock,
        reply: RESPValue = .array([.integer(1), .integer(9), .integer(0), .integer(-1)])
    ) {
        self.clock = clock
        self.reply = reply
    }

    var deadlines: [Deadline?] { seen.withLock { $0 } }

    func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        let deadline = Deadline.current
        seen.withLock { $0.append(deadline) }
        if let deadline, deadline.hasPassed(atNanoseconds: clock.nanosecondsSinceOrigin) {
            throw RedisClientError(.timeout, "the task's deadline passed before the command was sent")
        }
        return try command.decodeResponse(reply)
    }
}

/// A fail-closed store whose breaker opens after five failures in a row: where a caller's deadline, counted as a
/// Redis failure, would turn every client away.
func failClosedStore<Algorithm: RedisRateLimitAlgorithm>(
    _ name: String,
    _ algorithm: Algorithm,
    redis: any RedisCommandExecutor,
    timeout: Duration = realRedisTestTimeout,
    clock: any SpillwayClock = ContinuousClock()
) throws -> RedisRateLimitStore<Algorithm> {
    var configuration = RedisRateLimitStore<Algorithm>.Configuration(
        keyPrefix: uniqueRateLimitPrefix(),
        timeout: timeout,
        failurePolicy: .failClosed
    )
    configuration.breaker = .init(failureThreshold: 5, openDuration: .seconds(60))
    return try RedisRateLimitStore(
        name: name,
        algorithm: algorithm,
        redis: redis,
        configuration: configuration,
        clock: clock
    )
}

/// A caller's deadline is the caller's business: the store's Redis calls run under the store's own timeout, and a
/// caller whose deadline passed never counts against Redis (issue 11, defect 1).
@Suite(.timeLimit(.minutes(1))) struct RedisRateLimitCallerDeadlineTests {
    @Test func theRedisCallSeesTheStoreTimeoutNotTheCallersDeadline() async throws {
        let clock = ManualClock()
        let redis = DeadlineCheckingRedis(clock: clock)
        let gcra = try GCRA(limit: 10, period: .seconds(1))
        let store = try failClosedStore("deadline", gcra, redis: redis, timeout: .milliseconds(50), clock: clock)
        // Five callers whose deadline has already passed (a client sent `grpc-timeout: 1n`), concurrently.
        let expired = Deadline(clock.now)
        let decisions = try await withThrowingTaskGroup(of: RateLimitDecision.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    try await Deadline.withDeadline(expired) { try await store.acquire(key: "k", cost: 1) }
                }
            }
            var decisions: [RateLimitDecision] = []
            for try await decision in group { decisions.append(decision) }
            return decisions
        }
        #expect(decisions.allSatisfy { $0.isAllowed && $0.remaining == 9 }, "\(decisions)")
        #expect(store.breakerState == "closed")
        // Each call ran under the store's own 50 ms, not under the caller's deadline.
        let own = Deadline.after(.milliseconds(50), clock: clock)
        #expect(redis.deadlines.count == 5)
        #expect(redis.deadlines.allSatisfy { $0 == own }, "\(redis.deadlines)")
        // Another client, without a deadline, still gets Redis' answer.
        #expect(try await store.acquire(key: "other", cost: 1).remaining == 9)
    }

    @Test func callersWithExpiredDeadlinesDoNotOpenTheBreakerOfARealRedis() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let bucket = try TokenBucket(capacity: 100, refill: 1, per: .seconds(60))
                let store = try failClosedStore("deadline", bucket, redis: client)
                // Ten rounds of five concurrent callers, each with a 1 ns budget (`grpc-timeout: 1n`).
                for _ in 0..<10 {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for _ in 0..<5 {
                            group.addTask {
                                try await Deadline.withDeadline(.after(.nanoseconds(1))) {
                                    _ = try await store.acquire(key: "client", cost: 1)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                #expect(store.breakerState == "closed")
                // Every one of the 50 decisions was Redis': the bucket of 100 has 50 left.
                let decision = try await store.acquire(key: "client", cost: 0)
                #expect(decision.isAllowed && decision.remaining == 50, "\(decision)")
            }
        }
    }
}
