import AsyncHTTPClient
import Hummingbird
import Spillway
import SpillwayHTTPClient
import SpillwayHummingbird
import SpillwayTestSupport
import Synchronization
import Testing
import Tracing

/// A retry storm across three tiers is one trace: a caller asks service B (Hummingbird with `addSpillway()`), whose
/// handler calls service A (the same) through `ResilientHTTPClient`, retrying A's two `503`s. Every span — the
/// caller's, B's server span and admission, B's pipeline, each attempt and its client span, and A's server span for
/// each attempt — is in the caller's trace, each under the span that caused it.
@Suite(.timeLimit(.minutes(1)))
struct ThreeTierTracingTests {
    @Test func aRetriedCallThroughTwoServicesIsOneTraceWithEveryAttempt() async throws {
        let tracer = W3CTestTracer()
        let callsToA = CallCounter()
        let configuration = ResilientHTTPClient.Configuration(
            name: "b_to_a",
            retry: RetryPolicy(maxAttempts: 3, backoff: Backoff(jitter: .full, base: .milliseconds(5))),
            timeout: nil,
            attemptTimeout: nil
        )
        try await withTracer(tracer) {
            // Spillway's own client spans and injection only (AsyncHTTPClient's tracing off), as in ClientTracingTests.
            try await withHTTPClient(configure: { $0.tracing.tracer = nil }) { http in
                let routerA = Router()
                routerA.addSpillway()
                routerA.get("a") { _, _ -> Response in
                    callsToA.next() <= 2
                        ? Response(status: .serviceUnavailable) : Response(status: .ok)
                }
                try await withLiveServer(routerA) { urlA in
                    let toA = ResilientHTTPClient(httpClient: http, configuration: configuration)
                    let routerB = Router()
                    routerB.addSpillway()
                    routerB.get("b") { _, _ -> Response in
                        let response = try await toA.execute(HTTPClientRequest(url: "\(urlA)/a"))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        return Response(status: .init(code: Int(response.status.code)))
                    }
                    try await withLiveServer(routerB) { urlB in
                        let caller = ResilientHTTPClient(
                            httpClient: http,
                            configuration: .init(name: "caller", retry: RetryPolicy(maxAttempts: 1))
                        )
                        try await withSpan("caller") { _ in
                            let response = try await caller.execute(HTTPClientRequest(url: "\(urlB)/b"))
                            #expect(response.status == .ok)
                        }
                    }
                }
            }
        }
        #expect(callsToA.count == 3)

        let caller = try #require(tracer.spans(named: "caller").first)
        #expect(tracer.finishedSpans.allSatisfy { $0.traceID == caller.traceID }, "one trace")
        let serverB = try #require(tracer.spans(named: "/b").first)
        let pipelines = Dictionary(
            tracer.spans(named: "spillway.pipeline").map { ($0.string("spillway.pipeline.name") ?? "", $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let callerPipeline = try #require(pipelines["caller"])
        let toA = try #require(pipelines["b_to_a"])
        let exchanges = tracer.spans(named: "GET")
        let attempts = tracer.spans(named: "spillway.attempt")

        // Caller → its pipeline → its one attempt → its GET → B's server span.
        #expect(callerPipeline.parentSpanID == caller.spanID)
        let callerAttempt = try #require(attempts.first { $0.parentSpanID == callerPipeline.spanID })
        let callerExchange = try #require(exchanges.first { $0.parentSpanID == callerAttempt.spanID })
        #expect(serverB.parentSpanID == callerExchange.spanID, "B continues the caller's client span")

        // Inside B: admission and the pipeline to A are B's children; three attempts, each with its GET.
        let admissions = tracer.spans(named: "spillway.admission")
        #expect(admissions.contains { $0.parentSpanID == serverB.spanID })
        #expect(toA.parentSpanID == serverB.spanID)
        let attemptsToA = attempts.filter { $0.parentSpanID == toA.spanID }
        #expect(attemptsToA.compactMap { $0.int("spillway.attempt.number") }.sorted() == [1, 2, 3])
        let exchangesToA = exchanges.filter { exchange in attemptsToA.contains { $0.spanID == exchange.parentSpanID } }
        #expect(exchangesToA.count == 3)

        // A's server span for each attempt is a child of that attempt's client span; A admitted each.
        let serversA = tracer.spans(named: "/a")
        #expect(serversA.count == 3)
        #expect(Set(serversA.compactMap(\.parentSpanID)) == Set(exchangesToA.map(\.spanID)))
        #expect(serversA.compactMap { $0.int("http.response.status_code") }.sorted() == [200, 503, 503])
        #expect(Set(admissions.compactMap(\.parentSpanID)).isSuperset(of: Set(serversA.map(\.spanID))))
    }
}

/// Counts calls from a router's handlers.
private final class CallCounter: Sendable {
    private let calls = Atomic<Int>(0)
    /// Counts one call; its 1-based number.
    func next() -> Int { calls.wrappingAdd(1, ordering: .relaxed).newValue }
    var count: Int { calls.load(ordering: .relaxed) }
}
