import Foundation
import Spillway

/// Wall-clock time for the database, derived from the store's `SpillwayClock` so that tests on a `ManualClock`
/// move leases, retries and run-at times by hand.
///
/// With the system clock, times are read from `Date()`, so that processes on one machine agree; with any other
/// clock they are `anchor + elapsed` on that clock.
struct WallClock: Sendable {
    let clock: any SpillwayClock
    let isSystem: Bool
    private let anchorDate: Date
    private let anchorNanoseconds: Int64

    init(clock: any SpillwayClock) {
        self.clock = clock
        self.isSystem = clock is ContinuousClock
        self.anchorDate = Date()
        self.anchorNanoseconds = clock.nanosecondsSinceOrigin
    }

    func now() -> Date {
        if isSystem { return Date() }
        let elapsed = clock.nanosecondsSinceOrigin &- anchorNanoseconds
        return anchorDate.addingTimeInterval(Double(elapsed) / 1e9)
    }
}

extension Date {
    /// Microseconds since 1970: how SQLite stores times.
    var microsecondsSince1970: Int64 {
        Int64((timeIntervalSince1970 * 1_000_000).rounded())
    }

    init(microsecondsSince1970 value: Int64) {
        self.init(timeIntervalSince1970: Double(value) / 1_000_000)
    }
}

extension Duration {
    /// Whole microseconds, saturating.
    var microseconds: Int64 {
        let nanoseconds = self.nanoseconds
        return nanoseconds / 1_000
    }
}
