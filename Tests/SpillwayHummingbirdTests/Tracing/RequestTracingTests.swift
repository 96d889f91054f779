import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Testing
import Tracing

/// The server span `addSpillway()` installs: W3C trace context extracted from the request, Spillway's admission span
/// and the handler's spans as its children. Each test binds its own tracer to its task.
@Suite(.timeLimit(.minutes(1))) struct RequestTracingTests {
    private static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    private static let parentID = "00f067aa0ba902b7"
    private static let traceparent = HTTPField.Name("traceparent")!

    private func router(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration()
    ) -> Router<
        BasicRequestContext
    > {
        let router = Router()
        router.addSpillway(configuration)
        router.get("/items/{id}") { _, _ -> String in
            withSpan("handler") { _ in "item" }
        }
        return router
    }

    /// Sends one request carrying a `traceparent` through `router`, with `tracer` bound to the test's task.
    private func send(through router: Router<BasicRequestContext>, tracer: W3CTestTracer) async throws {
        try await withTracer(tracer) {
            try await Application(router: router).test(.router) { client in
                try await client.execute(
                    uri: "/items/7",
                    method: .get,
                    headers: [Self.traceparent: "00-\(Self.traceID)-\(Self.parentID)-01"]
                ) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test func theRequestContinuesTheCallersTraceAndAdmissionIsAChildSpan() async throws {
        let tracer = W3CTestTracer()
        try await send(through: router(), tracer: tracer)
        await eventually("the server span ended") { tracer.spans(named: "/items/{id}").count == 1 }
        let server = try #require(tracer.spans(named: "/items/{id}").first)
        #expect(server.kind == .server)
        #expect(server.traceID == Self.traceID)
        #expect(server.parentSpanID == Self.parentID)
        #expect(server.string("http.route") == "/items/{id}")
        let admission = try #require(tracer.spans(named: "spillway.admission").first)
        #expect(admission.parentSpanID == server.spanID)
        #expect(admission.string("spillway.admission.outcome") == "admitted")
        #expect(admission.string("spillway.limiter.name") == "http")
        let handler = try #require(tracer.spans(named: "handler").first)
        #expect(handler.parentSpanID == server.spanID)
        #expect(handler.traceID == Self.traceID)
    }

    @Test func aRecordedServerSpanCarriesTheHTTPAttributesAndEndsAfterTheBody() async throws {
        let tracer = W3CTestTracer()
        try await send(through: router(), tracer: tracer)
        await eventually("the server span ended") { tracer.spans(named: "/items/{id}").count == 1 }
        let server = try #require(tracer.spans(named: "/items/{id}").first)
        #expect(server.string("http.request.method") == "GET")
        #expect(server.string("url.path") == "/items/7")
        #expect(server.int("http.response.status_code") == 200)
        #expect(server.int("http.response.body.size") == 4)
        let admission = try #require(tracer.spans(named: "spillway.admission").first)
        #expect(server.endInstant.nanosecondsSinceEpoch >= admission.endInstant.nanosecondsSinceEpoch)
    }

    @Test func anUnsampledRequestKeepsItsTraceContextAndBuildsNoAttributes() async throws {
        let tracer = W3CTestTracer(sampling: .never)
        let router = router()
        try await withTracer(tracer) {
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/items/7", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "item")
                }
            }
        }
        let spans = tracer.startedSpans
        #expect(spans.map(\.name) == ["HTTP GET route not found", "spillway.admission", "handler"])
        #expect(spans.allSatisfy { !$0.sampled })
        // One trace: the admission and handler spans are children of the server span, so a parent-based sampler
        // drops them too.
        #expect(Set(spans.map(\.traceID)).count == 1)
        #expect(spans.dropFirst().allSatisfy { $0.parentSpanID == spans[0].spanID })
        #expect(tracer.unsampledAttributeWrites == 0)
        #expect(tracer.unsampledEnds == 3)
        #expect(tracer.finishedSpans.isEmpty)
    }

    /// Every `addSpillway` adds the server span, the throwing rate-limited one (for a context that does not record
    /// the client's address) included.
    @Test func theRateLimitedAddSpillwayForAnyContextAddsTheServerSpanToo() async throws {
        let limiter = try RateLimiter(policies: [
            try RateLimitPolicy(
                name: "everyone",
                key: .global,
                store: InMemoryRateLimitStore(algorithm: try GCRA(limit: 1_000, period: .seconds(1)))
            )
        ])
        let router = Router()
        try router.addSpillway(rateLimiter: limiter)
        router.get("/items/{id}") { _, _ -> String in "item" }
        let tracer = W3CTestTracer()
        try await send(through: router, tracer: tracer)
        await eventually("the server span ended") { tracer.spans(named: "/items/{id}").count == 1 }
        let server = try #require(tracer.spans(named: "/items/{id}").first)
        #expect(server.traceID == Self.traceID)
        let rateLimit = try #require(tracer.spans(named: "spillway.rate_limit").first)
        #expect(rateLimit.parentSpanID == server.spanID)
    }

    @Test func withTracingOffThereIsNoServerSpanButSpillwaysSpansRemain() async throws {
        let tracer = W3CTestTracer()
        var configuration = SpillwayConfiguration()
        configuration.tracing = nil
        try await send(through: router(configuration), tracer: tracer)
        #expect(tracer.spans(named: "/items/{id}").isEmpty)
        let admission = try #require(tracer.spans(named: "spillway.admission").first)
        #expect(admission.traceID != Self.traceID)
    }
}
