/// A sum over a sliding time window, kept in a ring of time slices (Finagle's `WindowedAdder`).
///
/// The window is `slices` slices wide; a value added at `t` counts until its slice leaves the window, so the sum
/// covers between `(slices − 1)` and `slices` slice widths of history. Not thread-safe: owners hold it in a
/// `Mutex`.
struct WindowedSum<Value: AdditiveArithmetic & Sendable>: Sendable {
    private let origin: ContinuousClock.Instant
    private let sliceNanoseconds: Int64
    private var indices: [Int64]
    private var values: [Value]

    /// A window of `window` split into `slices` slices (at least one; each at least 1 ns).
    init(window: Duration, slices: Int, now: ContinuousClock.Instant) {
        let count = max(1, slices)
        self.origin = now
        self.sliceNanoseconds = max(1, window.nanoseconds / Int64(count))
        self.indices = Array(repeating: Int64.min, count: count)
        self.values = Array(repeating: .zero, count: count)
    }

    /// Adds `value` to the slice containing `now`.
    mutating func add(_ value: Value, now: ContinuousClock.Instant) {
        let index = sliceIndex(now)
        let slot = Int(index.remainderReportingOverflow(dividingBy: Int64(indices.count)).partialValue)
        let position = slot < 0 ? slot + indices.count : slot
        if indices[position] != index {
            indices[position] = index
            values[position] = .zero
        }
        values[position] += value
    }

    /// The sum of the values added within the window ending at `now`.
    func sum(now: ContinuousClock.Instant) -> Value {
        let current = sliceIndex(now)
        let oldest = current - Int64(indices.count) + 1
        var total = Value.zero
        for position in indices.indices where indices[position] >= oldest && indices[position] <= current {
            total += values[position]
        }
        return total
    }

    /// Forgets everything.
    mutating func reset() {
        for position in indices.indices {
            indices[position] = .min
            values[position] = .zero
        }
    }

    private func sliceIndex(_ now: ContinuousClock.Instant) -> Int64 {
        let elapsed = origin.duration(to: now).nanoseconds
        // Floor division, so instants before the origin (a clock that went back) fall into earlier slices.
        let quotient = elapsed / sliceNanoseconds
        return elapsed < 0 && elapsed % sliceNanoseconds != 0 ? quotient - 1 : quotient
    }
}
