import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// An OTLP/HTTP collector for tests: `POST /v1/traces` and `POST /v1/metrics` decode the protobuf export requests
/// and keep their spans and metrics; `GET /dependency` stands for a service Spillway's client calls, and keeps the
/// `traceparent` it got.
final class OTLPReceiver: Sendable {
    private struct State {
        var spans: [ExportedSpan] = []
        var metricExports: [[ExportedMetric]] = []
        var contentTypes: Set<String> = []
        var failures: [String] = []
        var dependencyTraceparents: [String?] = []
    }

    private let state = Mutex(State())

    /// Every span received so far, in arrival order.
    var spans: [ExportedSpan] { state.withLock { $0.spans } }
    /// The `Content-Type` of every export request.
    var contentTypes: Set<String> { state.withLock { $0.contentTypes } }
    /// Export requests that could not be decoded, with the reason.
    var failures: [String] { state.withLock { $0.failures } }
    /// The `traceparent` header of each `GET /dependency`.
    var dependencyTraceparents: [String?] { state.withLock { $0.dependencyTraceparents } }

    func spans(named name: String) -> [ExportedSpan] { spans.filter { $0.name == name } }

    /// The metric `name` as the latest export that carried it sent it.
    func latestMetric(named name: String) -> ExportedMetric? {
        state.withLock { $0.metricExports.reversed().lazy.compactMap { $0.first { $0.name == name } }.first }
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/traces") { request, _ -> Response in
            try await self.receive(request) { body in
                let spans = try ExportedSpan.decode(exportTraceServiceRequest: body)
                return { $0.spans += spans }
            }
        }
        router.post("/v1/metrics") { request, _ -> Response in
            try await self.receive(request) { body in
                let metrics = try ExportedMetric.decode(exportMetricsServiceRequest: body)
                return { $0.metricExports.append(metrics) }
            }
        }
        router.get("/dependency") { request, _ -> String in
            self.state.withLock { $0.dependencyTraceparents.append(request.headers[HTTPField.Name("traceparent")!]) }
            return "ok"
        }
    }

    /// Decodes an export request's body with `decode`, which returns how to store what it decoded, and answers as
    /// an OTLP/HTTP collector does: an empty protobuf response for full success, 400 for a body it cannot decode.
    private func receive(
        _ request: Request,
        _ decode: ([UInt8]) throws -> (inout State) -> Void
    ) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        let contentType = request.headers[.contentType] ?? "none"
        do {
            let store = try decode(Array(buffer: body))
            state.withLock { state in
                store(&state)
                state.contentTypes.insert(contentType)
            }
        } catch {
            state.withLock { $0.failures.append("\(request.uri.path) \(contentType): \(error)") }
            return Response(status: .badRequest)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
    }
}
