import CoreMetrics
import DequeModule
import Synchronization
import Tracing

/// A cache-aside cache that does not stampede its backend: concurrent misses of a key share one load, hot keys
/// are refreshed in the background before or just after they expire, and failures can be answered from stale
/// values.
///
/// - **Single flight**: a thousand concurrent misses of one key make one loader call (``SingleFlight``); each
///   caller waits at most until its own deadline (``Deadline/current``) while the load runs on.
/// - **Stale-while-revalidate**: for ``Configuration/staleWhileRevalidate`` after expiry, reads return the old
///   value at once and a single background load refreshes it.
/// - **Early expiration** (XFetch): before expiry, each read refreshes the entry in the background with a
///   probability that rises as expiry nears, scaled by how long the entry took to load — so a hot key is
///   usually reloaded before it expires, by one reader.
/// - **Negative caching** of chosen loader errors for ``Configuration/negativeTimeToLive``, when no old value may
///   answer instead (stale-if-error comes first) and never by a background refresh.
/// - **Invalidation** (``invalidate(_:)``, delete on write) that a load started before it cannot undo: such a
///   load's result still goes to its waiters but is not written back.
/// - **Bounded memory**: by entry count and optionally by weight, evicting by ``CacheEvictionPolicy``.
/// - **Stale-if-error**: a failed load returns the old value up to ``Configuration/staleIfError`` after expiry.
/// - An optional ``SharedCacheTier`` (Redis) between this local tier and the loader; when it fails the cache
///   carries on with the loader.
///
/// A hit takes one lock and does not allocate.
///
/// ```swift
/// let users = Cache<UserID, User>(configuration: .init(name: "users", timeToLive: .seconds(30))) { id in
///     try await database.user(id)
/// }
/// let user = try await users.value(for: id)
///
/// try await database.update(user)
/// try await users.invalidate(user.id)      // after the write
/// ```
public final class Cache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Loads the value of a key from the source of truth.
    public typealias Loader = @Sendable (Key) async throws -> Value

    /// What one load gives its waiters.
    struct Loaded: Sendable {
        enum Freshness: Sendable {
            case fresh
            /// An expired shared-tier value, served while a background load refreshes it.
            case staleRevalidating
            /// An old value served because the load failed.
            case staleOnError
        }

        var value: Value
        var freshness: Freshness
    }

    /// The outcome of a read under the lock.
    @usableFromInline
    enum Lookup {
        case hit(Value)
        case negativeHit(any Error)
        case earlyRefresh(Value)
        case stale(Value, startsRefresh: Bool)
        case miss(droppedExpired: Bool)
    }

    private enum LoadStart {
        case cached(Value)
        case cachedFailure(any Error)
        case load(version: UInt64)
    }

    @usableFromInline
    struct State {
        @usableFromInline var storage: CacheStorage<Key, Value>
        /// Bumped by every invalidation; a load remembers it when it starts.
        var version: UInt64 = 0
        /// The version of each key's last invalidation, kept only while loads are running.
        var tombstones: [Key: UInt64] = [:]
        var tombstoneOrder: Deque<(key: Key, version: UInt64)> = []
        /// Loads that started before this version may not write back (tombstones were dropped to bound memory).
        var tombstoneFloor: UInt64 = 0
        var activeLoads = 0
    }

    /// Tombstones kept at most while loads run; past this, the oldest are folded into the floor.
    static var tombstoneLimit: Int { 4096 }

    /// The configuration the cache was created with.
    public let configuration: Configuration
    @usableFromInline let policy: CachePolicy
    private let clock: any SpillwayClock
    private let usesContinuousClock: Bool
    @usableFromInline let random: RandomSource
    @usableFromInline let state: Mutex<State>
    private let flights: SingleFlight<Key, Loaded>
    @usableFromInline let metrics: CacheMetrics
    private let loader: Loader
    private let sharedTier: (any SharedCacheTier<Key, Value>)?

    /// Creates a cache.
    ///
    /// - Parameters:
    ///   - configuration: Expiry, refresh, bounds and metrics.
    ///   - clock: The clock for expiry and load times (tests pass a ``ManualClock``).
    ///   - random: The source of XFetch's random numbers. Pass ``RandomSource/seeded(_:)`` for reproducible runs.
    ///   - sharedTier: A tier shared by all replicas, consulted after a local miss and before `loader`.
    ///   - loader: Loads a key's value from the source of truth; called at most once at a time per key.
    public init(
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        random: RandomSource = .system,
        sharedTier: (any SharedCacheTier<Key, Value>)? = nil,
        loader: @escaping Loader
    ) {
        self.configuration = configuration
        let policy = CachePolicy(configuration)
        self.policy = policy
        self.clock = clock
        self.usesContinuousClock = clock is ContinuousClock
        self.random = random
        self.state = Mutex(
            State(storage: CacheStorage(policy: configuration.eviction.base, capacity: policy.maxEntries))
        )
        self.flights = SingleFlight(
            name: "cache \(configuration.name)",
            cancelsAbandonedLoads: configuration.cancelsAbandonedLoads,
            clock: clock
        )
        self.metrics = CacheMetrics(
            name: configuration.name,
            factory: configuration.metricsFactory ?? MetricsSystem.factory
        )
        self.loader = loader
        self.sharedTier = sharedTier
        metrics.entries.record(0)
    }

    /// The number of entries in the local tier (values and cached errors, fresh or stale).
    public var count: Int { state.withLock { $0.storage.count } }

    /// Returns the value of `key`: from the cache when fresh (or stale within a window that allows it), otherwise
    /// from a load shared with every concurrent caller, waiting at most until ``Deadline/current``.
    ///
    /// - Throws: The loader's error (or a cached one), ``CacheError`` when the caller's deadline passes while it
    ///   waits, `CancellationError` when the calling task is cancelled while it waits.
    @inlinable
    public func value(for key: Key) async throws -> Value {
        if let tracer = SpillwayTracing.tracer { return try await traced(key, deadline: Deadline.current, tracer) }
        if let value = try cachedValue(key) { return value }
        return try await load(key, deadline: Deadline.current)
    }

    /// Returns the value of `key` like ``value(for:)``, waiting for a load at most until `deadline` (`nil`: no
    /// limit) instead of ``Deadline/current``.
    @inlinable
    public func value(for key: Key, deadline: Deadline?) async throws -> Value {
        if let tracer = SpillwayTracing.tracer { return try await traced(key, deadline: deadline, tracer) }
        if let value = try cachedValue(key) { return value }
        return try await load(key, deadline: deadline)
    }

    /// Removes `key` from the cache after its source of truth changed: from the local tier at once, so that no
    /// load already running can write its (possibly older) result back, and then from the shared tier.
    ///
    /// - Throws: ``CacheError`` (`CacheError.Code.sharedTierFailed`) when the shared tier could
    ///   not be reached; the local entry is gone regardless.
    public func invalidate(_ key: Key) async throws {
        invalidateLocally(key)
        guard let sharedTier else { return }
        do {
            try await sharedTier.invalidate(key)
        } catch {
            metrics.sharedTierErrors.increment()
            throw CacheError.sharedTierFailed(configuration.name, key: "\(key)", underlying: error)
        }
    }

    /// Removes every entry of the local tier, and keeps loads that are running from writing their results back.
    /// The shared tier is left alone.
    public func removeAll() {
        state.withLock { state in
            state.version &+= 1
            state.storage.removeAll()
            state.tombstones.removeAll()
            state.tombstoneOrder.removeAll()
            state.tombstoneFloor = state.version
        }
        flights.forgetAll()
        metrics.entries.record(0)
    }

    // MARK: Reading

    /// The hit path: one lock, no allocation. Returns `nil` on a miss; starts background refreshes. Inlinable so
    /// that it is specialised for the caller's key and value types: unspecialised generic code looks up type
    /// metadata on every access and costs several times as much.
    @inlinable @inline(__always)
    func cachedValue(_ key: Key, span: (any Span)? = nil) throws -> Value? {
        switch lookup(key, now: now) {
        case .hit(let value):
            metrics.hits.increment()
            if let span { Self.note(.hit, on: span) }
            return value
        case .negativeHit(let error):
            metrics.hits.increment()
            if let span { Self.note(.negativeHit, on: span) }
            throw error
        case .earlyRefresh(let value):
            metrics.hits.increment()
            metrics.earlyRefreshes.increment()
            if let span { Self.note(.earlyRefresh, on: span) }
            refreshInBackground(key)
            return value
        case .stale(let value, let startsRefresh):
            metrics.staleRevalidate.increment()
            if let span { Self.note(.stale, on: span) }
            if startsRefresh { refreshInBackground(key) }
            return value
        case .miss(let droppedExpired):
            if droppedExpired { recordExpiredDrop() }
            return nil
        }
    }

    @inlinable @inline(__always)
    func lookup(_ key: Key, now: Int64) -> Lookup {
        state.withLock { state -> Lookup in
            guard let slot = state.storage.slot(of: key) else { return .miss(droppedExpired: false) }
            let entry = state.storage[slot]
            if now >= entry.retainUntil {
                state.storage.remove(slot)
                return .miss(droppedExpired: true)
            }
            state.storage.touch(slot)
            switch entry.content {
            case .failure(let error):
                // A cached error's retention ends at its expiry, so it is fresh here.
                return .negativeHit(error)
            case .value(let value):
                if now < entry.expiresAt {
                    guard policy.beta > 0, !entry.isRefreshing,
                        EarlyExpiration.shouldRefresh(
                            now: now,
                            expiresAt: entry.expiresAt,
                            loadNanoseconds: entry.loadNanoseconds,
                            beta: policy.beta,
                            random: random
                        )
                    else { return .hit(value) }
                    state.storage[slot].isRefreshing = true
                    return .earlyRefresh(value)
                }
                guard now < entry.expiresAt.adding(policy.staleWhileRevalidate) else {
                    return .miss(droppedExpired: false)
                }
                if entry.isRefreshing { return .stale(value, startsRefresh: false) }
                state.storage[slot].isRefreshing = true
                return .stale(value, startsRefresh: true)
            }
        }
    }

    @usableFromInline
    func load(_ key: Key, deadline: Deadline?, span: (any Span)? = nil) async throws -> Value {
        metrics.misses.increment()
        let (result, joined) = await flights.share(key, deadline: deadline) { [self] in
            try await fill(key, isRefresh: false)
        }
        if joined { metrics.coalesced.increment() }
        if let span { Self.note(joined ? .coalesced : .miss, on: span) }
        let loaded = try result.get()
        if loaded.freshness == .staleOnError {
            metrics.staleOnError.increment()
            if let span { Self.note(.staleOnError, on: span) }
        }
        return loaded.value
    }

    @usableFromInline
    func refreshInBackground(_ key: Key) {
        let started = flights.startDetached(key) { [self] in
            try await fill(key, isRefresh: true)
        }
        guard !started else { return }
        // A load of this key is already running (a miss raced the refresh); it will replace the entry. Clear the
        // flag so that a later stale read can refresh if that load fails.
        clearRefreshing(key)
    }

    // MARK: Loading

    /// The body of a shared load: re-checks the local tier, then the shared tier, then calls the loader, and
    /// writes the result back unless an invalidation happened since the load started.
    private func fill(_ key: Key, isRefresh: Bool) async throws -> Loaded {
        let start = now
        let loadStart = state.withLock { state -> LoadStart in
            // A load that finished just before this one was started may already have stored a fresh entry.
            if !isRefresh, let slot = state.storage.slot(of: key) {
                let entry = state.storage[slot]
                if start < entry.expiresAt {
                    switch entry.content {
                    case .value(let value): return .cached(value)
                    case .failure(let error): return .cachedFailure(error)
                    }
                }
            }
            state.activeLoads += 1
            return .load(version: state.version)
        }
        let version: UInt64
        switch loadStart {
        case .cached(let value): return Loaded(value: value, freshness: .fresh)
        case .cachedFailure(let error): throw error
        case .load(let started): version = started
        }

        var sharedVersion: SharedCacheVersion?
        var sharedStale: SharedCacheEntry<Value>?
        if let sharedTier {
            do {
                let read = try await sharedTier.read(key)
                sharedVersion = read.version
                if let entry = read.entry {
                    if let loaded = adoptShared(entry, key: key, version: version, isRefresh: isRefresh) {
                        return loaded
                    }
                    sharedStale = entry
                }
            } catch {
                metrics.sharedTierErrors.increment()
            }
        }

        let loadStarted = now
        let value: Value
        do {
            value = try await loader(key)
        } catch {
            return try failed(
                key,
                error: error,
                version: version,
                sharedStale: sharedStale,
                readAt: start,
                isRefresh: isRefresh
            )
        }
        let loadTime = max(0, now - loadStarted)
        metrics.loads.increment()
        metrics.loadDuration.recordNanoseconds(loadTime)
        let stored = store(
            key,
            .value(value),
            weight: configuration.weigher(key, value),
            freshFor: policy.timeToLive,
            loadNanoseconds: loadTime,
            version: version
        )
        if stored, let sharedTier, let sharedVersion {
            let entry = SharedCacheEntry(
                value: value,
                freshFor: .nanoseconds(policy.timeToLive),
                staleFor: .nanoseconds(policy.retention),
                loadTime: .nanoseconds(loadTime)
            )
            let metrics = self.metrics
            // The waiters need not wait for the shared tier: it is written behind their backs.
            Task {
                do {
                    _ = try await sharedTier.write(entry, for: key, ifVersion: sharedVersion)
                } catch {
                    metrics.sharedTierErrors.increment()
                }
            }
        }
        return Loaded(value: value, freshness: .fresh)
    }

    /// Takes an entry found in the shared tier: a fresh one ends the load; an expired one within the
    /// stale-while-revalidate window is served while a background load refreshes it (unless this load is that
    /// refresh). Returns `nil` when the loader must run (the entry may still serve if that fails).
    private func adoptShared(_ entry: SharedCacheEntry<Value>, key: Key, version: UInt64, isRefresh: Bool) -> Loaded? {
        let freshFor = min(entry.freshFor.nanoseconds, policy.timeToLive)
        if freshFor > 0, isRefresh, policy.beta > 0 {
            // A refresh that finds the shared entry close to its own expiry reloads it rather than copying it, with
            // XFetch's probability, so that replicas do not all copy an entry about to expire and then all load.
            let loadTime = entry.loadTime.nanoseconds
            let due = EarlyExpiration.shouldRefresh(
                now: 0,
                expiresAt: entry.freshFor.nanoseconds,
                loadNanoseconds: loadTime,
                beta: policy.beta,
                random: random
            )
            if due { return nil }
        }
        if freshFor > 0 {
            store(
                key,
                .value(entry.value),
                weight: configuration.weigher(key, entry.value),
                freshFor: freshFor,
                loadNanoseconds: entry.loadTime.nanoseconds,
                version: version
            )
            return Loaded(value: entry.value, freshness: .fresh)
        }
        guard !isRefresh, -freshFor < policy.staleWhileRevalidate else { return nil }
        let stored = store(
            key,
            .value(entry.value),
            weight: configuration.weigher(key, entry.value),
            freshFor: freshFor,
            loadNanoseconds: entry.loadTime.nanoseconds,
            version: version,
            isRefreshing: true
        )
        if stored {
            // This load is still registered for the key, so the refresh runs beside it rather than through the
            // single-flight table; the entry's refreshing flag keeps stale reads from starting another.
            Task { [self] in _ = try? await fill(key, isRefresh: true) }
        }
        return Loaded(value: entry.value, freshness: .staleRevalidating)
    }

    /// Ends a load whose loader threw: answers from an old value within the stale-if-error window if there is one,
    /// else caches the error if negative caching applies, and rethrows.
    ///
    /// Stale-if-error comes first, so that negative caching never hides a value the configuration allows to
    /// serve. A refresh (early, or stale-while-revalidate) never caches its error: the entry it was refreshing
    /// stays, fresh or stale, and a later read refreshes again.
    private func failed(
        _ key: Key,
        error: any Error,
        version: UInt64,
        sharedStale: SharedCacheEntry<Value>?,
        readAt start: Int64,
        isRefresh: Bool
    ) throws -> Loaded {
        metrics.loads.increment()
        metrics.loadErrors.increment()
        let now = self.now
        let stale = state.withLock { state -> Value? in
            guard let slot = state.storage.slot(of: key) else { return nil }
            state.storage[slot].isRefreshing = false
            let entry = state.storage[slot]
            guard case .value(let value) = entry.content, now < entry.expiresAt.adding(policy.staleIfError) else {
                return nil
            }
            return value
        }
        if let stale {
            state.withLock { endLoad(&$0) }
            return Loaded(value: stale, freshness: .staleOnError)
        }
        if let sharedStale, -sharedStale.freshFor.nanoseconds + (now - start) < policy.staleIfError {
            state.withLock { endLoad(&$0) }
            return Loaded(value: sharedStale.value, freshness: .staleOnError)
        }
        if !isRefresh, let negativeTimeToLive = policy.negativeTimeToLive, !(error is CancellationError),
            configuration.cachesError(error)
        {
            store(key, .failure(error), weight: 0, freshFor: negativeTimeToLive, loadNanoseconds: 0, version: version)
            throw error
        }
        state.withLock { endLoad(&$0) }
        throw error
    }

    /// Stores the result of the load that started at `version`, unless the key was invalidated since, then
    /// evicts down to the bounds. Ends the load. Returns whether it stored the entry.
    @discardableResult
    private func store(
        _ key: Key,
        _ content: CacheEntry<Value>.Content,
        weight: Int,
        freshFor: Int64,
        loadNanoseconds: Int64,
        version: UInt64,
        isRefreshing: Bool = false
    ) -> Bool {
        let now = self.now
        let expiresAt = now.adding(freshFor)
        let retainUntil: Int64
        if case .value = content {
            retainUntil = expiresAt.adding(policy.retention)
        } else {
            retainUntil = expiresAt
        }
        var entry = CacheEntry(
            content: content,
            expiresAt: expiresAt,
            retainUntil: retainUntil,
            loadNanoseconds: loadNanoseconds,
            weight: max(0, weight)
        )
        entry.isRefreshing = isRefreshing
        let (stored, evicted, expired, count) = state.withLock { state -> (Bool, Int, Int, Int) in
            defer { endLoad(&state) }
            guard state.version == version || accepts(state, key: key, version: version) else {
                return (false, 0, 0, state.storage.count)
            }
            let existing = state.storage.slot(of: key)
            guard policy.maxEntries > 0, entry.weight <= policy.maxBytes else {
                // Too heavy to cache: the old entry is outdated by this load, so it goes too.
                if let existing { state.storage.remove(existing) }
                return (false, 0, 0, state.storage.count)
            }
            if let existing {
                state.storage.replace(existing, with: entry)
            } else {
                state.storage.insert(key, entry)
            }
            var evicted = 0
            var expired = 0
            while state.storage.count > policy.maxEntries || state.storage.totalWeight > policy.maxBytes,
                let victim = state.storage.victim(now: now)
            {
                let removed = state.storage.remove(victim)
                if removed.entry.retainUntil <= now { expired += 1 } else { evicted += 1 }
            }
            return (true, evicted, expired, state.storage.count)
        }
        if evicted > 0 { metrics.capacityEvictions.increment(by: Int64(evicted)) }
        if expired > 0 { metrics.expiredEvictions.increment(by: Int64(expired)) }
        metrics.entries.record(count)
        return stored
    }

    /// Whether a load that started at `version` may write `key` back: no invalidation of `key` (nor a dropped
    /// tombstone, nor ``removeAll()``) happened since.
    private func accepts(_ state: State, key: Key, version: UInt64) -> Bool {
        guard version >= state.tombstoneFloor else { return false }
        guard let invalidated = state.tombstones[key] else { return true }
        return invalidated <= version
    }

    private func endLoad(_ state: inout State) {
        state.activeLoads -= 1
        if state.activeLoads == 0, !state.tombstones.isEmpty {
            // No load that could be affected remains.
            state.tombstones.removeAll(keepingCapacity: true)
            state.tombstoneOrder.removeAll(keepingCapacity: true)
        }
    }

    private func invalidateLocally(_ key: Key) {
        let count = state.withLock { state -> Int in
            state.version &+= 1
            if let slot = state.storage.slot(of: key) { state.storage.remove(slot) }
            if state.activeLoads > 0 {
                state.tombstones[key] = state.version
                state.tombstoneOrder.append((key, state.version))
                while state.tombstoneOrder.count > Self.tombstoneLimit, let oldest = state.tombstoneOrder.popFirst() {
                    if state.tombstones[oldest.key] == oldest.version {
                        state.tombstones.removeValue(forKey: oldest.key)
                        state.tombstoneFloor = max(state.tombstoneFloor, oldest.version)
                    }
                }
            }
            return state.storage.count
        }
        // Callers from now on must not join a load that may have read the data before the write.
        flights.forget(key)
        metrics.entries.record(count)
    }

    private func clearRefreshing(_ key: Key) {
        state.withLock { state in
            if let slot = state.storage.slot(of: key) { state.storage[slot].isRefreshing = false }
        }
    }

    /// The current time in nanoseconds since the Spillway origin.
    @usableFromInline
    var now: Int64 {
        usesContinuousClock ? SpillwayTime.continuousNanosecondsNow : clock.nanosecondsSinceOrigin
    }

    @usableFromInline
    func recordExpiredDrop() {
        metrics.expiredEvictions.increment()
        metrics.entries.record(count)
    }
}

extension Cache {
    /// Keys of the local tier from newest to oldest in the eviction policy's order (for tests).
    var keysNewestFirst: [Key] { state.withLock { $0.storage.keysNewestFirst } }

    /// The callers waiting for the load of `key` in flight (for tests).
    func waiterCount(for key: Key) -> Int { flights.waiterCount(for: key) }

    /// The number of keys with a load in flight (for tests).
    var inFlightCount: Int { flights.inFlightCount }

    /// The local entry of `key`, if any (for tests).
    func entry(for key: Key) -> CacheEntry<Value>? {
        state.withLock { state in state.storage.slot(of: key).map { state.storage[$0] } }
    }
}
