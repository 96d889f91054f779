import CoreMetrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// A `Service` that measures how late each NIO event loop runs a task: every ``interval`` it schedules a task on
/// each loop and records, when the task runs, how long after its due time that was. A loop blocked by synchronous
/// work (a CPU-heavy handler, a blocking system call) shows as lateness of at least the block less one interval.
///
/// - `spillway_event_loop_lag_seconds`: a histogram (a swift-metrics `Timer`) of the lateness of every probe, all
///   loops together. With Prometheus, `GoodputMetricsConfiguration.configureBuckets(of:)` sets ``lagBuckets``.
/// - ``ProcessPressure/eventLoopLag``: the largest of each loop's latest lateness, for ``PressureWatermarks``.
///
/// Each loop always has one probe pending (the next is scheduled by the one that runs), so a block that starts at
/// any moment delays a pending probe.
///
/// ```swift
/// var app = Application(router: router)
/// app.addServices(EventLoopLagProbe(eventLoopGroup: app.eventLoopGroup))
/// ```
public struct EventLoopLagProbe: Service {
    /// The histogram's label.
    public static let lagLabel = "spillway_event_loop_lag_seconds"

    /// Buckets from 100 µs (a healthy loop) to 5 s (a loop that stalls requests).
    public static let lagBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5),
    ]

    /// The loops probed.
    public let eventLoopGroup: any EventLoopGroup
    /// The time between one probe running and the next being due. Default 100 ms.
    public let interval: Duration
    /// Where the lag goes for admission's watermarks.
    public let pressure: ProcessPressure
    private let histogram: Timer

    /// A probe of every loop of `eventLoopGroup`.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: The server's loops (Hummingbird: `app.eventLoopGroup`).
    ///   - interval: The time between probes on a loop; at least 1 ms.
    ///   - pressure: Where the lag goes for ``PressureWatermarks``; the shared instance by default.
    ///   - metricsFactory: Where the histogram goes; the global `MetricsSystem.factory` by default.
    public init(
        eventLoopGroup: any EventLoopGroup,
        interval: Duration = .milliseconds(100),
        pressure: ProcessPressure = .shared,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.interval = max(interval, .milliseconds(1))
        self.pressure = pressure
        self.histogram = .seconds(Self.lagLabel, factory: metricsFactory ?? MetricsSystem.factory)
    }

    /// Probes until graceful shutdown or cancellation, then cancels the pending probes.
    public func run() async throws {
        let loops = Array(eventLoopGroup.makeIterator())
        let probes = LoopProbes(
            count: loops.count,
            interval: TimeAmount.nanoseconds(ProcessPressure.nanoseconds(interval)),
            histogram: histogram,
            pressure: pressure
        )
        for (index, loop) in loops.enumerated() {
            probes.start(index, on: loop)
        }
        try? await gracefulShutdown()
        probes.stop()
        pressure.update(eventLoopLag: nil)
    }
}

/// The probes' shared state: each loop's latest lateness and whether to go on.
private final class LoopProbes: Sendable {
    private let latest: Mutex<[Int64]>
    private let stopped = Atomic<Bool>(false)
    private let pending: Mutex<[Scheduled<Void>?]>
    private let interval: TimeAmount
    private let histogram: Timer
    private let pressure: ProcessPressure

    init(count: Int, interval: TimeAmount, histogram: Timer, pressure: ProcessPressure) {
        self.latest = Mutex(Array(repeating: 0, count: count))
        self.pending = Mutex(Array(repeating: nil, count: count))
        self.interval = interval
        self.histogram = histogram
        self.pressure = pressure
    }

    func start(_ index: Int, on loop: any EventLoop) {
        schedule(index, on: loop, due: .now() + interval)
    }

    private func schedule(_ index: Int, on loop: any EventLoop, due: NIODeadline) {
        let scheduled = loop.scheduleTask(deadline: due) { [self] in
            let ran = NIODeadline.now()
            let lateness = max(0, (ran - due).nanoseconds)
            histogram.recordNanoseconds(lateness)
            let largest = latest.withLock { latest in
                latest[index] = lateness
                return latest.max() ?? lateness
            }
            pressure.update(eventLoopLag: .nanoseconds(largest))
            guard !stopped.load(ordering: .relaxed) else { return }
            schedule(index, on: loop, due: ran + interval)
        }
        pending.withLock { $0[index] = scheduled }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        for scheduled in pending.withLock({ $0 }) { scheduled?.cancel() }
    }
}
