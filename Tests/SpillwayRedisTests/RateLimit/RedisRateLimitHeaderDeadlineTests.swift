import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// Forwards to a real client after a delay, as a Redis a few network hops away would answer.
struct DelayedRedis: RedisCommandExecutor {
    var redis: any RedisCommandExecutor
    var delay: Duration

    func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        // Models network latency in an end-to-end test; the logic under test is not timed by it.
        try await Task.sleep(for: delay)
        return try await redis.execute(command)
    }
}

/// End to end: clients sending tiny deadline headers cannot open the breaker of the shared Redis rate-limit store
/// through the rate-limit middleware (issue 11, defect 1).
@Suite(.timeLimit(.minutes(1))) struct RedisRateLimitHeaderDeadlineTests {
    @Test(arguments: [("x-request-timeout-ms", "1"), ("grpc-timeout", "1m")])
    func tinyDeadlineHeadersDoNotOpenTheSharedBreaker(header: String, value: String) async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let bucket = try TokenBucket(capacity: 100, refill: 1, per: .seconds(60))
                let delayed = DelayedRedis(redis: client, delay: .milliseconds(20))
                let store = try failClosedStore("edge", bucket, redis: delayed)
                let limiter = try RateLimiter(policies: [try RateLimitPolicy(name: "edge", key: .global, store: store)])
                let router = Router()
                router.add(middleware: DeadlineMiddleware())
                router.add(middleware: try RateLimitMiddleware(limiter: limiter))
                router.get("/items") { _, _ in "items" }
                let tiny: HTTPFields = [HTTPField.Name(header)!: value]
                try await Application(router: router).test(.router) { client in
                    try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                        for _ in 0..<5 {
                            group.addTask {
                                try await client.execute(uri: "/items", method: .get, headers: tiny) { $0.status }
                            }
                        }
                        for try await status in group {
                            // Served, or refused for its own spent budget; never refused for a broken Redis.
                            #expect(status != .tooManyRequests)
                        }
                    }
                    // Everyone else is still limited by Redis: allowed, with the shared quota in the headers.
                    try await client.execute(uri: "/items", method: .get) { response in
                        #expect(response.status == .ok)
                        let fields = response.headers[HTTPField.Name("RateLimit")!] ?? ""
                        #expect(fields.hasPrefix(#""edge";r=94;"#), "\(fields)")
                    }
                }
                #expect(store.breakerState == "closed")
            }
        }
    }
}
