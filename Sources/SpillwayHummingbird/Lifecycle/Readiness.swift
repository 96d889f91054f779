import HTTPTypes
import Hummingbird
import Synchronization

/// Whether the service wants new traffic: `ready` until a graceful shutdown starts, then `draining`.
///
/// A ``DrainService`` flips it when the `ServiceGroup` begins its graceful shutdown (SIGTERM); a readiness route
/// (``Hummingbird/RouterMethods/addReadiness(path:readiness:)``) then answers `503`, so load balancers and
/// Kubernetes stop sending new requests while in-flight ones finish.
///
/// ```swift
/// let readiness = Readiness()
/// router.addReadiness(readiness: readiness)       // GET /ready: 200 "ready" or 503 "draining"
/// ```
public final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)

    /// A readiness that starts ready.
    public init() {}

    /// Whether the service accepts new traffic.
    public var isReady: Bool { !draining.load(ordering: .acquiring) }

    /// Reports not-ready from now on (there is no way back: a draining process exits).
    public func markDraining() {
        draining.store(true, ordering: .releasing)
    }
}

extension RouterMethods {
    /// Adds a `GET` readiness route (default `/ready`): `200 ready` while `readiness` is ready, `503 draining`
    /// once a graceful shutdown started. Register it before Spillway's middleware so probes are never shed.
    @discardableResult
    public func addReadiness(path: RouterPath = "/ready", readiness: Readiness) -> Self {
        get(path) { _, _ -> Response in
            let ready = readiness.isReady
            let body = ByteBuffer(string: ready ? "ready" : "draining")
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [
                    .contentType: "text/plain; charset=utf-8",
                    .contentLength: String(body.readableBytes),
                    .cacheControl: "no-store",
                ],
                body: ResponseBody(byteBuffer: body)
            )
        }
    }
}
