import NIOCore
import Spillway
import Synchronization

/// A ``Spillway/SharedCacheTier`` in Redis: replicas share loaded values, so a key is loaded from the database
/// once for the fleet rather than once per replica, and a cold replica starts warm.
///
/// - Keys are `namespace:key` (``RedisCacheTierConfiguration/namespace``); values are encoded by a
///   ``CacheCodec`` (JSON for `Codable` values by default) inside a small header carrying a version token, the
///   stale window and the load time.
/// - Freshness comes from Redis' `PTTL`, read atomically with the value by one script, so replicas need no
///   synchronised clocks.
/// - Writes are compare-and-set on the version token (one script): an invalidation on any replica replaces the
///   value with a marker holding a new token, so a load that read the key before cannot write back.
/// - Every operation gives up after ``RedisCacheTierConfiguration/timeout``; after a timeout the tier pauses
///   briefly. The cache treats every failure as a miss and goes on with its loader.
///
/// ```swift
/// let redis = RedisClient(configuration: .init(connection: .init(host: "127.0.0.1", port: 6379)))
/// let tier = RedisCacheTier<Int, User>(redis: redis, configuration: .init(namespace: "users:v1"))
/// let users = Cache(configuration: .init(name: "users"), sharedTier: tier) { id in try await db.user(id) }
/// ```
public struct RedisCacheTier<Key: Hashable & Sendable, Value: Sendable>: SharedCacheTier {
    /// `{value, pttl}` for a present key, `nil` otherwise, read atomically.
    static var readScript: RedisScript {
        RedisScript(
            """
            local value = redis.call('GET', KEYS[1])
            if not value then return nil end
            return {value, redis.call('PTTL', KEYS[1])}
            """
        )
    }

    /// Sets KEYS[1] to ARGV[2] with PX ARGV[3] if its token bytes (3…10) equal ARGV[1] (`""`: the key is absent).
    static var writeScript: RedisScript {
        RedisScript(
            """
            local current = redis.call('GET', KEYS[1])
            local token = ''
            if current then token = string.sub(current, 3, 10) end
            if token ~= ARGV[1] then return 0 end
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
            return 1
            """
        )
    }

    /// The tier's configuration.
    public let configuration: RedisCacheTierConfiguration
    /// Runs a script on the executor given at initialisation (captured as a closure so the type needs no
    /// executor parameter).
    private let runScript: @Sendable (RedisScript, [String], [RedisArgument]) async throws -> RESPValue
    private let runSet: @Sendable (SET) async throws -> Bool
    private let encodeValue: @Sendable (Value) throws -> ByteBuffer
    private let decodeValue: @Sendable (ByteBuffer) throws -> Value
    private let keyText: @Sendable (Key) -> String
    private let clock: any SpillwayClock
    private let pausedUntil: PauseState
    /// Bounds every operation by the tier's timeout, with one timer for all operations in flight.
    private let races: TimeoutRaces
    private let read: RedisScript
    private let write: RedisScript

    /// A tier that stores values with `codec`.
    ///
    /// - Parameters:
    ///   - redis: A ``RedisClient`` (or one connection).
    ///   - codec: How values become bytes.
    ///   - configuration: Namespace, timeout, pause and invalidation hold.
    ///   - keyText: How a key is written in the Redis key after the namespace; by default its description. It
    ///     must be unique per key.
    ///   - clock: Times the timeout and the pause.
    public init<Codec: CacheCodec<Value>>(
        redis: some RedisCommandExecutor,
        codec: Codec,
        configuration: RedisCacheTierConfiguration,
        keyText: @escaping @Sendable (Key) -> String = { "\($0)" },
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.runScript = { script, keys, arguments in try await script.run(on: redis, keys: keys, arguments: arguments)
        }
        self.runSet = { command in try await redis.execute(command) }
        self.encodeValue = { try codec.encode($0) }
        self.decodeValue = { try codec.decode($0) }
        self.configuration = configuration
        self.keyText = keyText
        self.clock = clock
        self.pausedUntil = PauseState()
        self.races = TimeoutRaces(clock: clock)
        self.read = Self.readScript
        self.write = Self.writeScript
    }

    /// The Redis key of `key`.
    public func redisKey(_ key: Key) -> String {
        "\(configuration.namespace):\(keyText(key))"
    }

    public func read(_ key: Key) async throws -> SharedCacheRead<Value> {
        let redisKey = redisKey(key)
        let reply = try await bounded { [read, runScript] in try await runScript(read, [redisKey], []) }
        switch reply.withoutAttributes {
        case .null:
            return SharedCacheRead(entry: nil, version: .absent)
        case .array(let items) where items.count == 2:
            guard case .bulkString(let bytes) = items[0], case .integer(let pttl) = items[1] else { break }
            return decodeRead(bytes, pttl: pttl)
        default:
            break
        }
        throw RedisCacheTierError(.unexpectedReply, "the read script answered \(reply) for \(redisKey)")
    }

