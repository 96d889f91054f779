/// The instant by which the caller needs an answer; work that finishes later is wasted.
///
/// A deadline travels with the task that serves a request, as the task-local ``Deadline/current``: the server
/// middleware sets it from the inbound timeout header, admission control rejects work that cannot finish in time,
/// and outbound calls send the remaining budget downstream. When two deadlines meet, the earliest wins (as in
/// Finagle), so an inner scope can only shorten the budget, never extend it.
///
/// ```swift
/// let clock = ContinuousClock()
/// try await Deadline.withDeadline(.after(.milliseconds(250), clock: clock)) {
///     let remaining = Deadline.current?.remaining(now: clock.now)   // ≤ 250 ms
///     try await callDependency(timeout: remaining)
/// }
/// ```
public struct Deadline: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The deadline in nanoseconds since ``SpillwayTime/origin`` (a plain integer: cheap on hot paths).
    @usableFromInline package var nanosecondsSinceOrigin: Int64

    /// A deadline at `instant`.
    public init(_ instant: ContinuousClock.Instant) {
        self.nanosecondsSinceOrigin = SpillwayTime.nanoseconds(of: instant)
    }

    /// A deadline `nanosecondsSinceOrigin` after ``SpillwayTime/origin``.
    package init(nanosecondsSinceOrigin: Int64) {
        self.nanosecondsSinceOrigin = nanosecondsSinceOrigin
    }

    /// The instant at which the deadline expires.
    public var instant: ContinuousClock.Instant {
        SpillwayTime.instant(atNanoseconds: nanosecondsSinceOrigin)
    }

    /// A deadline `duration` from the clock's current time.
    public static func after(_ duration: Duration, clock: some SpillwayClock = ContinuousClock()) -> Deadline {
        let (sum, overflow) = clock.nanosecondsSinceOrigin.addingReportingOverflow(duration.nanoseconds)
        return Deadline(nanosecondsSinceOrigin: overflow ? .max : sum)
    }

    /// The time left before the deadline, measured at `now`; zero once it has passed.
    public func remaining(now: ContinuousClock.Instant) -> Duration {
        .nanoseconds(remaining(atNanoseconds: SpillwayTime.nanoseconds(of: now)))
    }

    /// The nanoseconds left at `now` (a ``SpillwayClock/nanosecondsSinceOrigin`` reading); zero once passed.
    @inlinable
    package func remaining(atNanoseconds now: Int64) -> Int64 {
        let (left, overflow) = nanosecondsSinceOrigin.subtractingReportingOverflow(now)
        return overflow ? (now < 0 ? .max : 0) : max(0, left)
    }

    /// Whether the deadline has passed at `now` (a deadline equal to `now` has passed: no time is left).
    public func hasPassed(now: ContinuousClock.Instant) -> Bool {
        hasPassed(atNanoseconds: SpillwayTime.nanoseconds(of: now))
    }

    /// Whether the deadline has passed at `now` (a ``SpillwayClock/nanosecondsSinceOrigin`` reading).
    @inlinable
    package func hasPassed(atNanoseconds now: Int64) -> Bool {
        nanosecondsSinceOrigin <= now
    }

    /// The earlier of this deadline and `other` (`self` when `other` is `nil`).
    public func earliest(_ other: Deadline?) -> Deadline {
        guard let other else { return self }
        return min(self, other)
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.nanosecondsSinceOrigin < rhs.nanosecondsSinceOrigin
    }

    public var description: String {
        "Deadline(\(SpillwayTime.offset(of: instant)) after the Spillway time origin)"
    }

    /// The deadline of the current task, if a caller set one with ``withDeadline(_:operation:)``.
    @TaskLocal public static var current: Deadline?

    /// Runs `operation` with `deadline` as ``current``, combined with any deadline already in force: the earliest
    /// of the two applies.
    public static func withDeadline<T, Failure: Error>(
        _ deadline: Deadline?,
        isolation: isolated (any Actor)? = #isolation,
        operation: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let effective = deadline.map { $0.earliest(current) } ?? current
        do {
            return try await $current.withValue(effective, operation: operation, isolation: isolation)
        } catch {
            // `TaskLocal.withValue` is declared `rethrows`; the only error it can throw is the operation's.
            throw error as! Failure
        }
    }

    /// Synchronous variant of ``withDeadline(_:isolation:operation:)``.
    public static func withDeadline<T, Failure: Error>(
        _ deadline: Deadline?,
        operation: () throws(Failure) -> T
    ) throws(Failure) -> T {
        let effective = deadline.map { $0.earliest(current) } ?? current
        do {
            return try $current.withValue(effective, operation: operation)
        } catch {
            throw error as! Failure
        }
    }
}
