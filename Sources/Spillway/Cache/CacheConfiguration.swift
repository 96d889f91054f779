import CoreMetrics

extension Cache {
    /// How a ``Cache`` expires, refreshes, bounds and reports its entries.
    ///
    /// Times are measured from when a load completes. An entry is *fresh* for ``timeToLive``; then *stale* for
    /// ``staleWhileRevalidate`` (served at once while one background load refreshes it); past that, a read waits
    /// for a load, and if that load fails, the old value is still served up to ``staleIfError`` after expiry.
    ///
    /// ```swift
    /// var configuration = Cache<UserID, User>.Configuration(name: "users", timeToLive: .seconds(30))
    /// configuration.staleWhileRevalidate = .seconds(10)
    /// configuration.staleIfError = .seconds(300)
    /// configuration.negativeTimeToLive = .seconds(5)          // cache "no such user" for 5 s
    /// configuration.cachesError = { $0 is UserNotFound }
    /// configuration.maxBytes = 64 << 20
    /// configuration.weigher = { _, user in user.estimatedSize }
    /// ```
    public struct Configuration: Sendable {
        /// The cache's name: the `cache` dimension of its metrics and the subject of its error messages.
        public var name: String
        /// How long a loaded value is fresh. Default 60 s.
        public var timeToLive: Duration
        /// How long after expiry a value is still served while a single background load refreshes it (RFC 5861
        /// `stale-while-revalidate`). Default zero: expired values are not served this way.
        public var staleWhileRevalidate: Duration
        /// How long after expiry a value is served when the load that should replace it fails (RFC 5861
        /// `stale-if-error`, the maximum staleness). Default zero: load errors reach the callers.
        public var staleIfError: Duration
        /// XFetch's β: how eagerly fresh entries are refreshed before they expire, in units of their own load
        /// time (see <doc:Caching>). `nil` disables early refreshes. Default 1, the paper's optimum; larger values
        /// refresh earlier.
        public var earlyExpirationBeta: Double?
        /// How long a loader error is cached, so that repeated reads of a missing key do not each reach the
        /// backend (negative caching). `nil` (the default) caches no error: every waiter of the failed load gets
        /// the error and the next read loads again. An error is cached only when no old value may answer instead
        /// (``staleIfError`` comes first), and never by a background refresh: a failed early or
        /// stale-while-revalidate refresh leaves the entry it was refreshing in place.
        public var negativeTimeToLive: Duration?
        /// Which loader errors are cached when ``negativeTimeToLive`` is set. Default: every error. Narrow it to
        /// "not found" errors so that timeouts and overload are retried rather than remembered.
        public var cachesError: @Sendable (any Error) -> Bool
        /// The most entries the local tier holds (values and cached errors alike). Default 10 000.
        public var maxEntries: Int
        /// The most total ``weigher`` weight the local tier holds, or `nil` (the default) for no byte bound.
        /// A value heavier than the bound on its own is returned but not cached.
        public var maxBytes: Int?
        /// The weight of a value in bytes, for ``maxBytes``. Default: 1 per entry. Cached errors weigh nothing
        /// (they are bounded by ``maxEntries``).
        public var weigher: @Sendable (Key, Value) -> Int
        /// Which entry goes when the cache is full. Default ``CacheEvictionPolicy/sieve``.
        public var eviction: CacheEvictionPolicy
        /// Whether a load is cancelled when every caller waiting for it has left. Default `false`: the load
        /// still fills the cache, so that callers whose deadline is shorter than the load time eventually hit
        /// instead of each starting (and abandoning) a load of their own.
        public var cancelsAbandonedLoads: Bool
        /// Where metrics go; `nil` uses the globally bootstrapped `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?

        /// A configuration; every parameter has a documented default.
        public init(
            name: String = "default",
            timeToLive: Duration = .seconds(60),
            staleWhileRevalidate: Duration = .zero,
            staleIfError: Duration = .zero,
            earlyExpirationBeta: Double? = 1,
            negativeTimeToLive: Duration? = nil,
            maxEntries: Int = 10_000,
            maxBytes: Int? = nil,
            eviction: CacheEvictionPolicy = .sieve,
            cancelsAbandonedLoads: Bool = false,
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.name = name
            self.timeToLive = timeToLive
            self.staleWhileRevalidate = staleWhileRevalidate
            self.staleIfError = staleIfError
            self.earlyExpirationBeta = earlyExpirationBeta
            self.negativeTimeToLive = negativeTimeToLive
            self.cachesError = { _ in true }
            self.maxEntries = maxEntries
            self.maxBytes = maxBytes
            self.weigher = { _, _ in 1 }
            self.eviction = eviction
            self.cancelsAbandonedLoads = cancelsAbandonedLoads
            self.metricsFactory = metricsFactory
        }
    }
}

/// A ``Cache/Configuration`` reduced to the integers the hot path compares: nanoseconds, with every negative or
/// non-finite setting clamped to "off" rather than trusted.
@usableFromInline
struct CachePolicy: Sendable {
    @usableFromInline let timeToLive: Int64
    @usableFromInline let staleWhileRevalidate: Int64
    @usableFromInline let staleIfError: Int64
    /// How long after expiry a value entry is kept: the longer of the two stale windows.
    @usableFromInline let retention: Int64
    /// XFetch's β, zero when early refreshes are off.
    @usableFromInline let beta: Double
    @usableFromInline let negativeTimeToLive: Int64?
    @usableFromInline let maxEntries: Int
    @usableFromInline let maxBytes: Int

    init<Key, Value>(_ configuration: Cache<Key, Value>.Configuration) {
        timeToLive = max(0, configuration.timeToLive.nanoseconds)
        staleWhileRevalidate = max(0, configuration.staleWhileRevalidate.nanoseconds)
        staleIfError = max(0, configuration.staleIfError.nanoseconds)
        retention = max(staleWhileRevalidate, staleIfError)
        if let beta = configuration.earlyExpirationBeta, beta.isFinite, beta > 0 {
            self.beta = beta
        } else {
            self.beta = 0
        }
        negativeTimeToLive = configuration.negativeTimeToLive.map { max(0, $0.nanoseconds) }
        maxEntries = max(0, configuration.maxEntries)
        maxBytes = configuration.maxBytes.map { max(0, $0) } ?? .max
    }
}
