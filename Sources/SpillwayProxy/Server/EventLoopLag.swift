import NIOCore
import Synchronization

/// How late one of the proxy's own event loops runs its work: the proxy's own saturation, measured apart from the
/// backend's.
///
/// A probe scheduled every ``interval`` records how much later than asked it ran; the smoothed lateness is what any
/// event on that loop waits behind the work already there. When the proxy is short of CPU (more connections than its
/// threads can serve, or a machine busy with other work), that wait grows with every client, whatever the backend
/// does, and it is part of every round trip the proxy measures: the upstream's answer sits in the socket until the
/// loop reaches it. ``UpstreamLatencyFilter`` uses this to keep such round trips away from the admission limit, as
/// Envoy keeps its overload manager (the proxy's own resources) apart from adaptive concurrency (the backend).
///
/// ```swift
/// let lag = EventLoopLag(eventLoop: loop)
/// lag.start()
/// let waited = lag.smoothedNanoseconds   // read on any thread
/// lag.stop()
/// ```
final class EventLoopLag: Sendable {
    /// How often the probe runs (100 wake-ups a second per loop when idle).
    static let interval: Int64 = 10_000_000
    /// The weight of a lower probe in the smoothed lateness (it decays over about 10 probes, 100 ms: one limit
    /// window); a higher one is taken at once.
    static let weight: Int64 = 5

    let eventLoop: any EventLoop
    private let smoothed = Atomic<Int64>(0)
    private let stopped = Atomic<Bool>(false)
    private let scheduled = Mutex<Scheduled<Void>?>(nil)

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The smoothed lateness of the loop's probe, in nanoseconds (0 before the first probe).
    var smoothedNanoseconds: Int64 { smoothed.load(ordering: .relaxed) }

    func start() {
        schedule(at: NIODeadline.now() + .nanoseconds(Self.interval))
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        scheduled.withLock { $0.take() }?.cancel()
    }

    /// Folds one probe's lateness into the smoothed value: a rise counts at once, a fall slowly. Saturation has to
    /// show before the round trips it inflates reach the limit (a slowly rising average let the first 100 ms of a
    /// closed-loop load through, enough for the limit to fall from 1 000 to 6 under `scripts/bench-proxy`).
    func record(latenessNanoseconds lateness: Int64) {
        let previous = smoothed.load(ordering: .relaxed)
        let lateness = max(0, lateness)
        let next = lateness >= previous ? lateness : previous + (lateness - previous) / Self.weight
        smoothed.store(next, ordering: .relaxed)
    }

    private func schedule(at target: NIODeadline) {
        guard !stopped.load(ordering: .relaxed) else { return }
        let task = eventLoop.scheduleTask(deadline: target) { [self] in
            let now = NIODeadline.now()
            record(latenessNanoseconds: (now - target).nanoseconds)
            schedule(at: now + .nanoseconds(Self.interval))
        }
        scheduled.withLock { $0 = task }
        if stopped.load(ordering: .relaxed) { task.cancel() }
    }
}
