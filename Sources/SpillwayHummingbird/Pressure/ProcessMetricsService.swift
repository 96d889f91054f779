import CoreMetrics
import ServiceLifecycle
import Spillway

/// A `Service` that samples the process's resources every ``interval`` and publishes them under the Prometheus
/// process-collector names, through swift-metrics, and into a ``ProcessPressure`` for ``PressureWatermarks``.
///
/// | metric | type | source |
/// |---|---|---|
/// | `process_open_fds` | gauge | entries of `/proc/self/fd` (Linux) |
/// | `process_max_fds` | gauge | `getrlimit(RLIMIT_NOFILE)`, soft limit |
/// | `process_resident_memory_bytes` | gauge | `/proc/self/statm` (Linux) |
/// | `process_cpu_seconds_total` | gauge (a running total; `rate()` reads it) | `getrusage(RUSAGE_SELF)` |
///
/// A reading the platform does not provide (``ProcessSample``) is not published at all, so a dashboard shows
/// "no data" rather than a false zero. Add it to the application's services:
///
/// ```swift
/// var app = Application(router: router)
/// app.addServices(ProcessMetricsService(), EventLoopLagProbe(eventLoopGroup: app.eventLoopGroup))
/// ```
public struct ProcessMetricsService: Service {
    /// The Prometheus names, as swift-metrics labels.
    public static let openFileDescriptorsLabel = "process_open_fds"
    public static let maxFileDescriptorsLabel = "process_max_fds"
    public static let residentMemoryLabel = "process_resident_memory_bytes"
    public static let cpuSecondsLabel = "process_cpu_seconds_total"

    /// How often to sample. Default 5 s: a sample costs a directory listing and two system calls.
    public let interval: Duration
    /// Where the readings go for admission's watermarks.
    public let pressure: ProcessPressure
    private let clock: any SpillwayClock
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let resident: Gauge
    private let cpu: Gauge

    /// A sampler of this process.
    ///
    /// - Parameters:
    ///   - interval: How often to sample; at least 1 ms.
    ///   - pressure: Where the readings go for ``PressureWatermarks``; the shared instance by default.
    ///   - metricsFactory: Where the gauges go; the global `MetricsSystem.factory` by default.
    ///   - clock: The clock that paces the samples.
    public init(
        interval: Duration = .seconds(5),
        pressure: ProcessPressure = .shared,
        metricsFactory: (any MetricsFactory)? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) {
        let factory = metricsFactory ?? MetricsSystem.factory
        self.interval = max(interval, .milliseconds(1))
        self.pressure = pressure
        self.clock = clock
        self.openFDs = Gauge(label: Self.openFileDescriptorsLabel, dimensions: [], factory: factory)
        self.maxFDs = Gauge(label: Self.maxFileDescriptorsLabel, dimensions: [], factory: factory)
        self.resident = Gauge(label: Self.residentMemoryLabel, dimensions: [], factory: factory)
        self.cpu = Gauge(label: Self.cpuSecondsLabel, dimensions: [], factory: factory)
    }

    /// Samples at once, then every ``interval`` until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                sample()
                do {
                    try await clock.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }

    /// Takes one sample and publishes it; returns it.
    @discardableResult
    public func sample() -> ProcessSample {
        let sample = ProcessSample.current()
        publish(sample)
        return sample
    }

    /// Publishes `sample`: its readings to the gauges (those that are `nil` are left alone) and to ``pressure``.
    package func publish(_ sample: ProcessSample) {
        if let value = sample.openFileDescriptors { openFDs.record(value) }
        if let value = sample.maxFileDescriptors { maxFDs.record(value) }
        if let value = sample.residentMemoryBytes { resident.record(value) }
        if let value = sample.cpuSeconds { cpu.record(value) }
        pressure.update(
            openFileDescriptors: sample.openFileDescriptors,
            maxFileDescriptors: sample.maxFileDescriptors,
            residentMemoryBytes: sample.residentMemoryBytes
        )
    }
}
