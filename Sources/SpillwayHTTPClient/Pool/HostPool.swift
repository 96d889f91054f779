import Spillway
import Synchronization

/// The connection pool of one host as ``ResilientHTTPClient`` sees it: every exchange with the host passes
/// through ``exchange(_:)``, which keeps ``HostConnectionQueue`` and the host's instruments current.
final class HostPool: Sendable {
    private let queue: Mutex<HostConnectionQueue>
    private let instruments: HostPoolMetrics.Instruments
    private let clock: any SpillwayClock

    init(limit: Int, instruments: HostPoolMetrics.Instruments, clock: any SpillwayClock) {
        self.queue = Mutex(HostConnectionQueue(limit: limit))
        self.instruments = instruments
        self.clock = clock
    }

    /// Exchanges in flight to the host and those of them waiting for a connection (for tests and diagnostics).
    var counts: (inFlight: Int, waiters: Int) {
        queue.withLock { ($0.inFlight, $0.waiters) }
    }

    /// Runs one exchange with the host, counted from its start to its end (thrown errors and cancellation too).
    func exchange<Value>(_ body: () async throws -> Value) async throws -> Value {
        let ticket = enter()
        defer { leave(ticket) }
        return try await body()
    }

    private func enter() -> HostConnectionQueue.Ticket {
        let now = clock.nanosecondsSinceOrigin
        let (ticket, wait) = queue.withLock { queue in
            let entered = queue.enter(now: now)
            instruments.change(inFlight: 1, waiters: entered.1 == nil ? 1 : 0)
            return entered
        }
        if let wait { instruments.recordWait(nanoseconds: wait.nanoseconds) }
        return ticket
    }

    private func leave(_ ticket: HostConnectionQueue.Ticket) {
        let now = clock.nanosecondsSinceOrigin
        let ended = queue.withLock { queue in
            let ended = queue.leave(ticket, now: now)
            instruments.change(inFlight: -1, waiters: ended == nil ? 0 : -1)
            return ended
        }
        if let ended { instruments.recordWait(nanoseconds: ended.nanoseconds) }
    }
}
