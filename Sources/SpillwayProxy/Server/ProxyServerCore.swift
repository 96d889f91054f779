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
    /// How many times a runtime was put in force: a connection keeps the runtime it read with this count and reads
    /// it again (under the lock) only when the count moved (see ``runtime(after:)``).
    private let swaps = Atomic<Int>(0)
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

    /// How late `eventLoop`'s work runs (`nil` for a loop the proxy does not run on).
    func loopLag(of eventLoop: any EventLoop) -> EventLoopLag? {
        loopLags[ObjectIdentifier(eventLoop)]
    }

    /// The ``FlushBatch`` of `eventLoop` (`nil` for a loop the proxy does not run on: its flushes are not deferred).
    func flushBatch(of eventLoop: any EventLoop) -> FlushBatch? {
        flushBatches[ObjectIdentifier(eventLoop)]
    }

    /// The configuration in force; each request keeps the one it started with.
    var runtime: ProxyRuntime { current.withLock { $0 } }

    /// The configuration in force, with the swap count it was read at, or `nil` when `cached` (read at `swapCount`)
    /// is still in force: one atomic load instead of a lock, a retain and a release for every request of a
    /// connection.
    func runtime(after swapCount: Int) -> (runtime: ProxyRuntime, swapCount: Int)? {
        // The count is raised after the runtime is stored (both under the lock), so a count read here that equals
        // the cached one means no swap has finished since the cached runtime was read.
        if swaps.load(ordering: .acquiring) == swapCount { return nil }
        return runtimeAndSwapCount
    }

    /// The configuration in force and the swap count it was put in force at.
    var runtimeAndSwapCount: (runtime: ProxyRuntime, swapCount: Int) {
        current.withLock { current in (current, swaps.load(ordering: .relaxed)) }
    }

    /// Puts `runtime` in force and returns the one it replaces.
    func swap(_ runtime: ProxyRuntime) -> ProxyRuntime {
        current.withLock { current in
            let previous = current
            current = runtime
            swaps.wrappingAdd(1, ordering: .releasing)
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
