import Histogram
import Synchronization

/// Counts how the calls of one measurement ended and how long they took, for calls whose intended start falls in
/// the measurement window (after the warm-up).
package final class CallRecorder: Sendable {
    /// How one call ended.
    package enum Outcome: Sendable {
        /// Answered within its deadline: goodput.
        case onTime
        /// Answered, after its deadline: wasted work.
        case late
        /// Refused at once (the gate's `503`).
        case refused
        /// Failed otherwise (a timeout, a cancelled statement, an error).
        case failed
    }

    /// The totals of one window.
    package struct Totals: Sendable, Codable, Hashable {
        package var onTime = 0
        package var late = 0
        package var refused = 0
        package var failed = 0
        /// Latency of answered calls (on time or late) from their intended start, in microseconds.
        package var latencyP50Microseconds: UInt64 = 0
        package var latencyP99Microseconds: UInt64 = 0
        /// Wait for a connection (the gate's queue and the pool) of calls that got one, in microseconds.
        package var poolWaitP99Microseconds: UInt64 = 0

        /// Calls answered, on time or not.
        package var answered: Int { onTime + late }
        /// Every call.
        package var total: Int { onTime + late + refused + failed }
    }

    private struct State {
        var totals = Totals()
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var poolWait = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    private let state = Mutex(State())
    /// Calls intended to start before this instant (nanoseconds since the Spillway origin) are not recorded.
    package let windowStart: Int64

    package init(windowStart: Int64) {
        self.windowStart = windowStart
    }

    /// Records one call intended at `intendedStart`, answered (or not) at `end`, after waiting `poolWait`
    /// nanoseconds for a connection (`nil` when it never got one).
    package func record(_ outcome: Outcome, intendedStart: Int64, end: Int64, poolWait: Int64?) {
        guard intendedStart >= windowStart else { return }
        state.withLock { state in
            switch outcome {
            case .onTime: state.totals.onTime += 1
            case .late: state.totals.late += 1
            case .refused: state.totals.refused += 1
            case .failed: state.totals.failed += 1
            }
            if outcome == .onTime || outcome == .late {
                _ = state.latency.record(UInt64(max(0, end - intendedStart) / 1_000))
            }
            if let poolWait {
                _ = state.poolWait.record(UInt64(max(0, poolWait) / 1_000))
            }
        }
    }

    /// The totals so far, with percentiles.
    package var totals: Totals {
        state.withLock { state in
            var totals = state.totals
            if state.latency.totalCount > 0 {
                totals.latencyP50Microseconds = state.latency.valueAtPercentile(50)
                totals.latencyP99Microseconds = state.latency.valueAtPercentile(99)
            }
            if state.poolWait.totalCount > 0 {
                totals.poolWaitP99Microseconds = state.poolWait.valueAtPercentile(99)
            }
            return totals
        }
    }
}
