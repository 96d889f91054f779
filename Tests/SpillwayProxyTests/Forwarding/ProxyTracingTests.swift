import InMemoryTracing
import Spillway
import SpillwayTestSupport
import Testing
import Tracing

@testable import SpillwayProxy

/// The proxy's spans: one server span per request continuing the caller's W3C trace, one client span per upstream
/// attempt whose context is what the upstream receives, and the admission decision and outcome on the server span.
/// Each test binds its own tracer around the proxy's start (`withTracer`), which is the tracer the proxy uses.
@Suite("Tracing: server and attempt spans, W3C context upstream", .timeLimit(.minutes(1)))
struct ProxyTracingTests {
    static let callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"
    static let traceparent = "traceparent: 00-\(callerTrace)-\(callerSpan)-01"

    @Test func aForwardedRequestContinuesTheCallersTraceAndTheUpstreamSeesTheAttemptSpan() async throws {
        let tracer = W3CTestTracer()
        let fixture = try await withTracer(tracer) {
            try await ProxyFixture.start { ProxyFixture.yaml(instances: ["127.0.0.1:\($0[0])"]) }
        }
        defer { Task { await fixture.stop() } }
        let response = try await get("/headers", port: fixture.port, headers: [Self.traceparent])
        #expect(response.status == 200)

        let server = try #require(await Self.finished(tracer, named: "HTTP GET all"))
        let attempt = try #require(tracer.spans(named: "HTTP GET").first)
        #expect(server.traceID == Self.callerTrace)
        #expect(server.parentSpanID == Self.callerSpan, "the server span continues the caller's span")
        #expect(server.kind == .server)
        #expect(attempt.kind == .client)
        #expect(attempt.traceID == Self.callerTrace)
        #expect(attempt.parentSpanID == server.spanID)
        // The upstream received the attempt span's context, not the caller's.
        #expect(
            response.body.contains("traceparent: 00-\(Self.callerTrace)-\(attempt.spanID)-01\n"),
            "\(response.body)"
        )

        #expect(server.int("http.response.status_code") == 200)
        #expect(server.string("http.request.method") == "GET")
        #expect(server.string("url.path") == "/headers")
        #expect(server.string("spillway.proxy.route") == "all")
        #expect(server.string("spillway.proxy.outcome") == "forwarded")
        #expect(server.string(SpanAttributeNames.admissionOutcome) == "admitted")
        #expect(server.string(SpanAttributeNames.admissionPriority) != nil)
        #expect(server.int(SpanAttributeNames.admissionLimit).map { $0 >= 1 } == true)
        #expect(server.int(SpanAttributeNames.attempts) == 1)
        #expect(attempt.int("http.response.status_code") == 200)
        #expect(attempt.string("server.address") == "127.0.0.1")
        #expect(attempt.int("server.port") == Int64(fixture.backend.port))
        #expect(attempt.int(SpanAttributeNames.attemptNumber) == 1)
    }

    @Test func aRetriedRequestHasOneAttemptSpanPerAttempt() async throws {
        let tracer = W3CTestTracer()
        let fixture = try await withTracer(tracer) {
            try await ProxyFixture.start(backends: 2) { ports in
                ProxyFixture.yaml(instances: ports.map { "127.0.0.1:\($0)" }, cluster: "    outlier_detection: false")
            }
        }
        defer { Task { await fixture.stop() } }
        let response = try await get("/status/503", port: fixture.port)
        #expect(response.status == 503)
        #expect(fixture.backends.map(\.requests).reduce(0, +) == 2)

        let server = try #require(await Self.finished(tracer, named: "HTTP GET all"))
        let attempts = tracer.spans(named: "HTTP GET").sorted {
            ($0.int(SpanAttributeNames.attemptNumber) ?? 0) < ($1.int(SpanAttributeNames.attemptNumber) ?? 0)
        }
        #expect(attempts.map { $0.int(SpanAttributeNames.attemptNumber) } == [1, 2])
        #expect(attempts.allSatisfy { $0.parentSpanID == server.spanID && $0.int("http.response.status_code") == 503 })
        #expect(attempts.allSatisfy { $0.status?.code == .error })
        #expect(Set(attempts.compactMap { $0.int("server.port") }) == Set(fixture.backends.map { Int64($0.port) }))
        #expect(server.int(SpanAttributeNames.attempts) == 2)
        #expect(server.int("http.response.status_code") == 503)
        #expect(server.status?.code == .error)
    }

    @Test func aRequestRefusedByTheProxyHasItsServerSpanAndNoAttempt() async throws {
        let tracer = W3CTestTracer()
        let fixture = try await withTracer(tracer) {
            try await ProxyFixture.start { ProxyFixture.yaml(instances: ["127.0.0.1:\($0[0])"]) }
        }
        defer { Task { await fixture.stop() } }
        // A budget of 0 ms is already spent: refused with 504 before admission and before any upstream work.
        let response = try await get(
            "/ok",
            port: fixture.port,
            headers: [Self.traceparent, "x-request-timeout-ms: 0"]
        )
        #expect(response.status == 504)
        let server = try #require(await Self.finished(tracer, named: "HTTP GET all"))
        #expect(server.traceID == Self.callerTrace)
        #expect(server.int("http.response.status_code") == 504)
        #expect(server.string("spillway.proxy.outcome") == "deadline_exceeded")
        #expect(server.int(SpanAttributeNames.attempts) == 0)
        #expect(tracer.spans(named: "HTTP GET").isEmpty)
        #expect(fixture.backend.requests == 0)
    }

    @Test func withoutATracerTheCallersContextIsForwardedAsItCame() async throws {
        let fixture = try await ProxyFixture.start { ProxyFixture.yaml(instances: ["127.0.0.1:\($0[0])"]) }
        defer { Task { await fixture.stop() } }
        #expect(fixture.proxy.core.tracer == nil)
        let response = try await get("/headers", port: fixture.port, headers: [Self.traceparent])
        #expect(response.status == 200)
        #expect(response.body.contains("traceparent: 00-\(Self.callerTrace)-\(Self.callerSpan)-01\n"))
    }

    /// The finished span `name`, once the proxy's event loop has ended it (the client may read the response first).
    static func finished(_ tracer: W3CTestTracer, named name: String) async -> FinishedInMemorySpan? {
        _ = await eventually("the span \(name) ends") { tracer.spans(named: name).first != nil }
        return tracer.spans(named: name).first
    }
}
