import NIOCore

/// Something whose flush can wait for the end of its event loop's current batch of events.
protocol DeferredFlush: AnyObject {
    /// Flushes what was written since the flush was deferred.
    func flushDeferred()
}

/// The flushes of one event loop, deferred to the end of its current batch of I/O events: requests written upstream
/// and the ends of responses written to clients go out together once the loop has handled every event it woke for.
///
/// A flush is a `write` system call that wakes the process reading the other end (the upstream, or the client). On a
/// loaded machine with fewer cores than busy threads, that wake-up often preempts the loop in the middle of its batch,
/// and a loop that flushed after each exchange was switched out about twice as often per request as HAProxy (0.38–0.50
/// context switches a request against 0.23–0.26). Deferred, `scripts/bench-proxy` read 1.12× the requests a second
/// at 0.93× the CPU each at 64 clients, 1.19× at 0.89× at 256 (`docs/benchmarks.md`, the proxy's throughput).
///
/// The batch ends with one task on the loop (`execute` from the loop itself queues it behind the events being
/// handled, without a wake-up), which flushes every connection that asked, in order. Confined to its loop.
final class FlushBatch: @unchecked Sendable {
    private let eventLoop: any EventLoop
    @exclusivity(unchecked) private var pending: [any DeferredFlush] = []
    @exclusivity(unchecked) private var running: [any DeferredFlush] = []
    private var scheduled = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Flushes `item` at the end of the current batch (each item is added at most once per batch by its owner).
    func add(_ item: any DeferredFlush) {
        eventLoop.assertInEventLoop()
        pending.append(item)
        guard !scheduled else { return }
        scheduled = true
        eventLoop.execute { self.run() }
    }

    private func run() {
        scheduled = false
        swap(&pending, &running)
        for item in running { item.flushDeferred() }
        running.removeAll(keepingCapacity: true)
    }
}
