import NIOCore

/// Turns a cache's values into bytes for a shared tier and back.
///
/// ``JSONCacheCodec`` is the default for `Codable` values. Write your own for a compact or versioned format; a
/// value that fails to decode (say, written by an older release) is treated as absent and reloaded.
///
/// ```swift
/// struct UTF8Codec: CacheCodec {
///     func encode(_ value: String) throws -> ByteBuffer { ByteBuffer(string: value) }
///     func decode(_ buffer: ByteBuffer) throws -> String { String(buffer: buffer) }
/// }
/// ```
public protocol CacheCodec<Value>: Sendable {
    /// The type of the cached values.
    associatedtype Value: Sendable

    /// The bytes that represent `value`.
    func encode(_ value: Value) throws -> ByteBuffer

    /// The value that `buffer` (the readable bytes) represents.
    func decode(_ buffer: ByteBuffer) throws -> Value
}
