import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Spillway

/// The admin listener: `/metrics` (Prometheus text), `/live`, `/ready` (503 while draining), and `/routes`, a
/// JSON view of every route's current limit, requests in flight and queue, and every instance's state.
///
/// It runs on its own port, so that scrapes and health checks never compete with proxied traffic (and are never
/// shed by it).
enum AdminServer {
    static func bind(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        core: ProxyServerCore,
        registry: PrometheusCollectorRegistry
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(core: core, registry: registry))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Answers the admin routes.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: ProxyServerCore
    private let registry: PrometheusCollectorRegistry
    private var request: HTTPRequestHead?

    init(core: ProxyServerCore, registry: PrometheusCollectorRegistry) {
        self.core = core
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = respond(to: head)
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            var headers = HTTPHeaders()
            if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(buffer.readableBytes))
            headers.add(name: "cache-control", value: "no-store")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                promise: nil
            )
            if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
            if head.isKeepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }

    private func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain; charset=utf-8", Array("GET only\n".utf8))
        }
        switch path {
        case "/metrics":
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 * 1024)
            registry.emit(into: &bytes)
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", bytes)
        case "/live":
            return (.ok, "text/plain; charset=utf-8", Array("live\n".utf8))
        case "/ready":
            return core.isDraining
                ? (.serviceUnavailable, "text/plain; charset=utf-8", Array("draining\n".utf8))
                : (.ok, "text/plain; charset=utf-8", Array("ready\n".utf8))
        case "/routes":
            return (
                .ok, "application/json; charset=utf-8",
                Array(Self.routesJSON(core.runtime, now: core.clock.nanosecondsSinceOrigin).utf8)
            )
        default:
            return (
                .notFound, "text/plain; charset=utf-8", Array("not found: try /metrics, /ready, /live, /routes\n".utf8)
            )
        }
    }

    /// Every route with its limiter's state and its cluster's instances.
    static func routesJSON(_ runtime: ProxyRuntime, now: Int64) -> String {
        var routes: [String] = []
        for route in runtime.routeList {
            var fields = [
                "\"name\":\"\(route.name)\"",
                "\"cluster\":\"\(route.cluster.configuration.name)\"",
                "\"path_prefix\":\"\(jsonEscaped(route.configuration.pathPrefix))\"",
            ]
            if let limiter = route.limiter {
                let snapshot = limiter.snapshot
                var admission = [
                    "\"limit\":\(snapshot.limit)", "\"inflight\":\(snapshot.inflight)",
                    "\"queue_depth\":\(snapshot.queueDepth)", "\"overloaded\":\(snapshot.isOverloaded)",
                ]
                if let latency = snapshot.smoothedLatency {
                    admission.append("\"latency_ms\":\(Double(latency.nanoseconds) / 1e6)")
                }
                admission.append("\"round_trip_ms\":\(Double(route.latencyFilter.smoothedNanoseconds) / 1e6)")
                admission.append("\"samples_discarded\":\(route.latencyFilter.discarded)")
                fields.append("\"admission\":{\(admission.joined(separator: ","))}")
            } else {
                fields.append("\"admission\":null")
            }
            let instances = route.cluster.instances.map { instance in
                "{\"address\":\"\(jsonEscaped(instance.label))\",\"inflight\":\(instance.inflight.load(ordering: .relaxed)),"
                    + "\"held_abandoned\":\(instance.heldAbandoned.load(ordering: .relaxed)),"
                    + "\"ejected\":\(instance.isEjected(atNanoseconds: now)),"
                    + "\"healthy\":\(instance.healthy.load(ordering: .relaxed))}"
            }
            fields.append("\"instances\":[\(instances.joined(separator: ","))]")
            routes.append("{\(fields.joined(separator: ","))}")
        }
        return "{\"generation\":\(runtime.generation),\"routes\":[\(routes.joined(separator: ","))]}\n"
    }

    private static func jsonEscaped(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
    }
}
