import AsyncHTTPClient
import Hummingbird
import Spillway
import SpillwayHTTPClient
import SpillwayTestSupport
import Synchronization
import Testing
import Tracing

/// Spans and W3C trace-context propagation of `ResilientHTTPClient`, with a tracer bound to each test's task.
@Suite(.timeLimit(.minutes(1))) struct ClientTracingTests {
    /// The `traceparent` header of every request a test server received.
    private final class Traceparents: Sendable {
        private let values = Mutex<[String?]>([])

        func record(_ request: Request) -> Int {
            values.withLock { values in
                values.append(request.headers[.init("traceparent")!])
                return values.count
            }
        }

        var all: [String?] { values.withLock { $0 } }
    }

    @Test(arguments: [false, true])
    func aRetriedCallIsOneTraceWithASpanAndATraceparentPerAttempt(tracedByAsyncHTTPClient: Bool) async throws {
        let traceparents = Traceparents()
        let tracer = W3CTestTracer()
        let configuration = ResilientHTTPClient.Configuration(
            name: "traced",
            retry: RetryPolicy(maxAttempts: 3, backoff: Backoff(jitter: .full, base: .milliseconds(5))),
            timeout: nil,
            attemptTimeout: nil
        )
        try await withTracer(tracer) {
            let router = Router()
            router.get("flaky") { request, _ -> Response in
                traceparents.record(request) <= 2 ? Response(status: .serviceUnavailable) : Response(status: .ok)
            }
            try await withLiveServer(router) { url in
                // By default AsyncHTTPClient traces with the tracer active when it is created; without one, what
                // the test sees is Spillway's own client span and injection.
                try await withHTTPClient {
                    if !tracedByAsyncHTTPClient { $0.tracing.tracer = nil }
                } _: { http in
                    #expect((http.tracer != nil) == tracedByAsyncHTTPClient)
                    let client = ResilientHTTPClient(httpClient: http, configuration: configuration)
                    try await withSpan("caller") { _ in
                        let response = try await client.execute(HTTPClientRequest(url: "\(url)/flaky"))
                        #expect(response.status == .ok)
                    }
                }
            }
        }

        let caller = try #require(tracer.spans(named: "caller").first)
        let pipeline = try #require(tracer.spans(named: "spillway.pipeline").first)
        #expect(pipeline.parentSpanID == caller.spanID)
        #expect(pipeline.string("spillway.pipeline.name") == "traced")
        #expect(pipeline.events.map(\.name) == ["spillway.retry.backoff", "spillway.retry.backoff"])

        let attempts = tracer.spans(named: "spillway.attempt").sorted { $0.spanID < $1.spanID }
        #expect(attempts.map { $0.int("spillway.attempt.number") } == [1, 2, 3])
        #expect(attempts.allSatisfy { $0.parentSpanID == pipeline.spanID })
        #expect(
            attempts.map { $0.string("spillway.attempt.outcome") }
                == ["retryable_failure", "retryable_failure", "success"]
        )

        let exchanges = tracer.spans(named: "GET")
        #expect(exchanges.count == 3)
        #expect(exchanges.allSatisfy { $0.kind == .client })
        #expect(Set(exchanges.compactMap(\.parentSpanID)) == Set(attempts.map(\.spanID)))
        // AsyncHTTPClient 1.37 still names the status attribute `http.status_code`.
        let statuses = exchanges.compactMap { $0.int("http.response.status_code") ?? $0.int("http.status_code") }
        #expect(statuses.sorted() == [200, 503, 503])
        #expect(tracer.finishedSpans.allSatisfy { $0.traceID == caller.traceID })

        // The server saw each attempt's own client span as the parent, in the caller's trace.
        let expected = Set(exchanges.map { "00-\(caller.traceID)-\($0.spanID)-01" })
        #expect(Set(traceparents.all.compactMap { $0 }) == expected)
        #expect(traceparents.all.count == 3)
    }

    @Test func withoutATracerNoTraceContextIsSent() async throws {
        let traceparents = Traceparents()
        let router = Router()
        router.get("plain") { request, _ -> Response in
            _ = traceparents.record(request)
            return Response(status: .ok)
        }
        try await withLiveServer(router) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http)
                let response = try await client.execute(HTTPClientRequest(url: "\(url)/plain"))
                #expect(response.status == .ok)
            }
        }
        #expect(traceparents.all.count == 1)
        #expect(traceparents.all.first == .some(nil))
    }
}
