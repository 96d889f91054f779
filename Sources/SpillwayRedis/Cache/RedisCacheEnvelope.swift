import NIOCore

/// The bytes a ``RedisCacheTier`` stores under a key: a fixed 26-byte header, then the encoded value.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 1 | format, `1` |
/// | 1 | 1 | kind: `v` a value, `t` an invalidation marker (no payload) |
/// | 2 | 8 | version token, big-endian, never 0 (the conditional-write script compares these bytes) |
/// | 10 | 8 | stale window in milliseconds: how much of the key's remaining time to live follows expiry |
/// | 18 | 8 | load time in microseconds (XFetch's δ) |
/// | 26 | … | the value, as the codec encoded it |
///
/// Freshness is not stored as an instant: it is derived from Redis' own `PTTL`, so replicas whose clocks differ
/// agree on it.
struct RedisCacheEnvelope {
    enum Kind: UInt8 {
        case value = 0x76
        case invalidated = 0x74
    }

    static let format: UInt8 = 1
    static let headerSize = 26
    /// Where the version token starts (0-based); the write script reads bytes 3…10 (1-based Lua indices).
    static let tokenOffset = 2

    var kind: Kind
    var token: UInt64
    var staleWindowMilliseconds: UInt64
    var loadTimeMicroseconds: UInt64
    var payload: ByteBuffer

    func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Self.headerSize + payload.readableBytes)
        buffer.writeInteger(Self.format)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(token, endianness: .big)
        buffer.writeInteger(staleWindowMilliseconds, endianness: .big)
        buffer.writeInteger(loadTimeMicroseconds, endianness: .big)
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }

    /// The envelope in `buffer`, or `nil` when the bytes are not one (another program's value, an older format).
    init?(decoding buffer: ByteBuffer) {
        var buffer = buffer
        guard buffer.readableBytes >= Self.headerSize,
            buffer.readInteger(as: UInt8.self) == Self.format,
            let kind = buffer.readInteger(as: UInt8.self).flatMap(Kind.init(rawValue:)),
            let token = buffer.readInteger(endianness: .big, as: UInt64.self),
            let stale = buffer.readInteger(endianness: .big, as: UInt64.self),
            let load = buffer.readInteger(endianness: .big, as: UInt64.self)
        else { return nil }
        self.init(kind: kind, token: token, staleWindowMilliseconds: stale, loadTimeMicroseconds: load, payload: buffer)
    }

    init(kind: Kind, token: UInt64, staleWindowMilliseconds: UInt64, loadTimeMicroseconds: UInt64, payload: ByteBuffer)
    {
        self.kind = kind
        self.token = token
        self.staleWindowMilliseconds = staleWindowMilliseconds
        self.loadTimeMicroseconds = loadTimeMicroseconds
        self.payload = payload
    }

    /// The token bytes of any stored value of at least 10 bytes, as the write script sees them; `nil` for shorter
    /// values (which no conditional write can then replace: they are not this tier's).
    static func token(of buffer: ByteBuffer) -> UInt64? {
        buffer.getInteger(at: buffer.readerIndex + tokenOffset, endianness: .big, as: UInt64.self)
    }

    /// The 8 bytes the write script compares a stored value's token with (`""` for "no value").
    static func tokenArgument(_ token: UInt64) -> RedisArgument {
        guard token != 0 else { return RedisArgument("") }
        var buffer = ByteBuffer()
        buffer.writeInteger(token, endianness: .big)
        return RedisArgument(buffer)
    }
}
