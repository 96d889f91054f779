import NIOCore
import NIOHTTP1
import NIOPosix

/// A cluster's idle keep-alive connections on one event loop, and the way new ones are opened.
///
/// Each event loop has its own pool, so a client connection only ever uses upstream connections of its own loop:
/// no lock, no thread hop between the two sides of an exchange. Idle connections are reused newest first (the
/// warmest, and the least likely to have been closed by the upstream), and closed after the cluster's
/// ``ProxyConfiguration/Cluster/Pool/idleTimeout``.
///
/// `@unchecked Sendable`: the pool is created on any thread but its mutable state (`idle`, `random`, `retired`,
/// `held`) is only touched on `eventLoop` — every method asserts it, and the cluster reaches it only through
/// `eventLoop.execute` or from a handler of the same loop.
final class UpstreamConnectionPool: @unchecked Sendable {
    /// A connection ready now, or one being opened.
    enum Lease {
        case ready(UpstreamConnection)
        /// A channel being connected; ``adopt(_:instance:)`` turns it into a connection on the loop.
        case opening(EventLoopFuture<any Channel>)
    }

    let eventLoop: any EventLoop
    private let configuration: ProxyConfiguration.Cluster
    private var idle: [[UpstreamConnection]]
    private var retired = false
    /// Abandoned attempts whose instance is still working (``AbandonedAttempt``).
    private var held: [ObjectIdentifier: AbandonedAttempt] = [:]
    private var sweeper: RepeatedTask?
    /// xorshift64 state for the balancer's random picks on this loop.
    private var random: UInt64

    init(eventLoop: any EventLoop, configuration: ProxyConfiguration.Cluster, seed: UInt64) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.idle = Array(repeating: [], count: configuration.instances.count)
        self.random = seed | 1
    }

    /// Starts closing connections idle for longer than the idle timeout.
    func startSweeping() {
        let period = max(Duration.seconds(1), configuration.pool.idleTimeout / 2)
        eventLoop.execute {
            self.sweeper = self.eventLoop.scheduleRepeatedTask(
                initialDelay: .nanoseconds(period.nanoseconds),
                delay: .nanoseconds(period.nanoseconds)
            ) { _ in
                self.closeExpired(now: .now())
            }
        }
    }

    /// A random number below `bound` (for power-of-two choices).
    func nextRandom(below bound: Int) -> Int {
        eventLoop.assertInEventLoop()
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return Int(random % UInt64(bound))
    }

    /// An idle connection to `instance`, or a new one.
    func lease(_ instance: UpstreamInstance) -> Lease {
        eventLoop.assertInEventLoop()
        let now = NIODeadline.now()
        let timeout = TimeAmount.nanoseconds(configuration.pool.idleTimeout.nanoseconds)
        while let connection = idle[instance.index].popLast() {
            if connection.isActive && now - connection.idleSince < timeout {
                return .ready(connection)
            }
            connection.close()
        }
        return .opening(connect(to: instance))
    }

    /// Takes back a connection whose exchange finished cleanly; closes it when the pool is full or retired.
    func release(_ connection: UpstreamConnection) {
        eventLoop.assertInEventLoop()
        connection.detach()
        connection.exchangesServed += 1
        guard !retired, connection.isActive, idle[connection.instance.index].count < configuration.pool.maxIdlePerThread
        else {
            connection.close()
            return
        }
        connection.idleSince = .now()
        idle[connection.instance.index].append(connection)
    }

    /// Keeps `attempt` until it ends (``forget(_:)``), so that retiring the pool ends it too; `false` when the pool
    /// is retired already.
    func hold(_ attempt: AbandonedAttempt) -> Bool {
        eventLoop.assertInEventLoop()
        guard !retired else { return false }
        held[ObjectIdentifier(attempt)] = attempt
        return true
    }

    func forget(_ attempt: AbandonedAttempt) {
        eventLoop.assertInEventLoop()
        held[ObjectIdentifier(attempt)] = nil
    }

    /// Closes every idle connection, every held abandoned attempt's, and every connection released from now on.
    func retire() {
        eventLoop.execute {
            self.retired = true
            self.sweeper?.cancel()
            self.sweeper = nil
            for connections in self.idle {
                for connection in connections { connection.close() }
            }
            self.idle = Array(repeating: [], count: self.idle.count)
            let attempts = self.held.values
            self.held = [:]
            for attempt in attempts { attempt.end() }
        }
    }

    /// Idle connections per instance (for tests and the admin page).
    var idleCount: Int {
        eventLoop.assertInEventLoop()
        return idle.reduce(0) { $0 + $1.count }
    }

    private func remove(_ connection: UpstreamConnection) {
        let index = connection.instance.index
        idle[index].removeAll { $0 === connection }
    }

    /// Drops the connections idle for longer than the timeout (or already closed) from the pool, then closes them.
    ///
    /// The close comes after the lists are updated: closing a channel on its own loop fires `channelInactive` at
    /// once, whose idle-close hook removes the connection from `idle` — done inside `removeAll`, that was a second
    /// modification of `idle` during the first, which the runtime's exclusivity check stops with a crash (seen
    /// under `scripts/bench-proxy`: the sweeper ran while connections from a busy second expired).
    func closeExpired(now: NIODeadline) {
        eventLoop.assertInEventLoop()
        let timeout = TimeAmount.nanoseconds(configuration.pool.idleTimeout.nanoseconds)
        var expired: [UpstreamConnection] = []
        for index in idle.indices {
            idle[index].removeAll { connection in
                guard now - connection.idleSince >= timeout || !connection.isActive else { return false }
                expired.append(connection)
                return true
            }
        }
        for connection in expired {
            connection.handler.onIdleClose = nil
            connection.close()
        }
    }

    /// The connection over a channel that ``lease(_:)`` opened.
    func adopt(_ channel: any Channel, instance: UpstreamInstance) throws -> UpstreamConnection {
        eventLoop.assertInEventLoop()
        let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
        let connection = UpstreamConnection(channel: channel, instance: instance, handler: handler)
        // Set once for the connection's life: the handler calls it only when the connection closes while no
        // exchange is attached (idle in the pool). A closure made at every release cost three allocations a request.
        // Strong captures: the handler drops the closure when its channel closes (every connection's does), which
        // ends the cycle through the connection. Weak ones gave the pool and every connection a side table, and
        // each retain and release of them, several a request, took the runtime's slow path.
        handler.onIdleClose = { self.remove(connection) }
        return connection
    }

    private func connect(to instance: UpstreamInstance) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(to: instance.socketAddress)
    }
}
