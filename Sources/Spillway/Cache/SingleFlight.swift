import Synchronization

/// Keyed request coalescing: at most one load per key runs at a time, and every caller that asks for the key
/// while it runs shares its result or its error.
///
/// When a popular key is missing, a thousand concurrent callers cause one call to the backend instead of a
/// thousand. The load runs in its own task, so one caller's cancellation or deadline does not cut it short for
/// the others: a caller that leaves gets `CancellationError` (or `CacheError.Code.deadlineExceeded`)
/// at once, and the load goes on. When the *last* waiting caller leaves, the load is cancelled (unless
/// `cancelsAbandonedLoads` is `false`) and the next caller starts a fresh one.
///
/// Each caller waits at most until its deadline, by default the task's ``Deadline/current``. The load itself runs
/// without a deadline (its result outlives any single caller): give the loader its own timeout.
///
/// ```swift
/// let flights = SingleFlight<UserID, User>()
///
/// func user(_ id: UserID) async throws -> User {
///     try await flights.run(id) { try await database.user(id) }
/// }
/// ```
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// A name for error messages.
    public let name: String
    /// Whether a load is cancelled when every caller waiting for it has left (default `true`).
    public let cancelsAbandonedLoads: Bool
    private let clock: any SpillwayClock
    private let loads = Mutex<[Key: SharedLoad<Value>]>([:])

    /// Creates a single-flight group.
    ///
    /// - Parameters:
    ///   - name: Names the group in error messages.
    ///   - cancelsAbandonedLoads: Cancel a load once no caller waits for it any more (Go's `singleflight` never
    ///     does; Spillway does by default because nobody can use the result).
    ///   - clock: The clock that times callers' deadlines.
    public init(
        name: String = "default",
        cancelsAbandonedLoads: Bool = true,
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.name = name
        self.cancelsAbandonedLoads = cancelsAbandonedLoads
        self.clock = clock
    }

    /// Returns the result of `load` for `key`, running it only if no load of `key` is in flight, and otherwise
    /// waiting for the one that is.
    ///
    /// - Parameters:
    ///   - key: What is loaded; concurrent calls with equal keys share one load.
    ///   - deadline: When this caller stops waiting (throwing ``CacheError``); by default ``Deadline/current``.
    ///   - load: The work; it runs in its own task, without the caller's deadline.
    /// - Throws: `load`'s error (shared by every waiter), `CancellationError` when the calling task is cancelled,
    ///   or ``CacheError`` when `deadline` passes first.
    public func run(
        _ key: Key,
        deadline: Deadline? = Deadline.current,
        load: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await share(key, deadline: deadline, load: load).result.get()
    }

    /// Detaches the load in flight for `key`, if any: callers arriving from now on start a new load, while those
    /// already waiting still get the old one's result (Go's `Forget`). Use it when the old load may read data
    /// that a write has just replaced.
    public func forget(_ key: Key) {
        loads.withLock { _ = $0.removeValue(forKey: key) }
    }

    /// Detaches every load in flight (see ``forget(_:)``).
    func forgetAll() {
        loads.withLock { $0.removeAll() }
    }

    /// The number of keys with a load in flight.
    public var inFlightCount: Int { loads.withLock { $0.count } }

    /// The callers waiting for the load of `key` in flight (for tests).
    func waiterCount(for key: Key) -> Int {
        loads.withLock { $0[key] }?.memberCount ?? 0
    }

    /// Like ``run(_:deadline:load:)``, but returns the result instead of throwing it, and whether the caller
    /// joined a load that was already running (for metrics).
    func share(
        _ key: Key,
        deadline: Deadline?,
        load: @escaping @Sendable () async throws -> Value
    ) async -> (result: Result<Value, any Error>, joined: Bool) {
        if let deadline, deadline.hasPassed(atNanoseconds: clock.nanosecondsSinceOrigin) {
            return (.failure(CacheError.deadlineExceeded("single-flight group \(name)")), false)
        }
        if Task.isCancelled { return (.failure(CancellationError()), false) }
        let (shared, member, isNew) = loads.withLock { loads -> (SharedLoad<Value>, UInt64, Bool) in
            if let existing = loads[key], let member = existing.enroll() {
                return (existing, member, false)
            }
            let fresh = SharedLoad<Value>(cancelsWhenAbandoned: cancelsAbandonedLoads)
            loads[key] = fresh
            // A load just created is running, so enrolling cannot fail.
            return (fresh, fresh.enroll() ?? 0, true)
        }
        if isNew { start(shared, key: key, load: load) }
        let result = await wait(for: shared, key: key, member: member, deadline: deadline)
        return (result, !isNew)
    }

    /// Starts a load of `key` that nobody waits for (a background refresh), unless one is already in flight.
    /// Such a load is never cancelled for lack of waiters. Returns whether it started one.
    @discardableResult
    func startDetached(_ key: Key, load: @escaping @Sendable () async throws -> Value) -> Bool {
        let shared = loads.withLock { loads -> SharedLoad<Value>? in
            guard loads[key] == nil else { return nil }
            let fresh = SharedLoad<Value>(cancelsWhenAbandoned: false)
            loads[key] = fresh
            return fresh
        }
        guard let shared else { return false }
        start(shared, key: key, load: load)
        return true
    }

    private func start(_ shared: SharedLoad<Value>, key: Key, load: @escaping @Sendable () async throws -> Value) {
        let task = Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await Deadline.$current.withValue(nil) { try await load() })
            } catch {
                result = .failure(error)
            }
            // Drop the load from the table before publishing its result: a caller that finds it in the table has
            // enrolled and will receive the result; one that does not starts a new load.
            self.loads.withLock { loads in
                if loads[key] === shared { loads.removeValue(forKey: key) }
            }
            shared.finish(result)
        }
        shared.attach(task)
    }

    private func wait(
        for shared: SharedLoad<Value>,
        key: Key,
        member: UInt64,
        deadline: Deadline?
    ) async -> Result<Value, any Error> {
        guard let deadline else {
            return await withTaskCancellationHandler {
                await shared.wait(member: member)
            } onCancel: {
                self.leave(shared, key: key, member: member, with: CancellationError())
            }
        }
        return await withTaskGroup(of: Void.self, returning: Result<Value, any Error>.self) { group in
            group.addTask { [clock, name] in
                do {
                    try await clock.sleep(until: deadline.instant, tolerance: nil)
                } catch {
                    return
                }
                self.leave(
                    shared,
                    key: key,
                    member: member,
                    with: CacheError.deadlineExceeded("single-flight group \(name)")
                )
            }
            let result = await withTaskCancellationHandler {
                await shared.wait(member: member)
            } onCancel: {
                self.leave(shared, key: key, member: member, with: CancellationError())
            }
            group.cancelAll()
            return result
        }
    }

    private func leave(_ shared: SharedLoad<Value>, key: Key, member: UInt64, with error: any Error) {
        guard shared.leave(member: member, with: error) else { return }
        loads.withLock { loads in
            if loads[key] === shared { loads.removeValue(forKey: key) }
        }
    }
}
