import CoreMetrics
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Spillway

/// A running `spillway proxy`: the client listener, the admin listener and the configuration in force.
///
/// Start one with a configuration value (the lab starts one as an arm, on a port of its choosing), reload it with a
/// new configuration without dropping a connection or a request in flight, and drain it: new connections are
/// refused, in-flight requests finish, idle keep-alive connections close.
///
/// ```swift
/// let configuration = try ProxyConfiguration(contentsOfFile: "proxy.yaml")
/// let proxy = try await ProxyServer.start(configuration: configuration, port: 0)   // 0: a free port
/// print("proxy on \(proxy.port), admin on \(proxy.adminPort ?? 0)")
/// try await proxy.reload(try ProxyConfiguration(contentsOfFile: "proxy.yaml"))
/// await proxy.drain()
/// ```
public final class ProxyServer: Sendable {
    /// The port clients connect to.
    public let port: Int
    /// The admin listener's port, if it runs.
    public let adminPort: Int?
    /// Where the proxy's metrics are collected (served on the admin listener's `/metrics`).
    public let registry: PrometheusCollectorRegistry

    let core: ProxyServerCore
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let eventLoops: [any EventLoop]
    private let listener: any Channel
    private let admin: (any Channel)?
    private let metricsFactory: any MetricsFactory
    private let logger: Logger

    private init(
        port: Int,
        adminPort: Int?,
        registry: PrometheusCollectorRegistry,
        core: ProxyServerCore,
        group: any EventLoopGroup,
        ownsGroup: Bool,
        eventLoops: [any EventLoop],
        listener: any Channel,
        admin: (any Channel)?,
        metricsFactory: any MetricsFactory,
        logger: Logger
    ) {
        self.port = port
        self.adminPort = adminPort
        self.registry = registry
        self.core = core
        self.group = group
        self.ownsGroup = ownsGroup
        self.eventLoops = eventLoops
        self.listener = listener
        self.admin = admin
        self.metricsFactory = metricsFactory
        self.logger = logger
    }

    /// The configuration in force.
    public var configuration: ProxyConfiguration { core.runtime.configuration }

