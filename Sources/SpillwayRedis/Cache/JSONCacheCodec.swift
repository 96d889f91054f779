import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes `Codable` values as JSON: readable with `redis-cli`, and tolerant of added optional fields.
///
/// ```swift
/// let tier = RedisCacheTier<Int, User>(
///     redis: client, codec: JSONCacheCodec(), configuration: .init(namespace: "users"))
/// ```
public struct JSONCacheCodec<Value: Codable & Sendable>: CacheCodec {
    /// A JSON codec with Foundation's default encoder and decoder settings.
    public init() {}

    public func encode(_ value: Value) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder().encode(value))
    }

    public func decode(_ buffer: ByteBuffer) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(buffer.readableBytesView))
    }
}
