import NIOCore

/// What ``ResilientHTTPClient`` can know of AsyncHTTPClient's connection pool for one host: exchanges in flight,
/// and which of them wait for a connection.
///
/// AsyncHTTPClient exposes neither its connections nor its request queue. Its HTTP/1.1 pool opens at most
/// `concurrentHTTP1ConnectionsPerHostSoftLimit` connections to a host and queues further requests in arrival order,
/// so an exchange that starts while `limit` others run waits until one of them ends, and the oldest waiter goes
/// first. This model replays that: the wait it reports is the time from an exchange's start to the end of the
/// exchange whose connection it inherits. It is an estimate: it does not see exchanges that other code sends
/// through the same `HTTPClient`, nor AsyncHTTPClient's overflow connections (requests pinned to an event loop);
/// over HTTP/2 (one multiplexed connection per host) nothing waits, whatever the model says.
struct HostConnectionQueue: Sendable {
    /// One exchange, from ``enter(now:)`` to ``leave(_:now:)``.
    struct Ticket: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    /// A wait that ended: an exchange got its connection (or gave up waiting) after `nanoseconds`.
    struct Wait: Sendable, Equatable {
        var nanoseconds: Int64
    }

    private struct Waiting {
        var ticket: Ticket
        var since: Int64
    }

    /// The connections AsyncHTTPClient keeps to the host (at least 1).
    let limit: Int
    /// Exchanges that hold a connection.
    private(set) var running = 0
    private var waiting = CircularBuffer<Waiting>()
    private var nextID: UInt64 = 0

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Exchanges waiting for a connection.
    var waiters: Int { waiting.count }
    /// Exchanges in flight: running and waiting.
    var inFlight: Int { running + waiting.count }

    /// An exchange starts at `now` (nanoseconds on any one timeline); returns its ticket and, when a connection was
    /// free, its (zero) wait.
    mutating func enter(now: Int64) -> (Ticket, Wait?) {
        nextID &+= 1
        let ticket = Ticket(id: nextID)
        if running < limit {
            running += 1
            return (ticket, Wait(nanoseconds: 0))
        }
        waiting.append(Waiting(ticket: ticket, since: now))
        return (ticket, nil)
    }

    /// The exchange of `ticket` ended at `now`; returns the wait that ended with it: the oldest waiter's, which
    /// inherits the freed connection, or the exchange's own when it gave up (cancelled) while waiting.
    mutating func leave(_ ticket: Ticket, now: Int64) -> Wait? {
        if let index = waiting.firstIndex(where: { $0.ticket == ticket }) {
            let gaveUp = waiting.remove(at: index)
            return Wait(nanoseconds: max(0, now - gaveUp.since))
        }
        guard let next = waiting.popFirst() else {
            running = max(0, running - 1)
            return nil
        }
        return Wait(nanoseconds: max(0, now - next.since))
    }
}