    /// Starts a proxy.
    ///
    /// - Parameters:
    ///   - configuration: Routes, clusters, limits.
    ///   - port: Overrides the port of ``ProxyConfiguration/listen`` (`0`: a free port, see ``port``).
    ///   - adminPort: Overrides the admin listener's port (`0`: a free port); ignored when the admin listener is off.
    ///   - eventLoopGroup: The loops to run on; by default the proxy creates its own with
    ///     ``ProxyConfiguration/threads`` threads and shuts it down when it stops.
    ///   - registry: Where metrics go; by default a new registry of its own.
    ///   - logger: Where the proxy logs.
    ///
    /// Each request gets a server span, and each upstream attempt a client span whose W3C context the upstream
    /// receives, in the tracer active when `start` is called (the one bootstrapped with swift-distributed-tracing's
    /// `InstrumentationSystem`, or one bound with `withTracer` around the call); with none, no span is made and
    /// a caller's `traceparent` is forwarded as it came.
    public static func start(
        configuration: ProxyConfiguration,
        port: Int? = nil,
        adminPort: Int? = nil,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger = Logger(label: "spillway.proxy")
    ) async throws -> ProxyServer {
        let ownsGroup = eventLoopGroup == nil
        let group =
            eventLoopGroup
            ?? MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads ?? System.coreCount)
        var eventLoops: [any EventLoop] = []
        for loop in group.makeIterator() { eventLoops.append(loop) }
        let metricsFactory = PrometheusMetricsFactory(registry: registry)
        do {
            let runtime = try ProxyRuntime.build(
                configuration,
                previous: nil,
                eventLoops: eventLoops,
                eventLoopGroup: group,
                metricsFactory: metricsFactory,
                logger: logger
            )
            let core = ProxyServerCore(
                runtime: runtime,
                logger: logger,
                clock: ContinuousClock(),
                metricsFactory: metricsFactory,
                eventLoops: eventLoops,
                tracer: SpillwayTracing.tracer
            )
            let listener = try await bindListener(
                host: configuration.listen.host,
                port: port ?? configuration.listen.port,
                group: group,
                core: core
            )
            var adminChannel: (any Channel)? = nil
            if let admin = configuration.admin {
                do {
                    adminChannel = try await AdminServer.bind(
                        host: admin.host,
                        port: adminPort ?? admin.port,
                        group: group,
                        core: core,
                        registry: registry
                    )
                } catch {
                    try? await listener.close()
                    throw error
                }
            }
            runtime.start(comparedWith: nil)
            core.startLagProbes()
            let server = ProxyServer(
                port: listener.localAddress?.port ?? 0,
                adminPort: adminChannel?.localAddress?.port,
                registry: registry,
                core: core,
                group: group,
                ownsGroup: ownsGroup,
                eventLoops: eventLoops,
                listener: listener,
                admin: adminChannel,
                metricsFactory: metricsFactory,
                logger: logger
            )
            logger.info(
                "spillway proxy listening",
                metadata: [
                    "listen": "\(configuration.listen.host):\(server.port)",
                    "admin": "\(server.adminPort.map(String.init) ?? "off")",
                    "routes": "\(configuration.routes.map(\.name).joined(separator: ","))",
                ]
            )
            return server
        } catch {
            if ownsGroup { try? await group.shutdownGracefully() }
            throw error
        }
    }

    /// Puts `configuration` in force: new requests use it, requests in flight finish on the old one, and no
    /// connection is dropped. Unchanged clusters, limiters and rate-limit policies keep their state.
    ///
    /// - Throws: ``ProxyConfigurationError`` (`not_reloadable`) when the listen or admin address or the thread count
    ///   changed — a restart is needed for those — or when the new configuration cannot be built; the configuration
    ///   in force stays.
    public func reload(_ configuration: ProxyConfiguration) async throws(ProxyConfigurationError) {
        let current = core.runtime
        let old = current.configuration
        for (changed, key) in [
            (old.listen != configuration.listen, "listen"), (old.admin != configuration.admin, "admin"),
            (old.threads != configuration.threads, "threads"),
        ] where changed {
            throw ProxyConfigurationError(
                .notReloadable,
                key: key,
                "cannot change on reload; restart the proxy to change it (the running configuration stays)"
            )
        }
        let next = try ProxyRuntime.build(
            configuration,
            previous: current,
            eventLoops: eventLoops,
            eventLoopGroup: group,
            metricsFactory: metricsFactory,
            logger: logger
        )
        next.start(comparedWith: current)
        let replaced = core.swap(next)
        await replaced.retire(replacedBy: next)
        logger.info("configuration reloaded", metadata: ["generation": "\(next.generation)"])
    }

    /// Reads `path` and reloads it; a file with a mistake leaves the running configuration in force.
    /// - Throws: ``ProxyConfigurationError`` saying why the file was not loaded.
    public func reload(contentsOfFile path: String) async throws(ProxyConfigurationError) {
        try await reload(try ProxyConfiguration(contentsOfFile: path))
    }

    /// Graceful drain: `/ready` answers 503, the listener stops accepting, idle connections close, requests in
    /// flight finish (their connections close after the response), and whatever remains after
    /// ``ProxyConfiguration/Timeouts/drain`` is closed. Then the proxy stops.
    public func drain() async {
        let connections = core.beginDrain()
        try? await listener.close()
        for channel in connections {
            channel.pipeline.fireUserInboundEventTriggered(ProxyDrainEvent())
        }
        let limit = ContinuousClock.now + configuration.timeouts.drain
        while core.openConnectionCount > 0 && ContinuousClock.now < limit {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await stop()
    }

    /// Stops at once: closes the listeners and every connection.
    public func stop() async {
        _ = core.beginDrain()
        try? await listener.close()
        for channel in core.beginDrain() { try? await channel.close() }
        try? await admin?.close()
        core.stopLagProbes()
        await core.runtime.retire(replacedBy: nil)
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    /// Connections open now.
    public var openConnections: Int { core.openConnectionCount }

    private static func bindListener(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        core: ProxyServerCore
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // One handler: it reads and writes HTTP/1.1 itself (ClientRequestParser,
                    // ClientResponseEncoder).
                    try channel.pipeline.syncOperations.addHandler(ProxyConnectionHandler(core: core))
                    core.opened(channel)
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// Sent down every client connection when the proxy drains.
struct ProxyDrainEvent: Sendable {}
