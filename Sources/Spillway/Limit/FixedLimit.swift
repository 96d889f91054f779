/// A limit that never changes: the right choice when the capacity is known and stable, and the baseline every
/// adaptive algorithm is compared against.
///
/// ```swift
/// let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(16)))
/// ```
public struct FixedLimit: LimitAlgorithm, Hashable {
    /// The fixed limit.
    public let limit: Int

    /// A fixed limit of `limit` concurrent requests (at least 1).
    public init(_ limit: Int) {
        self.limit = max(1, limit)
    }

    public var minLimit: Int { limit }
    public var maxLimit: Int { limit }

    public mutating func update(with sample: LimitSample) -> Int { limit }
}
