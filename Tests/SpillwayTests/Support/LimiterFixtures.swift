import Spillway

/// A test algorithm whose limit moves by a fixed step on every sample: up on success, down on drop.
struct SteppingLimit: LimitAlgorithm {
    var limit: Int
    var minLimit = 1
    var maxLimit = 100
    var step = 1

    mutating func update(with sample: LimitSample) -> Int {
        limit = sample.didDrop ? max(minLimit, limit - step) : min(maxLimit, limit + step)
        return limit
    }
}

extension ConcurrencyLimiter {
    /// A limiter with a fixed limit and a plain FIFO queue (no CoDel, no LIFO) unless told otherwise.
    static func fixture(
        limit: Int,
        clock: ManualClock,
        maxLength: Int = 16,
        timeout: Duration? = nil,
        codel: CoDelConfiguration? = nil,
        adaptiveLIFO: Bool = false,
        algorithm: (any LimitAlgorithm)? = nil
    ) -> ConcurrencyLimiter {
        ConcurrencyLimiter(
            configuration: .init(
                name: "test",
                algorithm: algorithm ?? FixedLimit(limit),
                queue: .init(maxLength: maxLength, timeout: timeout, codel: codel, adaptiveLIFO: adaptiveLIFO)
            ),
            clock: clock
        )
    }
}
