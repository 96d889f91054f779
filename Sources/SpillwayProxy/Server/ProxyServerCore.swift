import CoreMetrics
import Logging
import NIOCore
import Spillway
import Synchronization
import Tracing

/// What every connection of one proxy shares: the configuration in force, the open connections (for drain), and
/// server-wide metrics.
final class ProxyServerCore: Sendable {
    private let current: Mutex<ProxyRuntime>
    let logger: Logger
    let clock: any SpillwayClock
    /// Where the exchanges' spans go: the tracer active when the proxy started, or `nil` (no spans).
    let tracer: (any Tracer)?
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let draining = Atomic<Bool>(false)
    private let openConnections: Gauge
    private let acceptedConnections: Counter
    /// The lateness of each event loop's work, by loop (see ``EventLoopLag``).
    private let loopLags: [ObjectIdentifier: EventLoopLag]
    /// Each event loop's deferred flushes (see ``FlushBatch``).
    private let flushBatches: [ObjectIdentifier: FlushBatch]

    init(
        runtime: ProxyRuntime,
        logger: Logger,
        clock: any SpillwayClock,
        metricsFactory: any MetricsFactory,
        eventLoops: [any EventLoop],
        tracer: (any Tracer)? = nil
    ) {
        self.tracer = tracer
        var loopLags: [ObjectIdentifier: EventLoopLag] = [:]
        for loop in eventLoops { loopLags[ObjectIdentifier(loop)] = EventLoopLag(eventLoop: loop) }
        self.loopLags = loopLags
        var batches: [ObjectIdentifier: FlushBatch] = [:]
        for loop in eventLoops { batches[ObjectIdentifier(loop)] = FlushBatch(eventLoop: loop) }
        self.flushBatches = batches
        self.current = Mutex(runtime)
        self.logger = logger
        self.clock = clock
        self.openConnections = Gauge(label: "spillway_proxy_open_connections", factory: metricsFactory)
        self.acceptedConnections = Counter(label: "spillway_proxy_connections_total", factory: metricsFactory)
    }

    /// Starts measuring how late each event loop runs.
    func startLagProbes() {
        for lag in loopLags.values { lag.start() }
    }

    func stopLagProbes() {
        for lag in loopLags.values { lag.stop() }
    }

    /// The smoothed lateness of `eventLoop`'s work in nanoseconds (0 for a loop the proxy does not run on).
    func loopLagNanoseconds(of eventLoop: any EventLoop) -> Int64 {
        loopLags[ObjectIdentifier(eventLoop)]?.smoothedNanoseconds ?? 0
    }

    /// The ``FlushBatch`` of `eventLoop` (`nil` for a loop the proxy does not run on: its flushes are not deferred).
    func flushBatch(of eventLoop: any EventLoop) -> FlushBatch? {
        flushBatches[ObjectIdentifier(eventLoop)]
    }

    /// The configuration in force; each request keeps the one it started with.
    var runtime: ProxyRuntime { current.withLock { $0 } }

    /// Puts `runtime` in force and returns the one it replaces.
    func swap(_ runtime: ProxyRuntime) -> ProxyRuntime {
        current.withLock { current in
            let previous = current
            current = runtime
            return previous
        }
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Starts draining; returns the connections open at that moment.
    func beginDrain() -> [any Channel] {
        draining.store(true, ordering: .relaxed)
        return connections.withLock { Array($0.values) }
    }

    func opened(_ channel: any Channel) {
        let count = connections.withLock { connections in
            connections[ObjectIdentifier(channel)] = channel
            return connections.count
        }
        acceptedConnections.increment()
        openConnections.record(count)
        channel.closeFuture.whenComplete { _ in
            let count = self.connections.withLock { connections in
                connections.removeValue(forKey: ObjectIdentifier(channel))
                return connections.count
            }
            self.openConnections.record(count)
        }
    }

    /// Connections open now.
    var openConnectionCount: Int { connections.withLock { $0.count } }
}
