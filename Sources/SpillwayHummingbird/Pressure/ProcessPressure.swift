import Synchronization

/// The latest process-pressure readings, shared between the services that measure them (``ProcessMetricsService``,
/// ``EventLoopLagProbe``) and the request path that acts on them (``PressureWatermarks``).
///
/// Every reading is an atomic: a request reads it without a lock and never touches `/proc`. A reading that nothing
/// has measured yet (no service running, or `/proc` unavailable) is `nil`, and a watermark over it never refuses.
///
/// ```swift
/// let pressure = ProcessPressure.shared          // what the services and the watermarks use by default
/// if let open = pressure.openFileDescriptors, let max = pressure.maxFileDescriptors {
///     print("\(open) of \(max) file descriptors open")
/// }
/// ```
public final class ProcessPressure: Sendable {
    /// The instance the services and watermarks use unless given another.
    public static let shared = ProcessPressure()

    // -1: not measured.
    private let openFDs = Atomic<Int>(-1)
    private let maxFDs = Atomic<Int>(-1)
    private let resident = Atomic<Int>(-1)
    private let lagNanoseconds = Atomic<Int64>(-1)

    /// Readings that nothing has measured yet.
    public init() {}

    /// Open file descriptors at the last sample.
    public var openFileDescriptors: Int? { Self.reading(openFDs.load(ordering: .relaxed)) }
    /// The soft `RLIMIT_NOFILE` at the last sample.
    public var maxFileDescriptors: Int? { Self.reading(maxFDs.load(ordering: .relaxed)) }
    /// Resident memory in bytes at the last sample.
    public var residentMemoryBytes: Int? { Self.reading(resident.load(ordering: .relaxed)) }
    /// The event-loop lag: the largest of each loop's latest probe lateness.
    public var eventLoopLag: Duration? {
        let value = lagNanoseconds.load(ordering: .relaxed)
        return value < 0 ? nil : .nanoseconds(value)
    }

    /// Stores a sample; `nil` fields mark a reading as not measured.
    package func update(openFileDescriptors: Int?, maxFileDescriptors: Int?, residentMemoryBytes: Int?) {
        openFDs.store(openFileDescriptors ?? -1, ordering: .relaxed)
        maxFDs.store(maxFileDescriptors ?? -1, ordering: .relaxed)
        resident.store(residentMemoryBytes ?? -1, ordering: .relaxed)
    }

    /// Stores the event-loop lag; `nil` marks it as not measured.
    package func update(eventLoopLag: Duration?) {
        lagNanoseconds.store(eventLoopLag.map(Self.nanoseconds) ?? -1, ordering: .relaxed)
    }

    package static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(0, seconds) &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

    private static func reading(_ value: Int) -> Int? { value < 0 ? nil : value }
}