    public func write(
        _ entry: SharedCacheEntry<Value>,
        for key: Key,
        ifVersion version: SharedCacheVersion
    ) async throws -> Bool {
        let staleWindow = max(0, entry.staleFor.nanoseconds / 1_000_000)
        let lifetime = max(1, entry.freshFor.nanoseconds / 1_000_000 + staleWindow)
        let envelope = RedisCacheEnvelope(
            kind: .value,
            token: UInt64.random(in: 1 ... .max),
            staleWindowMilliseconds: UInt64(staleWindow),
            loadTimeMicroseconds: UInt64(max(0, entry.loadTime.nanoseconds / 1_000)),
            payload: try encodeValue(entry.value)
        )
        let redisKey = redisKey(key)
        let arguments = [
            RedisCacheEnvelope.tokenArgument(version.rawValue),
            RedisArgument(envelope.encoded()),
            RedisArgument(lifetime),
        ]
        let reply = try await bounded { [write, runScript] in try await runScript(write, [redisKey], arguments) }
        guard case .integer(let stored) = reply.withoutAttributes else {
            throw RedisCacheTierError(.unexpectedReply, "the write script answered \(reply) for \(redisKey)")
        }
        return stored == 1
    }

    public func invalidate(_ key: Key) async throws {
        let marker = RedisCacheEnvelope(
            kind: .invalidated,
            token: UInt64.random(in: 1 ... .max),
            staleWindowMilliseconds: 0,
            loadTimeMicroseconds: 0,
            payload: ByteBuffer()
        )
        let command = SET(
            key: redisKey(key),
            value: RedisArgument(marker.encoded()),
            expiration: .milliseconds(max(1, configuration.invalidationHold.nanoseconds / 1_000_000))
        )
        _ = try await bounded { [runSet] in try await runSet(command) }
    }

    private func decodeRead(_ bytes: ByteBuffer, pttl: Int64) -> SharedCacheRead<Value> {
        let version = SharedCacheVersion(rawValue: RedisCacheEnvelope.token(of: bytes) ?? .max)
        guard let envelope = RedisCacheEnvelope(decoding: bytes), envelope.kind == .value,
            let value = try? decodeValue(envelope.payload)
        else {
            // A marker, or bytes this tier cannot read: no entry, but a version a load may replace.
            return SharedCacheRead(entry: nil, version: version)
        }
        // PTTL is -1 for a key without expiry (not written by this tier): treat it as fresh for a long time.
        let remaining = pttl >= 0 ? pttl : Int64(Int32.max)
        let staleWindow = Int64(clamping: envelope.staleWindowMilliseconds)
        let entry = SharedCacheEntry(
            value: value,
            freshFor: .milliseconds(remaining - staleWindow),
            staleFor: .milliseconds(staleWindow),
            loadTime: .microseconds(Int64(clamping: envelope.loadTimeMicroseconds))
        )
        return SharedCacheRead(entry: entry, version: version)
    }

    /// Runs `operation` under the tier's timeout alone, refusing at once while paused after a timeout.
    ///
    /// The timeout is also the operation's task-local ``Spillway/Deadline``, so the Redis client gives up on the
    /// command itself; the caller's deadline does not reach it. The tier is shared by every caller: one whose
    /// budget is spent (a client sent `grpc-timeout: 1n`) must neither fail an invalidation nor pause the tier for
    /// everyone else.
    private func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let now = clock.nanosecondsSinceOrigin
        if pausedUntil.isPaused(at: now) {
            throw RedisCacheTierError(
                .paused,
                "Redis timed out less than \(configuration.pauseAfterTimeout) ago; the cache tier is paused"
            )
        }
        let timeout = configuration.timeout
        let deadline = Deadline(nanosecondsSinceOrigin: now.addingReportingOverflow(timeout.nanoseconds).partialValue)
        switch try await races.run(until: deadline, operation) {
        case .finished(.success(let value)):
            return value
        case .finished(.failure(let error)):
            if let error = error as? RedisClientError, error.code == .timeout { pause() }
            throw error
        case .expired:
            pause()
            throw RedisCacheTierError(.timeout, "Redis did not answer within \(timeout)")
        }
    }

    private func pause() {
        pausedUntil.pause(until: clock.nanosecondsSinceOrigin &+ configuration.pauseAfterTimeout.nanoseconds)
    }
}

extension RedisCacheTier where Value: Codable {
    /// A tier that stores `Codable` values as JSON (``JSONCacheCodec``).
    public init(
        redis: some RedisCommandExecutor,
        configuration: RedisCacheTierConfiguration,
        keyText: @escaping @Sendable (Key) -> String = { "\($0)" },
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.init(
            redis: redis,
            codec: JSONCacheCodec<Value>(),
            configuration: configuration,
            keyText: keyText,
            clock: clock
        )
    }
}

/// When a ``RedisCacheTier`` may ask Redis again after a timeout (nanoseconds since the Spillway origin).
final class PauseState: Sendable {
    private let until = Mutex<Int64>(.min)

    func isPaused(at now: Int64) -> Bool { until.withLock { now < $0 } }

    func pause(until instant: Int64) { until.withLock { $0 = max($0, instant) } }
}
