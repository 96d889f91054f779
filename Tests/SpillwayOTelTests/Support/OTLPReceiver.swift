import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// An OTLP/HTTP collector for tests: `POST /v1/traces` decodes the protobuf `ExportTraceServiceRequest` and keeps
/// its spans; `GET /dependency` stands for a service Spillway's client calls, and keeps the `traceparent` it got.
final class OTLPReceiver: Sendable {
    private struct State {
        var spans: [ExportedSpan] = []
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

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let contentType = request.headers[.contentType] ?? "none"
            do {
                let spans = try ExportedSpan.decode(exportTraceServiceRequest: Array(buffer: body))
                self.state.withLock {
                    $0.spans += spans
                    $0.contentTypes.insert(contentType)
                }
            } catch {
                self.state.withLock { $0.failures.append("\(contentType): \(error)") }
                return Response(status: .badRequest)
            }
            // An empty ExportTraceServiceResponse: full success (OTLP/HTTP specification).
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        router.get("/dependency") { request, _ -> String in
            self.state.withLock { $0.dependencyTraceparents.append(request.headers[HTTPField.Name("traceparent")!]) }
            return "ok"
        }
    }
}
