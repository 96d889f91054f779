/// A cache tier shared by every replica of a service (such as `RedisCacheTier` in `SpillwayRedis`), which a
/// ``Cache`` consults after a local miss and before its loader.
///
/// The cache treats the tier as an optimisation, never a dependency: every error a tier throws (unreachable,
/// timed out, undecodable) makes the cache carry on with its loader, and is counted in
/// `spillway_cache_shared_tier_errors_total`. Implementations must therefore fail fast (a short timeout, and
/// ideally a pause after failures) rather than hold callers.
///
/// Writes are conditional, so that an invalidation on any replica wins over a load that started before it: a
/// load remembers the ``SharedCacheVersion`` it read and writes only if the key still has that version.
///
/// ```swift
/// let tier = RedisCacheTier<UserID, User>(client: redis, namespace: "users")
/// let users = Cache(configuration: .init(name: "users"), sharedTier: tier) { id in try await db.user(id) }
/// ```
public protocol SharedCacheTier<Key, Value>: Sendable {
    /// The cache's key type.
    associatedtype Key: Hashable & Sendable
    /// The cache's value type.
    associatedtype Value: Sendable

    /// Reads `key`: its entry if it has one, and its version either way.
    func read(_ key: Key) async throws -> SharedCacheRead<Value>

    /// Stores `entry` for `key` if the key's version is still `version` (nothing was written or invalidated
    /// since it was read). Returns whether it stored the entry.
    func write(
        _ entry: SharedCacheEntry<Value>,
        for key: Key,
        ifVersion version: SharedCacheVersion
    ) async throws -> Bool

    /// Removes `key`'s entry and changes its version, so that conditional writes of loads that read it before
    /// fail.
    func invalidate(_ key: Key) async throws
}

/// What a ``SharedCacheTier`` holds for a key.
public struct SharedCacheEntry<Value: Sendable>: Sendable {
    /// The cached value.
    public var value: Value
    /// How long the value stays fresh from now; zero or negative once it has expired.
    public var freshFor: Duration
    /// How long after expiry the value may still be served stale (the tier keeps it that long).
    public var staleFor: Duration
    /// How long the load that produced the value took (XFetch's δ on every replica).
    public var loadTime: Duration

    /// An entry.
    public init(value: Value, freshFor: Duration, staleFor: Duration, loadTime: Duration) {
        self.value = value
        self.freshFor = freshFor
        self.staleFor = staleFor
        self.loadTime = loadTime
    }
}

/// The result of ``SharedCacheTier/read(_:)``.
public struct SharedCacheRead<Value: Sendable>: Sendable {
    /// The entry, or `nil` when the key has none (never written, expired, or invalidated).
    public var entry: SharedCacheEntry<Value>?
    /// The key's version when it was read, for the conditional write that follows a load.
    public var version: SharedCacheVersion

    /// A read result.
    public init(entry: SharedCacheEntry<Value>?, version: SharedCacheVersion) {
        self.entry = entry
        self.version = version
    }
}

/// An opaque stamp of a shared-tier key's state: it changes on every write and invalidation.
public struct SharedCacheVersion: Sendable, Hashable, CustomStringConvertible {
    /// The stamp, chosen by the tier (`0` for a key that has no entry and no invalidation marker).
    public var rawValue: UInt64

    /// A version with the tier's stamp `rawValue`.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The version of a key that was never written (or whose entry and invalidation marker have expired).
    public static let absent = SharedCacheVersion(rawValue: 0)

    public var description: String { "SharedCacheVersion(\(rawValue))" }
}
