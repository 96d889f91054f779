import NIOCore
import Spillway
import SpillwayTestSupport
import Testing
import Tracing

@testable import SpillwayRedis

/// One client span per Redis command or pipeline, under the caller's span, with the OpenTelemetry database
/// attributes and never a key or a value.
@Suite(.timeLimit(.minutes(1))) struct RedisTracingTests {
    @Test func aCommandIsAClientSpanUnderTheCallerWithoutKeysOrValues() async throws {
        let tracer = W3CTestTracer()
        try await withRedisServer { server in
            let client = RedisIntegrationTests.client(server)
            try await withTracer(tracer) {
                try await withSpan("caller") { _ in
                    try await client.set("secret-key", value: "secret-value")
                    _ = try await client.get("secret-key")
                }
            }
            await client.shutdown()
        }
        let caller = try #require(tracer.spans(named: "caller").first)
        let set = try #require(tracer.spans(named: "SET").first)
        let get = try #require(tracer.spans(named: "GET").first)
        for span in [set, get] {
            #expect(span.kind == .client)
            #expect(span.parentSpanID == caller.spanID && span.traceID == caller.traceID)
            #expect(span.string("db.system.name") == "redis")
            #expect(span.string("server.address") == "127.0.0.1")
            #expect(span.string("db.namespace") == "0")
            #expect(span.int("db.operation.batch.size") == nil)
            var values: [String] = []
            span.attributes.forEach { name, value in values.append("\(name)=\(value)") }
            #expect(values.count >= 5)
            #expect(!values.contains { $0.contains("secret") }, "attributes carry no key or value: \(values)")
        }
        #expect(set.string("db.operation.name") == "SET")
        #expect(get.string("db.operation.name") == "GET")
    }

    @Test func aPipelineIsOneBatchSpanAndAnErrorReplyMarksIt() async throws {
        let tracer = W3CTestTracer()
        try await withRedisServer { server in
            let client = RedisIntegrationTests.client(server)
            await withTracer(tracer) {
                let (first, second) = await client.execute(GET(key: "a"), GET(key: "b"))
                #expect(Self.succeeded(first) && Self.succeeded(second))
                let mixed = await client.execute([
                    RedisRawCommand("SET", "k", "not a number"), RedisRawCommand("INCRBY", "k", 1),
                ])
                #expect(mixed.count == 2)
            }
            await client.shutdown()
        }
        let gets = try #require(tracer.spans(named: "BATCH GET").first)
        #expect(gets.int("db.operation.batch.size") == 2)
        #expect(gets.string("db.operation.name") == "BATCH GET")
        #expect(gets.status == nil)
        let mixed = try #require(tracer.spans(named: "BATCH").first)
        #expect(mixed.int("db.operation.batch.size") == 2)
        #expect(mixed.string("db.response.status_code") == "ERR")
        #expect(mixed.string("error.type") == "ERR")
        #expect(mixed.status?.code == .error)
    }

    private static func succeeded<Value>(_ result: Result<Value, any Error>) -> Bool {
        if case .success = result { return true }
        return false
    }

    @Test func operationNamesComeFromTheCommandWithoutEncodingItsArguments() {
        #expect(GET(key: "k").operationName == "GET")
        #expect(RedisRawCommand("hset", "h", "f", "v").operationName == "hset")
        #expect(RedisClient.operationName(ofPipeline: ["GET"]) == "GET")
        #expect(RedisClient.operationName(ofPipeline: ["GET", "GET"]) == "BATCH GET")
        #expect(RedisClient.operationName(ofPipeline: ["GET", "SET"]) == "BATCH")
        #expect(RedisClient.operationName(ofPipeline: []) == "BATCH")
    }
}
