import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Spillway
import SpillwayHTTPClient
import SpillwayHummingbird
import SpillwayOTel
import SpillwayTestSupport
import Testing
import Tracing

/// Spillway's spans exported by ``OTLPTracing`` over OTLP/HTTP to a collector the test runs on loopback, decoded
/// from the protobuf the exporter sent. Each test binds its tracer to its own task (`withTracer`), never globally.
@Suite(.timeLimit(.minutes(1))) struct OTLPTraceExportTests {
    private static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    private static let callerSpanID = "00f067aa0ba902b7"
    private static let traceparent = HTTPField.Name("traceparent")!

    /// Runs a collector, the export service of a tracer sending to it, and `body` with that tracer bound.
    private func withTracingCollector(
        samplingRatio: Double,
        _ body: @Sendable (_ receiver: OTLPReceiver, _ collectorPort: Int) async throws -> Void
    ) async throws {
        try await withCollector { receiver, port in
            let tracing = try OTLPTracing.make(
                OTLPTracingConfiguration(
                    serviceName: "spillway-otel-test",
                    samplingRatio: samplingRatio,
                    endpoint: "http://localhost:\(port)/v1/traces",
                    exportDelay: .milliseconds(20),
                    diagnosticLogger: quietLogger
                )
            )
            let tracer = try #require(tracing.tracer)
            try await whileRunning(tracing.service) {
                try await withTracer(tracer) { try await body(receiver, port) }
            }
        }
    }

    /// A Spillway service whose `/items/{id}` calls the collector's `/dependency` through `ResilientHTTPClient`.
    private func service(calling client: ResilientHTTPClient, port: Int) -> some ApplicationProtocol {
        let router = Router()
        router.addSpillway()
        router.get("/items/{id}") { _, _ -> String in
            let response = try await client.execute(HTTPClientRequest(url: "http://localhost:\(port)/dependency"))
            return response.status == .ok ? "item" : "dependency failed"
        }
        return Application(router: router)
    }

    @Test func aRequestsSpansArriveWithSpillwaysAttributesAndTheirParents() async throws {
        try await withTracingCollector(samplingRatio: 1) { receiver, port in
            let client = ResilientHTTPClient(configuration: .init(name: "catalog"))
            try await service(calling: client, port: port).test(.router) { app in
                try await app.execute(
                    uri: "/items/7",
                    method: .get,
                    headers: [Self.traceparent: "00-\(Self.traceID)-\(Self.callerSpanID)-01"]
                ) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "item")
                }
            }
            try await client.shutdown()
            await eventually("the server span was exported") { !receiver.spans(named: "/items/{id}").isEmpty }
            await eventually("the attempt span was exported") { !receiver.spans(named: "spillway.attempt").isEmpty }

            #expect(receiver.contentTypes == ["application/x-protobuf"])
            let spans = receiver.spans
            #expect(spans.allSatisfy { $0.serviceName == "spillway-otel-test" })
            #expect(spans.allSatisfy { $0.traceID == Self.traceID })

            let server = try #require(receiver.spans(named: "/items/{id}").first)
            #expect(server.kind == .server)
            #expect(server.parentSpanID == Self.callerSpanID)
            #expect(server.string("http.route") == "/items/{id}")
            #expect(server.string("http.request.method") == "GET")
            #expect(server.int("http.response.status_code") == 200)

            let admission = try #require(receiver.spans(named: "spillway.admission").first)
            #expect(admission.parentSpanID == server.spanID)
            #expect(admission.string("spillway.admission.outcome") == "admitted")
            #expect(admission.string("spillway.limiter.name") == "http")
            #expect((admission.int("spillway.admission.limit") ?? 0) > 0)
            #expect(admission.int("spillway.admission.inflight") != nil)

            let pipeline = try #require(receiver.spans(named: "spillway.pipeline").first)
            #expect(pipeline.parentSpanID == server.spanID)
            #expect(pipeline.string("spillway.pipeline.name") == "catalog")
            let attempt = try #require(receiver.spans(named: "spillway.attempt").first)
            #expect(attempt.parentSpanID == pipeline.spanID)
            #expect(attempt.int("spillway.attempt.number") == 1)
            #expect(attempt.string("spillway.attempt.outcome") == "success")

            // The dependency got the trace's context, its parent one of the exported spans of the attempt.
            let sent = try #require(receiver.dependencyTraceparents.first ?? nil)
            let parts = sent.split(separator: "-").map(String.init)
            #expect(parts.count == 4 && parts[1] == Self.traceID && parts[3] == "01")
            let exportedIDs = Set(spans.map(\.spanID))
            #expect(parts.count == 4 && exportedIDs.contains(parts[2]))
        }
    }

    @Test func withSamplingOffOnlyTracesACallerSampledAreExported() async throws {
        try await withTracingCollector(samplingRatio: 0) { receiver, port in
            let client = ResilientHTTPClient(configuration: .init(name: "catalog"))
            try await service(calling: client, port: port).test(.router) { app in
                for _ in 0..<5 {
                    try await app.execute(uri: "/items/1", method: .get) { #expect($0.status == .ok) }
                }
                // A caller that sampled its trace: the parent-based sampler keeps it, and its arrival shows that
                // anything recorded before it would have been exported by now (one batch queue, in order).
                try await app.execute(
                    uri: "/items/2",
                    method: .get,
                    headers: [Self.traceparent: "00-\(Self.traceID)-\(Self.callerSpanID)-01"]
                ) { #expect($0.status == .ok) }
            }
            try await client.shutdown()
            await eventually("the sampled request's server span was exported") {
                receiver.spans(named: "/items/{id}").contains { $0.traceID == Self.traceID }
            }
            #expect(receiver.spans(named: "/items/{id}").count == 1)
            #expect(receiver.spans.allSatisfy { $0.traceID == Self.traceID })
            #expect(receiver.dependencyTraceparents.count == 6)
        }
    }
}
