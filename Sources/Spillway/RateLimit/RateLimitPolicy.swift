/// One named limit: a key (whom to count) and a store holding an algorithm (how much, how fast).
///
/// A request is checked against every policy of a ``RateLimiter``; its name appears in the `RateLimit-Policy` and
/// `RateLimit` header fields and in the `policy` dimension of the metrics.
///
/// ```swift
/// let perClient = try RateLimitPolicy(
///     name: "per-client",
///     key: .clientAddress(ClientAddressResolver(trustedProxies: .loopback)),
///     algorithm: try GCRA(limit: 20, period: .seconds(1), burst: 40)
/// )
/// let global = try RateLimitPolicy(name: "global", key: .global, store: sharedRedisStore)
/// ```
public struct RateLimitPolicy: Sendable {
    /// The policy's name: 1–64 characters from `A–Z a–z 0–9 - _ .`.
    public let name: String
    /// How the key is taken from a request.
    public var key: RateLimitKey
    /// Where the policy's state lives and decisions are taken.
    public var store: any RateLimitStore

    /// A policy deciding in `store`.
    /// - Throws: `RateLimitError.Code.invalidConfiguration` for an empty, over-long or non-token name.
    public init(name: String, key: RateLimitKey, store: any RateLimitStore) throws(RateLimitError) {
        try Self.validate(name: name)
        self.name = name
        self.key = key
        self.store = store
    }

    /// A policy with its own ``InMemoryRateLimitStore`` running `algorithm`.
    /// - Throws: `RateLimitError.Code.invalidConfiguration` for an invalid name.
    public init<Algorithm: RateLimitAlgorithm>(
        name: String,
        key: RateLimitKey,
        algorithm: Algorithm,
        configuration: InMemoryRateLimitStore<Algorithm>.Configuration = .init(),
        clock: any SpillwayClock = ContinuousClock()
    ) throws(RateLimitError) {
        try self.init(
            name: name,
            key: key,
            store: InMemoryRateLimitStore(algorithm: algorithm, configuration: configuration, clock: clock)
        )
    }

    /// Whether `name` is a valid policy (or store) name: 1–64 characters from `A–Z a–z 0–9 - _ .`. Names go
    /// verbatim into structured header fields, metric labels and Redis keys, so they are restricted to a set that
    /// needs no escaping anywhere.
    public static func isValidName(_ name: String) -> Bool {
        name.utf8.isASCIIToken(maximumLength: 64, symbols: "-_.")
    }

    /// The rule ``isValidName(_:)`` checks, for error messages.
    public static let nameRule = "must be 1-64 characters from A-Z a-z 0-9 - _ ."

    static func validate(name: String) throws(RateLimitError) {
        guard isValidName(name) else { throw .configuration("policy name '\(name)' \(nameRule)") }
    }
}
