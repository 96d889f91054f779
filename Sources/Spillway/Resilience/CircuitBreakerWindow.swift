/// Counts of calls, failed calls and slow calls.
struct CallTally: AdditiveArithmetic, Sendable, Hashable {
    var calls: Int64 = 0
    var failures: Int64 = 0
    var slowCalls: Int64 = 0

    static var zero: CallTally { CallTally() }

    init(calls: Int64 = 0, failures: Int64 = 0, slowCalls: Int64 = 0) {
        self.calls = calls
        self.failures = failures
        self.slowCalls = slowCalls
    }

    /// One call.
    init(failed: Bool, slow: Bool) {
        self.init(calls: 1, failures: failed ? 1 : 0, slowCalls: slow ? 1 : 0)
    }

    static func + (lhs: CallTally, rhs: CallTally) -> CallTally {
        CallTally(
            calls: lhs.calls + rhs.calls,
            failures: lhs.failures + rhs.failures,
            slowCalls: lhs.slowCalls + rhs.slowCalls
        )
    }

    static func - (lhs: CallTally, rhs: CallTally) -> CallTally {
        CallTally(
            calls: lhs.calls - rhs.calls,
            failures: lhs.failures - rhs.failures,
            slowCalls: lhs.slowCalls - rhs.slowCalls
        )
    }

    /// The failure rate in percent (`nil` without calls).
    var failureRate: Double? { calls > 0 ? Double(failures) * 100 / Double(calls) : nil }
    /// The slow-call rate in percent (`nil` without calls).
    var slowCallRate: Double? { calls > 0 ? Double(slowCalls) * 100 / Double(calls) : nil }
}

/// The closed breaker's sliding window: the last N calls, or the calls of the last T.
struct CallWindow: Sendable {
    private enum Storage: Sendable {
        /// A ring of the last `capacity` calls and their running total.
        case count(ring: [CallTally], next: Int, total: CallTally)
        case time(WindowedSum<CallTally>)
    }

    private var storage: Storage

    init(_ window: CircuitBreaker.Window, now: ContinuousClock.Instant) {
        switch window.kind {
        case .count(let size):
            storage = .count(ring: Array(repeating: .zero, count: size), next: 0, total: .zero)
        case .time(let duration):
            let seconds = duration.seconds.rounded(.down)
            let slices = seconds >= 3600 ? 3600 : max(Int(seconds), 10)
            storage = .time(WindowedSum(window: duration, slices: slices, now: now))
        }
    }

    mutating func record(_ call: CallTally, now: ContinuousClock.Instant) {
        switch storage {
        case .count(var ring, let next, var total):
            // Release the array from the enum before mutating it, so it is not copied.
            storage = .count(ring: [], next: 0, total: .zero)
            total = total - ring[next] + call
            ring[next] = call
            storage = .count(ring: ring, next: (next + 1) % ring.count, total: total)
        case .time(var sum):
            storage = .count(ring: [], next: 0, total: .zero)
            sum.add(call, now: now)
            storage = .time(sum)
        }
    }

    func tally(now: ContinuousClock.Instant) -> CallTally {
        switch storage {
        case .count(_, _, let total): total
        case .time(let sum): sum.sum(now: now)
        }
    }
}
